// The WebAssembly FFT multiplication against V8's BigInt multiplication (an independent, exact
// implementation): random operands of every size the engine multiplies, balanced and not, the limb
// patterns that maximize the FFT's rounding error, carries across every limb, and the cached spectra
// of a FixedFactor reused across sizes.
import * as assert from 'node:assert/strict';
import { FFT_MIN_PRODUCT_BITS, FixedFactor, conversions, fftStats, multiply, multiplyTwice } from '../../src/engine/fft/fftMultiply';
import { HEADER_ROOM, bigintOfWords, rawBigInts, wordsOf } from '../../src/engine/bigintWords';
import { mulberry32 } from './testUtil';
import { readLimbs, reserve, writeLimbs } from '../../src/engine/wasmKernel';

function randomBits(random: () => number, bits: number): bigint {
  let hex = '1';
  for (let i = 1; i < Math.ceil(bits / 4); i++) hex += Math.floor(random() * 16).toString(16);
  return BigInt('0x' + hex);
}

describe('FFT multiplication (WebAssembly)', () => {
  const random = mulberry32(20261126);

  it('equals BigInt multiplication on random operands from 4 kbit to 1 Mbit, balanced and unbalanced', () => {
    const before = fftStats.products;
    for (const [aBits, bBits] of [
      [FFT_MIN_PRODUCT_BITS / 2, FFT_MIN_PRODUCT_BITS / 2], [4_003, 150_001], [24_003, 5_001], [40_000, 40_000], [65_535, 65_537], [90_000, 60_000],
      [131_072, 131_072], [200_000, 200_000], [250_000, 30_000], [300_000, 250_000], [1_000_000, 25_000],
    ]) {
      const a = randomBits(random, aBits);
      const b = randomBits(random, bBits);
      assert.equal(multiply(a, b), a * b, `${aBits} × ${bBits} bits`);
      assert.equal(multiply(b, a), a * b, `${bBits} × ${aBits} bits`);
    }
    assert.ok(fftStats.products - before >= 16, 'most of these products must take the FFT route');
    assert.ok(fftStats.radix3 > 0, 'some of them must use a transform of 3·2^k points');
  });

  it('writes a bit window of a FixedFactor product into kernel memory as u32 limbs, from limbs or a BigInt', () => {
    // The digit tree's products: operand and result stay in WebAssembly memory. Windows at every bit
    // alignment, reaching past the product's top, with 16- and 12-bit FFT limbs and on the BigInt route.
    const before = fftStats.products;
    for (const [aBits, fBits] of [[300, 2_000], [9_000, 9_000], [60_000, 40_000], [150_001, 77_777], [400_000, 300_000]]) {
      const factor = new FixedFactor(randomBits(random, fBits));
      const a = randomBits(random, aBits);
      const aWords = Math.ceil(aBits / 32) + 1;
      const aAt = reserve(4 * aWords);
      assert.ok(writeLimbs(a, aAt, aWords));
      assert.equal(readLimbs(aAt, aWords), a);
      const productBits = aBits + fBits;
      for (const [loBit, words] of [[0, 3], [1, Math.ceil(productBits / 32)], [17, 40], [Math.floor(productBits / 2) + 5, 200], [productBits - 70, 5]]) {
        const want = BigInt.asUintN(32 * words, (a * factor.value) >> BigInt(loBit));
        const dst = reserve(4 * words);
        factor.timesInto({ ptr: aAt, words: aWords }, loBit, words, dst);
        assert.equal(readLimbs(dst, words), want, `${aBits} × ${fBits} bits from limbs, bits ${loBit} + 32·${words}`);
        factor.timesInto(a, loBit, words, dst);
        assert.equal(readLimbs(dst, words), want, `${aBits} × ${fBits} bits from a BigInt, bits ${loBit} + 32·${words}`);
      }
    }
    assert.ok(fftStats.products - before >= 24, 'most of these products must take the FFT route');
    assert.equal(writeLimbs(1n << 64n, reserve(8), 2), false, 'a number too large for its limbs is refused');
  });

  it('is exact at the edges of every transform size, 2^k and 3·2^k points', () => {
    // Two numbers of ~16·m bits fill a transform of m points: try just below and just above each size.
    for (const m of [1024, 1536, 2048, 3072, 4096, 6144, 8192, 12288]) {
      for (const bits of [16 * m - 72, 16 * m - 40, 16 * m + 8, 16 * m + 40]) {
        const a = randomBits(random, bits);
        const b = randomBits(random, bits);
        assert.equal(multiply(a, b), a * b, `${bits} × ${bits} bits`);
      }
    }
  });

  it('takes 12-bit limbs where 16-bit limbs exceed the error bound, exactly, up to 1.5 Mbit products', () => {
    const before = fftStats.products;
    for (const [aBits, bBits] of [[260_000, 260_000], [400_000, 400_000], [700_000, 60_000], [760_000, 760_000]]) {
      const a = randomBits(random, aBits);
      const b = randomBits(random, bBits);
      assert.equal(multiply(a, b), a * b, `${aBits} × ${bBits} bits`);
      assert.equal(multiply(a, b, 100_003), (a * b) >> 100_003n, `${aBits} × ${bBits} bits >> 100003`);
      assert.equal(new FixedFactor(b).times(a, { shift: 77, width: 50_001 }), BigInt.asUintN(50_001, (a * b) >> 77n));
    }
    // Every 12-bit limb at ±2^11: the largest rounding error for this limb size.
    for (const digits of [90_000, 190_000]) {
      const low = BigInt('0x' + '800'.repeat(digits / 3));
      const high = BigInt('0x' + '7ff'.repeat(digits / 3));
      assert.equal(multiply(low, low), low * low);
      assert.equal(multiply(low, high), low * high);
    }
    assert.equal(fftStats.products - before, 16, 'all of these products take the FFT route');
  });

  it('is exact on the limb patterns with the largest rounding error (every limb at ±2^15) and on long carries', () => {
    for (const limbs of [1600, 6000, 12_000, 24_000]) {
      const low = BigInt('0x' + '8000'.repeat(limbs)); // balanced limbs of −2^15 (with carries)
      const high = BigInt('0x' + '7fff'.repeat(limbs)); // limbs of 2^15 − 1
      const ones = (1n << BigInt(16 * limbs)) - 1n; // carries ripple through the whole product
      for (const [a, b] of [[low, low], [low, high], [high, high], [ones, ones], [ones, low]]) assert.equal(multiply(a, b), a * b, `${limbs} limbs`);
    }
  });

  it('never falls back to BigInt on the rounding check for the sizes the engine uses', () => {
    const before = fftStats.fallbacks;
    for (let i = 0; i < 20; i++) {
      const a = randomBits(random, 30_000 + Math.floor(random() * 220_000));
      const b = randomBits(random, 30_000 + Math.floor(random() * 220_000));
      assert.equal(multiply(a, b), a * b);
    }
    assert.equal(fftStats.fallbacks, before);
  });

  it('leaves small, negative and zero operands to BigInt, with the same results', () => {
    const big = randomBits(random, 100_000);
    for (const x of [0n, 1n, 12345n, randomBits(random, 3_000), -big]) {
      assert.equal(multiply(big, x), big * x);
      assert.equal(multiply(x, big), big * x);
    }
  });

  it('reuses a FixedFactor spectrum across many products and transform sizes', () => {
    const c = randomBits(random, 90_000);
    const factor = new FixedFactor(c);
    for (const bits of [100, 5_000, 30_000, 90_000, 91_000, 30_001, 180_000, 90_000, 400_000]) {
      const a = randomBits(random, bits);
      assert.equal(factor.times(a), a * c, `${bits} bits`);
      assert.equal(factor.times(a, { aBits: bits }), a * c, `${bits} bits with a size hint`);
    }
    assert.throws(() => new FixedFactor(-1n), RangeError);
  });

  it('multiplies one number by two others with one transform of it, as two products would', () => {
    const before = fftStats.products;
    for (const [xBits, aBits, cBits] of [
      [70_000, 61_000, 72_000], [200_000, 170_000, 202_000], [30_000, 3_000, 30_000], [5_000, 5_000, 5_000], [90_000, 20_000, 300_000], [400_000, 350_000, 402_000],
    ]) {
      const x = randomBits(random, xBits);
      const a = randomBits(random, aBits);
      const c = randomBits(random, cBits);
      const factor = new FixedFactor(c);
      for (const [shiftA, shiftB] of [[0, 0], [xBits, cBits], [61_001, 77_777]]) {
        const [byA, byC] = multiplyTwice(x, a, shiftA, factor, shiftB);
        assert.equal(byA, (x * a) >> BigInt(shiftA), `${xBits} × ${aBits} bits >> ${shiftA}`);
        assert.equal(byC, (x * c) >> BigInt(shiftB), `${xBits} × ${cBits} bits >> ${shiftB}`);
      }
    }
    assert.ok(fftStats.products - before >= 20, 'the large ones take the FFT route');
  });

  it('converts to and from the transform exactly at every limb alignment: odd and even limb counts, windows and shifts', () => {
    // The kernel reads and writes limbs two at a time (a pair of 16-bit limbs is one 32-bit word), with
    // single limbs where a window's edge, an operand's length or the product's length splits a pair.
    const stress = mulberry32(7);
    const before = fftStats.products;
    for (let trial = 0; trial < 60; trial++) {
      const aBits = 14_000 + Math.floor(stress() * 40_000);
      const bBits = 14_000 + Math.floor(stress() * 40_000);
      const a = randomBits(stress, aBits);
      const b = randomBits(stress, bBits);
      const p = a * b;
      const shift = Math.floor(stress() * (aBits + bBits + 64));
      assert.equal(multiply(a, b, shift), p >> BigInt(shift), `${aBits} × ${bBits} >> ${shift}`);
      const factor = new FixedFactor(b);
      const width = 1 + Math.floor(stress() * 3_000);
      assert.equal(factor.times(a, { shift, width }), BigInt.asUintN(width, p >> BigInt(shift)), `${aBits} × ${bBits} >> ${shift}, ${width} wide`);
      const words = 1 + Math.floor(stress() * 600);
      const aWords = Math.ceil(aBits / 32) + (trial % 3);
      const aAt = reserve(4 * aWords);
      assert.ok(writeLimbs(a, aAt, aWords));
      const dst = reserve(4 * words);
      factor.timesInto({ ptr: aAt, words: aWords }, shift, words, dst);
      assert.equal(readLimbs(dst, words), BigInt.asUintN(32 * words, p >> BigInt(shift)), `${aBits} × ${bBits}, bits ${shift} + 32·${words}`);
    }
    assert.ok(fftStats.products - before >= 150, 'these products must take the FFT route');
  });

  it('a middle product may wrap around below its window: the window is the same, up to one unit at its bottom', () => {
    // The digit tree's splits: z · 5^k, keeping only limbs just below z's top (the integer part above
    // them is discarded), computed by a cyclic transform shorter than the whole product.
    const stress = mulberry32(11);
    let exact = 0;
    const before = fftStats.products;
    for (let trial = 0; trial < 40; trial++) {
      const zWords = 400 + Math.floor(stress() * 3000);
      const fBits = 2_000 + Math.floor(stress() * 0.4 * 32 * zWords);
      const factor = new FixedFactor(randomBits(stress, fBits));
      const z = randomBits(stress, 32 * zWords - Math.floor(stress() * 20));
      const lowWords = zWords - Math.ceil(fBits / 32) - Math.floor(stress() * 3);
      const loBit = 32 * (zWords - lowWords);
      const zAt = reserve(4 * zWords);
      assert.ok(writeLimbs(z, zAt, zWords));
      const dst = reserve(4 * lowWords);
      factor.timesInto({ ptr: zAt, words: zWords }, loBit, lowWords, dst, true);
      const got = readLimbs(dst, lowWords);
      const want = BigInt.asUintN(32 * lowWords, (z * factor.value) >> BigInt(loBit));
      const diff = BigInt.asUintN(32 * lowWords, got - want);
      assert.ok(diff === 0n || diff === 1n || diff === BigInt.asUintN(32 * lowWords, -1n), `${zWords} words × ${fBits} bits, window of ${lowWords} words: off by ${diff}`);
      if (diff === 0n) exact++;
    }
    assert.ok(exact >= 38, `exact in ${exact} of 40`);
    assert.ok(fftStats.products - before >= 30, 'these products must take the FFT route');
  });

  it('returns exactly the requested bits of a product (shift, and a window of `width` bits)', () => {
    const c = randomBits(random, 60_000);
    const factor = new FixedFactor(c);
    for (const bits of [3_000, 40_000, 120_000]) {
      const a = randomBits(random, bits);
      const p = a * c;
      const size = p.toString(2).length;
      for (const shift of [0, 1, 15, 16, 17, 4_097, Math.floor(size / 2), size - 3, size, size + 40]) {
        assert.equal(multiply(a, c, shift), p >> BigInt(shift), `${bits} bits >> ${shift}`);
        assert.equal(factor.times(a, { shift }), p >> BigInt(shift), `${bits} bits >> ${shift} (fixed)`);
        for (const width of [1, 16, 33, 10_000, size]) {
          assert.equal(factor.times(a, { shift, width }), BigInt.asUintN(width, p >> BigInt(shift)), `${bits} bits >> ${shift}, ${width} wide`);
        }
      }
    }
  });
});

