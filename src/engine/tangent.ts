// Exact Tangent numbers T(n) (OEIS A000182): tan x = Σ T(n) x^(2n-1) / (2n-1)!.
//
// Main route (n > SMALL_LIMIT), through the Bernoulli numbers, evaluated downwards in blocks:
//   T(n) = 2^(2n)·(2^(2n) − 1)·|B_2n| / (2n),
//   |B_2n| = 2·(2n)!/(2π)^(2n) · λ(2n)/(1 − 2^(−2n)),   λ(s) = Σ_{j odd} j^(-s).
// |B_2n| is computed in fixed point to a few dozen bits below its units only: B_2n + Σ_{(p−1)|2n} 1/p
// is an integer (von Staudt–Clausen), so rounding makes it exact, and T(n) follows by an exact
// division (which must leave no remainder: a check). |B_2n| is ~2^(4n)/(2n) times smaller than
// T(n), so λ needs only the j up to ~n/8.5 (not ~n/2.1) and every term of it is 4n bits shorter:
// λ costs less than a quarter of what it does when T(n) itself is the fixed-point quantity.
// A block [a, b] is computed from n = b down to n = a. Going down, the needed precision
// falls, so every quantity is updated by *multiplying* (by 4π² and by j²) and never loses
// relative precision, while the only divisions happen once per block. Blocks are
// independent, deterministic units of work: re-running one yields the same terms.
//
// The exact T(n) is multiplied by 2^(s+g)/10^D (D a multiple of LEAF_DIGITS, at least T(n)'s digit
// count; one product with a cached spectrum, written straight into WebAssembly memory), giving the
// binary fraction T(n)/10^D whose decimal digits a division-free scaled remainder tree reads off
// (./decimal), much faster than toString.
//
// Small n (n <= SMALL_LIMIT): Brent–Harvey's exact in-place recurrence, cheap at that size.

import { PiCache, bitLength, factorial } from './bigmath';
import { LEAF_DIGITS, NotAnIntegerError, digitsOfProduct, treeBits } from './decimal';
import { FixedFactor, multiply, multiplyTwice } from './fft/fftMultiply';
import { HEADER_ROOM, bigintOfWords, rawBigInts, wordsOf } from './bigintWords';

export const SMALL_LIMIT = 64;

/** Fraction bits beyond those the digit tree needs; the product with 2^(s+g)/10^D errs by a few units only. */
const SCALE_GUARD = 40;
/**
 * Fraction bits of |B_2n| below its units. Its error is a few units per step of a block (truncations
 * in the ×4π² update and the division), at most ~2^11 units, far below the 1/4 rounding needs.
 */
const GUARD = 64;
/** Extra bits of 2^(s+g)/10^D beyond 10^D's size (g = D·log2 10 + this): its error then reaches y only as ~2^-32. */
const TEN_GUARD = 32;

/** Leaves of LEAF_DIGITS digits that hold T(n)'s digits (from an upper bound: a leading one may stay zero). */
function leavesAt(n: number): number {
  return Math.ceil(decimalDigitsUpper(n) / LEAF_DIGITS);
}

/** Fraction bits s of the scale 2^s / 10^(leaves · LEAF_DIGITS). */
function scaleBits(leaves: number): number {
  return treeBits(leaves) + SCALE_GUARD;
}

const LN2 = Math.log(2);
const LOG2_3 = Math.log2(3);

export class PrecisionError extends Error {
  override name = 'PrecisionError';
}

/** ln((m)!) by Stirling's series; accurate to ~1e-12 relative, callers add margin. */
function lnFactorial(m: number): number {
  if (m < 2) return 0;
  if (m < 30) {
    let s = 0;
    for (let k = 2; k <= m; k++) s += Math.log(k);
    return s;
  }
  const m2 = m * m;
  return m * Math.log(m) - m + 0.5 * Math.log(2 * Math.PI * m) + 1 / (12 * m) - 1 / (360 * m * m2);
}

/** An upper bound (within ~3 bits) on log2 T(n). */
export function log2TangentUpper(n: number): number {
  const log2 = 1 + lnFactorial(2 * n - 1) / LN2 + 2 * n * Math.log2(2 / Math.PI);
  // λ(2n) < 1 + 2·3^(-2n) contributes < 0.3 bits; 3 bits cover that and the float error.
  return Math.max(1, log2 + 3);
}

