// The job, as a state machine: it owns the state directory (single writer), schedules blocks on block
// threads, verifies and appends each finished block before announcing it (so what the user sees is
// durable), and checkpoints the blocks in progress at an interval adapted to how often this job dies
// (./checkpointPolicy), so a job killed again and again still moves forward. It runs on a worker thread
// of its own (./jobWorker), or, for a host whose own thread is otherwise idle (the CLI), on that thread
// (JobRunner's `inline`).
//
//   opening ──▶ restoring ──▶ running ──▶ draining ──▶ done
//                   ▲            │
//                   └─ healing ◀─┘  a damaged stored term: it and all after it set aside, then recomputed
//   (any phase) ──▶ failed: one clear error; the block threads end, the store closes, the lock is released.
// While running, committing (each block, in order) and checkpointing (on the policy's schedule) are the
// named steps; every timer goes through `guarded`, so a failing write fails the job through its main loop.
import type { MessagePort } from 'node:worker_threads';
import { piBitsFor, planNext, type TangentEngine } from '../engine/engine';
import { StateDir, StoreError, isStoreError, type EncodedTerms, type LogScan } from '../store';
import { RunRecord, estimateFailures } from '../store/runHistory';
import { ControlSlot, ControlState, isIntegerIn, isRecord, type JobWorkerData, type JobWorkerEvent, type ProgressInfo, type StopReason } from '../common/protocol';
import { BlockPool, PoolStopped, type BlockTask } from './blockPool';
import { CheckpointPolicy, formatMs, type IntervalChoice } from './checkpointPolicy';
import { restoreEngine, writeCheckpoint, type PendingBlock, type Restored } from './jobState';
import { ProgressTracker } from './progress';
import { movableBuffers } from './transfer';

const PROGRESS_EVERY_MS = 250;
/** The log as it was at open is verified record by record in the background, a slice at a time (~40 MB/s, a few % of one core). */
const SCAN_EVERY_MS = 25;
const SCAN_SLICE_BYTES = 1 << 20;
/** How often a damaged stored term may be set aside and recomputed in one run before the job gives up. */
const MAX_HEALS = 3;
/** How often the run's line in RUNS says it is still alive (what an unclean end's uptime is measured by). */
const ALIVE_EVERY_MS = 100;
const STOP_POLL_MS = 20;
const FIRST_BLOCK_TERMS = 8;
/** How long a stop waits for blocks to hand over their state (a block's setup cannot be interrupted). */
const STOP_GRACE_MS = 5000;
/** How long a due checkpoint waits for the running blocks' states (one in its setup answers only after it). */
const STATE_WAIT_MS = 1000;
/** How long the job's heavy work waits for a block's answer to a split request (it comes within one term). */
const SPLIT_ANSWER_WAIT_MS = 250;

type Phase = 'opening' | 'restoring' | 'running' | 'healing' | 'draining' | 'done' | 'failed';
const TRANSITIONS: Readonly<Record<Phase, readonly Phase[]>> = {
  opening: ['restoring'],
  restoring: ['running', 'healing'],
  running: ['draining', 'healing'],
  healing: ['restoring'],
  draining: ['done'],
  done: [],
  failed: [],
};

/** What wakes the running phase while it waits for the next block in commit order. */
type Wake = { digits: Uint8Array[] } | { stop: StopReason } | { error: unknown } | { damage: { n: number; reason: string } };

/**
 * Runs one job to its end, reporting through `port` (the host's end is a JobRunner); resolves once its
 * last event ('stopped' or 'failed') is posted, with whether it stopped without failing. Never rejects.
 */
export function runJob(data: JobWorkerData, port: MessagePort): Promise<boolean> {
  return new Job(data, port).run();
}

class Job {
  private phase: Phase = 'opening';
  private readonly control: Int32Array;
  private readonly started = performance.now();
  private store: StateDir | undefined;
  private pool: BlockPool | undefined;
  private record: RunRecord | undefined;
  private restored!: Restored;
  private engine!: TangentEngine;
  private tracker!: ProgressTracker;
  private policy!: CheckpointPolicy;
  private interval!: IntervalChoice;
  private uncleanStart = false;

