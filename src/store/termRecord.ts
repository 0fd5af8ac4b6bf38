// The on-disk format of the term log: constants, header, records (encode, check), index entries.
// What a newcomer needs to read or write one record; no file is opened here (scans: termLogScan.ts;
// the log itself: termLog.ts).
//
// terms.log: header  "TANLOG\0\0" | u32 version | u32 crc32c(first 12 bytes)
//            records u32 0x52544E54 | u32 n | u32 L | L ASCII digits | u32 checksum(n, L, digits)
//            The version fixes the records' checksum: CRC-32C in version 1, CRC-32 in version 2 (native
//            in Node, 2.5–3× faster). The header's is CRC-32C in every version, so that any build can
//            read any log's version. New logs are version 2; a version-1 log stays version 1.
// terms.idx: u64 LE offset of record n at (n-1)*8. Derived: rebuilt from the log whenever it disagrees.
import { crc32, crc32c } from './crc32';

export const LOG_FILE = 'terms.log';
export const IDX_FILE = 'terms.idx';
export const LOG_MAGIC = Buffer.from('TANLOG\0\0', 'latin1');
/** What a log's version fixes: the checksum of its records. */
export interface LogFormat {
  readonly version: number;
  readonly checksum: (bytes: Uint8Array, seed?: number) => number;
}
const LOG_FORMATS: ReadonlyMap<number, LogFormat> = new Map([
  [1, { version: 1, checksum: crc32c }],
  [2, { version: 2, checksum: crc32 }],
]);
/** The version new logs are written in. */
export const LOG_VERSION = 2;
export const CURRENT_LOG_FORMAT = LOG_FORMATS.get(LOG_VERSION)!;
/** "this build reads versions 1 and 2", for refusals. */
export const READABLE_LOG_VERSIONS = `this build reads version${LOG_FORMATS.size > 1 ? 's' : ''} ${[...LOG_FORMATS.keys()].join(' and ')}`;
export const LOG_HEADER_SIZE = 16;
export const RECORD_MAGIC = 0x52544e54;
/** magic + n + L + crc */
export const RECORD_OVERHEAD = 16;
/** magic + n + L: the bytes before a record's digits */
export const RECORD_PREFIX = 12;
const U32_MAX = 0xffffffff;

export interface Term {
  n: number;
  digits: string;
}

/** A term to append: its digits as a string, or as ASCII bytes (what the block workers produce). */
export interface NewTerm {
  n: number;
  digits: string | Uint8Array;
}

/**
 * Upper bound on the decimal digits of T(n): T(n) < 3.3·(2n−1)! < 3.3·(2n)^(2n).
 * A record claiming more is damaged; this keeps a flipped length byte from
 * passing for a torn tail.
 */
export function maxDigits(n: number): number {
  return Math.ceil(2 * n * Math.log10(2 * n)) + 16;
}

export function logHeader(): Buffer {
  const b = Buffer.alloc(LOG_HEADER_SIZE);
  LOG_MAGIC.copy(b, 0);
  b.writeUInt32LE(LOG_VERSION, 8);
  b.writeUInt32LE(crc32c(b.subarray(0, 12)), 12);
  return b;
}

export type HeaderCheck = { ok: true; format: LogFormat } | { ok: false; version: number } | { ok: false; corrupt: string };

/** Checks the first bytes of a log file (fewer than 16 means a cut-short header). */
export function checkLogHeader(b: Uint8Array): HeaderCheck {
  if (b.length < LOG_HEADER_SIZE) return { ok: false, corrupt: `the header is cut short (${b.length} of 16 bytes)` };
  const buf = Buffer.from(b.buffer, b.byteOffset, LOG_HEADER_SIZE);
  if (!buf.subarray(0, 8).equals(LOG_MAGIC)) return { ok: false, corrupt: 'the header magic is wrong' };
  if (buf.readUInt32LE(12) !== crc32c(buf.subarray(0, 12))) return { ok: false, corrupt: 'the header checksum is wrong' };
  const version = buf.readUInt32LE(8);
  const format = LOG_FORMATS.get(version);
  return format ? { ok: true, format } : { ok: false, version };
}

