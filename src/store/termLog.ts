// The append-only log of finished terms (terms.log) and its derived offset index (terms.idx): open and
// recover, read, append, cut back. The record format is in termRecord.ts; scanning and verifying the log
// (and the background LogScan) in termLogScan.ts. Every file-system call goes through fileLayer's `fs`.
import { fs } from './fileLayer';
import * as path from 'path';
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
import {
  CURRENT_LOG_FORMAT,
  EncodedTerms,
  IDX_FILE,
  LOG_FILE,
  LOG_HEADER_SIZE,
  READABLE_LOG_VERSIONS,
  RECORD_OVERHEAD,
  RECORD_PREFIX,
  checkLogHeader,
  checkRecord,
  logHeader,
  maxDigits,
  offsetsBuffer,
  readU64,
  type LogFormat,
  type NewTerm,
  type Term,
} from './termRecord';
import {
  LogScan,
  READ_CHUNK,
  SyncWindow,
  damagedTerm,
  describeProblem,
  scanLog,
  scanSlice,
  verifiedLengthAt,
  type LogScanStep,
  type ScanCursor,
} from './termLogScan';

export interface TermLogOptions {
  mode: 'write' | 'read';
  durable: boolean;
  /** Logs smaller than this are fully verified on every open (cheap); larger ones only at the tail. */
  fullCheckBelowBytes: number;
  /** A recovery or repair (goes to `recoveries` and logger.warn). Callbacks: called without `this`. */
  report: (line: string) => void;
  info: (line: string) => void;
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
      const len = verifiedLengthAt(this.logFd, off, k0, size, this.format);
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
      const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, to - from));
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
      const w = new SyncWindow(this.logFd, this.logSize, hi === n ? 0 : READ_CHUNK);
      let bad: string | null = null;
      for (let i = 0; i < offs.length; i++, n++) {
        const off = offs[i];
        const prefix = off >= LOG_HEADER_SIZE ? io(`read ${this.logPath}`, () => w.get(off, RECORD_PREFIX)) : null;
        const L = prefix ? prefix.readUInt32LE(8) : 0;
        const rec = prefix && L >= 1 && L <= maxDigits(n) ? io(`read ${this.logPath}`, () => w.get(off, RECORD_OVERHEAD + L)) : null;
        bad = rec ? checkRecord(rec, n, this.format) : 'its index entry points outside the record area';
        if (bad !== null) break;
        const digits = (rec as Buffer).toString('latin1', RECORD_PREFIX, RECORD_PREFIX + L);
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
    return new LogScan(cursor.target, (maxBytes) => this.scanStep(cursor, maxBytes));
  }

  private scanStep(cur: ScanCursor, maxBytes: number): LogScanStep {
    if (!(maxBytes > 0)) throw new RangeError(`a scan step needs a positive byte budget (got ${maxBytes})`);
    if (cur.damage) return { done: true, verifiedThrough: cur.next - 1, damage: cur.damage };
    const limit = Math.min(cur.target, this._count);
    if (cur.finished || cur.next > limit) return this.endScan(cur);
    if (this.logFd === null) throw new Error(`the scan of ${this.logPath} cannot go on: the log was closed (or archived)`);
    const { first, offsets, reason } = scanSlice({ fd: this.logFd, size: this.logSize, logPath: this.logPath, format: this.format }, cur, limit, maxBytes);
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
    if (verifiedLengthAt(this.logFd as number, cutAt, count + 1, this.logSize, this.format) === 0) {
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
      const len = verifiedLengthAt(this.logFd as number, prev, n - 1, this.logSize, this.format);
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