/** An upper bound (within ~3 bits) on log2 |B_2n|. */
export function log2BernoulliUpper(n: number): number {
  const log2 = 1 + lnFactorial(2 * n) / LN2 - 2 * n * Math.log2(2 * Math.PI);
  // ζ(2n) < 1 + 2^(1−2n) contributes < 0.3 bits; 3 bits cover that and the float error.
  return Math.max(1, log2 + 3);
}

/** Σ 1/p over the primes p with (p − 1) | 2n, as a/b in lowest terms (b is their product). */
export function staudtClausenSum(n: number): { a: bigint; b: bigint } {
  let a = 0n;
  let b = 1n;
  const twoN = 2 * n;
  for (let d = 1; d * d <= twoN; d++) {
    if (twoN % d !== 0) continue;
    for (const divisor of d * d === twoN ? [d] : [d, twoN / d]) {
      const p = divisor + 1;
      if (!isSmallPrime(p)) continue;
      a = a * BigInt(p) + b;
      b *= BigInt(p);
    }
  }
  return { a, b };
}

function isSmallPrime(p: number): boolean {
  if (p < 2) return false;
  if (p % 2 === 0) return p === 2;
  for (let q = 3; q * q <= p; q += 2) if (p % q === 0) return false;
  return true;
}

/**
 * T(n) exactly from |B_2n|·2^GUARD known to within a small error (a few units): the nearest integer
 * to B_2n + Σ 1/p gives B_2n exactly, then T(n) = 2^(2n)(2^(2n) − 1)|B_2n|/(2n). Throws PrecisionError
 * when the value is not within 1/4 of such an integer, or the division leaves a remainder.
 */
export function tangentFromBernoulli(n: number, bernoulliFixed: bigint): bigint {
  const { a, b } = staudtClausenSum(n);
  const g = BigInt(GUARD);
  // B_2n has the sign (−1)^(n+1).
  const signed = n % 2 === 1 ? bernoulliFixed : -bernoulliFixed;
  const v = signed + (a << g) / b;
  const k = (v + (1n << (g - 1n))) >> g;
  const off = v - (k << g);
  const quarter = 1n << (g - 2n);
  if (off > quarter || off < -quarter) throw new PrecisionError(`B(${2 * n}) is not within the error bound of its exact value; refusing to round it`);
  // |B_2n| = ±(k·b − a)/b
  const numerator = n % 2 === 1 ? k * b - a : a - k * b;
  const e = BigInt(2 * n);
  const scaled = ((numerator << e) - numerator) << e;
  const divisor = b * e;
  const t = scaled / divisor;
  if (t <= 0n || t * divisor !== scaled) throw new PrecisionError(`T(${n}) from B(${2 * n}) is not an integer; refusing it`);
  return t;
}

/** An upper bound (within a digit) on the number of decimal digits of T(n). */
export function decimalDigitsUpper(n: number): number {
  return Math.floor(log2TangentUpper(n) * Math.LOG10E * Math.LN2) + 1;
}

/** T(1..count) exactly, by Brent & Harvey's in-place algorithm (O(count²) BigInt operations). */
export function tangentSmall(count: number): bigint[] {
  const t: bigint[] = new Array<bigint>(count + 1).fill(0n);
  if (count < 1) return [];
  t[1] = 1n;
  for (let k = 2; k <= count; k++) t[k] = BigInt(k - 1) * t[k - 1];
  for (let k = 2; k <= count; k++) {
    for (let j = k; j <= count; j++) t[j] = BigInt(j - k) * t[j - 1] + BigInt(j - k + 2) * t[j];
  }
  return t.slice(1);
}

/** smallest[j] = the smallest prime factor of odd j (for j <= max). */
function smallestOddFactors(max: number): Int32Array {
  const smallest = new Int32Array(max + 1);
  for (let j = 3; j <= max; j += 2) {
    if (smallest[j] !== 0) continue;
    for (let m = j; m <= max; m += 2 * j) if (smallest[m] === 0) smallest[m] = j;
  }
  return smallest;
}

export interface BlockPlan {
  from: number;
  to: number;
  /** Working precision (bits) of λ in this block. */
  precision: number;
  /** Largest odd j whose j^(-2n) still matters in the block. */
  maxJ: number;
}

export function planBlock(from: number, to: number): BlockPlan {
  const rel = (n: number) => log2BernoulliUpper(n) + GUARD;
  // j^(-2n) matters while j^(2n) <= 2^(bits(B_2n) + GUARD).
  const maxJ = Math.floor(Math.max(2 ** (rel(from) / (2 * from)), 2 ** (rel(to) / (2 * to)))) + 1;
  // Multiplying R_j up by j^(2(to-n)) also multiplies its initial rounding error; extra bits absorb it.
  const log2J = Math.log2(maxJ);
  const precision = Math.ceil(Math.max(rel(from) + 2 * (to - from) * log2J, rel(to)) + 8);
  return { from, to, precision, maxJ };
}

