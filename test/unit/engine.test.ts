import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MAX_COUNT, TangentEngine, blockSizeAt, createBlockComputer, planNext, validateCount, type BlockComputer, type Term } from '../../src/engine/engine';
import { bitLength, isqrt, piFixed } from '../../src/engine/bigmath';
import { PrecisionError, SMALL_LIMIT, ZetaBlock, staudtClausenSum, tangentBlock, tangentFromBernoulli, tangentSmall } from '../../src/engine/tangent';
import { PiCache } from '../../src/engine/bigmath';
import { VERIFIER_PRIMES, VerificationError, Verifier, decimalMod } from '../../src/engine/verifier';
import { footer, header, line } from '../../src/engine/formats';
import { REFERENCE, REFERENCE_HASHES, REFERENCE_RESIDUES } from './reference';

function runToEnd(engine: TangentEngine): Term[] {
  const out: Term[] = [];
  while (!engine.finished) out.push(...engine.step());
  return out;
}

function bfile(terms: Term[]): string {
  return terms.map((t) => line('bfile', t, false)).join('');
}

describe('engine: exact Tangent numbers', () => {
  it('T(1..500) equal the OEIS b-file', () => {
    const terms = runToEnd(new TangentEngine(500));
    assert.equal(terms.length, 500);
    terms.forEach((t, i) => assert.equal(t.digits, REFERENCE[i], `T(${i + 1})`));
  });

  it('the b-file of T(1..2000) matches the PARI/GP reference hash byte for byte', () => {
    const text = bfile(runToEnd(new TangentEngine(2000)));
    assert.equal(Buffer.byteLength(text), REFERENCE_HASHES['2000'].bytes);
    assert.equal(createHash('sha256').update(text).digest('hex'), REFERENCE_HASHES['2000'].sha256);
  });

  it('any block split gives the same terms (blocks are independent units)', () => {
    const pi = new PiCache();
    const whole = tangentBlock(SMALL_LIMIT + 1, 300, pi).map(String);
    const parts = [...tangentBlock(SMALL_LIMIT + 1, 111, pi), ...tangentBlock(112, 112, pi), ...tangentBlock(113, 300, new PiCache())].map(String);
    assert.deepEqual(parts, whole);
    whole.forEach((d, i) => assert.equal(d, REFERENCE[SMALL_LIMIT + i]));
  });

  it('a block at the top of the range (n = 16991..17000) agrees with T(n) mod p from PARI/GP', () => {
    const terms = tangentBlock(16991, 17000, new PiCache());
    terms.forEach((t, i) => {
      VERIFIER_PRIMES.forEach((p, k) => assert.equal(decimalMod(t, p), REFERENCE_RESIDUES[16990 + i][k], `T(${16991 + i}) mod ${p}`));
    });
  });

  it('von Staudt–Clausen: Σ 1/p over (p − 1) | 2n has the denominator of B_2n, and makes B_2n an integer', () => {
    // B_2 .. B_20 (numerator, denominator).
    const bernoulli: [bigint, bigint][] = [[1n, 6n], [-1n, 30n], [1n, 42n], [-1n, 30n], [5n, 66n], [-691n, 2730n], [7n, 6n], [-3617n, 510n], [43867n, 798n], [-174611n, 330n]];
    bernoulli.forEach(([num, den], i) => {
      const { a, b } = staudtClausenSum(i + 1);
      assert.equal(b, den, `denominator of B_${2 * (i + 1)}`);
      assert.equal((num * b + a * den) % (den * b), 0n, `B_${2 * (i + 1)} + Σ 1/p is an integer`);
    });
  });

  it('T(n) from |B_2n| in fixed point: exact within the rounding margin, PrecisionError outside it', () => {
    for (const n of [65, 100, 257, 500]) {
      const t = BigInt(REFERENCE[n - 1]);
      // |B_2n| = 2n·T(n)/(2^(2n)(2^(2n) − 1)), in fixed point with 64 fraction bits (floor).
      const e = BigInt(2 * n);
      const fixed = ((e * t) << 64n) / ((1n << e) * ((1n << e) - 1n));
      for (const error of [0n, 1n, -1n, 1n << 40n, -(1n << 40n), (1n << 61n) + 5n]) assert.equal(tangentFromBernoulli(n, fixed + error), t, `n = ${n}, error ${error}`);
      assert.throws(() => tangentFromBernoulli(n, fixed + (1n << 63n)), PrecisionError);
      assert.throws(() => tangentFromBernoulli(n, fixed - (1n << 63n) + 7n), PrecisionError);
    }
    // A value that rounds cleanly, but to the wrong integer: |B_22| + 1 would make T(11) grow by
    // 2^22(2^22 − 1)/22, which is not an integer (11 does not divide 2^22 − 1), and the division says so.
    const e = 22n;
    const fixed = ((e * BigInt(REFERENCE[10])) << 64n) / ((1n << e) * ((1n << e) - 1n));
    assert.equal(tangentFromBernoulli(11, fixed), BigInt(REFERENCE[10]));
    assert.throws(() => tangentFromBernoulli(11, fixed + (1n << 64n)), PrecisionError);
  });

  it('the small-n recurrence matches the reference', () => {
    tangentSmall(SMALL_LIMIT).forEach((v, i) => assert.equal(String(v), REFERENCE[i]));
  });

  it('π and integer square roots are right', () => {
    // floor(π·2^k) against π's known hex expansion 3.243F6A8885A308D313198A2E03707344A4093822299F31D008...
    assert.equal(piFixed(124).toString(16), '3243f6a8885a308d313198a2e0370734');
    assert.equal(piFixed(200).toString(16), '3243f6a8885a308d313198a2e03707344a4093822299f31d008');
    // Squares and their neighbours across the double-precision start (2^52) and the recursion's splits.
    const cases = [0n, 1n, 2n, 15n, 16n, 17n, (1n << 200n) + 12345n];
    for (const m of [3n, (1n << 26n) - 1n, 1n << 26n, (1n << 27n) + 5n, 3n ** 200n, (1n << 5000n) - 1n]) cases.push(m * m - 1n, m * m, m * m + 1n);
    for (const x of cases) {
      const r = isqrt(x);
      assert.ok(r * r <= x && (r + 1n) * (r + 1n) > x, `isqrt(${x})`);
    }
    assert.equal(bitLength(0n), 0);
    assert.equal(bitLength(1n), 1);
    assert.equal(bitLength(255n), 8);
    assert.equal(bitLength(256n), 9);
  });
});

