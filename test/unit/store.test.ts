// Store round trips: terms, index, async reader, snapshots, truncation, archive.
import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import { fs as nodeFs } from '../../src/store/fileLayer'; // the store's file layer, for monkey-patching
import * as path from 'path';
import { AsyncTermReader, EncodedTerms, StateDir, StoreError, crc32, crc32Portable, crc32c } from '../../src/store';
import { isDigits } from '../../src/store/termRecord';
import type { Snapshot, StoreLogger, Term } from '../../src/store';
import { REF_TERMS, fixturePath, tempDirs, expectStoreError } from './testUtil';

const REF: Term[] = REF_TERMS;
const { roots, tmpDir } = tempDirs('tn-store');
function recorder(): StoreLogger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(`info: ${m}`), warn: (m) => lines.push(`warn: ${m}`) };
}
function snapHeader(position: number, extra: Record<string, unknown> = {}) {
  return { sequence: 'A000182' as const, algorithm: 'seidel', position, target: 500, ...extra };
}
// ----

describe('store: checksums', () => {
  // Check values: CRC-32C from RFC 3720 B.4, CRC-32 the IEEE 802.3 check value and its 32-byte vectors.
  const checksums = [
    { name: 'crc32c', crc: crc32c, poly: 0x82f63b78, check: 0xe3069283, zeros: 0x8a9136aa, ones: 0x62a8ab43 },
    { name: 'crc32', crc: crc32, poly: 0xedb88320, check: 0xcbf43926, zeros: 0x190a55ad, ones: 0xff6cab0b },
    { name: 'crc32Portable', crc: crc32Portable, poly: 0xedb88320, check: 0xcbf43926, zeros: 0x190a55ad, ones: 0xff6cab0b },
  ];
  for (const { name, crc, poly, check, zeros, ones } of checksums) {
    it(`${name} matches its check values and is incremental`, () => {
      assert.strictEqual(crc(Buffer.from('123456789')), check);
      assert.strictEqual(crc(Buffer.alloc(0)), 0);
      assert.strictEqual(crc(Buffer.alloc(32)), zeros);
      assert.strictEqual(crc(Buffer.alloc(32, 0xff)), ones);
      const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7919) & 0xff));
      for (const cut of [0, 1, 7, 8, 9, 500, 999, 1000]) {
        assert.strictEqual(crc(data.subarray(cut), crc(data.subarray(0, cut))), crc(data), `cut ${cut}`);
      }
    });

    it(`${name} reads every alignment and length the same as one bit at a time (the polynomial's definition)`, () => {
      const bitwise = (b: Uint8Array) => {
        let c = 0xffffffff;
        for (const byte of b) {
          c ^= byte;
          for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
        }
        return ~c >>> 0;
      };
      const data = Buffer.from(Array.from({ length: 80 }, (_, i) => (i * 40503 + 17) & 0xff));
      for (let offset = 0; offset < 8; offset++) {
        for (let length = 0; offset + length <= data.length; length += 3) {
          const slice = data.subarray(offset, offset + length);
          assert.strictEqual(crc(slice), bitwise(slice), `offset ${offset}, length ${length}`);
        }
      }
    });
  }
});

describe('store: digit check of records', () => {
  it('accepts exactly 0-9 for every byte value, at every position of a word and every alignment', () => {
    for (let offset = 0; offset < 4; offset++) {
      for (let at = 0; at < 9; at++) {
        for (let v = 0; v < 256; v++) {
          const b = Buffer.alloc(offset + 9, 0x35);
          b[offset + at] = v;
          const digit = v >= 0x30 && v <= 0x39;
          assert.strictEqual(isDigits(b, offset, offset + 9), digit, `byte ${v} at ${at}, offset ${offset}`);
          assert.strictEqual(isDigits(b.subarray(1), offset, offset + 8), at === 0 || digit, `byte ${v} at ${at}, offset ${offset}, shifted view`);
        }
      }
    }
    assert.strictEqual(isDigits(Buffer.from('12a'), 0, 2), true);
    assert.strictEqual(isDigits(Buffer.alloc(0), 0, 0), true);
  });
});

