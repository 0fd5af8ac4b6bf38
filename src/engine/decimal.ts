// Decimal digits of an integer handed over as a binary fraction: x = y · 10^D / 2^s, with y known
// to within a small error. This is a scaled remainder tree: the fraction's digits are split in two
// by one multiplication with a cached power of ten (the low half is the fractional part of the
// product), down to leaves of LEAF_DIGITS digits. It needs no division at all, where
// BigInt.prototype.toString divides at every level; measured on V8 it takes ~60% of toString's time
// for 90 000-bit numbers, and the engine gets the fraction y for free (it scales its fixed point by
// 10^-D from the start), so no reciprocal multiplication is spent either.
//
// Truncation can make a piece's value off by one unit at a split (0.999… read as 1.000…). Each leaf
// is therefore rounded as c_i = round(z_i · 10^L − z_(i+1)), which absorbs such offsets exactly
// (the sum Σ c_i 10^(L(n−1−i)) telescopes to x), and a final pass propagates carries.

const LOG2_10 = Math.log2(10);

/** Digits per leaf: small enough that a leaf's own toString is cheap, large enough to keep the tree shallow. */
export const LEAF_DIGITS = 256;
/** Bits kept beyond a piece's digits at every split of the tree. */
const TREE_GUARD = 40;
/** A leaf whose rounding is farther than 2^-24 from an integer means the input was not x·2^s/10^D. */
const LEAF_TOLERANCE_BITS = 24;

import { FixedFactor } from './fft/fftMultiply';

const LEAF_POWER = 10n ** BigInt(LEAF_DIGITS);

/** Fraction bits a piece of `leaves` leaves needs in the tree (the caller's y needs at least this). */
export function treeBits(leaves: number): number {
  return Math.ceil(leaves * LEAF_DIGITS * LOG2_10) + TREE_GUARD;
}

const LEAF_BITS = treeBits(1);
const B_LEAF_BITS = BigInt(LEAF_BITS);
const LEAF_HALF = 1n << BigInt(LEAF_BITS - 1);
const LEAF_TOLERANCE = 1n << BigInt(LEAF_BITS - LEAF_TOLERANCE_BITS);

/** 5^(LEAF_DIGITS · 2^k), computed once per process (with their FFT spectra, once per transform size). */
const fivePowers: FixedFactor[] = [new FixedFactor(5n ** BigInt(LEAF_DIGITS))];
function fivePowerOfLeaves(leaves: number): FixedFactor {
  // The tree only splits off a power-of-two number of leaves.
  const k = 31 - Math.clz32(leaves);
  while (fivePowers.length <= k) fivePowers.push(new FixedFactor(fivePowers[fivePowers.length - 1].value ** 2n));
  return fivePowers[k];
}

export class NotAnIntegerError extends Error {
  override name = 'NotAnIntegerError';
}

/**
 * The decimal digits of x, where y ≈ x · 2^s / 10^(leaves · LEAF_DIGITS) with an error far below
 * 2^(s − treeBits(leaves)) · 2^-24 and x < 10^(leaves · LEAF_DIGITS). Throws NotAnIntegerError when y is
 * not that close to such a scaled integer (a leaf does not round cleanly).
 */
export function digitsOfScaledFraction(y: bigint, s: number, leaves: number): string {
  if (!Number.isInteger(leaves) || leaves < 1) throw new RangeError(`leaves must be a positive integer (got ${leaves})`);
  if (s < treeBits(leaves)) throw new RangeError(`${s} fraction bits are too few for ${leaves} leaves`);
  const fractions: bigint[] = [];
  split(y, s, leaves, fractions);
  const chunks = new Array<bigint>(leaves);
  let next = 0n;
  for (let i = leaves - 1; i >= 0; i--) {
    const v = fractions[i] * LEAF_POWER - next;
    const c = (v + LEAF_HALF) >> B_LEAF_BITS;
    const off = v - (c << B_LEAF_BITS);
    if (off > LEAF_TOLERANCE || off < -LEAF_TOLERANCE) throw new NotAnIntegerError(`the value is not within the error bound of an integer (leaf ${i} of ${leaves})`);
    chunks[i] = c;
    next = fractions[i];
  }
  for (let i = leaves - 1; i > 0; i--) {
    if (chunks[i] < 0n) {
      chunks[i] += LEAF_POWER;
      chunks[i - 1] -= 1n;
    } else if (chunks[i] >= LEAF_POWER) {
      chunks[i] -= LEAF_POWER;
      chunks[i - 1] += 1n;
    }
  }
  if (chunks[0] < 0n || chunks[0] >= LEAF_POWER) throw new NotAnIntegerError('the value is out of the range its digit count allows');
  let first = 0;
  while (first < leaves - 1 && chunks[first] === 0n) first++;
  const parts = [chunks[first].toString()];
  for (let i = first + 1; i < leaves; i++) parts.push(chunks[i].toString().padStart(LEAF_DIGITS, '0'));
  return parts.join('');
}

/** Pushes, for each leaf of the piece z/2^s (`leaves` leaves), the fraction that starts at its digits. */
function split(z: bigint, s: number, leaves: number, out: bigint[]): void {
  if (leaves === 1) {
    out.push(z >> BigInt(s - LEAF_BITS));
    return;
  }
  // The high part has a power-of-two number of leaves, so only O(log) powers of ten are ever needed.
  let high = 1;
  while (high * 4 <= leaves) high *= 2;
  const low = leaves - high;
  const highBits = treeBits(high);
  const lowBits = treeBits(low);
  // High digits: the same fraction at less precision. Low digits: the fraction after them,
  // frac(z · 10^k / 2^s) for k = high · LEAF_DIGITS. Since 10^k = 2^k · 5^k, that is
  // frac(z' · 5^k / 2^(s−k)) with z' = z mod 2^(s−k): z's top k bits only ever reach the integer
  // part, and 5^k has 30% fewer bits than 10^k; together the product costs ~30% less.
  split(z >> BigInt(s - highBits), highBits, high, out);
  const k = high * LEAF_DIGITS;
  const rest = s - k;
  const lowFraction = fivePowerOfLeaves(high).times(BigInt.asUintN(rest, z), { aBits: rest, shift: rest - lowBits, width: lowBits });
  split(lowFraction, lowBits, low, out);
}
