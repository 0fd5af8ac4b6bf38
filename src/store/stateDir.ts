// Facade over one state directory: identity check, lock, recovery, terms and snapshots.
import { fs, type Stats } from './fileLayer';
import * as path from 'path';
import { StoreError } from './errors';
import { atomicWriteFile, errnoCode, freePath, fsyncDir, io, ioError, timestamp } from './fsutil';
import { LOCK_FILE, WriterLock, judgeLeftover, ownedTempPath, type LeaseOptions, type StaleLock } from './lock';
import { Snapshot, SnapshotHeader, SnapshotStore } from './snapshot';
import { TermLog } from './termLog';
import type { LogScan } from './termLogScan';
import { EncodedTerms, IDX_FILE, LOG_FILE, Term, type NewTerm } from './termRecord';
import { PendingTerms } from './pendingTerms';

export interface StoreLogger {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface StateDirOptions {
  mode?: 'write' | 'read';
  logger?: StoreLogger;
  /** fsync appends and atomic writes (default true). */
  durable?: boolean;
  /** Logs smaller than this are fully CRC-checked on every open (default 4 MiB); larger ones at the tail only. */
  fullCheckBelowBytes?: number;
  /** The writer lock's lease (default LEASE_MS, renewed every RENEW_MS); short ones are for tests. */
  lockLease?: LeaseOptions;
}

export const STATE_FILE = 'STATE';
export const STATE_MAGIC = 'tangent-numbers-state';
export const STATE_FORMAT_VERSION = 1;
export const STATE_SEQUENCE = 'A000182';
const DEFAULT_FULL_CHECK_BELOW = 4 << 20;

const silent: StoreLogger = { info() {}, warn() {} };

/** Checks the directory's identity without writing anything. */
function checkIdentity(dir: string, mode: 'write' | 'read'): 'ready' | 'empty' {
  let st: Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw new StoreError('UNUSABLE_DIR', `cannot use ${dir}: ${(e as Error).message}`);
    if (mode === 'read') throw new StoreError('UNUSABLE_DIR', `${dir} does not exist`);
    try {
      const first = fs.mkdirSync(dir, { recursive: true });
      // A new directory's name is durable only once its parent is synced: without that, a power loss
      // could take the whole state directory, every term fsynced into it included.
      for (let d = dir; first !== undefined; d = path.dirname(d)) {
        fsyncDir(path.dirname(d));
        if (d === first || path.dirname(d) === d) break;
      }
      st = fs.statSync(dir);
    } catch (e2) {
      throw ioError(e2, `create ${dir}`);
    }
  }
  if (!st.isDirectory()) throw new StoreError('UNUSABLE_DIR', `${dir} is not a directory`);
  if (mode === 'write') {
    try {
      fs.accessSync(dir, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK);
    } catch (e) {
      throw new StoreError('UNUSABLE_DIR', `${dir} is not writable: ${(e as Error).message}`);
    }
  }
  const names = io(`list ${dir}`, () => fs.readdirSync(dir));
  if (!names.includes(STATE_FILE)) {
    // A lone STATE temp file is an interrupted initialisation of ours, not a foreign file.
    if (names.some((n) => !n.startsWith(`${STATE_FILE}.tmp`))) throw foreignError(dir);
    return 'empty';
  }
  const file = path.join(dir, STATE_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'EACCES' || errnoCode(e) === 'EPERM') throw ioError(e, `read ${file}`);
    throw new StoreError('FOREIGN', `${dir} is not a Tangent Numbers state directory (its STATE file cannot be read)`);
  }
  checkStateText(dir, text);
  return 'ready';
}

export function foreignError(dir: string): StoreError {
  return new StoreError(
    'FOREIGN',
    `${dir} is not a Tangent Numbers state directory (it holds other files); choose an empty or new directory`,
  );
}