/**
 * One block T(from..to) (from > SMALL_LIMIT) as a resumable computation: `step()` finishes the
 * next term going down from `to`; `serialize()` captures everything needed to continue, so an
 * interrupted block resumes where it was instead of starting over. Restored or not, the
 * arithmetic is the same, so the terms (and the bytes of the state) are identical.
 */
export class ZetaBlock {
  private readonly W: number;
  private readonly jSquared: bigint[];
  /** 4π² without its low `drop` bits, as a factor with cached FFT spectra (see cinvCut). */
  private cut: { drop: number; factor: FixedFactor } | undefined;
  /** The current 2^(s+g)/10^D (see tenScale); derived, so not part of the state. */
  private ten: { leaves: number; g: number; factor: FixedFactor } | undefined;

  private constructor(
    /** The lower end the block's precision was planned for (its `from` may have been raised since: splitAt, narrowTo). */
    private readonly planFrom: number,
    private lowest: number,
    readonly to: number,
    private n: number,
    /** Fraction bits of the R_j: the plan's precision W at first, lowered as n goes down (see step). */
    private scale: number,
    plan: BlockPlan,
    /** 4π² at W bits (kept in the state so a restore needs no π). */
    private readonly cinv: bigint,
    private phi: bigint,
    private readonly rs: bigint[],
    /** Finished terms T(n+1..to) as decimal digits (ASCII bytes), index 0 = T(n+1). Converted as they
     *  finish, so that the (costly) decimal conversion is part of the checkpointed progress too. */
    private readonly pending: Uint8Array[],
  ) {
    this.W = plan.precision;
    this.jSquared = oddJsDescending(plan.maxJ).map((j) => BigInt(j * j));
  }

  static start(from: number, to: number, pi: PiCache): ZetaBlock {
    if (!Number.isInteger(from) || !Number.isInteger(to) || from <= SMALL_LIMIT || to < from) {
      throw new RangeError(`a zeta block needs ${SMALL_LIMIT} < from <= to (got ${from}..${to})`);
    }
    const plan = planBlock(from, to);
    const W = plan.precision;
    const bW = BigInt(W);
    const cinv = fourPiSquared(pi, W);

    // Φ_n = 2·(2n)!/(2π)^(2n) · 2^GUARD; powers of 4π² ≈ 39.5 grow, so fixed-point truncation keeps
    // their relative precision.
    let cinvPow = 1n << bW;
    let base = cinv;
    for (let e = to; e > 0; e >>= 1) {
      if (e & 1) cinvPow = multiply(cinvPow, base, W);
      if (e > 1) base = multiply(base, base, W);
    }
    const phi = (factorial(2 * to) << BigInt(W + GUARD + 1)) / cinvPow;

    // R_j = 2^W / j^(2n) for odd j: the tail of λ(2n) in fixed point, multiplied up by j² per
    // step. Primes by one exact power and division; composites as products of two smaller R's,
    // which costs only a multiplication at their (smaller) size.
    const R = new Map<number, bigint>();
    const smallestFactor = smallestOddFactors(plan.maxJ);
    for (let j = 3; j <= plan.maxJ; j += 2) {
      const p = smallestFactor[j];
      if (p === j) {
        R.set(j, reciprocalPower(j, 2 * to, W));
      } else {
        const x = R.get(p)!;
        const y = R.get(j / p)!;
        // Keep only the bits that can reach the product's integer part (plus slack for carries).
        // Bit lengths from logarithms (within a bit; bitLength would scan both numbers four times).
        const xBits = reciprocalBits(W, p, 2 * to);
        const yBits = reciprocalBits(W, j / p, 2 * to);
        const keep = Math.max(0, xBits + yBits - W) + 32;
        const dx = Math.max(0, xBits - keep);
        const dy = Math.max(0, yBits - keep);
        R.set(j, multiply(x >> BigInt(dx), y >> BigInt(dy), W - dx - dy));
      }
    }
    // Decreasing j: summing goes from the smallest value up, so each addition costs ~ its own size.
    const rs = oddJsDescending(plan.maxJ).map((j) => R.get(j)!);
    return new ZetaBlock(from, from, to, to, W, plan, cinv, phi, rs, []);
  }

  /** The lowest term this block computes (raised by splitAt). */
  get from(): number {
    return this.lowest;
  }

  /** Terms still to compute in this block. */
  get remaining(): number {
    return this.n - this.lowest + 1;
  }

