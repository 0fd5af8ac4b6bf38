// In-host tests (run inside code-server's real extension host by test/vscode/harness.test.ts): activation,
// contributions, computing through the command, the worker threads, and pause / resume / cancel.
// The stored terms are always checked against the PARI/GP reference hashes, never against the code's output.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as vscode from 'vscode';
import type { TangentNumbersApi } from '../../src/extension/extension';
import type { JobState, JobView } from '../../src/common/protocol';
import { poll, referenceBfileHash, storedBfileHash, storedCount } from '../harness/references';

const EXTENSION_ID = 'tangent-numbers.tangent-numbers';
const COMMANDS = ['compute', 'pause', 'resume', 'cancel', 'showTerms', 'export', 'showLog'].map((c) => `tangentNumbers.${c}`);

async function api(): Promise<TangentNumbersApi> {
  const ext = vscode.extensions.getExtension<TangentNumbersApi>(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not installed in this extension host`);
  return ext.activate();
}

/** Resolves with the job's view once its state is one of `states` (checked now and on every change). */
function waitForState(a: TangentNumbersApi, states: JobState[], timeoutMs: number, what = `state ${states.join('/')}`): Promise<JobView> {
  if (states.includes(a.job.state)) return Promise.resolve(a.job);
  return new Promise<JobView>((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; the job is ${JSON.stringify(a.job)}`));
    }, timeoutMs);
    const sub = a.onDidChange((v) => {
      if (!states.includes(v.state)) return;
      clearTimeout(timer);
      sub.dispose();
      resolve(v);
    });
  });
}

