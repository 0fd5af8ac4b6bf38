// The lower levels of the decimal conversion (../decimal.ts) in WebAssembly (./radix.as.ts): pieces of
// up to MAX_PIECE_LEAVES leaves are split, and their leaves read off, on u32 limbs in the kernel's
// memory, with no BigInt allocated per split or leaf and the digits written as ASCII straight into one
// buffer per number. Measured on V8, 2048-digit numbers: 15 ns a digit through BigInt, 7 here.

import { kernel, reserve, writeLimbs, type KernelExports } from '../wasmKernel';

/** Digits per leaf (the kernel's LEAF_DIGITS). */
export const RADIX_LEAF_DIGITS = 256;
/** The largest piece the kernel takes; its tables of powers of five go up to 5^(LEAF_DIGITS·MAX_PIECE_LEAVES/2). */
export const MAX_PIECE_LEAVES = 64;
/** piece()'s answer for a leaf that does not round to an integer. */
const NOT_AN_INTEGER = 99;

/**
 * A piece of a number in the kernel's memory: the fraction z / 2^(32F) at `ptr` (F = limbsFor(leaves)
 * u32 limbs, least significant first) holds the digits of leaves · LEAF_DIGITS.
 */
export interface LimbPiece {
  ptr: number;
  leaves: number;
}

export class RadixError extends Error {
  override name = 'RadixError';
}

class RadixKernel {
  private readonly k: KernelExports;
  private out = 0;
  private outCapacity = 0;

  constructor() {
    this.k = kernel();
    const fives: bigint[] = [];
    for (let high = 1; high * 2 <= MAX_PIECE_LEAVES; high *= 2) fives.push(5n ** BigInt(RADIX_LEAF_DIGITS * high));
    const fiveWords = fives.map((f) => Math.ceil(f.toString(16).length / 8));
    const fivesIndex = reserve(8 * fives.length);
    const fiveAt = fiveWords.map((words) => reserve(4 * words));
    const leafPointers = reserve(4 * MAX_PIECE_LEAVES);
    const work = reserve(4 * this.k.limbsFor(1));
    // Split results: the pieces of one tree level never hold more limbs than their parent, and a
    // piece's low part has under 3/4 of its leaves, so the levels are fewer than 16.
    const scratch = reserve(16 * 4 * this.k.limbsFor(MAX_PIECE_LEAVES));
    const view = new DataView(this.k.memory.buffer);
    fives.forEach((five, j) => {
      // The kernel's middle product reads them most significant limb first.
      writeLimbs(five, fiveAt[j], fiveWords[j]);
      new Uint32Array(this.k.memory.buffer, fiveAt[j], fiveWords[j]).reverse();
      view.setUint32(fivesIndex + 8 * j, fiveAt[j], true);
      view.setInt32(fivesIndex + 8 * j + 4, fiveWords[j], true);
    });
    this.k.init(fivesIndex, scratch, leafPointers, work);
  }

  limbsFor(leaves: number): number {
    return this.k.limbsFor(leaves);
  }

  /** The decimal digits of the pieces, in order (the first one's leading zeros removed), as ASCII bytes in an ArrayBuffer of their own. */
  digits(pieces: readonly LimbPiece[]): Uint8Array {
    let total = 0;
    for (const p of pieces) {
      if (!Number.isInteger(p.leaves) || p.leaves < 1 || p.leaves > MAX_PIECE_LEAVES) throw new RangeError(`a piece has 1..${MAX_PIECE_LEAVES} leaves (got ${p.leaves})`);
      total += p.leaves * RADIX_LEAF_DIGITS;
    }
    if (total > this.outCapacity) {
      this.outCapacity = Math.max(total, 2 * this.outCapacity);
      this.out = reserve(this.outCapacity);
    }
    let offset = total;
    let nextTop = 0;
    let carry = 0;
    for (let i = pieces.length - 1; i >= 0; i--) {
      const { ptr, leaves } = pieces[i];
      offset -= leaves * RADIX_LEAF_DIGITS;
      carry = this.k.piece(ptr, this.k.limbsFor(leaves), leaves, this.out + offset, nextTop, carry);
      if (carry === NOT_AN_INTEGER) throw new RadixError(`the value is not within the error bound of an integer (piece ${i} of ${pieces.length})`);
      nextTop = this.k.lastFirstTop();
    }
    if (carry !== 0) throw new RadixError('the value is out of the range its digit count allows');
    const bytes = new Uint8Array(this.k.memory.buffer, this.out, total);
    let first = 0;
    while (first < total - 1 && bytes[first] === 48) first++;
    return bytes.slice(first);
  }
}

let radix: RadixKernel | undefined;
function theRadixKernel(): RadixKernel {
  return (radix ??= new RadixKernel());
}

/** The decimal digits (ASCII bytes) of consecutive pieces of one number (see LimbPiece), most significant first. */
export function digitsOfPieces(pieces: readonly LimbPiece[]): Uint8Array {
  return theRadixKernel().digits(pieces);
}

/** u32 limbs a piece of `leaves` leaves takes in the kernel's memory. */
export function pieceLimbs(leaves: number): number {
  return theRadixKernel().limbsFor(leaves);
}
