// Exact Tangent numbers T(n) (OEIS A000182): tan x = Σ T(n) x^(2n-1) / (2n-1)!.
//
// Main route (n > SMALL_LIMIT), the zeta route evaluated downwards in blocks:
//   T(n) = 2 · (2n-1)! · (2/π)^(2n) · λ(2n),   λ(s) = Σ_{j odd} j^(-s).
// A block [a, b] is computed from n = b down to n = a. Going down, the needed precision
// falls, so every quantity is updated by *multiplying* (by π²/4 and by j²) and never loses
// relative precision, while the only divisions happen once per block. Blocks are
// independent, deterministic units of work: re-running one yields the same terms.
//
// Small n (n <= SMALL_LIMIT): Brent–Harvey's exact in-place recurrence, cheap at that size.

import { PiCache, bitLength, factorial } from './bigmath';

export const SMALL_LIMIT = 64;

/** Fraction bits carried beyond the integer part of T(n); the total rounding error stays far below 2^-40. */
const GUARD = 64;

const BIG_GUARD = BigInt(GUARD);
const HALF = 1n << BigInt(GUARD - 1);
const FRACTION_TOLERANCE = 1n << BigInt(GUARD - 24);

const LN2 = Math.log(2);

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

/** T(1..count) exactly, by Brent & Harvey's in-place algorithm (O(count²) BigInt operations). */
export function tangentSmall(count: number): bigint[] {
  const t: bigint[] = new Array(count + 1).fill(0n);
  if (count < 1) return [];
  t[1] = 1n;
  for (let k = 2; k <= count; k++) t[k] = BigInt(k - 1) * t[k - 1];
  for (let k = 2; k <= count; k++) {
    for (let j = k; j <= count; j++) t[j] = BigInt(j - k) * t[j - 1] + BigInt(j - k + 2) * t[j];
  }
  return t.slice(1);
}

/** (x · y) >> shift, multiplying only the bits that can reach the result's top `keep` bits. */
function mulShift(x: bigint, y: bigint, shift: number, yBitsKeep: number): bigint {
  const yBits = bitLength(y);
  const drop = yBits - yBitsKeep;
  if (drop > 0 && drop < shift) return (x * (y >> BigInt(drop))) >> BigInt(shift - drop);
  return (x * y) >> BigInt(shift);
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
  const rel = (n: number) => log2TangentUpper(n) + GUARD;
  // j^(-2n) matters while j^(2n) <= 2^(bits(T(n)) + GUARD).
  const maxJ = Math.floor(Math.max(2 ** (rel(from) / (2 * from)), 2 ** (rel(to) / (2 * to)))) + 1;
  // Multiplying R_j up by j^(2(to-n)) also multiplies its initial rounding error; extra bits absorb it.
  const log2J = Math.log2(maxJ);
  const precision = Math.ceil(Math.max(rel(from) + 2 * (to - from) * log2J, rel(to)) + 8);
  return { from, to, precision, maxJ };
}

/**
 * Computes T(from..to) exactly (from > SMALL_LIMIT) and returns them in increasing order.
 * `onTerm` (optional) is called after each term with the count done so far, for progress
 * and cooperative cancellation (it may throw to abort the block).
 */
export function tangentBlock(from: number, to: number, pi: PiCache, onTerm?: (doneInBlock: number) => void): bigint[] {
  if (from <= SMALL_LIMIT) throw new RangeError(`tangentBlock needs from > ${SMALL_LIMIT}`);
  const plan = planBlock(from, to);
  const W = plan.precision;
  const bW = BigInt(W);

  // π²/4 at W bits (≈ 2.47: powers of it grow, so fixed-point truncation keeps relative precision).
  const piW = pi.get(W + 8) >> 8n;
  const cinv = (piW * piW) >> (bW + 2n);

  // Φ_n = F_n · 2^GUARD with F_n = 2 · (2n-1)! / (π²/4)^n.
  let cinvPow = 1n << bW;
  let base = cinv;
  for (let e = to; e > 0; e >>= 1) {
    if (e & 1) cinvPow = (cinvPow * base) >> bW;
    if (e > 1) base = (base * base) >> bW;
  }
  let phi = (factorial(2 * to - 1) << BigInt(W + GUARD + 1)) / cinvPow;

  // R_j = 2^W / j^(2n) for odd j: the tail of λ(2n) in fixed point, multiplied up by j² per step.
  // Primes by one exact power and division; composites as products of two smaller R's, which
  // costs only a multiplication at their (smaller) size. Kept in decreasing j so that summing
  // them goes from the smallest to the largest value (each addition then costs ~ its own size).
  const maxJ = plan.maxJ;
  const R = new Map<number, bigint>();
  const twoTo = BigInt(2 * to);
  const one = 1n << bW;
  const smallestFactor = smallestOddFactors(maxJ);
  for (let j = 3; j <= maxJ; j += 2) {
    const p = smallestFactor[j];
    if (p === j) {
      R.set(j, one / BigInt(j) ** twoTo);
    } else {
      const x = R.get(p)!;
      const y = R.get(j / p)!;
      // Keep only the bits that can reach the product's integer part (plus slack for carries).
      const keep = Math.max(0, bitLength(x) + bitLength(y) - W) + 32;
      const dx = Math.max(0, bitLength(x) - keep);
      const dy = Math.max(0, bitLength(y) - keep);
      R.set(j, ((x >> BigInt(dx)) * (y >> BigInt(dy))) >> BigInt(W - dx - dy));
    }
  }
  const rs: bigint[] = [];
  const jSquared: bigint[] = [];
  for (let j = maxJ - ((maxJ + 1) % 2); j >= 3; j -= 2) {
    rs.push(R.get(j)!);
    jSquared.push(BigInt(j * j));
  }

  const out: bigint[] = new Array(to - from + 1);
  for (let n = to; ; n--) {
    let tail = 0n;
    for (let i = 0; i < rs.length; i++) tail += rs[i];
    const lambda = one + tail;
    const phiBits = bitLength(phi);
    const scaled = mulShift(phi, lambda, W, phiBits + 16);
    // scaled = T(n) · 2^GUARD (+ an error far below 2^(GUARD-40)); T(n) is an integer, so the
    // fraction must sit next to 0 or 1. Anything else means the precision plan is wrong.
    const rounded = (scaled + HALF) >> BIG_GUARD;
    const offset = scaled - (rounded << BIG_GUARD);
    if (offset > FRACTION_TOLERANCE || offset < -FRACTION_TOLERANCE) {
      throw new PrecisionError(`T(${n}) is not within the error bound of an integer; refusing to round it`);
    }
    out[n - from] = rounded;
    onTerm?.(to - n + 1);
    if (n === from) break;
    for (let i = 0; i < rs.length; i++) rs[i] *= jSquared[i];
    // F_{n-1} = F_n · (π²/4) / ((2n-1)(2n-2))
    phi = mulShift(phi, cinv, W, phiBits + 16) / BigInt((2 * n - 1) * (2 * n - 2));
  }
  return out;
}