describe('engine: state machine', () => {
  it('raising the target continues without recomputing finished terms', () => {
    const computed: number[] = [];
    const base = createBlockComputer();
    const counting: BlockComputer = (from, to, onTerm) => {
      for (let n = from; n <= to; n++) computed.push(n);
      return base(from, to, onTerm);
    };
    const engine = new TangentEngine(200, new Verifier(), counting);
    const first = runToEnd(engine);
    assert.equal(first.length, 200);
    engine.setTarget(450);
    const more = runToEnd(engine);
    assert.deepEqual(more.map((t) => t.n), Array.from({ length: 250 }, (_, i) => 201 + i));
    assert.deepEqual(computed, Array.from({ length: 450 }, (_, i) => i + 1), 'each term computed exactly once');
    more.forEach((t) => assert.equal(t.digits, REFERENCE[t.n - 1]));
  });

  it('residues taken ahead verify the same as accept, and a wrong one is still refused', () => {
    const ahead = new Verifier();
    const plain = new Verifier();
    for (let n = 1; n <= 300; n++) {
      const digits = Buffer.from(REFERENCE[n - 1], 'latin1');
      plain.accept(n, digits);
      ahead.acceptResidues(n, ahead.residuesOf(digits));
    }
    assert.deepEqual(ahead.serialize(), plain.serialize());
    // T(301)'s residues for T(302), and residues of something that is not a number.
    assert.throws(() => ahead.acceptResidues(301, ahead.residuesOf(REFERENCE[301])), VerificationError);
    assert.throws(() => ahead.acceptResidues(301, ahead.residuesOf('12a4')), /not a positive decimal integer/);
    assert.equal(ahead.count, 300);
    const engine = new TangentEngine(310, Verifier.deserialize(ahead.serialize()));
    const block = REFERENCE.slice(300, 305);
    const residues = block.map((d) => engine.verifier.residuesOf(d));
    assert.throws(() => engine.acceptBlock(301, block, residues.slice(1)), RangeError);
    const swapped = [residues[1], residues[0], ...residues.slice(2)];
    assert.throws(() => engine.acceptBlock(301, block, swapped), VerificationError);
    assert.equal(engine.done, 300, 'a refused block leaves nothing behind');
    assert.deepEqual(engine.acceptBlock(301, block, residues).map((t) => t.n), [301, 302, 303, 304, 305]);
  });

  it('plans blocks that cover the target exactly, with no short block at the end', () => {
    for (const target of [64, 65, 700, 2000, 4000, 4001, 8000, 12345]) {
      let done = 0;
      let last = { from: 0, to: 0 };
      for (let block = planNext(done, target); block; block = planNext(done, target)) {
        assert.equal(block.from, done + 1);
        assert.ok(block.to >= block.from && block.to <= target);
        done = block.to;
        last = block;
      }
      assert.equal(done, target);
      // The last block is not a remainder far smaller than a block there (it took the remainder in instead).
      if (last.from > 64 && target > 200) assert.ok(last.to - last.from + 1 >= blockSizeAt(last.from) / 2, `target ${target}: last block ${last.from}..${last.to}`);
    }
  });

  it('serialized state round-trips and the restored engine continues identically', () => {
    const a = new TangentEngine(150);
    runToEnd(a);
    const restored = new TangentEngine(320, Verifier.deserialize(a.verifier.serialize()));
    assert.equal(restored.done, 150);
    const rest = runToEnd(restored);
    assert.equal(rest[0].n, 151);
    rest.forEach((t) => assert.equal(t.digits, REFERENCE[t.n - 1]));
    // A restore limited to a shorter log drops the residues beyond it.
    assert.equal(Verifier.deserialize(a.verifier.serialize(), 90).count, 90);
  });

  it('malformed verifier state is rejected, not half-loaded', () => {
    const good = new TangentEngine(80);
    runToEnd(good);
    const buf = good.verifier.serialize();
    assert.throws(() => Verifier.deserialize(buf.subarray(0, buf.length - 3)), RangeError);
    const wrongPrime = Buffer.from(buf);
    wrongPrime.writeUInt32LE(7, 4);
    assert.throws(() => Verifier.deserialize(wrongPrime), RangeError);
    const outOfRange = Buffer.from(buf);
    outOfRange.writeUInt32LE(0xffffffff, 12);
    assert.throws(() => Verifier.deserialize(outOfRange), RangeError);
  });

  it('verification catches a deliberately corrupted term and commits nothing of its block', () => {
    const base = createBlockComputer();
    let corruptN = 170;
    const corrupting: BlockComputer = (from, to, onTerm) => {
      const digits = base(from, to, onTerm);
      if (corruptN >= from && corruptN <= to) {
        const d = digits[corruptN - from];
        // Change one digit in the middle: same length, wrong value.
        const i = Math.floor(d.length / 2);
        d[i] = 48 + ((d[i] - 48 + 1) % 10);
      }
      return digits;
    };
    const engine = new TangentEngine(300, new Verifier(), corrupting);
    let caught: unknown;
    const good: Term[] = [];
    try {
      while (!engine.finished) good.push(...engine.step());
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof VerificationError, 'a VerificationError is thrown');
    assert.equal(caught.n, 170);
    assert.match((caught as Error).message, /T\(170\) failed verification/);
    assert.ok(engine.done < 170, 'nothing from the bad block was committed');
    good.forEach((t) => assert.equal(t.digits, REFERENCE[t.n - 1]));
    corruptN = -1; // the fault goes away: the job continues from where it stopped
    const rest = runToEnd(engine);
    assert.equal(rest[0].n, engine.done - rest.length + 1);
    rest.forEach((t) => assert.equal(t.digits, REFERENCE[t.n - 1]));
  });

  it('the verifier agrees with BigInt arithmetic mod p and rejects junk', () => {
    const v = new Verifier();
    for (let n = 1; n <= 500; n++) {
      const d = REFERENCE[n - 1];
      for (const p of VERIFIER_PRIMES) assert.equal(decimalMod(d, p), Number(BigInt(d) % BigInt(p)));
      v.accept(n, d);
    }
    assert.throws(() => v.accept(502, REFERENCE[0]), /out of order/);
    assert.throws(() => v.accept(501, '-12'), /not a positive decimal/);
    for (const junk of ['', '0', '0123', '12a4', ' 12', '1.5', '1e5', '+7', '١٢', '12\n']) {
      assert.throws(() => v.accept(501, junk), /not a positive decimal/, JSON.stringify(junk));
    }
    assert.equal(v.count, 500);
    // Long random numbers, including residues that land next to the reduction's boundaries.
    let seed = 12345;
    const digit = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) % 10);
    for (let len = 1; len <= 3000; len += 37) {
      let d = String(1 + (digit() % 9));
      for (let i = 1; i < len; i++) d += String(digit());
      for (const p of VERIFIER_PRIMES) assert.equal(decimalMod(d, p), Number(BigInt(d) % BigInt(p)), `${len} digits mod ${p}`);
    }
    for (const p of VERIFIER_PRIMES) assert.equal(decimalMod(String(BigInt(p) * 123456789123n - 1n), p), p - 1);
  });

  it('the verifier reads digits four to a word: every length, and a bad character at every position', () => {
    let seed = 777;
    const digit = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) % 10);
    for (let len = 1; len <= 40; len++) {
      let d = String(1 + (digit() % 9));
      for (let i = 1; i < len; i++) d += String(digit());
      for (const p of VERIFIER_PRIMES) assert.equal(decimalMod(d, p), Number(BigInt(d) % BigInt(p)), `${d} mod ${p}`);
      // '/' and ':' border the digits; 'İ' (U+0130) and '٣' would pass for '0' and 'c' if cut to a byte.
      for (let at = 1; at < len; at++) {
        for (const bad of ['/', ':', '\0', '\u00b9', '\u0130', '\u0663', 'a']) {
          const junk = d.slice(0, at) + bad + d.slice(at + 1);
          assert.throws(() => decimalMod(junk, VERIFIER_PRIMES[0]), RangeError, JSON.stringify(junk));
        }
      }
    }
  });

  it('the verifier agrees with T(n) mod p from PARI/GP up to n = 17000', () => {
    // Each term is stood in for by the smallest number with T(n)'s residues (CRT), which is all the
    // verifier reads; past n = 16385 its convolution needs a second run of 2^13 products.
    const [p, q] = VERIFIER_PRIMES.map(BigInt);
    const qInvModP = (() => {
      let [r0, r1, t0, t1] = [p, q % p, 0n, 1n];
      while (r1 !== 0n) {
        const k = r0 / r1;
        [r0, r1, t0, t1] = [r1, r0 - k * r1, t1, t0 - k * t1];
      }
      return ((t0 % p) + p) % p;
    })();
    const v = new Verifier();
    REFERENCE_RESIDUES.forEach(([a, b], i) => {
      // x ≡ a (mod p), x ≡ b (mod q): x = b + q·((a − b)·q⁻¹ mod p); + p·q keeps it positive and non-zero.
      const x = BigInt(b) + q * ((((BigInt(a) - BigInt(b)) * qInvModP) % p + p) % p) + p * q;
      v.accept(i + 1, x.toString());
    });
    assert.equal(v.count, 17000);
    assert.throws(() => v.accept(17001, '1'), /failed verification/);
  });

  it('validates counts with a reason', () => {
    assert.deepEqual(validateCount('10'), { ok: true, value: 10 });
    assert.deepEqual(validateCount(' 7 '), { ok: true, value: 7 });
    for (const bad of ['', 'abc', '1.5', '-3', '1e3', '0x10']) assert.deepEqual(validateCount(bad), { ok: false, reason: 'not a whole number' });
    assert.deepEqual(validateCount('0'), { ok: false, reason: `must be between 1 and ${MAX_COUNT}` });
    assert.deepEqual(validateCount(String(MAX_COUNT + 1)), { ok: false, reason: `must be between 1 and ${MAX_COUNT}` });
    assert.throws(() => new TangentEngine(0), RangeError);
  });

  it('formats: b-file, CSV, JSON, plain', () => {
    const terms = REFERENCE.slice(0, 3).map((digits, i) => ({ n: i + 1, digits }));
    const render = (f: 'bfile' | 'csv' | 'json' | 'txt') => header(f) + terms.map((t, i) => line(f, t, i === 0)).join('') + footer(f, false);
    assert.equal(render('bfile'), '1 1\n2 2\n3 16\n');
    assert.equal(render('csv'), 'n,digits,value\n1,1,1\n2,1,2\n3,2,16\n');
    assert.deepEqual(JSON.parse(render('json')), [
      { n: 1, digits: 1, value: '1' },
      { n: 2, digits: 1, value: '2' },
      { n: 3, digits: 2, value: '16' },
    ]);
    assert.equal(render('txt'), '1\n2\n16\n');
    assert.deepEqual(JSON.parse(header('json') + footer('json', true)), []);
  });
});

