// A block-computing thread: receives block ranges, returns exact decimal terms. Stateless apart
// from its π cache, so any number of them can run side by side and be killed at any time.
import { parentPort } from 'node:worker_threads';
import { createBlockComputer } from '../engine/engine';
import type { BlockRequest, BlockResult } from '../shared/protocol';

const compute = createBlockComputer();
if (!parentPort) throw new Error('blockWorker must run in a worker thread');
const port = parentPort;

port.on('message', (req: BlockRequest) => {
  const started = performance.now();
  let reply: BlockResult;
  try {
    const digits = compute(req.from, req.to);
    reply = { type: 'result', id: req.id, from: req.from, digits, ms: performance.now() - started };
  } catch (e) {
    reply = { type: 'error', id: req.id, message: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(reply);
});
