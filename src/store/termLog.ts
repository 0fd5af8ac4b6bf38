// Append-only log of finished terms (terms.log) and its derived offset index (terms.idx).
//
// terms.log: header  "TANLOG\0\0" | u32 version | u32 crc32c(first 12 bytes)
//            records u32 0x52544E54 | u32 n | u32 L | L ASCII digits | u32 checksum(n, L, digits)
//            The version fixes the records' checksum: CRC-32C in version 1, CRC-32 in version 2 (native
//            in Node, 2.5–3× faster). The header's is CRC-32C in every version, so that any build can
//            read any log's version. New logs are version 2; a version-1 log stays version 1.
// terms.idx: u64 LE offset of record n at (n-1)*8. Derived: rebuilt from the log whenever it disagrees.
import { fs } from './fileLayer';
import * as path from 'path';
import { crc32, crc32c } from './crc32';
import { StoreError } from './errors';
import {
  atomicWriteFile,
  errnoCode,
  fsyncDir,
  io,
  ioError,
  quarantinePath,
  readFully,
  removeQuietly,
  writeFully,
  writevFully,
} from './fsutil';

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
const PREFIX = 12;
const U32_MAX = 0xffffffff;
const CHUNK = 1 << 20;

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

/** All bytes in [start, end) are ASCII digits. */
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
      frames.writeUInt32LE(format.checksum(digits, format.checksum(frames.subarray(at + 4, at + PREFIX))), at + PREFIX);
      pieces.push(frames.subarray(at, at + PREFIX), digits, frames.subarray(at + PREFIX, at + RECORD_OVERHEAD));
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
  if (b.readUInt32LE(PREFIX + L) !== format.checksum(b.subarray(4, PREFIX + L))) return 'its checksum is wrong';
  if (!isDigits(b, PREFIX, PREFIX + L) || (L > 1 && b[PREFIX] === 0x30)) return 'its digits are not a decimal number';
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
  if (b.length < PREFIX) return null;
  const L = b.readUInt32LE(8);
  if (L < 1 || L > maxDigits(n)) return `its length ${L} is impossible`;
  const have = Math.min(L, b.length - PREFIX);
  if (!isDigits(b, PREFIX, PREFIX + have) || (have > 0 && L > 1 && b[PREFIX] === 0x30)) {
    return 'its digits are not a decimal number';
  }
  if (b.length > PREFIX + L) {
    const c = Buffer.alloc(4);
    c.writeUInt32LE(format.checksum(b.subarray(4, PREFIX + L)), 0);
    if (!b.subarray(PREFIX + L).equals(c.subarray(0, b.length - PREFIX - L))) return 'its checksum is wrong';
  }
  return null;
}

/** Sliding read window over a file so scans cost one read per MiB, with bounded memory. */
class SyncWindow {
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;
  private len = 0;

  constructor(
    private readonly fd: number,
    private readonly size: number,
    private readonly chunk = CHUNK,
  ) {}

  /** Bytes [pos, pos+len), or null if the file (as of `size`) ends before. Valid until the next call. */
  get(pos: number, len: number): Buffer | null {
    if (pos + len > this.size) return null;
    if (pos >= this.start && pos + len <= this.start + this.len) {
      return this.buf.subarray(pos - this.start, pos - this.start + len);
    }
    const want = Math.min(Math.max(len, this.chunk), this.size - pos);
    if (this.buf.length < want || this.buf.length > 4 * Math.max(want, this.chunk)) this.buf = Buffer.allocUnsafe(want);
    const got = readFully(this.fd, this.buf, 0, want, pos);
    this.start = pos;
    this.len = got;
    return got < len ? null : this.buf.subarray(0, len);
  }
}

export interface ScanProblem {
  kind: 'torn' | 'corrupt';
  /** byte offset where the valid prefix ends */
  offset: number;
  /** the term whose record is bad */
  n: number;
  reason: string;
}

export interface ScanResult {
  /** last valid term */
  count: number;
  /** end of the last valid record */
  end: number;
  /** offsets of the records scanned (terms startN..count) */
  offsets: number[];
  problem?: ScanProblem;
}

