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
  RECORD_OVERHEAD,
  Term,
  type LogFormat,
  checkLogHeader,
  checkRecord,
  maxDigits,
} from './termLog';

const CHUNK = 1 << 20;

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
      if (codeOf(e) && !(e instanceof StoreError)) {
        throw new StoreError('UNUSABLE_DIR', `cannot read ${this.dir}: ${(e as Error).message}`, { cause: e });
      }
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
   * Terms from..to (inclusive), clamped to what is stored. Each record is verified;
   * reading stops at the first bad or torn one (a writer may be mid-append or mid-repair).
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
    const available = await this.countNow();
    to = Math.min(to, available);
    if (to < from || !this.log || !this.idx) return [];
    const n = to - from + 1;
    const ib = Buffer.alloc(n * 8);
    const got = Math.floor((await readAt(this.idx, ib, n * 8, (from - 1) * 8)) / 8);
    const logSize = (await this.log.stat()).size;
    const w = new AsyncWindow(this.log, logSize);
    const out: T[] = [];
    let digits = 0;
    for (let i = 0; i < got; i++) {
      const term = from + i;
      const off = ib.readUInt32LE(i * 8) + ib.readUInt32LE(i * 8 + 4) * 0x100000000;
      const prefix = off >= LOG_HEADER_SIZE ? await w.get(off, 12) : null;
      if (!prefix) break;
      const L = prefix.readUInt32LE(8);
      if (L < 1 || L > maxDigits(term)) break;
      const rec = await w.get(off, RECORD_OVERHEAD + L);
      if (!rec || checkRecord(rec, term, this.logFormat) !== null) break;
      out.push(make(term, rec, L));
      digits += L;
      if (digits >= budget) break;
    }
    return out;
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
