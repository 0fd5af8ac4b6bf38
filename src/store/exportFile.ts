// Writes exported terms to a file atomically: stream into a temporary file next to the target,
// fsync, rename over the target, fsync the folder. A failure (full disk, cancel, bad path, a term the
// source cannot give) removes only our temporary file (and the folders this export created), so the
// target is either the complete new file or untouched. A process killed mid-export cannot remove its
// temporary file; the next export to the same target on this host does.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { footer, header, linePrefix, lineSuffix, type ExportFormat } from '../engine/formats';
import type { Term } from '../engine/engine';
import type { TermBytes } from './asyncReader';
import { StoreError } from './errors';
import { isPidAlive } from './lock';

/** An export that did not happen; `message` is one line for the user. */
export class ExportError extends Error {
  override name = 'ExportError';
  /** The first term the export could not get (missing from the source, or damaged in the store). */
  readonly term?: number;
  constructor(message: string, options?: { cause?: unknown; term?: number }) {
    super(message, options);
    if (options?.term !== undefined) this.term = options.term;
  }
}

export interface ExportOptions {
  signal?: AbortSignal;
  onProgress?: (termsWritten: number, bytes: number) => void;
  /**
   * The terms the export must hold, in order: a source that ends early, skips a term, or fails reading
   * one (a damaged record) fails the export naming the first term it lacks; the target stays untouched.
   */
  expectedTerms?: { from: number; to: number };
}

export interface ExportResult {
  file: string;
  terms: number;
  bytes: number;
  /** Temporary files of earlier exports to the same file whose process was killed, now removed. */
  abandonedTempsRemoved: number;
}

/** This host's name as it appears in temporary file names (no dots, so the name splits unambiguously). */
const HOST = os.hostname().replace(/[^A-Za-z0-9-]/g, '_') || 'host';