describe('BigInts in and out of the kernel as u32 words (V8 serialization)', () => {
  const random = mulberry32(1126);

  it('is available on this host (a little-endian Node whose serializer lays BigInts out as expected)', () => {
    assert.equal(rawBigInts, true);
    assert.equal(conversions.words, true);
  });

  it('gives the words, and the hex length, of numbers from 0 to 1 Mbit; and reads them back', () => {
    const cases = [0n, 1n, 0xffn, 0xffff_ffffn, 1n << 32n, (1n << 64n) - 1n, 1n << 64n, 1n << 95n, 1n << 96n];
    for (const bits of [100, 1000, 4097, 65_536, 100_003, 1_000_000]) cases.push(randomBits(random, bits));
    for (const x of cases) {
      const w = wordsOf(x);
      assert.equal(w.hexDigits, x.toString(16).length, `hex digits of ${x.toString(16).slice(0, 20)}`);
      // The words, least significant first, against the number's own hex.
      const hex = x.toString(16).padStart(8 * Math.max(1, w.words), '0');
      const expected = Buffer.from(hex, 'hex').reverse().subarray(0, 4 * w.words);
      assert.ok(Buffer.from(w.bytes).equals(expected), `words of a ${x.toString(2).length}-bit number`);
      // Read back from memory laid out as the kernel's: header room before, room for one word after.
      for (const words of [w.words, w.words + 1, w.words + 2]) {
        const memory = Buffer.alloc(HEADER_ROOM + 4 * (words + 1), 0xaa);
        memory.fill(0, HEADER_ROOM, HEADER_ROOM + 4 * words);
        memory.set(w.bytes, HEADER_ROOM);
        assert.equal(bigintOfWords(memory, HEADER_ROOM, words), x, `${words} words`);
      }
    }
  });

  it('multiplies exactly with either conversion (words, or hex where the host has no words)', () => {
    const saved = conversions.words;
    try {
      for (const words of [true, false]) {
        conversions.words = words;
        for (const [aBits, bBits] of [[20_000, 20_000], [90_000, 60_000], [300_000, 250_000]]) {
          const a = randomBits(random, aBits);
          const b = randomBits(random, bBits);
          assert.equal(multiply(a, b, 77), (a * b) >> 77n, `${words ? 'words' : 'hex'}: ${aBits} × ${bBits} bits`);
          const f = new FixedFactor(b);
          assert.equal(f.times(a, { shift: 1000, width: 5003 }), BigInt.asUintN(5003, (a * b) >> 1000n));
          assert.equal(f.times(a, { shift: 64, width: 4096 }), BigInt.asUintN(4096, (a * b) >> 64n));
          const c = randomBits(random, aBits / 2);
          assert.deepEqual(multiplyTwice(a, c, 333, f, 999), [(a * c) >> 333n, (a * b) >> 999n]);
        }
      }
    } finally {
      conversions.words = saved;
    }
  });
});
