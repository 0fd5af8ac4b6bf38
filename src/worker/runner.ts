// Host-side handle of one job: starts the job worker, relays its typed events, and turns every
// way a worker can end (stop, error, out of memory, crash) into exactly one outcome — never a hang.
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { releaseLockIfToken } from '../store/lock';
import { CONTROL_BYTES, ControlSlot, ControlState, type JobWorkerData, type JobWorkerEvent, type JobWorkerRequest, type ProgressInfo, type StopReason } from '../common/protocol';

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
  /** V8 old-space limit for each worker thread, MB. Default 1024. */
  maxOldGenerationSizeMb?: number;
  /** Directory holding jobWorker.js and blockWorker.js. Default: this file's directory. */
  workerDir?: string;
  /** Committed terms' digits come with their 'committed' events (see JobWorkerData.streamDigits). */
  streamDigits?: boolean;
}

export type JobOutcome =
  | { kind: 'stopped'; reason: StopReason; progress: ProgressInfo }
  | { kind: 'failed'; code: string; message: string };

export const DEFAULT_CHECKPOINT_MS = 5000;
export const DEFAULT_MEMORY_MB = 1024;

export class JobRunner {
  private readonly worker: Worker;
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_BYTES));
  private readonly listeners = new Set<(e: JobWorkerEvent) => void>();
  private settled = false;
  readonly outcome: Promise<JobOutcome>;

  constructor(readonly options: JobOptions) {
    const dir = options.workerDir ?? __dirname;
    const memory = options.maxOldGenerationSizeMb ?? DEFAULT_MEMORY_MB;
    const data: JobWorkerData = {
      stateDir: options.stateDir,
      target: options.target,
      checkpointIntervalMs: options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_MS,
      durable: options.durable ?? true,
      parallelism: options.parallelism ?? Math.max(1, Math.min(2, os.availableParallelism())),
      control: this.control.buffer as SharedArrayBuffer,
      blockWorkerScript: path.join(dir, 'blockWorker.js'),
      maxOldGenerationSizeMb: memory,
      streamDigits: options.streamDigits ?? false,
    };
    this.worker = new Worker(path.join(dir, 'jobWorker.js'), { workerData: data, resourceLimits: { maxOldGenerationSizeMb: memory } });

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
      let last: JobOutcome | undefined;
      this.worker.on('message', (e: JobWorkerEvent) => {
        if (e.type === 'opened') lockToken = e.lockToken;
        for (const l of this.listeners) l(e);
        if (e.type === 'stopped') last = { kind: 'stopped', reason: e.reason, progress: e.progress };
        else if (e.type === 'failed') last = { kind: 'failed', code: e.code, message: e.message };
        if (last) void this.worker.terminate();
      });
      this.worker.on('error', (err: Error & { code?: string }) => {
        if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
          settle({ kind: 'failed', code: 'OUT_OF_MEMORY', message: `the computation ran out of memory (limit ${memory} MB); raise the worker memory limit` });
        } else {
          settle({ kind: 'failed', code: 'WORKER_ERROR', message: `the worker crashed: ${err.message}` });
        }
      });
      this.worker.on('exit', (code) => {
        // A worker that died without closing its store leaves its lock behind, under our own pid.
        if (lockToken) {
          try {
            releaseLockIfToken(options.stateDir, lockToken);
          } catch {
            /* the directory went away: nothing to release */
          }
        }
        settle(last ?? { kind: 'failed', code: 'WORKER_EXIT', message: `the worker exited unexpectedly (code ${code}); the stored state is intact` });
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

  /** Hard stop (no checkpoint): for disposal when the host is going away. */
  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}
