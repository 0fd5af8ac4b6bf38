// Small files the host replaces whole (job.json, the user's intent): written so that a crash or power loss
// leaves either the old or the new content, never a torn or empty file, and so that two writers never share
// a temporary file. Only fs.promises: the extension host's event loop is never blocked on the disk.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const TEMP_SUFFIX = '.tmp';

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}

function tempPrefix(file: string): string {
  return `.${path.basename(file)}.`;
}

/** Unique temporary name beside `file`: .<name>.<pid>.<random>.tmp (the pid tells whose it is). */
function tempName(file: string): string {
  return path.join(path.dirname(file), `${tempPrefix(file)}${process.pid}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
}

/** Writes `data` to a unique temporary file, fsyncs it, renames it over `file`, then fsyncs the folder (the rename). */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempName(file);
  try {
    const fh = await fs.promises.open(tmp, 'wx');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
  await fsyncDir(path.dirname(file));
}

async function fsyncDir(dir: string): Promise<void> {
  // Windows can neither open nor fsync a folder; NTFS journals the rename itself.
  if (process.platform === 'win32') return;
  const fh = await fs.promises.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Removes temporary files of `file` left by writers that died mid-write (their process is gone, or it is this
 * process, which has no write of `file` in progress when it calls this). Returns how many were removed.
 */
export async function removeStaleTemps(file: string): Promise<number> {
  const prefix = tempPrefix(file);
  const dir = path.dirname(file);
  const names = await fs.promises.readdir(dir).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names) {
    const m = name.startsWith(prefix) ? /^(\d+)\.[0-9a-f]+\.tmp$/.exec(name.slice(prefix.length)) : null;
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && processExists(pid)) continue;
    await fs.promises.rm(path.join(dir, name), { force: true });
    removed++;
  }
  return removed;
}