/** Validates the text of a STATE file; throws FOREIGN / VERSION / SEQUENCE. */
export function checkStateText(dir: string, text: string): void {
  type StateJson = { magic?: unknown; formatVersion?: unknown; sequence?: unknown };
  let v: StateJson | null = null;
  try {
    v = JSON.parse(text) as StateJson;
  } catch {
    /* handled below */
  }
  if (!v || typeof v !== 'object' || v.magic !== STATE_MAGIC) {
    throw new StoreError(
      'FOREIGN',
      `${dir} is not a Tangent Numbers state directory (its STATE file is not ours); choose an empty or new directory`,
    );
  }
  if (v.formatVersion !== STATE_FORMAT_VERSION) {
    throw new StoreError(
      'VERSION',
      `${dir} was written by format version ${String(v.formatVersion)}; this build reads version ${STATE_FORMAT_VERSION}`,
    );
  }
  if (v.sequence !== STATE_SEQUENCE) {
    throw new StoreError('SEQUENCE', `${dir} holds sequence ${String(v.sequence)}, not ${STATE_SEQUENCE}`);
  }
}

function stateContent(): string {
  return JSON.stringify({ magic: STATE_MAGIC, formatVersion: STATE_FORMAT_VERSION, sequence: STATE_SEQUENCE }) + '\n';
}

export class StateDir {
  readonly dir: string;
  readonly mode: 'write' | 'read';
  /** Human-readable lines of what was recovered or repaired (at open and later). */
  readonly recoveries: string[] = [];
  private readonly logger: StoreLogger;
  private readonly durable: boolean;
  private readonly fullCheckBelowBytes: number;
  private readonly lockLease: LeaseOptions | undefined;
  private lock: WriterLock | null = null;
  private log: TermLog | null = null;
  private snaps: SnapshotStore | null = null;
  private pendingTerms: PendingTerms | null = null;
  private closed = false;

  private constructor(dir: string, opts: StateDirOptions) {
    this.dir = dir;
    this.mode = opts.mode ?? 'write';
    this.logger = opts.logger ?? silent;
    this.durable = opts.durable !== false;
    this.fullCheckBelowBytes = opts.fullCheckBelowBytes ?? DEFAULT_FULL_CHECK_BELOW;
    this.lockLease = opts.lockLease;
  }

  /**
   * Opens (creating if needed, in write mode) and recovers a state directory.
   * Throws StoreError FOREIGN / VERSION / SEQUENCE (nothing on disk changed),
   * LOCKED, UNUSABLE_DIR, NO_SPACE.
   */
  static open(dir: string, opts: StateDirOptions = {}): StateDir {
    const sd = new StateDir(path.resolve(dir), opts);
    const identity = checkIdentity(sd.dir, sd.mode);
    try {
      if (sd.mode === 'write') {
        if (identity === 'empty') sd.initialise();
        sd.lock = WriterLock.acquire(sd.dir, (l) => sd.report(l), sd.lockLease);
        sd.removeLeftovers();
      }
      sd.openContents();
    } catch (e) {
      sd.closeQuietly();
      throw e;
    }
    sd.logger.info(
      `opened ${sd.dir} (${sd.mode}): ${sd.count} terms` +
        (sd.latestSnapshot ? `, snapshot at term ${sd.latestSnapshot.header.position}` : ''),
    );
    return sd;
  }

  private report(line: string): void {
    this.recoveries.push(line);
    this.logger.warn(line);
  }

  private initialise(): void {
    // Leftovers of an interrupted initialisation, unless another process may be initialising right now
    // (judged by the owner its temp file's name carries: this host's pid, or its age).
    for (const n of io(`list ${this.dir}`, () => fs.readdirSync(this.dir))) {
      if (!n.startsWith(`${STATE_FILE}.tmp`)) continue;
      const v = judgeLeftover(this.dir, n);
      if (v === 'holder' || v === 'remove') io(`remove ${n}`, () => fs.rmSync(path.join(this.dir, n), { force: true }));
    }
    const file = path.join(this.dir, STATE_FILE);
    atomicWriteFile(file, stateContent(), { durable: this.durable, tmp: ownedTempPath(file) });
    this.logger.info(`initialised a new state directory ${this.dir}`);
  }

