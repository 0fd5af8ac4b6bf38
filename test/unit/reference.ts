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

export const REFERENCE_HASHES: Record<string, { sha256: string; bytes: number }> = (
  JSON.parse(fs.readFileSync(path.join(FIXTURES, 'reference-bfile-hashes.json'), 'utf8')) as { bfiles: Record<string, { sha256: string; bytes: number }> }
).bfiles;

/** T(n) mod each verifier prime for n = 1..17000 (PARI/GP), index n-1: enough to reach the verifier's second run of 2^13 products. */
export const REFERENCE_RESIDUES: readonly (readonly [number, number])[] = fs
  .readFileSync(path.join(FIXTURES, 'tangent-residues.txt'), 'latin1')
  .split('\n')
  .filter((l) => l !== '' && !l.startsWith('#'))
  .map((l, i) => {
    const [n, a, b] = l.split(' ').map(Number);
    if (n !== i + 1) throw new Error(`residue fixture line for n = ${n} is out of place`);
    return [a, b] as const;
  });

export const FIXTURES_DIR = FIXTURES;