  /** Blocks planned, in commit order; the head is the next to commit. */
  private readonly inflight: BlockTask[] = [];
  private resumable = new Map<number, PendingBlock>();
  private plannedUpTo = 0;
  private firstBlock = true;
  /** This run's restart cost (ms): from its start to its first restored block computing again. */
  private restartMs = 0;
  private lastCheckpoint: number | null = null;
  private initialCheckpointDue = false;
  private lastProgress = 0;
  private lastAlive = 0;
  private stateRequest: { waiting: Set<BlockTask>; timer: NodeJS.Timeout } | undefined;
  private splitAnswer: { task: BlockTask; done: Promise<void>; resolve: () => void; timer: NodeJS.Timeout } | undefined;
  /** Records encoded and residues computed as soon as a block's digits arrive (see prepare). */
  private readonly ahead = new WeakMap<Uint8Array[], { from: number; residues: (number[] | null)[]; records: EncodedTerms }>();

  /** The background check of the log as it was at open (undefined once it has gone through). */
  private scan: LogScan | undefined;
  private heals = 0;
  /** Damage the scan found, until the running phase heals it. */
  private damage: { n: number; reason: string } | undefined;

  private stopSeen: StopReason | null = null;
  private fatal: { error: unknown } | undefined;
  private wake: ((w: Wake) => void) | undefined;
  private timers: NodeJS.Timeout[] = [];
  private checkpointTimer: NodeJS.Timeout | undefined;
  private reason: StopReason | undefined;

  constructor(
    private readonly data: JobWorkerData,
    private readonly port: MessagePort,
  ) {
    this.control = new Int32Array(data.control);
  }

  async run(): Promise<boolean> {
    try {
      this.open();
      this.enter('restoring');
      this.restore();
      this.enter('running');
      this.reason = await this.runBlocks();
      this.enter('draining');
      await this.drain();
      this.enter('done');
      await this.finish();
      return true;
    } catch (e: unknown) {
      this.phase = 'failed'; // from any phase
      await this.fail(e);
      return false;
    }
  }

  private enter(next: Phase): void {
    if (!TRANSITIONS[this.phase].includes(next)) throw new Error(`job: no transition from ${this.phase} to ${next}`);
    this.phase = next;
  }

  private post(e: JobWorkerEvent): void {
    this.port.postMessage(e);
  }

  private logLine(level: 'info' | 'warn', message: string): void {
    this.post({ type: 'log', level, message });
  }

  // ------------------------------------------------------------------ opening

  /** Takes the state directory (lock, recovery), starts this run's line in the history, chooses the interval. */
  private open(): void {
    const data = this.data;
    this.store = StateDir.open(data.stateDir, {
      mode: 'write',
      durable: data.durable,
      logger: { info: (m) => this.logLine('info', m), warn: (m) => this.logLine('warn', m) },
    });
    if (data.startOver) this.store.archive();
    this.record = RunRecord.begin(this.store.dir, data.runStartedAt);
    const past = this.record.past;
    // The previous run never wrote its end: it was killed, or its machine went away, mid-job.
    this.uncleanStart = past.length > 0 && !past[past.length - 1].clean;
    this.policy = new CheckpointPolicy(data.checkpointIntervalMs, estimateFailures(past));
    this.chooseInterval(true);
  }

  // ------------------------------------------------------------------ restoring

