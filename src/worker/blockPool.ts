// Runs blocks on a set of worker threads (one block per thread at a time). Blocks are independent
// and deterministic, so killing the pool mid-block only loses the blocks in flight.
import { Worker } from 'node:worker_threads';
import type { BlockRequest, BlockResult } from '../shared/protocol';

interface Pending {
  resolve: (digits: string[]) => void;
  reject: (e: Error) => void;
}

export class BlockPool {
  private readonly idle: Worker[] = [];
  private readonly queue: { req: BlockRequest; pending: Pending }[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly workers: Worker[] = [];
  private nextId = 1;
  private closed = false;

  constructor(script: string, size: number, maxOldGenerationSizeMb?: number) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(script, { resourceLimits: maxOldGenerationSizeMb ? { maxOldGenerationSizeMb } : undefined });
      w.on('message', (msg: BlockResult) => this.onResult(w, msg));
      w.on('error', (e) => this.failAll(e));
      w.on('exit', (code) => {
        if (!this.closed) this.failAll(new Error(`a block worker exited unexpectedly (code ${code})`));
      });
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  compute(from: number, to: number): Promise<string[]> {
    if (this.closed) return Promise.reject(new Error('the block pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ req: { type: 'compute', id: this.nextId++, from, to }, pending: { resolve, reject } });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const w = this.idle.pop()!;
      const { req, pending } = this.queue.shift()!;
      this.pending.set(req.id, pending);
      w.postMessage(req);
    }
  }

  private onResult(w: Worker, msg: BlockResult): void {
    const p = this.pending.get(msg.id);
    this.pending.delete(msg.id);
    this.idle.push(w);
    if (p) {
      if (msg.type === 'result') p.resolve(msg.digits);
      else p.reject(new Error(msg.message));
    }
    this.dispatch();
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    for (const q of this.queue) q.pending.reject(e);
    this.pending.clear();
    this.queue.length = 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.failAll(new Error('the block pool was closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
