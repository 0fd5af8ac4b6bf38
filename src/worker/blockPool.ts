// Runs blocks on a set of worker threads (one block per thread at a time). Blocks are independent
// and deterministic; a running block reports its resumable state when the job worker asks for it
// (through the control words), so each checkpoint holds fresh block states and killing everything
// mid-block loses at most one checkpoint interval of work.
import { Worker } from 'node:worker_threads';
import type { BlockRequest, BlockResult, BlockWorkerData } from '../common/protocol';

export class PoolStopped extends Error {
  override name = 'PoolStopped';
}

export interface BlockTask {
  readonly from: number;
  readonly to: number;
  /** The most recent resumable state of this block (or the state it was resumed from). */
  latestState: Uint8Array | undefined;
  readonly result: Promise<string[]>;
  /** The digits once the block finished (undefined while running or if it failed). */
  digits?: string[];
}

interface Running {
  task: BlockTask;
  resolve: (digits: string[]) => void;
  reject: (e: Error) => void;
}

export class BlockPool {
  private readonly idle: Worker[] = [];
  private readonly queue: { req: BlockRequest; running: Running }[] = [];
  private readonly running = new Map<number, Running>();
  private readonly workers: Worker[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    script: string,
    size: number,
    control: SharedArrayBuffer,
    private readonly log: (message: string) => void,
    maxOldGenerationSizeMb?: number,
    /** Called when a running block reported a new state, and when it ended (finished, stopped or failed). */
    private readonly onTaskUpdate: (task: BlockTask) => void = () => undefined,
  ) {
    const workerData: BlockWorkerData = { control };
    for (let i = 0; i < size; i++) {
      const w = new Worker(script, { workerData, resourceLimits: maxOldGenerationSizeMb ? { maxOldGenerationSizeMb } : undefined });
      w.on('message', (msg: BlockResult) => this.onMessage(w, msg));
      w.on('error', (e: Error & { code?: string }) =>
        this.failAll(e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? new Error(`a block worker ran out of memory (limit ${maxOldGenerationSizeMb} MB)`) : e),
      );
      w.on('exit', (code) => {
        if (!this.closed) this.failAll(new Error(`a block worker exited unexpectedly (code ${code})`));
      });
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  compute(from: number, to: number, resume?: Uint8Array): BlockTask {
    let running!: Running;
    const result = new Promise<string[]>((resolve, reject) => {
      running = {
        task: undefined as unknown as BlockTask,
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
      this.queue.push({ req: { type: 'compute', id: this.nextId++, from, to, resume }, running });
      this.dispatch();
    }
    return task;
  }

  /** The blocks being computed on a thread right now (not the queued ones). */
  get runningTasks(): BlockTask[] {
    return [...this.running.values()].map((r) => r.task);
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const w = this.idle.pop()!;
      const { req, running } = this.queue.shift()!;
      this.running.set(req.id, running);
      w.postMessage(req);
    }
  }

  private onMessage(w: Worker, msg: BlockResult): void {
    const r = this.running.get(msg.id);
    switch (msg.type) {
      case 'state':
        if (r) {
          r.task.latestState = msg.state;
          this.onTaskUpdate(r.task);
        }
        return;
      case 'log':
        this.log(msg.message);
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
    if (r) this.onTaskUpdate(r.task);
  }

  private failAll(e: Error): void {
    for (const r of this.running.values()) r.reject(e);
    for (const q of this.queue) q.running.reject(e);
    this.running.clear();
    this.queue.length = 0;
  }

  /** Stops every thread; blocks in flight reject (their latest state stays on their task). */
  async close(): Promise<void> {
    this.closed = true;
    this.failAll(new PoolStopped('the block pool was closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
