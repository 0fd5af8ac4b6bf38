// Runs blocks on a set of worker threads (one block per thread at a time), reached through message
// ports (the host starts the threads; see JobWorkerData.blockThreads). Blocks are independent and
// deterministic; a running block reports its resumable state when the job worker asks for it
// (through the control words), so each checkpoint holds fresh block states and killing everything
// mid-block loses at most one checkpoint interval of work. At the end of a job, a thread with nothing
// left to do can be given the bottom of a running block (requestSplit), instead of waiting for it.
import type { MessagePort } from 'node:worker_threads';
import type { BlockRequest, BlockResult } from '../common/protocol';

/** How long close() waits for the threads to end. */
const CLOSE_WAIT_MS = 5000;

export class PoolStopped extends Error {
  override name = 'PoolStopped';
}

export interface BlockTask {
  /** Raised when the block agrees to a split (its old bottom becomes another task). */
  from: number;
  readonly to: number;
  /** The most recent resumable state of this block (or the state it was resumed from). */
  latestState: Uint8Array | undefined;
  readonly result: Promise<Uint8Array[]>;
  /** The digits (ASCII bytes) once the block finished (undefined while running or if it failed). */
  digits?: Uint8Array[];
}

interface Running {
  task: BlockTask;
  id: number;
  worker: MessagePort;
  splitRequested: boolean;
  resolve: (digits: Uint8Array[]) => void;
  reject: (e: Error) => void;
}

export interface PoolEvents {
  /** A running block reported a new state, or ended (finished, stopped or failed). */
  onTaskUpdate?: (task: BlockTask) => void;
  /** `task` agreed to a split: it now starts at task.from, and oldFrom..task.from-1 needs a task of its own. */
  onSplit?: (task: BlockTask, oldFrom: number) => void;
  /** `task` was asked to split and declined. */
  onSplitDeclined?: (task: BlockTask) => void;
  /** A thread became idle with nothing queued. */
  onIdle?: () => void;
  /** `task` continued from its checkpointed state (see BlockResult 'restored'). */
  onRestored?: (task: BlockTask, restoreMs: number, firstTermMs: number) => void;
}

export class BlockPool {
  private readonly idle: MessagePort[] = [];
  private readonly queue: { req: BlockRequest & { type: 'compute' }; running: Running }[] = [];
  private readonly running = new Map<number, Running>();
  private readonly ports: MessagePort[] = [];
  private readonly splitWords = new Map<MessagePort, Int32Array>();
  private readonly gone: Promise<void>[] = [];
  private nextId = 1;
  private closed = false;
  /** The block threads' time serializing states (for checkpoints), since takeStateMs() last took it. */
  private stateMs = 0;

  constructor(
    threads: readonly { port: MessagePort; split: SharedArrayBuffer }[],
    private readonly log: (message: string) => void,
    private readonly events: PoolEvents = {},
  ) {
    for (const { port, split } of threads) {
      this.splitWords.set(port, new Int32Array(split));
      port.on('message', (msg: BlockResult) => this.onMessage(port, msg));
      // A thread that ends (a crash; the host reports why) closes its port.
      this.gone.push(
        new Promise<void>((resolve) =>
          port.once('close', () => {
            if (!this.closed) this.failAll(new Error('a block worker exited unexpectedly'));
            resolve();
          }),
        ),
      );
      this.ports.push(port);
      this.idle.push(port);
    }
  }

  /** π's precision for the job's largest block (piBitsFor its target), sent with every block. */
  piBits = 0;

  compute(from: number, to: number, resume?: Uint8Array): BlockTask {
    let running!: Running;
    const result = new Promise<Uint8Array[]>((resolve, reject) => {
      running = {
        task: undefined as unknown as BlockTask,
        id: this.nextId++,
        worker: undefined as unknown as MessagePort,
        splitRequested: false,
        resolve: (digits) => {
          running.task.digits = digits;
          resolve(digits);
        },
        reject,
      };
    });
    result.catch(() => undefined); // handled by whoever awaits the task
    const task: BlockTask = { from, to, latestState: resume, result };
    running.task = task;
    if (this.closed) running.reject(new PoolStopped('the block pool is closed'));
    else {
      this.queue.push({ req: { type: 'compute', id: running.id, from, to, resume, ...(this.piBits ? { piBits: this.piBits } : {}) }, running });
      this.dispatch();
    }
    return task;
  }

