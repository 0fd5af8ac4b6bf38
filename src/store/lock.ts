// One-writer lock: a LOCK file holding {pid, hostname, startedAt, token}.
import * as crypto from 'crypto';
import { fs } from './fileLayer';
import * as os from 'os';
import * as path from 'path';
import { StoreError } from './errors';
import { errnoCode, io, ioError, removeQuietly, sleepSync, writeFully } from './fsutil';

export const LOCK_FILE = 'LOCK';

/** An unparsable LOCK younger than this may be a lock being written right now. */
const YOUNG_LOCK_MS = 2000;

export interface LockInfo {
  pid: number;
  hostname: string;
  startedAt: string;
  token: string;
}

export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM'; // exists, owned by someone else
  }
}

function parseLock(text: string): LockInfo | null {
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (
      v &&
      typeof v === 'object' &&
      Number.isInteger(v.pid) &&
      (v.pid as number) > 0 &&
      typeof v.hostname === 'string' &&
      typeof v.token === 'string'
    ) {
      return { pid: v.pid as number, hostname: v.hostname, startedAt: String(v.startedAt ?? ''), token: v.token };
    }
  } catch {
    /* unparsable */
  }
  return null;
}

/** Reads LOCK (and its age if asked); undefined when it does not exist. */
function readLock(file: string, withAge = false): { text: string; mtimeMs: number } | undefined {
  try {
    const text = fs.readFileSync(file, 'utf8');
    let mtimeMs = 0;
    if (withAge) {
      try {
        mtimeMs = fs.statSync(file).mtimeMs;
      } catch {
        /* vanished between the two calls: treat as old */
      }
    }
    return { text, mtimeMs };
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw ioError(e, `read ${file}`);
  }
}

/** When this process started (ms since epoch); a LOCK with our pid written before that is a previous incarnation's. */
const processStartMs = Date.now() - process.uptime() * 1000;

export class WriterLock {
  private released = false;

  private constructor(
    readonly file: string,
    readonly info: LockInfo,
  ) {}

  /**
   * Takes the lock of `dir` or throws StoreError('LOCKED').
   * `report` receives a line when a stale lock is taken over.
   */
  static acquire(dir: string, report: (line: string) => void): WriterLock {
    const file = path.join(dir, LOCK_FILE);
    const info: LockInfo = {
      pid: process.pid,
      hostname: os.hostname(),
      startedAt: new Date().toISOString(),
      token: crypto.randomBytes(16).toString('hex'),
    };
    const content = Buffer.from(JSON.stringify(info) + '\n', 'utf8');
    const lock = new WriterLock(file, info);
    const deadline = Date.now() + YOUNG_LOCK_MS + 500;

    for (let attempt = 0; ; attempt++) {
      if (attempt > 200) throw lockedError(dir, readLock(file)?.text); // LOCK keeps changing under us
      let fd: number | undefined;
      try {
        fd = fs.openSync(file, 'wx');
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST') throw ioError(e, `create ${file}`);
      }
      if (fd !== undefined) {
        try {
          writeFully(fd, content, 0); // no fsync: after a machine crash no process holds the lock anyway
        } catch (e) {
          fs.closeSync(fd);
          removeQuietly(file);
          throw ioError(e, `write ${file}`);
        }
        fs.closeSync(fd);
        if (lock.isHeld()) return lock;
        throw lockedError(dir, readLock(file)?.text);
      }

      const cur = readLock(file, true);
      if (cur === undefined) continue; // released meanwhile: try again
      const other = parseLock(cur.text);
      let staleWhat: string;
      if (other === null) {
        // Empty or half-written: a crash while writing it, or a writer that is writing it right now.
        if (Date.now() - cur.mtimeMs < YOUNG_LOCK_MS && Date.now() < deadline) {
          sleepSync(50);
          continue;
        }
        staleWhat = 'an unreadable lock';
      } else if (other.hostname !== info.hostname) {
        throw lockedError(dir, cur.text);
      } else if (other.pid === process.pid) {
        const t = Date.parse(other.startedAt);
        if (!(Number.isFinite(t) && t < processStartMs - 1000)) throw lockedError(dir, cur.text);
        staleWhat = `the lock of pid ${other.pid} (an earlier process with our pid)`;
      } else if (isPidAlive(other.pid)) {
        throw lockedError(dir, cur.text);
      } else {
        staleWhat = `stale lock of pid ${other.pid}`;
      }

      // Take over: write a temp file and rename it over LOCK, then confirm our token won.
      const tmp = path.join(dir, `${LOCK_FILE}.tmp-${process.pid}-${info.token}`);
      try {
        fs.writeFileSync(tmp, content);
        fs.renameSync(tmp, file);
      } catch (e) {
        removeQuietly(tmp);
        throw ioError(e, `take over ${file}`);
      }
      if (!lock.isHeld()) throw lockedError(dir, readLock(file)?.text);
      report(`took over ${staleWhat}`);
      return lock;
    }
  }

  get token(): string {
    return this.info.token;
  }

  /** True while LOCK still carries our token. */
  isHeld(): boolean {
    if (this.released) return false;
    const cur = readLock(this.file);
    return cur !== undefined && parseLock(cur.text)?.token === this.info.token;
  }

  /** Throws LOCKED if another process has taken the lock over (so two writers never interleave). */
  assertHeld(): void {
    if (this.isHeld()) return;
    const dir = path.dirname(this.file);
    const cur = this.released ? undefined : readLock(this.file);
    const other = cur ? parseLock(cur.text) : null;
    throw new StoreError(
      'LOCKED',
      other
        ? `the lock on ${dir} was taken over by pid ${other.pid} on ${other.hostname}; stopped writing`
        : `the lock on ${dir} is no longer held by this process; stopped writing`,
    );
  }

  /** Removes LOCK if it is still ours. */
  release(): void {
    if (this.released) return;
    try {
      if (this.isHeld()) io(`remove ${this.file}`, () => fs.unlinkSync(this.file));
    } finally {
      this.released = true;
    }
  }
}

/**
 * Removes the LOCK of `dir` if it still carries `token`. For the owner of a writer that died
 * without closing (a terminated worker thread shares its process's pid, so its lock would not
 * look stale to this process).
 */
export function releaseLockIfToken(dir: string, token: string): boolean {
  const file = path.join(dir, LOCK_FILE);
  const cur = readLock(file);
  if (cur === undefined || parseLock(cur.text)?.token !== token) return false;
  removeQuietly(file);
  return true;
}

function lockedError(dir: string, text: string | undefined): StoreError {
  const other = text === undefined ? null : parseLock(text);
  const who = other ? `pid ${other.pid} on ${other.hostname}` : 'unknown pid';
  return new StoreError('LOCKED', `another process (${who}) is writing ${dir}`);
}
