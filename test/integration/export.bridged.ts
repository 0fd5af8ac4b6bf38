// In-host: `tangentNumbers.export` with arguments writes every format exactly as the references say
// (b000182.txt from OEIS for n ≤ 500, PARI/GP hashes and terms up to n = 4000). Run by the bridge
// (test/vscode/termsView.test.ts); not a *.test.js file, so the generic in-host runner does not load it.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  FIXTURES,
  ensureFinishedJob,
  extensionApi,
  referenceBfileHashes,
  referenceBigTerms,
  referenceTerms,
  sha256,
  sha256File,
  waitForJob,
} from '../harness/inHost';

interface ExportResult {
  file: string;
  terms: number;
}

const exportCmd = (args: Record<string, unknown>) => vscode.commands.executeCommand<ExportResult | undefined>('tangentNumbers.export', args);

suite('export (in-host): every format against the reference', function () {
  let dir: string;
  let ref: Map<number, string>;
  const bfileText = () => fs.readFileSync(path.join(FIXTURES, 'b000182.txt'), 'latin1');

  suiteSetup(async function () {
    this.timeout(120_000);
    ref = referenceTerms();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tangent-export-'));
    await ensureFinishedJob(500);
  });

  suiteTeardown(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('b-file of all 500 terms is byte-identical to b000182.txt', async () => {
    const file = path.join(dir, 'b000182.txt');
    const r = await exportCmd({ format: 'bfile', file });
    assert.deepEqual(r, { file, terms: 500 });
    const got = fs.readFileSync(file);
    const want = Buffer.from(bfileText(), 'latin1');
    assert.equal(got.length, want.length, 'size');
    assert.ok(got.equals(want), 'the b-file differs from b000182.txt');
  });

  test('CSV: header "n,digits,value", then n,digits,value per term', async () => {
    const file = path.join(dir, 'A000182.csv');
    assert.equal((await exportCmd({ format: 'csv', file }))?.terms, 500);
    const lines = fs.readFileSync(file, 'latin1').split('\n');
    assert.equal(lines[0], 'n,digits,value');
    assert.equal(lines.at(-1), '', 'ends with a newline');
    assert.equal(lines.length, 502);
    for (let n = 1; n <= 500; n++) {
      const v = ref.get(n)!;
      assert.equal(lines[n], `${n},${v.length},${v}`, `row of T(${n})`);
    }
  });

  test('JSON: parses to [{n, digits, value}] with values as strings', async () => {
    const file = path.join(dir, 'A000182.json');
    assert.equal((await exportCmd({ format: 'json', file }))?.terms, 500);
    const text = fs.readFileSync(file, 'utf8');
    // Values are strings in the text itself, not numbers that a parser would round.
    assert.match(text, /"value":"2"/);
    const data = JSON.parse(text) as { n: unknown; digits: unknown; value: unknown }[];
    assert.ok(Array.isArray(data));
    assert.equal(data.length, 500);
    data.forEach((t, i) => {
      assert.deepEqual(Object.keys(t).sort(), ['digits', 'n', 'value']);
      assert.equal(typeof t.value, 'string', `value of T(${i + 1}) is a string`);
      assert.deepEqual(t, { n: i + 1, digits: ref.get(i + 1)!.length, value: ref.get(i + 1) });
    });
  });

  test('plain list: one value per line, nothing else', async () => {
    const file = path.join(dir, 'A000182.txt');
    assert.equal((await exportCmd({ format: 'txt', file }))?.terms, 500);
    const want = [...ref.values()].join('\n') + '\n';
    assert.equal(fs.readFileSync(file, 'latin1'), want);
  });

  test('ranges: first k terms and from..to, in every format', async () => {
    const lines = bfileText().split('\n');
    const cases: { from?: number; to?: number; lo: number; hi: number }[] = [
      { to: 37, lo: 1, hi: 37 }, // first k
      { from: 100, to: 250, lo: 100, hi: 250 },
      { from: 498, lo: 498, hi: 500 }, // from n to the end
      { from: 500, to: 500, lo: 500, hi: 500 }, // a single term
    ];
    for (const c of cases) {
      const tag = `${c.lo}-${c.hi}`;
      const b = path.join(dir, `range-${tag}.b.txt`);
      assert.deepEqual(await exportCmd({ format: 'bfile', file: b, from: c.from, to: c.to }), { file: b, terms: c.hi - c.lo + 1 });
      assert.equal(fs.readFileSync(b, 'latin1'), lines.slice(c.lo - 1, c.hi).join('\n') + '\n', `b-file ${tag}`);

      const csv = path.join(dir, `range-${tag}.csv`);
      await exportCmd({ format: 'csv', file: csv, from: c.from, to: c.to });
      const rows = fs.readFileSync(csv, 'latin1').trimEnd().split('\n');
      assert.equal(rows[0], 'n,digits,value');
      assert.deepEqual(rows.slice(1), range(c.lo, c.hi).map((n) => `${n},${ref.get(n)!.length},${ref.get(n)}`), `CSV ${tag}`);

      const json = path.join(dir, `range-${tag}.json`);
      await exportCmd({ format: 'json', file: json, from: c.from, to: c.to });
      assert.deepEqual(JSON.parse(fs.readFileSync(json, 'utf8')), range(c.lo, c.hi).map((n) => ({ n, digits: ref.get(n)!.length, value: ref.get(n) })), `JSON ${tag}`);

      const txt = path.join(dir, `range-${tag}.txt`);
      await exportCmd({ format: 'txt', file: txt, from: c.from, to: c.to });
      assert.equal(fs.readFileSync(txt, 'latin1'), range(c.lo, c.hi).map((n) => ref.get(n)).join('\n') + '\n', `plain ${tag}`);
    }
  });

  test('wrong arguments export nothing (and write nothing)', async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'bad-'));
    const file = path.join(sub, 'out.txt');
    const bad: Record<string, unknown>[] = [
      { format: 'exe', file },
      { format: 'bfile', file, from: 0 },
      { format: 'bfile', file, to: 501 },
      { format: 'bfile', file, from: 10, to: 5 },
      { format: 'bfile', file, from: 1.5 },
      { format: 'bfile', file, from: '1' },
      { format: 'bfile', file, to: 2 ** 53 },
      { format: 'bfile', file, from: Number.NaN },
      { format: 'bfile', file: 42 },
      { format: 'bfile', file: '' },
    ];
    for (const args of bad) assert.equal(await exportCmd(args), undefined, `export ${JSON.stringify(args)}`);
    assert.deepEqual(fs.readdirSync(sub), []);
  });

  test('replaces an existing file whole and leaves no temporary file', async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'replace-'));
    const file = path.join(sub, 'out.txt');
    fs.writeFileSync(file, 'old content that is longer than the new one\n'.repeat(100));
    assert.equal((await exportCmd({ format: 'txt', file, to: 3 }))?.terms, 3);
    assert.equal(fs.readFileSync(file, 'latin1'), '1\n2\n16\n');
    assert.deepEqual(fs.readdirSync(sub), ['out.txt']);
  });

  test('4000 terms: the b-file and its 1000/2000 prefixes match the PARI/GP hashes; single terms match', async function () {
    this.timeout(180_000);
    await vscode.commands.executeCommand('tangentNumbers.compute', { count: 4000, mode: 'extend' });
    const v = await waitForJob((j) => j.state === 'done' && j.done === 4000, 150_000);
    assert.equal(v.target, 4000);
    const hashes = referenceBfileHashes();
    for (const n of ['1000', '2000', '4000']) {
      const file = path.join(dir, `b000182-${n}.txt`);
      assert.deepEqual(await exportCmd({ format: 'bfile', file, to: Number(n) }), { file, terms: Number(n) });
      assert.equal(fs.statSync(file).size, hashes[n].bytes, `size of the ${n}-term b-file`);
      assert.equal(await sha256File(file), hashes[n].sha256, `sha256 of the ${n}-term b-file`);
      fs.rmSync(file);
    }
    for (const t of referenceBigTerms()) {
      const file = path.join(dir, `T${t.n}.txt`);
      assert.equal((await exportCmd({ format: 'txt', file, from: t.n, to: t.n }))?.terms, 1);
      const value = fs.readFileSync(file, 'latin1').replace(/\n$/, '');
      assert.equal(value.length, t.digits, `digits of T(${t.n})`);
      assert.equal(value.slice(0, 24), t.head);
      assert.equal(value.slice(-24), t.tail);
      assert.equal(sha256(value), t.sha256, `sha256 of T(${t.n})`);
    }
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file is left');
    assert.equal((await extensionApi()).job.done, 4000);
  });
});

function range(lo: number, hi: number): number[] {
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}