/** `.<name>.<host>.<pid>.<time>.tmp`, hidden, next to the target. */
function tempPath(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${HOST}.${process.pid}.${Date.now().toString(36)}.tmp`);
}

/** Removes the temporary files of exports to `target` made on this host by processes that no longer exist. */
async function removeAbandonedTemps(target: string): Promise<number> {
  const prefix = `.${path.basename(target)}.${HOST}.`;
  const names = await fs.promises.readdir(path.dirname(target)).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names) {
    const m = name.startsWith(prefix) ? /^(\d+)\.[0-9a-z]+\.tmp$/.exec(name.slice(prefix.length)) : null;
    if (!m || Number(m[1]) === process.pid || isPidAlive(Number(m[1]))) continue;
    await fs.promises.rm(path.join(path.dirname(target), name), { force: true });
    removed++;
  }
  return removed;
}

const FLUSH_BYTES = 1 << 20;
/**
 * Written bytes after which the file's data is flushed to disk in the background (fdatasync on the
 * thread pool, while the next lines are assembled), so that the final fsync before the rename only has
 * the tail left: at 4000 terms (49 MB) that fsync took 30 ms at the end of the job, after the last term.
 */
const BACKGROUND_SYNC_BYTES = 8 << 20;

function describe(e: unknown, file: string): string {
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
    case 'ENOSPC':
      return `the disk is full; nothing was written to ${file} — free some space or choose another disk`;
    case 'EDQUOT':
      return `the disk quota is used up; nothing was written to ${file} — free some space or choose another disk`;
    case 'EIO':
      return `the disk reported an I/O error while writing ${file} (EIO); nothing was written — choose another disk`;
    case 'EROFS':
      return `cannot write to ${file}: it is on a read-only file system; choose another place`;
    case 'EACCES':
    case 'EPERM':
      return `cannot write to ${file}: permission denied`;
    case 'ENOENT':
      return `cannot write to ${file}: the folder ${path.dirname(file)} does not exist`;
    case 'ENOTDIR':
    case 'EEXIST':
      return `cannot write to ${file}: a part of the path is not a folder`;
    case 'EISDIR':
      return `cannot write to ${file}: it is a folder`;
    default:
      return `cannot write to ${file}: ${err?.message ?? String(e)}`;
  }
}

/**
 * Creates the missing folders above `file` (as VS Code's own file service does: its save dialog offers
 * a new folder and expects the writer to make it). Returns the top folder it created, for an undo.
 */
async function makeParents(file: string): Promise<string | undefined> {
  const dir = path.dirname(file);
  try {
    if ((await fs.promises.stat(dir)).isDirectory()) return undefined;
  } catch {
    /* missing (or unreadable): mkdir says which */
  }
  return fs.promises.mkdir(dir, { recursive: true });
}

/** Removes the folders makeParents created (from the deepest up to `top`) if they are still empty. */
async function removeMadeParents(file: string, top: string): Promise<void> {
  for (let dir = path.dirname(file); dir.length >= top.length; dir = path.dirname(dir)) {
    try {
      await fs.promises.rmdir(dir);
    } catch {
      return; // not empty (or gone): leave it and what is above it
    }
    if (dir === top) return;
  }
}

/** Makes the rename in `dir` durable. A platform or file system that cannot sync a folder is ignored, like fsyncDir. */
async function syncFolder(dir: string): Promise<void> {
  let h: fs.promises.FileHandle;
  try {
    h = await fs.promises.open(dir, 'r');
  } catch {
    return; // Windows cannot open a folder
  }
  try {
    await h.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') throw e;
  } finally {
    await h.close().catch(() => undefined);
  }
}

/** A term to export: its digits as a string, or as the ASCII bytes the store holds. */
export type ExportTerm = Term | TermBytes;

export async function exportTerms(
  terms: AsyncIterable<ExportTerm> | Iterable<ExportTerm>,
  file: string,
  format: ExportFormat,
  options: ExportOptions = {},
): Promise<ExportResult> {
  const target = path.resolve(file);
  const temp = tempPath(target);
  const expected = options.expectedTerms;
  if (expected && !(Number.isInteger(expected.from) && Number.isInteger(expected.to) && expected.from >= 1 && expected.to >= expected.from - 1)) {
    throw new RangeError(`expectedTerms must be a range of term numbers (got ${expected.from}..${expected.to})`);
  }
  let handle: fs.promises.FileHandle | undefined;
  let madeFolder: string | undefined;
  let renamed = false;
  let count = 0;
  let bytes = 0;
  try {
    if (fs.existsSync(target) && fs.statSync(target).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    madeFolder = await makeParents(target);
    const abandonedTempsRemoved = await removeAbandonedTemps(target);
    handle = await fs.promises.open(temp, 'wx');
    // Lines are assembled in one buffer, digits copied in as bytes (or written from a string), and
    // the buffer written out whenever it is full: no string of the whole line or page is ever made.
    let out = Buffer.allocUnsafe(FLUSH_BYTES);
    let used = 0;
    let syncedAt = 0;
    let backgroundSync: Promise<void> | undefined;
    const flush = async () => {
      if (used === 0) return;
      await handle!.write(out, 0, used);
      bytes += used;
      used = 0;
      if (bytes - syncedAt >= BACKGROUND_SYNC_BYTES && !backgroundSync) {
        syncedAt = bytes;
        backgroundSync = handle!.datasync().finally(() => (backgroundSync = undefined));
        backgroundSync.catch(() => undefined); // the final sync reports a failing disk
      }
    };
    /** Room for `length` more bytes: the buffer is written out first if they do not fit. */
    const room = async (length: number) => {
      if (used + length <= out.length) return;
      await flush();
      options.onProgress?.(count, bytes);
      if (length > out.length) out = Buffer.allocUnsafe(length);
    };
    const put = async (text: string) => {
      await room(Buffer.byteLength(text, 'utf8'));
      used += out.write(text, used, 'utf8');
    };
    const suffix = lineSuffix(format);
    let next = expected?.from;
    await put(header(format));
    for await (const term of terms) {
      if (options.signal?.aborted) throw new ExportError('the export was cancelled; nothing was written');
      if (expected && next !== undefined) {
        if (term.n > expected.to || term.n < next) throw new RangeError(`the terms to export came out of order: term ${term.n} after term ${next - 1} (expected ${expected.from}..${expected.to})`);
        if (term.n > next) throw missingTerm(next, target, `the terms to export skip from term ${next - 1} to term ${term.n}`);
        next++;
      }
      const digits = 'bytes' in term ? term.bytes : term.digits;
      await put(linePrefix(format, term.n, digits.length, count === 0));
      await room(digits.length);
      if (typeof digits === 'string') used += out.write(digits, used, 'latin1');
      else {
        out.set(digits, used);
        used += digits.length;
      }
      await put(suffix);
      count++;
    }
    if (options.signal?.aborted) throw new ExportError('the export was cancelled; nothing was written');
    if (expected && next !== undefined && next <= expected.to) {
      throw missingTerm(next, target, next > expected.from ? `the terms to export end at term ${next - 1}` : `the terms to export are missing`);
    }
    await put(footer(format, count === 0));
    await flush();
    await backgroundSync?.catch(() => undefined);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.promises.rename(temp, target);
    renamed = true;
    await syncFolder(path.dirname(target));
    options.onProgress?.(count, bytes);
    return { file: target, terms: count, bytes, abandonedTempsRemoved };
  } catch (e) {
    await handle?.close().catch(() => undefined);
    await fs.promises.rm(temp, { force: true }).catch(() => undefined);
    if (madeFolder !== undefined && !renamed) await removeMadeParents(target, madeFolder);
    if (renamed) {
      // The file is in place, but the folder's entry for it may not be on the disk yet.
      const why = (e as NodeJS.ErrnoException)?.code ?? (e as Error)?.message;
      throw new ExportError(`wrote ${target}, but could not make it durable (syncing its folder failed: ${why}); it may not survive a power loss — check the disk`, { cause: e });
    }
    if (e instanceof ExportError || e instanceof RangeError) throw e;
    if (e instanceof StoreError) {
      // The source could not give a term (damaged or unreadable store): the export fails, naming it.
      throw new ExportError(`nothing was written to ${target}: ${e.message}`, { cause: e, term: e.term });
    }
    throw new ExportError(describe(e, target), { cause: e });
  }
}

function missingTerm(n: number, target: string, why: string): ExportError {
  return new ExportError(`term ${n} is missing: ${why}; nothing was written to ${target}`, { term: n });
}