  get finished(): boolean {
    return this.n < this.lowest;
  }

  /**
   * Hands the bottom of the remaining range to someone else: this block stops after T(newFrom), and
   * T(from..newFrom-1) become a block of their own. The arithmetic does not change (the precision
   * planned for the old `from` is more than enough), so the terms are the same.
   */
  splitAt(newFrom: number): void {
    if (!Number.isInteger(newFrom) || newFrom <= this.lowest || newFrom > this.n) {
      throw new RangeError(`cannot split block ${this.lowest}..${this.to} (next term ${this.n}) at ${newFrom}`);
    }
    this.lowest = newFrom;
  }

  /**
   * Narrows a restored block to newFrom..to when its lower terms were committed by another block since
   * its state was saved (the bottom of a split made after that checkpoint): its finished terms from
   * newFrom up, and its progress, stay usable.
   */
  narrowTo(newFrom: number): void {
    if (!Number.isInteger(newFrom) || newFrom < this.lowest || newFrom > this.to) {
      throw new RangeError(`cannot narrow block ${this.lowest}..${this.to} to start at ${newFrom}`);
    }
    if (newFrom > this.n + 1) {
      // Finished terms below newFrom go (pending[0] is T(n+1)); the block is then finished too.
      this.pending.splice(0, newFrom - (this.n + 1));
      this.n = newFrom - 1;
    }
    this.lowest = newFrom;
  }

  /**
   * Where to split so that a fresh block for the bottom part, which first pays its setup (~setupTerms
   * terms' worth of time), ends about when this one does; null when the remaining range is too short
   * for that to pay off. A term costs ~n^1.5 (measured per doubling of n: ×2.4 at 1800, ×2.7 at 3600),
   * so this block, which keeps the top terms, keeps fewer than half of them.
   */
  balancedSplit(): number | null {
    const setupTerms = splitSetupTerms(this.lowest);
    const cost = (k: number) => k ** TERM_COST_EXPONENT;
    let total = setupTerms * cost(this.lowest);
    for (let k = this.lowest; k <= this.n; k++) total += cost(k);
    // Keep the top terms while they are no more than half of all the work (the new block's set-up included).
    let top = 0;
    let at = this.n + 1;
    while (at - 1 > this.lowest && top + cost(at - 1) <= total / 2) top += cost(--at);
    const bottom = at - this.lowest;
    // Half a setup at least: the new block also waits for the job to hand it out, and a split that moves
    // a few terms finishes later than none.
    return bottom >= Math.max(MIN_SPLIT_TERMS, setupTerms / 2) ? at : null;
  }

