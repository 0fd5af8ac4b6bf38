// `tangent-numbers --verify FILE` and the b-file checker under it, against PARI/GP's and OEIS's b-files:
// a right file passes, every kind of damage is named by line and term, and the residues the failure
// quotes are PARI/GP's (test/fixtures/tangent-residues.txt), not the code's own.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { BfileChecker, VERIFY_GUARANTEE, verifyBfile } from '../../src/engine/bfileVerifier';
import { VERIFIER_PRIMES } from '../../src/engine/verifier';
import { FIXTURES_DIR, REFERENCE_BFILE, REFERENCE_HASHES, REFERENCE_RESIDUES } from './reference';
import { mulberry32, tempDirs } from './testUtil';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');
const OEIS = path.join(FIXTURES_DIR, 'b000182.txt');
const { roots, tmpDir } = tempDirs('tn-verify');

function runCli(args: string[], nodeArgs: string[] = []): { status: number | null; stdout: string; stderr: string; ms: number } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [...nodeArgs, CLI, ...args], { encoding: 'latin1', timeout: 300_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t0 };
}

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('verify a b-file (tangent-numbers --verify)', function () {
  this.timeout(600_000);
  let dir: string;
  /** PARI/GP's 2000-term b-file (made by the CLI, its sha256 checked against the reference first). */
  let b2000: string;
  let lines2000: string[];
  const timings: Record<string, number> = {};

  before(function () {
    dir = tmpDir('files');
    b2000 = path.join(dir, 'b2000.txt');
    const made = runCli(['--count', '2000', '--state', path.join(dir, 'state'), '--out', b2000]);
    assert.equal(made.status, 0, made.stderr);
    timings.compute2000Ms = Math.round(made.ms);
    assert.equal(sha256(b2000), REFERENCE_HASHES['2000'].sha256, 'the 2000-term b-file is PARI/GP\'s (sha256)');
    lines2000 = fs.readFileSync(b2000, 'latin1').split('\n');
    assert.equal(lines2000.pop(), '', 'the b-file ends with a newline');
  });

  after(function () {
    console.log(`      timings: ${JSON.stringify(timings)}`);
    for (const d of roots.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  /** A file of `lines` (each ended by a newline). */
  function write(name: string, lines: string[]): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, lines.map((l) => l + '\n').join(''), 'latin1');
    return file;
  }

  it("OEIS b000182.txt (500 terms) passes: exit 0, one line on stdout", function () {
    const r = runCli(['--verify', OEIS]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${OEIS}: all 500 terms of A000182 verified (T(1..500))\n`);
    assert.equal(r.stderr, '');
  });

  // How long it takes against computing the same terms is measured by the bench (npm run bench), not here.
  it("PARI/GP's 2000-term b-file passes", function () {
    const r = runCli(['--verify', b2000]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${b2000}: all 2000 terms of A000182 verified (T(1..2000))\n`);
    timings.verify2000Ms = Math.round(r.ms);
  });

  it('one wrong digit: exit 1, FILE:LINE names the term, with its residues against PARI/GP\'s', function () {
    const n = 1234;
    const lines = [...lines2000];
    const [index, digits] = lines[n - 1].split(' ');
    const at = Math.floor(digits.length / 2);
    const changed = digits.slice(0, at) + String((Number(digits[at]) + 3) % 10) + digits.slice(at + 1);
    lines[n - 1] = `${index} ${changed}`;
    const file = write('wrong-digit.txt', lines);
    const r = runCli(['--verify', file]);
    assert.equal(r.status, 1);
    const [p] = VERIFIER_PRIMES;
    const got = Number((BigInt(changed) % BigInt(p)).toString());
    assert.equal(r.stderr, `${file}:${n}: term ${n} is wrong (it is ${got} mod ${p}, the independent check says ${REFERENCE_RESIDUES[n - 1][0]})\n`);
    assert.equal(r.stdout, '');
  });

  it('a missing line: exit 1, "term n is missing"', function () {
    const lines = lines2000.filter((_, i) => i !== 776); // term 777
    const file = write('missing.txt', lines);
    const r = runCli(['--verify', file]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `${file}:777: term 777 is missing (the line holds term 778)\n`);
  });

  it('an out-of-order line and a repeated line: exit 1, "expected term n, found term m"', function () {
    const swapped = [...lines2000];
    [swapped[299], swapped[300]] = [swapped[300], swapped[299]];
    const file = write('swapped.txt', swapped);
    const r = runCli(['--verify', file]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `${file}:300: expected term 300, found term 301 (term 300 is on line 301)\n`);

    const repeated = [...lines2000.slice(0, 1500), lines2000[1499], ...lines2000.slice(1500)];
    const again = write('repeated.txt', repeated);
    const r2 = runCli(['--verify', again]);
    assert.equal(r2.status, 1);
    assert.equal(r2.stderr, `${again}:1501: expected term 1501, found term 1500\n`);
  });

  it('a comment header, blank lines anywhere and CRLF line ends pass; a wrong term after them is named by its line in the file', function () {
    const lines = ['# A000182 (Tangent numbers)', '# n T(n)', '', ...REFERENCE_BFILE.trimEnd().split('\n').slice(0, 250), '', '   ', '# middle', ...REFERENCE_BFILE.trimEnd().split('\n').slice(250), '', '# end'];
    const file = path.join(dir, 'commented.txt');
    fs.writeFileSync(file, lines.map((l) => l + '\r\n').join(''), 'latin1');
    const r = runCli(['--verify', file]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${file}: all 500 terms of A000182 verified (T(1..500))\n`);

    // Term 400 is on line 3 + 400 + 3 = 406 of this file.
    const bad = [...lines];
    assert.match(bad[405], /^400 /);
    bad[405] = bad[405].replace(/(\d)$/, (d) => String((Number(d) + 1) % 10));
    const badFile = write('commented-wrong.txt', bad);
    const r2 = runCli(['--verify', badFile]);
    assert.equal(r2.status, 1);
    assert.match(r2.stderr, new RegExp(`^${badFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:406: term 400 is wrong \\(it is \\d+ mod ${VERIFIER_PRIMES[0]}, the independent check says ${REFERENCE_RESIDUES[399][0]}\\)\n$`));
  });

  it('random bytes, an empty file, a line that is not "n digits", a missing file: exit 2, one line', function () {
    const random = path.join(dir, 'random.bin');
    const rand = mulberry32(0x5eed);
    fs.writeFileSync(random, Buffer.from(Array.from({ length: 1 << 20 }, () => Math.floor(rand() * 256))));
    const empty = path.join(dir, 'empty.txt');
    fs.writeFileSync(empty, '# nothing here\n\n');
    const words = write('words.txt', ['1 1', '2 2', '3 sixteen']);
    const cases: [string, RegExp][] = [
      [random, /:1: not a b-file of A000182: binary data \(byte 0x[0-9a-f]{2}\)$/],
      [empty, /:2: not a b-file of A000182: it holds no terms$/],
      [words, /:3: not a b-file of A000182: "3 sixteen" is not "n T\(n\)"$/],
      [path.join(dir, 'no-such-file.txt'), /^tangent-numbers: cannot read .*no-such-file\.txt: ENOENT/],
    ];
    for (const [file, re] of cases) {
      const r = runCli(['--verify', file]);
      assert.equal(r.status, 2, `${file}: ${r.stderr}`);
      assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
      assert.match(r.stderr.trimEnd(), re);
      assert.equal(r.stdout, '');
    }
  });

  it('a huge line (128 MB) fails at once in bounded memory: exit 1 for term 1 with too many digits, exit 2 without an index', function () {
    // The process's peak RSS, printed at exit by a preloaded script: VmHWM of its own memory (getrusage's maxRSS
    // carries over the peak of the process that forked it, the whole test run's).
    const preload = path.join(dir, 'maxrss.js');
    fs.writeFileSync(preload, "process.on('exit', () => { const fs = require('fs'); fs.writeSync(2, 'maxrss ' + /VmHWM:\\s+(\\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1] + '\\n'); });\n");
    const size = 128 << 20;
    const huge = path.join(dir, 'huge.txt');
    const fd = fs.openSync(huge, 'w');
    fs.writeSync(fd, '1 ');
    const block = Buffer.alloc(1 << 20, '7');
    for (let i = 0; i < size / block.length; i++) fs.writeSync(fd, block);
    fs.closeSync(fd);
    const noIndex = path.join(dir, 'huge-no-index.txt');
    fs.copyFileSync(huge, noIndex);
    const patch = fs.openSync(noIndex, 'r+');
    fs.writeSync(patch, '77', 0, 'latin1'); // "1 777…" becomes "777777…": no index, no separator
    fs.closeSync(patch);
    for (const [file, status, re] of [
      [huge, 1, /:1: term 1 is wrong \(it has more than \d+ digits, more than T\(1\) can have\)$/],
      [noIndex, 2, /:1: not a b-file of A000182: the line is longer than \d+ bytes/],
    ] as const) {
      const r = runCli(['--verify', file], ['--require', preload]);
      assert.equal(r.status, status, r.stderr);
      const [line, rss] = r.stderr.trimEnd().split('\n');
      assert.match(line, re);
      const maxRssMb = Number(/^maxrss (\d+)$/.exec(rss)![1]) / 1024;
      assert.ok(maxRssMb < 120, `peak RSS ${maxRssMb.toFixed(0)} MB for a ${size >> 20} MB line`);
      timings[`hugeLineMaxRssMb_${status}`] = Math.round(maxRssMb);
    }
  });

  it('the verdict does not depend on how the file is cut into chunks (lines across chunk boundaries)', async function () {
    const bytes = fs.readFileSync(OEIS);
    const rand = mulberry32(42);
    for (const maxChunk of [1, 7, 100, 5000]) {
      const checker = new BfileChecker();
      for (let at = 0; at < bytes.length; ) {
        const len = 1 + Math.floor(rand() * maxChunk);
        assert.equal(checker.push(bytes.subarray(at, at + len)), null);
        at += len;
      }
      assert.deepEqual(checker.end(), { kind: 'verified', terms: 500, lines: 500, bytes: bytes.length });
    }
    // Small reads through the file API, with a wrong last digit in term 321 (so its line crosses reads).
    const text = REFERENCE_BFILE.split('\n');
    text[320] = text[320].slice(0, -1) + String((Number(text[320].slice(-1)) + 5) % 10);
    const file = write('chunks-wrong.txt', text.slice(0, -1));
    let calls = 0;
    const v = await verifyBfile(file, { chunkBytes: 97, onProgress: () => calls++ });
    assert.equal(v.kind, 'wrong');
    assert.equal(v.kind === 'wrong' && v.line, 321);
    assert.equal(v.kind === 'wrong' && v.n, 321);
    assert.ok(calls > 100, `progress after each read (${calls})`);
  });

  it('the event loop keeps its turns while a file is verified (reads are awaited chunk by chunk)', async function () {
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      const v = await verifyBfile(b2000);
      assert.equal(v.kind, 'verified');
    } finally {
      clearInterval(timer);
      delay.disable();
    }
    const maxMs = delay.max / 1e6;
    timings.verify2000MaxLoopDelayMs = Math.round(maxMs);
    assert.ok(ticks > 10, `a 1 ms timer ran ${ticks} times meanwhile`);
    assert.ok(maxMs < 100, `the event loop was held ${maxMs.toFixed(1)} ms at once`);
  });

  it('cancelling stops between reads with the terms right so far', async function () {
    const abort = new AbortController();
    const v = await verifyBfile(b2000, {
      chunkBytes: 1 << 16,
      signal: abort.signal,
      onProgress: (read) => {
        if (read >= 1 << 20) abort.abort();
      },
    });
    assert.equal(v.kind, 'cancelled');
    assert.ok(v.kind === 'cancelled' && v.terms > 500 && v.terms < 2000, `stopped after ${v.kind === 'cancelled' ? v.terms : '?'} terms`);
  });

  it('--help states the guarantee (two primes, p·q, the chance of missing a random corruption)', function () {
    const r = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.ok(r.stdout.includes('tangent-numbers --verify FILE'));
    assert.ok(r.stdout.replace(/\s+/g, ' ').includes(VERIFY_GUARANTEE), r.stdout);
    assert.match(VERIFY_GUARANTEE, new RegExp(`mod p = ${VERIFIER_PRIMES[0]} and mod q = ${VERIFIER_PRIMES[1]}`));
    assert.match(VERIFY_GUARANTEE, /not a multiple of p·q/);
    const r2 = runCli(['--verify', OEIS, '--count', '5']);
    assert.equal(r2.status, 2);
    assert.match(r2.stderr, /--verify FILE takes no other option/);
  });
});
