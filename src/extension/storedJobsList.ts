// What "Manage Stored Jobs…" lists: the current job's state directory and its archives (state/archive-*),
// with their terms, target, size and date. No vscode here; only fs.promises and the store's async reader, so
// the extension host never waits on the disk (and plain-Node unit tests can run it). The host passes
// vscode.l10n and vscode.env.language to storedJobDetail (see src/common/l10n.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as vscode from 'vscode';
import { byteTexts, english } from '../common/l10n';
import { AsyncTermReader } from '../store';
import { NumberFormat, archiveTime, formatBytes } from '../common/format';

export interface StoredJob {
  dir: string;
  /** The current job's state directory (never deleted from here), or an archive of an earlier one. */
  current: boolean;
  /** Terms stored (0 when it cannot be read; `problem` then says why). */
  terms: number;
  /** The count its newest snapshot was computing towards, when one can be read. */
  target?: number;
  /** Sum of its files' sizes (the current job's archives not included). */
  bytes: number;
  /** When it was archived (from its name), else its folder's modification time. */
  date: number;
  problem?: string;
}

/** Total size of the files under `dir`, not descending into `skip` (the current job's archives). */
export async function dirSize(dir: string, skip: (name: string) => boolean = () => false): Promise<number> {
  let total = 0;
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    if (skip(e.name)) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += await dirSize(p);
    else total += (await fs.promises.lstat(p).catch(() => undefined))?.size ?? 0;
  }
  return total;
}

/** The target in the header of the newest snapshot (`snapshot-<gen>.snap`): only its first bytes are read. */
export async function snapshotTarget(dir: string): Promise<number | undefined> {
  const names = (await fs.promises.readdir(dir).catch(() => [] as string[])).filter((n) => /^snapshot-\d{10}\.snap$/.test(n)).sort().reverse();
  for (const name of names) {
    const fh = await fs.promises.open(path.join(dir, name), 'r').catch(() => undefined);
    if (!fh) continue;
    try {
      // magic (8) | version (4) | header length (4) | JSON header — the checksum is the reader's business.
      const head = Buffer.alloc(16);
      if ((await fh.read(head, 0, 16, 0)).bytesRead < 16) continue;
      const len = head.readUInt32LE(12);
      if (len <= 0 || len > 1 << 20) continue;
      const json = Buffer.alloc(len);
      if ((await fh.read(json, 0, len, 16)).bytesRead < len) continue;
      const h = JSON.parse(json.toString('utf8')) as { target?: unknown };
      if (typeof h.target === 'number' && Number.isInteger(h.target) && h.target > 0) return h.target;
    } catch {
      // A damaged snapshot: try the one before it.
    } finally {
      await fh.close();
    }
  }
  return undefined;
}

async function describeStoredJob(dir: string, current: boolean): Promise<StoredJob> {
  let terms = 0;
  let problem: string | undefined;
  try {
    const reader = await AsyncTermReader.open(dir);
    try {
      terms = await reader.count();
    } finally {
      await reader.close();
    }
  } catch (e) {
    problem = (e as Error).message;
  }
  const [target, bytes, st] = await Promise.all([
    snapshotTarget(dir),
    dirSize(dir, current ? (n) => n.startsWith('archive-') : undefined),
    fs.promises.stat(dir).catch(() => undefined),
  ]);
  const date = (current ? undefined : archiveTime(path.basename(dir))) ?? st?.mtimeMs ?? 0;
  return { dir, current, terms, target, bytes, date, problem };
}

/** The current job (when its state directory exists) and its archives, newest archive first. */
export async function listStoredJobs(stateDir: string): Promise<StoredJob[]> {
  const names = await fs.promises.readdir(stateDir, { withFileTypes: true }).catch(() => [] as fs.Dirent[]);
  const archives = names.filter((e) => e.isDirectory() && e.name.startsWith('archive-')).map((e) => path.join(stateDir, e.name));
  const exists = await fs.promises.stat(stateDir).then(() => true, () => false);
  const jobs = await Promise.all([...(exists ? [describeStoredJob(stateDir, true)] : []), ...archives.map((a) => describeStoredJob(a, false))]);
  return [...jobs.filter((j) => j.current), ...jobs.filter((j) => !j.current).sort((a, b) => b.date - a.date)];
}

/** "1,234 terms of 2,000 · 3.2 MB" (what the pick shows of a job), in the language of `l10n` and `locale`. */
export function storedJobDetail(j: StoredJob, l10n: Pick<typeof vscode.l10n, 't'> = english, locale = 'en'): string {
  const nf = new NumberFormat(locale);
  const terms = nf.int(j.terms);
  let text: string;
  if (j.problem) text = l10n.t('unreadable: {0}', j.problem);
  else if (j.target) text = j.terms === 1 ? l10n.t('{0} term of {1}', terms, nf.int(j.target)) : l10n.t('{0} terms of {1}', terms, nf.int(j.target));
  else text = j.terms === 1 ? l10n.t('{0} term', terms) : l10n.t('{0} terms', terms);
  return `${text} · ${formatBytes(j.bytes, byteTexts(l10n), nf)}`;
}