/** Whether b[start..end) are all ASCII digits. Four bytes at a time: every read of the log checks every digit. */
export function isDigits(b: Uint8Array, start: number, end: number): boolean {
  let i = start;
  // Bytes up to the first 4-byte-aligned address one by one, then whole words, then the rest.
  while (i < end && (b.byteOffset + i) % 4 !== 0) {
    const c = b[i++];
    if (c < 0x30 || c > 0x39) return false;
  }
  const words = Math.floor((end - i) / 4);
  if (words > 0) {
    const w32 = new Uint32Array(b.buffer, b.byteOffset + i, words);
    for (let k = 0; k < words; k++) {
      // x ^ 0x30 is 0..9 for a digit: its high nibble is 0, and adding 6 does not carry into it.
      const t = w32[k] ^ 0x30303030;
      if ((t | (t + 0x06060606)) & 0xf0f0f0f0) return false;
    }
    i += words * 4;
  }
  while (i < end) {
    const c = b[i++];
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/**
 * Terms first..first+count-1 as log records: checked (in order, decimal digits without a leading zero,
 * no longer than the term can be) and checksummed, ready to be appended. Everything but their place in
 * the log, so that it can be done ahead, while the log still waits for earlier terms. The records are
 * pieces (each term's 12-byte prefix, its digits, its 4-byte checksum) written with one writev: the
 * digits are not copied (at N = 4000 that copy was 49 MB, and the memory it left for the GC).
 */
export class EncodedTerms {
  private constructor(
    readonly first: number,
    readonly lengths: readonly number[],
    readonly pieces: readonly Uint8Array[],
    readonly bytes: number,
    readonly format: LogFormat,
  ) {}

  get count(): number {
    return this.lengths.length;
  }

  /** Throws RangeError (naming the term) on anything that is not a valid run of terms. */
  static of(terms: readonly NewTerm[], format: LogFormat = CURRENT_LOG_FORMAT): EncodedTerms {
    const first = terms.length > 0 && terms[0] ? terms[0].n : 0;
    // Per term: prefix (magic, n, L) at 16·i and its checksum at 16·i + 12, in one small buffer.
    const frames = Buffer.allocUnsafe(terms.length * RECORD_OVERHEAD);
    const pieces: Uint8Array[] = [];
    let bytes = 0;
    let expect = first;
    for (let i = 0; i < terms.length; i++) {
      const t = terms[i];
      if (!t || t.n !== expect || !Number.isInteger(t.n) || t.n < 1) {
        throw new RangeError(`terms must be appended in order: expected term ${expect}, got ${t ? t.n : t}`);
      }
      if (!(typeof t.digits === 'string' || t.digits instanceof Uint8Array)) throw notDecimal(t.n);
      // Only ASCII passes the byte-length test (any other character takes two or more UTF-8 bytes), so
      // the latin1 bytes checked below are the characters themselves.
      if (typeof t.digits === 'string' && Buffer.byteLength(t.digits, 'utf8') !== t.digits.length) throw notDecimal(t.n);
      const digits = typeof t.digits === 'string' ? Buffer.from(t.digits, 'latin1') : t.digits;
      const L = digits.length;
      // The digits are checked a word at a time (not by a regular expression over a string).
      if (L === 0 || (L > 1 && digits[0] === 0x30) || !isDigits(digits, 0, L)) throw notDecimal(t.n);
      if (L > maxDigits(t.n) || t.n > U32_MAX) throw new RangeError(`term ${t.n}: ${L} digits is more than T(${t.n}) can have`);
      const at = i * RECORD_OVERHEAD;
      frames.writeUInt32LE(RECORD_MAGIC, at);
      frames.writeUInt32LE(t.n, at + 4);
      frames.writeUInt32LE(L, at + 8);
      frames.writeUInt32LE(format.checksum(digits, format.checksum(frames.subarray(at + 4, at + RECORD_PREFIX))), at + RECORD_PREFIX);
      pieces.push(frames.subarray(at, at + RECORD_PREFIX), digits, frames.subarray(at + RECORD_PREFIX, at + RECORD_OVERHEAD));
      bytes += RECORD_OVERHEAD + L;
      expect++;
    }
    return new EncodedTerms(first, terms.map((t) => t.digits.length), pieces, bytes, format);
  }
}

function notDecimal(n: number): RangeError {
  return new RangeError(`term ${n}: digits must be a decimal number without sign or leading zeros`);
}

/** Validates one complete record `rec` (exactly 16+L bytes). Returns null if good, else why not. */
export function checkRecord(rec: Uint8Array, n: number, format: LogFormat): string | null {
  if (rec.length < RECORD_OVERHEAD) return 'the record is cut short';
  const b = Buffer.from(rec.buffer, rec.byteOffset, rec.length);
  if (b.readUInt32LE(0) !== RECORD_MAGIC) return 'the record magic is wrong';
  if (b.readUInt32LE(4) !== n) return `it claims to be term ${b.readUInt32LE(4)}`;
  const L = b.readUInt32LE(8);
  if (L < 1 || L > maxDigits(n)) return `its length ${L} is impossible`;
  if (rec.length !== RECORD_OVERHEAD + L) return 'its length disagrees with the index';
  if (b.readUInt32LE(RECORD_PREFIX + L) !== format.checksum(b.subarray(4, RECORD_PREFIX + L))) return 'its checksum is wrong';
  if (!isDigits(b, RECORD_PREFIX, RECORD_PREFIX + L) || (L > 1 && b[RECORD_PREFIX] === 0x30)) return 'its digits are not a decimal number';
  return null;
}

/**
 * The record starting at rest[0] needs more bytes than the file has. It is a torn
 * tail (an interrupted append) only if every byte present is what such a record
 * would hold; otherwise it is damage.
 */
export function classifyShortRecord(rest: Uint8Array, n: number, format: LogFormat): string | null {
  const b = Buffer.from(rest.buffer, rest.byteOffset, rest.length);
  const expect = Buffer.alloc(8);
  expect.writeUInt32LE(RECORD_MAGIC, 0);
  expect.writeUInt32LE(n, 4);
  const k = Math.min(b.length, 8);
  if (!b.subarray(0, k).equals(expect.subarray(0, k))) return 'its start is not a record of the expected term';
  if (b.length < RECORD_PREFIX) return null;
  const L = b.readUInt32LE(8);
  if (L < 1 || L > maxDigits(n)) return `its length ${L} is impossible`;
  const have = Math.min(L, b.length - RECORD_PREFIX);
  if (!isDigits(b, RECORD_PREFIX, RECORD_PREFIX + have) || (have > 0 && L > 1 && b[RECORD_PREFIX] === 0x30)) {
    return 'its digits are not a decimal number';
  }
  if (b.length > RECORD_PREFIX + L) {
    const c = Buffer.alloc(4);
    c.writeUInt32LE(format.checksum(b.subarray(4, RECORD_PREFIX + L)), 0);
    if (!b.subarray(RECORD_PREFIX + L).equals(c.subarray(0, b.length - RECORD_PREFIX - L))) return 'its checksum is wrong';
  }
  return null;
}

/** Index entries (terms.idx): each offset as a u64 LE. */
export function offsetsBuffer(offsets: readonly number[]): Buffer {
  const b = Buffer.allocUnsafe(offsets.length * 8);
  for (let i = 0; i < offsets.length; i++) {
    b.writeUInt32LE(offsets[i] % 0x100000000, i * 8);
    b.writeUInt32LE(Math.floor(offsets[i] / 0x100000000), i * 8 + 4);
  }
  return b;
}

/** The index entry (u64 LE) at byte `at` of b. */
export function readU64(b: Buffer, at: number): number {
  return b.readUInt32LE(at) + b.readUInt32LE(at + 4) * 0x100000000;
}
