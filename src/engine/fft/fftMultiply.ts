// Exact multiplication of large non-negative BigInts by a floating-point FFT in WebAssembly
// (./kernel.as.ts). V8 multiplies 50–200 kbit numbers with Toom-Cook or its own FFT, 3–4× slower
// than GMP; this is 1.5–2.2× faster than V8 there, and a factor whose spectrum is cached (4π², 2^(s+g)/10^D, the
// digit tree's powers of five) saves a third more. Transform sizes are 2^k or 3·2^k points, so a
// product never pays for more than 4/3 of the points it needs. Operands and results are BigInts (copied
// in and out of the kernel's memory as u32 words, ../bigintWords; as hex where that is not available), or
// u32 limbs left in the kernel's memory (FixedFactor.timesInto: the digit tree's products).
//
// Exactness: every coefficient of the convolution is an integer, and the computed one is rounded to
// it. Percival's bound (Brent & Zimmermann, Modern Computer Arithmetic, §3.3) limits the error of an
// FFT convolution of length 2^n to ‖x‖·‖y‖·((1+ε)^3n·(1+ε√5)^(3n+1)·(1+β)^3n − 1) with ε = 2^-53 and β
// the twiddle factors' error. With balanced b-bit limbs ‖x‖ ≤ 2^(b−1)·√(limbs), and the FFT route is
// only taken when that bound (n counting two more levels for the real-data packing and two for a
// radix-3 stage, β = 2ε) is below 1/2, so that rounding gives the exact integer: 16-bit limbs for
// factors up to ~250 kbit, 12-bit limbs (a third more points) above, up to 1.5 Mbit products; larger
// ones are left to BigInt. As a second line, the kernel reports the largest distance of any
// coefficient from an integer; above 1/4 the product is recomputed by BigInt (never seen; counted in
// fftStats).

import { HEADER_ROOM, bigintOfWords, rawBigInts, wordsOf, type Words } from '../bigintWords';
import { kernel as wasmKernel, readLimbs, reserve, writeLimbs, type KernelExports } from '../wasmKernel';

/**
 * Products smaller than this (bits of both factors together) are left to V8, which is as fast there
 * (measured: 16k × 16k and 20k × 10k bits are 1.1–1.2× faster by FFT, 16k × 8k and 12k × 12k slower).
 */
export const FFT_MIN_PRODUCT_BITS = 28_000;
/** The same for a FixedFactor, whose spectrum is already there (16k × 8k and 12k × 12k bits are 1.2× faster). */
export const FIXED_MIN_PRODUCT_BITS = 22_000;
/** A factor smaller than this is left to V8 however large the other one is: its cost grows only linearly. */
const MIN_FACTOR_BITS = 4_000;
/** Largest transform: M complex points hold 2M limbs of the product. */
const MAX_M = 1 << 16;
const EPS = 2 ** -53;
const MAX_ROUNDING_ERROR = 0.25;

/** Counters for tests and the benchmark. */
export const fftStats = { products: 0, fallbacks: 0, radix3: 0 };
/** How BigInts go in and out of the kernel: as u32 words where this process allows it, else as hex (tests try both). */
export const conversions = { words: rawBigInts };

/** Byte offsets of the kernel's working memory, laid out for transforms of up to `capacity` points. */
interface Layout {
  capacity: number;
  /** Per-stage twiddles of the power-of-two FFTs: tw[h + j] = e^(-2πi·j/2h); tw3[q + j] = e^(-2πi·3j/4q). */
  twr: number;
  twi: number;
  t3r: number;
  t3i: number;
  /** Two operands' spectra, and their product's. */
  xr: number;
  xi: number;
  yr: number;
  yi: number;
  zr: number;
  zi: number;
  hexIn: number;
  hexOut: number;
  hexOutBytes: number;
  hexPairs: number;
  /** Next free byte of the region for per-size tables, and its end. */
  sizeTablesTop: number;
  sizeTablesEnd: number;
  sizes: Map<number, SizeTables>;
}

/** Tables of one transform size m = t or 3t (t a power of two). */
interface SizeTables {
  m: number;
  t: number;
  three: boolean;
  /** Untangling twiddles e^(-2πi·k/2m) for the frequency k held at each position, in storage order. */
  gr: number;
  gi: number;
  /** Radix-3 stage twiddles e^(-2πi·j/m), e^(-2πi·2j/m) for j < t. */
  w1r: number;
  w1i: number;
  w2r: number;
  w2i: number;
}

