// The job: owns the state directory (single writer), schedules blocks on block workers, verifies and
// appends each finished block before announcing it (so what the user sees is durable), and
// checkpoints on a timer and on stop — including the state of blocks in progress, so a job killed
// again and again still moves forward. It runs on a worker thread of its own (./jobWorker), or, for a
// host whose own thread is otherwise idle (the CLI), on that thread (JobRunner's `inline`).
import type { MessagePort } from 'node:worker_threads';
import { piBitsFor, planNext, type TangentEngine } from '../engine/engine';
import { StateDir, StoreError, type EncodedTerms } from '../store';
import { ControlSlot, ControlState, isIntegerIn, isRecord, type JobWorkerData, type JobWorkerEvent, type ProgressInfo, type StopReason } from '../common/protocol';
import { BlockPool, PoolStopped, type BlockTask } from './blockPool';
import { restoreEngine, writeCheckpoint, type PendingBlock } from './jobState';
import { ProgressTracker } from './progress';
import { movableBuffers } from './transfer';

const PROGRESS_EVERY_MS = 250;
const FIRST_BLOCK_TERMS = 8;
/** How long a stop waits for blocks to hand over their state (a block's setup cannot be interrupted). */
const STOP_GRACE_MS = 5000;
/** How long a due checkpoint waits for the running blocks' states (one in its setup answers only after it). */
const STATE_WAIT_MS = 1000;
/** How long the job's heavy work waits for a block's answer to a split request (it comes within one term). */
const SPLIT_ANSWER_WAIT_MS = 250;

function stopReasonIn(control: Int32Array): StopReason | null {
  const s = Atomics.load(control, ControlSlot.State);
  return s === ControlState.Pause ? 'paused' : s === ControlState.Cancel ? 'cancelled' : null;
}

/**
 * Runs one job to its end, reporting through `port` (the host's end is a JobRunner); resolves once its
 * last event ('stopped' or 'failed') is posted, with whether it stopped without failing. Never rejects.
 */
export async function runJob(data: JobWorkerData, port: MessagePort): Promise<boolean> {
  try {
    await job(data, port);
    return true;
  } catch (e: unknown) {
    const code = e instanceof StoreError ? e.code : e instanceof PoolStopped ? 'STOPPED' : e instanceof Error ? e.name : 'Error';
    const failed: JobWorkerEvent = { type: 'failed', code, message: e instanceof Error ? e.message : String(e) };
    port.postMessage(failed);
    return false;
  }
}

