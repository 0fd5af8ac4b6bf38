// Writes exported terms to a file atomically: stream into a temporary file next to the target,
// fsync, then rename over the target. A failure (full disk, cancel, bad path) removes only our
// temporary file, so the target is either the complete new file or untouched. A process killed
// mid-export cannot remove its temporary file; the next export to the same target on this host does.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { footer, header, linePrefix, lineSuffix, type ExportFormat } from '../engine/formats';
import type { Term } from '../engine/engine';
import type { TermBytes } from './asyncReader';
import { isPidAlive } from './lock';

export class ExportError extends Error {
  override name = 'ExportError';
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
    case 'EDQUOT':
      return `the disk is full; nothing was written to ${file}`;
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return `cannot write to ${file}: permission denied`;
    case 'ENOENT':
      return `cannot write to ${file}: the folder ${path.dirname(file)} does not exist`;
    case 'ENOTDIR':
      return `cannot write to ${file}: a part of the path is not a folder`;
    case 'EISDIR':
      return `cannot write to ${file}: it is a folder`;
    default:
      return `cannot write to ${file}: ${err?.message ?? String(e)}`;
  }
}

/** A term to export: its digits as a string, or as the ASCII bytes the store holds. */
export type ExportTerm = Term | TermBytes;

export async function exportTerms(
  terms: AsyncIterable<ExportTerm> | Iterable<ExportTerm>,
  file: string,
  format: ExportFormat,
  options: { signal?: AbortSignal; onProgress?: (termsWritten: number, bytes: number) => void } = {},
): Promise<ExportResult> {
  const target = path.resolve(file);
  const temp = tempPath(target);
  let handle: fs.promises.FileHandle | undefined;
  let count = 0;
  let bytes = 0;
  try {
    if (fs.existsSync(target) && fs.statSync(target).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
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
    await put(header(format));
    for await (const term of terms) {
      if (options.signal?.aborted) throw new ExportError('the export was cancelled; nothing was written');
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
    await put(footer(format, count === 0));
    await flush();
    await backgroundSync?.catch(() => undefined);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.promises.rename(temp, target);
    options.onProgress?.(count, bytes);
    return { file: target, terms: count, bytes, abandonedTempsRemoved };
  } catch (e) {
    await handle?.close().catch(() => undefined);
    await fs.promises.rm(temp, { force: true }).catch(() => undefined);
    if (e instanceof ExportError) throw e;
    throw new ExportError(describe(e, target));
  }
}
