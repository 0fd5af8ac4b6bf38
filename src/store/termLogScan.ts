// Scanning terms.log: reading it sequentially and verifying every record (on open, on repair, and
// slice by slice in the background: LogScan), and telling damage from a torn tail. Reads only, through
// file descriptors the TermLog (termLog.ts) opened; the record format is in termRecord.ts.
import { StoreError } from './errors';
import { io, readFully } from './fsutil';
import {
  LOG_HEADER_SIZE,
  RECORD_MAGIC,
  RECORD_OVERHEAD,
  RECORD_PREFIX,
  type LogFormat,
  checkRecord,
  classifyShortRecord,
  maxDigits,
} from './termRecord';

/** Bytes one sequential read of the log takes at a time. */
export const READ_CHUNK = 1 << 20;

/** Sliding read window over a file so scans cost one read per MiB, with bounded memory. */
export class SyncWindow {
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;
  private len = 0;

  constructor(
    private readonly fd: number,
    private readonly size: number,
    private readonly chunk = READ_CHUNK,
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
    const prefix = w.get(pos, RECORD_PREFIX);
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

/** Most bytes one scan step reads, whatever it is asked (its buffer is kept between steps). */
const MAX_SCAN_SLICE = 64 << 20;

/** Why a record cut short by the end of the file (or with an impossible length) is not a term. */
function shortRecordReason(rec: Buffer, n: number): string {
  if (rec.length >= 4 && rec.readUInt32LE(0) !== RECORD_MAGIC) return 'the record magic is wrong';
  if (rec.length >= 8 && rec.readUInt32LE(4) !== n) return `it claims to be term ${rec.readUInt32LE(4)}`;
  if (rec.length >= RECORD_PREFIX) {
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

/** Where a LogScan is: kept by the TermLog, which moves it back when the log is cut. */
export interface ScanCursor {
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

/** Length of the verified record of term n at `off` in the log `fd` (as of `size` bytes), or 0 if it is not there. */
export function verifiedLengthAt(fd: number, off: number, n: number, size: number, format: LogFormat): number {
  if (!(off >= LOG_HEADER_SIZE && off + RECORD_OVERHEAD <= size)) return 0;
  const prefix = Buffer.alloc(RECORD_PREFIX);
  if (readFully(fd, prefix, 0, RECORD_PREFIX, off) !== RECORD_PREFIX) return 0;
  const L = prefix.readUInt32LE(8);
  if (L < 1 || L > maxDigits(n) || off + RECORD_OVERHEAD + L > size) return 0;
  const rec = Buffer.alloc(RECORD_OVERHEAD + L);
  if (readFully(fd, rec, 0, rec.length, off) !== rec.length) return 0;
  return checkRecord(rec, n, format) === null ? rec.length : 0;
}

/** The log a scan step reads: its descriptor, its size, its path (for errors) and its records' format. */
export interface ScanSource {
  readonly fd: number;
  readonly size: number;
  readonly logPath: string;
  readonly format: LogFormat;
}

/** What one scan step read: the verified records of terms first.., and why the one after them is damaged (or null). */
export interface SliceResult {
  first: number;
  offsets: number[];
  reason: string | null;
}

/**
 * One step of a LogScan: one read of up to maxBytes (at least one whole record) at cur.pos, verifying
 * records in order up to term `limit`. Moves `cur` past the verified ones; the caller checks their index
 * entries and keeps the damage.
 */
export function scanSlice(src: ScanSource, cur: ScanCursor, limit: number, maxBytes: number): SliceResult {
  const { fd, size, logPath, format } = src;
  // One read of up to maxBytes (at least one whole record) per step: bounded memory and time.
  const want = Math.min(size - cur.pos, Math.max(RECORD_PREFIX, Math.min(maxBytes, MAX_SCAN_SLICE)));
  if (cur.buf.length < want) cur.buf = Buffer.allocUnsafe(want);
  const got = io(`read ${logPath}`, () => readFully(fd, cur.buf, 0, want, cur.pos));
  const first = cur.next;
  const offsets: number[] = [];
  let at = 0;
  let reason: string | null = null;
  while (cur.next <= limit) {
    const n = cur.next;
    const pos = cur.pos + at;
    let rec: Buffer | null = null;
    let ownRead = false;
    if (at + RECORD_PREFIX <= got) {
      const L = cur.buf.readUInt32LE(at + 8);
      if (L >= 1 && L <= maxDigits(n) && at + RECORD_OVERHEAD + L <= got) rec = cur.buf.subarray(at, at + RECORD_OVERHEAD + L);
      else if (offsets.length === 0) {
        // The slice's first record does not fit in it (or its prefix is wrong): read it on its own.
        const len = L >= 1 && L <= maxDigits(n) ? Math.min(RECORD_OVERHEAD + L, size - pos) : Math.min(RECORD_PREFIX, size - pos);
        const own = Buffer.allocUnsafe(len);
        rec = own.subarray(0, io(`read ${logPath}`, () => readFully(fd, own, 0, len, pos)));
        ownRead = true;
      }
    } else if (offsets.length === 0) {
      rec = cur.buf.subarray(at, got);
    }
    if (rec === null) break; // the rest is for the next step
    reason = rec.length >= RECORD_PREFIX && rec.length === RECORD_OVERHEAD + rec.readUInt32LE(8) ? checkRecord(rec, n, format) : shortRecordReason(rec, n);
    if (reason !== null) break;
    offsets.push(pos);
    at += rec.length;
    cur.next++;
    if (ownRead) break; // that was this step's read
  }
  cur.pos += at;
  return { first, offsets, reason };
}

/** One line for the log's first problem (open reports it). */
export function describeProblem(p: ScanProblem, size: number): string {
  return p.kind === 'torn'
    ? `terms.log has a torn tail of ${size - p.offset} bytes after term ${p.n - 1}`
    : `terms.log: the record of term ${p.n} at byte ${p.offset} is damaged (${p.reason}); terms 1..${p.n - 1} are intact`;
}