async function job(data: JobWorkerData, port: MessagePort): Promise<void> {
  const control = new Int32Array(data.control);
  const post = (e: JobWorkerEvent) => port.postMessage(e);
  const stopReason = () => stopReasonIn(control);
  const started = performance.now();
  const store = StateDir.open(data.stateDir, {
    mode: 'write',
    durable: data.durable,
    logger: { info: (message) => post({ type: 'log', level: 'info', message }), warn: (message) => post({ type: 'log', level: 'warn', message }) },
  });
  let pool: BlockPool | undefined;
  // Posted only after the block threads are gone and the store is closed (lock released): the host treats
  // it as "this job has let go of the state directory", and may start the next job on it right away.
  let stoppedEvent: JobWorkerEvent | undefined;
  try {
    if (data.startOver) store.archive();
    const restored = restoreEngine(store, data.target);
    const engine = restored.engine;
    post({ type: 'opened', done: engine.done, target: engine.target, snapshot: restored.snapshot, recoveries: [...store.recoveries, ...restored.notes], lockToken: store.lockToken });

    const inflight: BlockTask[] = [];
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
      const blocks: PendingBlock[] = inflight.filter((t) => t.latestState && t.from > engine.done).map((t) => ({ from: t.from, to: t.to, state: t.latestState! }));
      const snap = writeCheckpoint(store, engine, Math.max(engine.target, restored.storedTarget ?? 0), blocks);
      lastCheckpoint = performance.now();
      const blockStateMs = pool?.takeStateMs() ?? 0;
      post({ type: 'checkpoint', generation: snap.header.generation, position: engine.done, bytes: snap.payloadBytes, ms: lastCheckpoint - t0, blockStateMs, blocks: blocks.map((b) => `${b.from}..${b.to}`) });
    };
    // While a split is asked of a running block (a thread is idle at the end of the job), the job's own
    // heavy work (taking in a block that just ended) waits for the answer, which comes within one term:
    // otherwise the idle thread would get its part only after that work (30–50 ms at N = 4000).
    let splitAnswer: { task: BlockTask; done: Promise<void>; resolve: () => void; timer: NodeJS.Timeout } | undefined;
    const awaitSplit = (task: BlockTask) => {
      let resolve!: () => void;
      const done = new Promise<void>((r) => (resolve = r));
      // A bound, should an answer never come (a block busy with its set-up answers after it).
      const timer = setTimeout(() => answerSplit(task), SPLIT_ANSWER_WAIT_MS).unref();
      splitAnswer = { task, done, resolve, timer };
    };
    const answerSplit = (task: BlockTask) => {
      if (splitAnswer?.task !== task) return;
      clearTimeout(splitAnswer.timer);
      splitAnswer.resolve();
      splitAnswer = undefined;
    };
    /** Resolves at once, or once the pending split request is answered. */
    const afterSplitAnswer = (): Promise<void> | undefined => splitAnswer?.done;

    // What a commit costs besides its write, done as soon as a block's digits arrive: a block that ends
    // while an earlier one still runs (the top half of a split, at the end of a job) is then appended at
    // once when that one is in. Anything wrong is left for the commit to find and report, in order.
    const ahead = new WeakMap<Uint8Array[], { from: number; residues: (number[] | null)[]; records: EncodedTerms }>();
    const prepare = (task: BlockTask): BlockTask => {
      task.result.then(
        async (digits) => {
          const from = task.from;
          await afterSplitAnswer();
          try {
            const records = store.encodeTerms(digits.map((d, i) => ({ n: from + i, digits: d })));
            ahead.set(digits, { from, residues: digits.map((d) => engine.verifier.residuesOf(d)), records });
          } catch {
            /* reported by the commit */
          }
        },
        () => undefined,
      );
      return task;
    };
    const commit = (from: number, digits: Uint8Array[]) => {
      const ready = ahead.get(digits);
      const fresh = ready?.from === from ? ready : undefined;
      const terms = engine.acceptBlock(from, digits, fresh?.residues);
      store.appendTerms(fresh ? fresh.records : terms);
      const event: JobWorkerEvent = { type: 'committed', from, to: from + terms.length - 1, done: engine.done };
      if (data.streamDigits) {
        // The block's buffers are ours alone (moved here from its thread) and already copied into the log.
        event.digits = digits;
        port.postMessage(event, movableBuffers(digits));
      } else post(event);
      tracker.record(performance.now(), engine.done);
      maybeProgress();
    };

    port.on('message', (msg: unknown) => {
      if (isRecord(msg) && msg.type === 'setTarget' && isIntegerIn(msg.target, 1, Number.MAX_SAFE_INTEGER)) {
        engine.setTarget(msg.target);
        tracker.setTarget(engine.target);
        if (pool) pool.piBits = piBitsFor(engine.target);
        maybeProgress(true);
      }
    });

    tracker.record(performance.now(), engine.done);
    maybeProgress(true);
    lastCheckpoint = restored.snapshot ? performance.now() : null;
    // A new job's first snapshot (its target) is written once the first blocks are on their way, so
    // the threads compute while it is fsynced.
    let initialCheckpointDue = lastCheckpoint === null;

    // A due checkpoint first asks every running block for its state (they answer after their current
    // term), and is written once all have answered or ended, or after STATE_WAIT_MS with what there is.
    let stateRequest: { waiting: Set<BlockTask>; timer: NodeJS.Timeout } | undefined;
    let guarded: (fn: () => void) => void = (fn) => fn();
    const answerStateRequest = () => {
      if (!stateRequest) return;
      clearTimeout(stateRequest.timer);
      stateRequest = undefined;
      guarded(checkpoint);
    };
    const checkpointIfDue = () => {
      if (data.checkpointIntervalMs <= 0 || lastCheckpoint === null || stateRequest) return;
      if (performance.now() - lastCheckpoint < data.checkpointIntervalMs) return;
      const running = blockPool.runningTasks;
      if (running.length === 0) return checkpoint();
      Atomics.add(control, ControlSlot.StateRequest, 1);
      stateRequest = { waiting: new Set(running), timer: setTimeout(answerStateRequest, STATE_WAIT_MS) };
    };
    const blockPool = new BlockPool(
      data.blockThreads,
      (m) => post({ type: 'log', level: 'warn', message: m }),
      {
        onSplit: (task, oldFrom) => {
          answerSplit(task);
          const at = inflight.indexOf(task);
          if (at < 0) return; // replanned meanwhile: its result is not awaited any more
          // The bottom part goes first in commit order; the idle thread picks it up at once.
          inflight.splice(at, 0, prepare(blockPool.compute(oldFrom, task.from - 1)));
          post({ type: 'log', level: 'info', message: `block ${oldFrom}..${task.to} split at ${task.from}: ${oldFrom}..${task.from - 1} moved to an idle thread` });
        },
        onIdle: () => {
          // Only at the end of the job: before that the loop keeps a block queued for every thread.
          if (stopSeen || stopReason() || planNext(plannedUpTo, engine.target)) return;
          // The running block with the highest terms has the most expensive work left.
          const candidates = blockPool.runningTasks.filter((t) => inflight.includes(t)).sort((a, b) => b.to - a.to);
          for (const t of candidates) {
            if (blockPool.requestSplit(t)) {
              awaitSplit(t);
              return;
            }
          }
        },
        onSplitDeclined: (task) => answerSplit(task),
        onTaskUpdate: (task) => {
          if (!blockPool.runningTasks.includes(task)) answerSplit(task); // it ended before it saw the request
          if (stateRequest?.waiting.delete(task) && stateRequest.waiting.size === 0) answerStateRequest();
        },
      },
    );
    pool = blockPool;
    blockPool.piBits = piBitsFor(engine.target);
    const resumable = new Map(restored.pendingBlocks.map((b) => [b.from, b]));
    let plannedUpTo = engine.done;

    // A stop wakes the wait for the head block. (Not a race against one long-lived "stopped" promise:
    // every race would leave a reaction on it holding that block's result, a leak of all the digits.)
    let stopSeen: StopReason | null = null;
    let wakeForStop: ((reason: StopReason) => void) | undefined;
    // A checkpoint written from a timer (disk full, lock lost) fails the job through its main loop, not as an uncaught exception.
    let fatal: { error: unknown } | undefined;
    let wakeForFailure: ((e: unknown) => void) | undefined;
    guarded = (fn) => {
      try {
        fn();
      } catch (e) {
        fatal ??= { error: e };
        wakeForFailure?.(e);
      }
    };
    const stopPoll = setInterval(() => {
      stopSeen ??= stopReason();
      if (stopSeen) wakeForStop?.(stopSeen);
    }, 20);
    const checkpointTimer =
      data.checkpointIntervalMs > 0
        ? setInterval(() => guarded(checkpointIfDue), Math.min(1000, data.checkpointIntervalMs / 2))
        : undefined;

    let reason: StopReason | undefined;
    try {
      let firstBlock = true;
      while (!reason) {
        if (engine.finished) {
          reason = 'finished';
          break;
        }
        // Keep one block per thread in flight (plus one queued), committed strictly in order.
        while (inflight.length < data.parallelism + 1) {
          const block = planNext(plannedUpTo, engine.target);
          if (!block) break;
          const saved = resumable.get(block.from);
          // The run's first fresh block is short, so the first new term shows up quickly after a
          // start or resume (its setup is paid once more, which is cheap at that size).
          let to = saved ? saved.to : firstBlock ? Math.min(block.to, block.from + FIRST_BLOCK_TERMS - 1) : block.to;
          // A checkpointed block further up (the top of a split whose bottom had no state yet) is continued, not redone.
          for (const f of resumable.keys()) if (f > block.from && f <= to) to = f - 1;
          firstBlock = false;
          inflight.push(prepare(pool.compute(block.from, to, saved?.state)));
          resumable.delete(block.from);
          plannedUpTo = to;
        }
        if (initialCheckpointDue) {
          initialCheckpointDue = false;
          checkpoint();
        }
        const head = inflight[0];
        if (!head || head.from !== engine.done + 1) {
          // The target changed under the plan: start planning again from what is committed.
          inflight.length = 0;
          plannedUpTo = engine.done;
          continue;
        }
        const result = await new Promise<{ digits: Uint8Array[] } | { stop: StopReason }>((resolve, reject) => {
          wakeForStop = (stop) => resolve({ stop });
          wakeForFailure = reject;
          if (fatal) reject(fatal.error);
          if (stopSeen) resolve({ stop: stopSeen });
          head.result.then(
            (digits) => resolve({ digits }),
            (e: unknown) => {
              // A block stopped by the control word is a stop, not a failure.
              const stop = stopReason();
              if (stop && e instanceof PoolStopped) resolve({ stop });
              else reject(e);
            },
          );
        });
        wakeForStop = undefined;
        wakeForFailure = undefined;
        if ('stop' in result) {
          reason = result.stop;
          break;
        }
        await afterSplitAnswer();
        // A split put the bottom of this block in front of it: commit that first (this one's digits wait on its task).
        if (inflight[0] !== head) continue;
        inflight.shift();
        commit(head.from, result.digits);
      }
      // Stopping: blocks see the control word within one term and hand over their state.
      if (reason !== 'finished') await settleForStop(inflight, engine, commit);
    } finally {
      clearInterval(stopPoll);
      clearInterval(checkpointTimer);
      if (stateRequest) clearTimeout(stateRequest.timer);
      stateRequest = undefined;
    }
    checkpoint();
    stoppedEvent = { type: 'stopped', reason, progress: progress() };
  } finally {
    await pool?.close();
    store.close();
  }
  post(stoppedEvent);
}

/** Waits (bounded) for in-flight blocks to finish or stop; commits any that finished in order. */
async function settleForStop(inflight: BlockTask[], engine: TangentEngine, commit: (from: number, digits: Uint8Array[]) => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), STOP_GRACE_MS)));
  await Promise.race([Promise.allSettled(inflight.map((t) => t.result)), deadline]);
  clearTimeout(timer);
  while (inflight.length && inflight[0].from === engine.done + 1 && inflight[0].digits) {
    commit(inflight[0].from, inflight[0].digits);
    inflight.shift();
  }
}
