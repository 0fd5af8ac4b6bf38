// What the job does with the faults a user's machine brings: a stored term damaged anywhere in the log is
// set aside and recomputed by the job itself; checkpoints store a block's finished terms once (pending.log),
// and a damaged pending.log only costs recomputing the blocks it held. Compared with the reference b-files.
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PiCache } from '../../src/engine/bigmath';
import { joinBlockState, splitBlockState, ZetaBlock } from '../../src/engine/tangent';
import { PENDING_FILE, StateDir } from '../../src/store';
import { PendingTerms } from '../../src/store/pendingTerms';
import { restoreEngine, writeCheckpoint } from '../../src/worker/jobState';
import { JobRunner } from '../../src/worker/runner';
import type { JobWorkerEvent } from '../../src/common/protocol';
import { REFERENCE, REFERENCE_HASHES } from './reference';
import { tempDirs } from './testUtil';

const WORKER_DIR = path.resolve(__dirname, '../../../dist');
const { roots, tmpDir } = tempDirs('tn-recovery');

function bfileHash(dir: string): { count: number; sha256: string } {
  const s = StateDir.open(dir, { mode: 'read' });
  try {
    const h = createHash('sha256');
    for (const t of s.iterate()) h.update(`${t.n} ${t.digits}\n`);
    return { count: s.count, sha256: h.digest('hex') };
  } finally {
    s.close();
  }
}

async function run(dir: string, target: number): Promise<JobWorkerEvent[]> {
  const runner = new JobRunner({ stateDir: dir, target, workerDir: WORKER_DIR, inline: true });
  const events: JobWorkerEvent[] = [];
  runner.onEvent((e) => events.push(e));
  const o = await runner.outcome;
  assert.equal(o.kind === 'stopped' && o.reason, 'finished', JSON.stringify(o));
  return events;
}

/** Changes one digit of the record at the middle of terms.log (its checksum then fails). */
function flipMiddleDigit(dir: string): void {
  const file = path.join(dir, 'terms.log');
  const fd = fs.openSync(file, 'r+');
  try {
    const at = Math.floor(fs.fstatSync(fd).size / 2);
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, at);
    b[0] = b[0] >= 0x30 && b[0] <= 0x39 ? 0x30 + ((b[0] - 0x30 + 1) % 10) : b[0] ^ 1;
    fs.writeSync(fd, b, 0, 1, at);
  } finally {
    fs.closeSync(fd);
  }
}

/** Terms 1..300 stored, and a checkpoint (job target 400) holding block 301..400 thirty terms in; returns the block to go on with. */
async function storedWithBlockInProgress(tag: string): Promise<{ dir: string; block: ZetaBlock }> {
  const dir = path.join(tmpDir(tag), 'state');
  await run(dir, 300);
  const block = ZetaBlock.start(301, 400, new PiCache());
  for (let i = 0; i < 30; i++) block.step();
  const store = StateDir.open(dir);
  try {
    writeCheckpoint(store, restoreEngine(store, 400).engine, 400, [{ from: 301, to: 400, state: block.serialize() }]);
  } finally {
    store.close();
  }
  return { dir, block };
}

