// Host-side handle of one job: starts the job worker, relays its typed events, and turns every
// way a worker can end (stop, error, out of memory, crash) into exactly one outcome — never a hang.
import * as os from 'node:os';
import * as path from 'node:path';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { releaseLockIfToken } from '../store/lock';
import { runJob } from './job';
import { CONTROL_BYTES, ControlSlot, ControlState, SPLIT_BYTES, type BlockWorkerData, type JobWorkerData, type JobWorkerEvent, type JobWorkerRequest, type ProgressInfo, type StopReason } from '../common/protocol';

export interface JobOptions {
  stateDir: string;
  /** Count to compute up to; omit to resume the stored job with its own target. */
  target?: number;
  /** Snapshot interval; 0 disables snapshots (benchmarks only). Default 5000. */
  checkpointIntervalMs?: number;
  /** fsync appends and snapshots. Default true. */
  durable?: boolean;
  /** Threads computing blocks. Default: min(2, available cores). */
  parallelism?: number;
  /** V8 old-space limit of each thread computing blocks, MB. Default 1024. */
  maxOldGenerationSizeMb?: number;
  /**
   * V8 old-space limit of the job's own thread, MB. Default: maxOldGenerationSizeMb, but at least
   * JOB_THREAD_MIN_MEMORY_MB: its heap holds bookkeeping only (digits live outside it), 5.5–6 MB that do not grow with the job.
   */
  jobThreadMemoryMb?: number;
  /** Directory holding jobWorker.js and blockWorker.js. Default: this file's directory. */
  workerDir?: string;
  /** Committed terms' digits come with their 'committed' events (see JobWorkerData.streamDigits). */
  streamDigits?: boolean;
  /**
   * Runs the job's bookkeeping (store, verification, checkpoints) on this thread instead of a worker of
   * its own: for a host whose thread is otherwise idle (the CLI), one thread less to start and feed.
   * Never in the extension host, whose event loop must stay free. Blocks are computed on threads either way.
   */
  inline?: boolean;
  /** Archive the stored state (under the writer lock) and start the job from nothing. */
  startOver?: boolean;
}

export type JobOutcome =
  | { kind: 'stopped'; reason: StopReason; progress: ProgressInfo }
  | { kind: 'failed'; code: string; message: string };

export const DEFAULT_CHECKPOINT_MS = 5000;
/** How long an ending job waits for its block threads' exit (and a crashed one's error) before settling. */
const BLOCK_EXIT_WAIT_MS = 2000;
export const DEFAULT_MEMORY_MB = 1024;
/**
 * V8's young generation for a block thread, MB (three semi-spaces). V8 grows it to 48 MB on a machine this
 * size. A term's short-lived BigInts grow with n, and a semi-space smaller than ~n/1000 MB promotes them to
 * the old generation: block CPU at n = 15200 was 20% higher with 8 MB than with 16, at n = 7200 and 3600 no
 * different with 8 or 4. So it is sized to the job (at N = 4000, 12 MB took 45 MB off the peak RSS), and
 * V8's own size when the target is not known yet (a resumed job's is in its store).
 */
export function blockYoungGenerationMb(target: number | undefined): number {
  const semiSpace = target === undefined ? 16 : Math.min(16, Math.max(4, 2 ** Math.ceil(Math.log2(target / 1000))));
  return 3 * semiSpace;
}
/**
 * The least old space the job thread gets, MB. It needs 5.5–6 MB from its start whatever the job, so a smaller
 * limit meant for the computing threads (tests go down to a few MB) would end the job on the wrong thread.
 */
export const JOB_THREAD_MIN_MEMORY_MB = 32;
/** The job thread's old-space limit, MB: the one asked for, else the block threads' limit but at least JOB_THREAD_MIN_MEMORY_MB. */
export function jobThreadMemoryMb(blockThreadMemoryMb: number, requested?: number): number {
  return requested ?? Math.max(blockThreadMemoryMb, JOB_THREAD_MIN_MEMORY_MB);
}
/** The job thread's young generation, MB: it allocates little besides the digits' buffers, which live outside the heap. */
const JOB_YOUNG_GENERATION_MB = 12;

