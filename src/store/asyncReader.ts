// Read-only access for the extension host: fs.promises only, never blocks the thread,
// tolerates a writer appending (or recovering) in another thread or process.
import { promises as fsp } from 'fs';
import type { FileHandle } from 'fs/promises';
import * as path from 'path';
import { StoreError } from './errors';
import { STATE_FILE, checkStateText, foreignError } from './stateDir';
import {
  IDX_FILE,
  LOG_FILE,
  LOG_HEADER_SIZE,
  CURRENT_LOG_FORMAT,
  READABLE_LOG_VERSIONS,
  RECORD_MAGIC,
  RECORD_OVERHEAD,
  Term,
  type LogFormat,
  checkLogHeader,
  checkRecord,
  maxDigits,
} from './termRecord';
import { damagedTerm } from './termLogScan';
import { ioError } from './fsutil';

const CHUNK = 1 << 20;
/**
 * Waits before a record that looks damaged is read again: a writer cutting the log back (a failed append's
 * rollback, a recovery) truncates the log and the index one after the other, and a read in between sees
 * index entries past the log's end. Only a record that stays wrong is damage.
 */
const RETRY_WAITS_MS = [20, 100];
/** How often a read that failed while the files were changing is tried again (each after RETRY_WAITS_MS[0]). */
const MAX_MOVED_RETRIES = 100;

/** A stored term with its digits as ASCII bytes. */
export interface TermBytes {
  n: number;
  bytes: Uint8Array;
}

function codeOf(e: unknown): string | undefined {
  return (e as { code?: string } | null)?.code;
}

async function statOrNull(p: string) {
  try {
    return await fsp.stat(p);
  } catch (e) {
    if (codeOf(e) === 'ENOENT') return null;
    throw new StoreError('UNUSABLE_DIR', `cannot read ${p}: ${(e as Error).message}`, { cause: e });
  }
}

