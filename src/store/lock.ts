// One-writer lock of a state directory: a LOCK file holding a JSON LockInfo, kept alive by a lease.
//
// The heartbeat is the LOCK file's mtime. The holder sets it, with its own clock, through an fd it has
// just read its own token from (futimes). Changing the mtime of the inode you have verified can never
// touch another holder's LOCK: the content of a LOCK inode never changes after it is written, and every
// new holder brings a new inode (O_EXCL create, or rename of a temp file). If our LOCK was renamed over
// between the check and the futimes, the futimes lands on the orphaned inode, which is harmless. Readers
// never see a half-updated heartbeat either, which an in-place rewrite of a JSON field could give them.
//
// A lock is stale when its process is known to be gone (same host: pid dead, pid reused, machine
// restarted), or, from any host, when its heartbeat is older than the lease the holder declared. The
// holder stops writing a renewal period before its lease runs out (see WriterLock.lapsed), so that by
// the time anyone may break a lease, its holder has already stopped.
//
// Breaking a stale lock is serialised per LOCK generation by a sentinel `LOCK.takeover.<key>.<k>`,
// created with O_EXCL (`key` names the stale LOCK: its token). Only its creator may replace LOCK, after
// re-reading it and finding the same stale lock. A sentinel whose creator died (same host: pid gone or
// reused) or that is older than SENTINEL_MAX_AGE_MS is passed over by moving on to k + 1; sentinel names
// are never deleted while their generation's LOCK is still on disk, so a racer can never delete or
// replace a sentinel another racer has just created (the ABA problem of "remove the stale one, create
// a new one"). Removing LOCK (release) takes the sentinel of its own generation too, so LOCK cannot vanish
// and be re-created under a takeover that has already checked it.
import * as crypto from 'crypto';
import * as fsp from 'fs/promises';
import * as os from 'os';
import * as path from 'path';
import { fs } from './fileLayer';
import { StoreError } from './errors';
import { errnoCode, fsyncDir, ioError, readFully, sleepSync, writeFully } from './fsutil';

export const LOCK_FILE = 'LOCK';
/** How long a holder's lease runs after its last heartbeat (unless the holder declared another one). */
export const LEASE_MS = 30_000;
/** How often the holder renews its heartbeat. */
export const RENEW_MS = 5_000;
/** Bounds of a lease a LOCK may declare. */
export const MIN_LEASE_MS = 100;
export const MAX_LEASE_MS = 60_000;
/** An unparsable LOCK younger than this may be a lock being written right now. */
export const YOUNG_LOCK_MS = 2_000;
/** A takeover sentinel older than this is abandoned, whoever made it (a takeover takes milliseconds). */
export const SENTINEL_MAX_AGE_MS = 5_000;
/** An owner-tagged temp file older than this is abandoned even if its owner cannot be judged (another host). */
export const TEMP_MAX_AGE_MS = 10 * 60_000;
/** Sentinels skipped for one LOCK generation before giving up (each one is a racer that died mid-takeover). */
const MAX_SENTINELS = 64;

export interface LockInfo {
  pid: number;
  hostname: string;
  /** When the holder took the lock (ISO 8601). */
  startedAt: string;
  token: string;
  /** The lease the holder renews within (ms); absent in older LOCKs, which get LEASE_MS. */
  leaseMs?: number;
  /** Linux: the holder process's start time, field 22 of /proc/<pid>/stat (clock ticks since boot). */
  procStart?: number;
  /** Linux: /proc/sys/kernel/random/boot_id of the holder's machine (a reboot changes it). */
  bootId?: string;
  /** Linux: the holder's pid namespace (readlink /proc/self/ns/pid); a pid means nothing in another one. */
  pidNs?: string;
}

/** A lock that was (or may be) taken over: whose it was, why it is stale, and when its holder was last alive. */
export interface StaleLock {
  /** null for an unreadable LOCK. */
  holder: LockInfo | null;
  why: string;
  /** ms since epoch: the holder's last heartbeat (the LOCK's mtime). */
  lastAliveAt: number;
}

export type LockStatus =
  | { kind: 'free' }
  | { kind: 'held'; holder: LockInfo; since: string; heartbeatAgeMs: number; leaseExpiresInMs: number; thisHost: boolean }
  | ({ kind: 'stale' } & StaleLock);

/** Lease of a WriterLock (defaults LEASE_MS / RENEW_MS); short ones are for tests. */
export interface LeaseOptions {
  leaseMs?: number;
  renewMs?: number;
}

// ---- this process and others ----

export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM'; // exists, owned by someone else
  }
}