function bitReverse(x: number, bits: number): number {
  let r = 0;
  for (let b = 0; b < bits; b++) if (x & (1 << b)) r |= 1 << (bits - 1 - b);
  return r;
}

/** A BigInt factor as the kernel takes it in: its u32 words (../bigintWords), or its hex digits. */
interface Operand {
  /** x.toString(16).length, which the plans are made from. */
  hexDigits: number;
  words?: Words;
  hex?: string;
}

function operandOf(x: bigint): Operand {
  if (conversions.words) {
    const words = wordsOf(x);
    return { hexDigits: words.hexDigits, words };
  }
  const hex = x.toString(16);
  return { hexDigits: hex.length, hex };
}

class Kernel {
  private readonly k: KernelExports;
  private layout: Layout | undefined;
  /** A Buffer over the kernel's memory, for Node's native latin1 copies of hex (2–3× faster than TextEncoder/TextDecoder); made again after the memory grows. */
  private bytes: Buffer | undefined;

  constructor() {
    this.k = wasmKernel();
  }

  private memoryBytes(): Buffer {
    if (this.bytes?.buffer !== this.k.memory.buffer) this.bytes = Buffer.from(this.k.memory.buffer);
    return this.bytes;
  }

  /** The working memory for m-point transforms (re-laid out, larger, when m outgrows it). */
  private memoryFor(m: number): Layout {
    if (this.layout && this.layout.capacity >= m) return this.layout;
    const capacity = Math.max(m, 1 << 12);
    // Offsets from 0 first, then moved to a region reserved for the whole layout.
    let top = 0;
    const take = (bytes: number) => {
      const at = (top + 15) & ~15;
      top = at + bytes;
      return at;
    };
    const doubles = capacity * 8;
    const layout: Layout = {
      capacity,
      twr: take(doubles), twi: take(doubles), t3r: take(doubles), t3i: take(doubles),
      xr: take(doubles), xi: take(doubles), yr: take(doubles), yi: take(doubles), zr: take(doubles), zi: take(doubles),
      hexIn: take(capacity * 8), hexOutBytes: capacity * 8 + 32, hexOut: 0, hexPairs: 0,
      sizeTablesTop: 0, sizeTablesEnd: 0, sizes: new Map(),
    };
    layout.hexOut = take(layout.hexOutBytes);
    layout.hexPairs = take(512);
    // Room for the tables of every size up to the capacity: 2m doubles for each m = 2^k, 2m + 4m/3 for each m = 3·2^k.
    let tableDoubles = 0;
    for (let power = 4; power <= 2 * capacity; power <<= 1) {
      if (power <= capacity) tableDoubles += 2 * power;
      const three = (power / 4) * 3;
      if (three >= 12 && three <= capacity) tableDoubles += (10 / 3) * three;
    }
    layout.sizeTablesTop = take(tableDoubles * 8 + 4096 * 8);
    layout.sizeTablesEnd = top;
    // Earlier layouts are simply abandoned (memory cannot shrink).
    const base = reserve(top);
    for (const key of ['twr', 'twi', 't3r', 't3i', 'xr', 'xi', 'yr', 'yi', 'zr', 'zi', 'hexIn', 'hexOut', 'hexPairs', 'sizeTablesTop', 'sizeTablesEnd'] as const) layout[key] += base;
    const buffer = this.k.memory.buffer;
    const twr = new Float64Array(buffer, layout.twr, capacity);
    const twi = new Float64Array(buffer, layout.twi, capacity);
    const t3r = new Float64Array(buffer, layout.t3r, capacity);
    const t3i = new Float64Array(buffer, layout.t3i, capacity);
    for (let h = 1; h < capacity; h <<= 1) {
      for (let j = 0; j < h; j++) {
        twr[h + j] = Math.cos((-Math.PI * j) / h);
        twi[h + j] = Math.sin((-Math.PI * j) / h);
        t3r[h + j] = Math.cos((-1.5 * Math.PI * j) / h);
        t3i[h + j] = Math.sin((-1.5 * Math.PI * j) / h);
      }
    }
    const pairs = new Uint8Array(buffer, layout.hexPairs, 512);
    const digits = '0123456789abcdef';
    for (let b = 0; b < 256; b++) {
      pairs[2 * b] = digits.charCodeAt(b >> 4);
      pairs[2 * b + 1] = digits.charCodeAt(b & 15);
    }
    this.layout = layout;
    return layout;
  }