  /**
   * Temp files are never trusted: they are what a crash left of an unfinished atomic write. Those of
   * another process that may still be at work (lock takeover, initialisation; told by the owner their
   * names carry, or by their age) are left alone, as are takeover sentinels of live racers.
   */
  private removeLeftovers(): void {
    for (const name of io(`list ${this.dir}`, () => fs.readdirSync(this.dir))) {
      const v = judgeLeftover(this.dir, name, this.lock?.token);
      if (v !== 'holder' && v !== 'remove') continue;
      const file = path.join(this.dir, name);
      try {
        if (!fs.lstatSync(file).isFile()) continue;
        fs.unlinkSync(file);
        this.report(
          name.startsWith(`${LOCK_FILE}.takeover.`)
            ? `removed leftover lock file ${name} (from a process that died while taking over the lock)`
            : `removed leftover temporary file ${name} (from an interrupted write; never trusted)`,
        );
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') throw ioError(e, `remove ${file}`);
      }
    }
  }

  private openContents(): void {
    const mode = this.mode;
    this.log = TermLog.open(this.dir, {
      mode,
      durable: this.durable,
      fullCheckBelowBytes: this.fullCheckBelowBytes,
      report: (l) => this.report(l),
      info: (l) => this.logger.info(l),
    });
    this.snaps = new SnapshotStore(this.dir, {
      mode,
      durable: this.durable,
      report: (l) => this.report(l),
      info: (l) => this.logger.info(l),
    });
    this.snaps.load(this.log.count);
  }

  private get termLog(): TermLog {
    if (this.closed || !this.log) throw new Error(`state directory ${this.dir} is closed`);
    return this.log;
  }

  private get snapshots(): SnapshotStore {
    if (this.closed || !this.snaps) throw new Error(`state directory ${this.dir} is closed`);
    return this.snaps;
  }

  private writable(): TermLog {
    if (this.mode !== 'write') throw new Error(`state directory ${this.dir} was opened read-only`);
    const log = this.termLog;
    (this.lock as WriterLock).assertHeld();
    return log;
  }

  /** Token of the writer lock held by this instance (undefined in read mode). */
  get lockToken(): string | undefined {
    return this.lock?.token;
  }

  /** The stale lock this writer took over when it opened (its holder ended uncleanly), if any. */
  get tookOverLock(): StaleLock | undefined {
    return this.lock?.tookOver;
  }

  /** Number of terms in the log (terms 1..count). */
  get count(): number {
    return this.termLog.count;
  }

  /** Newest valid snapshot; never ahead of the log (position <= count). */
  get latestSnapshot(): Snapshot | null {
    return this.snapshots.latest;
  }

  /**
   * Appends terms count+1, count+2, … in one write (+ fsync when durable). All or nothing. They may come
   * encoded ahead (encodeTerms: checked and checksummed while earlier terms were still being computed).
   */
  appendTerms(terms: readonly NewTerm[] | EncodedTerms): void {
    this.writable().append(terms);
  }

  /** Terms checked and checksummed for this directory's log, ahead of their append (see appendTerms). */
  encodeTerms(terms: readonly NewTerm[]): EncodedTerms {
    return EncodedTerms.of(terms, this.writable().logFormat);
  }

  readTerm(n: number): string {
    return this.termLog.readTerm(n);
  }

  readRange(from: number, to: number): Term[] {
    return this.termLog.readRange(from, to);
  }

  *iterate(from = 1, to: number = this.count): Generator<Term> {
    yield* this.termLog.iterate(from, to);
  }

  /** Terms finished inside blocks still in progress (pending.log; see PendingTerms), opened on first use. */
  get pending(): PendingTerms {
    if (this.closed) throw new Error(`state directory ${this.dir} is closed`);
    if (this.mode === 'write') this.writable();
    this.pendingTerms ??= PendingTerms.open(this.dir, { durable: this.durable, readOnly: this.mode === 'read', report: (l) => this.report(l) });
    return this.pendingTerms;
  }

  /** Atomically writes a new generation; keeps the newest two. `position` must be <= count. */
  writeSnapshot(header: SnapshotHeader, payload: Uint8Array | readonly Uint8Array[]): Snapshot {
    const log = this.writable();
    return this.snapshots.write(header, payload, log.count);
  }