  /** Rebuilds the engine from the newest snapshot and the log; the blocks it held continue where they were. */
  private restore(): void {
    const store = this.store!;
    for (;;) {
      try {
        this.restored = restoreEngine(store, Math.max(this.data.target ?? 0, this.engine?.target ?? 0) || undefined);
        break;
      } catch (e) {
        // A stored term the restore had to read back is damaged: set it and what follows aside, and restore again.
        if (!(isStoreError(e, 'CORRUPT') && e.term !== undefined)) throw e;
        this.enter('healing');
        this.heal(e.term, e.message);
        this.enter('restoring');
      }
    }
    this.engine = this.restored.engine;
    this.post({
      type: 'opened',
      done: this.engine.done,
      target: this.engine.target,
      snapshot: this.restored.snapshot,
      recoveries: [...store.recoveries, ...this.restored.notes],
      lockToken: store.lockToken,
    });
    this.tracker = new ProgressTracker(this.engine.target);
    this.resumable = new Map(this.restored.pendingBlocks.map((b) => [b.from, b]));
    this.plannedUpTo = this.engine.done;
    this.lastCheckpoint = this.restored.snapshot ? performance.now() : null;
    // A new job's first snapshot (its target) is written once the first blocks are on their way, so
    // the threads compute while it is fsynced.
    this.initialCheckpointDue = this.lastCheckpoint === null;
  }

  // ------------------------------------------------------------------ running

  /** Keeps every thread busy, commits blocks strictly in order, checkpoints on schedule; returns why it stopped. */
  private async runBlocks(): Promise<StopReason> {
    this.pool = this.startPool();
    this.port.on('message', (msg: unknown) => this.onHostMessage(msg));
    this.tracker.record(performance.now(), this.engine.done);
    this.progress(true);
    this.every(STOP_POLL_MS, () => this.pollStop());
    if (this.store!.count > 0) {
      this.scan = this.store!.beginLogScan();
      this.every(SCAN_EVERY_MS, () => this.scanSlice());
    }
    this.scheduleCheckpoint();

    for (;;) {
      if (this.fatal) throw this.fatal.error;
      // Finished only once every stored term has been read back intact: the log is the result.
      if (this.engine.finished && this.scan) this.scanSlice(Infinity);
      if (this.damage) {
        this.enter('healing');
        this.heal(this.damage.n, this.damage.reason);
        this.enter('restoring');
        this.restoreAfterHeal();
        this.enter('running');
        continue;
      }
      if (this.engine.finished && !this.scan) return 'finished';
      this.planBlocks();
      if (this.initialCheckpointDue) {
        this.initialCheckpointDue = false;
        this.checkpoint();
      }
      const head = this.inflight[0];
      if (!head || head.from !== this.engine.done + 1) {
        // The target changed under the plan: start planning again from what is committed.
        this.inflight.length = 0;
        this.plannedUpTo = this.engine.done;
        continue;
      }
      const next = await this.nextBlock(head);
      if ('error' in next) throw next.error;
      if ('stop' in next) return next.stop;
      if ('damage' in next) continue; // healed at the top of the loop
      await this.splitAnswer?.done;
      // A split put the bottom of this block in front of it: commit that first (this one's digits wait on its task).
      if (this.inflight[0] !== head) continue;
      this.inflight.shift();
      this.commit(head.from, next.digits);
    }
  }

  private startPool(): BlockPool {
    const pool = new BlockPool(this.data.blockThreads, (m) => this.logLine('warn', m), {
      onSplit: (task, oldFrom) => {
        this.answerSplit(task);
        const at = this.inflight.indexOf(task);
        if (at < 0) return; // replanned meanwhile: its result is not awaited any more
        // The bottom part goes first in commit order; the idle thread picks it up at once.
        this.inflight.splice(at, 0, this.prepare(pool.compute(oldFrom, task.from - 1)));
        this.logLine('info', `block ${oldFrom}..${task.to} split at ${task.from}: ${oldFrom}..${task.from - 1} moved to an idle thread`);
      },
      onIdle: () => this.offerSplit(),
      onRestored: (task, restoreMs, firstTermMs) => {
        this.post({ type: 'restored', from: task.from, to: task.to, restoreMs, firstTermMs });
        this.guarded(() => this.restarted());
      },
      onSplitDeclined: (task) => this.answerSplit(task),
      onTaskUpdate: (task) => {
        if (!pool.runningTasks.includes(task)) this.answerSplit(task); // it ended before it saw the request
        if (this.stateRequest?.waiting.delete(task) && this.stateRequest.waiting.size === 0) this.answerStateRequest();
      },
    });
    pool.piBits = piBitsFor(this.engine.target);
    return pool;
  }