  private tablesFor(m: number): SizeTables {
    const layout = this.memoryFor(m);
    const known = layout.sizes.get(m);
    if (known) return known;
    const three = m % 3 === 0;
    const t = three ? m / 3 : m;
    const take = (count: number) => {
      const at = layout.sizeTablesTop;
      layout.sizeTablesTop += count * 8;
      if (layout.sizeTablesTop > layout.sizeTablesEnd) throw new Error('FFT size tables overflow their region');
      return at;
    };
    const tables: SizeTables = { m, t, three, gr: take(m), gi: take(m), w1r: 0, w1i: 0, w2r: 0, w2i: 0 };
    const buffer = this.k.memory.buffer;
    const gr = new Float64Array(buffer, tables.gr, m);
    const gi = new Float64Array(buffer, tables.gi, m);
    const bits = 31 - Math.clz32(t);
    // Position r·t + q holds frequency k = 3·rev(q) + r (k = rev(q) for a power-of-two size).
    for (let r = 0; r < (three ? 3 : 1); r++) {
      for (let q = 0; q < t; q++) {
        const k = three ? 3 * bitReverse(q, bits) + r : bitReverse(q, bits);
        gr[r * t + q] = Math.cos((-Math.PI * k) / m);
        gi[r * t + q] = Math.sin((-Math.PI * k) / m);
      }
    }
    if (three) {
      tables.w1r = take(t); tables.w1i = take(t); tables.w2r = take(t); tables.w2i = take(t);
      const w1r = new Float64Array(buffer, tables.w1r, t);
      const w1i = new Float64Array(buffer, tables.w1i, t);
      const w2r = new Float64Array(buffer, tables.w2r, t);
      const w2i = new Float64Array(buffer, tables.w2i, t);
      for (let j = 0; j < t; j++) {
        w1r[j] = Math.cos((-2 * Math.PI * j) / m);
        w1i[j] = Math.sin((-2 * Math.PI * j) / m);
        w2r[j] = Math.cos((-4 * Math.PI * j) / m);
        w2i[j] = Math.sin((-4 * Math.PI * j) / m);
      }
    }
    layout.sizes.set(m, tables);
    return tables;
  }

  /** Transforms the integer with hex digits `hex`, cut into limbs of `plan.limbBits`, into the x (or y) spectrum slot. */
  spectrum(hex: string, plan: Plan, slot: 'x' | 'y'): void {
    const layout = this.memoryFor(plan.m);
    const re = slot === 'x' ? layout.xr : layout.yr;
    const im = slot === 'x' ? layout.xi : layout.yi;
    this.memoryBytes().write(hex, layout.hexIn, hex.length, 'latin1');
    if (plan.limbBits === 16) this.k.loadHex(layout.hexIn, hex.length, re, im, plan.m);
    else this.k.loadHex12(layout.hexIn, hex.length, re, im, plan.m);
    this.transform(plan, re, im);
  }

  /** spectrum() of a BigInt factor. */
  spectrumOf(x: Operand, plan: Plan, slot: 'x' | 'y'): void {
    if (!x.words) return this.spectrum(x.hex!, plan, slot);
    // The words go where a factor's hex would (2 bytes of words per 4 hex digits: they fit).
    const layout = this.memoryFor(plan.m);
    this.memoryBytes().set(x.words.bytes, layout.hexIn);
    this.spectrumOfLimbs(layout.hexIn, x.words.words, plan, slot);
  }

  /** spectrum() of the integer held by `words` u32 limbs at src in the kernel's memory. */
  spectrumOfLimbs(src: number, words: number, plan: Plan, slot: 'x' | 'y'): void {
    const layout = this.memoryFor(plan.m);
    const re = slot === 'x' ? layout.xr : layout.yr;
    const im = slot === 'x' ? layout.xi : layout.yi;
    this.k.loadLimbs32(src, words, re, im, plan.m, plan.limbBits);
    this.transform(plan, re, im);
  }

