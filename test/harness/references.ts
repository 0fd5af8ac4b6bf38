// Reference data (OEIS b-file, PARI/GP hashes) and read-only access to a job's stored terms, for the
// integration tests. Plain Node: used by the outer tests (test/vscode) and inside the extension host
// (test/integration). Reads the state directory only through the store's read paths, never writes.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { AsyncTermReader, StateDir } from '../../src/store';

/** test/fixtures, found from out/test/... and from test/... alike. */
export const FIXTURES_DIR: string = (() => {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'test', 'fixtures');
    if (fs.existsSync(path.join(candidate, 'b000182.txt'))) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`test/fixtures/b000182.txt not found above ${__dirname}`);
  }
})();

/** OEIS b000182.txt (n = 1..500), exactly as stored in the fixtures. */
export function referenceBfile500(): Buffer {
  return fs.readFileSync(path.join(FIXTURES_DIR, 'b000182.txt'));
}

/** sha256 and size of the PARI/GP b-files for N = 1000, 2000, 4000, 6000. */
export function referenceBfileHash(n: 1000 | 2000 | 4000 | 6000): { sha256: string; bytes: number } {
  const j = JSON.parse(fs.readFileSync(path.join(FIXTURES_DIR, 'reference-bfile-hashes.json'), 'utf8')) as {
    bfiles: Record<string, { sha256: string; bytes: number }>;
  };
  const r = j.bfiles[String(n)];
  if (!r) throw new Error(`no reference b-file hash for N = ${n}`);
  return r;
}

export interface StoredBfile {
  /** Terms in the log. */
  count: number;
  sha256: string;
  bytes: number;
}

/** The b-file ("n T(n)\n" lines) of the stored terms 1..count, hashed while streaming (48 MB for N = 4000). */
export function storedBfileHash(stateDir: string): StoredBfile {
  const sd = StateDir.open(stateDir, { mode: 'read' });
  try {
    const hash = crypto.createHash('sha256');
    let bytes = 0;
    let expected = 1;
    for (const t of sd.iterate()) {
      if (t.n !== expected) throw new Error(`stored terms are out of order: got T(${t.n}) where T(${expected}) was expected`);
      expected++;
      const line = Buffer.from(`${t.n} ${t.digits}\n`, 'latin1');
      hash.update(line);
      bytes += line.length;
    }
    return { count: sd.count, sha256: hash.digest('hex'), bytes };
  } finally {
    sd.close();
  }
}

/** The b-file of stored terms 1..upTo as bytes (small jobs only). */
export function storedBfile(stateDir: string, upTo?: number): Buffer {
  const sd = StateDir.open(stateDir, { mode: 'read' });
  try {
    const parts: string[] = [];
    for (const t of sd.iterate(1, Math.min(upTo ?? sd.count, sd.count))) parts.push(`${t.n} ${t.digits}\n`);
    return Buffer.from(parts.join(''), 'latin1');
  } finally {
    sd.close();
  }
}

/**
 * Terms durable in the log as the next writer will find them, right after a writer was killed: the log read
 * to its end (a block appended just before the kill may not be in the index yet, which storedCount reads).
 */
export function durableCount(stateDir: string): number {
  const s = StateDir.open(stateDir, { mode: 'read' });
  try {
    return s.count;
  } finally {
    s.close();
  }
}

/** Terms stored right now as the index names them (safe while a writer appends: the extension's own reader).
 *  0 when there is no state yet. */
export async function storedCount(stateDir: string): Promise<number> {
  const reader = await AsyncTermReader.open(stateDir);
  try {
    return await reader.count();
  } finally {
    await reader.close();
  }
}

export interface StoredSnapshot {
  count: number;
  generation: number;
  position: number;
  target: number;
  /** ISO time the snapshot was written. */
  createdAt: string;
  /** "from..to" of the blocks whose in-progress state the snapshot holds. */
  blocks: string[];
}

/** The newest snapshot and the log's length (read mode). Null when there is no snapshot. */
export function latestSnapshot(stateDir: string): StoredSnapshot | null {
  const sd = StateDir.open(stateDir, { mode: 'read' });
  try {
    const s = sd.latestSnapshot;
    if (!s) return null;
    const blocks = Array.isArray(s.header.blocks) ? (s.header.blocks as unknown[]).map(String) : [];
    return { count: sd.count, generation: s.header.generation, position: s.header.position, target: s.header.target, createdAt: s.header.createdAt, blocks };
  } finally {
    sd.close();
  }
}

/** Polls `probe` until it returns a value other than undefined/false; throws `what` after timeoutMs. */
export async function poll<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs: number, everyMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > until) {
      const why = lastError ? ` (last error: ${lastError instanceof Error ? lastError.message : inspect(lastError)})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