  /** Keeps one block per thread in flight (plus one queued), continuing the checkpointed ones. */
  private planBlocks(): void {
    const pool = this.pool!;
    while (this.inflight.length < this.data.parallelism + 1) {
      const block = planNext(this.plannedUpTo, this.engine.target);
      if (!block) break;
      const saved = this.resumable.get(block.from);
      // The run's first fresh block is short, so the first new term shows up quickly after a
      // start or resume (its setup is paid once more, which is cheap at that size).
      let to = saved ? saved.to : this.firstBlock ? Math.min(block.to, block.from + FIRST_BLOCK_TERMS - 1) : block.to;
      // A checkpointed block further up (the top of a split whose bottom had no state yet) is continued, not redone.
      for (const f of this.resumable.keys()) if (f > block.from && f <= to) to = f - 1;
      this.firstBlock = false;
      this.inflight.push(this.prepare(pool.compute(block.from, to, saved?.state)));
      this.resumable.delete(block.from);
      this.plannedUpTo = to;
    }
  }

  /** Resolves with the head block's digits, or as soon as a stop or a failure comes first. */
  private nextBlock(head: BlockTask): Promise<Wake> {
    return new Promise<Wake>((resolve) => {
      // Not a race against one long-lived "stopped" promise: every race would leave a reaction on it
      // holding that block's result, a leak of all the digits.
      this.wake = resolve;
      if (this.damage) resolve({ damage: this.damage });
      if (this.fatal) resolve({ error: this.fatal.error });
      if (this.stopSeen) resolve({ stop: this.stopSeen });
      head.result.then(
        (digits) => resolve({ digits }),
        (e: unknown) => {
          // A block stopped by the control word is a stop, not a failure.
          const stop = this.stopRequested();
          resolve(stop && e instanceof PoolStopped ? { stop } : { error: e });
        },
      );
    }).finally(() => (this.wake = undefined));
  }

  private stopRequested(): StopReason | null {
    const s = Atomics.load(this.control, ControlSlot.State);
    return s === ControlState.Pause ? 'paused' : s === ControlState.Cancel ? 'cancelled' : null;
  }

  private pollStop(): void {
    this.stopSeen ??= this.stopRequested();
    if (this.stopSeen) this.wake?.({ stop: this.stopSeen });
    const now = performance.now();
    if (now - this.lastAlive >= ALIVE_EVERY_MS) {
      this.lastAlive = now;
      this.record?.alive();
    }
  }

  private onHostMessage(msg: unknown): void {
    if (isRecord(msg) && msg.type === 'setTarget' && isIntegerIn(msg.target, 1, Number.MAX_SAFE_INTEGER)) {
      this.engine.setTarget(msg.target);
      this.tracker.setTarget(this.engine.target);
      if (this.pool) this.pool.piBits = piBitsFor(this.engine.target);
      this.progress(true);
    }
  }

  /** A timer whose callback failing fails the job through its main loop (never an uncaught exception). */
  private every(ms: number, fn: () => void): void {
    this.timers.push(setInterval(() => this.guarded(fn), ms));
  }