describe('engine: resumable blocks', () => {
  it('a block interrupted at any point and restored from its state ends with the same terms and the same state bytes', () => {
    const pi = new PiCache();
    const from = 401;
    const to = 460;
    const reference = new Map<number, Buffer>();
    const straight = ZetaBlock.start(from, to, pi);
    while (!straight.finished) {
      reference.set(straight.remaining, straight.serialize());
      straight.step();
    }
    for (const stopAfter of [1, 7, 30, 59]) {
      const first = ZetaBlock.start(from, to, pi);
      for (let i = 0; i < stopAfter; i++) first.step();
      const saved = first.serialize();
      assert.deepEqual(saved, reference.get(first.remaining), 'same state bytes as the uninterrupted run');
      const resumed = ZetaBlock.restore(saved);
      while (!resumed.finished) resumed.step();
      resumed.terms().forEach((t, i) => assert.equal(String(t), REFERENCE[from + i - 1], `T(${from + i}) after resuming at step ${stopAfter}`));
    }
  });

  it('a block split while it runs: the top part and a fresh block for the bottom give the same terms, and a split state restores', () => {
    const pi = new PiCache();
    const from = 401;
    const to = 480;
    for (const [stepsBefore, splitAt] of [
      [1, 402],
      [10, 440],
      [40, 440],
      [78, 402],
    ]) {
      const top = ZetaBlock.start(from, to, pi);
      for (let i = 0; i < stepsBefore; i++) top.step();
      assert.throws(() => top.splitAt(from), RangeError, 'the new lower end must be above the old one');
      assert.throws(() => top.splitAt(to - stepsBefore + 1), RangeError, 'a split cannot take back a finished term');
      top.splitAt(splitAt);
      assert.equal(top.from, splitAt);
      // Half of the steps after the split run on a restored copy: the split survives serialization.
      for (let i = 0; i < (to - stepsBefore - splitAt + 1) >> 1; i++) top.step();
      const resumed = ZetaBlock.restore(top.serialize());
      assert.deepEqual(resumed.serialize(), top.serialize());
      while (!resumed.finished) resumed.step();
      const bottom = ZetaBlock.start(from, splitAt - 1, pi);
      while (!bottom.finished) bottom.step();
      const terms = [...bottom.terms(), ...resumed.terms()];
      assert.equal(terms.length, to - from + 1);
      terms.forEach((t, i) => assert.equal(t, REFERENCE[from + i - 1], `T(${from + i}) after a split at ${splitAt} (${stepsBefore} steps in)`));
    }
    // A saved state whose lower terms were committed since is narrowed: below its next term (it goes on),
    // or inside its finished terms (they are dropped and it is done).
    for (const [steps, narrowTo] of [
      [10, 420],
      [60, 430],
    ]) {
      const saved = ZetaBlock.start(from, to, pi);
      for (let i = 0; i < steps; i++) saved.step();
      const narrowed = ZetaBlock.restore(saved.serialize());
      assert.throws(() => narrowed.narrowTo(from - 1), RangeError);
      assert.throws(() => narrowed.narrowTo(to + 1), RangeError);
      narrowed.narrowTo(narrowTo);
      while (!narrowed.finished) narrowed.step();
      assert.deepEqual(narrowed.terms(), REFERENCE.slice(narrowTo - 1, to), `narrowed to ${narrowTo} after ${steps} steps`);
    }
    // A balanced split leaves the new block a share that pays for its setup (about half the terms: the top
    // ones this block keeps cost a little more each), and none when too little is left.
    const block = ZetaBlock.start(from, to, pi);
    const at = block.balancedSplit();
    assert.ok(at !== null && at > from + 30 && at < from + 45, `balanced split of ${from}..${to} at ${at}`);
    while (block.remaining > 14) block.step();
    assert.equal(block.balancedSplit(), null);
  });

  it('the block computer splits on request and returns only the terms above the split', () => {
    const compute = createBlockComputer();
    let steps = 0;
    let split: { from: number; state: Buffer } | undefined;
    const top = compute(501, 700, { onTerm: () => steps++, splitWanted: () => steps === 5, onSplit: (f, state) => (split = { from: f, state }) });
    assert.ok(split, 'the block agreed to split');
    assert.equal(top.length, 700 - split.from + 1);
    assert.equal(ZetaBlock.restore(split.state).from, split.from);
    const bottom = compute(501, split.from - 1);
    const check = new Verifier();
    [...runToEnd(new TangentEngine(500)).map((t) => t.digits), ...bottom, ...top].forEach((d, i) => check.accept(i + 1, d));
    assert.equal(check.count, 700);
    // Blocks that start with the small-n terms are never split.
    let asked = 0;
    const small = compute(1, 120, { splitWanted: () => (asked++, true), onSplit: () => assert.fail('split a block with small-n terms') });
    assert.equal(small.length, 120);
    assert.equal(asked, 0);
    // Asked near its end, a block declines, and says so (whoever asked need not wait for it).
    let declined = 0;
    steps = 0;
    const late = compute(501, 540, { onTerm: () => steps++, splitWanted: () => steps === 33, onSplit: () => assert.fail('split with 7 terms left'), onSplitDeclined: () => declined++ });
    assert.equal(late.length, 40);
    assert.equal(declined, 1);
  });

  it('a damaged or foreign block state is refused with RangeError', () => {
    const block = ZetaBlock.start(300, 320, new PiCache());
    block.step();
    const saved = block.serialize();
    assert.throws(() => ZetaBlock.restore(saved.subarray(0, saved.length - 1)), RangeError);
    assert.throws(() => ZetaBlock.restore(Buffer.concat([saved, Buffer.from([0])])), RangeError);
    const otherRange = Buffer.from(saved);
    otherRange.writeUInt32LE(330, 8);
    assert.throws(() => ZetaBlock.restore(otherRange), RangeError);
    assert.throws(() => ZetaBlock.restore(Buffer.from('TZB1junk')), RangeError);
  });

  it('the block computer resumes from a state and reports states while it runs', () => {
    const compute = createBlockComputer();
    const states: Buffer[] = [];
    let steps = 0;
    assert.throws(
      () => compute(501, 560, { stateWanted: () => true, onState: (s) => states.push(s), shouldStop: () => ++steps >= 20 }),
      (e: Error) => e.name === 'BlockStopped',
    );
    assert.ok(states.length >= 1);
    const digits = compute(501, 560, { resume: states[states.length - 1] });
    assert.equal(digits.length, 60);
    const check = new Verifier();
    const all = [...runToEnd(new TangentEngine(500)).map((t) => t.digits), ...digits];
    all.forEach((d, i) => check.accept(i + 1, d));
  });
});
