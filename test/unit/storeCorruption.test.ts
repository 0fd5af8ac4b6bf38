// Damage, crashes and refusals: every cut of the log, seeded byte flips, full disks,
// SIGKILL mid-append, foreign/newer directories. Every outcome is checked against the
// reference values in test/fixtures/b000182.txt.
import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import { fs as storeFs } from '../../src/store/fileLayer'; // every file-system call of the store's writer side, for patching
import * as path from 'path';
import { inspect } from 'util';
import { AsyncTermReader, StateDir, StoreError, crc32, crc32c } from '../../src/store';
import type { Term } from '../../src/store';
import { REF_TERMS, fixturePath, tempDirs, expectStoreError, mulberry32 } from './testUtil';

const REF: Term[] = REF_TERMS;
const { roots, tmpDir } = tempDirs('tn-store');
function snapHeader(position: number) {
  return { sequence: 'A000182' as const, algorithm: 'seidel', position, target: 500 };
}
const SEED = process.env.STORE_TEST_SEED ? Number(process.env.STORE_TEST_SEED) : (Date.now() ^ (process.pid << 8)) >>> 0;
/** Every file under dir (relative path -> bytes; directories as null), for "nothing changed" checks. */
function listing(dir: string): Map<string, Buffer | null> {
  const out = new Map<string, Buffer | null>();
  const walk = (d: string, rel: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const r = rel ? `${rel}/${name}` : name;
      if (fs.statSync(p).isDirectory()) {
        out.set(r, null);
        walk(p, r);
      } else out.set(r, fs.readFileSync(p));
    }
  };
  walk(dir, '');
  return out;
}
const lastWritten = new Map<string, Buffer>();
/**
 * Makes dir hold exactly `files`. Loops reuse one directory and skip rewriting files the
 * store never changes in place (STATE, snapshots): far fewer metadata writes than mkdir/rm per case.
 */
function writeFiles(dir: string, files: Record<string, Buffer | undefined>): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const name of fs.readdirSync(dir)) {
    if (files[name] === undefined) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  }
  for (const [name, data] of Object.entries(files)) {
    if (data === undefined) continue;
    const p = path.join(dir, name);
    const inPlace = name === 'terms.log' || name === 'terms.idx';
    if (!inPlace && lastWritten.get(p) === data && fs.existsSync(p)) continue;
    fs.writeFileSync(p, data);
    lastWritten.set(p, data);
  }
}
/** Byte offset where the record of term k starts, computed from the format (16-byte header, 16 bytes per record + digits). */
function recordStart(k: number): number {
  let p = 16;
  for (let i = 0; i < k - 1; i++) p += 16 + REF[i].digits.length;
  return p;
}
/** Builds a state dir with the first `count` reference terms and returns its files. */
function buildBase(count: number, snapshots: { position: number; payload: Buffer }[] = []): Record<string, Buffer> {
  const dir = tmpDir('base');
  const sd = StateDir.open(dir, { durable: false });
  sd.appendTerms(REF.slice(0, count));
  for (const s of snapshots) sd.writeSnapshot(snapHeader(s.position), s.payload);
  sd.close();
  const files: Record<string, Buffer> = {};
  for (const name of fs.readdirSync(dir)) files[name] = fs.readFileSync(path.join(dir, name));
  fs.rmSync(dir, { recursive: true, force: true });
  return files;
}
/** Reads every term it can; returns them and the error that stopped it, if any. */
function readAll(sd: StateDir): { terms: Term[]; error?: unknown } {
  const terms: Term[] = [];
  try {
    for (const t of sd.iterate()) terms.push(t);
  } catch (error) {
    return { terms, error };
  }
  return { terms };
}
function assertReferencePrefix(terms: Term[], what: string): void {
  assert.ok(terms.length <= REF.length, what);
  terms.forEach((t, i) => {
    assert.strictEqual(t.n, i + 1, `${what}: term order`);
    assert.strictEqual(t.digits, REF[i].digits, `${what}: T(${t.n}) differs from the reference`);
  });
}
const storeModule = path.resolve(__dirname, '../../src/store/index.js');
// ----

