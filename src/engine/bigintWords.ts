// BigInt ↔ u32 words (least significant first) for the WebAssembly kernels, through V8's own
// serialization: its record of a BigInt is a tag, a varint (byte length · 2 + sign) and the magnitude's
// 64-bit digits as raw bytes, so getting a number in or out of the kernel's memory is a copy. The hex
// route it replaces (toString(16), then BigInt('0x…')) was ~12% of a block thread's time: for 95 kbit,
// 3–5 µs against 20–30 µs out of a BigInt, 3 µs against 35 µs into one.
// Checked once, by a round trip: where the bytes are not laid out as expected (a big-endian host, a
// wire format V8 has changed), `rawBigInts` is false and callers keep to hex.
import * as v8 from 'node:v8';

/** The serializer's tag of a BigInt value. */
const BIGINT_TAG = 0x5a; // 'Z'
/** Bytes a caller leaves free before the words it hands to bigintOfWords (for the record's header). */
export const HEADER_ROOM = 16;

/** x ≥ 0 as u32 words: a view of the serialized digits, the number of words up to the top nonzero one, and x.toString(16).length. */
export interface Words {
  bytes: Uint8Array;
  words: number;
  hexDigits: number;
}

function readVarint(b: Uint8Array, at: number): { value: number; next: number } {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = b[at++];
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return { value, next: at };
    shift += 7;
  }
}

/** The serializer's header (0xFF and its version), as v8.serialize writes it in this process. */
const PREFIX: Buffer = (() => {
  const zero = v8.serialize(0n);
  return zero.subarray(0, zero.length - 2);
})();

/** Unchecked wordsOf: where the digits start in v8.serialize(x), and how many bytes they are. */
function digitsOf(record: Buffer): { start: number; byteLength: number } | null {
  if (!record.subarray(0, PREFIX.length).equals(PREFIX) || record[PREFIX.length] !== BIGINT_TAG) return null;
  const { value: bitfield, next } = readVarint(record, PREFIX.length + 1);
  if (bitfield % 2 !== 0) return null; // negative
  const byteLength = bitfield / 2;
  return next + byteLength === record.length ? { start: next, byteLength } : null;
}

export function wordsOf(x: bigint): Words {
  const record = v8.serialize(x);
  const { start, byteLength } = digitsOf(record)!;
  const u32 = (i: number) => record.readUInt32LE(start + 4 * i);
  // Whole 64-bit digits: the top one may have a zero high half.
  let words = byteLength / 4;
  while (words > 0 && u32(words - 1) === 0) words--;
  const hexDigits = words === 0 ? 1 : 8 * (words - 1) + Math.ceil((32 - Math.clz32(u32(words - 1))) / 4);
  return { bytes: record.subarray(start, start + 4 * words), words, hexDigits };
}

/**
 * The number held by `words` u32 words at `at` in `memory`. The HEADER_ROOM bytes before them are
 * overwritten, and so is the word after them when `words` is odd (V8's record holds whole 64-bit digits).
 */
export function bigintOfWords(memory: Buffer, at: number, words: number): bigint {
  // A record of whole 64-bit digits, as V8 writes them.
  const byteLength = 8 * Math.ceil(words / 2);
  if (byteLength !== 4 * words) memory.writeUInt32LE(0, at + 4 * words);
  const varint: number[] = [];
  for (let v = 2 * byteLength; ; v = Math.floor(v / 128)) {
    varint.push(v >= 128 ? (v % 128) | 0x80 : v);
    if (v < 128) break;
  }
  const header = [...PREFIX, BIGINT_TAG, ...varint];
  if (header.length > HEADER_ROOM) throw new RangeError(`a number of ${words} words is too large for the kernel`);
  memory.set(header, at - header.length);
  return v8.deserialize(memory.subarray(at - header.length, at + byteLength)) as bigint;
}

/** Whether this process's serializer lays BigInts out as wordsOf and bigintOfWords expect (a round trip of a known value). */
export const rawBigInts: boolean = (() => {
  try {
    const x = 0x1234_5678_9abc_def0_0fed_cba9_8765_4321_0011_2233n;
    const record = digitsOf(v8.serialize(x));
    if (!record) return false;
    const w = wordsOf(x);
    const expected = [0x00112233, 0x87654321, 0x0fedcba9, 0x9abcdef0, 0x12345678];
    if (w.words !== expected.length || w.hexDigits !== x.toString(16).length) return false;
    const view = Buffer.from(w.bytes.buffer, w.bytes.byteOffset, w.bytes.length);
    if (!expected.every((v, i) => view.readUInt32LE(4 * i) === v)) return false;
    const memory = Buffer.alloc(HEADER_ROOM + 4 * (w.words + 1));
    memory.set(w.bytes, HEADER_ROOM);
    return bigintOfWords(memory, HEADER_ROOM, w.words) === x && bigintOfWords(memory, HEADER_ROOM, 3) === (x & 0xffff_ffff_ffff_ffff_ffff_ffffn);
  } catch {
    return false;
  }
})();