  /** Computes T(n) for the current n and moves down to n-1. */
  step(): void {
    if (this.finished) throw new RangeError('the block is finished');
    const n = this.n;
    let tail = 0n;
    for (let i = 0; i < this.rs.length; i++) tail += this.rs[i];
    // Φ_n ≈ |B_2n|·2^GUARD: an estimate from above is enough to choose how many bits to multiply.
    const phiBits = Math.ceil(log2BernoulliUpper(n)) + GUARD + 8;
    // Φ·λ = Φ + Φ·tail/2^W, and tail/2^W < 1.5·3^(-2n): the correction only needs the top
    // (phiBits - 2n·log2 3) bits of each factor.
    const tailBits = Math.ceil(this.scale - 2 * n * LOG2_3) + 2;
    const keep = phiBits + tailBits - this.scale + 32;
    let bernoulli = this.phi;
    // Φ_{n-1} = Φ_n · (2π)² / ((2n)(2n-1)), below; Φ_n·4π² shares Φ_n's transform with the correction.
    let phiTimesCinv: bigint | undefined;
    if (keep > 32) {
      const dTail = Math.max(0, tailBits - keep);
      if (n > this.lowest) {
        const cut = this.cinvCut(phiBits + 16);
        const [correction, product] = multiplyTwice(this.phi, tail >> BigInt(dTail), this.scale - dTail, cut.factor, this.W - cut.drop);
        bernoulli += correction;
        phiTimesCinv = product;
      } else {
        bernoulli += multiply(this.phi, tail >> BigInt(dTail), this.scale - dTail);
      }
    }
    // ζ = λ/(1 − 2^(-2n)) = λ·(1 + 2^(-2n) + 2^(-4n) + …)
    const twoN = BigInt(2 * n);
    for (let t = bernoulli >> twoN; t > 0n; t >>= twoN) bernoulli += t;
    // T(n) exactly, then T(n)·2^s/10^D for the digit tree (whose leaves check once more that it is an integer).
    const t = tangentFromBernoulli(n, bernoulli);
    const leaves = leavesAt(n);
    const ten = this.tenScale(leaves);
    try {
      this.pending.unshift(digitsOfProduct(t, ten.factor, ten.g, scaleBits(leaves), leaves));
    } catch (e) {
      if (e instanceof NotAnIntegerError) throw new PrecisionError(`T(${n}) is not within the error bound of an integer; refusing to round it`);
      throw e;
    }
    this.n = n - 1;
    if (n === this.lowest) return;
    for (let i = 0; i < this.rs.length; i++) this.rs[i] *= this.jSquared[i];
    // The R_j need fewer fraction bits further down: an error of one unit at 2^-scale, multiplied by
    // j^(2(n-m)) by step m < n, stays below 2^-(rel(m) + TRIM_GUARD) for every j <= J(n) as long as
    // scale >= rel(n-1) + TRIM_GUARD (rel(n) - rel(m) >= 2(n-m)·log2 J(n)); for larger j the error is
    // at most the term itself (every operation on the R_j rounds down and they stay >= 0), and those terms
    // add up to less than a unit of the result. So the low bits the block's
    // W carried for its bottom are dropped as it gets there, in steps of TRIM_BITS to amortize the pass.
    const wanted = Math.ceil(log2BernoulliUpper(n - 1)) + GUARD + TRIM_GUARD;
    if (this.scale - wanted >= TRIM_BITS) {
      const drop = BigInt(this.scale - wanted);
      for (let i = 0; i < this.rs.length; i++) this.rs[i] >>= drop;
      this.scale = wanted;
    }
    // Φ_{n-1} = Φ_n · (2π)² / ((2n)(2n-1))
    if (phiTimesCinv === undefined) {
      const cut = this.cinvCut(phiBits + 16);
      phiTimesCinv = cut.factor.times(this.phi, { shift: this.W - cut.drop });
    }
    this.phi = phiTimesCinv / BigInt(2 * n * (2 * n - 1));
  }

  /**
   * 2^(s+g)/10^D for T(n)'s `leaves` (s = scaleBits(leaves), D = leaves·LEAF_DIGITS, g = D·log2 10 +
   * TEN_GUARD), within 2 units, as a factor with cached spectra. One division when a block starts or
   * resumes; as n falls and T(n) loses a leaf, the next one is this one ×10^LEAF_DIGITS, shifted
   * (which keeps the error below 2 units: the shift is ~1700 bits, 10^LEAF_DIGITS ~850).
   */
  private tenScale(leaves: number): { g: number; factor: FixedFactor } {
    const bitsFor = (l: number) => ({ s: scaleBits(l), g: Math.ceil(l * LEAF_DIGITS * LOG2_10) + TEN_GUARD });
    if (!this.ten || this.ten.leaves < leaves || this.ten.leaves - leaves > 4) {
      const { s, g } = bitsFor(leaves);
      this.ten = { leaves, g, factor: new FixedFactor((1n << BigInt(s + g)) / 10n ** BigInt(leaves * LEAF_DIGITS)) };
    }
    while (this.ten.leaves > leaves) {
      const from = bitsFor(this.ten.leaves);
      const to = bitsFor(this.ten.leaves - 1);
      const value: bigint = (this.ten.factor.value * LEAF_POWER_OF_TEN) >> BigInt(from.s + from.g - to.s - to.g);
      this.ten = { leaves: this.ten.leaves - 1, g: to.g, factor: new FixedFactor(value) };
    }
    return this.ten;
  }

  /**
   * 4π² at W bits without its low `drop` bits, where only the top `keep` bits or a few more matter
   * (the dropped bits cannot reach the result's top bits): the cut is rounded down to a multiple of
   * CINV_CUT_STEP so that the truncated factor, and its cached FFT spectra, serve the next ~100 terms.
   * Φ·4π² is then (Φ · factor) >> (W − drop).
   */
  private cinvCut(keep: number): { drop: number; factor: FixedFactor } {
    const bits = this.W + CINV_EXTRA_BITS;
    const drop = Math.max(0, Math.floor((bits - keep) / CINV_CUT_STEP) * CINV_CUT_STEP);
    if (this.cut?.drop !== drop) this.cut = { drop, factor: new FixedFactor(this.cinv >> BigInt(drop)) };
    return this.cut;
  }

  /** T(from..to) in increasing order as decimal strings, once finished. */
  terms(): string[] {
    return this.termBytes().map((digits) => Buffer.from(digits.buffer, digits.byteOffset, digits.length).toString('latin1'));
  }