describe('store: damage and crashes', function () {
  after(() => roots.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  before(() => console.log(`      store corruption tests: seed ${SEED} (replay with STORE_TEST_SEED=${SEED})`));

  describe('every truncation length of terms.log (40 terms)', () => {
    let base: Record<string, Buffer>;
    const TERMS = 40;
    before(() => {
      base = buildBase(TERMS);
      assert.strictEqual(base['terms.log'].length, recordStart(TERMS + 1));
    });
    const completeIn = (L: number) => {
      let k = 0;
      while (k < TERMS && recordStart(k + 2) <= L) k++;
      return L < 16 ? 0 : k;
    };
    // The stale-index variants run every cut; the others every 4th cut plus the bytes around each record boundary.
    const nearBoundary = (L: number) => {
      const k = completeIn(L);
      return L < 20 || L - recordStart(k + 1) <= 2 || recordStart(k + 2) - L <= 2;
    };
    const variants: { name: string; idx: (L: number) => Buffer | undefined; full: boolean; every: boolean }[] = [
      { name: 'stale index', idx: () => base['terms.idx'], full: true, every: true },
      { name: 'stale index, tail-only check', idx: () => base['terms.idx'], full: false, every: true },
      { name: 'no index', idx: () => undefined, full: true, every: false },
      {
        name: 'index shorter than the log, tail-only check',
        idx: (L) => base['terms.idx'].subarray(0, Math.floor(completeIn(L) / 2) * 8),
        full: false,
        every: false,
      },
    ];
    for (const v of variants) {
      it(`opens ${v.every ? 'every cut' : 'cuts'} with the right count and terms (${v.name})`, () => {
        const root = tmpDir('cut');
        const log = base['terms.log'];
        for (let L = 0; L < log.length; L++) {
          if (!v.every && L % 4 !== 0 && !nearBoundary(L)) continue;
          const what = `${v.name}, cut at ${L}`;
          const dir = path.join(root, 'case');
          writeFiles(dir, { STATE: base.STATE, 'terms.log': log.subarray(0, L), 'terms.idx': v.idx(L) });
          const sd = StateDir.open(dir, { durable: false, fullCheckBelowBytes: v.full ? undefined : 0 });
          const expected = completeIn(L);
          try {
            assert.strictEqual(sd.count, expected, what);
            assert.deepStrictEqual(sd.readRange(1, sd.count), REF.slice(0, expected), what);
            assert.deepStrictEqual(sd.verifyAll(), { ok: true }, what);
          } finally {
            sd.close();
          }
          const names = fs.readdirSync(dir);
          const aside = names.filter((n) => n.startsWith('terms.log.corrupt-'));
          if (L > 0 && L < 16) {
            // A cut-short header is a damaged header: set aside whole, new log started.
            assert.strictEqual(aside.length, 1, what);
            assert.ok(fs.readFileSync(path.join(dir, aside[0])).equals(log.subarray(0, L)), what);
          } else {
            assert.deepStrictEqual(aside, [], `${what}: a torn tail is cut, not set aside`);
          }
          const end = L < 16 ? 16 : recordStart(expected + 1);
          assert.strictEqual(fs.statSync(path.join(dir, 'terms.log')).size, end, what);
          assert.strictEqual(fs.statSync(path.join(dir, 'terms.idx')).size, expected * 8, what);
          if (L >= 16 && L > end) {
            assert.ok(
              sd.recoveries.includes(`cut a torn tail of ${L - end} bytes after term ${expected}`),
              `${what}: ${sd.recoveries.join(' | ')}`,
            );
          }
        }
      });
    }
  });

  describe('seeded single-byte flips', () => {
    const TERMS = 60;
    let base: Record<string, Buffer>;
    let withSnaps: Record<string, Buffer>;
    const payloadA = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 13) & 0xff));
    const payloadB = Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 29 + 3) & 0xff));
    before(() => {
      base = buildBase(TERMS);
      withSnaps = buildBase(TERMS, [
        { position: 30, payload: payloadA },
        { position: 60, payload: payloadB },
      ]);
    });
    const recordOf = (pos: number) => {
      let k = 0;
      while (k < TERMS && recordStart(k + 2) <= pos) k++;
      return k + 1; // the term whose record holds byte pos
    };

    it('log flips, full check on open: cut at the damaged record, damaged part kept aside', () => {
      const rnd = mulberry32(SEED);
      const root = tmpDir('flip');
      const log = base['terms.log'];
      for (let i = 0; i < 1200; i++) {
        const pos = Math.floor(rnd() * log.length);
        const x = 1 + Math.floor(rnd() * 255);
        const what = `seed ${SEED}, flip #${i}: byte ${pos} ^= ${x}`;
        const bad = Buffer.from(log);
        bad[pos] ^= x;
        const dir = path.join(root, 'case');
        writeFiles(dir, { STATE: base.STATE, 'terms.log': bad, 'terms.idx': base['terms.idx'] });
        let sd: StateDir;
        try {
          sd = StateDir.open(dir, { durable: false });
        } catch (e) {
          assert.fail(`${what}: open threw ${String(e)}`);
        }
        const r = readAll(sd);
        sd.close();
        assert.strictEqual(r.error, undefined, `${what}: ${inspect(r.error)}`);
        assertReferencePrefix(r.terms, what);
        const header = pos < 16;
        const k = header ? 1 : recordOf(pos);
        assert.strictEqual(r.terms.length, k - 1, what);
        const aside = fs.readdirSync(dir).filter((n) => n.startsWith('terms.log.corrupt-'));
        assert.strictEqual(aside.length, 1, what);
        // Nothing lost: what is left plus what was set aside is the damaged file.
        const kept = fs.readFileSync(path.join(dir, 'terms.log'));
        const set = fs.readFileSync(path.join(dir, aside[0]));
        if (header) assert.ok(set.equals(bad), what);
        else assert.ok(Buffer.concat([kept, set]).equals(bad), what);
      }
    });

    it('log flips, tail-only check: reads either return reference terms or stop with StoreError', () => {
      const rnd = mulberry32(SEED ^ 0x9e3779b9);
      const root = tmpDir('flipfast');
      const log = base['terms.log'];
      for (let i = 0; i < 400; i++) {
        const pos = Math.floor(rnd() * log.length);
        const x = 1 + Math.floor(rnd() * 255);
        const what = `seed ${SEED}, fast flip #${i}: byte ${pos} ^= ${x}`;
        const bad = Buffer.from(log);
        bad[pos] ^= x;
        const dir = path.join(root, 'case');
        writeFiles(dir, { STATE: base.STATE, 'terms.log': bad, 'terms.idx': base['terms.idx'] });
        let sd: StateDir | undefined;
        try {
          sd = StateDir.open(dir, { durable: false, fullCheckBelowBytes: 0 });
        } catch (e) {
          assert.ok(e instanceof StoreError, `${what}: ${String(e)}`);
        }
        if (sd) {
          const r = readAll(sd);
          assertReferencePrefix(r.terms, what);
          const k = pos < 16 ? 1 : recordOf(pos);
          if (r.error !== undefined) {
            assert.ok(r.error instanceof StoreError && r.error.code === 'CORRUPT', `${what}: ${inspect(r.error)}`);
            assert.strictEqual(r.terms.length, k - 1, what);
            assert.deepStrictEqual(sd.verifyAll(), { ok: false, firstBad: k }, what);
          } else {
            assert.strictEqual(r.terms.length, Math.min(sd.count, k - 1), what);
          }
          sd.close();
          // A full-check reopen repairs it.
          const again = StateDir.open(dir, { durable: false });
          assert.deepStrictEqual(again.readRange(1, again.count), REF.slice(0, k - 1), what);
          again.close();
        }
      }
    });

    it('index flips never change a term: the index is rebuilt', () => {
      const rnd = mulberry32(SEED ^ 0x5bd1e995);
      const root = tmpDir('flipidx');
      const idx = base['terms.idx'];
      for (let i = 0; i < 200; i++) {
        const pos = Math.floor(rnd() * idx.length);
        const x = 1 + Math.floor(rnd() * 255);
        const what = `seed ${SEED}, idx flip #${i}: byte ${pos} ^= ${x}`;
        const bad = Buffer.from(idx);
        bad[pos] ^= x;
        const dir = path.join(root, 'case');
        writeFiles(dir, { STATE: base.STATE, 'terms.log': base['terms.log'], 'terms.idx': bad });
        const sd = StateDir.open(dir, { durable: false, fullCheckBelowBytes: i % 2 ? 0 : undefined });
        const r = readAll(sd);
        sd.close();
        assert.strictEqual(r.error, undefined, `${what}: ${inspect(r.error)}`);
        assert.deepStrictEqual(r.terms, REF.slice(0, TERMS), what);
        assert.ok(fs.readFileSync(path.join(dir, 'terms.idx')).equals(idx), `${what}: index repaired`);
      }
    });

    it('garbage appended after the last record is set aside; random garbage logs never crash', () => {
      const rnd = mulberry32(SEED ^ 0x1234567);
      const root = tmpDir('garbage');
      for (let i = 0; i < 200; i++) {
        const junk = Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256)));
        const whole = i % 2 === 1;
        const what = `seed ${SEED}, garbage #${i} (${whole ? 'whole log' : 'after the log'})`;
        const dir = path.join(root, 'case');
        const logBytes = whole ? junk : Buffer.concat([base['terms.log'], junk]);
        writeFiles(dir, { STATE: base.STATE, 'terms.log': logBytes, 'terms.idx': base['terms.idx'] });
        const sd = StateDir.open(dir, { durable: false, fullCheckBelowBytes: i % 4 < 2 ? 0 : undefined });
        const r = readAll(sd);
        sd.close();
        assert.strictEqual(r.error, undefined, what);
        assertReferencePrefix(r.terms, what);
        assert.strictEqual(r.terms.length, whole ? 0 : TERMS, what);
      }
    });

    it('snapshot flips: the damaged generation is set aside (not deleted) and the older one is used', () => {
      const rnd = mulberry32(SEED ^ 0x2545f491);
      const root = tmpDir('flipsnap');
      const newest = 'snapshot-0000000002.snap';
      const older = 'snapshot-0000000001.snap';
      const snap = withSnaps[newest];
      for (let i = 0; i < 500; i++) {
        const pos = Math.floor(rnd() * snap.length);
        const x = 1 + Math.floor(rnd() * 255);
        const what = `seed ${SEED}, snapshot flip #${i}: byte ${pos} ^= ${x}`;
        const bad = Buffer.from(snap);
        bad[pos] ^= x;
        const dir = path.join(root, 'case');
        const files: Record<string, Buffer> = { ...withSnaps, [newest]: bad };
        delete (files as Record<string, Buffer | undefined>).LOCK;
        writeFiles(dir, files);
        const sd = StateDir.open(dir, { durable: false });
        try {
          assert.strictEqual(sd.count, TERMS, what);
          assert.strictEqual(sd.latestSnapshot?.header.generation, 1, what);
          assert.strictEqual(sd.latestSnapshot?.header.position, 30, what);
          assert.ok(sd.latestSnapshot?.payload.equals(payloadA), what);
        } finally {
          sd.close();
        }
        const names = fs.readdirSync(dir);
        const aside = names.filter((n) => n.startsWith(`${newest}.corrupt-`));
        assert.strictEqual(aside.length, 1, what);
        assert.ok(fs.readFileSync(path.join(dir, aside[0])).equals(bad), what);
        for (const name of Object.keys(files)) {
          if (name !== newest) assert.ok(fs.readFileSync(path.join(dir, name)).equals(files[name]), `${what}: ${name} kept`);
        }
        assert.ok(!names.includes(newest), what);
      }
      // Both damaged: no snapshot, both kept aside.
      const dir = path.join(root, 'both');
      const b1 = Buffer.from(withSnaps[older]);
      const b2 = Buffer.from(snap);
      b1[20] ^= 1;
      b2[b2.length - 1] ^= 0x80;
      writeFiles(dir, { STATE: base.STATE, 'terms.log': withSnaps['terms.log'], 'terms.idx': withSnaps['terms.idx'], [older]: b1, [newest]: b2 });
      const sd = StateDir.open(dir, { durable: false });
      assert.strictEqual(sd.latestSnapshot, null);
      assert.strictEqual(sd.count, TERMS);
      assert.strictEqual(sd.recoveries.filter((l) => l.includes('is damaged')).length, 2, sd.recoveries.join(' | '));
      sd.close();
      assert.strictEqual(fs.readdirSync(dir).filter((n) => n.includes('.snap.corrupt-')).length, 2);
    });
  });

  describe('snapshots another build or sequence wrote', () => {
    function handMade(version: number, header: Record<string, unknown>, payload: Buffer): Buffer {
      const json = Buffer.from(JSON.stringify(header));
      const head = Buffer.alloc(16);
      head.write('TANSNAP\0', 0, 'latin1');
      head.writeUInt32LE(version, 8);
      head.writeUInt32LE(json.length, 12);
      const plen = Buffer.alloc(4);
      plen.writeUInt32LE(payload.length);
      const body = Buffer.concat([head, json, plen, payload]);
      const crc = Buffer.alloc(4);
      crc.writeUInt32LE(crc32c(body));
      return Buffer.concat([body, crc]);
    }
    const hdr = (gen: number, extra: Record<string, unknown> = {}) => ({
      ...snapHeader(10),
      createdAt: new Date().toISOString(),
      generation: gen,
      ...extra,
    });

    it('our own hand-made v1 file is read (the test encoder matches the format)', () => {
      const dir = tmpDir('snapv1');
      const sd = StateDir.open(dir);
      sd.appendTerms(REF.slice(0, 10));
      sd.close();
      fs.writeFileSync(path.join(dir, 'snapshot-0000000007.snap'), handMade(1, hdr(7), Buffer.from('hi')));
      const again = StateDir.open(dir);
      assert.strictEqual(again.latestSnapshot?.payload.toString(), 'hi');
      again.close();
    });

    for (const [name, file, code] of [
      ['a version-2 snapshot', handMade(2, hdr(3), Buffer.from('future')), 'VERSION'],
      ['a snapshot of another sequence', handMade(1, hdr(3, { sequence: 'A000111' }), Buffer.from('x')), 'SEQUENCE'],
    ] as const) {
      it(`${name} is refused with ${code} and left untouched`, () => {
        const dir = tmpDir('snapforeign');
        const sd = StateDir.open(dir);
        sd.appendTerms(REF.slice(0, 10));
        sd.writeSnapshot(snapHeader(5), Buffer.from('older'));
        sd.close();
        fs.writeFileSync(path.join(dir, 'snapshot-0000000003.snap'), file);
        const before = listing(dir);
        const err = expectStoreError(() => StateDir.open(dir), code);
        assert.ok(err.message.includes('snapshot-0000000003.snap'), err.message);
        expectStoreError(() => StateDir.open(dir, { mode: 'read' }), code);
        assert.deepStrictEqual(listing(dir), before);
      });
    }

    /** A log header written by hand (magic, version, CRC-32C of both), independent of the code under test. */
    function handMadeLogHeader(version: number): Buffer {
      const head = Buffer.alloc(16);
      head.write('TANLOG\0\0', 0, 'latin1');
      head.writeUInt32LE(version, 8);
      head.writeUInt32LE(crc32c(head.subarray(0, 12)), 12);
      return head;
    }

    it('a log header of another format version is refused with VERSION and left untouched', () => {
      const dir = tmpDir('logv99');
      StateDir.open(dir).close();
      const head = handMadeLogHeader(99);
      fs.writeFileSync(path.join(dir, 'terms.log'), Buffer.concat([head, Buffer.from('future records')]));
      const before = listing(dir);
      const e = expectStoreError(() => StateDir.open(dir), 'VERSION');
      assert.ok(e.message.endsWith('was written by log format version 99; this build reads versions 1 and 2'), e.message);
      assert.deepStrictEqual(listing(dir), before);
    });

    it('a version-1 log (CRC-32C records, written by earlier builds) is read, checked and appended to as version 1', async () => {
      // Made by hand to the version-1 layout, so this does not depend on the code under test.
      const dir = tmpDir('logv1');
      StateDir.open(dir).close();
      const head = handMadeLogHeader(1);
      const record = (t: Term) => {
        const body = Buffer.alloc(12 + t.digits.length);
        body.writeUInt32LE(0x52544e54, 0);
        body.writeUInt32LE(t.n, 4);
        body.writeUInt32LE(t.digits.length, 8);
        body.write(t.digits, 12, 'latin1');
        const crc = Buffer.alloc(4);
        crc.writeUInt32LE(crc32c(body.subarray(4)));
        return Buffer.concat([body, crc]);
      };
      fs.writeFileSync(path.join(dir, 'terms.log'), Buffer.concat([head, ...REF.slice(0, 40).map(record)]));
      fs.writeFileSync(path.join(dir, 'terms.idx'), Buffer.alloc(0)); // rebuilt from the log
      const sd = StateDir.open(dir);
      try {
        assert.strictEqual(sd.count, 40);
        assert.deepStrictEqual(sd.readRange(1, 40), REF.slice(0, 40));
        sd.appendTerms(REF.slice(40, 60));
        sd.appendTerms(sd.encodeTerms(REF.slice(60, 70)));
      } finally {
        sd.close();
      }
      const bytes = fs.readFileSync(path.join(dir, 'terms.log'));
      assert.ok(bytes.equals(Buffer.concat([head, ...REF.slice(0, 70).map(record)])), 'the log is version 1 byte for byte');
      const reader = await AsyncTermReader.open(dir);
      try {
        assert.deepStrictEqual(await reader.readRange(1, 70), REF.slice(0, 70));
      } finally {
        await reader.close();
      }
      // A damaged version-1 record is found by its CRC-32C like any other.
      const at = bytes.length - 4 - REF[69].digits.length + 3;
      fs.writeFileSync(path.join(dir, 'terms.log'), Buffer.concat([bytes.subarray(0, at), Buffer.from([bytes[at] === 0x31 ? 0x32 : 0x31]), bytes.subarray(at + 1)]));
      const damaged = StateDir.open(dir);
      try {
        assert.strictEqual(damaged.count, 69);
      } finally {
        damaged.close();
      }
    });

    it('a new log is version 2, its records checked by CRC-32', () => {
      const dir = tmpDir('logv2');
      const sd = StateDir.open(dir);
      sd.appendTerms(REF.slice(0, 3));
      sd.close();
      const bytes = fs.readFileSync(path.join(dir, 'terms.log'));
      assert.strictEqual(bytes.readUInt32LE(8), 2);
      // Term 1's record: magic, n, L, digits, then CRC-32 of (n, L, digits).
      const L = bytes.readUInt32LE(24);
      assert.strictEqual(bytes.readUInt32LE(28 + L), crc32(bytes.subarray(20, 28 + L)));
    });

    it('snapshots ahead of a log that lost its tail are set aside', () => {
      const dir = tmpDir('ahead');
      const sd = StateDir.open(dir);
      sd.appendTerms(REF.slice(0, 60));
      sd.writeSnapshot(snapHeader(30), Buffer.from('30'));
      sd.writeSnapshot(snapHeader(60), Buffer.from('60'));
      sd.close();
      fs.truncateSync(path.join(dir, 'terms.log'), recordStart(51) + 5); // torn in term 51
      const again = StateDir.open(dir);
      try {
        assert.strictEqual(again.count, 50);
        assert.strictEqual(again.latestSnapshot?.payload.toString(), '30');
        assert.ok(fs.readdirSync(dir).some((n) => n.startsWith('snapshot-0000000002.snap.corrupt-')));
      } finally {
        again.close();
      }
    });
  });

  describe('refusals change nothing on disk', () => {
    it('FOREIGN: a directory holding other files', () => {
      const dir = tmpDir('foreign');
      fs.writeFileSync(path.join(dir, 'notes.txt'), 'my notes');
      fs.mkdirSync(path.join(dir, 'sub'));
      fs.writeFileSync(path.join(dir, 'sub', 'a.bin'), Buffer.from([1, 2, 3]));
      const before = listing(dir);
      const e = expectStoreError(() => StateDir.open(dir), 'FOREIGN');
      assert.strictEqual(
        e.message,
        `${dir} is not a Tangent Numbers state directory (it holds other files); choose an empty or new directory`,
      );
      expectStoreError(() => StateDir.open(dir, { mode: 'read' }), 'FOREIGN');
      assert.deepStrictEqual(listing(dir), before);
    });

    const stateCases: [string, string, string][] = [
      ['another formatVersion', JSON.stringify({ magic: 'tangent-numbers-state', formatVersion: 2, sequence: 'A000182' }), 'VERSION'],
      ['another sequence', JSON.stringify({ magic: 'tangent-numbers-state', formatVersion: 1, sequence: 'A000111' }), 'SEQUENCE'],
      ['another magic', JSON.stringify({ magic: 'something-else', formatVersion: 1, sequence: 'A000182' }), 'FOREIGN'],
      ['an unparsable STATE', '{"magic": "tangent-num', 'FOREIGN'],
    ];
    for (const [name, text, code] of stateCases) {
      it(`${code}: ${name}`, () => {
        const dir = tmpDir('state');
        const sd = StateDir.open(dir);
        sd.appendTerms(REF.slice(0, 20));
        sd.writeSnapshot(snapHeader(20), Buffer.from('s'));
        sd.close();
        fs.writeFileSync(path.join(dir, 'STATE'), text);
        fs.writeFileSync(path.join(dir, 'snapshot-0000000009.snap.tmp'), 'leftover'); // would be cleaned by a real open
        const before = listing(dir);
        const e = expectStoreError(() => StateDir.open(dir), code);
        if (code === 'VERSION') assert.ok(e.message.endsWith('was written by format version 2; this build reads version 1'), e.message);
        expectStoreError(() => StateDir.open(dir, { mode: 'read' }), code);
        assert.deepStrictEqual(listing(dir), before);
      });
    }

    it('UNUSABLE_DIR: a path that is a file, or lies under a file', () => {
      const root = tmpDir('unusable');
      const file = path.join(root, 'plain.txt');
      fs.writeFileSync(file, 'x');
      expectStoreError(() => StateDir.open(file), 'UNUSABLE_DIR');
      const e = expectStoreError(() => StateDir.open(path.join(file, 'state')), 'UNUSABLE_DIR');
      assert.match(e.message, /ENOTDIR|EEXIST|not a directory/);
      assert.strictEqual(fs.readFileSync(file, 'utf8'), 'x');
    });

    it('a lone STATE temp file (interrupted initialisation) does not make a directory foreign', () => {
      const dir = tmpDir('statetmp');
      fs.writeFileSync(path.join(dir, 'STATE.tmp-2147483646-abcdef'), '{"magic":');
      fs.writeFileSync(path.join(dir, 'STATE.tmp'), '');
      const sd = StateDir.open(dir);
      sd.appendTerms(REF.slice(0, 1));
      sd.close();
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['STATE', 'terms.idx', 'terms.log']);
    });
  });

  describe('read-only access to a damaged directory', () => {
    it('StateDir read mode reports the damage but changes nothing', () => {
      const dir = tmpDir('rodamage');
      const sd = StateDir.open(dir);
      sd.appendTerms(REF.slice(0, 60));
      sd.close();
      const logPath = path.join(dir, 'terms.log');
      const bytes = fs.readFileSync(logPath);
      bytes[recordStart(41) + 14] ^= 0x01; // a digit of term 41
      fs.writeFileSync(logPath, bytes);
      fs.appendFileSync(path.join(dir, 'terms.idx'), Buffer.alloc(3)); // partial idx entry
      const before = listing(dir);
      const r = StateDir.open(dir, { mode: 'read' });
      try {
        assert.strictEqual(r.count, 40);
        assert.deepStrictEqual(r.readRange(1, 40), REF.slice(0, 40));
        assert.ok(r.recoveries.some((l) => l.includes('term 41') && l.includes('read-only')), r.recoveries.join(' | '));
      } finally {
        r.close();
      }
      assert.deepStrictEqual(listing(dir), before);
    });

    it('AsyncTermReader fails at the first damaged record, naming it, and never answers short', async () => {
      const dir = tmpDir('asyncdamage');
      const sd = StateDir.open(dir);
      sd.appendTerms(REF.slice(0, 60));
      sd.close();
      const logPath = path.join(dir, 'terms.log');
      const bytes = fs.readFileSync(logPath);
      bytes[recordStart(33) + 12] ^= 0x04;
      fs.writeFileSync(logPath, bytes);
      const r = await AsyncTermReader.open(dir);
      const corruptAt = (n: number) => (e: unknown) => e instanceof StoreError && e.code === 'CORRUPT' && e.term === n && e.message.startsWith(`term ${n} in `);
      try {
        assert.strictEqual(await r.count(), 60);
        await assert.rejects(r.readRange(1, 60), corruptAt(33));
        await assert.rejects(r.readRangeBytes(30, 40), corruptAt(33));
        assert.deepStrictEqual(await r.readRange(1, 32), REF.slice(0, 32));
        assert.deepStrictEqual(await r.readRange(34, 60), REF.slice(33, 60));
        fs.truncateSync(logPath, recordStart(50) + 3); // torn: idx points past the end
        await assert.rejects(r.readRange(40, 60), corruptAt(50));
        assert.deepStrictEqual(await r.readRange(40, 49), REF.slice(39, 49));
        // The log and the index cut back together (a writer's recovery): the read is clamped to what is left.
        fs.truncateSync(path.join(dir, 'terms.idx'), 49 * 8);
        assert.deepStrictEqual(await r.readRange(40, 60), REF.slice(39, 49));
      } finally {
        await r.close();
      }
    });
  });

  describe('full or failing disk (ENOSPC, EDQUOT, EIO, EROFS)', () => {
    function diskFull(code = 'ENOSPC'): Error {
      return Object.assign(new Error(`${code}: no space left on device, write`), { code, syscall: 'write' });
    }
    /** Makes the nth fs.writeSync or fs.writevSync call (the log's appends) write half its bytes and then fail. */
    function failingWrites<T>(nth: number, fn: () => T, code = 'ENOSPC', alsoFailTruncate = false): T {
      const realWrite = storeFs.writeSync;
      const realWritev = storeFs.writevSync;
      const realTrunc = storeFs.ftruncateSync;
      let calls = 0;
      const f = storeFs as unknown as Record<string, unknown>;
      f.writeSync = (fd: number, buf: Uint8Array, off: number, len: number, pos: number) => {
        if (++calls === nth) {
          realWrite(fd, buf, off, Math.floor(len / 2), pos);
          throw diskFull(code);
        }
        return realWrite(fd, buf, off, len, pos);
      };
      f.writevSync = (fd: number, pieces: Uint8Array[], pos: number) => {
        if (++calls === nth) {
          const all = Buffer.concat(pieces);
          realWrite(fd, all, 0, Math.floor(all.length / 2), pos);
          throw diskFull(code);
        }
        return realWritev(fd, pieces, pos);
      };
      if (alsoFailTruncate) {
        f.ftruncateSync = () => {
          throw diskFull('EIO');
        };
      }
      try {
        return fn();
      } finally {
        f.writeSync = realWrite;
        f.writevSync = realWritev;
        f.ftruncateSync = realTrunc;
      }
    }

    it('a failed log write leaves the log as it was; reopen sees the old terms', () => {
      const dir = tmpDir('enospc');
      const logPath = path.join(dir, 'terms.log');
      const sd = StateDir.open(dir);
      try {
        sd.appendTerms(REF.slice(0, 100));
        const size = fs.statSync(logPath).size;
        const e = expectStoreError(() => failingWrites(1, () => sd.appendTerms(REF.slice(100, 200))), 'NO_SPACE');
        assert.match(e.message, /^the disk is full: /);
        assert.strictEqual(fs.statSync(logPath).size, size);
        assert.strictEqual(sd.count, 100);
        // EDQUOT maps the same way; a failure of the index write also undoes the log write.
        expectStoreError(() => failingWrites(1, () => sd.appendTerms([REF[100]]), 'EDQUOT'), 'NO_SPACE');
        expectStoreError(() => failingWrites(2, () => sd.appendTerms(REF.slice(100, 150))), 'NO_SPACE');
        assert.strictEqual(fs.statSync(logPath).size, size);
        assert.strictEqual(fs.statSync(path.join(dir, 'terms.idx')).size, 800);
        assert.strictEqual(sd.count, 100);
      } finally {
        sd.close();
      }
      const again = StateDir.open(dir);
      try {
        assert.strictEqual(again.count, 100);
        assert.deepStrictEqual(again.recoveries, []);
        assert.deepStrictEqual(again.readRange(1, 100), REF.slice(0, 100));
        again.appendTerms(REF.slice(100));
        assert.deepStrictEqual(again.readRange(1, 500), REF);
      } finally {
        again.close();
      }
    });

    it('if even the rollback fails, the half-written batch is cut before the next append or at the next open', () => {
      const batchEnd = recordStart(201);
      const halfEnd = recordStart(101) + Math.floor((batchEnd - recordStart(101)) / 2);
      let complete = 100; // records of the batch that made it whole into the first half
      while (recordStart(complete + 2) <= halfEnd) complete++;
      assert.ok(complete > 100 && complete < 200);

      const dir = tmpDir('enospc2');
      const sd = StateDir.open(dir);
      sd.appendTerms(REF.slice(0, 100));
      expectStoreError(() => failingWrites(1, () => sd.appendTerms(REF.slice(100, 200)), 'ENOSPC', true), 'NO_SPACE');
      assert.strictEqual(fs.statSync(path.join(dir, 'terms.log')).size, halfEnd);
      sd.close();
      const again = StateDir.open(dir);
      try {
        // Whole records that reached the disk are valid terms and are kept; the torn one is cut.
        assert.strictEqual(again.count, complete);
        assert.ok(again.recoveries.includes(`cut a torn tail of ${halfEnd - recordStart(complete + 1)} bytes after term ${complete}`), again.recoveries.join(' | '));
        assert.deepStrictEqual(again.readRange(1, complete), REF.slice(0, complete));
        // Same session: the next append first cuts what the failed one left.
        expectStoreError(() => failingWrites(1, () => again.appendTerms(REF.slice(complete, 300)), 'ENOSPC', true), 'NO_SPACE');
        again.appendTerms([REF[complete]]);
        assert.strictEqual(fs.statSync(path.join(dir, 'terms.log')).size, recordStart(complete + 2));
      } finally {
        again.close();
      }
      const third = StateDir.open(dir);
      assert.deepStrictEqual(third.recoveries, []);
      assert.deepStrictEqual(third.readRange(1, third.count), REF.slice(0, complete + 1));
      third.close();
    });

    it('a failed snapshot write leaves no temp file and keeps the previous snapshot', () => {
      const dir = tmpDir('enospcsnap');
      const sd = StateDir.open(dir);
      try {
        sd.appendTerms(REF.slice(0, 10));
        sd.writeSnapshot(snapHeader(5), Buffer.from('five'));
        expectStoreError(() => failingWrites(1, () => sd.writeSnapshot(snapHeader(10), Buffer.alloc(5000, 1))), 'NO_SPACE');
        assert.strictEqual(sd.latestSnapshot?.payload.toString(), 'five');
        assert.deepStrictEqual(fs.readdirSync(dir).filter((n) => n.includes('.tmp')), []);
      } finally {
        sd.close();
      }
      const again = StateDir.open(dir);
      assert.strictEqual(again.latestSnapshot?.payload.toString(), 'five');
      again.close();
    });

    // A disk that fails in other ways: each failure is its own code with one line saying what to do, the
    // state stays as it was, and it reopens and finishes to the reference terms.
    const failures: [string, string, RegExp][] = [
      ['EIO', 'IO_ERROR', /^the disk reported an I\/O error while trying to (append to|write|update) .* \(EIO\); copy the state directory to a healthy disk, then resume/],
      ['EROFS', 'READ_ONLY', /^could not (append to|write|update) .*: it is on a read-only file system \(EROFS\); copy the state directory to a writable disk, then resume/],
      ['EDQUOT', 'NO_SPACE', /^the disk quota is used up: could not (append to|write|update) .* \(EDQUOT\); free some space or copy the state directory to a disk with room, then resume/],
      ['ENOSPC', 'NO_SPACE', /^the disk is full: could not (append to|write|update) .* \(ENOSPC\); free some space or copy the state directory to a disk with room, then resume/],
    ];
    const phases: [string, number, (sd: StateDir) => unknown][] = [
      ['an append to the log', 1, (sd) => sd.appendTerms(REF.slice(100, 200))],
      ['the index write of an append', 2, (sd) => sd.appendTerms(REF.slice(100, 200))],
      ['a snapshot write', 1, (sd) => sd.writeSnapshot(snapHeader(100), Buffer.alloc(5000, 7))],
    ];
    for (const [errno, code, message] of failures) {
      for (const [phase, nth, act] of phases) {
        it(`${errno} at ${phase}: StoreError ${code}, one line; the state reopens as it was and finishes exactly`, () => {
          const dir = tmpDir(`fail-${errno}`);
          const sd = StateDir.open(dir);
          let before: Map<string, Buffer | null>;
          try {
            sd.appendTerms(REF.slice(0, 100));
            sd.writeSnapshot(snapHeader(50), Buffer.from('fifty'));
            before = listing(dir);
            const e = expectStoreError(() => failingWrites(nth, () => act(sd), errno), code);
            assert.match(e.message, message);
            assert.strictEqual(sd.count, 100);
            assert.strictEqual(sd.latestSnapshot?.payload.toString(), 'fifty');
          } finally {
            sd.close();
          }
          before.delete('LOCK');
          const after = listing(dir);
          after.delete('LOCK');
          assert.deepStrictEqual(after, before, 'the failed write left nothing behind');
          const again = StateDir.open(dir);
          try {
            assert.deepStrictEqual(again.recoveries, []);
            assert.strictEqual(again.count, 100);
            again.appendTerms(REF.slice(100));
            again.writeSnapshot(snapHeader(500), Buffer.from('done'));
            assert.deepStrictEqual(again.readRange(1, 500), REF);
          } finally {
            again.close();
          }
        });
      }
    }

    it('EROFS when a snapshot file cannot even be created: READ_ONLY, and the previous snapshot stays', () => {
      const dir = tmpDir('erofs-open');
      const sd = StateDir.open(dir);
      try {
        sd.appendTerms(REF.slice(0, 20));
        sd.writeSnapshot(snapHeader(10), Buffer.from('ten'));
        const realOpen = storeFs.openSync;
        storeFs.openSync = ((file: fs.PathLike, flags: fs.OpenMode = 'r', mode?: fs.Mode) => {
          if (String(file).includes('.snap')) throw Object.assign(new Error(`EROFS: read-only file system, open '${String(file)}'`), { code: 'EROFS', syscall: 'open' });
          return realOpen(file, flags, mode);
        }) as typeof storeFs.openSync;
        try {
          const e = expectStoreError(() => sd.writeSnapshot(snapHeader(20), Buffer.from('twenty')), 'READ_ONLY');
          assert.match(e.message, /^could not write .*snapshot-\d+\.snap: it is on a read-only file system \(EROFS\)/);
        } finally {
          storeFs.openSync = realOpen;
        }
        assert.strictEqual(sd.latestSnapshot?.payload.toString(), 'ten');
        assert.deepStrictEqual(fs.readdirSync(dir).filter((n) => n.includes('.tmp')), []);
      } finally {
        sd.close();
      }
    });
  });

  describe('crash (SIGKILL) mid-append', () => {
    // Appends the remaining reference terms in batches of 1-3, reporting progress after each.
    const child = `
      const fs = require('fs');
      const [mod, fixture, dir] = process.argv.slice(1);
      const { StateDir } = require(mod);
      const ref = fs.readFileSync(fixture, 'utf8').trim().split('\\n').map((l) => {
        const [n, d] = l.trim().split(/\\s+/);
        return { n: Number(n), digits: d };
      });
      const sd = StateDir.open(dir);
      let i = 0;
      while (sd.count < ref.length) {
        sd.appendTerms(ref.slice(sd.count, sd.count + 1 + (i++ % 3)));
        fs.writeSync(1, sd.count + '\\n');
      }
      sd.close();
    `;
    /** Runs the child and SIGKILLs it once it reports at least `killAt` terms. */
    function runAndKill(dir: string, killAt: number): Promise<{ pid: number; killed: boolean }> {
      return new Promise((resolve, reject) => {
        const cp = spawn(process.execPath, ['-e', child, storeModule, fixturePath(), dir], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        cp.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const lines = out.trim().split('\n');
          if (Number(lines[lines.length - 1]) >= killAt) cp.kill('SIGKILL');
        });
        cp.stderr.on('data', (d: Buffer) => (err += d.toString()));
        cp.on('error', reject);
        cp.on('exit', (code, signal) => {
          if (signal !== 'SIGKILL' && code !== 0) reject(new Error(`child failed (${code}): ${err}`));
          else resolve({ pid: cp.pid as number, killed: signal === 'SIGKILL' });
        });
      });
    }

    it('reopens to a valid prefix each time; finishing gives the same bytes as one clean run', async function () {
      this.timeout(60_000);
      const rnd = mulberry32(SEED ^ 0x7f4a7c15);
      const dir = path.join(tmpDir('crash'), 'state');
      StateDir.open(dir).close();
      let kills = 0;
      let count = 0;
      for (let round = 0; round < 5; round++) {
        const killAt = count + 1 + Math.floor(rnd() * (REF.length - count) * 0.5);
        const { pid, killed } = await runAndKill(dir, killAt);
        const sd = StateDir.open(dir);
        count = sd.count;
        try {
          const what = `seed ${SEED}, round ${round}, killed once past term ${killAt}, reopened at ${count}`;
          assert.deepStrictEqual(sd.readRange(1, sd.count), REF.slice(0, sd.count), what);
          assert.deepStrictEqual(sd.verifyAll(), { ok: true }, what);
          if (killed) {
            kills++;
            assert.ok(sd.recoveries.some((l) => l.startsWith(`took over stale lock of pid ${pid} on `)), `${what}: ${sd.recoveries.join(' | ')}`);
          }
          if (sd.count === REF.length) break;
        } finally {
          sd.close();
        }
      }
      assert.ok(kills > 0, 'at least one child was killed mid-run');
      const sd = StateDir.open(dir);
      sd.appendTerms(REF.slice(sd.count));
      sd.close();

      const clean = path.join(tmpDir('clean'), 'state');
      const c = StateDir.open(clean);
      c.appendTerms(REF);
      c.close();
      for (const f of ['terms.log', 'terms.idx']) {
        assert.ok(fs.readFileSync(path.join(dir, f)).equals(fs.readFileSync(path.join(clean, f))), `${f} is byte-identical`);
      }
    });
  });
});
