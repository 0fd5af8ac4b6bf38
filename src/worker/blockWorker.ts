// A block-computing thread: receives block ranges (optionally with the state of an interrupted
// run), returns exact decimal terms, and posts its resumable state while it works. It polls the
// job's control word after every term, so a pause or cancel stops it within one term, and its own
// split word, so at the end of a job an idle thread can take over the bottom of its block.
import { parentPort, workerData } from 'node:worker_threads';
import { BlockStopped, createBlockComputer } from '../engine/engine';
import { ControlSlot, ControlState, type BlockRequest, type BlockResult, type BlockWorkerData } from '../common/protocol';
import { lowerThreadPriority } from './threadPriority';
import { movableBuffers } from './transfer';

if (!parentPort) throw new Error('blockWorker must run in a worker thread');
lowerThreadPriority();
// The host starts this thread; the job worker drives it through its own port.
const data = workerData as BlockWorkerData;
const port = data.port;
const control = new Int32Array(data.control);
const splitRequest = new Int32Array(data.split);
const compute = createBlockComputer();

function post(msg: BlockResult): void {
  // A block's terms and its state (tens of MB for large n) move to the job thread instead of being
  // copied: each has an ArrayBuffer of its own.
  const buffers = msg.type === 'result' ? msg.digits : msg.type === 'state' || msg.type === 'split' ? [msg.state] : [];
  port.postMessage(msg, movableBuffers(buffers));
}

port.on('message', (req: BlockRequest) => {
  if (req.type === 'exit') {
    port.close();
    process.exit(0);
  }
  const started = performance.now();
  // Requests made before this block started are not for it: its starting state is already known.
  let answered = Atomics.load(control, ControlSlot.StateRequest);
  try {
    const digits = compute(req.from, req.to, {
      resume: req.resume,
      piBits: req.piBits,
      // A state that does not fit (another build's layout, say) only costs recomputing the block.
      onUnusableResume: (reason) => post({ type: 'log', id: req.id, message: `could not resume block ${req.from}..${req.to} (${reason}); recomputing it` }),
      onState: (state, ms) => post({ type: 'state', id: req.id, from: req.from, to: req.to, state, ms }),
      stateWanted: () => {
        const request = Atomics.load(control, ControlSlot.StateRequest);
        if (request === answered) return false;
        answered = request;
        return true;
      },
      shouldStop: () => Atomics.load(control, ControlSlot.State) !== ControlState.Run,
      // A request names its block, so one that arrives after that block ended is ignored by the next.
      splitWanted: () => Atomics.load(splitRequest, 0) === req.id && Atomics.compareExchange(splitRequest, 0, req.id, 0) === req.id,
      onSplit: (from, state) => post({ type: 'split', id: req.id, from, state }),
      onSplitDeclined: () => post({ type: 'noSplit', id: req.id }),
      onRestored: (restoreMs, firstTermMs) => post({ type: 'restored', id: req.id, restoreMs, firstTermMs }),
    });
    post({ type: 'result', id: req.id, from: req.from, digits, ms: performance.now() - started });
  } catch (e) {
    if (e instanceof BlockStopped) post({ type: 'stopped', id: req.id });
    else post({ type: 'error', id: req.id, message: e instanceof Error ? e.message : String(e) });
  }
});