  private guarded(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.fatal ??= { error: e };
      this.wake?.({ error: e });
    }
  }

  // ------------------------------------------------------------------ healing

  /** Verifies the next slice of the log as it was at open (or all of it: before the job may call itself finished). */
  private scanSlice(maxBytes = SCAN_SLICE_BYTES): void {
    if (!this.scan || this.damage) return;
    for (;;) {
      const r = this.scan.step(Math.min(maxBytes, 64 << 20));
      if (r.damage) {
        this.damage = { n: r.damage.n, reason: r.damage.reason };
        this.wake?.({ damage: this.damage });
        return;
      }
      if (r.done) {
        this.logLine('info', `verified the ${this.scan.target} stored terms read back from the log`);
        this.scan = undefined;
        return;
      }
      if (maxBytes !== Infinity) return;
      // (A slice that verified nothing and is not done cannot happen: each step covers at least one record.)
    }
  }

  /** Sets stored term n (damaged) and everything after it aside, never deleted; they are computed again. */
  private heal(n: number, reason: string): void {
    if (++this.heals > MAX_HEALS) throw new StoreError('CORRUPT', `stored term ${n} is damaged again after ${MAX_HEALS} repairs in this run (${reason}); the disk may be failing`, { term: n });
    // The store reports what it set aside, and where (a recovery line).
    this.store!.healFrom(n, /is damaged \((.*)\); terms 1\.\./.exec(reason)?.[1] ?? reason);
    this.damage = undefined;
  }

  /**
   * After a heal mid-run: the engine is rebuilt from what is left (done goes down to the cut), and the terms
   * between there and the blocks still in flight (all above the old end, still good) are planned first.
   */
  private restoreAfterHeal(): void {
    const target = this.engine.target;
    this.restored = restoreEngine(this.store!, target);
    this.engine = this.restored.engine;
    this.resumable.clear(); // the older snapshot's blocks lie in the range planned afresh below
    this.tracker.setTarget(target);
    this.tracker.record(performance.now(), this.engine.done);
    // The log's remaining terms are checked again from the start (the scan had covered only part of them).
    this.scan = this.store!.count > 0 ? this.store!.beginLogScan() : undefined;
    const firstInFlight = this.inflight[0]?.from ?? this.plannedUpTo + 1;
    const gap: BlockTask[] = [];
    for (let upTo = this.engine.done; upTo + 1 < firstInFlight; ) {
      const b = planNext(upTo, Math.min(target, firstInFlight - 1));
      if (!b) break;
      gap.push(this.prepare(this.pool!.compute(b.from, b.to)));
      upTo = b.to;
    }
    this.inflight.unshift(...gap);
    if (this.inflight.length === 0) this.plannedUpTo = this.engine.done;
    this.progress(true);
  }

  // ------------------------------------------------------------------ committing

  /**
   * What a commit costs besides its write, done as soon as a block's digits arrive: a block that ends
   * while an earlier one still runs (the top half of a split, at the end of a job) is then appended at
   * once when that one is in. Anything wrong is left for the commit to find and report, in order.
   */
  private prepare(task: BlockTask): BlockTask {
    task.result.then(
      async (digits) => {
        const from = task.from;
        await this.splitAnswer?.done;
        try {
          const records = this.store!.encodeTerms(digits.map((d, i) => ({ n: from + i, digits: d })));
          this.ahead.set(digits, { from, residues: digits.map((d) => this.engine.verifier.residuesOf(d)), records });
        } catch {
          /* reported by the commit */
        }
      },
      () => undefined,
    );
    return task;
  }

  /** Verifies block from.. and appends it (durable) before anyone hears of it. */
  private commit(from: number, digits: Uint8Array[]): void {
    const ready = this.ahead.get(digits);
    const fresh = ready?.from === from ? ready : undefined;
    const terms = this.engine.acceptBlock(from, digits, fresh?.residues);
    this.store!.appendTerms(fresh ? fresh.records : terms);
    const event: JobWorkerEvent = { type: 'committed', from, to: from + terms.length - 1, done: this.engine.done };
    if (this.data.streamDigits) {
      // The block's buffers are ours alone (moved here from its thread) and already copied into the log.
      event.digits = digits;
      this.port.postMessage(event, movableBuffers(digits));
    } else this.post(event);
    this.tracker.record(performance.now(), this.engine.done);
    this.progress();
  }

  // ------------------------------------------------------------------ checkpointing

  private get checkpointsEnabled(): boolean {
    return this.data.checkpointIntervalMs > 0;
  }

  /** (Re)chooses the interval from the history and this run's uptime; reports it when it changed notably. */
  private chooseInterval(first = false): void {
    if (!this.checkpointsEnabled) return;
    const uptime = Date.now() - this.data.runStartedAt;
    const choice = this.policy.choose(uptime, this.restartMs);
    const before = this.interval?.ms;
    this.interval = choice;
    if (first || before === undefined || Math.abs(choice.ms - before) > 0.25 * before) {
      const adapted = choice.mtbfMs !== null;
      this.post({ type: 'interval', ms: choice.ms, adapted, reason: choice.reason });
      this.logLine('info', `checkpoint interval ${formatMs(choice.ms)}: ${choice.reason}`);
    }
  }

  /** Arms the timer for the next checkpoint, one interval after the last. */
  private scheduleCheckpoint(): void {
    if (!this.checkpointsEnabled) return;
    clearTimeout(this.checkpointTimer);
    const since = this.lastCheckpoint === null ? 0 : performance.now() - this.lastCheckpoint;
    this.checkpointTimer = setTimeout(() => this.guarded(() => this.checkpointIfDue()), Math.max(0, this.interval.ms - since));
  }

  /**
   * A due checkpoint first asks every running block for its state (they answer after their current term),
   * and is written once all have answered or ended, or after STATE_WAIT_MS with what there is.
   */
  private checkpointIfDue(): void {
    if (this.stateRequest) return;
    if (this.lastCheckpoint === null || performance.now() - this.lastCheckpoint < this.interval.ms) return this.scheduleCheckpoint();
    const running = this.pool?.runningTasks ?? [];
    if (running.length === 0) return this.checkpoint();
    Atomics.add(this.control, ControlSlot.StateRequest, 1);
    this.stateRequest = { waiting: new Set(running), timer: setTimeout(() => this.guarded(() => this.answerStateRequest()), STATE_WAIT_MS) };
  }

  private answerStateRequest(): void {
    if (!this.stateRequest) return;
    clearTimeout(this.stateRequest.timer);
    this.stateRequest = undefined;
    this.checkpoint();
  }

  /**
   * The first block continued from the snapshot has done its first term: the work moves again. After an
   * unclean start the next checkpoint is timed from here (what the snapshot holds is what restarting
   * brought back, so one interval of new work later is the first worth saving), and the interval is chosen
   * again knowing what this restart cost.
   */
  private restarted(): void {
    if (this.restartMs > 0 || !this.checkpointsEnabled) return;
    this.restartMs = Math.max(1, Date.now() - this.data.runStartedAt);
    if (!this.uncleanStart || this.stateRequest) return;
    this.lastCheckpoint = performance.now();
    this.chooseInterval();
    this.scheduleCheckpoint();
  }

  /** Writes a snapshot: the verifier at the committed end, and the latest state of every block in progress. */
  private checkpoint(): void {
    if (!this.checkpointsEnabled) return;
    const store = this.store!;
    const engine = this.engine;
    const t0 = performance.now();
    const blocks: PendingBlock[] = this.inflight.filter((t) => t.latestState && t.from > engine.done).map((t) => ({ from: t.from, to: t.to, state: t.latestState! }));
    const snap = writeCheckpoint(store, engine, Math.max(engine.target, this.restored.storedTarget ?? 0), blocks);
    this.lastCheckpoint = performance.now();
    const ms = this.lastCheckpoint - t0;
    const blockStateMs = this.pool?.takeStateMs() ?? 0;
    // What it held the work back: the job thread's write, and each block thread's share of the serializing.
    const cost = ms + blockStateMs / Math.max(1, blocks.length);
    this.policy.recordCost(cost);
    this.record?.checkpointCost(cost);
    this.post({ type: 'checkpoint', generation: snap.header.generation, position: engine.done, bytes: snap.payloadBytes, ms, blockStateMs, blocks: blocks.map((b) => `${b.from}..${b.to}`) });
    if (this.phase === 'running') {
      this.chooseInterval();
      this.scheduleCheckpoint();
    }
  }

  // ------------------------------------------------------------------ end-of-job splits

  /** Only at the end of the job (before that the plan keeps a block queued for every thread): an idle thread takes the bottom of a running block. */
  private offerSplit(): void {
    const pool = this.pool!;
    if (this.stopSeen || this.stopRequested() || planNext(this.plannedUpTo, this.engine.target)) return;
    // The running block with the highest terms has the most expensive work left.
    const candidates = pool.runningTasks.filter((t) => this.inflight.includes(t)).sort((a, b) => b.to - a.to);
    for (const t of candidates) {
      if (pool.requestSplit(t)) {
        this.awaitSplit(t);
        return;
      }
    }
  }

  /**
   * While a split is asked of a running block, the job's own heavy work (taking in a block that just
   * ended) waits for the answer, which comes within one term: otherwise the idle thread would get its
   * part only after that work (30–50 ms at N = 4000).
   */
  private awaitSplit(task: BlockTask): void {
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    // A bound, should an answer never come (a block busy with its set-up answers after it).
    const timer = setTimeout(() => this.answerSplit(task), SPLIT_ANSWER_WAIT_MS).unref();
    this.splitAnswer = { task, done, resolve, timer };
  }

  private answerSplit(task: BlockTask): void {
    if (this.splitAnswer?.task !== task) return;
    clearTimeout(this.splitAnswer.timer);
    this.splitAnswer.resolve();
    this.splitAnswer = undefined;
  }

  // ------------------------------------------------------------------ draining, done, failed

  /** Stopping: blocks see the control word within one term and hand over their state; then the last checkpoint. */
  private async drain(): Promise<void> {
    this.stopTimers();
    if (this.reason !== 'finished') await this.settleForStop();
    this.checkpoint();
  }

  /** Waits (bounded) for in-flight blocks to finish or stop; commits any that finished in order. */
  private async settleForStop(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), STOP_GRACE_MS)));
    await Promise.race([Promise.allSettled(this.inflight.map((t) => t.result)), deadline]);
    clearTimeout(timer);
    const inflight = this.inflight;
    while (inflight.length && inflight[0].from === this.engine.done + 1 && inflight[0].digits) {
      this.commit(inflight[0].from, inflight[0].digits);
      inflight.shift();
    }
  }

  /** Posted only after the block threads are gone and the store is closed (lock released): the host treats it
   *  as "this job has let go of the state directory", and may start the next job on it right away. */
  private async finish(): Promise<void> {
    const stopped: JobWorkerEvent = { type: 'stopped', reason: this.reason!, progress: this.progressInfo() };
    await this.release();
    this.post(stopped);
  }

  private async fail(e: unknown): Promise<void> {
    this.stopTimers();
    await this.release().catch(() => undefined);
    const code = e instanceof StoreError ? e.code : e instanceof PoolStopped ? 'STOPPED' : e instanceof Error ? e.name : 'Error';
    this.post({ type: 'failed', code, message: e instanceof Error ? e.message : String(e), ...(e instanceof StoreError && e.term !== undefined ? { term: e.term } : {}) });
  }

  private stopTimers(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    clearTimeout(this.checkpointTimer);
    if (this.stateRequest) clearTimeout(this.stateRequest.timer);
    this.stateRequest = undefined;
  }

  /** Ends the block threads, records an orderly end in the history, closes the store (releasing the lock). */
  private async release(): Promise<void> {
    try {
      await this.pool?.close();
    } finally {
      this.record?.endCleanly();
      this.store?.close();
    }
  }

  // ------------------------------------------------------------------ progress

  private progressInfo(): ProgressInfo {
    const now = performance.now();
    const engine = this.engine;
    const { termsPerSecond, etaSeconds } = this.tracker.rate();
    return {
      done: engine.done,
      target: engine.target,
      termsPerSecond,
      etaSeconds: engine.finished ? 0 : etaSeconds,
      elapsedMs: now - this.started,
      sinceCheckpointMs: this.lastCheckpoint === null ? null : now - this.lastCheckpoint,
      bytesStored: this.store!.bytesStored(),
    };
  }

  private progress(force = false): void {
    const now = performance.now();
    if (force || now - this.lastProgress >= PROGRESS_EVERY_MS) {
      this.lastProgress = now;
      this.post({ type: 'progress', progress: this.progressInfo() });
    }
  }
}
