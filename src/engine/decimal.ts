// Decimal digits of an integer handed over as a binary fraction: x = y · 10^D / 2^s, with y known
// to within a small error. This is a scaled remainder tree: the fraction's digits are split in two
// by one multiplication with a cached power of ten (the low half is the fractional part of the
// product), down to leaves of LEAF_DIGITS digits. It needs no division at all, where
// BigInt.prototype.toString divides at every level, and the engine gets the fraction y for free (it
// scales its fixed point by 10^-D from the start), so no reciprocal multiplication is spent either.
//
// The upper levels, large products, split here with the FFT (../fft); pieces of up to
// KERNEL_PIECE_LEAVES leaves go to the radix kernel (./radix), which splits them further and reads
// off their leaves in WebAssembly. Truncation can make a piece's value off by one unit at a split
// (0.999… read as 1.000…); the kernel rounds each leaf as c_i = round(z_i · 10^L − z_(i+1)), which
// absorbs such offsets exactly (the sum Σ c_i 10^(L(n−1−i)) telescopes to x), and carries.

import { FixedFactor } from './fft/fftMultiply';
import { Piece, RADIX_LEAF_DIGITS, RadixError, digitsOfPieces } from './radix/radixKernel';

const LOG2_10 = Math.log2(10);

/** Digits per leaf: small enough that a leaf is read off cheaply, large enough to keep the tree shallow. */
export const LEAF_DIGITS = RADIX_LEAF_DIGITS;
/** Bits kept beyond a piece's digits at every split of the tree (the kernel keeps as many). */
const TREE_GUARD = 40;
/**
 * Pieces of up to this many leaves are left to the radix kernel, whose schoolbook splits beat V8's
 * multiplication below the FFT's sizes (measured per digit, 90-leaf numbers: 38 → 21 ns; 16- or 64-leaf
 * pieces are no better).
 */
const KERNEL_PIECE_LEAVES = 32;

/** Fraction bits a piece of `leaves` leaves needs in the tree (the caller's y needs at least this). */
export function treeBits(leaves: number): number {
  return Math.ceil(leaves * LEAF_DIGITS * LOG2_10) + TREE_GUARD;
}

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
  const pieces: Piece[] = [];
  split(y, s, leaves, pieces);
  try {
    return digitsOfPieces(pieces);
  } catch (e) {
    if (e instanceof RadixError) throw new NotAnIntegerError(e.message);
    throw e;
  }
}

/** Splits the piece z/2^s (`leaves` leaves) down to pieces small enough for the radix kernel, pushed in order. */
function split(z: bigint, s: number, leaves: number, out: Piece[]): void {
  if (leaves <= KERNEL_PIECE_LEAVES) {
    out.push({ z, s, leaves });
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