/** job.json's intent fields (it also keeps what the job took: computeMs, runs). */
function intentOnly(j: { target: number; intent: string; startOver?: boolean } | undefined): { target: number; intent: string; startOver?: boolean } | undefined {
  return j && { target: j.target, intent: j.intent, ...(j.startOver !== undefined ? { startOver: j.startOver } : {}) };
}
function readIntent(a: TangentNumbersApi): { target: number; intent: string } {
  return JSON.parse(fs.readFileSync(path.join(path.dirname(a.stateDir), 'job.json'), 'utf8')) as { target: number; intent: string };
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU time (ms, user + system) of one thread of this process, from /proc (Linux; USER_HZ = 100). */
function threadCpuMs(tid: number): number {
  const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (fields 14 and 15 of stat)
}

function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function threadCount(): number {
  return fs.readdirSync('/proc/self/task').length;
}

/** Per-thread CPU times and thread lists come from /proc (Linux); elsewhere only the event loop is measured. */
const HAS_PROC = fs.existsSync('/proc/self/task');

suite('extension: activation and contributions', () => {
  test('activates by itself after start-up (onStartupFinished), without a command', async () => {
    const ext = vscode.extensions.getExtension<TangentNumbersApi>(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} is not installed in this extension host`);
    assert.deepEqual((ext.packageJSON as { activationEvents?: unknown }).activationEvents, ['onStartupFinished']);
    // Nothing in this suite has called activate() or a command yet: only the start-up event can activate it.
    await poll(() => ext.isActive, 'the extension to be activated by onStartupFinished', 30_000);
    const a = ext.exports;
    assert.ok(a, 'activate() returned the API');
    assert.equal(typeof a.job.state, 'string');
    assert.equal(path.basename(a.stateDir), 'state');
    assert.equal(typeof a.onDidChange, 'function');
  });

  test('registers all seven commands', async () => {
    await api();
    const all = new Set(await vscode.commands.getCommands(true));
    const missing = COMMANDS.filter((c) => !all.has(c));
    assert.deepEqual(missing, [], `commands not registered: ${missing.join(', ')}`);
  });

  test('contributes the settings with their defaults', () => {
    const c = vscode.workspace.getConfiguration('tangentNumbers');
    const defaults: Record<string, unknown> = {
      defaultCount: 1000,
      checkpointIntervalSeconds: 5,
      resumeOnStartup: true,
      workerMemoryLimitMb: 1024,
      threads: 0,
    };
    for (const [key, value] of Object.entries(defaults)) {
      const inspected = c.inspect(key);
      assert.ok(inspected, `setting tangentNumbers.${key} is not contributed`);
      assert.equal(inspected.defaultValue, value, `default of tangentNumbers.${key}`);
    }
  });
});

suite('extension: computing', function () {
  this.timeout(120_000);

  test('compute {count: 1000} ends done and stores the PARI/GP reference b-file (N = 1000)', async () => {
    const a = await api();
    const t0 = Date.now();
    await vscode.commands.executeCommand('tangentNumbers.compute', { count: 1000, mode: 'restart' });
    assert.equal(a.job.state, 'running', 'the job runs as soon as the command returns');
    assert.equal(a.job.target, 1000);
    const v = await waitForState(a, ['done', 'error'], 60_000);
    assert.equal(v.state, 'done', `job ended in ${v.state}: ${v.message ?? ''}`);
    assert.equal(v.done, 1000);
    const ms = Date.now() - t0;
    const stored = storedBfileHash(a.stateDir);
    const ref = referenceBfileHash(1000);
    assert.equal(stored.count, 1000, 'terms in the log');
    assert.equal(stored.bytes, ref.bytes, 'b-file size');
    assert.equal(stored.sha256, ref.sha256, 'b-file sha256 against PARI/GP');
    assert.deepEqual(intentOnly(readIntent(a)), { target: 1000, intent: 'run' });
    console.log(`    [metric] 1000 terms computed in ${ms} ms`);
  });

  test('computes in worker threads: the extension host thread stays responsive (event-loop p99) and idle', async () => {
    const a = await api();
    // The same measurement on the idle host first, to tell a loaded machine from a busy host thread.
    const idle = monitorEventLoopDelay({ resolution: 10 });
    idle.enable();
    await delay(1000);
    idle.disable();
    const idleP99 = idle.percentile(99) / 1e6;
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    const baseThreads = HAS_PROC ? threadCount() : 0;
    let maxThreads = baseThreads;
    const sampler = setInterval(() => (maxThreads = HAS_PROC ? Math.max(maxThreads, threadCount()) : 0), 50);
    const main0 = HAS_PROC ? threadCpuMs(process.pid) : 0;
    const proc0 = processCpuMs();
    const t0 = Date.now();
    histogram.enable();
    try {
      await vscode.commands.executeCommand('tangentNumbers.compute', { count: 4000, mode: 'restart' });
      const v = await waitForState(a, ['done', 'error'], 90_000);
      assert.equal(v.state, 'done', `job ended in ${v.state}: ${v.message ?? ''}`);
    } finally {
      histogram.disable();
      clearInterval(sampler);
    }
    const wallMs = Date.now() - t0;
    const mainMs = HAS_PROC ? threadCpuMs(process.pid) - main0 : NaN;
    const totalMs = processCpuMs() - proc0;
    // Node's histogram records the time between two ticks of its 10 ms timer, so the sampling interval is
    // included in every value (an idle loop shows p99 ≈ 10-11 ms); the assertion is on that raw value.
    const p99 = histogram.percentile(99) / 1e6;
    const p50 = histogram.percentile(50) / 1e6;
    const max = histogram.max / 1e6;
    console.log(
      `    [metric] 4000 terms in ${wallMs} ms; event-loop delay (monitorEventLoopDelay, resolution 10 ms, ${histogram.count} samples) ` +
        `p99 ${p99.toFixed(2)} ms, p50 ${p50.toFixed(2)} ms, max ${max.toFixed(2)} ms (idle before the job: p99 ${idleP99.toFixed(2)} ms); ` +
        `CPU: host thread ${mainMs} ms of ${totalMs.toFixed(0)} ms for the process; threads ${baseThreads} -> max ${maxThreads}`,
    );
    assert.ok(p99 <= 20, `event-loop delay p99 ${p99.toFixed(2)} ms > 20 ms during the job (idle p99 ${idleP99.toFixed(2)} ms; ` +
      `host thread CPU ${mainMs} ms of ${totalMs.toFixed(0)} ms): the extension host was not responsive`);
    if (HAS_PROC) {
      // The work (seconds of CPU for big-number arithmetic) happened on other threads of this process: the
      // job worker and the block workers, which exist only while the job runs.
      assert.ok(totalMs > 1000, `the process used only ${totalMs} ms of CPU for 4000 terms`);
      assert.ok(mainMs < 0.25 * totalMs, `the extension host thread used ${mainMs} ms of the ${totalMs} ms CPU: the job ran on it`);
      assert.ok(maxThreads >= baseThreads + 2, `no worker threads appeared (threads ${baseThreads} -> ${maxThreads})`);
      // ... and they end with the job (none is left idle behind).
      await poll(() => threadCount() <= baseThreads, `the worker threads to exit after the job (threads now ${threadCount()}, ${baseThreads} before)`, 10_000, 50);
    }
    const stored = storedBfileHash(a.stateDir);
    assert.equal(stored.sha256, referenceBfileHash(4000).sha256, 'b-file sha256 against PARI/GP (N = 4000)');
  });

  test('pause stops the worker and keeps the count; resume continues; cancel stops; resuming a cancelled job finishes it correctly', async () => {
    const a = await api();
    const lockFile = path.join(a.stateDir, 'LOCK');
    await vscode.commands.executeCommand('tangentNumbers.compute', { count: 4000, mode: 'restart' });
    assert.equal(a.job.state, 'running');
    await poll(() => a.job.done >= 300, 'the job to store 300 terms', 60_000, 20);
    assert.equal(a.job.state, 'running');
    assert.ok(fs.existsSync(lockFile), 'a running job holds the writer lock');

    await vscode.commands.executeCommand('tangentNumbers.pause');
    assert.equal(a.job.state, 'paused');
    assert.ok(a.job.done < 4000, `paused before the end (done ${a.job.done})`);
    assert.equal(readIntent(a).intent, 'paused', 'the intent "paused" is persisted');
    assert.ok(!fs.existsSync(lockFile), 'the paused worker released the state directory (it has exited)');
    const paused = await storedCount(a.stateDir);
    assert.equal(paused, a.job.done, 'the view shows the stored count');
    await delay(1500);
    assert.equal(await storedCount(a.stateDir), paused, 'nothing is computed while paused');
    assert.equal(a.job.state, 'paused');

    await vscode.commands.executeCommand('tangentNumbers.resume');
    assert.equal(a.job.state, 'running');
    assert.equal(readIntent(a).intent, 'run');
    await poll(async () => (await storedCount(a.stateDir)) > paused, 'the resumed job to store more terms', 60_000, 50);
    assert.ok(a.job.done >= paused, `resumed at ${a.job.done}, below the ${paused} stored terms`);

    await vscode.commands.executeCommand('tangentNumbers.cancel');
    assert.equal(a.job.state, 'cancelled');
    assert.equal(readIntent(a).intent, 'cancelled', 'the intent "cancelled" is persisted');
    assert.ok(!fs.existsSync(lockFile), 'the cancelled worker released the state directory');
    const cancelled = await storedCount(a.stateDir);
    assert.ok(cancelled >= paused && cancelled < 4000, `cancelled at ${cancelled}`);
    await delay(1000);
    assert.equal(await storedCount(a.stateDir), cancelled, 'nothing is computed after cancel');
    console.log(`    [metric] paused at ${paused}, cancelled at ${cancelled} of 4000`);

    // The interruptions left a consistent store: finishing the job gives the reference terms.
    await vscode.commands.executeCommand('tangentNumbers.resume');
    const v = await waitForState(a, ['done', 'error'], 90_000);
    assert.equal(v.state, 'done', `job ended in ${v.state}: ${v.message ?? ''}`);
    const stored = storedBfileHash(a.stateDir);
    assert.equal(stored.count, 4000);
    assert.equal(stored.sha256, referenceBfileHash(4000).sha256, 'b-file sha256 against PARI/GP (N = 4000)');
  });
});