  /** T(from..to) in increasing order as ASCII digits, each in an ArrayBuffer of its own (to be moved to another thread), once finished. */
  termBytes(): Uint8Array[] {
    if (!this.finished) throw new RangeError('the block is not finished');
    return this.pending;
  }

  /**
   * The block's state, in one buffer of its own (never a slice of Node's shared pool), so that it can be
   * handed to another thread without a copy. The finished terms, most of it, are written straight in.
   */
  serialize(): Buffer {
    const numbers = [this.cinv, this.phi, ...this.rs].map(bigintToBytes);
    let size = 24 + 4 + 4;
    for (const b of numbers) size += b.length;
    for (const t of this.pending) size += 4 + t.length;
    const out = Buffer.allocUnsafeSlow(size);
    out.write(BLOCK_MAGIC, 0, 'latin1');
    out.writeUInt32LE(this.lowest, 4);
    out.writeUInt32LE(this.to, 8);
    out.writeUInt32LE(this.n, 12);
    out.writeUInt32LE(this.scale, 16);
    out.writeUInt32LE(this.planFrom, 20);
    let at = 24;
    at += numbers[0].copy(out, at);
    at += numbers[1].copy(out, at);
    at = out.writeUInt32LE(this.rs.length, at);
    for (let i = 2; i < numbers.length; i++) at += numbers[i].copy(out, at);
    at = out.writeUInt32LE(this.pending.length, at);
    for (const t of this.pending) {
      at = out.writeUInt32LE(t.length, at);
      out.set(t, at);
      at += t.length;
    }
    if (at !== size) throw new Error('block state: size mismatch');
    return out;
  }

  /** Rebuilds a block from `serialize()` output; throws RangeError on anything inconsistent. */
  static restore(buf: Uint8Array): ZetaBlock {
    const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    if (b.length < 24 || b.toString('latin1', 0, 4) !== BLOCK_MAGIC) throw new RangeError('not a block state');
    const from = b.readUInt32LE(4);
    const to = b.readUInt32LE(8);
    const n = b.readUInt32LE(12);
    const planFrom = b.readUInt32LE(20);
    if (planFrom <= SMALL_LIMIT || from < planFrom || to < from || n > to || n < from - 1) throw new RangeError('block state has an impossible range');
    const plan = planBlock(planFrom, to);
    const scale = b.readUInt32LE(16);
    if (scale > plan.precision || scale < GUARD) throw new RangeError('block state does not match its plan');
    const reader = { offset: 24 };
    const cinv = readBigint(b, reader);
    // 4π² ≈ 39.5 at W bits has exactly W + 6 bits.
    if (bitLength(cinv) !== plan.precision + CINV_EXTRA_BITS) throw new RangeError('block state does not match its plan');
    const phi = readBigint(b, reader);
    const rCount = readU32(b, reader);
    if (rCount !== oddJsDescending(plan.maxJ).length) throw new RangeError('block state does not match its plan');
    const rs = Array.from({ length: rCount }, () => readBigint(b, reader));
    const pCount = readU32(b, reader);
    if (pCount !== to - n) throw new RangeError('block state holds the wrong number of finished terms');
    const pending = Array.from({ length: pCount }, () => readDigits(b, reader));
    if (reader.offset !== b.length) throw new RangeError('block state has trailing bytes');
    return new ZetaBlock(planFrom, from, to, n, scale, plan, cinv, phi, rs, pending);
  }
}

// TZB6: Φ is 2·(2n)!/(2π)^(2n)·2^GUARD (the Bernoulli route), the header also holds the R_j's
// current scale and the planned lower end (a split block's precision was planned for it).
// Older states (TZB5 on the T(n) route, TZB4 without the scale, TZB3 scaled by 2^GUARD) are refused
// and their blocks recomputed.
const BLOCK_MAGIC = 'TZB6';
/** 4π² at W bits has W + 6 bits. */
const CINV_EXTRA_BITS = 6;
const LOG2_10 = Math.log2(10);
const LEAF_POWER_OF_TEN = 10n ** BigInt(LEAF_DIGITS);

/**
 * What a block's setup costs, in terms of its own at n: ZetaBlock.start measured against a step (5 at
 * n = 480, 7.5 at 900, 11 at 1800, 21 at 3600, 36 at 7200, 49 at 15000), plus a fifth for the spectra
 * its first steps compute.
 * (An underestimate made the last threads of a job split blocks of ~30 terms, each split paying a setup
 * that cost more than the terms it moved.)
 */
