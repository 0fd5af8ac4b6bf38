// Synchronous file helpers shared by the writer side of the store.
import { fs } from './fileLayer';
import * as path from 'path';
import { StoreError } from './errors';

export function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string'
    ? (e as { code: string }).code
    : undefined;
}

function reasonOf(e: unknown): string {
  const code = errnoCode(e);
  const msg = e instanceof Error ? e.message : String(e);
  return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
}

/** What a user can do about a disk that failed under the state directory: nothing is lost, the job resumes. */
const THEN_RESUME = 'then resume the job (on the command line: run the same command again)';

/**
 * Maps an OS error during `what` (e.g. "append to /x/terms.log") to a StoreError: one line saying what
 * happened and what to do. What was durable before stays durable (appends and atomic writes undo
 * themselves), so the way out is always the same: give the state directory a working disk and resume.
 */
export function ioError(e: unknown, what: string): StoreError {
  if (e instanceof StoreError) return e;
  const code = errnoCode(e);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    const full = code === 'EDQUOT' ? 'the disk quota is used up' : 'the disk is full';
    return new StoreError('NO_SPACE', `${full}: could not ${what} (${code}); free some space or copy the state directory to a disk with room, ${THEN_RESUME}`, { cause: e });
  }
  if (code === 'EIO') {
    return new StoreError('IO_ERROR', `the disk reported an I/O error while trying to ${what} (EIO); copy the state directory to a healthy disk, ${THEN_RESUME}`, { cause: e });
  }
  if (code === 'EROFS') {
    return new StoreError('READ_ONLY', `could not ${what}: it is on a read-only file system (EROFS); copy the state directory to a writable disk, ${THEN_RESUME}`, { cause: e });
  }
  return new StoreError('UNUSABLE_DIR', `cannot ${what}: ${reasonOf(e)}`, { cause: e });
}

/** Runs fn, converting OS errors to StoreError. */
export function io<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw ioError(e, what);
  }
}

/** Makes a rename/create/unlink in `dir` durable. Platforms that cannot fsync a directory are ignored. */
export function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, 'r');
  } catch {
    return; // Windows cannot open a directory
  }
  try {
    fs.fsyncSync(fd);
  } catch (e) {
    const code = errnoCode(e);
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') {
      throw ioError(e, `sync directory ${dir}`);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes all of `buf` at `position`, looping over short writes. */
export function writeFully(fd: number, buf: Uint8Array, position: number): void {
  let done = 0;
  while (done < buf.length) {
    const n = fs.writeSync(fd, buf, done, buf.length - done, position + done);
    if (n <= 0) throw Object.assign(new Error('write returned 0 bytes'), { code: 'EIO' });
    done += n;
  }
}

/** Writes `pieces` one after another from `position` (one writev per call), looping over short writes. */
export function writevFully(fd: number, pieces: readonly Uint8Array[], position: number): void {
  let rest = pieces.filter((p) => p.length > 0);
  let at = position;
  while (rest.length > 0) {
    let n = fs.writevSync(fd, rest, at);
    if (n <= 0) throw Object.assign(new Error('write returned 0 bytes'), { code: 'EIO' });
    at += n;
    // Skip what was written: whole pieces, then the written start of a piece cut short.
    let k = 0;
    while (k < rest.length && n >= rest[k].length) n -= rest[k++].length;
    rest = rest.slice(k);
    if (n > 0) rest[0] = rest[0].subarray(n);
  }
}

/** Reads exactly `len` bytes at `position`, or fewer if the file ends first. */
export function readFully(fd: number, buf: Uint8Array, offset: number, len: number, position: number): number {
  let done = 0;
  while (done < len) {
    const n = fs.readSync(fd, buf, offset + done, len - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Closes `fd` if it is open, ignoring an error (it was closed already); returns null for the caller's field. */
export function closeQuietly(fd: number | null): null {
  if (fd === null) return null;
  try {
    fs.closeSync(fd);
  } catch {
    /* already closed */
  }
  return null;
}

export function removeQuietly(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    /* already gone or not removable: nothing to undo */
  }
}

/**
 * Atomically replaces `file` with `data`: temp file in the same directory, fsync,
 * rename, fsync directory. On failure the temp file is removed and `file` is untouched.
 */
export function atomicWriteFile(
  file: string,
  data: Uint8Array | string | readonly Uint8Array[],
  opts: { durable?: boolean; tmp?: string } = {},
): void {
  const durable = opts.durable !== false;
  const tmp = opts.tmp ?? `${file}.tmp`;
  const parts = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data;
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'w');
    let at = 0;
    for (const part of parts) {
      writeFully(fd, part, at);
      at += part.length;
    }
    if (durable) fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        /* ignore */
      }
    }
    removeQuietly(tmp);
    throw ioError(e, `write ${file}`);
  }
  if (durable) fsyncDir(path.dirname(file));
}

/** ISO-8601 UTC time without colons (valid in file names everywhere). */
export function timestamp(d: Date = new Date()): string {
  return d.toISOString().replace(/:/g, '');
}

/** `base` if free, else `base-2`, `base-3`, … */
export function freePath(base: string): string {
  if (!fs.existsSync(base)) return base;
  for (let i = 2; ; i++) {
    const p = `${base}-${i}`;
    if (!fs.existsSync(p)) return p;
  }
}

/** Name under which `file` is set aside: `<file>.corrupt-<time>` (made unique). */
export function quarantinePath(file: string): string {
  return freePath(`${file}.corrupt-${timestamp()}`);
}

/**
 * Sets a damaged file aside by renaming it to `<file>.corrupt-<time>`; never deletes.
 * `reason` goes to the logger if one is given. Returns the new path.
 */
export function quarantine(
  file: string,
  reason: string,
  logger?: { warn(msg: string): void },
  durable = true,
): string {
  const target = quarantinePath(file);
  io(`move ${file} aside`, () => fs.renameSync(file, target));
  if (durable) fsyncDir(path.dirname(file));
  logger?.warn(`moved ${path.basename(file)} aside to ${path.basename(target)}: ${reason}`);
  return target;
}

/** Blocks the thread for `ms` (used only for short lock-retry waits). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
