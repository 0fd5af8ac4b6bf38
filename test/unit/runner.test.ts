// The host-side runner with real worker threads: events, pause/resume/cancel, and every way a
// worker can end turning into exactly one outcome (never a hang), with the stored state intact.
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { SPLIT_BYTES, type BlockRequest, type BlockResult, type JobWorkerEvent } from '../../src/common/protocol';
import { BlockPool, PoolStopped } from '../../src/worker/blockPool';
import { StateDir } from '../../src/store';
import { PiCache } from '../../src/engine/bigmath';
import { ZetaBlock } from '../../src/engine/tangent';
import { restoreEngine, writeCheckpoint } from '../../src/worker/jobState';
import { JOB_THREAD_MIN_MEMORY_MB, JobRunner, blockYoungGenerationMb, jobThreadMemoryMb } from '../../src/worker/runner';
import { REFERENCE, REFERENCE_HASHES } from './reference';
import { tempDirs } from './testUtil';

const WORKER_DIR = path.resolve(__dirname, '../../../dist');

const { roots, tmpDir } = tempDirs('tn-runner');

function tmpState(): string {
  return path.join(tmpDir('job'), 'state');
}

function collect(runner: JobRunner): JobWorkerEvent[] {
  const events: JobWorkerEvent[] = [];
  runner.onEvent((e) => events.push(e));
  return events;
}

function storedTerms(dir: string): string[] {
  const s = StateDir.open(dir, { mode: 'read' });
  try {
    return [...s.iterate()].map((t) => t.digits);
  } finally {
    s.close();
  }
}

/** The committed events cover 1..count in order, without gaps or overlaps. */
function assertCommittedInOrder(events: JobWorkerEvent[], count: number): void {
  let next = 1;
  for (const e of events) {
    if (e.type !== 'committed') continue;
    assert.equal(e.from, next, 'committed in order, without gaps');
    next = e.to + 1;
  }
  assert.equal(next, count + 1);
}

/** The committed ranges, "from..to", in the order they were committed. */
function committedRanges(events: JobWorkerEvent[]): string[] {
  return events.flatMap((e) => (e.type === 'committed' ? [`${e.from}..${e.to}`] : []));
}

/**
 * Stores terms 1..300 in `dir`, then writes a snapshot at term 300 (job target 600) holding block
 * from..to as it is 30 terms in, as a checkpoint taken while that block ran would.
 */
async function snapshotAt300Holding(dir: string, from: number, to: number): Promise<void> {
  assert.equal((await new JobRunner({ stateDir: dir, target: 300, workerDir: WORKER_DIR }).outcome).kind, 'stopped');
  const block = ZetaBlock.start(from, to, new PiCache());
  for (let i = 0; i < 30; i++) block.step();
  const store = StateDir.open(dir, { mode: 'write' });
  try {
    writeCheckpoint(store, restoreEngine(store, 600).engine, 600, [{ from, to, state: block.serialize() }]);
  } finally {
    store.close();
  }
}

