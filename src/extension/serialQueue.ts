// A serial executor: operations run one at a time, in the order they were queued. The job controller
// sends every state change (start, resume, pause, cancel, take-over...) through one, so that two quick
// calls (a double click, Retry racing Resume) cannot interleave at their awaits. No vscode import, so
// it is unit-tested in plain Node.

export class SerialQueue {
  /** Settles when the last queued operation has settled; never rejects. */
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;

  /**
   * Queues `op`; it starts once every operation queued before it has settled. The returned promise
   * settles with op's own result or error; an operation that throws does not stop the ones after it.
   */
  run<T>(op: () => T | PromiseLike<T>): Promise<T> {
    this.queued++;
    const result = this.tail.then(op);
    this.tail = result.then(
      () => void this.queued--,
      () => void this.queued--,
    );
    return result;
  }

  /** Operations queued or running. */
  get size(): number {
    return this.queued;
  }

  /** Resolves once every operation queued so far has settled. */
  idle(): Promise<void> {
    return this.tail;
  }
}