async function readAt(h: FileHandle, buf: Buffer, len: number, pos: number): Promise<number> {
  let done = 0;
  while (done < len) {
    const { bytesRead } = await h.read(buf, done, len - done, pos + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

class AsyncWindow {
  private buf = Buffer.alloc(0);
  private start = 0;
  private len = 0;
  constructor(
    private readonly h: FileHandle,
    private readonly size: number,
  ) {}

  async get(pos: number, len: number): Promise<Buffer | null> {
    if (pos < 0 || pos + len > this.size) return null;
    if (pos >= this.start && pos + len <= this.start + this.len) {
      return this.buf.subarray(pos - this.start, pos - this.start + len);
    }
    const want = Math.min(Math.max(len, CHUNK), this.size - pos);
    if (this.buf.length < want || this.buf.length > 4 * Math.max(want, CHUNK)) this.buf = Buffer.allocUnsafe(want);
    const got = await readAt(this.h, this.buf, want, pos);
    this.start = pos;
    this.len = got;
    return got < len ? null : this.buf.subarray(0, len);
  }
}

export class AsyncTermReader {
  readonly dir: string;
  private identityOk = false;
  private log: FileHandle | null = null;
  /** The open log's record checksum (set with `log`). */
  private logFormat: LogFormat = CURRENT_LOG_FORMAT;
  private idx: FileHandle | null = null;
  private logId = '';
  private idxId = '';
  private closed = false;
  /** Operations run one at a time so a refresh never closes a handle another call is reading. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(dir: string) {
    this.dir = dir;
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const p = this.queue.then(op).catch((e: unknown) => {
      // OS errors (EIO, EACCES, …) surface as StoreError like everything else the store throws.
      if (codeOf(e) && !(e instanceof StoreError)) throw ioError(e, `read ${this.dir}`);
      throw e;
    });
    this.queue = p.catch(() => undefined);
    return p;
  }

  /**
   * Validates STATE and the log header (FOREIGN / VERSION / SEQUENCE / CORRUPT).
   * A directory that does not exist yet or is still empty reads as 0 terms until a writer creates it.
   */
  static async open(dir: string): Promise<AsyncTermReader> {
    const r = new AsyncTermReader(path.resolve(dir));
    await r.serial(() => r.refresh(true));
    return r;
  }

  private async checkIdentity(): Promise<void> {
    const st = await statOrNull(this.dir);
    if (!st) return;
    if (!st.isDirectory()) throw new StoreError('UNUSABLE_DIR', `${this.dir} is not a directory`);
    let text: string;
    try {
      text = await fsp.readFile(path.join(this.dir, STATE_FILE), 'utf8');
    } catch (e) {
      if (codeOf(e) !== 'ENOENT') throw new StoreError('FOREIGN', `${this.dir} is not a Tangent Numbers state directory (its STATE file cannot be read)`);
      const names = await fsp.readdir(this.dir).catch((e2: Error) => {
        throw new StoreError('UNUSABLE_DIR', `cannot read ${this.dir}: ${e2.message}`, { cause: e2 });
      });
      if (names.some((n) => !n.startsWith(`${STATE_FILE}.tmp`))) throw foreignError(this.dir);
      return; // not initialised yet
    }
    checkStateText(this.dir, text);
    this.identityOk = true;
  }

  /** (Re)opens the files if they appeared or were replaced (index rebuilt, log recovered, archive). */
  private async refresh(strict: boolean): Promise<void> {
    if (this.closed) throw new Error(`reader of ${this.dir} is closed`);
    if (!this.identityOk) {
      await this.checkIdentity();
      if (!this.identityOk) return;
    }
    const logPath = path.join(this.dir, LOG_FILE);
    const idxPath = path.join(this.dir, IDX_FILE);
    const [ls, is] = await Promise.all([statOrNull(logPath), statOrNull(idxPath)]);
    const id = (s: { dev: number; ino: number }) => `${s.dev}:${s.ino}`;
    if (!ls || id(ls) !== this.logId) {
      await this.closeHandles();
      if (!ls) return;
      let h: FileHandle;
      try {
        h = await fsp.open(logPath, 'r');
      } catch (e) {
        if (codeOf(e) === 'ENOENT') return; // replaced right now: next call picks up the new one
        throw new StoreError('UNUSABLE_DIR', `cannot read ${logPath}: ${(e as Error).message}`, { cause: e });
      }
      const head = Buffer.alloc(LOG_HEADER_SIZE);
      const got = await readAt(h, head, LOG_HEADER_SIZE, 0);
      const hc = checkLogHeader(head.subarray(0, got));
      if (!hc.ok) {
        await h.close();
        if (!strict) return; // read as empty until the writer repairs it
        if ('version' in hc) {
          throw new StoreError('VERSION', `${logPath} was written by log format version ${hc.version}; ${READABLE_LOG_VERSIONS}`);
        }
        throw new StoreError('CORRUPT', `${logPath} is unreadable (${hc.corrupt}); opening it for writing sets it aside`);
      }
      this.log = h;
      this.logFormat = hc.format;
      this.logId = id(await h.stat());
    }
    if (!is || id(is) !== this.idxId) {
      if (this.idx) await this.idx.close();
      this.idx = null;
      this.idxId = '';
      if (!is) return;
      try {
        const h = await fsp.open(idxPath, 'r');
        this.idx = h;
        this.idxId = id(await h.stat());
      } catch (e) {
        if (codeOf(e) !== 'ENOENT') throw new StoreError('UNUSABLE_DIR', `cannot read ${idxPath}: ${(e as Error).message}`, { cause: e });
      }
    }
  }

  /** Terms available, from the index size (re-checked on every call). */
  count(): Promise<number> {
    return this.serial(() => this.countNow());
  }

  private async countNow(): Promise<number> {
    await this.refresh(false);
    if (!this.idx || !this.log) return 0;
    return Math.floor((await this.idx.stat()).size / 8);
  }

  /**
   * Terms from..to (inclusive), clamped to what is stored. Each record is verified. A damaged record fails
   * the read with StoreError CORRUPT naming the term (`term`), never a short answer: a record that looks
   * wrong is read again (after a short wait) first, for a writer may be cutting the log back right then.
   * A wrong index entry is no damage (the index is derived): the record is looked for where the one before it ends.
   * Fewer terms than asked come back only if the log holds fewer: `count()` at the time of the call, or a
   * writer cut it back meanwhile (a caller that needs them all checks the count it got; see exportTerms).
   */
  async readRange(from: number, to: number): Promise<Term[]> {
    return this.readRecords(from, to, (n, rec, L) => ({ n, digits: rec.toString('latin1', 12, 12 + L) }));
  }

  /**
   * readRange with each term's digits as ASCII bytes (a copy), for exports: no string is made of them.
   * Reading stops early (after at least one term) once `budget` digits are in hand, which bounds the
   * memory of a page of large terms.
   */
  async readRangeBytes(from: number, to: number, budget = Infinity): Promise<TermBytes[]> {
    return this.readRecords(from, to, (n, rec, L) => ({ n, bytes: Uint8Array.prototype.slice.call(rec, 12, 12 + L) }), budget);
  }

  private async readRecords<T>(from: number, to: number, make: (n: number, record: Buffer, digits: number) => T, budget = Infinity): Promise<T[]> {
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 1) {
      throw new RangeError(`readRange needs integers from >= 1 (got ${from}..${to})`);
    }
    return this.serial(() => this.readRecordsNow(from, to, make, budget));
  }

  private async readRecordsNow<T>(from: number, to: number, make: (n: number, record: Buffer, digits: number) => T, budget: number): Promise<T[]> {
    const out: T[] = [];
    let digits = 0;
    let next = from;
    /** Where the record of term `next` starts by the log itself: the end of the one read before it. */
    let expected: number | undefined;
    let moved = 0;
    for (let attempt = 0; ; attempt++) {
      const logId = this.logId;
      const available = await this.countNow();
      const before = await this.filesState();
      if (this.logId !== logId) expected = undefined; // another file now (archived, or set aside and begun anew)
      const hi = Math.min(to, available);
      if (next > hi || !this.log || !this.idx) return out;
      const n = hi - next + 1;
      const ib = Buffer.alloc(n * 8);
      const got = Math.floor((await readAt(this.idx, ib, n * 8, (next - 1) * 8)) / 8);
      const w = new AsyncWindow(this.log, (await this.log.stat()).size);
      let failure: string | undefined;
      for (let i = 0; i < n; i++) {
        const entry = i < got ? ib.readUInt32LE(i * 8) + ib.readUInt32LE(i * 8 + 4) * 0x100000000 : -1;
        let found = await this.recordAt(w, entry, next);
        if (typeof found === 'string') {
          const start = expected ?? (next === 1 ? LOG_HEADER_SIZE : await this.endOfRecord(w, next - 1));
          if (start !== undefined && start !== entry) {
            const there = await this.recordAt(w, start, next);
            if (typeof there !== 'string') found = there;
          }
        }
        if (typeof found === 'string') {
          failure = found;
          break;
        }
        out.push(make(next, found.record, found.length));
        digits += found.length;
        expected = found.end;
        next++;
        if (digits >= budget) return out;
      }
      if (failure === undefined) return out;
      // The files changed under this read (a writer appending, or cutting the log back): not damage, read again.
      // Damage is what a read sees while the files stand still.
      if (before !== (await this.filesState()) && moved < MAX_MOVED_RETRIES) {
        moved++;
        attempt--;
        await new Promise((r) => setTimeout(r, RETRY_WAITS_MS[0]));
        continue;
      }
      if (attempt >= RETRY_WAITS_MS.length) throw damagedTerm(next, path.join(this.dir, LOG_FILE), failure);
      await new Promise((r) => setTimeout(r, RETRY_WAITS_MS[attempt]));
    }
  }

  /** The log's and the index's size and modification time, as one string to compare. */
  private async filesState(): Promise<string> {
    if (!this.log || !this.idx) return '';
    const [l, i] = await Promise.all([this.log.stat({ bigint: true }), this.idx.stat({ bigint: true })]);
    return `${this.logId}:${l.size}:${l.mtimeNs}:${i.size}:${i.mtimeNs}`;
  }

  /** The verified record of term n at `off`, or why there is none. */
  private async recordAt(w: AsyncWindow, off: number, n: number): Promise<{ record: Buffer; length: number; end: number } | string> {
    const prefix = off >= LOG_HEADER_SIZE ? await w.get(off, 12) : null;
    if (!prefix) return off < 0 ? 'terms.idx has no entry for it' : 'its index entry points outside the record area';
    const L = prefix.readUInt32LE(8);
    if (prefix.readUInt32LE(0) !== RECORD_MAGIC) return 'the record magic is wrong';
    if (L < 1 || L > maxDigits(n)) return `its length ${L} is impossible`;
    const record = await w.get(off, RECORD_OVERHEAD + L);
    if (!record) return 'the file ends inside it';
    const bad = checkRecord(record, n, this.logFormat);
    return bad ?? { record, length: L, end: off + RECORD_OVERHEAD + L };
  }

  /** End of the verified record of term n where the index says it is, if it is there. */
  private async endOfRecord(w: AsyncWindow, n: number): Promise<number | undefined> {
    if (!this.idx || n < 1) return undefined;
    const b = Buffer.alloc(8);
    if ((await readAt(this.idx, b, 8, (n - 1) * 8)) < 8) return undefined;
    const found = await this.recordAt(w, b.readUInt32LE(0) + b.readUInt32LE(4) * 0x100000000, n);
    return typeof found === 'string' ? undefined : found.end;
  }

  private async closeHandles(): Promise<void> {
    const hs = [this.log, this.idx];
    this.log = null;
    this.idx = null;
    this.logId = '';
    this.idxId = '';
    for (const h of hs) if (h) await h.close().catch(() => undefined);
  }

  close(): Promise<void> {
    return this.serial(async () => {
      this.closed = true;
      await this.closeHandles();
    });
  }
}