  /** The blocks being computed on a thread right now (not the queued ones). */
  get runningTasks(): BlockTask[] {
    return [...this.running.values()].map((r) => r.task);
  }

  /** True when a thread is idle and nothing is queued for it. */
  get hasIdleThread(): boolean {
    return !this.closed && this.idle.length > 0 && this.queue.length === 0;
  }

  /**
   * Asks a running block to hand the bottom of its remaining range to another task (it answers after
   * its current term, through events.onSplit, or events.onSplitDeclined if too little is left). One
   * request at a time: once it has answered, a block may be asked again (the bottom it gave away may end
   * long before it does).
   */
  requestSplit(task: BlockTask): boolean {
    const r = [...this.running.values()].find((x) => x.task === task);
    if (!r || r.splitRequested) return false;
    r.splitRequested = true;
    Atomics.store(this.splitWords.get(r.worker)!, 0, r.id);
    return true;
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const w = this.idle.pop()!;
      const { req, running } = this.queue.shift()!;
      running.worker = w;
      this.running.set(req.id, running);
      w.postMessage(req);
    }
  }

  /** The block threads' time serializing their states since the last call. */
  takeStateMs(): number {
    const ms = this.stateMs;
    this.stateMs = 0;
    return ms;
  }

  private onMessage(w: MessagePort, msg: BlockResult): void {
    const r = this.running.get(msg.id);
    switch (msg.type) {
      case 'state':
        this.stateMs += msg.ms;
        if (r) {
          r.task.latestState = msg.state;
          this.events.onTaskUpdate?.(r.task);
        }
        return;
      case 'split':
        if (r) {
          // Answered: the block may be asked again (its new bottom may end well before it does).
          r.splitRequested = false;
          const oldFrom = r.task.from;
          r.task.from = msg.from;
          // The state from before the split covers the old range: only the new one may be checkpointed.
          r.task.latestState = msg.state;
          this.events.onSplit?.(r.task, oldFrom);
        }
        return;
      case 'noSplit':
        if (r) {
          r.splitRequested = false;
          this.events.onSplitDeclined?.(r.task);
        }
        return;
      case 'log':
        this.log(msg.message);
        return;
      case 'restored':
        if (r) this.events.onRestored?.(r.task, msg.restoreMs, msg.firstTermMs);
        return;
      case 'result':
        r?.resolve(msg.digits);
        break;
      case 'stopped':
        r?.reject(new PoolStopped(`block ${r.task.from}..${r.task.to} was stopped`));
        break;
      case 'error':
        r?.reject(new Error(`block computation failed: ${msg.message}`));
        break;
    }
    this.running.delete(msg.id);
    this.idle.push(w);
    this.dispatch();
    if (r) this.events.onTaskUpdate?.(r.task);
    if (this.hasIdleThread) this.events.onIdle?.();
  }

  private failAll(e: Error): void {
    for (const r of this.running.values()) r.reject(e);
    for (const q of this.queue) q.running.reject(e);
    this.running.clear();
    this.queue.length = 0;
  }

  /**
   * Ends every thread; blocks in flight reject (their latest state stays on their task). A thread in the
   * middle of a term ends after it (a pause or cancel has stopped its block by then); resolves once all
   * are gone, or after CLOSE_WAIT_MS (the host terminates what is left when the job worker ends).
   */
  async close(): Promise<void> {
    this.closed = true;
    this.failAll(new PoolStopped('the block pool was closed'));
    const exit: BlockRequest = { type: 'exit' };
    for (const port of this.ports) port.postMessage(exit);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.gone), new Promise<void>((r) => (timer = setTimeout(r, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
    for (const port of this.ports) port.close();
  }
}