/** Verifies records from `pos` (expected to be term `n`) to the end of the file. */
export function scanLog(fd: number, size: number, pos: number, n: number, format: LogFormat): ScanResult {
  const w = new SyncWindow(fd, size);
  const offsets: number[] = [];
  let problem: ScanProblem | undefined;
  while (pos < size) {
    const prefix = w.get(pos, PREFIX);
    let reason: string | null;
    let torn = false;
    if (prefix === null) {
      reason = classifyShortRecord(w.get(pos, size - pos) ?? Buffer.alloc(0), n, format);
      torn = reason === null;
    } else {
      const L = prefix.readUInt32LE(8);
      if (prefix.readUInt32LE(0) !== RECORD_MAGIC) reason = 'the record magic is wrong';
      else if (prefix.readUInt32LE(4) !== n) reason = `it claims to be term ${prefix.readUInt32LE(4)}`;
      else if (L < 1 || L > maxDigits(n)) reason = `its length ${L} is impossible`;
      else if (pos + RECORD_OVERHEAD + L > size) {
        reason = classifyShortRecord(w.get(pos, size - pos) ?? Buffer.alloc(0), n, format);
        torn = reason === null;
      } else {
        reason = checkRecord(w.get(pos, RECORD_OVERHEAD + L) ?? Buffer.alloc(0), n, format);
        if (reason === null) {
          offsets.push(pos);
          pos += RECORD_OVERHEAD + L;
          n++;
          continue;
        }
      }
    }
    problem = torn
      ? { kind: 'torn', offset: pos, n, reason: 'the file ends inside it' }
      : { kind: 'corrupt', offset: pos, n, reason: reason ?? 'it is damaged' };
    break;
  }
  return { count: n - 1, end: pos, offsets, problem };
}

function offsetsBuffer(offsets: readonly number[]): Buffer {
  const b = Buffer.allocUnsafe(offsets.length * 8);
  for (let i = 0; i < offsets.length; i++) {
    b.writeUInt32LE(offsets[i] % 0x100000000, i * 8);
    b.writeUInt32LE(Math.floor(offsets[i] / 0x100000000), i * 8 + 4);
  }
  return b;
}

function readU64(b: Buffer, at: number): number {
  return b.readUInt32LE(at) + b.readUInt32LE(at + 4) * 0x100000000;
}

/** Most bytes one scan step reads, whatever it is asked (its buffer is kept between steps). */
const MAX_SCAN_SLICE = 64 << 20;

/** Why a record cut short by the end of the file (or with an impossible length) is not a term. */
function shortRecordReason(rec: Buffer, n: number): string {
  if (rec.length >= 4 && rec.readUInt32LE(0) !== RECORD_MAGIC) return 'the record magic is wrong';
  if (rec.length >= 8 && rec.readUInt32LE(4) !== n) return `it claims to be term ${rec.readUInt32LE(4)}`;
  if (rec.length >= PREFIX) {
    const L = rec.readUInt32LE(8);
    if (L < 1 || L > maxDigits(n)) return `its length ${L} is impossible`;
  }
  return 'the file ends inside it';
}

/** CORRUPT for a read that met the damaged (or missing) record of term n: names it, and what undoes it. */
export function damagedTerm(n: number, logPath: string, reason: string): StoreError {
  const intact = n > 1 ? `terms 1..${n - 1} are intact` : 'no term before it';
  return new StoreError(
    'CORRUPT',
    `term ${n} in ${logPath} is damaged (${reason}); ${intact} — resume the job to set the damaged part aside and compute it again`,
    { term: n },
  );
}

/** One step of a LogScan. */
export interface LogScanStep {
  /** The scan has covered all its terms, or found damage (then it goes no further). */
  done: boolean;
  /** Terms 1..verifiedThrough are verified records, and their index entries point at them. */
  verifiedThrough: number;
  /** The first damaged record: term n, starting at byte `offset` of terms.log. Hand it to healFrom. */
  damage?: { n: number; offset: number; reason: string };
}

interface ScanCursor {
  readonly target: number;
  /** Next term to verify, and where its record starts. */
  next: number;
  pos: number;
  buf: Buffer;
  damage?: { n: number; offset: number; reason: string };
  /** Done for good: terms appended after its end are not its business. */
  finished?: boolean;
}

/**
 * A verified scan of the whole log, a slice at a time, for a job to run in the background between blocks.
 * Each step verifies whole records in order (magic, n, length, checksum, digits) and that the index entry
 * of each points at it (a wrong entry is rewritten from the log: the index is derived), reading one slice
 * of about `maxBytes` (at least one record) with one buffer kept between steps: bounded memory and time.
 *
 * It covers the terms the log held when it began (`target`); terms appended meanwhile are not its business
 * (they were checked as they were written). If the log is cut back meanwhile (healFrom, truncateTo) it
 * covers the terms kept, and goes on from the cut if it had passed it. It ends (throws Error) if its state
 * directory is closed or archived.
 */
export class LogScan {
  constructor(
    /** Terms 1..target are what this scan verifies. */
    readonly target: number,
    private readonly slice: (maxBytes: number) => LogScanStep,
  ) {}

  /** Verifies the next slice of about maxBytes (> 0). StoreError on an I/O error. */
  step(maxBytes: number): LogScanStep {
    return this.slice(maxBytes);
  }
}

export interface TermLogOptions {
  mode: 'write' | 'read';
  durable: boolean;
  /** Logs smaller than this are fully verified on every open (cheap); larger ones only at the tail. */
  fullCheckBelowBytes: number;
  /** A recovery or repair (goes to `recoveries` and logger.warn). */
  report(line: string): void;
  info(line: string): void;
}