describe('runner (worker threads)', function () {
  this.timeout(120000);
  after(() => roots.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('runs a job to the end: opened, throttled progress, committed blocks in order, checkpoints', async () => {
    const dir = tmpState();
    const runner = new JobRunner({ stateDir: dir, target: 500, workerDir: WORKER_DIR, checkpointIntervalMs: 50 });
    const events = collect(runner);
    const outcome = await runner.outcome;
    assert.equal(outcome.kind, 'stopped');
    assert.equal(outcome.kind === 'stopped' && outcome.reason, 'finished');
    const opened = events.findIndex((e) => e.type === 'opened');
    assert.ok(opened >= 0 && opened < events.findIndex((e) => e.type === 'committed'), 'opened comes first');
    assertCommittedInOrder(events, 500);
    assert.ok(events.some((e) => e.type === 'checkpoint'));
    const progress = events.filter((e) => e.type === 'progress');
    assert.ok(progress.length >= 1);
    assert.deepEqual(storedTerms(dir), REFERENCE);
  });

  it('a due checkpoint asks the running blocks for their state, so checkpoints hold blocks in progress', async () => {
    const dir = tmpState();
    const runner = new JobRunner({ stateDir: dir, target: 3500, workerDir: WORKER_DIR, checkpointIntervalMs: 150, parallelism: 1 });
    const events = collect(runner);
    const outcome = await runner.outcome;
    assert.equal(outcome.kind === 'stopped' && outcome.reason, 'finished');
    const checkpoints = events.filter((e) => e.type === 'checkpoint');
    const withBlocks = checkpoints.filter((e) => e.blocks.length > 0);
    // Blocks above term 1500 take well over 150 ms each: nearly every checkpoint meets one mid-way.
    assert.ok(withBlocks.length >= 3, `checkpoints with blocks in progress: ${withBlocks.length} of ${checkpoints.length}`);
    for (const c of withBlocks) {
      const [from] = c.blocks[0].split('..').map(Number);
      assert.ok(from > c.position, `a checkpointed block starts after the stored terms: ${JSON.stringify(c)}`);
    }
    assert.equal(storedTerms(dir).length, 3500);
  });

  it('at the end of a job a thread with nothing left takes over the bottom of a running block; the b-file is the reference', async () => {
    const dir = tmpState();
    // The last blocks of a 2000-term job differ a lot in size: the first thread to finish has nothing left to plan.
    const runner = new JobRunner({ stateDir: dir, target: 2000, workerDir: WORKER_DIR, parallelism: 2, checkpointIntervalMs: 1000 });
    const events = collect(runner);
    const outcome = await runner.outcome;
    assert.equal(outcome.kind === 'stopped' && outcome.reason, 'finished');
    const splits = events.filter((e) => e.type === 'log' && / split at \d+/.test(e.message));
    assert.ok(splits.length >= 1, `a block was split: ${JSON.stringify(events.filter((e) => e.type === 'log'))}`);
    assertCommittedInOrder(events, 2000);
    const bfile = storedTerms(dir).map((d, i) => `${i + 1} ${d}\n`).join('');
    assert.equal(createHash('sha256').update(bfile).digest('hex'), REFERENCE_HASHES['2000'].sha256);
  });

  it('a checkpointed block beyond a gap (the top of a split whose bottom had no state yet) is continued, the gap computed afresh', async () => {
    const dir = tmpState();
    // A snapshot at term 300 holding block 401..560, 30 terms into it, and nothing for 301..400.
    await snapshotAt300Holding(dir, 401, 560);
    // One thread: no end-of-job split, so the saved block is committed as the one range it was saved as.
    const second = new JobRunner({ stateDir: dir, target: 600, workerDir: WORKER_DIR, parallelism: 1 });
    const events = collect(second);
    const outcome = await second.outcome;
    assert.equal(outcome.kind === 'stopped' && outcome.reason, 'finished');
    const opened = events.find((e) => e.type === 'opened');
    assert.ok(opened?.type === 'opened' && opened.recoveries.some((r) => r.includes('continuing 1 block(s) from their checkpointed state: 401..560')), JSON.stringify(opened));
    assert.ok(!events.some((e) => e.type === 'log' && e.level === 'warn'), JSON.stringify(events.filter((e) => e.type === 'log')));
    const committed = committedRanges(events);
    assert.ok(committed.includes('401..560'), `the saved block was continued as it was: ${committed.join(' ')}`);
    assert.equal(committed[0].split('..')[0], '301');
    storedTerms(dir).slice(0, 500).forEach((d, i) => assert.equal(d, REFERENCE[i]));
    assert.equal(storedTerms(dir).length, 600);
  });

  it('a checkpointed block whose lower terms were logged since (the bottom of a later split) continues from the log', async () => {
    const dir = tmpState();
    // A snapshot at term 300 holding block 301..460, 30 terms into it (431..460 finished) ...
    await snapshotAt300Holding(dir, 301, 460);
    // ... then terms up to 440 logged by another block, with no snapshot after them.
    assert.equal((await new JobRunner({ stateDir: dir, target: 440, workerDir: WORKER_DIR, checkpointIntervalMs: 0 }).outcome).kind, 'stopped');
    assert.equal(storedTerms(dir).length, 440);
    const third = new JobRunner({ stateDir: dir, target: 600, workerDir: WORKER_DIR, parallelism: 1 });
    const events = collect(third);
    assert.equal((await third.outcome).kind, 'stopped');
    const opened = events.find((e) => e.type === 'opened');
    assert.ok(opened?.type === 'opened' && opened.recoveries.some((r) => r.includes('checkpointed state: 441..460')), JSON.stringify(opened));
    assert.ok(!events.some((e) => e.type === 'log' && e.level === 'warn'), JSON.stringify(events.filter((e) => e.type === 'log')));
    const committed = committedRanges(events);
    assert.equal(committed[0], '441..460', 'its finished terms were committed as they were');
    assert.deepEqual(storedTerms(dir).slice(0, 500), REFERENCE);
    assert.equal(storedTerms(dir).length, 600);
  });

  it('memory stays bounded: a 5000-term job (~90 MB of digits) runs within a 64 MB heap per thread', async () => {
    // The job thread once kept every committed block's digits alive (a race against a long-lived promise).
    const dir = tmpState();
    const runner = new JobRunner({ stateDir: dir, target: 5000, workerDir: WORKER_DIR, parallelism: 1, maxOldGenerationSizeMb: 64, checkpointIntervalMs: 1000 });
    const outcome = await runner.outcome;
    assert.deepEqual(outcome.kind === 'stopped' ? outcome.reason : outcome, 'finished');
    const s = StateDir.open(dir, { mode: 'read' });
    try {
      assert.equal(s.count, 5000);
    } finally {
      s.close();
    }
  });

  it("block threads' young generation grows with the job (semi-spaces of 4 to 16 MB) and is V8's own for an unknown target", () => {
    assert.equal(blockYoungGenerationMb(100), 12);
    assert.equal(blockYoungGenerationMb(4000), 12);
    assert.equal(blockYoungGenerationMb(4001), 24);
    assert.equal(blockYoungGenerationMb(8000), 24);
    assert.equal(blockYoungGenerationMb(16000), 48);
    assert.equal(blockYoungGenerationMb(20000), 48);
    assert.equal(blockYoungGenerationMb(undefined), 48);
  });

  it('pause checkpoints and stops; a new runner resumes; cancel stops too', async () => {
    const dir = tmpState();
    const first = new JobRunner({ stateDir: dir, target: 3000, workerDir: WORKER_DIR });
    await new Promise<void>((resolve) => first.onEvent((e) => e.type === 'committed' && e.done > 200 && resolve()));
    first.pause();
    const paused = await first.outcome;
    assert.equal(paused.kind === 'stopped' && paused.reason, 'paused');
    const doneAtPause = paused.kind === 'stopped' ? paused.progress.done : -1;
    assert.equal(storedTerms(dir).length, doneAtPause, 'every term reported done is stored');

    const second = new JobRunner({ stateDir: dir, workerDir: WORKER_DIR });
    const events = collect(second);
    await new Promise<void>((resolve) => second.onEvent((e) => e.type === 'committed' && resolve()));
    const opened = events.find((e) => e.type === 'opened');
    assert.ok(opened && opened.type === 'opened');
    assert.equal(opened.done, doneAtPause, 'resumed where it paused');
    assert.equal(opened.target, 3000, 'the stored target is kept');
    second.cancel();
    const cancelled = await second.outcome;
    assert.equal(cancelled.kind === 'stopped' && cancelled.reason, 'cancelled');
    storedTerms(dir).slice(0, 500).forEach((d, i) => assert.equal(d, REFERENCE[i]));
  });

  it('raising the target of a running job continues past the old one', async () => {
    const dir = tmpState();
    const runner = new JobRunner({ stateDir: dir, target: 300, workerDir: WORKER_DIR });
    let raised = false;
    runner.onEvent((e) => {
      if (e.type === 'opened' && !raised) {
        raised = true;
        runner.setTarget(500);
      }
    });
    const outcome = await runner.outcome;
    assert.equal(outcome.kind === 'stopped' && outcome.progress.done, 500);
    assert.deepEqual(storedTerms(dir), REFERENCE);
  });

  it('a worker that is killed surfaces as a failure, not a hang, and the state stays usable', async () => {
    const dir = tmpState();
    const runner = new JobRunner({ stateDir: dir, target: 3000, workerDir: WORKER_DIR });
    await new Promise<void>((resolve) => runner.onEvent((e) => e.type === 'committed' && resolve()));
    await runner.terminate();
    const outcome = await runner.outcome;
    assert.equal(outcome.kind, 'failed');
    assert.equal(outcome.kind === 'failed' && outcome.code, 'WORKER_EXIT');
    assert.match(outcome.kind === 'failed' ? outcome.message : '', /exited unexpectedly.*state is intact/);
    // The same process can open the directory again: the dead worker's lock is ours to take over.
    const again = new JobRunner({ stateDir: dir, target: 500, workerDir: WORKER_DIR });
    const o2 = await again.outcome;
    assert.equal(o2.kind === 'stopped' && o2.reason, 'finished', JSON.stringify(o2));
    storedTerms(dir).slice(0, 500).forEach((d, i) => assert.equal(d, REFERENCE[i]));
  });

  it('a memory limit too small for the job thread ends at once with a clear out-of-memory error', async () => {
    const outcome = await new JobRunner({ stateDir: tmpState(), target: 100, workerDir: WORKER_DIR, jobThreadMemoryMb: 3 }).outcome;
    assert.equal(outcome.kind === 'failed' && outcome.code, 'OUT_OF_MEMORY');
    assert.match(outcome.kind === 'failed' ? outcome.message : '', /the job thread ran out of memory \(limit 3 MB\)/);
  });

  it('a limit meant for the computing threads does not hold the job thread below its floor', () => {
    // The job thread needs 5.5–6 MB from its start, a block thread ~5 MB: with one limit for both, the 6 MB
    // of the next test ended a job on the job thread now and then, not on the block thread it is about.
    assert.equal(jobThreadMemoryMb(6), JOB_THREAD_MIN_MEMORY_MB);
    assert.equal(jobThreadMemoryMb(128), 128, 'the settings (128 MB and up) apply to the job thread as they are');
    assert.equal(jobThreadMemoryMb(1024), 1024);
    assert.equal(jobThreadMemoryMb(1024, 3), 3, 'a limit asked for the job thread is kept');
  });

  it('a block thread that runs out of memory ends the job with a clear error naming it', async () => {
    // Terms travel as bytes outside the JS heap, so a block thread outgrows 6 MB only from n ≈ 7500 on
    // (its BigInts); the target is set far beyond that, and the host reports the thread's own error.
    const outcome = await new JobRunner({ stateDir: tmpState(), target: 20000, workerDir: WORKER_DIR, maxOldGenerationSizeMb: 6 }).outcome;
    assert.equal(outcome.kind === 'failed' && outcome.code, 'OUT_OF_MEMORY');
    assert.match(outcome.kind === 'failed' ? outcome.message : '', /a block worker ran out of memory \(limit 6 MB\)/);
  });

  describe('inline (the job on the calling thread, as the CLI runs it)', () => {
    it('runs a job to the end with the same events, terms and b-file as on a thread of its own', async () => {
      const dir = tmpState();
      const runner = new JobRunner({ stateDir: dir, target: 2000, workerDir: WORKER_DIR, parallelism: 2, checkpointIntervalMs: 200, inline: true, streamDigits: true });
      const events = collect(runner);
      const outcome = await runner.outcome;
      assert.equal(outcome.kind === 'stopped' && outcome.reason, 'finished', JSON.stringify(outcome));
      const opened = events.findIndex((e) => e.type === 'opened');
      assert.ok(opened >= 0 && opened < events.findIndex((e) => e.type === 'committed'), 'opened comes first');
      assertCommittedInOrder(events, 2000);
      // The digits that came with the events are the stored ones.
      const streamed = events.flatMap((e) => (e.type === 'committed' && e.digits ? e.digits.map((d) => Buffer.from(d).toString('latin1')) : []));
      assert.equal(streamed.length, 2000);
      const bfile = storedTerms(dir).map((d, i) => `${i + 1} ${d}\n`).join('');
      assert.equal(createHash('sha256').update(bfile).digest('hex'), REFERENCE_HASHES['2000'].sha256);
      assert.deepEqual(streamed, storedTerms(dir));
      // Its lock is released: another job can open the directory at once.
      assert.equal((await new JobRunner({ stateDir: dir, target: 2000, workerDir: WORKER_DIR, inline: true }).outcome).kind, 'stopped');
    });

    it('pauses, takes a raised target, and resumes inline as on a thread', async () => {
      const dir = tmpState();
      const first = new JobRunner({ stateDir: dir, target: 300, workerDir: WORKER_DIR, inline: true });
      first.onEvent((e) => {
        if (e.type === 'opened') first.setTarget(3000);
        if (e.type === 'committed' && e.done > 400) first.pause();
      });
      const paused = await first.outcome;
      assert.equal(paused.kind === 'stopped' && paused.reason, 'paused', JSON.stringify(paused));
      const doneAtPause = paused.kind === 'stopped' ? paused.progress.done : -1;
      assert.ok(doneAtPause > 400, `it went past the first target: ${doneAtPause}`);
      assert.equal(storedTerms(dir).length, doneAtPause, 'every term reported done is stored');
      const second = new JobRunner({ stateDir: dir, target: 900, workerDir: WORKER_DIR, inline: true });
      const events = collect(second);
      const outcome = await second.outcome;
      assert.equal(outcome.kind === 'stopped' && outcome.reason, 'finished');
      const opened = events.find((e) => e.type === 'opened');
      assert.equal(opened?.type === 'opened' && opened.done, doneAtPause, 'resumed where it paused');
      storedTerms(dir).slice(0, 500).forEach((d, i) => assert.equal(d, REFERENCE[i]));
    });

    it('a block thread that runs out of memory ends the job with the same clear error, and nothing keeps the thread busy after', async () => {
      const outcome = await new JobRunner({ stateDir: tmpState(), target: 20000, workerDir: WORKER_DIR, maxOldGenerationSizeMb: 6, inline: true }).outcome;
      assert.equal(outcome.kind === 'failed' && outcome.code, 'OUT_OF_MEMORY', JSON.stringify(outcome));
      assert.match(outcome.kind === 'failed' ? outcome.message : '', /a block worker ran out of memory \(limit 6 MB\)/);
    });
  });

  it('a foreign directory is refused with its reason, and nothing is written', async () => {
    const dir = tmpDir('foreign');
    fs.writeFileSync(path.join(dir, 'thesis.tex'), 'mine');
    const outcome = await new JobRunner({ stateDir: dir, target: 10, workerDir: WORKER_DIR }).outcome;
    assert.equal(outcome.kind === 'failed' && outcome.code, 'FOREIGN');
    assert.deepEqual(fs.readdirSync(dir), ['thesis.tex']);
  });
});

describe('block pool (message ports to the block threads)', () => {
  it('a block thread that goes away fails its running block and the queued ones, and close() does not wait for it', async () => {
    // The pool only sees a thread through its port: the far end closing is how a crash shows.
    const { port1, port2 } = new MessageChannel();
    const pool = new BlockPool([{ port: port1, split: new SharedArrayBuffer(SPLIT_BYTES) }], () => undefined);
    const asked: BlockRequest[] = [];
    port2.on('message', (req: BlockRequest) => asked.push(req));
    const running = pool.compute(100, 120);
    const queued = pool.compute(121, 140);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(asked.map((r) => r.type === 'compute' && `${r.from}..${r.to}`), ['100..120'], 'one block per thread');
    port2.close();
    await assert.rejects(running.result, /a block worker exited unexpectedly/);
    await assert.rejects(queued.result, /a block worker exited unexpectedly/);
    const started = performance.now();
    await pool.close();
    assert.ok(performance.now() - started < 1000, 'close() returns at once when the thread is already gone');
  });

  it('a block may be asked to split again once it has answered (split or declined), one request at a time', async () => {
    const { port1, port2 } = new MessageChannel();
    const split = new SharedArrayBuffer(SPLIT_BYTES);
    const splits: string[] = [];
    const declined: number[] = [];
    const pool = new BlockPool([{ port: port1, split }], () => undefined, {
      onSplit: (task, oldFrom) => splits.push(`${oldFrom}..${task.from - 1} | ${task.from}..${task.to}`),
      onSplitDeclined: (task) => declined.push(task.from),
    });
    const asked: BlockRequest[] = [];
    port2.on('message', (req: BlockRequest) => asked.push(req));
    const task = pool.compute(100, 200);
    await new Promise((r) => setTimeout(r, 20));
    const id = (asked[0] as BlockRequest & { type: 'compute' }).id;
    const word = new Int32Array(split);
    const answer = async (msg: BlockResult) => {
      Atomics.store(word, 0, 0); // the block took the request
      port2.postMessage(msg);
      await new Promise((r) => setTimeout(r, 20));
    };
    task.result.catch(() => undefined); // fails when the port closes below
    try {
      assert.equal(pool.requestSplit(task), true);
      assert.equal(Atomics.load(word, 0), id, 'the request names the block');
      assert.equal(pool.requestSplit(task), false, 'not while a request is pending');
      await answer({ type: 'noSplit', id });
      assert.deepEqual(declined, [100]);
      assert.equal(pool.requestSplit(task), true, 'asked again after declining');
      await answer({ type: 'split', id, from: 150, state: new Uint8Array(4) });
      assert.deepEqual(splits, ['100..149 | 150..200']);
      assert.equal(pool.requestSplit(task), true, 'asked again after a split: its new bottom may end first');
      await answer({ type: 'split', id, from: 180, state: new Uint8Array(4) });
      assert.deepEqual(splits, ['100..149 | 150..200', '150..179 | 180..200']);
    } finally {
      port2.close();
      await pool.close();
    }
  });

  it('close() asks every thread to exit and returns once their ports close', async () => {
    const { port1, port2 } = new MessageChannel();
    const pool = new BlockPool([{ port: port1, split: new SharedArrayBuffer(SPLIT_BYTES) }], () => undefined);
    port2.on('message', (req: BlockRequest) => {
      if (req.type === 'exit') port2.close();
    });
    const task = pool.compute(200, 210);
    await pool.close();
    await assert.rejects(task.result, PoolStopped);
  });
});