export class JobRunner {
  /** The job's worker thread, or (inline) this thread's end of the channel to the job. */
  private readonly worker: Worker | MessagePort;
  /** The block threads: started here, next to the job worker, so that they boot while it opens the store. */
  private readonly blockWorkers: Worker[] = [];
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_BYTES));
  private readonly listeners = new Set<(e: JobWorkerEvent) => void>();
  private settled = false;
  readonly outcome: Promise<JobOutcome>;

  constructor(readonly options: JobOptions) {
    const dir = options.workerDir ?? __dirname;
    const memory = options.maxOldGenerationSizeMb ?? DEFAULT_MEMORY_MB;
    const jobMemory = jobThreadMemoryMb(memory, options.jobThreadMemoryMb);
    const youngGeneration = blockYoungGenerationMb(options.target);
    const parallelism = Math.max(1, options.parallelism ?? Math.min(2, os.availableParallelism()));
    const control = this.control.buffer;
    // Each block thread talks to the job worker over a channel of its own; a crash is reported here
    // (the job worker only sees the thread's port close), and named in the job's failure.
    let blockFailure: { code: string; message: string } | undefined;
    const blockExits: Promise<void>[] = [];
    const blockThreads: JobWorkerData['blockThreads'] = [];
    for (let i = 0; i < parallelism; i++) {
      const { port1, port2 } = new MessageChannel();
      const blockData: BlockWorkerData = { control, split: new SharedArrayBuffer(SPLIT_BYTES), port: port2 };
      const w = new Worker(path.join(dir, 'blockWorker.js'), { workerData: blockData, transferList: [port2], resourceLimits: { maxOldGenerationSizeMb: memory, maxYoungGenerationSizeMb: youngGeneration } });
      w.on('error', (err: Error & { code?: string }) => {
        blockFailure ??=
          err.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? { code: 'OUT_OF_MEMORY', message: `a block worker ran out of memory (limit ${memory} MB); raise the worker memory limit` }
            : { code: 'WORKER_ERROR', message: `a block worker crashed: ${err.message}` };
      });
      this.blockWorkers.push(w);
      blockExits.push(new Promise<void>((resolve) => w.once('exit', () => resolve())));
      blockThreads.push({ port: port1, split: blockData.split });
    }
    const data: JobWorkerData = {
      stateDir: options.stateDir,
      target: options.target,
      checkpointIntervalMs: options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_MS,
      durable: options.durable ?? true,
      parallelism,
      control,
      blockThreads,
      streamDigits: options.streamDigits ?? false,
      startOver: options.startOver ?? false,
      // Inline, the job's run began with this process (its start-up is part of what a crash costs).
      runStartedAt: options.inline ? Math.round(performance.timeOrigin) : Date.now(),
    };
    let inlineJob: Promise<boolean> | undefined;
    if (options.inline) {
      const { port1, port2 } = new MessageChannel();
      this.worker = port1;
      // Started on the next turn, once the listeners below are in place.
      inlineJob = new Promise<void>((resolve) => setImmediate(resolve)).then(() => runJob(data, port2));
    } else {
      this.worker = new Worker(path.join(dir, 'jobWorker.js'), { workerData: data, transferList: blockThreads.map((t) => t.port), resourceLimits: { maxOldGenerationSizeMb: jobMemory, maxYoungGenerationSizeMb: JOB_YOUNG_GENERATION_MB } });
    }
    const jobThread = this.worker instanceof Worker ? this.worker : undefined;

    let lockToken: string | undefined;
    this.outcome = new Promise<JobOutcome>((resolve) => {
      const settle = (o: JobOutcome) => {
        if (this.settled) return;
        this.settled = true;
        resolve(o);
      };
      // The outcome resolves only once the thread has exited: the worker posts its last event after closing
      // the store (lock released), and it would otherwise stay alive idle (its message port keeps it), one
      // leaked thread per run. So the last event ends the thread, and 'exit' settles.
      let last: (JobWorkerEvent & { type: 'stopped' | 'failed' }) | undefined;
      // A block thread's crash reaches the job as its port closing, and here as the thread's own error:
      // whichever comes first, the outcome is settled once the block threads are gone, naming the crash.
      const outcomeOnceBlocksAreGone = async (withoutLastEvent: JobOutcome): Promise<JobOutcome> => {
        for (const w of this.blockWorkers) void w.terminate();
        await Promise.race([Promise.all(blockExits), new Promise((r) => setTimeout(r, BLOCK_EXIT_WAIT_MS).unref())]);
        if (!last) return withoutLastEvent;
        if (last.type === 'stopped') return { kind: 'stopped', reason: last.reason, progress: last.progress };
        return { kind: 'failed', ...(blockFailure ?? { code: last.code, message: last.message }) };
      };
      this.worker.on('message', (e: JobWorkerEvent) => {
        if (e.type === 'opened') lockToken = e.lockToken;
        for (const l of this.listeners) l(e);
        if (e.type !== 'stopped' && e.type !== 'failed') return;
        last = e;
        if (jobThread) void jobThread.terminate();
        else {
          // The job has closed its store and posted its last event: nothing more comes on the channel.
          void inlineJob!.then(async () => {
            (this.worker as MessagePort).close();
            settle(await outcomeOnceBlocksAreGone({ kind: 'failed', code: 'WORKER_EXIT', message: 'the job ended without a last event' }));
          });
        }
      });
      if (!jobThread) return;
      jobThread.on('error', (err: Error & { code?: string }) => {
        if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
          settle({ kind: 'failed', code: 'OUT_OF_MEMORY', message: `the job thread ran out of memory (limit ${jobMemory} MB); raise the worker memory limit` });
        } else {
          settle({ kind: 'failed', code: 'WORKER_ERROR', message: `the worker crashed: ${err.message}` });
        }
      });
      jobThread.on('exit', (code) => {
        // A worker that died without closing its store leaves its lock behind, under our own pid.
        if (lockToken) {
          try {
            releaseLockIfToken(options.stateDir, lockToken);
          } catch {
            /* the directory went away: nothing to release */
          }
        }
        // The job worker ends its block threads before its last event; any left (it crashed) go now.
        void outcomeOnceBlocksAreGone({ kind: 'failed', code: 'WORKER_EXIT', message: `the worker exited unexpectedly (code ${code}); the stored state is intact` }).then(settle);
      });
    });
  }

  onEvent(listener: (e: JobWorkerEvent) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Checkpoints and stops; the outcome resolves with reason 'paused'. */
  pause(): void {
    Atomics.store(this.control, ControlSlot.State, ControlState.Pause);
  }

  /** Checkpoints and stops; the outcome resolves with reason 'cancelled'. */
  cancel(): void {
    Atomics.store(this.control, ControlSlot.State, ControlState.Cancel);
  }

  setTarget(target: number): void {
    const req: JobWorkerRequest = { type: 'setTarget', target };
    this.worker.postMessage(req);
  }

  get running(): boolean {
    return !this.settled;
  }

  /** Hard stop (no checkpoint): for disposal when the host is going away. (Inline, the job then fails on its lost block threads.) */
  async terminate(): Promise<void> {
    await Promise.all([...(this.worker instanceof Worker ? [this.worker.terminate()] : []), ...this.blockWorkers.map((w) => w.terminate())]);
  }
}
