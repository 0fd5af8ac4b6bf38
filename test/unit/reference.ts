// Reference values for tests: OEIS A000182 b-file (n = 1..500) and PARI/GP hashes of longer b-files.
import * as fs from 'node:fs';
import * as path from 'node:path';

const FIXTURES = path.resolve(__dirname, '../../../test/fixtures');

export const REFERENCE_BFILE = fs.readFileSync(path.join(FIXTURES, 'b000182.txt'), 'latin1');

/** Reference digits of T(n) for n = 1..500, index n-1. */
export const REFERENCE: readonly string[] = REFERENCE_BFILE.trimEnd()
  .split('\n')
  .map((l, i) => {
    const [n, v] = l.split(' ');
    if (Number(n) !== i + 1) throw new Error(`fixture line ${i + 1} is for n = ${n}`);
    return v;
  });

export const REFERENCE_HASHES: Record<string, { sha256: string; bytes: number }> = JSON.parse(
  fs.readFileSync(path.join(FIXTURES, 'reference-bfile-hashes.json'), 'utf8'),
).bfiles;

export const FIXTURES_DIR = FIXTURES;
