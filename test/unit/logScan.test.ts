// The background check of the whole log (StateDir.beginLogScan / LogScan.step) and its repair
// (StateDir.healFrom), and reads that meet damage: against the OEIS reference terms, damage made by hand
// at the first, a middle and the last record, in every field of a record, and in a log above the 4 MiB
// threshold below which opening checks the whole log.
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AsyncTermReader, StateDir, StoreError, type LogScanStep, type Term } from '../../src/store';
import { fs as storeFs } from '../../src/store/fileLayer';
import { ExportError, exportTerms } from '../../src/store/exportFile';
import { FIXTURES_DIR, REFERENCE_HASHES } from './reference';
import { REF_TERMS, expectStoreError, mulberry32, tempDirs } from './testUtil';

const REF: Term[] = REF_TERMS;
const CLI = path.resolve(__dirname, '../../../dist/cli.js');
const { roots, tmpDir } = tempDirs('tn-scan');
const SEED = process.env.STORE_TEST_SEED ? Number(process.env.STORE_TEST_SEED) : (Date.now() ^ (process.pid << 8)) >>> 0;

/** Byte offset of the record of term k, from the format: a 16-byte header, then 16 bytes + digits per record. */
function recordStart(k: number): number {
  let p = 16;
  for (let i = 0; i < k - 1; i++) p += 16 + REF[i].digits.length;
  return p;
}

/** The term whose record holds byte `pos` of the log. */
function recordAt(pos: number): number {
  let k = 1;
  while (k < REF.length && recordStart(k + 1) <= pos) k++;
  return k;
}

function flip(file: string, pos: number, x: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, pos);
    b[0] ^= x;
    fs.writeSync(fd, b, 0, 1, pos);
  } finally {
    fs.closeSync(fd);
  }
}

/** Replaces functions of the store's file layer while fn runs. */
function withStoreFs<T>(patch: Partial<typeof storeFs>, fn: () => T): T {
  const saved: Partial<Record<keyof typeof storeFs, unknown>> = {};
  for (const k of Object.keys(patch) as (keyof typeof storeFs)[]) saved[k] = storeFs[k];
  Object.assign(storeFs, patch);
  try {
    return fn();
  } finally {
    Object.assign(storeFs, saved);
  }
}

/** Runs a scan to its end, `maxBytes` a step; returns the last step, the number of steps and the most bytes one step read. */
function scanAll(sd: StateDir, maxBytes: number): { last: LogScanStep; steps: number; mostRead: number; perTerm: number } {
  const scan = sd.beginLogScan();
  let steps = 0;
  let mostRead = 0;
  let perTerm = 0;
  let last: LogScanStep;
  let before = 0;
  const realRead = storeFs.readSync;
  let read = 0;
  const counting = ((fd: number, buf: NodeJS.ArrayBufferView, offset: number, length: number, position: number) => {
    read += length;
    return realRead(fd, buf, offset, length, position);
  }) as typeof storeFs.readSync;
  do {
    read = 0;
    last = withStoreFs({ readSync: counting }, () => scan.step(maxBytes));
    steps++;
    mostRead = Math.max(mostRead, read);
    perTerm = Math.max(perTerm, read / Math.max(1, last.verifiedThrough - before));
    before = last.verifiedThrough;
    assert.ok(steps < 100000, 'the scan ends');
  } while (!last.done);
  return { last, steps, mostRead, perTerm };
}

/** A state directory holding reference terms 1..count (and snapshots at the given positions). */
function makeState(count: number, snapshotsAt: number[] = []): string {
  const dir = path.join(tmpDir('state'), 's');
  const sd = StateDir.open(dir, { durable: false });
  try {
    sd.appendTerms(REF.slice(0, count));
    for (const p of snapshotsAt) sd.writeSnapshot({ sequence: 'A000182', algorithm: 'seidel', position: p, target: count }, Buffer.from(`at ${p}`));
  } finally {
    sd.close();
  }
  return dir;
}

const LONGEST_RECORD = 16 + REF[REF.length - 1].digits.length;