const SETUP_TERMS: readonly (readonly [number, number])[] = [[0, 3], [480, 5], [900, 7.5], [1800, 11], [3600, 21], [7200, 36], [15000, 49]];
function splitSetupTerms(n: number): number {
  let i = 1;
  while (i < SETUP_TERMS.length - 1 && SETUP_TERMS[i][0] < n) i++;
  const [n0, t0] = SETUP_TERMS[i - 1];
  const [n1, t1] = SETUP_TERMS[i];
  return 1.2 * (t0 + ((t1 - t0) * (n - n0)) / (n1 - n0));
}
/** How a term's cost grows with n, for balancing a split (see balancedSplit). */
const TERM_COST_EXPONENT = 1.5;
/** A split that gives the new block fewer terms than this is not worth a thread's time and a setup. */
const MIN_SPLIT_TERMS = 8;
/** Bits beyond rel(n) the R_j keep: their truncations (≤ 2^9 per block, ≤ 2^13 terms) then add < 1/4 unit. */
const TRIM_GUARD = 24;
/** 4π² is cut in steps of this many bits as the terms shrink (see cinvCut). */
const CINV_CUT_STEP = 2048;
/** The R_j are cut down once this many of their fraction bits are no longer needed. */
const TRIM_BITS = 512;

/**
 * floor(2^W / q^e) up to an error below one unit, for an odd prime q. The exact power costs
 * multiplications at the power's full size, but only the top (result size + guard) bits of it
 * matter: small powers are computed exactly, large ones with a truncated square-and-multiply.
 */
function reciprocalPower(q: number, e: number, W: number): bigint {
  const powerBits = e * Math.log2(q);
  const resultBits = W - powerBits;
  if (resultBits < -2) return 0n;
  const keep = Math.max(0, Math.ceil(resultBits)) + 96;
  if (powerBits <= 2 * keep) return (1n << BigInt(W)) / BigInt(q) ** BigInt(e);
  // q^e ≈ m · 2^shift with m holding ~keep bits; each truncation adds < 2^-keep relative error.
  let m = 1n;
  let shift = 0;
  let done = 0;
  const base = BigInt(q);
  const log2q = Math.log2(q);
  for (let bit = 31 - Math.clz32(e); bit >= 0; bit--) {
    m = multiply(m, m);
    shift *= 2;
    done *= 2;
    if ((e >> bit) & 1) {
      m *= base;
      done += 1;
    }
    // m ≈ q^done / 2^shift: its bit length from logarithms, within a bit (exactness does not matter here,
    // only that m keeps about `keep` bits; bitLength would scan m at every step).
    const excess = Math.floor(done * log2q - shift) + 1 - keep;
    if (excess > 0) {
      m >>= BigInt(excess);
      shift += excess;
    }
  }
  return W - shift >= 0 ? (1n << BigInt(W - shift)) / m : 0n;
}

/** The bit length of 2^W / j^e (within a bit), from logarithms. */
function reciprocalBits(W: number, j: number, e: number): number {
  return Math.max(0, Math.floor(W - e * Math.log2(j)) + 1);
}

/** (2π)² = 4π² at W fraction bits. */
/** The bits of π a block from..to asks of its PiCache. */
export function piBitsOfBlock(from: number, to: number): number {
  return planBlock(from, to).precision + PI_EXTRA_BITS;
}
const PI_EXTRA_BITS = 8;

function fourPiSquared(pi: PiCache, W: number): bigint {
  const piW = pi.get(W + PI_EXTRA_BITS) >> BigInt(PI_EXTRA_BITS);
  return multiply(piW, piW, W - 2);
}

function oddJsDescending(maxJ: number): number[] {
  const js: number[] = [];
  for (let j = maxJ - ((maxJ + 1) % 2); j >= 3; j -= 2) js.push(j);
  return js;
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v, 0);
  return b;
}

/**
 * u32 length, then the magnitude's bytes, most significant first (the hex route's layout, kept so that
 * states stay readable across builds). Through V8's own BigInt record where it is laid out as expected
 * (bigintWords): a block state holds ~200 numbers of ~70 kbit at N = 4000, and toString(16) and
 * BigInt('0x…') cost 20–35 µs each, ~10 ms of every checkpoint and every restore of a block.
 */
function bigintToBytes(x: bigint): Buffer {
  if (rawBigInts && x > 0n) {
    const w = wordsOf(x);
    const len = Math.ceil(w.hexDigits / 2);
    const out = Buffer.allocUnsafe(4 + len);
    out.writeUInt32LE(len, 0);
    out.set(w.bytes.subarray(0, len), 4);
    out.subarray(4).reverse();
    return out;
  }
  let hex = x.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  const body = Buffer.from(hex, 'hex');
  return Buffer.concat([u32(body.length), body]);
}