/**
 * Parses /proc/<pid>/stat: the state (field 3) and start time (field 22). Field 2 is the command name in
 * parentheses and may itself contain spaces and parentheses, so the fields are counted after the last ')'.
 */
export function parseProcStat(text: string): { state: string; startTicks: number } | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const rest = text.slice(close + 1).trim().split(/\s+/); // rest[0] is field 3
  const state = rest[0];
  const start = rest[22 - 3];
  if (!state || start === undefined || !/^\d+$/.test(start)) return undefined;
  return { state, startTicks: Number(start) };
}

const LINUX = process.platform === 'linux';
const BOOT_ID_FILE = '/proc/sys/kernel/random/boot_id';

/** The start time of process `pid` on this machine (Linux; clock ticks since boot), or undefined. */
export function processStartTicks(pid: number): number | undefined {
  return LINUX ? readProcStatSync(pid)?.startTicks : undefined;
}

function readProcStatSync(pid: number): { state: string; startTicks: number } | undefined {
  try {
    return parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return undefined;
  }
}

async function readProcStat(pid: number): Promise<{ state: string; startTicks: number } | undefined> {
  try {
    return parseProcStat(await fsp.readFile(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return undefined;
  }
}

/** Who this process is, as a LOCK records it. */
interface SelfIds {
  pid: number;
  procStart?: number;
  bootId?: string;
  pidNs?: string;
  /** ms since epoch; a LOCK with our pid written before this is an earlier process's (without procStart). */
  processStartMs: number;
}

const processStartMs = Date.now() - process.uptime() * 1000;
let selfIds: SelfIds | undefined;

function selfIdsSync(): SelfIds {
  if (selfIds) return selfIds;
  const ids: SelfIds = { pid: process.pid, processStartMs };
  if (LINUX) {
    ids.procStart = readProcStatSync(process.pid)?.startTicks;
    try {
      ids.bootId = fs.readFileSync(BOOT_ID_FILE, 'utf8').trim() || undefined;
    } catch {
      /* not readable: no reboot detection */
    }
    try {
      ids.pidNs = fs.readlinkSync('/proc/self/ns/pid');
    } catch {
      /* not readable: pids are compared as on one namespace */
    }
  }
  return (selfIds = ids);
}

async function selfIdsAsync(): Promise<SelfIds> {
  if (selfIds) return selfIds;
  const ids: SelfIds = { pid: process.pid, processStartMs };
  if (LINUX) {
    ids.procStart = (await readProcStat(process.pid))?.startTicks;
    ids.bootId = (await fsp.readFile(BOOT_ID_FILE, 'utf8').catch(() => '')).trim() || undefined;
    ids.pidNs = await fsp.readlink('/proc/self/ns/pid').catch(() => undefined);
  }
  return (selfIds = ids);
}

/** Liveness of a pid on this machine; a zombie counts as dead. */
interface Probe {
  alive: boolean;
  procStart?: number;
}

function probeSync(pid: number): Probe {
  if (!isPidAlive(pid)) return { alive: false };
  const st = LINUX ? readProcStatSync(pid) : undefined;
  if (st && (st.state === 'Z' || st.state === 'X')) return { alive: false };
  return { alive: true, procStart: st?.startTicks };
}

async function probeAsync(pid: number): Promise<Probe> {
  if (!isPidAlive(pid)) return { alive: false };
  const st = LINUX ? await readProcStat(pid) : undefined;
  if (st && (st.state === 'Z' || st.state === 'X')) return { alive: false };
  return { alive: true, procStart: st?.startTicks };
}

// ---- reading and judging a LOCK (or a sentinel, which has the same shape) ----

interface FileRead {
  text: string;
  mtimeMs: number;
  ino: number;
  size: number;
}

const MAX_LOCK_BYTES = 4096;

/** Content and mtime of one inode (read through one fd, so they belong together); undefined if absent. */
function readSmallSync(file: string): FileRead | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw ioError(e, `read ${file}`);
  }
  try {
    const st = fs.fstatSync(fd);
    const buf = Buffer.alloc(Math.min(st.size, MAX_LOCK_BYTES));
    const n = readFully(fd, buf, 0, buf.length, 0);
    return { text: buf.subarray(0, n).toString('utf8'), mtimeMs: st.mtimeMs, ino: st.ino, size: st.size };
  } catch (e) {
    throw ioError(e, `read ${file}`);
  } finally {
    fs.closeSync(fd);
  }
}

async function readSmall(file: string): Promise<FileRead | undefined> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const st = await fh.stat();
    const buf = Buffer.alloc(Math.min(st.size, MAX_LOCK_BYTES));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return { text: buf.subarray(0, bytesRead).toString('utf8'), mtimeMs: st.mtimeMs, ino: st.ino, size: st.size };
  } finally {
    await fh.close();
  }
}