export class TermLog {
  private logFd: number | null = null;
  private idxFd: number | null = null;
  private logSize = LOG_HEADER_SIZE;
  private _count = 0;
  /** Entries 1..fileCount come from terms.idx; later ones from `extra` (read mode only). */
  private fileCount = 0;
  private extra: number[] = [];
  /** A failed append could not be undone: bytes past logSize must be cut before the next append. */
  private dirtyTail = false;
  /** The open log's format (a new log's is the current one). */
  private format: LogFormat = CURRENT_LOG_FORMAT;
  /** Scans in progress (beginScan): a cut moves the ones past it back to it. */
  private readonly scans = new Set<ScanCursor>();
  readonly logPath: string;
  readonly idxPath: string;

  private constructor(
    readonly dir: string,
    private readonly opts: TermLogOptions,
  ) {
    this.logPath = path.join(dir, LOG_FILE);
    this.idxPath = path.join(dir, IDX_FILE);
  }

  get count(): number {
    return this._count;
  }

  get writable(): boolean {
    return this.opts.mode === 'write';
  }

  /** How this log's records are checksummed: what EncodedTerms.of needs to encode terms ahead for it. */
  get logFormat(): LogFormat {
    return this.format;
  }

  static open(dir: string, opts: TermLogOptions): TermLog {
    const log = new TermLog(dir, opts);
    try {
      log.openAndRecover();
    } catch (e) {
      log.close();
      throw e;
    }
    return log;
  }

  // ---------------------------------------------------------------- open / recover

  private openAndRecover(): void {
    const write = this.writable;
    const { report } = this.opts;
    if (!fs.existsSync(this.logPath)) {
      if (!write) return; // nothing yet: count 0
      this.createEmpty();
    }
    this.logFd = io(`open ${this.logPath}`, () => fs.openSync(this.logPath, write ? 'r+' : 'r'));
    let size = fs.fstatSync(this.logFd).size;

    const head = Buffer.alloc(LOG_HEADER_SIZE);
    const got = io(`read ${this.logPath}`, () => readFully(this.logFd as number, head, 0, LOG_HEADER_SIZE, 0));
    const hc = checkLogHeader(head.subarray(0, got));
    if (!hc.ok) {
      if ('version' in hc) {
        throw new StoreError(
          'VERSION',
          `${this.logPath} was written by log format version ${hc.version}; ${READABLE_LOG_VERSIONS}`,
        );
      }
      if (!write) {
        report(`terms.log is unreadable (${hc.corrupt}); read it as empty, left in place (read-only)`);
        fs.closeSync(this.logFd);
        this.logFd = null;
        return;
      }
      fs.closeSync(this.logFd);
      this.logFd = null;
      if (size === 0) {
        report('terms.log was empty (not even a header); started a new log');
      } else {
        const aside = quarantinePath(this.logPath);
        io(`move ${this.logPath} aside`, () => fs.renameSync(this.logPath, aside));
        // Durable before the new log's rename over the same name: else a power loss may keep that and lose this.
        if (this.opts.durable) fsyncDir(this.dir);
        report(`terms.log was unreadable (${hc.corrupt}); moved it aside to ${path.basename(aside)} and started a new log`);
      }
      this.createEmpty();
      this.logFd = io(`open ${this.logPath}`, () => fs.openSync(this.logPath, 'r+'));
      size = LOG_HEADER_SIZE;
    } else {
      this.format = hc.format;
    }

    // Index: write mode keeps terms.idx open for appends; read mode only reads it.
    if (write) {
      this.idxFd = io(`open ${this.idxPath}`, () =>
        fs.openSync(this.idxPath, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644),
      );
    } else {
      try {
        this.idxFd = fs.openSync(this.idxPath, 'r');
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') throw ioError(e, `open ${this.idxPath}`);
      }
    }
    const idxSize = this.idxFd === null ? 0 : fs.fstatSync(this.idxFd).size;
    const k0 = Math.floor(idxSize / 8);

    // Trust the index prefix if its last entry points at a verified record for term k0.
    let trusted = 0;
    let end = LOG_HEADER_SIZE;
    const full = size < this.opts.fullCheckBelowBytes;
    if (!full && k0 > 0) {
      const off = this.readIdxEntries(k0, k0)[0];
      const len = this.verifiedLengthAt(off, k0, size);
      if (len > 0) {
        trusted = k0;
        end = off + len;
      }
    }
    const res = scanLog(this.logFd, size, end, trusted + 1, this.format);
    const count = res.count;

    if (!write) {
      // Read-only: repair nothing, keep new offsets in memory.
      if (trusted > 0) {
        this.fileCount = trusted;
        this.extra = res.offsets;
      } else if (this.idxMatches(res.offsets, idxSize, false)) {
        this.fileCount = count;
      } else {
        this.fileCount = 0;
        this.extra = res.offsets;
      }
      if (res.problem) {
        report(`${describeProblem(res.problem, size)} (read-only: left as it is)`);
      }
      this._count = count;
      this.logSize = res.end;
      return;
    }

    // Repair the log first (quarantine before truncating), then make the index match it.
    if (res.problem) {
      const p = res.problem;
      const cut = size - p.offset;
      if (p.kind === 'corrupt') {
        const aside = this.copyAside(p.offset, size);
        report(
          `terms.log: the record of term ${p.n} at byte ${p.offset} is damaged (${p.reason}); ` +
            `moved the ${cut} bytes from there to the end to ${path.basename(aside)} and kept terms 1..${p.n - 1}`,
        );
      } else {
        report(`cut a torn tail of ${cut} bytes after term ${p.n - 1}`);
      }
      io(`truncate ${this.logPath}`, () => {
        fs.ftruncateSync(this.logFd as number, p.offset);
        if (this.opts.durable) fs.fsyncSync(this.logFd as number);
      });
    }
    if (trusted > 0) {
      const idxOk = idxSize === count * 8;
      if (!idxOk) {
        io(`update ${this.idxPath}`, () => {
          fs.ftruncateSync(this.idxFd as number, trusted * 8);
          writeFully(this.idxFd as number, offsetsBuffer(res.offsets), trusted * 8);
        });
        if (count > trusted) report(`indexed terms ${trusted + 1}..${count}, which terms.idx was missing`);
        else this.opts.info('trimmed a partial entry from terms.idx');
      }
    } else if (!this.idxMatches(res.offsets, idxSize, true)) {
      this.rewriteIndex(res.offsets);
      if (idxSize > 0 || count > 0) report(`rebuilt terms.idx from terms.log (${count} terms)`);
    }
    this._count = count;
    this.fileCount = count;
    this.logSize = res.end;
  }

