// Runs the calling worker thread at a lower CPU priority, so that when the computation and the editor
// (extension host, renderer, server) compete for the cores, the editor wins; idle cores are still used fully.
// Linux only: there setpriority() on a thread id changes just that thread. Elsewhere a no-op.
import * as fs from 'node:fs';
import * as os from 'node:os';

export const WORKER_NICENESS = 10;

export function lowerThreadPriority(niceness = WORKER_NICENESS): void {
  if (process.platform !== 'linux') return;
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    // Never the main thread: its id is the process id, and renicing it would slow the whole host.
    if (Number.isInteger(tid) && tid > 0 && tid !== process.pid) os.setPriority(tid, niceness);
  } catch {
    // Best effort: no /proc, or not permitted.
  }
}