function parseLock(text: string): LockInfo | null {
  try {
    const v = JSON.parse(text) as Partial<Record<keyof LockInfo, unknown>>;
    if (
      v &&
      typeof v === 'object' &&
      Number.isInteger(v.pid) &&
      (v.pid as number) > 0 &&
      typeof v.hostname === 'string' &&
      typeof v.token === 'string'
    ) {
      const info: LockInfo = { pid: v.pid as number, hostname: v.hostname, startedAt: typeof v.startedAt === 'string' ? v.startedAt : '', token: v.token };
      if (typeof v.leaseMs === 'number' && v.leaseMs > 0) info.leaseMs = v.leaseMs;
      if (Number.isSafeInteger(v.procStart) && (v.procStart as number) >= 0) info.procStart = v.procStart as number;
      if (typeof v.bootId === 'string' && v.bootId) info.bootId = v.bootId;
      if (typeof v.pidNs === 'string' && v.pidNs) info.pidNs = v.pidNs;
      return info;
    }
  } catch {
    /* unparsable */
  }
  return null;
}

/** The lease a LOCK declares, within the bounds any reader accepts. */
function leaseOf(info: LockInfo): number {
  return Math.min(MAX_LEASE_MS, Math.max(MIN_LEASE_MS, info.leaseMs ?? LEASE_MS));
}

/** The pid to probe, when the holder's pid means something here (same host, same pid namespace, same boot). */
function pidToProbe(info: LockInfo | null, self: SelfIds): number | undefined {
  if (!info || info.hostname !== os.hostname() || info.pid === self.pid) return undefined;
  if (info.bootId && self.bootId && info.bootId !== self.bootId) return undefined;
  if (info.pidNs && self.pidNs && info.pidNs !== self.pidNs) return undefined;
  return info.pid;
}

/** Why the process that wrote `info` is known to be gone, or undefined if it may be alive. */
function goneWhy(info: LockInfo, self: SelfIds, probe: Probe | undefined): string | undefined {
  if (info.hostname !== os.hostname()) return undefined;
  if (info.bootId && self.bootId && info.bootId !== self.bootId) return 'this machine has restarted since';
  if (info.pidNs && self.pidNs && info.pidNs !== self.pidNs) return undefined; // another container: heartbeat only
  if (info.pid === self.pid) {
    if (info.procStart !== undefined && self.procStart !== undefined) {
      return info.procStart !== self.procStart ? 'an earlier process with our pid' : undefined;
    }
    const t = Date.parse(info.startedAt);
    return Number.isFinite(t) && t < self.processStartMs - 1000 ? 'an earlier process with our pid' : undefined;
  }
  if (!probe) return undefined;
  if (!probe.alive) return 'its process has ended';
  if (info.procStart !== undefined && probe.procStart !== undefined && info.procStart !== probe.procStart) {
    return 'its pid now belongs to another process';
  }
  return undefined;
}

type Verdict =
  | { kind: 'young' }
  | { kind: 'held'; holder: LockInfo; heartbeatAt: number; leaseMs: number }
  | ({ kind: 'stale' } & StaleLock);

/** Judges a LOCK read at `now`. `youngOk`: an unparsable young LOCK may still be being written (wait for it). */
function judgeLock(read: FileRead, self: SelfIds, probe: Probe | undefined, now: number, youngOk: boolean): Verdict {
  const info = parseLock(read.text);
  const age = now - read.mtimeMs;
  if (info === null) {
    if (youngOk && age < YOUNG_LOCK_MS) return { kind: 'young' };
    return { kind: 'stale', holder: null, why: 'an unreadable LOCK (a crash while it was written)', lastAliveAt: read.mtimeMs };
  }
  const gone = goneWhy(info, self, probe);
  if (gone) return { kind: 'stale', holder: info, why: gone, lastAliveAt: read.mtimeMs };
  const leaseMs = leaseOf(info);
  if (age > leaseMs) {
    return { kind: 'stale', holder: info, why: `no heartbeat for ${duration(age)} (lease ${duration(leaseMs)})`, lastAliveAt: read.mtimeMs };
  }
  return { kind: 'held', holder: info, heartbeatAt: read.mtimeMs, leaseMs };
}

function examineSync(file: string, youngOk: boolean): { read: FileRead; verdict: Verdict } | undefined {
  const read = readSmallSync(file);
  if (read === undefined) return undefined;
  const self = selfIdsSync();
  const pid = pidToProbe(parseLock(read.text), self);
  return { read, verdict: judgeLock(read, self, pid === undefined ? undefined : probeSync(pid), Date.now(), youngOk) };
}

