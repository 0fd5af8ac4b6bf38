// The job's own thread (see ./job): started by JobRunner, reporting through its parent port.
import { parentPort, workerData } from 'node:worker_threads';
import type { JobWorkerData } from '../common/protocol';
import { runJob } from './job';
import { lowerThreadPriority } from './threadPriority';

if (!parentPort) throw new Error('jobWorker must run in a worker thread');
lowerThreadPriority();
void runJob(workerData as JobWorkerData, parentPort).then((ok) => {
  if (!ok) process.exitCode = 1;
});
