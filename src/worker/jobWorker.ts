// The job thread: owns the state directory (single writer), drives the engine block by block,
// makes each finished block durable before announcing it, checkpoints on a timer and on stop.
import { parentPort, workerData } from 'node:worker_threads';
import { createBlockComputer, planNext, type TangentEngine } from '../engine/engine';
import { StateDir, StoreError } from '../store';
import { ControlState, isIntegerIn, isRecord, type JobWorkerData, type JobWorkerEvent, type ProgressInfo, type StopReason } from '../shared/protocol';
import { BlockPool } from './blockPool';
import { restoreEngine, writeCheckpoint } from './jobState';
import { ProgressTracker } from './progress';

const PROGRESS_EVERY_MS = 250;

if (!parentPort) throw new Error('jobWorker must run in a worker thread');
const port = parentPort;
const data = workerData as JobWorkerData;
const control = new Int32Array(data.control);
const post = (e: JobWorkerEvent) => port.postMessage(e);

class StopSignal extends Error {}

function controlState(): number {
  return Atomics.load(control, 0);
}

async function main(): Promise<void> {
  const started = performance.now();
  const store = StateDir.open(data.stateDir, {
    mode: 'write',
    durable: data.durable,
    logger: { info: (message) => post({ type: 'log', level: 'info', message }), warn: (message) => post({ type: 'log', level: 'warn', message }) },
  });
  let pool: BlockPool | undefined;
  try {
    const restored = restoreEngine(store, data.target);
    const engine = restored.engine;
    post({ type: 'opened', done: engine.done, target: engine.target, snapshot: restored.snapshot, recoveries: [...store.recoveries, ...restored.notes] });

    const tracker = new ProgressTracker(engine.target);
    let lastCheckpoint: number | null = null;
    let lastProgress = 0;
    const progress = (): ProgressInfo => {
      const now = performance.now();
      const { termsPerSecond, etaSeconds } = tracker.rate();
      return {
        done: engine.done,
        target: engine.target,
        termsPerSecond,
        etaSeconds: engine.finished ? 0 : etaSeconds,
        elapsedMs: now - started,
        sinceCheckpointMs: lastCheckpoint === null ? null : now - lastCheckpoint,
        bytesStored: store.bytesStored(),
      };
    };
    const maybeProgress = (force = false) => {
      const now = performance.now();
      if (force || now - lastProgress >= PROGRESS_EVERY_MS) {
        lastProgress = now;
        post({ type: 'progress', progress: progress() });
      }
    };
    const checkpoint = () => {
      if (data.checkpointIntervalMs <= 0) return;
      const t0 = performance.now();
      const snap = writeCheckpoint(store, engine);
      lastCheckpoint = performance.now();
      post({ type: 'checkpoint', generation: snap.header.generation, position: engine.done, bytes: snap.payload.length, ms: lastCheckpoint - t0 });
    };

    port.on('message', (msg: unknown) => {
      if (isRecord(msg) && msg.type === 'setTarget' && isIntegerIn(msg.target, 1, Number.MAX_SAFE_INTEGER)) {
        engine.setTarget(msg.target);
        tracker.setTarget(engine.target);
        maybeProgress(true);
      }
    });

    tracker.record(performance.now(), engine.done);
    maybeProgress(true);
    if (restored.snapshot === null || restored.snapshot.position !== engine.done) checkpoint();
    else lastCheckpoint = performance.now();

    const commit = (from: number, digits: string[]) => {
      const terms = engine.acceptBlock(from, digits);
      store.appendTerms(terms);
      post({ type: 'committed', from, to: from + terms.length - 1, done: engine.done });
      tracker.record(performance.now(), engine.done);
      if (lastCheckpoint !== null && performance.now() - lastCheckpoint >= data.checkpointIntervalMs) checkpoint();
      maybeProgress();
    };

    let reason: StopReason;
    if (data.parallelism <= 1) reason = await runInline(engine, commit, maybeProgress);
    else {
      pool = new BlockPool(data.blockWorkerScript, data.parallelism, data.maxOldGenerationSizeMb);
      reason = await runPooled(engine, pool, data.parallelism, commit);
    }
    checkpoint();
    post({ type: 'stopped', reason, progress: progress() });
  } finally {
    await pool?.close();
    store.close();
  }
}

type Commit = (from: number, digits: string[]) => void;

function stopReason(): StopReason | null {
  const s = controlState();
  return s === ControlState.Pause ? 'paused' : s === ControlState.Cancel ? 'cancelled' : null;
}

/** One thread: compute on this thread, polling the control word after every term. */
async function runInline(engine: TangentEngine, commit: Commit, maybeProgress: () => void): Promise<StopReason> {
  const compute = createBlockComputer();
  for (;;) {
    const stop = stopReason();
    if (stop) return stop;
    const block = engine.nextBlock();
    if (!block) return 'finished';
    let digits: string[];
    try {
      digits = compute(block.from, block.to, () => {
        if (controlState() !== ControlState.Run) throw new StopSignal();
        maybeProgress();
      });
    } catch (e) {
      if (e instanceof StopSignal) continue; // the partial block is discarded; loop sees the stop
      throw e;
    }
    commit(block.from, digits);
    // Let 'setTarget' messages in between blocks.
    await new Promise((r) => setImmediate(r));
  }
}

/** Several threads: keep `width` blocks in flight, commit strictly in order. */
async function runPooled(engine: TangentEngine, pool: BlockPool, width: number, commit: Commit): Promise<StopReason> {
  const inflight = new Map<number, Promise<string[]>>();
  let plannedUpTo = engine.done;
  let stopPoll: NodeJS.Timeout | undefined;
  const stopped = new Promise<StopReason>((resolve) => {
    stopPoll = setInterval(() => {
      const s = stopReason();
      if (s) resolve(s);
    }, 20);
  });
  try {
    for (;;) {
      const stop = stopReason();
      if (stop) return stop;
      if (engine.finished) return 'finished';
      // The target may have changed (extend); plan past what is in flight.
      plannedUpTo = Math.max(plannedUpTo, engine.done);
      while (inflight.size < width) {
        const block = planNext(plannedUpTo, engine.target);
        if (!block) break;
        const p = pool.compute(block.from, block.to);
        p.catch(() => undefined); // rejections are handled where awaited
        inflight.set(block.from, p);
        plannedUpTo = block.to;
      }
      const next = inflight.get(engine.done + 1);
      if (!next) {
        // Planned blocks no longer line up (the target changed): drop them and replan.
        inflight.clear();
        plannedUpTo = engine.done;
        continue;
      }
      const result = await Promise.race([next.then((d) => ({ digits: d })), stopped.then((r) => ({ stop: r }))]);
      if ('stop' in result) return result.stop;
      inflight.delete(engine.done + 1);
      commit(engine.done + 1, result.digits);
    }
  } finally {
    clearInterval(stopPoll);
  }
}

main().catch((e: unknown) => {
  const code = e instanceof StoreError ? e.code : e instanceof Error ? e.name : 'Error';
  post({ type: 'failed', code, message: e instanceof Error ? e.message : String(e) });
  process.exitCode = 1;
});