function toStatus(v: Verdict): LockStatus {
  if (v.kind === 'stale') return { kind: 'stale', holder: v.holder, why: v.why, lastAliveAt: v.lastAliveAt };
  if (v.kind === 'young') throw new Error('unreachable: a young LOCK is waited for');
  const now = Date.now();
  return {
    kind: 'held',
    holder: v.holder,
    since: v.holder.startedAt,
    heartbeatAgeMs: Math.max(0, now - v.heartbeatAt),
    leaseExpiresInMs: Math.max(0, v.heartbeatAt + v.leaseMs - now),
    thisHost: v.holder.hostname === os.hostname(),
  };
}

/**
 * The state of `dir`'s writer lock, without blocking the event loop (fs.promises only) and without
 * throwing for a missing directory (free). A LOCK being written right now is waited for briefly.
 */
export async function inspectLock(dir: string): Promise<LockStatus> {
  const file = path.join(dir, LOCK_FILE);
  const self = await selfIdsAsync();
  const until = Date.now() + YOUNG_LOCK_MS + 500;
  for (;;) {
    let read: FileRead | undefined;
    try {
      read = await readSmall(file);
    } catch (e) {
      if (errnoCode(e) === 'ENOTDIR') return { kind: 'free' };
      throw e;
    }
    if (read === undefined) return { kind: 'free' };
    const pid = pidToProbe(parseLock(read.text), self);
    const probe = pid === undefined ? undefined : await probeAsync(pid);
    const v = judgeLock(read, self, probe, Date.now(), Date.now() < until);
    if (v.kind !== 'young') return toStatus(v);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** inspectLock for the writer side (synchronous, through the file layer). */
export function lockStatusSync(dir: string): LockStatus {
  const file = path.join(dir, LOCK_FILE);
  const until = Date.now() + YOUNG_LOCK_MS + 500;
  for (;;) {
    const x = examineSync(file, Date.now() < until);
    if (x === undefined) return { kind: 'free' };
    if (x.verdict.kind !== 'young') return toStatus(x.verdict);
    sleepSync(50);
  }
}

// ---- takeover sentinels ----

/** Name-safe key of a LOCK generation: its token (hashed unless it is plain hex), or a hash of an unreadable LOCK. */
function lockKey(read: FileRead): string {
  const info = parseLock(read.text);
  if (info) return tokenKey(info.token);
  return sha(`u:${read.ino}:${read.size}:${read.mtimeMs}:${read.text}`);
}

function tokenKey(token: string): string {
  return /^[0-9a-f]{32}$/.test(token) ? token : sha(`t:${token}`);
}

function sha(s: string): string {
  return crypto.createHash('sha256').update(s).digest('hex').slice(0, 32);
}

const SENTINEL_RE = /^LOCK\.takeover\.([0-9a-f]{32})\.(\d+)$/;

function sentinelPath(dir: string, key: string, k: number): string {
  return path.join(dir, `${LOCK_FILE}.takeover.${key}.${k}`);
}

/** Whether a sentinel's creator is gone (same host) or the sentinel is older than any takeover takes. */
function sentinelAbandoned(read: FileRead, self: SelfIds, now: number): boolean {
  if (now - read.mtimeMs > SENTINEL_MAX_AGE_MS) return true;
  const info = parseLock(read.text);
  if (info === null) return false; // being written right now; the age rule covers a creator that died
  const pid = pidToProbe(info, self);
  return goneWhy(info, self, pid === undefined ? undefined : probeSync(pid)) !== undefined;
}

interface Sentinel {
  k: number;
  /** performance.now() when it was created. */
  createdAt: number;
}

/**
 * Creates the first sentinel of generation `key` that nobody live holds. 'busy': a live process holds one
 * (or it vanished as we looked: its holder is done); try again shortly.
 */
function takeSentinel(dir: string, key: string, content: LockInfo): Sentinel | 'busy' {
  const self = selfIdsSync();
  for (let k = 0; k < MAX_SENTINELS; k++) {
    const file = sentinelPath(dir, key, k);
    let fd: number;
    try {
      fd = fs.openSync(file, 'wx');
    } catch (e) {
      if (errnoCode(e) !== 'EEXIST') throw ioError(e, `create ${file}`);
      const read = readSmallSync(file);
      if (read === undefined || !sentinelAbandoned(read, self, Date.now())) return 'busy';
      continue; // its creator died or stalled: never reuse its name, move on to the next one
    }
    const createdAt = performance.now();
    try {
      writeFully(fd, Buffer.from(JSON.stringify(content) + '\n', 'utf8'), 0);
      const now = Date.now() / 1000;
      fs.futimesSync(fd, now, now); // its age is judged by our clock, as a LOCK's heartbeat is
    } catch (e) {
      fs.closeSync(fd);
      removeIfExists(file);
      throw ioError(e, `write ${file}`);
    }
    fs.closeSync(fd);
    return { k, createdAt };
  }
  throw new StoreError('LOCKED', `${MAX_SENTINELS} takeovers of the lock on ${dir} were abandoned half-way; remove its LOCK.takeover.* files`);
}

/** Removes sentinels 0..k of generation `key` (all garbage once LOCK no longer carries that generation). */
function dropSentinels(dir: string, key: string, upTo: number, from = 0): void {
  for (let k = from; k <= upTo; k++) removeIfExists(sentinelPath(dir, key, k));
}

function removeIfExists(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw ioError(e, `remove ${file}`);
  }
}

/**
 * Removes `dir`'s LOCK if it still carries `token`, holding that generation's sentinel (so a takeover that
 * has checked LOCK cannot then rename over a LOCK someone created after our removal). Gives up (false) if
 * a live process keeps the sentinel for long: it is taking the lock over, so the lock is no longer ours.
 */
function removeLockIfToken(dir: string, token: string, me: LockInfo): boolean {
  const file = path.join(dir, LOCK_FILE);
  const key = tokenKey(token);
  const until = performance.now() + SENTINEL_MAX_AGE_MS + 1000;
  for (;;) {
    let s: Sentinel | 'busy';
    try {
      s = takeSentinel(dir, key, me);
    } catch (e) {
      if (e instanceof StoreError && (e.cause as { code?: string } | undefined)?.code === 'ENOENT') return false; // the directory is gone
      throw e;
    }
    if (s !== 'busy') {
      try {
        const cur = readSmallSync(file);
        if (cur === undefined || parseLock(cur.text)?.token !== token) return false;
        removeIfExists(file);
        return true;
      } finally {
        dropSentinels(dir, key, s.k);
      }
    }
    if (performance.now() > until) return false;
    sleepSync(5);
  }
}

// ---- owner-tagged temp files ----

/** This host's name as it appears in temp file names (no dots, so the name splits unambiguously). */
function hostTag(): string {
  return os.hostname().replace(/[^A-Za-z0-9-]/g, '_') || 'host';
}

/** `<file>.tmp.<host>.<pid>.<hex>`: a temp file whose owner anyone can judge (see judgeLeftover). */
export function ownedTempPath(file: string, hex: string = crypto.randomBytes(6).toString('hex')): string {
  return `${file}.tmp.${hostTag()}.${process.pid}.${hex}`;
}

/** Temp files: untagged `<name>.tmp`; owned `<name>.tmp.<host>.<pid>.<hex>`; older builds' `<name>.tmp-<pid>-<hex>`. */
const TMP_RE = /\.tmp(?:\.([A-Za-z0-9_-]+)\.(\d+)\.([0-9a-f]+)|-(\d+)-([0-9a-f]+))?$/;

/**
 * What the state directory's clean-up may do with `name` in `dir`:
 * - 'holder': an untagged `<name>.tmp`, only ever written by the lock holder (or initialisation) — remove it
 *   once you hold the lock;
 * - 'remove': an owner-tagged temp file or takeover sentinel whose owner is gone (same host: pid dead or
 *   reused) or which is older than any live write keeps one;
 * - 'keep': a live process (or one on another host, not yet old) may still be using it;
 * - undefined: not a temp file or sentinel.
 * `heldToken`: the caller's own lock; sentinels of its generation are left to its release.
 */
export function judgeLeftover(dir: string, name: string, heldToken?: string): 'holder' | 'remove' | 'keep' | undefined {
  const file = path.join(dir, name);
  const s = SENTINEL_RE.exec(name);
  if (s) {
    if (heldToken !== undefined && s[1] === tokenKey(heldToken)) return 'keep';
    const read = readSmallSync(file);
    return read === undefined || sentinelAbandoned(read, selfIdsSync(), Date.now()) ? 'remove' : 'keep';
  }
  const m = TMP_RE.exec(name);
  if (!m) return undefined;
  const host = m[1];
  const pidText = m[2] ?? m[4];
  if (pidText === undefined) return 'holder';
  let mtimeMs: number;
  try {
    mtimeMs = fs.lstatSync(file).mtimeMs;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return 'keep'; // gone already: nothing to do
    throw ioError(e, `stat ${file}`);
  }
  if (Date.now() - mtimeMs > TEMP_MAX_AGE_MS) return 'remove';
  const pid = Number(pidText);
  // An older build's name has no host: it meant this one. Our own pid may be another thread of ours.
  const here = host === undefined || host === hostTag();
  return here && pid !== process.pid && !probeSync(pid).alive ? 'remove' : 'keep';
}

// ---- the lock ----

function validLease(opts: LeaseOptions | undefined): { leaseMs: number; renewMs: number } {
  const leaseMs = opts?.leaseMs ?? LEASE_MS;
  const renewMs = opts?.renewMs ?? Math.min(RENEW_MS, Math.floor(leaseMs / 6));
  if (!(leaseMs >= MIN_LEASE_MS && leaseMs <= MAX_LEASE_MS)) {
    throw new RangeError(`leaseMs must be within ${MIN_LEASE_MS}..${MAX_LEASE_MS}, not ${leaseMs}`);
  }
  if (!(renewMs >= 10 && renewMs <= leaseMs / 3)) throw new RangeError(`renewMs must be within 10..leaseMs/3, not ${renewMs}`);
  return { leaseMs, renewMs };
}

export class WriterLock {
  /** What this lock replaced when it was acquired (a stale lock), for the caller's restart history. */
  tookOver: StaleLock | undefined;
  readonly leaseMs: number;
  readonly renewMs: number;
  private released = false;
  /** Why the lock is no longer ours (sticky: a lost lock is never ours again). `lapsed`: LOCK may still carry our token. */
  private lost: { lapsed: boolean; text: string } | undefined;
  /** Our last heartbeat: the mtime we set (wall clock), and performance.now() at that moment. */
  private renewedAt = 0;
  private renewedMono = 0;
  private renewError: string | undefined;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    readonly file: string,
    readonly info: LockInfo,
    lease: { leaseMs: number; renewMs: number },
  ) {
    this.leaseMs = lease.leaseMs;
    this.renewMs = lease.renewMs;
  }

  /**
   * Takes the lock of `dir` or throws StoreError('LOCKED'). A stale lock is taken over (exactly one of
   * any number of racers wins); `report` then receives one line naming the old holder, and `tookOver`
   * records it. `lease` is for tests (short leases).
   */
  static acquire(dir: string, report: (line: string) => void, lease?: LeaseOptions): WriterLock {
    const file = path.join(dir, LOCK_FILE);
    const self = selfIdsSync();
    const l = validLease(lease);
    const info: LockInfo = {
      pid: process.pid,
      hostname: os.hostname(),
      startedAt: new Date().toISOString(),
      token: crypto.randomBytes(16).toString('hex'),
      leaseMs: l.leaseMs,
      procStart: self.procStart,
      bootId: self.bootId,
      pidNs: self.pidNs,
    };
    const content = Buffer.from(JSON.stringify(info) + '\n', 'utf8');
    const lock = new WriterLock(file, info, l);
    const start = performance.now();
    // Long enough to wait out a LOCK being written and a sentinel whose creator stalled.
    const until = start + YOUNG_LOCK_MS + SENTINEL_MAX_AGE_MS + 1000;

    for (;;) {
      lock.markRenewed();
      let fd: number | undefined;
      try {
        fd = fs.openSync(file, 'wx');
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST') throw ioError(e, `create ${file}`);
      }
      if (fd !== undefined) {
        try {
          writeFully(fd, content, 0); // no fsync: after a machine crash no process holds the lock anyway
          fs.futimesSync(fd, lock.renewedAt / 1000, lock.renewedAt / 1000);
        } catch (e) {
          fs.closeSync(fd);
          removeIfExists(file); // ours: nobody replaces a LOCK younger than YOUNG_LOCK_MS
          throw ioError(e, `write ${file}`);
        }
        fs.closeSync(fd);
        if (!lock.isHeld()) throw lockedError(dir);
        return lock.started();
      }

      const cur = examineSync(file, performance.now() - start < YOUNG_LOCK_MS + 500);
      if (cur === undefined) continue; // released meanwhile: try again
      const v = cur.verdict;
      if (v.kind === 'held') throw lockedError(dir, toStatus(v));
      if (v.kind === 'stale') {
        const r = lock.takeOver(dir, cur.read, content);
        if (r !== 'busy' && r !== 'retry') {
          lock.tookOver = r;
          report(takeoverLine(r));
          return lock.started();
        }
        if (r === 'retry') continue;
      }
      // A LOCK being written, or another racer taking it over right now: look again shortly.
      if (performance.now() > until) throw lockedError(dir);
      sleepSync(v.kind === 'young' ? 50 : 5);
    }
  }

  /** Under the sentinel of the stale LOCK we read: re-read it, and if it is still that stale lock, replace it. */
  private takeOver(dir: string, seen: FileRead, content: Buffer): StaleLock | 'busy' | 'retry' {
    const key = lockKey(seen);
    const s = takeSentinel(dir, key, this.info);
    if (s === 'busy') return 'busy';
    let won = false;
    try {
      const now = this.markRenewed();
      const cur = examineSync(this.file, false);
      if (cur === undefined || lockKey(cur.read) !== key) return 'retry'; // replaced or released meanwhile
      if (cur.verdict.kind !== 'stale') return 'retry'; // it renewed its heartbeat after all
      const stale: StaleLock = { holder: cur.verdict.holder, why: cur.verdict.why, lastAliveAt: cur.verdict.lastAliveAt };
      const tmp = ownedTempPath(this.file, this.info.token);
      let fd: number | undefined;
      try {
        fd = fs.openSync(tmp, 'wx');
        writeFully(fd, content, 0);
        fs.futimesSync(fd, now / 1000, now / 1000);
        fs.fsyncSync(fd);
        fs.closeSync(fd);
        fd = undefined;
        // Only while our sentinel is young may we act on it: past half its age limit another racer may soon
        // judge it abandoned. Checked right before the rename, the one step that must not happen twice.
        if (performance.now() - s.createdAt > SENTINEL_MAX_AGE_MS / 2) {
          removeIfExists(tmp);
          return 'retry';
        }
        fs.renameSync(tmp, this.file);
      } catch (e) {
        if (fd !== undefined) fs.closeSync(fd);
        try {
          removeIfExists(tmp);
        } catch {
          /* keep the original error */
        }
        throw ioError(e, `take over ${this.file}`);
      }
      won = true;
      fsyncDir(dir);
      if (!this.isHeld()) throw lockedError(dir);
      return stale;
    } finally {
      // Once LOCK carries our token every sentinel of the old generation is garbage; otherwise only ours is ours to remove.
      dropSentinels(dir, key, s.k, won ? 0 : s.k);
    }
  }

  private markRenewed(): number {
    this.renewedAt = Date.now();
    this.renewedMono = performance.now();
    return this.renewedAt;
  }

  private started(): WriterLock {
    this.timer = setInterval(() => this.renewFromTimer(), this.renewMs);
    this.timer.unref();
    return this;
  }

  private renewFromTimer(): void {
    try {
      this.check(true);
    } catch (e) {
      this.renewError = e instanceof Error ? e.message : String(e);
    }
    if (this.lost !== undefined || this.released) this.stopTimer();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  get token(): string {
    return this.info.token;
  }

  /**
   * The holder stops writing a renewal period before its lease runs out: nobody may break the lease
   * before it has run out, so the margin covers a write that started just before the holder's deadline
   * and clocks that differ by less than renewMs. Both clocks count: the wall clock runs on across a
   * suspend, the monotonic one is immune to clock changes.
   */
  private lapsed(): boolean {
    const since = Math.max(Date.now() - this.renewedAt, performance.now() - this.renewedMono);
    return since > this.leaseMs - this.renewMs;
  }

  /**
   * Verifies through one fd that LOCK carries our token, and if `renew`, sets its heartbeat through that
   * same fd. Marks the lock lost when the lease lapsed or LOCK is gone or someone else's.
   */
  private check(renew: boolean): void {
    if (this.released || this.lost !== undefined) return;
    if (this.lapsed() && !this.reclaim()) {
      const since = Date.now() - this.renewedAt;
      const text =
        `lapsed: its heartbeat was not renewed for ${duration(since)} (lease ${duration(this.leaseMs)}` +
        (this.renewError ? `; ${this.renewError})` : ')');
      this.lost = { lapsed: true, text };
      return;
    }
    let fd: number;
    try {
      fd = fs.openSync(this.file, renew ? 'r+' : 'r');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') {
        this.lost = { lapsed: false, text: 'is no longer held by this process (its LOCK file was removed)' };
        return;
      }
      throw ioError(e, `read ${this.file}`);
    }
    try {
      const buf = Buffer.alloc(MAX_LOCK_BYTES);
      const cur = parseLock(buf.subarray(0, readFully(fd, buf, 0, buf.length, 0)).toString('utf8'));
      if (cur?.token !== this.info.token) {
        const text = cur ? `was taken over by pid ${cur.pid} on ${cur.hostname}` : 'is no longer held by this process';
        this.lost = { lapsed: false, text };
        return;
      }
      if (renew) {
        const wall = Date.now();
        const mono = performance.now();
        try {
          fs.futimesSync(fd, wall / 1000, wall / 1000);
          this.renewedAt = wall;
          this.renewedMono = mono;
          this.renewError = undefined;
        } catch (e) {
          this.renewError = `renewal failed: ${ioError(e, `renew ${this.file}`).message}`;
        }
      }
    } catch (e) {
      throw ioError(e, `read ${this.file}`);
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * After a lapse (a suspended laptop, a stalled thread), the lease is ours again if nobody took it over
   * meanwhile: under the sentinel of our own generation, which any racer must hold to replace LOCK, we
   * re-read LOCK and, if it still carries our token, renew its heartbeat. A racer already holding that
   * sentinel means a takeover is under way: the lock is lost.
   */
  private reclaim(): boolean {
    if (this.renewError !== undefined) return false; // renewals fail: it could not be kept alive anyway
    const dir = path.dirname(this.file);
    const key = tokenKey(this.info.token);
    let s: Sentinel | 'busy';
    try {
      s = takeSentinel(dir, key, this.info);
    } catch {
      return false;
    }
    if (s === 'busy') return false;
    try {
      const cur = readSmallSync(this.file);
      if (cur === undefined || parseLock(cur.text)?.token !== this.info.token) return false;
      const fd = fs.openSync(this.file, 'r+');
      try {
        const wall = Date.now();
        fs.futimesSync(fd, wall / 1000, wall / 1000);
        this.markRenewed();
      } finally {
        fs.closeSync(fd);
      }
      return true;
    } catch {
      return false;
    } finally {
      try {
        dropSentinels(dir, key, s.k, s.k);
      } catch {
        /* an abandoned sentinel is judged by its age */
      }
    }
  }

  /** True while LOCK carries our token and our lease has not lapsed. */
  isHeld(): boolean {
    this.check(false);
    return !this.released && this.lost === undefined;
  }

  /**
   * Throws LOCKED if the lock was taken over or removed, or if our lease lapsed (we could not prove we
   * are alive, so someone may be taking it over): a writer checks this before every write. Renews the
   * heartbeat when it is due, so a busy writer keeps its lease even if its timer is late.
   */
  assertHeld(): void {
    this.check(Date.now() - this.renewedAt >= this.renewMs);
    if (this.released) {
      throw new StoreError('LOCKED', `the lock on ${path.dirname(this.file)} is no longer held by this process; stopped writing`);
    }
    if (this.lost !== undefined) {
      this.stopTimer();
      throw new StoreError('LOCKED', `the lock on ${path.dirname(this.file)} ${this.lost.text}; stopped writing`);
    }
  }

  /** Stops renewing and removes LOCK if it is still ours. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.stopTimer();
    if (this.lost && !this.lost.lapsed) return; // someone else's, or gone
    removeLockIfToken(path.dirname(this.file), this.info.token, this.info);
  }
}

/**
 * Removes the LOCK of `dir` if it still carries `token`. For the owner of a writer that died
 * without closing (a terminated worker thread shares its process's pid, so its lock would look
 * live to this process until its heartbeat is older than its lease).
 */
export function releaseLockIfToken(dir: string, token: string): boolean {
  const self = selfIdsSync();
  const me: LockInfo = {
    pid: process.pid,
    hostname: os.hostname(),
    startedAt: new Date().toISOString(),
    token: crypto.randomBytes(16).toString('hex'),
    procStart: self.procStart,
    bootId: self.bootId,
    pidNs: self.pidNs,
  };
  return removeLockIfToken(dir, token, me);
}

/** "took over stale lock of pid 12 on box (its process has ended; last alive 3 s ago)". */
export function takeoverLine(s: StaleLock): string {
  const ago = duration(Date.now() - s.lastAliveAt);
  if (!s.holder) return `took over an unreadable LOCK (a crash while it was written; last changed ${ago} ago)`;
  return `took over stale lock of pid ${s.holder.pid} on ${s.holder.hostname} (${s.why}; last alive ${ago} ago)`;
}

function lockedError(dir: string, status?: LockStatus): StoreError {
  let st = status;
  if (st === undefined) {
    try {
      st = lockStatusSync(dir);
    } catch {
      /* describe it without details */
    }
  }
  if (st?.kind === 'held') {
    const h = st.holder;
    return new StoreError(
      'LOCKED',
      `another process (pid ${h.pid} on ${h.hostname}) is writing ${dir}: it has held the lock since ${h.startedAt}, ` +
        `last heartbeat ${duration(st.heartbeatAgeMs)} ago, lease expires in ${duration(st.leaseExpiresInMs)} unless renewed`,
    );
  }
  return new StoreError('LOCKED', `another process is taking over the lock of ${dir} right now`);
}

/** 0.4 s, 12 s, 5 min, 1.5 h, 3 d. */
export function duration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 10) return `${Math.round(s * 10) / 10} s`;
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 48 * 3600) return `${Math.round(s / 360) / 10} h`;
  return `${Math.round(s / 8640) / 10} d`;
}