  bytesStored(): number {
    const s = this.termLog.sizes();
    return s.log + s.idx + this.snapshots.bytes() + (this.pendingTerms?.bytes ?? 0);
  }

  /**
   * Cuts the log back to `count` terms, moving the removed bytes to terms.log.corrupt-<time>.
   * Snapshots ahead of the new end are set aside too (they were built on the removed terms).
   */
  truncateTo(count: number): void {
    const log = this.writable();
    log.truncateTo(count);
    this.snapshots.load(log.count);
  }

  /**
   * Begins a verified scan of the whole log (terms 1..count as of now), to be run a slice at a time
   * (`step(maxBytes)`) while blocks compute: it finds damage that opening a large log does not look for
   * (logs of fullCheckBelowBytes or more are checked only at their tail). Damage found goes to healFrom.
   */
  beginLogScan(): LogScan {
    return this.termLog.beginScan();
  }

  /**
   * Sets the damaged record of term n and everything after it aside as terms.log.corrupt-<time> (never
   * deleted), keeps terms 1..n-1, and sets aside the snapshots ahead of them (they were built on the
   * removed terms); records a recovery line saying so. Returns the path of the set-aside bytes.
   * `reason` says what is wrong with term n's record (LogScanStep.damage.reason, or a read's CORRUPT).
   */
  healFrom(n: number, reason: string): string {
    const log = this.writable();
    const aside = log.healFrom(n, reason);
    this.snapshots.load(log.count);
    return aside;
  }

  /**
   * "Start over": moves terms, index, snapshots and set-aside files into
   * `<dir>/archive-<time>/` (with a copy of STATE, so it stays openable) and starts empty.
   */
  archive(): string {
    this.writable();
    const target = freePath(path.join(this.dir, `archive-${timestamp()}`));
    io(`create ${target}`, () => fs.mkdirSync(target));
    // Its name durable before anything moves into it: a power loss must not keep the moves but lose the folder.
    if (this.durable) fsyncDir(this.dir);
    (this.log as TermLog).close();
    this.pendingTerms?.close();
    this.pendingTerms = null;
    try {
      io(`copy STATE to ${target}`, () => {
        const copy = path.join(target, STATE_FILE);
        fs.copyFileSync(path.join(this.dir, STATE_FILE), copy);
        // The directory syncs below make names durable, not data: an empty STATE would leave the archive unopenable.
        if (this.durable) {
          const fd = fs.openSync(copy, 'r+');
          try {
            fs.fsyncSync(fd);
          } finally {
            fs.closeSync(fd);
          }
        }
      });
      const names = io(`list ${this.dir}`, () => fs.readdirSync(this.dir));
      const keep = (n: string) =>
        n === STATE_FILE || n.startsWith(LOCK_FILE) || n.startsWith('archive-') || n === LOG_FILE || n === IDX_FILE;
      // Snapshots first and the log last: a crash part-way leaves a log without snapshots, which is consistent.
      const order = [...names.filter((n) => !keep(n)), IDX_FILE, LOG_FILE].filter((n) => names.includes(n));
      for (const n of order) {
        io(`move ${n} to ${target}`, () => fs.renameSync(path.join(this.dir, n), path.join(target, n)));
      }
      if (this.durable) {
        fsyncDir(target);
        fsyncDir(this.dir);
      }
      this.report(`archived the previous state to ${path.basename(target)} and started over`);
    } finally {
      this.log = null;
      this.snaps = null;
      this.openContents();
    }
    return target;
  }

  verifyAll(): { ok: boolean; firstBad?: number } {
    return this.termLog.verifyAll();
  }

  /** Closes files and releases the lock (if it is still ours). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pendingTerms?.close();
    this.pendingTerms = null;
    this.log?.close();
    this.log = null;
    this.snaps = null;
    const lock = this.lock;
    this.lock = null;
    lock?.release();
  }

  private closeQuietly(): void {
    try {
      this.close();
    } catch {
      /* keep the original error */
    }
  }
}