  /** True if terms.idx holds exactly `offsets` (read only when the log is small or was fully scanned). */
  private idxMatches(offsets: readonly number[], idxSize: number, exact: boolean): boolean {
    if (this.idxFd === null) return offsets.length === 0 && (!exact || idxSize === 0);
    if (exact ? idxSize !== offsets.length * 8 : idxSize < offsets.length * 8) return false;
    const want = offsetsBuffer(offsets);
    const have = Buffer.alloc(want.length);
    if (readFully(this.idxFd, have, 0, want.length, 0) !== want.length) return false;
    return have.equals(want);
  }

  /** Length of the verified record of term n at `off`, or 0 if it is not there. */
  private verifiedLengthAt(off: number, n: number, size: number): number {
    if (!(off >= LOG_HEADER_SIZE && off + RECORD_OVERHEAD <= size)) return 0;
    const prefix = Buffer.alloc(PREFIX);
    if (readFully(this.logFd as number, prefix, 0, PREFIX, off) !== PREFIX) return 0;
    const L = prefix.readUInt32LE(8);
    if (L < 1 || L > maxDigits(n) || off + RECORD_OVERHEAD + L > size) return 0;
    const rec = Buffer.alloc(RECORD_OVERHEAD + L);
    if (readFully(this.logFd as number, rec, 0, rec.length, off) !== rec.length) return 0;
    return checkRecord(rec, n, this.format) === null ? rec.length : 0;
  }

  private createEmpty(): void {
    atomicWriteFile(this.logPath, logHeader(), { durable: this.opts.durable });
    if (this.idxFd !== null) {
      fs.closeSync(this.idxFd);
      this.idxFd = null;
    }
    atomicWriteFile(this.idxPath, Buffer.alloc(0), { durable: false });
  }