describe('log scan and healing', function () {
  after(() => roots.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  before(() => console.log(`      log scan tests: seed ${SEED} (replay with STORE_TEST_SEED=${SEED})`));

  it('verifies an intact log of 500 reference terms in bounded slices', () => {
    const dir = makeState(500);
    const pristineIdx = fs.readFileSync(path.join(dir, 'terms.idx'));
    const sd = StateDir.open(dir);
    try {
      for (const maxBytes of [1, 4096, 100_000, 64 << 20]) {
        const r = scanAll(sd, maxBytes);
        assert.deepEqual(r.last, { done: true, verifiedThrough: 500 }, `maxBytes ${maxBytes}`);
        // One slice of about maxBytes, or one record if that is larger, plus 8 index bytes a term.
        assert.ok(r.mostRead <= Math.max(maxBytes, 16) + LONGEST_RECORD + 8 * 500, `maxBytes ${maxBytes}: a step read ${r.mostRead} bytes`);
        if (maxBytes === 4096) assert.ok(r.steps >= (recordStart(501) - 16) / (4096 + LONGEST_RECORD), `${r.steps} steps`);
        if (maxBytes === 64 << 20) assert.equal(r.steps, 1);
      }
      assert.deepEqual(sd.recoveries, []);
      assert.ok(fs.readFileSync(path.join(dir, 'terms.idx')).equals(pristineIdx));
      // A finished scan stays finished.
      const scan = sd.beginLogScan();
      while (!scan.step(1 << 20).done);
      assert.deepEqual(scan.step(1 << 20), { done: true, verifiedThrough: 500 });
    } finally {
      sd.close();
    }
  });

  // Every field of a record, at the first, a middle and the last record. The damage is made under an open
  // state directory (as bit rot during a run would be), so that opening cannot have healed it first.
  const fields: [string, (n: number) => number, number][] = [
    ['the magic', (n) => recordStart(n) + 1, 0x20],
    ['the term number', (n) => recordStart(n) + 4, 0x02],
    ['the length', (n) => recordStart(n) + 8, 0x01],
    ['a digit', (n) => recordStart(n) + 12 + Math.floor(REF[n - 1].digits.length / 2), 0x01],
    ['the checksum', (n) => recordStart(n) + 12 + REF[n - 1].digits.length + 2, 0xff],
  ];
  for (const n of [1, 250, 500]) {
    for (const [field, at, x] of fields) {
      it(`finds a flipped byte in ${field} of term ${n}, heals from it, and the log regrows to the same bytes`, async () => {
        const dir = makeState(500, [n - 1, 500].filter((p) => p > 0));
        const logPath = path.join(dir, 'terms.log');
        const pristine = fs.readFileSync(logPath);
        const sd = StateDir.open(dir, { fullCheckBelowBytes: 0 });
        try {
          flip(logPath, at(n), x);
          const damaged = fs.readFileSync(logPath);
          // Every read path names the damaged term; none ends early without saying so.
          const e = expectStoreError(() => sd.readRange(1, 500), 'CORRUPT');
          assert.equal(e.term, n);
          assert.match(e.message, new RegExp(`^term ${n} in .*terms\\.log is damaged \\(`));
          assert.equal(expectStoreError(() => [...sd.iterate(n, 500)], 'CORRUPT').term, n);
          assert.equal(expectStoreError(() => sd.readTerm(n), 'CORRUPT').term, n);
          if (n > 1) assert.deepEqual(sd.readRange(1, n - 1), REF.slice(0, n - 1));
          const reader = await AsyncTermReader.open(dir);
          try {
            await assert.rejects(reader.readRange(1, 500), (err: unknown) => err instanceof StoreError && err.code === 'CORRUPT' && err.term === n);
            await assert.rejects(reader.readRangeBytes(n, n), (err: unknown) => err instanceof StoreError && err.code === 'CORRUPT' && err.term === n);
            if (n < 500) assert.deepEqual(await reader.readRange(n + 1, 500), REF.slice(n, 500));
          } finally {
            await reader.close();
          }

          const r = scanAll(sd, 4096);
          assert.equal(r.last.done, true);
          assert.equal(r.last.verifiedThrough, n - 1);
          assert.ok(r.last.damage, 'damage found');
          assert.equal(r.last.damage.n, n);
          assert.equal(r.last.damage.offset, recordStart(n));
          assert.match(r.last.damage.reason, /magic|claims to be term|length|checksum|digits|ends inside/);

          const aside = sd.healFrom(r.last.damage.n, r.last.damage.reason);
          assert.equal(sd.count, n - 1);
          assert.ok(fs.readFileSync(aside).equals(damaged.subarray(recordStart(n))), 'the damaged record and all after it are set aside, not deleted');
          assert.ok(fs.readFileSync(logPath).equals(pristine.subarray(0, recordStart(n))), 'terms before it are kept as they were');
          assert.ok(sd.recoveries.some((l) => l.includes(`record of term ${n} at byte ${recordStart(n)} is damaged`) && l.includes(path.basename(aside))), sd.recoveries.join(' | '));
          // Snapshots built on the removed terms are set aside too; the one at n-1 stays.
          assert.equal(sd.latestSnapshot?.header.position, n > 1 ? n - 1 : undefined);
          assert.ok(fs.readdirSync(dir).some((f) => /^snapshot-\d+\.snap\.corrupt-/.test(f)));
          sd.appendTerms(REF.slice(n - 1));
          assert.ok(fs.readFileSync(logPath).equals(pristine), 'recomputed terms give the same log');
          assert.deepEqual(scanAll(sd, 1 << 20).last, { done: true, verifiedThrough: 500 });
        } finally {
          sd.close();
        }
        const again = StateDir.open(dir);
        try {
          assert.deepEqual(again.recoveries, []);
          assert.deepEqual(again.readRange(1, 500), REF);
        } finally {
          again.close();
        }
      });
    }
  }

  it('finds every seeded flip of a record byte: the record holding it', () => {
    const dir = makeState(500);
    const logPath = path.join(dir, 'terms.log');
    const pristine = fs.readFileSync(logPath);
    const rnd = mulberry32(SEED);
    for (let i = 0; i < 60; i++) {
      const pos = 16 + Math.floor(rnd() * (pristine.length - 16));
      const x = 1 + Math.floor(rnd() * 255);
      const maxBytes = 1 + Math.floor(rnd() * 200_000);
      const what = `seed ${SEED}, flip #${i}: byte ${pos} ^= ${x}, steps of ${maxBytes} bytes`;
      fs.writeFileSync(logPath, pristine);
      const sd = StateDir.open(dir, { durable: false, fullCheckBelowBytes: 0 });
      try {
        flip(logPath, pos, x);
        const k = recordAt(pos);
        const { last } = scanAll(sd, maxBytes);
        assert.equal(last.damage?.n, k, what);
        assert.equal(last.damage?.offset, recordStart(k), what);
        assert.equal(last.verifiedThrough, k - 1, what);
      } finally {
        sd.close();
      }
    }
  });

  it('an index entry pointing wrong is no damage of the log: the scan rewrites it, reads go around it', async () => {
    const dir = makeState(500);
    const logPath = path.join(dir, 'terms.log');
    const idxPath = path.join(dir, 'terms.idx');
    const pristineLog = fs.readFileSync(logPath);
    const pristineIdx = fs.readFileSync(idxPath);
    const sd = StateDir.open(dir, { fullCheckBelowBytes: 0 });
    try {
      flip(idxPath, 249 * 8 + 1, 0x10); // term 250 now points 4 KiB off
      flip(idxPath, 399 * 8, 0x01); // term 400 one byte off
      const reader = await AsyncTermReader.open(dir);
      try {
        assert.deepEqual(await reader.readRange(240, 260), REF.slice(239, 260));
        assert.deepEqual(await reader.readRange(250, 250), REF.slice(249, 250));
        assert.deepEqual(await reader.readRange(1, 500), REF);
      } finally {
        await reader.close();
      }
      const { last } = scanAll(sd, 8192);
      assert.deepEqual(last, { done: true, verifiedThrough: 500 });
      assert.ok(fs.readFileSync(idxPath).equals(pristineIdx), 'the index is rewritten from the log');
      assert.ok(fs.readFileSync(logPath).equals(pristineLog), 'the log is not cut for it');
      const lines = sd.recoveries.filter((l) => l.startsWith('terms.idx pointed wrong'));
      assert.equal(lines.length, 2, sd.recoveries.join(' | '));
      assert.match(lines[0], /first: term 250\)/);
      assert.match(lines[1], /first: term 400\)/);
      assert.equal(fs.readdirSync(dir).filter((f) => f.includes('.corrupt-')).length, 0);
      assert.deepEqual(sd.readRange(1, 500), REF);
    } finally {
      sd.close();
    }
  });

  it('covers the terms of its start while the log grows, and follows it when it is cut back', () => {
    const dir = makeState(300);
    const sd = StateDir.open(dir);
    try {
      const scan = sd.beginLogScan();
      assert.equal(scan.target, 300);
      assert.equal(scan.step(20_000).done, false);
      sd.appendTerms(REF.slice(300, 500));
      let r: LogScanStep;
      do r = scan.step(20_000);
      while (!r.done);
      assert.deepEqual(r, { done: true, verifiedThrough: 300 });
      // Cut back under a scan that had passed the cut: it ends at the cut.
      const cut = sd.beginLogScan();
      while (cut.step(10_000).verifiedThrough < 400);
      sd.truncateTo(350);
      assert.deepEqual(cut.step(10_000), { done: true, verifiedThrough: 350 });
      // Cut back ahead of a scan: it covers what is left.
      const ahead = sd.beginLogScan();
      assert.equal(ahead.target, 350);
      assert.ok(ahead.step(1).verifiedThrough < 300);
      sd.truncateTo(300);
      do r = ahead.step(50_000);
      while (!r.done);
      assert.deepEqual(r, { done: true, verifiedThrough: 300 });
      // Archiving (start over) ends a scan of the old log.
      const old = sd.beginLogScan();
      sd.archive();
      assert.throws(() => old.step(1000), /closed|archived/);
      assert.deepEqual(sd.beginLogScan().step(1000), { done: true, verifiedThrough: 0 });
    } finally {
      sd.close();
    }
  });

  it('AsyncTermReader never takes a writer cutting the log back (truncateTo, healFrom) for damage', async function () {
    this.timeout(60_000);
    const dir = path.join(tmpDir('cuts'), 's');
    StateDir.open(dir).close();
    // Another process appends the reference terms in small batches and now and then cuts the log back.
    const code = `
      const fs = require('fs');
      const [mod, fixture, dir] = process.argv.slice(1);
      const { StateDir } = require(mod);
      const ref = fs.readFileSync(fixture, 'utf8').trim().split('\\n').map((l) => {
        const [n, d] = l.trim().split(/\\s+/);
        return { n: Number(n), digits: d };
      });
      const sd = StateDir.open(dir, { durable: false });
      let seed = 7;
      const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
      for (let cuts = 0; cuts < 300; ) {
        if (sd.count >= 100 && rnd() < 0.1) {
          const to = Math.floor(sd.count * rnd());
          if (rnd() < 0.5) sd.truncateTo(to); else sd.healFrom(to + 1, 'cut by the test');
          cuts++;
        } else sd.appendTerms(ref.slice(sd.count, Math.min(ref.length, sd.count + 1 + Math.floor(rnd() * 8))));
        if (sd.count === ref.length) sd.truncateTo(0);
      }
      sd.close();
    `;
    const storeModule = path.resolve(__dirname, '../../src/store/index.js');
    const child = spawn(process.execPath, ['-e', code, storeModule, path.join(FIXTURES_DIR, 'b000182.txt'), dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    let finished = false;
    void done.then(() => (finished = true));
    const reader = await AsyncTermReader.open(dir);
    let reads = 0;
    let termsRead = 0;
    try {
      while (!finished) {
        const c = await reader.count();
        const from = Math.max(1, c - 40);
        const got = await reader.readRangeBytes(from, c + 5);
        got.forEach((t, i) => assert.equal(Buffer.from(t.bytes).toString('latin1'), REF[from - 1 + i].digits, `term ${from + i}`));
        assert.ok(got.every((t, i) => t.n === from + i));
        reads++;
        termsRead += got.length;
      }
      assert.equal(await done, 0, stderr);
      assert.ok(reads > 20 && termsRead > 0, `${reads} reads, ${termsRead} terms`);
    } finally {
      child.kill('SIGKILL');
      await reader.close();
    }
  });

  it('an I/O error while scanning is a one-line StoreError IO_ERROR; the scan goes on after it', () => {
    const dir = makeState(100);
    const sd = StateDir.open(dir);
    try {
      const scan = sd.beginLogScan();
      const eio = () => {
        throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO', syscall: 'read' });
      };
      const e = expectStoreError(() => withStoreFs({ readSync: eio }, () => scan.step(4096)), 'IO_ERROR');
      assert.match(e.message, /^the disk reported an I\/O error while trying to read .*terms\.log \(EIO\); /);
      let r: LogScanStep;
      do r = scan.step(4096);
      while (!r.done);
      assert.deepEqual(r, { done: true, verifiedThrough: 100 });
    } finally {
      sd.close();
    }
  });

  describe('a finished log of 2000 terms (10.5 MB, above the 4 MiB full-check threshold) with one digit flipped in term 1000', () => {
    let root: string;
    let state: string;
    let damagedAt: number;
    let logSize: number;
    const reference = REFERENCE_HASHES['2000'];
    const runCli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'latin1', timeout: 120000 });
    const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

    before(function () {
      this.timeout(120000);
      if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
      root = tmpDir('big');
      state = path.join(root, 'state');
      const first = runCli(['--count', '2000', '--state', state, '--out', path.join(root, 'b.txt')]);
      assert.equal(first.status, 0, first.stderr);
      assert.equal(sha256(path.join(root, 'b.txt')), reference.sha256, 'the stored terms are the reference');
      assert.ok(fs.statSync(path.join(state, 'terms.log')).size > 4 << 20);
      const idx = fs.readFileSync(path.join(state, 'terms.idx'));
      const off = Number(idx.readBigUInt64LE(999 * 8));
      damagedAt = off;
      logSize = fs.statSync(path.join(state, 'terms.log')).size;
      flip(path.join(state, 'terms.log'), off + 12 + 2000, 0x01); // a digit of T(1000) ('0' <-> '1', ...)
    });

    it('opening (tail check only) does not see it; every read names term 1000; an export of 1..2000 fails naming it and leaves its target untouched', async () => {
      const sd = StateDir.open(state, { mode: 'read' });
      try {
        assert.equal(sd.count, 2000);
        assert.deepEqual(sd.recoveries, []);
        assert.equal(expectStoreError(() => sd.readRange(990, 1010), 'CORRUPT').term, 1000);
      } finally {
        sd.close();
      }
      const target = path.join(root, 'export', 'b000182.txt');
      fs.mkdirSync(path.dirname(target));
      fs.writeFileSync(target, 'the previous export\n');
      const reader = await AsyncTermReader.open(state);
      try {
        async function* pages() {
          for (let n = 1; n <= 2000; ) {
            const page = await reader.readRangeBytes(n, Math.min(2000, n + 255), 2_000_000);
            if (page.length === 0) return;
            yield* page;
            n += page.length;
          }
        }
        await assert.rejects(exportTerms(pages(), target, 'bfile', { expectedTerms: { from: 1, to: 2000 } }), (e: unknown) => {
          assert.ok(e instanceof ExportError, String(e));
          assert.equal(e.term, 1000);
          assert.match(e.message, /term 1000 in .*terms\.log is damaged/);
          assert.doesNotMatch(e.message, /\n/);
          return true;
        });
      } finally {
        await reader.close();
      }
      assert.equal(fs.readFileSync(target, 'utf8'), 'the previous export\n');
      assert.deepEqual(fs.readdirSync(path.dirname(target)), ['b000182.txt'], 'no temporary file left');
    });

    it('the scan finds it in slices of 1 MiB, healFrom sets terms 1000..2000 aside, and the next run recomputes them to the reference b-file', function () {
      this.timeout(120000);
      const sd = StateDir.open(state);
      let aside: string;
      try {
        assert.equal(sd.count, 2000);
        const r = scanAll(sd, 1 << 20);
        assert.deepEqual(r.last, { done: true, verifiedThrough: 999, damage: { n: 1000, offset: damagedAt, reason: 'its checksum is wrong' } });
        assert.ok(r.mostRead <= (1 << 20) + 16 + 6000 + 8 * 2000, `a step read ${r.mostRead} bytes`);
        assert.ok(r.steps >= 3);
        aside = sd.healFrom(1000, r.last.damage.reason);
        assert.equal(sd.count, 999);
        assert.ok((sd.latestSnapshot?.header.position ?? 0) <= 999, 'no snapshot ahead of the log');
        assert.ok(sd.recoveries.some((l) => /snapshot-\d+\.snap aside .* at term 2000 but terms\.log holds only 999 terms/.test(l)), sd.recoveries.join(' | '));
      } finally {
        sd.close();
      }
      assert.equal(fs.statSync(aside).size, logSize - damagedAt, 'terms 1000..2000 are set aside whole');
      const out = path.join(root, 'healed.txt');
      const again = runCli(['--count', '2000', '--state', state, '--out', out]);
      assert.equal(again.status, 0, again.stderr);
      assert.match(again.stderr, /resuming at term 1000 of 2000/);
      assert.equal(sha256(out), reference.sha256);
    });
  });
});