describe('job recovery: a damaged log heals itself, pending terms are stored once', function () {
  this.timeout(300_000);
  after(() => roots.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('one flipped digit mid-log of a finished 2000-term job (10 MB): the next run sets it and what follows aside, recomputes, and ends exact', async () => {
    const dir = path.join(tmpDir('flip'), 'state');
    await run(dir, 2000);
    flipMiddleDigit(dir);
    const events = await run(dir, 2000);
    const warnings = events.flatMap((e) => (e.type === 'log' && e.level === 'warn' ? [e.message] : []));
    const healed = warnings.find((w) => /^terms\.log: the record of term \d+ at byte \d+ is damaged \(its checksum is wrong\); moved terms \d+\.\.2000 .* terms from \d+ on are computed again$/.test(w));
    assert.ok(healed, `the job says what it set aside and that it is computed again: ${warnings.join(' | ')}`);
    const n = Number(/record of term (\d+)/.exec(healed)![1]);
    assert.ok(n > 1000 && n < 2000, `the damage is mid-log: term ${n}`);
    // Recomputed from there, in order.
    assert.ok(events.some((e) => e.type === 'committed' && e.from === n), `term ${n} was committed again`);
    assert.equal(bfileHash(dir).sha256, REFERENCE_HASHES['2000'].sha256);
    const aside = fs.readdirSync(dir).filter((f) => f.startsWith('terms.log.corrupt-'));
    assert.equal(aside.length, 1, 'the damaged part is set aside, never deleted');
    // Nothing left to heal.
    const again = await run(dir, 2000);
    assert.ok(!again.some((e) => e.type === 'log' && e.level === 'warn'), 'a second run finds nothing wrong');
  });

  it('a block state splits into its arithmetic and its finished terms, and joins back to the same bytes', () => {
    const block = ZetaBlock.start(401, 460, new PiCache());
    for (let i = 0; i < 25; i++) block.step();
    const state = block.serialize();
    const s = splitBlockState(state);
    assert.equal(s.from, 401);
    assert.equal(s.to, 460);
    assert.equal(s.next, 435);
    assert.equal(s.finished.length, 25);
    // T(436..460) as the reference has them.
    assert.deepEqual(s.finished.map((d) => Buffer.from(d).toString('latin1')), REFERENCE.slice(435, 460));
    assert.ok(joinBlockState(s.head, s.finished).equals(state));
  });

  it('checkpoints append only new finished terms to pending.log; a resume rebuilds the block from it, exact', async () => {
    const { dir, block } = await storedWithBlockInProgress('pending');
    const store = StateDir.open(dir);
    try {
      const first = fs.statSync(path.join(dir, PENDING_FILE)).size;
      for (let i = 0; i < 10; i++) block.step();
      const s2 = writeCheckpoint(store, restoreEngine(store, 400).engine, 400, [{ from: 301, to: 400, state: block.serialize() }]);
      const second = fs.statSync(path.join(dir, PENDING_FILE)).size;
      // The second checkpoint appended T(361..370) only: 10 records of 16 bytes plus their digits.
      const tenDigits = REFERENCE.slice(360, 370).reduce((sum, d) => sum + d.length + 16, 0);
      assert.equal(second - first, tenDigits);
      assert.ok(s2.payloadBytes < block.serialize().length, 'the snapshot holds the arithmetic, not the terms');
      const restored = restoreEngine(store, 400);
      assert.equal(restored.pendingBlocks.length, 1);
      const rebuilt = ZetaBlock.restore(restored.pendingBlocks[0].state);
      while (!rebuilt.finished) rebuilt.step();
      assert.deepEqual(rebuilt.termBytes().map((d) => Buffer.from(d).toString('latin1')), REFERENCE.slice(300, 400));
    } finally {
      store.close();
    }
  });

  it('a damaged pending.log is cut where the damage starts and set aside; its blocks are recomputed, the job ends exact', async () => {
    const { dir } = await storedWithBlockInProgress('pendingdamage');
    // A record's length field garbled: what follows can no longer be told apart.
    const file = path.join(dir, PENDING_FILE);
    const b = fs.readFileSync(file);
    b.writeUInt32LE(0xffffff, 16 + 8);
    fs.writeFileSync(file, b);
    const reports: string[] = [];
    const p = PendingTerms.open(dir, { durable: true, report: (l) => reports.push(l) });
    p.close();
    assert.match(reports.join(' '), /pending\.log is damaged at byte 16; moved the \d+ bytes from there to pending\.log\.corrupt-/);
    assert.equal(fs.statSync(file).size, 16);
    const events = await run(dir, 400);
    const opened = events.find((e) => e.type === 'opened');
    assert.ok(opened && opened.type === 'opened' && opened.recoveries.some((r) => /block 301\.\.400: terms it had finished are missing from pending\.log; recomputing it/.test(r)), JSON.stringify(opened));
    assert.deepEqual(bfileHash(dir).count, 400);
    const s = StateDir.open(dir, { mode: 'read' });
    try {
      assert.deepEqual([...s.iterate()].map((t) => t.digits), REFERENCE.slice(0, 400));
    } finally {
      s.close();
    }
  });
});