  private transform(plan: Plan, re: number, im: number): void {
    const m = plan.m;
    const layout = this.memoryFor(m);
    const s = this.tablesFor(m);
    if (s.three) {
      fftStats.radix3++;
      this.k.radix3Dif(re, im, m, s.w1r, s.w1i, s.w2r, s.w2i);
      for (let r = 0; r < 3; r++) this.k.dif(re + r * s.t * 8, im + r * s.t * 8, s.t, layout.twr, layout.twi, layout.t3r, layout.t3i);
      this.k.realPost(re, im, s.t, s.gr, s.gi);
      this.k.realPostCross(re, im, s.t, s.gr + s.t * 8, s.gi + s.t * 8);
    } else {
      this.k.dif(re, im, m, layout.twr, layout.twi, layout.t3r, layout.t3i);
      this.k.realPost(re, im, m, s.gr, s.gi);
    }
  }

  /** A copy of a slot's spectrum, to be put back by `load`. */
  save(m: number, slot: 'x' | 'y'): Float64Array {
    const layout = this.memoryFor(m);
    const copy = new Float64Array(2 * m);
    copy.set(new Float64Array(this.k.memory.buffer, slot === 'x' ? layout.xr : layout.yr, m), 0);
    copy.set(new Float64Array(this.k.memory.buffer, slot === 'x' ? layout.xi : layout.yi, m), m);
    return copy;
  }

  load(m: number, slot: 'x' | 'y', saved: Float64Array): void {
    const layout = this.memoryFor(m);
    new Float64Array(this.k.memory.buffer, slot === 'x' ? layout.xr : layout.yr, m).set(saved.subarray(0, m));
    new Float64Array(this.k.memory.buffer, slot === 'x' ? layout.xi : layout.yi, m).set(saved.subarray(m));
  }

  /**
   * (x · y) >> shift from the two spectra (of a product with `limbs` limbs), only its low `width` bits
   * when width is given; null if rounding was unsafe. Only the limbs that hold those bits are
   * converted back to a BigInt.
   */
  finish(plan: Plan, shift: number, width?: number): bigint | null {
    const { limbBits } = plan;
    const limbs = plan.la + plan.lb;
    const layout = this.memoryFor(plan.m);
    const { re, im } = this.inverse(plan);
    if (conversions.words) {
      // The wanted bits as u32 words (whole 64-bit digits), read back as a BigInt where they lie.
      const bits = width ?? Math.max(0, limbs * limbBits - shift);
      const words = 2 * Math.max(1, Math.ceil(bits / 64));
      const at = layout.hexOut + HEADER_ROOM;
      this.k.storeWindow32(re, im, limbs, at, shift, words, limbBits);
      if (!(this.k.lastMaxErr() <= MAX_ROUNDING_ERROR)) return null;
      const window = bigintOfWords(this.memoryBytes(), at, words);
      return width === undefined || width === 32 * words ? window : BigInt.asUintN(width, window);
    }
    const lo = Math.floor(shift / limbBits);
    const hi = width === undefined ? limbs : Math.ceil((shift + width) / limbBits);
    const chars = this.k.storeHex(re, im, limbs, layout.hexOut, layout.hexOutBytes, layout.hexPairs, lo, hi, limbBits);
    if (!(this.k.lastMaxErr() <= MAX_ROUNDING_ERROR)) return null;
    const end = layout.hexOut + layout.hexOutBytes;
    const window = BigInt(this.memoryBytes().toString('latin1', end - chars, end)) >> BigInt(shift - lo * limbBits);
    return width === undefined ? window : BigInt.asUintN(width, window);
  }

  /**
   * Bits loBit .. loBit + 32·words − 1 of the product x · y from the two spectra, as u32 limbs at dst in
   * the kernel's memory; false if rounding was unsafe (dst is then not to be used).
   */
  finishInto(plan: Plan, loBit: number, words: number, dst: number): boolean {
    const { re, im } = this.inverse(plan);
    // A cyclic transform shorter than the product holds its top wrapped around onto its bottom.
    this.k.storeWindow32(re, im, Math.min(plan.la + plan.lb, 2 * plan.m), dst, loBit, words, plan.limbBits);
    return this.k.lastMaxErr() <= MAX_ROUNDING_ERROR;
  }

