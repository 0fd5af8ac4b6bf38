// Decimal digits of an integer handed over as a binary fraction: x = y · 10^D / 2^s, with y known
// to within a small error. This is a scaled remainder tree: the fraction's digits are split in two
// by one multiplication with a cached power of ten (the low half is the fractional part of the
// product), down to leaves of LEAF_DIGITS digits. It needs no division at all, where
// BigInt.prototype.toString divides at every level, and the engine gets the fraction y for free (it
// scales its fixed point by 10^-D from the start), so no reciprocal multiplication is spent either.
//
// The whole tree lives in the WebAssembly kernel's memory (../wasmKernel): a piece of l leaves is the
// fraction z / 2^(32F) held by F = limbsFor(l) u32 limbs. Its high digits are z's top limbs (no copy);
// its low digits, frac(z · 10^k), are one FFT product with a cached power of five (../fft) written
// straight into limbs. Pieces of up to KERNEL_PIECE_LEAVES leaves go to the radix kernel (./radix),
// which splits them further and reads off their leaves. Truncation can make a piece's value off by one
// unit at a split (0.999… read as 1.000…); the kernel rounds each leaf as c_i = round(z_i · 10^L −
// z_(i+1)), which absorbs such offsets exactly (the sum Σ c_i 10^(L(n−1−i)) telescopes to x), and carries.

import { FixedFactor } from './fft/fftMultiply';
import { RADIX_LEAF_DIGITS, RadixError, digitsOfPieces, pieceLimbs, type LimbPiece } from './radix/radixKernel';
import { reserve, writeLimbs } from './wasmKernel';

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
 * Room in the kernel's memory for one number's tree (its fraction and every split's low part), handed
 * out from the start again for each number. When a number needs more, a larger region is reserved;
 * pointers into the old one stay valid (the memory never moves or shrinks).
 */
class TreeScratch {
  private base = 0;
  private size = 0;
  private top = 0;

  reset(expectedBytes: number): void {
    if (expectedBytes > this.size) {
      this.size = Math.max(expectedBytes, 2 * this.size);
      this.base = reserve(this.size);
    }
    this.top = 0;
  }

  take(bytes: number): number {
    if (this.top + bytes > this.size) {
      this.size = Math.max(bytes, 2 * this.size);
      this.base = reserve(this.size);
      this.top = 0;
    }
    const at = this.base + this.top;
    this.top += (bytes + 15) & ~15;
    return at;
  }
}
const scratch = new TreeScratch();

/** The tree of a number of `leaves` leaves needs at most this much scratch (its fraction, and its levels' low parts: under 16 levels). */
function scratchBytes(leaves: number): number {
  return 16 * 4 * pieceLimbs(leaves) + 4096;
}

/**
 * The decimal digits of x, where y ≈ x · 2^s / 10^(leaves · LEAF_DIGITS) with an error far below
 * 2^(s − treeBits(leaves)) · 2^-24 and x < 10^(leaves · LEAF_DIGITS). Throws NotAnIntegerError when y is
 * not that close to such a scaled integer (a leaf does not round cleanly).
 */
export function digitsOfScaledFraction(y: bigint, s: number, leaves: number): string {
  checkLeaves(leaves, s);
  scratch.reset(scratchBytes(leaves));
  const F = pieceLimbs(leaves);
  const at = scratch.take(4 * F);
  // The tree's fraction has 32F bits (at least the s it asks of a number of this size).
  const aligned = s <= 32 * F ? y << BigInt(32 * F - s) : y >> BigInt(s - 32 * F);
  if (y < 0n || !writeLimbs(aligned, at, F)) throw new NotAnIntegerError('the value is out of the range its digit count allows');
  return Buffer.from(digitsOfTree(at, leaves)).toString('latin1');
}

/**
 * digitsOfScaledFraction(y, s, leaves) for y = (a · factor) >> g, computed by one FFT product straight into
 * the tree's limbs: y is never a BigInt. (The engine's T(n) · 2^(s+g) / 10^D.) The digits come as ASCII
 * bytes in an ArrayBuffer of their own, which can move to another thread without a copy.
 */
export function digitsOfProduct(a: bigint, factor: FixedFactor, g: number, s: number, leaves: number): Uint8Array {
  checkLeaves(leaves, s);
  scratch.reset(scratchBytes(leaves));
  const F = pieceLimbs(leaves);
  const at = scratch.take(4 * F);
  // Bits g + s − 32F .. g + s − 1 of the product: y aligned to 32F fraction bits (its low bits, if
  // any, are the product's own rather than zeros).
  if (g + s < 32 * F) throw new RangeError(`${g + s} bits of the product are too few for ${leaves} leaves`);
  factor.timesInto(a, g + s - 32 * F, F, at);
  return digitsOfTree(at, leaves);
}

function checkLeaves(leaves: number, s: number): void {
  if (!Number.isInteger(leaves) || leaves < 1) throw new RangeError(`leaves must be a positive integer (got ${leaves})`);
  if (s < treeBits(leaves)) throw new RangeError(`${s} fraction bits are too few for ${leaves} leaves`);
}

function digitsOfTree(at: number, leaves: number): Uint8Array {
  const pieces: LimbPiece[] = [];
  split(at, leaves, pieces);
  try {
    return digitsOfPieces(pieces);
  } catch (e) {
    if (e instanceof RadixError) throw new NotAnIntegerError(e.message);
    throw e;
  }
}

/** Splits the piece at `at` (`leaves` leaves) down to pieces small enough for the radix kernel, pushed in order. */
function split(at: number, leaves: number, out: LimbPiece[]): void {
  if (leaves <= KERNEL_PIECE_LEAVES) {
    out.push({ ptr: at, leaves });
    return;
  }
  // The high part has a power-of-two number of leaves, so only O(log) powers of ten are ever needed.
  let high = 1;
  while (high * 4 <= leaves) high *= 2;
  const low = leaves - high;
  const F = pieceLimbs(leaves);
  const highLimbs = pieceLimbs(high);
  const lowLimbs = pieceLimbs(low);
  // High digits: the same fraction at less precision, its top limbs. Low digits: the fraction after
  // them, frac(z · 10^k / 2^(32F)) for k = high · LEAF_DIGITS. Since 10^k = 2^k · 5^k, that is
  // frac(z' · 5^k / 2^(32F−k)) with z' = z mod 2^(32F−k) (its low 32F − k bits, k/32 = 8·high limbs):
  // z's top k bits only ever reach the integer part, and 5^k has 30% fewer bits than 10^k.
  split(at + 4 * (F - highLimbs), high, out);
  const rest = F - 8 * high;
  const lowAt = scratch.take(4 * lowLimbs);
  // A middle product: the integer part above the window is discarded, so the product may wrap around below it.
  fivePowerOfLeaves(high).timesInto({ ptr: at, words: rest }, 32 * (rest - lowLimbs), lowLimbs, lowAt, true);
  split(lowAt, low, out);
}
