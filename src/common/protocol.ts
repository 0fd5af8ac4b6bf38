// Every message that crosses a thread or webview boundary, declared once and used by both sides.
import type { MessagePort } from 'node:worker_threads';

// ---------------------------------------------------------------------------------------------
// Job runner (host thread) ⇄ job worker (worker_threads)
// ---------------------------------------------------------------------------------------------

/** Values of the shared control word the host writes and the worker polls between terms. */
export const ControlState = { Run: 0, Pause: 1, Cancel: 2 } as const;
export type ControlState = (typeof ControlState)[keyof typeof ControlState];
/**
 * The job's control words, Int32 slots of one SharedArrayBuffer (threads read them after every term):
 * the run state set by the host, and a counter the job worker bumps when a checkpoint wants the state
 * of every running block.
 */
export const ControlSlot = { State: 0, StateRequest: 1 } as const;
export const CONTROL_BYTES = 8;

export interface JobWorkerData {
  stateDir: string;
  /** Count to compute up to; when omitted, the stored target is kept (resume). */
  target?: number;
  checkpointIntervalMs: number;
  /** fsync every append and snapshot (false only for benchmarks measuring the cost of durability). */
  durable: boolean;
  /** Number of block-computing threads (1 = compute on the job worker itself). */
  parallelism: number;
  /** SharedArrayBuffer of CONTROL_BYTES holding the control words (ControlSlot). */
  control: SharedArrayBuffer;
  /**
   * The block threads, one port each (the host starts them together with this worker, so that they
   * boot while it opens the store), with each thread's split word (see BlockWorkerData).
   */
  blockThreads: { port: MessagePort; split: SharedArrayBuffer }[];
  /** Send each committed block's digits with its 'committed' event (moved, not copied): a host that
   *  writes them out as they come (the CLI's --out) then need not read them back from the store. */
  streamDigits?: boolean;
  /** "Start over": archive the stored state (StateDir.archive, under the writer lock) before the job starts. */
  startOver?: boolean;
  /** When this run began (ms since the epoch): the process's start for the CLI, the runner's creation in a host. */
  runStartedAt: number;
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
  | { type: 'opened'; done: number; target: number; snapshot: { generation: number; position: number } | null; recoveries: string[]; lockToken?: string }
  | { type: 'log'; level: 'info' | 'warn'; message: string }
  | { type: 'progress'; progress: ProgressInfo }
  /** A block in progress continued from its checkpointed state (what a restart costs it: restore, then its first term). */
  | { type: 'restored'; from: number; to: number; restoreMs: number; firstTermMs: number }
  /** The checkpoint interval chosen (at the start, and whenever it changes notably), with why. */
  | { type: 'interval'; ms: number; adapted: boolean; reason: string }
  /** Terms from..to are durable in the store (appended and fsynced). */
  /** Terms from..to are durable. `digits` (ASCII, one array per term) only when streamDigits was asked for. */
  | { type: 'committed'; from: number; to: number; done: number; digits?: Uint8Array[] }
  | {
      type: 'checkpoint';
      generation: number;
      position: number;
      bytes: number;
      /** The job thread's time writing it (fsyncs included). */
      ms: number;
      /** The block threads' time serializing their states since the last checkpoint (the states it holds). */
      blockStateMs: number;
      /** Blocks in progress it holds, "from..to". */
      blocks: string[];
    }
  | { type: 'stopped'; reason: StopReason; progress: ProgressInfo }
  | { type: 'failed'; code: string; message: string; /** The damaged stored term, for CORRUPT. */ term?: number };

export type JobWorkerRequest = { type: 'setTarget'; target: number };

// Block workers (spawned by the job worker for parallel blocks).
export interface BlockWorkerData {
  /** The job's control words: a block worker seeing Pause/Cancel posts its state and abandons the block; one
   * seeing the state-request counter change posts its state and goes on. */
  control: SharedArrayBuffer;
  /** This thread's own Int32 word (SPLIT_BYTES): the id of a running block the job worker asks to split, or 0. */
  split: SharedArrayBuffer;
  /** Its channel to the job worker: BlockRequests in, BlockResults out. */
  port: MessagePort;
}

export const SPLIT_BYTES = 4;
/** 'exit': the job is over; the thread ends (the job worker sees its port close). */
export type BlockRequest =
  /** piBits: the precision of π the job's largest block will need (see piBitsFor), so that a thread computes π once instead of again at every larger block. */
  | { type: 'compute'; id: number; from: number; to: number; resume?: Uint8Array; piBits?: number }
  | { type: 'exit' };
export type BlockResult =
  /** The block's terms as ASCII digits, each in an ArrayBuffer of its own (moved, not copied). */
  | { type: 'result'; id: number; from: number; digits: Uint8Array[]; ms: number }
  /** Resumable in-progress state of block `id` (ZetaBlock.serialize()). */
  | { type: 'state'; id: number; from: number; to: number; state: Uint8Array; /** Time its serialization took. */ ms: number }
  /** Block `id` agreed to split: it now ends at `from` (its old from..from-1 is left to another block); `state` is its state after the split. */
  | { type: 'split'; id: number; from: number; state: Uint8Array }
  /** Block `id` was asked to split and declined: too little is left for a fresh block to pay off. */
  | { type: 'noSplit'; id: number }
  /** Block `id` continued from a checkpointed state: the ms the state took to restore, and its first term after that. */
  | { type: 'restored'; id: number; restoreMs: number; firstTermMs: number }
  | { type: 'stopped'; id: number }
  | { type: 'log'; id: number; message: string }
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

// ---------------------------------------------------------------------------------------------
// What the extension host shows of a job (status bar, terms view).
// ---------------------------------------------------------------------------------------------

export type JobState = 'none' | 'running' | 'paused' | 'cancelled' | 'done' | 'error' | 'readonly';

export interface JobView {
  state: JobState;
  done: number;
  target: number;
  termsPerSecond: number;
  etaSeconds: number | null;
  /** Time spent computing, summed over the job's runs (previous runs' total + the current run's elapsed). */
  elapsedMs: number;
  /** Runs of the job so far (each resume is one more); absent before the first. */
  runs?: number;
  /** Wall-clock time (epoch ms) of the last checkpoint, or null. */
  lastCheckpointAt: number | null;
  bytesStored: number;
  /** Error text, or why the job is read-only. */
  message?: string;
  /** In the error state: the failure's code when known (StoreError codes, OUT_OF_MEMORY, …). */
  failureCode?: string;
}

// ---------------------------------------------------------------------------------------------
// Terms view (extension host ⇄ webview)
// ---------------------------------------------------------------------------------------------

/** Most rows one `getRows` may ask for. */
export const TERMS_PAGE_LIMIT = 200;
/** Largest term index the view ever asks about (far above any count the engine accepts). */
export const TERMS_MAX_N = 10_000_000;
/** Digits shown at each end of a collapsed value; values up to HEAD + TAIL digits are sent whole as `head`. */
export const TERM_HEAD_DIGITS = 12;
export const TERM_TAIL_DIGITS = 12;

/** Commands the view's buttons may run (`tangentNumbers.<command>`). */
export const TERMS_VIEW_COMMANDS = ['pause', 'resume', 'cancel', 'compute', 'export'] as const;
export type TermsViewCommand = (typeof TERMS_VIEW_COMMANDS)[number];

/** One row of the table: never the full value, only its ends and its length. */
export interface TermSummary {
  n: number;
  /** Number of decimal digits. */
  digits: number;
  /** Leading digits (the whole value when it has at most HEAD + TAIL digits). */
  head: string;
  /** Trailing digits ('' when `head` is the whole value). */
  tail: string;
}

export type ToWebview =
  /**
   * Answer to `ready`: the job and the number of stored terms. `now` is the host's clock (epoch ms). `advice` is
   * what to do about the job's failure, in the editor's language ('' when the job has not failed).
   */
  | { type: 'init'; job: JobView; advice: string; count: number; now: number }
  | { type: 'job'; job: JobView; advice: string; now: number }
  /** Terms 1..count are stored (sent on commits, throttled). */
  | { type: 'count'; count: number }
  /** Answer to `getRows` (from/to as asked); `rows` holds what exists, `count` the stored terms at reading time. */
  | { type: 'rows'; from: number; to: number; count: number; rows: TermSummary[] }
  /** Answer to `getTerm`: the full decimal value, or null when T(n) is not stored. */
  | { type: 'term'; n: number; value: string | null }
  /** Answer to `copy`: whether the host put T(n) on the clipboard. */
  | { type: 'copied'; n: number; ok: boolean }
  /** The stored terms were replaced (start over): drop every cached row. */
  | { type: 'reset' };

export type FromWebview =
  | { type: 'ready' }
  | { type: 'getRows'; from: number; to: number }
  | { type: 'getTerm'; n: number }
  /** Fallback when `navigator.clipboard` is refused: the host copies T(n) itself. */
  | { type: 'copy'; n: number }
  | { type: 'command'; command: TermsViewCommand };

function hasExactKeys(v: Record<string, unknown>, keys: readonly string[]): boolean {
  const own = Object.keys(v);
  return own.length === keys.length && keys.every((k) => Object.prototype.hasOwnProperty.call(v, k));
}

const isTermIndex = (v: unknown): v is number => isIntegerIn(v, 1, TERMS_MAX_N);

/**
 * Checks a message from the webview field by field: exact keys, integer ranges, known enum values.
 * Returns undefined for anything else (the caller logs and ignores it); never throws.
 */
export function parseFromWebview(msg: unknown): FromWebview | undefined {
  try {
    if (!isRecord(msg) || typeof msg.type !== 'string') return undefined;
    switch (msg.type) {
      case 'ready':
        return hasExactKeys(msg, ['type']) ? { type: 'ready' } : undefined;
      case 'getRows': {
        if (!hasExactKeys(msg, ['type', 'from', 'to'])) return undefined;
        const { from, to } = msg;
        if (!isTermIndex(from) || !isTermIndex(to) || from > to || to - from + 1 > TERMS_PAGE_LIMIT) return undefined;
        return { type: 'getRows', from, to };
      }
      case 'getTerm':
      case 'copy': {
        if (!hasExactKeys(msg, ['type', 'n']) || !isTermIndex(msg.n)) return undefined;
        return { type: msg.type, n: msg.n };
      }
      case 'command': {
        if (!hasExactKeys(msg, ['type', 'command'])) return undefined;
        const command = msg.command;
        if (typeof command !== 'string' || !(TERMS_VIEW_COMMANDS as readonly string[]).includes(command)) return undefined;
        return { type: 'command', command: command as TermsViewCommand };
      }
      default:
        return undefined;
    }
  } catch {
    // A hostile object (getters, proxies) must not take the host down.
    return undefined;
  }
}

/** The row summary of a stored value (cheap even for 26,000 digits). */
export function summarizeTerm(n: number, digits: string): TermSummary {
  if (digits.length <= TERM_HEAD_DIGITS + TERM_TAIL_DIGITS) return { n, digits: digits.length, head: digits, tail: '' };
  return { n, digits: digits.length, head: digits.slice(0, TERM_HEAD_DIGITS), tail: digits.slice(-TERM_TAIL_DIGITS) };
}