  /** The product's coefficients from the two spectra, in the z slot (x and y stay as they are). */
  private inverse(plan: Plan): { re: number; im: number } {
    const m = plan.m;
    const layout = this.memoryFor(m);
    const s = this.tablesFor(m);
    const re = layout.zr;
    const im = layout.zi;
    this.k.pointwise(layout.xr, layout.xi, layout.yr, layout.yi, re, im, m);
    if (s.three) {
      this.k.realPreCross(re, im, s.t, s.gr + s.t * 8, s.gi + s.t * 8);
      this.k.realPre(re, im, s.t, s.gr, s.gi, m);
      for (let r = 0; r < 3; r++) this.k.dit(re + r * s.t * 8, im + r * s.t * 8, s.t, layout.twr, layout.twi, layout.t3r, layout.t3i);
      this.k.radix3Dit(re, im, m, s.w1r, s.w1i, s.w2r, s.w2i);
    } else {
      this.k.realPre(re, im, m, s.gr, s.gi, m);
      this.k.dit(re, im, m, layout.twr, layout.twi, layout.t3r, layout.t3i);
    }
    return { re, im };
  }
}

let kernel: Kernel | undefined;
function theKernel(): Kernel {
  return (kernel ??= new Kernel());
}

/**
 * The bits of a product a caller wants, when all below them may be wrong (a middle product: the digit
 * tree discards the integer part above the window and never reads below it).
 */
interface ProductWindow {
  loBit: number;
  bits: number;
}

/**
 * Coefficients the transform's cyclic convolution must have. All la + lb for the whole product; for a
 * window, only enough that the window lies inside the cycle and the product's top, which wraps around
 * to the bottom, lands far enough below the window that the carry it adds there is under 2^-20 units
 * (a coefficient is under 2^(2·limbBits + 14)): the low part of a split in the digit tree is then a
 * transform of ~(z + 3 limbs) instead of ~(z + 5^k), a fifth to a third fewer points.
 */
function cycleLimbs(la: number, lb: number, limbBits: number, window?: ProductWindow): number {
  const whole = la + lb;
  if (!window) return whole;
  const top = Math.ceil((window.loBit + window.bits) / limbBits) + 1;
  const wrapRoom = Math.floor((window.loBit - (2 * limbBits + 14) - 20) / limbBits);
  return Math.min(whole, Math.max(top, whole - Math.max(0, wrapRoom), Math.max(la, lb)));
}

/** How a product is cut and transformed. */
interface Plan {
  /** Complex points of the transform. */
  m: number;
  /** Bits per (balanced) limb: 16, or 12 where 16-bit limbs' rounding bound is too large. */
  limbBits: 16 | 12;
  /** Limbs of each factor (one more than the digits need, for the balanced representation's carry). */
  la: number;
  lb: number;
}

/**
 * The transform for a product of numbers with aHex and bHex hex digits: 2^k or 3·2^k points (so never
 * more than 4/3 of what is needed), 16-bit limbs where the rounding bound allows them, else 12-bit
 * ones; null when neither fits (larger than ~1.5 Mbit).
 */
function planProduct(aHex: number, bHex: number, minPoints = 0, onlyLimbBits?: 16 | 12, window?: ProductWindow): Plan | null {
  for (const limbBits of [16, 12] as const) {
    if (onlyLimbBits !== undefined && limbBits !== onlyLimbBits) continue;
    const hexPerLimb = limbBits / 4;
    const la = Math.ceil(aHex / hexPerLimb) + 1;
    const lb = Math.ceil(bHex / hexPerLimb) + 1;
    const need = Math.max(minPoints, Math.ceil(cycleLimbs(la, lb, limbBits, window) / 2));
    let m = 4;
    while (m < need) m <<= 1;
    const three = (m / 4) * 3;
    const useThree = three >= need && three >= 12;
    if (useThree) m = three;
    if (m > MAX_M) return null;
    // The radix-3 stage counts as two more levels of error growth.
    const levels = Math.log2(2 * m) + 2 + (useThree ? 2 : 0);
    const growth = 3 * levels * EPS + (3 * levels + 1) * Math.sqrt(5) * EPS + 3 * levels * 2 * EPS;
    const bound = Math.sqrt(la * lb) * 2 ** (2 * (limbBits - 1)) * growth;
    if (bound < 0.5) return { m, limbBits, la, lb };
  }
  return null;
}