describe('store: round trip', function () {
  after(() => roots.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('has a sane reference fixture', () => {
    assert.strictEqual(REF.length, 500);
    assert.deepStrictEqual(REF.slice(0, 5).map((t) => t.digits), ['1', '2', '16', '272', '7936']);
    REF.forEach((t, i) => assert.strictEqual(t.n, i + 1));
  });

  it('appends 500 reference terms in batches, reopens, and reads them back', () => {
    const dir = path.join(tmpDir('rt'), 'nested', 'state'); // missing dirs are created
    const sd = StateDir.open(dir);
    assert.strictEqual(sd.count, 0);
    assert.strictEqual(sd.latestSnapshot, null);
    let n = 0;
    for (const size of [1, 2, 3, 10, 50, 134, 300]) {
      sd.appendTerms(REF.slice(n, n + size));
      n += size;
      assert.strictEqual(sd.count, n);
    }
    assert.strictEqual(n, 500);
    assert.strictEqual(sd.readTerm(500), REF[499].digits);
    sd.close();
    sd.close(); // idempotent
    assert.ok(!fs.existsSync(path.join(dir, 'LOCK')), 'close releases the lock');

    const again = StateDir.open(dir);
    try {
      assert.strictEqual(again.count, 500);
      assert.deepStrictEqual(again.recoveries, []);
      assert.deepStrictEqual(again.readRange(1, 500), REF);
      assert.deepStrictEqual([...again.iterate()], REF);
      assert.deepStrictEqual([...again.iterate(250, 260)], REF.slice(249, 260));
      assert.deepStrictEqual(again.readRange(7, 6), []);
      for (const k of [1, 2, 99, 256, 499, 500]) assert.strictEqual(again.readTerm(k), REF[k - 1].digits);
      assert.deepStrictEqual(again.verifyAll(), { ok: true });
      assert.throws(() => again.readRange(0, 3), RangeError);
      assert.throws(() => again.readRange(499, 501), RangeError);
      assert.throws(() => again.readTerm(501), RangeError);
      const files = ['terms.log', 'terms.idx'].map((f) => fs.statSync(path.join(dir, f)).size);
      assert.strictEqual(again.bytesStored(), files[0] + files[1]);
      assert.strictEqual(files[1], 500 * 8);
    } finally {
      again.close();
    }
  });

  it('rejects out-of-order or malformed terms without writing anything', () => {
    const dir = tmpDir('order');
    const sd = StateDir.open(dir);
    try {
      sd.appendTerms(REF.slice(0, 3));
      const size = fs.statSync(path.join(dir, 'terms.log')).size;
      assert.throws(() => sd.appendTerms([REF[4]]), RangeError);
      assert.throws(() => sd.appendTerms([REF[3], REF[5]]), RangeError);
      assert.throws(() => sd.appendTerms([{ n: 4, digits: '0272' }]), RangeError);
      assert.throws(() => sd.appendTerms([{ n: 4, digits: '-272' }]), RangeError);
      assert.throws(() => sd.appendTerms([{ n: 4, digits: '' }]), RangeError);
      assert.throws(() => sd.appendTerms([{ n: 4, digits: '9'.repeat(1000) }]), RangeError);
      // Non-ASCII characters whose low byte is a digit ('ı' U+0131 → 0x31) or that are digits in other
      // scripts (Arabic-Indic, fullwidth), separators, and junk in the second term of a batch.
      for (const bad of ['27\u0131', '\u0662\u0667\u0662', '27\uff12', '2 72', '27.2']) {
        assert.throws(() => sd.appendTerms([{ n: 4, digits: bad }]), RangeError, JSON.stringify(bad));
      }
      assert.throws(() => sd.appendTerms([REF[3], { n: 5, digits: '79x6' }]), RangeError);
      sd.appendTerms([]);
      assert.strictEqual(sd.count, 3);
      assert.strictEqual(fs.statSync(path.join(dir, 'terms.log')).size, size);
      sd.appendTerms([REF[3]]);
      assert.deepStrictEqual(sd.readRange(1, 4), REF.slice(0, 4));
    } finally {
      sd.close();
    }
  });

  it('appends 500 terms in one call (1500 pieces: more than one writev takes) and reads them back', async () => {
    const dir = tmpDir('many');
    const sd = StateDir.open(dir);
    try {
      sd.appendTerms(REF.slice(0, 500).map((t) => ({ n: t.n, digits: Buffer.from(t.digits, 'latin1') })));
      assert.deepStrictEqual(sd.readRange(1, 500), REF.slice(0, 500));
      assert.deepStrictEqual(sd.verifyAll(), { ok: true });
    } finally {
      sd.close();
    }
    const reader = await AsyncTermReader.open(dir);
    try {
      assert.deepStrictEqual(await reader.readRange(1, 500), REF.slice(0, 500));
    } finally {
      await reader.close();
    }
  });

  it('appends records encoded ahead, out of order, only at their place in the log', () => {
    const dir = tmpDir('ahead');
    const sd = StateDir.open(dir);
    try {
      // Encoded before the terms in front of them are in: as a job encodes the top half of a split.
      const later = EncodedTerms.of(REF.slice(3, 6).map((t) => ({ n: t.n, digits: Buffer.from(t.digits, 'latin1') })));
      assert.strictEqual(later.first, 4);
      assert.strictEqual(later.count, 3);
      assert.throws(() => sd.appendTerms(later), /expected term 1, got 4/);
      assert.strictEqual(sd.count, 0);
      sd.appendTerms(REF.slice(0, 3));
      sd.appendTerms(later);
      assert.deepStrictEqual(sd.readRange(1, 6), REF.slice(0, 6));
      // Records hold the digits themselves: digits moved away (to another thread) since are refused, not written short.
      const moved = EncodedTerms.of([{ n: 7, digits: Uint8Array.from(Buffer.from(REF[6].digits, 'latin1')) }]); // an ArrayBuffer of its own
      const digits = moved.pieces[1];
      structuredClone(digits.buffer, { transfer: [digits.buffer as ArrayBuffer] });
      assert.throws(() => sd.appendTerms(moved), /terms 7\.\.7 were moved or changed after they were encoded/);
      assert.strictEqual(sd.count, 6);
      // The same checks as a plain append, made when encoding.
      assert.throws(() => EncodedTerms.of([REF[6], REF[8]]), /expected term 8, got 9/);
      assert.throws(() => EncodedTerms.of([{ n: 7, digits: '0353792' }]), /digits must be a decimal number/);
      assert.throws(() => EncodedTerms.of([{ n: 7, digits: Buffer.from('35379x', 'latin1') }]), /digits must be a decimal number/);
    } finally {
      sd.close();
    }
    const again = StateDir.open(dir);
    try {
      assert.deepStrictEqual(again.readRange(1, 6), REF.slice(0, 6));
    } finally {
      again.close();
    }
  });

  it('AsyncTermReader reads the same terms, follows a live writer, and clamps ranges', async () => {
    const dir = tmpDir('async');
    const early = await AsyncTermReader.open(dir); // empty dir: 0 terms until a writer starts
    assert.strictEqual(await early.count(), 0);
    const sd = StateDir.open(dir);
    try {
      sd.appendTerms(REF.slice(0, 200));
      assert.strictEqual(await early.count(), 200);
      await early.close();

      const r = await AsyncTermReader.open(dir);
      assert.strictEqual(await r.count(), 200);
      assert.deepStrictEqual(await r.readRange(1, 200), REF.slice(0, 200));
      sd.appendTerms(REF.slice(200, 500));
      assert.strictEqual(await r.count(), 500);
      assert.deepStrictEqual(await r.readRange(1, 500), REF);
      assert.deepStrictEqual(await r.readRange(490, 10_000), REF.slice(489));
      assert.deepStrictEqual(await r.readRange(501, 600), []);
      await assert.rejects(r.readRange(0, 5), RangeError);

      sd.truncateTo(450); // log and idx cut back under the reader
      assert.strictEqual(await r.count(), 450);
      assert.deepStrictEqual(await r.readRange(440, 500), REF.slice(439, 450));

      sd.archive(); // files renamed away: the reader must follow the new (empty) ones
      assert.strictEqual(await r.count(), 0);
      sd.appendTerms(REF.slice(0, 5));
      assert.deepStrictEqual(await r.readRange(1, 10), REF.slice(0, 5));
      await r.close();
    } finally {
      sd.close();
    }
  });

  it('AsyncTermReader reads only reference terms while another process appends', async function () {
    this.timeout(30_000);
    const dir = tmpDir('async-live');
    StateDir.open(dir).close();
    const code = `
      const fs = require('fs');
      const [mod, fixture, dir] = process.argv.slice(1);
      const { StateDir } = require(mod);
      const ref = fs.readFileSync(fixture, 'utf8').trim().split('\\n').map((l) => {
        const [n, d] = l.trim().split(/\\s+/);
        return { n: Number(n), digits: d };
      });
      const sd = StateDir.open(dir);
      for (let i = 0; sd.count < ref.length; i++) sd.appendTerms(ref.slice(sd.count, sd.count + 1 + (i % 4)));
      sd.close();
    `;
    const storeModule = path.resolve(__dirname, '../../src/store/index.js');
    const cp = spawn(process.execPath, ['-e', code, storeModule, fixturePath(), dir], { stdio: 'ignore' });
    const done = new Promise<number | null>((resolve) => cp.on('exit', (c) => resolve(c)));
    let finished = false;
    void done.then(() => (finished = true));
    const r = await AsyncTermReader.open(dir);
    let last = 0;
    let polls = 0;
    try {
      while (!finished || last < REF.length) {
        const c = await r.count();
        assert.ok(c >= last, 'count never goes back while only appending');
        const from = Math.max(1, c - 20);
        const got = await r.readRange(from, c);
        got.forEach((t, i) => assert.deepStrictEqual(t, REF[from - 1 + i]));
        last = c;
        polls++;
        if (finished && c < REF.length) assert.strictEqual(await done, 0);
      }
      assert.strictEqual(await done, 0);
      assert.deepStrictEqual(await r.readRange(1, 500), REF);
      assert.ok(polls > 1);
    } finally {
      cp.kill('SIGKILL');
      await r.close();
    }
  });

  it('AsyncTermReader refuses a foreign directory', async () => {
    const dir = tmpDir('async-foreign');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'hello');
    await assert.rejects(AsyncTermReader.open(dir), (e: unknown) => e instanceof StoreError && e.code === 'FOREIGN');
  });

  it('writes and reads snapshots with header and payload', () => {
    const dir = tmpDir('snap');
    const payload = Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 31 + 7) & 0xff));
    let written: Snapshot;
    const sd = StateDir.open(dir);
    try {
      sd.appendTerms(REF.slice(0, 100));
      written = sd.writeSnapshot(snapHeader(100, { extra: { rows: [1, 2, 3] } }), payload);
      assert.strictEqual(written.header.generation, 1);
      assert.ok(!Number.isNaN(Date.parse(written.header.createdAt)));
      assert.strictEqual(sd.latestSnapshot?.header.generation, 1);
      assert.throws(() => sd.writeSnapshot(snapHeader(101), payload), RangeError); // ahead of the log
      assert.throws(() => sd.writeSnapshot({ ...snapHeader(5), sequence: 'A000111' as 'A000182' }, payload), RangeError);
    } finally {
      sd.close();
    }
    const again = StateDir.open(dir);
    try {
      const s = again.latestSnapshot as Snapshot;
      assert.ok(s);
      assert.deepStrictEqual(s.header, written.header);
      assert.deepStrictEqual(s.header.extra, { rows: [1, 2, 3] });
      assert.ok(s.payload.equals(payload));
      assert.strictEqual(path.basename(s.file), 'snapshot-0000000001.snap');
    } finally {
      again.close();
    }
  });

  it('keeps only the newest two snapshot generations and returns the newest', () => {
    const dir = tmpDir('gens');
    const sd = StateDir.open(dir);
    try {
      sd.appendTerms(REF.slice(0, 50));
      for (let g = 1; g <= 5; g++) sd.writeSnapshot(snapHeader(g * 10), Buffer.from(`state ${g}`));
      const snaps = fs.readdirSync(dir).filter((f) => f.startsWith('snapshot-')).sort();
      assert.deepStrictEqual(snaps, ['snapshot-0000000004.snap', 'snapshot-0000000005.snap']);
      assert.strictEqual(sd.latestSnapshot?.header.generation, 5);
      const sizes = ['terms.log', 'terms.idx', ...snaps].reduce((a, f) => a + fs.statSync(path.join(dir, f)).size, 0);
      assert.strictEqual(sd.bytesStored(), sizes);
    } finally {
      sd.close();
    }
    const again = StateDir.open(dir);
    try {
      assert.strictEqual(again.latestSnapshot?.header.generation, 5);
      assert.strictEqual(again.latestSnapshot?.header.position, 50);
      assert.strictEqual(again.latestSnapshot?.payload.toString(), 'state 5');
      again.writeSnapshot(snapHeader(50), Buffer.from('state 6')); // numbering continues
      assert.strictEqual(again.latestSnapshot?.header.generation, 6);
    } finally {
      again.close();
    }
  });

  it('truncateTo sets the removed terms aside, drops snapshots ahead, and re-appending restores the same bytes', () => {
    const dir = tmpDir('trunc');
    const sd = StateDir.open(dir);
    try {
      sd.appendTerms(REF);
      sd.writeSnapshot(snapHeader(250), Buffer.from('at 250'));
      sd.writeSnapshot(snapHeader(400), Buffer.from('at 400'));
      const full = fs.readFileSync(path.join(dir, 'terms.log'));
      const fullIdx = fs.readFileSync(path.join(dir, 'terms.idx'));
      sd.truncateTo(300);
      assert.strictEqual(sd.count, 300);
      assert.deepStrictEqual(sd.readRange(1, 300), REF.slice(0, 300));
      assert.strictEqual(sd.latestSnapshot?.header.position, 250);
      const names = fs.readdirSync(dir);
      const logAside = names.filter((f) => f.startsWith('terms.log.corrupt-'));
      assert.strictEqual(logAside.length, 1);
      const cut = fs.statSync(path.join(dir, 'terms.log')).size;
      assert.ok(fs.readFileSync(path.join(dir, logAside[0])).equals(full.subarray(cut)), 'removed bytes kept aside');
      assert.ok(names.some((f) => f.startsWith('snapshot-0000000002.snap.corrupt-')), 'snapshot at 400 set aside');
      assert.ok(sd.recoveries.some((l) => l.includes('cut terms.log back to term 300')));
      sd.appendTerms(REF.slice(300));
      assert.ok(fs.readFileSync(path.join(dir, 'terms.log')).equals(full));
      assert.ok(fs.readFileSync(path.join(dir, 'terms.idx')).equals(fullIdx));
      assert.throws(() => sd.truncateTo(501), RangeError);
      sd.truncateTo(0);
      assert.strictEqual(sd.count, 0);
      assert.strictEqual(sd.latestSnapshot, null);
      assert.deepStrictEqual(sd.verifyAll(), { ok: true });
    } finally {
      sd.close();
    }
  });

  it('archive moves everything into archive-<time>/ (itself openable) and starts empty', () => {
    const dir = tmpDir('archive');
    const sd = StateDir.open(dir);
    let archived: string;
    try {
      sd.appendTerms(REF.slice(0, 120));
      sd.writeSnapshot(snapHeader(120), Buffer.from('old'));
      archived = sd.archive();
      assert.strictEqual(path.dirname(archived), dir);
      assert.match(path.basename(archived), /^archive-\d{4}-\d\d-\d\dT\d{6}\.\d{3}Z$/);
      assert.strictEqual(sd.count, 0);
      assert.strictEqual(sd.latestSnapshot, null);
      sd.appendTerms(REF.slice(0, 2));
      assert.deepStrictEqual(sd.readRange(1, 2), REF.slice(0, 2));
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['LOCK', 'STATE', path.basename(archived), 'terms.idx', 'terms.log'].sort());
    } finally {
      sd.close();
    }
    const old = StateDir.open(archived, { mode: 'read' });
    try {
      assert.strictEqual(old.count, 120);
      assert.deepStrictEqual(old.readRange(1, 120), REF.slice(0, 120));
      assert.strictEqual(old.latestSnapshot?.payload.toString(), 'old');
    } finally {
      old.close();
    }
    const reopened = StateDir.open(dir);
    assert.strictEqual(reopened.count, 2);
    reopened.close();
  });

  it('read mode takes no lock, sees the data, and refuses writes', () => {
    const dir = tmpDir('readmode');
    const w = StateDir.open(dir);
    try {
      w.appendTerms(REF.slice(0, 30));
      w.writeSnapshot(snapHeader(30), Buffer.from('x'));
      const r = StateDir.open(dir, { mode: 'read' });
      try {
        assert.strictEqual(r.count, 30);
        assert.deepStrictEqual(r.readRange(1, 30), REF.slice(0, 30));
        assert.strictEqual(r.latestSnapshot?.payload.toString(), 'x');
        assert.throws(() => r.appendTerms([REF[30]]));
        assert.throws(() => r.writeSnapshot(snapHeader(1), Buffer.alloc(0)));
      } finally {
        r.close();
      }
      assert.ok(fs.existsSync(path.join(dir, 'LOCK')), "the reader's close must not touch the writer's lock");
      w.appendTerms([REF[30]]);
    } finally {
      w.close();
    }
    expectStoreError(() => StateDir.open(path.join(dir, 'missing'), { mode: 'read' }), 'UNUSABLE_DIR');
  });

  it('removes leftover temporary files on open and says so', () => {
    const dir = tmpDir('tmpfiles');
    StateDir.open(dir).close();
    fs.writeFileSync(path.join(dir, 'snapshot-0000000003.snap.tmp'), 'half a snapshot');
    fs.writeFileSync(path.join(dir, 'terms.idx.tmp'), 'half an index');
    const log = recorder();
    const sd = StateDir.open(dir, { logger: log });
    try {
      assert.ok(!fs.existsSync(path.join(dir, 'snapshot-0000000003.snap.tmp')));
      assert.ok(!fs.existsSync(path.join(dir, 'terms.idx.tmp')));
      assert.strictEqual(sd.recoveries.filter((l) => l.includes('removed leftover temporary file')).length, 2);
      assert.ok(log.lines.some((l) => l.startsWith('warn: removed leftover')));
    } finally {
      sd.close();
    }
  });

  it('opens a large log quickly by checking only the index tail; verifyAll still checks everything', () => {
    const dir = tmpDir('big');
    const sd = StateDir.open(dir, { durable: false });
    // Synthetic terms with near-maximal digit counts: ~6 MB of log, above the full-check threshold.
    let batch: Term[] = [];
    for (let n = 1; n <= 1400; n++) {
      const len = Math.ceil(2 * n * Math.log10(2 * n));
      batch.push({ n, digits: '7' + String(n % 10).repeat(len - 1) });
      if (batch.length === 100) {
        sd.appendTerms(batch);
        batch = [];
      }
    }
    sd.close();
    const logSize = fs.statSync(path.join(dir, 'terms.log')).size;
    assert.ok(logSize > 5_000_000, `log is ${logSize} bytes`);
    const realRead = nodeFs.readSync;
    let bytes = 0;
    (nodeFs as { readSync: unknown }).readSync = (...a: Parameters<typeof fs.readSync>) => {
      const got = (realRead as (...x: unknown[]) => number)(...a);
      bytes += got;
      return got;
    };
    let again: StateDir;
    const t0 = Date.now();
    try {
      again = StateDir.open(dir);
    } finally {
      (nodeFs as { readSync: unknown }).readSync = realRead;
    }
    const ms = Date.now() - t0;
    try {
      assert.strictEqual(again.count, 1400);
      assert.ok(bytes < 64 * 1024, `open read ${bytes} bytes`);
      assert.ok(ms < 500, `open took ${ms} ms`);
      assert.deepStrictEqual(again.verifyAll(), { ok: true });
      assert.strictEqual(again.readTerm(1400)[0], '7');
    } finally {
      again.close();
    }
  });
});
