// In-host: the extension host stays responsive while a 4000-term job runs with the terms view open
// (the outer test opens the view and checks it shows rows before it runs this file through the bridge).
// Not a *.test.js file, so the generic in-host runner does not load it: it needs the outer test's set-up.
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as vscode from 'vscode';
import { extensionApi, waitForJob } from '../harness/inHost';

/** Event-loop delay budget of the extension host while the job runs (p99, ms). */
const P99_BUDGET_MS = 20;
/** Runs of the job at most: the machine may be shared (2 CPUs, other suites running at the same time). */
const MAX_RUNS = 2;

interface RunResult {
  jobMs: number;
  jobUpdates: number;
  loadAverage: number[];
  /** monitorEventLoopDelay's default resolution (10 ms): each sample is the interval between two ticks, so
   *  10 ms when the loop is idle. The asserted number is its p99. */
  resolution10ms: { samples: number; p50: number; p90: number; p99: number; max: number };
  /** 1 ms resolution: finer, but its 10× more samples dilute rare stalls in the percentiles. */
  resolution1ms: { samples: number; p50: number; p99: number; max: number };
  /** Where the loop stalled > 50 ms (time into the job, length, terms done then). */
  stallsOver50ms: { atMs: number; ms: number; done: number }[];
}

async function measureOneRun(): Promise<RunResult> {
  const api = await extensionApi();
  const coarse = monitorEventLoopDelay({ resolution: 10 });
  const fine = monitorEventLoopDelay({ resolution: 1 });
  let updates = 0;
  const sub = api.onDidChange(() => updates++);
  const t0 = performance.now();
  const stalls: RunResult['stallsOver50ms'] = [];
  let last = performance.now();
  const probe = setInterval(() => {
    const now = performance.now();
    if (now - last > 50) stalls.push({ atMs: Math.round(last - t0), ms: Math.round(now - last), done: api.job.done });
    last = now;
  }, 5);
  coarse.enable();
  fine.enable();
  try {
    await vscode.commands.executeCommand('tangentNumbers.compute', { count: 4000, mode: 'restart' });
    await waitForJob((j) => j.state === 'done' && j.done === 4000 && j.target === 4000, 170_000);
  } finally {
    coarse.disable();
    fine.disable();
    clearInterval(probe);
    sub.dispose();
  }
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  return {
    jobMs: Math.round(performance.now() - t0),
    jobUpdates: updates,
    loadAverage: os.loadavg().map((x) => Math.round(x * 10) / 10),
    resolution10ms: { samples: coarse.count, p50: ms(coarse.percentile(50)), p90: ms(coarse.percentile(90)), p99: ms(coarse.percentile(99)), max: ms(coarse.max) },
    resolution1ms: { samples: fine.count, p50: ms(fine.percentile(50)), p99: ms(fine.percentile(99)), max: ms(fine.max) },
    stallsOver50ms: stalls,
  };
}

suite('terms view (in-host): extension host responsiveness', function () {
  test(`event-loop delay p99 ≤ ${P99_BUDGET_MS} ms while a 4000-term job runs with the view open`, async function () {
    this.timeout(MAX_RUNS * 180_000);
    await vscode.commands.executeCommand('tangentNumbers.showTerms');
    const runs: RunResult[] = [];
    do runs.push(await measureOneRun());
    while (runs.at(-1)!.resolution10ms.p99 > P99_BUDGET_MS && runs.length < MAX_RUNS);
    const best = Math.min(...runs.map((r) => r.resolution10ms.p99));
    // The outer test collects this line into test-artifacts/perf.json.
    console.log(`TN-PERF eventLoop ${JSON.stringify({ budgetMs: P99_BUDGET_MS, asserted: 'resolution10ms.p99 of the best of at most 2 runs', bestP99Ms: best, cpus: os.cpus().length, runs })}`);
    for (const r of runs) assert.ok(r.resolution10ms.samples > 200, `too few samples (${r.resolution10ms.samples}) to judge`);
    assert.ok(best <= P99_BUDGET_MS, `event-loop delay p99 ${runs.map((r) => r.resolution10ms.p99).join(' / ')} ms > ${P99_BUDGET_MS} ms in each run: ${JSON.stringify(runs)}`);
  });
});