// Comparisons with these are O(1) for BigInts, where finding the bit length (toString(16)) costs a
// pass over the number: the many small products are sent to V8 without one.
const FACTOR_FLOOR = 1n << BigInt(MIN_FACTOR_BITS);
const PRODUCT_HALF_FLOOR = 1n << BigInt(FFT_MIN_PRODUCT_BITS / 2);

/** (a · b) >> shift for non-negative a, b; by FFT when both are large enough and the error bound allows it. */
export function multiply(a: bigint, b: bigint, shift = 0): bigint {
  if (a < FACTOR_FLOOR || b < FACTOR_FLOOR || (a < PRODUCT_HALF_FLOOR && b < PRODUCT_HALF_FLOOR)) return (a * b) >> BigInt(shift);
  const ha = operandOf(a);
  if (ha.hexDigits * 4 < MIN_FACTOR_BITS) return (a * b) >> BigInt(shift);
  const hb = operandOf(b);
  if (hb.hexDigits * 4 < MIN_FACTOR_BITS || (ha.hexDigits + hb.hexDigits) * 4 < FFT_MIN_PRODUCT_BITS) return (a * b) >> BigInt(shift);
  const plan = planProduct(ha.hexDigits, hb.hexDigits);
  if (!plan) return (a * b) >> BigInt(shift);
  const k = theKernel();
  k.spectrumOf(ha, plan, 'x');
  k.spectrumOf(hb, plan, 'y');
  return checked(k.finish(plan, shift), a, b, shift);
}

/** The FFT's result, or BigInt's when the FFT's rounding check failed. */
function checked(product: bigint | null, a: bigint, b: bigint, shift: number, width?: number): bigint {
  fftStats.products++;
  if (product !== null) return product;
  fftStats.fallbacks++;
  return bitWindow(a * b, shift, width);
}

function bitWindow(x: bigint, shift: number, width: number | undefined): bigint {
  const shifted = x >> BigInt(shift);
  return width === undefined ? shifted : BigInt.asUintN(width, shifted);
}

/**
 * A factor used many times (a constant of the computation): its spectrum is computed once per
 * transform size and reused, so each product costs one forward and one inverse transform.
 */
export class FixedFactor {
  private readonly operand: Operand;
  /** Spectra by transform size and limb size (key m·32 + limbBits). */
  private readonly spectra = new Map<number, Float64Array>();

  /** Operands below this go to V8 without a look at their size (see FACTOR_FLOOR). */
  private readonly smallOperand: bigint;

  constructor(readonly value: bigint) {
    if (value < 0n) throw new RangeError('a FixedFactor must not be negative');
    this.operand = operandOf(value);
    this.smallOperand = 1n << BigInt(Math.max(MIN_FACTOR_BITS, FIXED_MIN_PRODUCT_BITS - this.operand.hexDigits * 4));
  }

  /**
   * (value · a) >> shift (a ≥ 0), only its low `width` bits when width is given. `aBits` (an upper bound
   * on a's bits), when the caller knows it, skips looking at a small a at all.
   */
  times(a: bigint, options: { aBits?: number; shift?: number; width?: number } = {}): bigint {
    const { aBits, shift = 0, width } = options;
    const bits = this.operand.hexDigits * 4;
    if (bits < MIN_FACTOR_BITS || (aBits !== undefined && aBits + bits < FIXED_MIN_PRODUCT_BITS) || a < this.smallOperand) return bitWindow(a * this.value, shift, width);
    const ha = operandOf(a);
    if (ha.hexDigits * 4 < MIN_FACTOR_BITS || ha.hexDigits * 4 + bits < FIXED_MIN_PRODUCT_BITS) return bitWindow(a * this.value, shift, width);
    const plan = planProduct(ha.hexDigits, this.operand.hexDigits);
    if (!plan) return bitWindow(a * this.value, shift, width);
    const k = theKernel();
    this.loadSpectrum(k, plan);
    k.spectrumOf(ha, plan, 'x');
    return checked(k.finish(plan, shift, width), a, this.value, shift, width);
  }

