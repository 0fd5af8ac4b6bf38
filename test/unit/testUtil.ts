// Helpers shared by the unit tests: reference terms, temporary directories, a seeded PRNG, StoreError checks.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StoreError, type Term } from '../../src/store';
import { FIXTURES_DIR, REFERENCE } from './reference';

/** Path of OEIS b000182.txt (for child processes that load it themselves). */
export function fixturePath(): string {
  return path.join(FIXTURES_DIR, 'b000182.txt');
}

/** OEIS b000182.txt as terms (n = 1..500). */
export const REF_TERMS: Term[] = REFERENCE.map((digits, i) => ({ n: i + 1, digits }));

/** Temporary directories under os.tmpdir(), remembered in `roots` so an after() hook can remove them. */
export function tempDirs(prefix: string): { roots: string[]; tmpDir: (tag: string) => string } {
  const roots: string[] = [];
  return {
    roots,
    tmpDir: (tag: string): string => {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-${tag}-`));
      roots.push(d);
      return d;
    },
  };
}

/** mulberry32: small seeded PRNG, so a failing case can be replayed from its printed seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs fn, expecting a one-line StoreError with the given code. */
export function expectStoreError(fn: () => unknown, code: string): StoreError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof StoreError, `expected StoreError ${code}, got ${String((e as Error)?.stack ?? e)}`);
    assert.strictEqual(e.code, code, e.message);
    assert.ok(!e.message.includes('\n'), 'message must be one line');
    return e;
  }
  assert.fail(`expected StoreError ${code}`);
}
