// The lower levels of the decimal conversion (../decimal.ts) in WebAssembly (./radix.as.ts): pieces of
// up to MAX_PIECE_LEAVES leaves are split, and their leaves read off, on u32 limbs, with no BigInt
// allocated per split or leaf and the digits written as ASCII straight into one buffer per number.
// Measured on V8, 2048-digit numbers: 15 ns a digit through BigInt, 7 here.

import { RADIX_WASM_BASE64 } from './radixBinary.generated';

interface RadixExports {
  memory: WebAssembly.Memory;
  limbsFor(leaves: number): number;
  init(fivesIndex: number, scratch: number, leafPointers: number, workLimbs: number): void;
  piece(z: number, F: number, leaves: number, out: number, nextTop: number, carryIn: number): number;
  lastFirstTop(): number;
  loadHexLimbs(src: number, len: number, dst: number, F: number): number;
}

/** Digits per leaf (the kernel's LEAF_DIGITS). */
export const RADIX_LEAF_DIGITS = 256;
/** The largest piece the kernel takes; its tables of powers of five go up to 5^(LEAF_DIGITS·MAX_PIECE_LEAVES/2). */
export const MAX_PIECE_LEAVES = 64;
/** piece()'s answer for a leaf that does not round to an integer. */
const NOT_AN_INTEGER = 99;

/** A piece of the conversion: the digits of leaves · LEAF_DIGITS held as the fraction z / 2^s. */
export interface Piece {
  z: bigint;
  s: number;
  leaves: number;
}

export class RadixError extends Error {
  override name = 'RadixError';
}

class RadixKernel {
  private readonly k: RadixExports;
  private readonly encoder = new TextEncoder();
  private readonly hexIn: number;
  private readonly limbs: number;
  private readonly out: number;
  private outCapacity = 0;

  constructor() {
    const module = new WebAssembly.Module(Buffer.from(RADIX_WASM_BASE64, 'base64'));
    this.k = new WebAssembly.Instance(module, { env: { abort: () => { throw new Error('radix kernel aborted'); } } }).exports as unknown as RadixExports;
    const maxLimbs = this.k.limbsFor(MAX_PIECE_LEAVES);
    const fives: bigint[] = [];
    for (let high = 1; high * 2 <= MAX_PIECE_LEAVES; high *= 2) fives.push(5n ** BigInt(RADIX_LEAF_DIGITS * high));
    const fiveHex = fives.map((f) => f.toString(16));
    let top = this.k.memory.buffer.byteLength;
    const take = (bytes: number) => {
      const at = (top + 15) & ~15;
      top = at + bytes;
      return at;
    };
    const fivesIndex = take(8 * fives.length);
    const fiveAt = fiveHex.map((h) => take(4 * Math.ceil(h.length / 8)));
    this.hexIn = take(8 * maxLimbs + 16);
    this.limbs = take(4 * maxLimbs);
    const leafPointers = take(4 * MAX_PIECE_LEAVES);
    const work = take(4 * this.k.limbsFor(1));
    // Split results: the pieces of one tree level never hold more limbs than their parent, and a
    // piece's low part has under 3/4 of its leaves, so the levels are fewer than 16.
    const scratch = take(16 * 4 * maxLimbs);
    this.out = take(0);
    this.reserve(top);
    const view = new DataView(this.k.memory.buffer);
    fiveHex.forEach((hex, j) => {
      const limbs = Math.ceil(hex.length / 8);
      this.writeHex(hex);
      if (this.k.loadHexLimbs(this.hexIn, hex.length, fiveAt[j], limbs) !== 0) throw new Error('radix kernel: a power of five does not fit');
      // The kernel's middle product reads them most significant limb first.
      new Uint32Array(this.k.memory.buffer, fiveAt[j], limbs).reverse();
      view.setUint32(fivesIndex + 8 * j, fiveAt[j], true);
      view.setInt32(fivesIndex + 8 * j + 4, limbs, true);
    });
    this.k.init(fivesIndex, scratch, leafPointers, work);
  }

  private reserve(end: number): void {
    const bytes = this.k.memory.buffer.byteLength;
    if (end > bytes) this.k.memory.grow(Math.ceil((end - bytes) / 65536));
  }

  private writeHex(hex: string): void {
    this.encoder.encodeInto(hex, new Uint8Array(this.k.memory.buffer, this.hexIn, hex.length));
  }

  /** The decimal digits of the pieces, in order (the first one's leading zeros removed). */
  digits(pieces: readonly Piece[]): string {
    let total = 0;
    for (const p of pieces) {
      if (!Number.isInteger(p.leaves) || p.leaves < 1 || p.leaves > MAX_PIECE_LEAVES) throw new RangeError(`a piece has 1..${MAX_PIECE_LEAVES} leaves (got ${p.leaves})`);
      total += p.leaves * RADIX_LEAF_DIGITS;
    }
    if (total > this.outCapacity) {
      this.reserve(this.out + total);
      this.outCapacity = total;
    }
    let offset = total;
    let nextTop = 0;
    let carry = 0;
    for (let i = pieces.length - 1; i >= 0; i--) {
      const { z, s, leaves } = pieces[i];
      const F = this.k.limbsFor(leaves);
      // The kernel's fraction has 32F bits (at least the s the tree gives a piece of this size).
      const aligned = s <= 32 * F ? z << BigInt(32 * F - s) : z >> BigInt(s - 32 * F);
      const hex = aligned.toString(16);
      this.writeHex(hex);
      if (aligned < 0n || this.k.loadHexLimbs(this.hexIn, hex.length, this.limbs, F) !== 0) throw new RadixError('a piece is not a fraction below 1');
      offset -= leaves * RADIX_LEAF_DIGITS;
      carry = this.k.piece(this.limbs, F, leaves, this.out + offset, nextTop, carry);
      if (carry === NOT_AN_INTEGER) throw new RadixError(`the value is not within the error bound of an integer (piece ${i} of ${pieces.length})`);
      nextTop = this.k.lastFirstTop();
    }
    if (carry !== 0) throw new RadixError('the value is out of the range its digit count allows');
    const bytes = new Uint8Array(this.k.memory.buffer, this.out, total);
    let first = 0;
    while (first < total - 1 && bytes[first] === 48) first++;
    return Buffer.from(bytes.buffer, this.out + first, total - first).toString('latin1');
  }
}

let kernel: RadixKernel | undefined;

/** The decimal digits of consecutive pieces of one number (see Piece), most significant first. */
export function digitsOfPieces(pieces: readonly Piece[]): string {
  return (kernel ??= new RadixKernel()).digits(pieces);
}