  /**
   * Bits loBit .. loBit + 32·words − 1 of value · a, as u32 limbs at dst in the kernel's memory, where a is
   * held by `aWords` u32 limbs at aPtr there (or is given as a BigInt): the digit tree's products, whose
   * operands and results never become BigInts. BigInt does the product when the FFT may not.
   */
  timesInto(a: { ptr: number; words: number } | bigint, loBit: number, words: number, dst: number, wrapBelowWindow = false): void {
    const aOperand = typeof a === 'bigint' ? operandOf(a) : undefined;
    const aHexDigits = aOperand ? aOperand.hexDigits : 8 * (a as { words: number }).words;
    const large = 4 * (aHexDigits + this.operand.hexDigits) >= FIXED_MIN_PRODUCT_BITS && 4 * Math.min(aHexDigits, this.operand.hexDigits) >= MIN_FACTOR_BITS;
    const plan = large ? planProduct(aHexDigits, this.operand.hexDigits, 0, undefined, wrapBelowWindow ? { loBit, bits: 32 * words } : undefined) : null;
    if (plan) {
      const k = theKernel();
      this.loadSpectrum(k, plan);
      if (aOperand !== undefined) k.spectrumOf(aOperand, plan, 'x');
      else k.spectrumOfLimbs((a as { ptr: number }).ptr, (a as { words: number }).words, plan, 'x');
      fftStats.products++;
      if (k.finishInto(plan, loBit, words, dst)) return;
      fftStats.fallbacks++;
    }
    const value = typeof a === 'bigint' ? a : readLimbs(a.ptr, a.words);
    writeLimbs(BigInt.asUintN(32 * words, (value * this.value) >> BigInt(loBit)), dst, words);
  }

  /** Puts this factor's spectrum for `plan` into the kernel's y slot (computing and caching it the first time). */
  loadSpectrum(k: Kernel, plan: Plan): void {
    const key = plan.m * 32 + plan.limbBits;
    const saved = this.spectra.get(key);
    if (saved) {
      k.load(plan.m, 'y', saved);
    } else {
      k.spectrumOf(this.operand, plan, 'y');
      this.spectra.set(key, k.save(plan.m, 'y'));
    }
  }

  get hexDigits(): number {
    return this.operand.hexDigits;
  }
}

/**
 * [(x · a) >> shiftA, (x · factor) >> shiftB] for non-negative x and a, with x transformed once for
 * both products when one transform size suits them (x is the larger factor of both; the engine's Φ,
 * multiplied by λ's tail and by 4π² at every step); otherwise as two products.
 */
export function multiplyTwice(x: bigint, a: bigint, shiftA: number, factor: FixedFactor, shiftB: number): [bigint, bigint] {
  const separately = (): [bigint, bigint] => [multiply(x, a, shiftA), factor.times(x, { shift: shiftB })];
  if (x < PRODUCT_HALF_FLOOR || a < FACTOR_FLOOR || factor.hexDigits * 4 < MIN_FACTOR_BITS) return separately();
  const hx = operandOf(x);
  const ha = operandOf(a);
  if ((hx.hexDigits + ha.hexDigits) * 4 < FFT_MIN_PRODUCT_BITS || (hx.hexDigits + factor.hexDigits) * 4 < FIXED_MIN_PRODUCT_BITS) return separately();
  // x·a is planned at no fewer points than x·factor needs, and x·factor then again at that size, so
  // both share one transform of x (each plan checks the rounding bound at the size it gets).
  const first = planProduct(hx.hexDigits, factor.hexDigits);
  const second = first && planProduct(hx.hexDigits, ha.hexDigits, first.m, first.limbBits);
  const planB = second && (second.m === first.m ? first : planProduct(hx.hexDigits, factor.hexDigits, second.m, first.limbBits));
  if (!second || !planB || planB.m !== second.m) return separately();
  const k = theKernel();
  k.spectrumOf(hx, planB, 'x');
  factor.loadSpectrum(k, planB);
  // The product goes to the z slot: x's spectrum is still there for the second one.
  const byFactor = checked(k.finish(planB, shiftB), x, factor.value, shiftB);
  k.spectrumOf(ha, second, 'y');
  const byA = checked(k.finish(second, shiftA), x, a, shiftA);
  return [byA, byFactor];
}

