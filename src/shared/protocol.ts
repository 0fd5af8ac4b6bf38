// Every message that crosses a thread or webview boundary, declared once and used by both sides.

// ---------------------------------------------------------------------------------------------
// Job runner (host thread) ⇄ job worker (worker_threads)
// ---------------------------------------------------------------------------------------------

/** Values of the shared control word the host writes and the worker polls between terms. */
export const ControlState = { Run: 0, Pause: 1, Cancel: 2 } as const;
export type ControlState = (typeof ControlState)[keyof typeof ControlState];

export interface JobWorkerData {
  stateDir: string;
  /** Count to compute up to; when omitted, the stored target is kept (resume). */
  target?: number;
  checkpointIntervalMs: number;
  /** fsync every append and snapshot (false only for benchmarks measuring the cost of durability). */
  durable: boolean;
  /** Number of block-computing threads (1 = compute on the job worker itself). */
  parallelism: number;
  /** SharedArrayBuffer holding one Int32 control word (ControlState). */
  control: SharedArrayBuffer;
  /** Path of the block worker script (next to the job worker in dist/). */
  blockWorkerScript: string;
  /** Memory limit for block workers, MB. */
  maxOldGenerationSizeMb?: number;
}

export interface ProgressInfo {
  done: number;
  target: number;
  /** Terms per second over the last few seconds. */
  termsPerSecond: number;
  /** Seconds left, from the remaining work weighted by term size; null while unknown. */
  etaSeconds: number | null;
  elapsedMs: number;
  /** Milliseconds since the last snapshot was written (null before the first). */
  sinceCheckpointMs: number | null;
  bytesStored: number;
}

export type StopReason = 'paused' | 'cancelled' | 'finished';

export type JobWorkerEvent =
  | { type: 'opened'; done: number; target: number; snapshot: { generation: number; position: number } | null; recoveries: string[] }
  | { type: 'log'; level: 'info' | 'warn'; message: string }
  | { type: 'progress'; progress: ProgressInfo }
  /** Terms from..to are durable in the store (appended and fsynced). */
  | { type: 'committed'; from: number; to: number; done: number }
  | { type: 'checkpoint'; generation: number; position: number; bytes: number; ms: number }
  | { type: 'stopped'; reason: StopReason; progress: ProgressInfo }
  | { type: 'failed'; code: string; message: string };

export type JobWorkerRequest = { type: 'setTarget'; target: number };

// Block workers (spawned by the job worker for parallel blocks).
export type BlockRequest = { type: 'compute'; id: number; from: number; to: number };
export type BlockResult =
  | { type: 'result'; id: number; from: number; digits: string[]; ms: number }
  | { type: 'error'; id: number; message: string };

// ---------------------------------------------------------------------------------------------
// Runtime checks shared by every receiver: messages are data from another realm, never trusted.
// ---------------------------------------------------------------------------------------------

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isIntegerIn(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}