  /** Copies log bytes [from, to) into a new terms.log.corrupt-<time>; returns its path. */
  private copyAside(from: number, to: number): string {
    const target = quarantinePath(this.logPath);
    const tmp = `${target}.tmp`;
    const fd = this.logFd as number;
    let out: number | undefined;
    try {
      out = fs.openSync(tmp, 'w');
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, to - from));
      for (let pos = from; pos < to; ) {
        const n = readFully(fd, buf, 0, Math.min(buf.length, to - pos), pos);
        if (n === 0) break;
        writeFully(out, buf.subarray(0, n), pos - from);
        pos += n;
      }
      if (this.opts.durable) fs.fsyncSync(out);
      fs.closeSync(out);
      out = undefined;
      fs.renameSync(tmp, target);
    } catch (e) {
      if (out !== undefined) fs.closeSync(out);
      removeQuietly(tmp);
      throw ioError(e, `save damaged bytes of ${this.logPath} to ${target}`);
    }
    if (this.opts.durable) fsyncDir(this.dir);
    return target;
  }

  private rewriteIndex(offsets: readonly number[]): void {
    const tmp = `${this.idxPath}.tmp`;
    // Written beside and renamed over, so a concurrent reader never sees it half-built.
    atomicWriteFile(this.idxPath, offsetsBuffer(offsets), { durable: false, tmp });
    if (this.idxFd !== null) fs.closeSync(this.idxFd);
    this.idxFd = null;
    this.idxFd = io(`open ${this.idxPath}`, () => fs.openSync(this.idxPath, this.writable ? 'r+' : 'r'));
  }

  // ---------------------------------------------------------------- index access

  private readIdxEntries(from: number, to: number): number[] {
    const n = to - from + 1;
    const b = Buffer.alloc(n * 8);
    const got = io(`read ${this.idxPath}`, () => readFully(this.idxFd as number, b, 0, n * 8, (from - 1) * 8));
    const out: number[] = [];
    for (let i = 0; i + 8 <= got; i += 8) out.push(readU64(b, i));
    return out;
  }

  /** Offsets of terms from..to (1-based, inclusive, within count). */
  private offsets(from: number, to: number): number[] {
    const out: number[] = [];
    if (from <= this.fileCount) {
      const hi = Math.min(to, this.fileCount);
      const got = this.readIdxEntries(from, hi);
      for (const o of got) out.push(o);
      while (out.length < hi - from + 1) out.push(-1); // idx shorter than it was: fails verification
    }
    for (let n = Math.max(from, this.fileCount + 1); n <= to; n++) out.push(this.extra[n - this.fileCount - 1]);
    return out;
  }

  // ---------------------------------------------------------------- reads

  private checkRange(from: number, to: number): void {
    if (!Number.isInteger(from) || !Number.isInteger(to)) throw new RangeError(`term numbers must be integers (got ${from}..${to})`);
    if (from < 1 || to > this._count) {
      if (to >= from) throw new RangeError(`terms ${from}..${to} are outside 1..${this._count}`);
    }
  }

  readTerm(n: number): string {
    this.checkRange(n, n);
    const it = this.iterate(n, n);
    const r = it.next();
    return (r.value as Term).digits;
  }

  readRange(from: number, to: number): Term[] {
    this.checkRange(from, to);
    return Array.from(this.iterate(from, to));
  }

  /**
   * Streams terms from..to, verifying each record; bounded memory. A damaged record is never skipped nor
   * taken for the end: the read fails with StoreError CORRUPT naming the term (`term`), after the terms
   * before it. A wrong index entry (the index is derived) is rebuilt from the log and the read goes on.
   */
  *iterate(from = 1, to = this._count): Generator<Term> {
    this.checkRange(from, to);
    if (to < from) return;
    if (this.logFd === null) throw damagedTerm(from, this.logPath, 'terms.log is unreadable');
    const BATCH = 4096;
    let healed = false;
    let n = from;
    while (n <= to) {
      const hi = Math.min(to, n + BATCH - 1);
      const offs = this.offsets(n, hi);
      // A single term is read with two small reads; ranges through a 1 MiB window.
      const w = new SyncWindow(this.logFd, this.logSize, hi === n ? 0 : CHUNK);
      let bad: string | null = null;
      for (let i = 0; i < offs.length; i++, n++) {
        const off = offs[i];
        const prefix = off >= LOG_HEADER_SIZE ? io(`read ${this.logPath}`, () => w.get(off, PREFIX)) : null;
        const L = prefix ? prefix.readUInt32LE(8) : 0;
        const rec = prefix && L >= 1 && L <= maxDigits(n) ? io(`read ${this.logPath}`, () => w.get(off, RECORD_OVERHEAD + L)) : null;
        bad = rec ? checkRecord(rec, n, this.format) : 'its index entry points outside the record area';
        if (bad !== null) break;
        const digits = (rec as Buffer).toString('latin1', PREFIX, PREFIX + L);
        healed = false;
        yield { n, digits };
      }
      if (bad !== null) {
        if (healed) throw damagedTerm(n, this.logPath, bad);
        const damage = this.healIndex(n, bad);
        if (damage) throw damagedTerm(damage.n, this.logPath, damage.reason);
        healed = true;
      }
    }
  }

  /**
   * A read found term n's record wrong. The log is the truth: scan it, and rebuild the index of its
   * intact prefix (in memory when read-only). Returns the first damaged term if that is term n or one
   * before it (then the read fails there), or null if term n is intact (the index was wrong).
   */
  private healIndex(n: number, why: string): { n: number; reason: string } | null {
    if (this.logFd === null) return { n, reason: why };
    const res = io(`read ${this.logPath}`, () => scanLog(this.logFd as number, this.logSize, LOG_HEADER_SIZE, 1, this.format));
    const intact = Math.min(res.count, this._count);
    const damage = res.count < this._count ? { n: res.count + 1, reason: res.problem?.reason ?? 'the file ends before it' } : null;
    if (damage && damage.n <= n) return damage;
    const offsets = res.offsets.slice(0, intact);
    if (this.writable) {
      if (intact === this._count) this.rewriteIndex(offsets);
      else io(`update ${this.idxPath}`, () => writeFully(this.idxFd as number, offsetsBuffer(offsets), 0));
      this.fileCount = this._count;
    } else {
      this.fileCount = 0;
      this.extra = offsets;
    }
    this.opts.report(`terms.idx was damaged at term ${n} (${why}); rebuilt it from terms.log`);
    return null;
  }

  // ---------------------------------------------------------------- background check

  /**
   * A verified scan of the whole log, in slices (see LogScan). It covers terms 1..count as of now
   * (terms appended later were checked as they were written), and follows the log if it is cut back.
   */
  beginScan(): LogScan {
    if (this.logFd === null && this._count > 0) throw new Error(`${this.logPath} is closed`);
    const cursor: ScanCursor = { target: this._count, next: 1, pos: LOG_HEADER_SIZE, buf: Buffer.alloc(0) };
    this.scans.add(cursor);
    return new LogScan(cursor.target, (maxBytes) => this.scanSlice(cursor, maxBytes));
  }

  private scanSlice(cur: ScanCursor, maxBytes: number): LogScanStep {
    if (!(maxBytes > 0)) throw new RangeError(`a scan step needs a positive byte budget (got ${maxBytes})`);
    if (cur.damage) return { done: true, verifiedThrough: cur.next - 1, damage: cur.damage };
    const limit = Math.min(cur.target, this._count);
    if (cur.finished || cur.next > limit) return this.endScan(cur);
    if (this.logFd === null) throw new Error(`the scan of ${this.logPath} cannot go on: the log was closed (or archived)`);
    const fd = this.logFd;
    const size = this.logSize;
    // One read of up to maxBytes (at least one whole record) per step: bounded memory and time.
    const want = Math.min(size - cur.pos, Math.max(PREFIX, Math.min(maxBytes, MAX_SCAN_SLICE)));
    if (cur.buf.length < want) cur.buf = Buffer.allocUnsafe(want);
    const got = io(`read ${this.logPath}`, () => readFully(fd, cur.buf, 0, want, cur.pos));
    const first = cur.next;
    const offsets: number[] = [];
    let at = 0;
    let reason: string | null = null;
    while (cur.next <= limit) {
      const n = cur.next;
      const pos = cur.pos + at;
      let rec: Buffer | null = null;
      let ownRead = false;
      if (at + PREFIX <= got) {
        const L = cur.buf.readUInt32LE(at + 8);
        if (L >= 1 && L <= maxDigits(n) && at + RECORD_OVERHEAD + L <= got) rec = cur.buf.subarray(at, at + RECORD_OVERHEAD + L);
        else if (offsets.length === 0) {
          // The slice's first record does not fit in it (or its prefix is wrong): read it on its own.
          const len = L >= 1 && L <= maxDigits(n) ? Math.min(RECORD_OVERHEAD + L, size - pos) : Math.min(PREFIX, size - pos);
          const own = Buffer.allocUnsafe(len);
          rec = own.subarray(0, io(`read ${this.logPath}`, () => readFully(fd, own, 0, len, pos)));
          ownRead = true;
        }
      } else if (offsets.length === 0) {
        rec = cur.buf.subarray(at, got);
      }
      if (rec === null) break; // the rest is for the next step
      reason = rec.length >= PREFIX && rec.length === RECORD_OVERHEAD + rec.readUInt32LE(8) ? checkRecord(rec, n, this.format) : shortRecordReason(rec, n);
      if (reason !== null) break;
      offsets.push(pos);
      at += rec.length;
      cur.next++;
      if (ownRead) break; // that was this step's read
    }
    cur.pos += at;
    if (offsets.length > 0) this.checkIndexEntries(first, offsets);
    if (reason !== null) {
      // Kept in `scans`: healFrom clears the damage, and the scan then ends at the cut.
      cur.damage = { n: cur.next, offset: cur.pos, reason };
      cur.buf = Buffer.alloc(0);
      return { done: true, verifiedThrough: cur.next - 1, damage: cur.damage };
    }
    return cur.next > limit ? this.endScan(cur) : { done: false, verifiedThrough: cur.next - 1 };
  }

  private endScan(cur: ScanCursor): LogScanStep {
    cur.finished = true;
    cur.buf = Buffer.alloc(0);
    this.scans.delete(cur);
    return { done: true, verifiedThrough: Math.min(cur.next - 1, this._count) };
  }

  /** Index entries of terms first.. must be `offsets` (verified record starts); wrong ones are rewritten from the log. */
  private checkIndexEntries(first: number, offsets: readonly number[]): void {
    const have = this.offsets(first, first + offsets.length - 1);
    let wrong = 0;
    let firstWrong = 0;
    for (let i = 0; i < offsets.length; i++) {
      if (have[i] !== offsets[i]) {
        if (wrong++ === 0) firstWrong = first + i;
      }
    }
    if (wrong === 0) return;
    const last = first + offsets.length - 1;
    if (!this.writable) {
      this.opts.report(`terms.idx disagrees with terms.log for ${wrong} of terms ${first}..${last} (first: term ${firstWrong}); read-only: left as it is`);
      return;
    }
    io(`update ${this.idxPath}`, () => writeFully(this.idxFd as number, offsetsBuffer(offsets), (first - 1) * 8));
    this.opts.report(`terms.idx pointed wrong for ${wrong} of terms ${first}..${last} (first: term ${firstWrong}); rewrote those entries from terms.log`);
  }

  // ---------------------------------------------------------------- writes

  /** Appends terms count+1, count+2, … (or records encoded ahead: EncodedTerms) in one write. All or nothing. */
  append(terms: readonly NewTerm[] | EncodedTerms): void {
    if (!this.writable) throw new Error('this state directory was opened read-only');
    const encoded = terms instanceof EncodedTerms ? terms : EncodedTerms.of(terms, this.format);
    if (encoded.count === 0) return;
    if (encoded.format !== this.format) throw new RangeError(`terms encoded for log format ${encoded.format.version} cannot go into a version ${this.format.version} log`);
    // The records hold the digits themselves, not a copy: a buffer moved to another thread since (detached,
    // empty) would leave a short record.
    let present = 0;
    for (const piece of encoded.pieces) present += piece.length;
    if (present !== encoded.bytes) throw new RangeError(`the digits of terms ${encoded.first}..${encoded.first + encoded.count - 1} were moved or changed after they were encoded`);
    if (encoded.first !== this._count + 1) {
      throw new RangeError(`terms must be appended in order: expected term ${this._count + 1}, got ${encoded.first}`);
    }
    const fd = this.logFd as number;
    const prevSize = this.logSize;
    const prevCount = this._count;
    if (this.dirtyTail) {
      io(`truncate ${this.logPath}`, () => {
        fs.ftruncateSync(this.idxFd as number, prevCount * 8);
        fs.ftruncateSync(fd, prevSize);
      });
      this.dirtyTail = false;
    }
    try {
      writevFully(fd, encoded.pieces, prevSize);
      if (this.opts.durable) fs.fsyncSync(fd);
    } catch (e) {
      this.rollback(prevSize, prevCount);
      throw ioError(e, `append to ${this.logPath}`);
    }
    const offs: number[] = [];
    let p = prevSize;
    for (const length of encoded.lengths) {
      offs.push(p);
      p += RECORD_OVERHEAD + length;
    }
    try {
      writeFully(this.idxFd as number, offsetsBuffer(offs), prevCount * 8);
    } catch (e) {
      this.rollback(prevSize, prevCount);
      throw ioError(e, `append to ${this.idxPath}`);
    }
    this.logSize = prevSize + encoded.bytes;
    this._count = prevCount + encoded.count;
    this.fileCount = this._count;
  }

  /** Undoes a failed append; if even that fails, the next open cuts the torn tail. */
  private rollback(prevSize: number, prevCount: number): void {
    try {
      fs.ftruncateSync(this.idxFd as number, prevCount * 8);
      fs.ftruncateSync(this.logFd as number, prevSize);
      if (this.opts.durable) fs.fsyncSync(this.logFd as number);
    } catch {
      this.dirtyTail = true; // retried before the next append; open would cut it too
    }
  }

  /** Cuts the log back to `count` terms; the removed bytes are moved to terms.log.corrupt-<time>. */
  truncateTo(count: number): string | null {
    if (!this.writable) throw new Error('this state directory was opened read-only');
    if (!Number.isInteger(count) || count < 0 || count > this._count) {
      throw new RangeError(`cannot truncate to ${count} terms: the log holds ${this._count}`);
    }
    if (count === this._count) return null;
    // The cut point must be the verified start of term count+1 (or the end of term count).
    let cutAt = this.offsets(count + 1, count + 1)[0];
    if (this.verifiedLengthAt(cutAt, count + 1, this.logSize) === 0) {
      const res = io(`read ${this.logPath}`, () => scanLog(this.logFd as number, this.logSize, LOG_HEADER_SIZE, 1, this.format));
      cutAt = count < res.count ? res.offsets[count] : res.end;
      count = Math.min(count, res.count);
    }
    const old = this._count;
    const bytes = this.logSize - cutAt;
    const aside = this.cut(count, cutAt);
    this.opts.report(`cut terms.log back to term ${count}; moved terms ${count + 1}..${old} (${bytes} bytes) to ${path.basename(aside)}`);
    return aside;
  }

  /**
   * Sets the damaged record of term n and everything after it aside (terms.log.corrupt-<time>, never
   * deleted) and keeps terms 1..n-1, for them to be computed again. The cut is at the end of the verified
   * record of term n-1; should that not verify either, at the first damaged record before n. Returns the
   * path of the set-aside bytes.
   */
  healFrom(n: number, reason: string): string {
    if (!this.writable) throw new Error('this state directory was opened read-only');
    if (!Number.isInteger(n) || n < 1 || n > this._count) throw new RangeError(`cannot heal from term ${n}: the log holds terms 1..${this._count}`);
    let cutAt = LOG_HEADER_SIZE;
    if (n > 1) {
      const prev = this.offsets(n - 1, n - 1)[0];
      const len = this.verifiedLengthAt(prev, n - 1, this.logSize);
      if (len > 0) cutAt = prev + len;
      else {
        // Term n-1 is not where the index says: ask the log itself (it may be damaged before n too).
        const res = io(`read ${this.logPath}`, () => scanLog(this.logFd as number, this.logSize, LOG_HEADER_SIZE, 1, this.format));
        if (res.count < n - 1) {
          n = res.count + 1;
          reason = res.problem?.reason ?? reason;
          cutAt = res.end;
        } else cutAt = res.count >= n ? res.offsets[n - 1] : res.end;
      }
    }
    const old = this._count;
    const bytes = this.logSize - cutAt;
    const aside = this.cut(n - 1, cutAt);
    this.opts.report(
      `terms.log: the record of term ${n} at byte ${cutAt} is damaged (${reason}); moved terms ${n}..${old} (${bytes} bytes) ` +
        `to ${path.basename(aside)} and kept terms 1..${n - 1}; terms from ${n} on are computed again`,
    );
    return aside;
  }

  /** Keeps terms 1..count (their records end at `cutAt`): the bytes from there are copied aside, then cut. */
  private cut(count: number, cutAt: number): string {
    const aside = this.copyAside(cutAt, this.logSize);
    io(`truncate ${this.logPath}`, () => {
      fs.ftruncateSync(this.idxFd as number, count * 8);
      fs.ftruncateSync(this.logFd as number, cutAt);
      if (this.opts.durable) fs.fsyncSync(this.logFd as number);
    });
    this._count = count;
    this.fileCount = count;
    this.extra = [];
    this.logSize = cutAt;
    this.dirtyTail = false;
    // A scan that had passed the cut goes on from it (the terms appended there next are new).
    for (const cur of this.scans) {
      if (cur.next > count + 1) {
        cur.next = count + 1;
        cur.pos = cutAt;
      }
      if (cur.damage && cur.damage.n > count) cur.damage = undefined;
    }
    return aside;
  }

  /** Full check of every record and index entry. firstBad = first term that is not intact. */
  verifyAll(): { ok: boolean; firstBad?: number } {
    if (this.logFd === null) return this._count === 0 ? { ok: true } : { ok: false, firstBad: 1 };
    const size = fs.fstatSync(this.logFd).size;
    const res = scanLog(this.logFd, Math.min(size, this.logSize), LOG_HEADER_SIZE, 1, this.format);
    let firstBad: number | undefined;
    if (res.count < this._count) firstBad = res.count + 1;
    else if (this.writable && size !== this.logSize) firstBad = this._count + 1; // bytes past the last term (a reader may see a writer's new ones)
    const upTo = Math.min(res.count, this._count);
    for (let n = 1; n <= upTo && (firstBad === undefined || n < firstBad); n += 4096) {
      const hi = Math.min(upTo, n + 4095);
      const offs = this.offsets(n, hi);
      for (let i = 0; i < offs.length; i++) {
        if (offs[i] !== res.offsets[n - 1 + i]) {
          firstBad = firstBad === undefined ? n + i : Math.min(firstBad, n + i);
          break;
        }
      }
    }
    return firstBad === undefined ? { ok: true } : { ok: false, firstBad };
  }

  sizes(): { log: number; idx: number } {
    // The writer knows both sizes (8 index bytes per term); asking the file system here took ~5 ms a
    // call on the job thread, right after an append's fsync.
    if (this.writable && this.logFd !== null) return { log: this.logSize, idx: this._count * 8 };
    const size = (fd: number | null) => (fd === null ? 0 : fs.fstatSync(fd).size);
    return { log: size(this.logFd), idx: size(this.idxFd) };
  }

  close(): void {
    for (const fd of [this.logFd, this.idxFd]) {
      if (fd !== null) {
        try {
          fs.closeSync(fd);
        } catch {
          /* already closed */
        }
      }
    }
    this.logFd = null;
    this.idxFd = null;
    this.scans.clear();
  }
}

function describeProblem(p: ScanProblem, size: number): string {
  return p.kind === 'torn'
    ? `terms.log has a torn tail of ${size - p.offset} bytes after term ${p.n - 1}`
    : `terms.log: the record of term ${p.n} at byte ${p.offset} is damaged (${p.reason}); terms 1..${p.n - 1} are intact`;
}