/** The number whose magnitude `be` holds, most significant byte first. */
function bigintOfBytes(be: Buffer): bigint {
  if (be.length === 0) return 0n;
  if (!rawBigInts) return BigInt('0x' + be.toString('hex'));
  const words = Math.ceil(be.length / 4);
  // Room for V8's record header before the words, and for the zero word after an odd count.
  const memory = Buffer.alloc(HEADER_ROOM + 4 * words + 4);
  memory.set(be, HEADER_ROOM);
  memory.subarray(HEADER_ROOM, HEADER_ROOM + be.length).reverse();
  return bigintOfWords(memory, HEADER_ROOM, words);
}

function readU32(b: Buffer, r: { offset: number }): number {
  if (r.offset + 4 > b.length) throw new RangeError('block state is truncated');
  const v = b.readUInt32LE(r.offset);
  r.offset += 4;
  return v;
}

function readBigint(b: Buffer, r: { offset: number }): bigint {
  const len = readU32(b, r);
  if (r.offset + len > b.length) throw new RangeError('block state is truncated');
  const be = b.subarray(r.offset, r.offset + len);
  r.offset += len;
  return bigintOfBytes(be);
}

function readDigits(b: Buffer, r: { offset: number }): Uint8Array {
  const len = readU32(b, r);
  if (r.offset + len > b.length) throw new RangeError('block state is truncated');
  // A copy in an ArrayBuffer of its own (the state's buffer may be shared, and the term moves on alone).
  const digits = Uint8Array.prototype.slice.call(b, r.offset, r.offset + len) as Uint8Array;
  r.offset += len;
  let bad = len === 0 || digits[0] === 48;
  for (let i = 0; i < len && !bad; i++) bad = digits[i] < 48 || digits[i] > 57;
  if (bad) throw new RangeError('block state holds a malformed term');
  return digits;
}

/** T(from..to) in one go, as decimal strings (tests and simple callers). */
export function tangentBlock(from: number, to: number, pi: PiCache): string[] {
  const block = ZetaBlock.start(from, to, pi);
  while (!block.finished) block.step();
  return block.terms();
}

/**
 * A block's state (ZetaBlock.serialize()) cut in two: `head`, its arithmetic (everything before its finished
 * terms), and the finished terms T(next+1..to) themselves, as views into `state`. A checkpoint stores the
 * terms once (they only grow, one at a time, as the block goes down) and the head each time.
 */
export function splitBlockState(state: Uint8Array): { head: Uint8Array; from: number; to: number; next: number; finished: Uint8Array[] } {
  const b = Buffer.from(state.buffer, state.byteOffset, state.byteLength);
  if (b.length < 24 || b.toString('latin1', 0, 4) !== BLOCK_MAGIC) throw new RangeError('not a block state');
  const r = { offset: 24 };
  const skipBigint = () => {
    const len = readU32(b, r);
    if (r.offset + len > b.length) throw new RangeError('block state is truncated');
    r.offset += len;
  };
  skipBigint(); // 4π²
  skipBigint(); // Φ
  const rCount = readU32(b, r);
  for (let i = 0; i < rCount; i++) skipBigint();
  const headEnd = r.offset;
  const count = readU32(b, r);
  const finished: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const len = readU32(b, r);
    if (r.offset + len > b.length) throw new RangeError('block state is truncated');
    finished.push(state.subarray(r.offset, r.offset + len));
    r.offset += len;
  }
  if (r.offset !== b.length) throw new RangeError('block state has trailing bytes');
  const to = b.readUInt32LE(8);
  const next = b.readUInt32LE(12);
  if (count !== to - next) throw new RangeError('block state holds the wrong number of finished terms');
  return { head: state.subarray(0, headEnd), from: b.readUInt32LE(4), to, next, finished };
}

/** The inverse of splitBlockState: a state ZetaBlock.restore reads, in one buffer of its own. */
export function joinBlockState(head: Uint8Array, finished: readonly Uint8Array[]): Buffer {
  let size = head.length + 4;
  for (const t of finished) size += 4 + t.length;
  const out = Buffer.allocUnsafeSlow(size);
  out.set(head, 0);
  let at = out.writeUInt32LE(finished.length, head.length);
  for (const t of finished) {
    at = out.writeUInt32LE(t.length, at);
    out.set(t, at);
    at += t.length;
  }
  return out;
}
