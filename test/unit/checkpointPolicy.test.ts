// The adaptive checkpoint interval (Young 1974, Daly 2006) and the state directory's history of runs it
// learns from. Reference values are worked out by hand from the published formulas, not by the code.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CheckpointPolicy, MIN_INTERVAL_MS, dalyIntervalMs, youngIntervalMs } from '../../src/worker/checkpointPolicy';
import { ESTIMATE_WINDOW_RUNS, RUNS_FILE, RunRecord, estimateFailures, parseRuns } from '../../src/store/runHistory';
import { tempDirs } from './testUtil';

const { roots, tmpDir } = tempDirs('tn-policy');

describe('checkpoint policy: Young/Daly interval from the history of unclean ends', () => {
  after(() => roots.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('Young: τ = √(2δM)', () => {
    // δ = 50 ms, M = 1 h: √(2 · 0.05 · 3600) = 18.97 s.
    assert.ok(Math.abs(youngIntervalMs(50, 3_600_000) - 18_973.67) < 0.01);
    assert.equal(youngIntervalMs(8, 100), 40);
  });

  it("Daly: τ = √(2δM)·(1 + ⅓√(δ/2M) + δ/18M) − δ for δ < 2M, else M", () => {
    // δ = 20 ms, M = 1000 ms: √40000 = 200; 1 + ⅓·√0.01 + 20/18000 = 1.034444…; 200 · 1.034444 − 20 = 186.889 ms.
    assert.ok(Math.abs(dalyIntervalMs(20, 1000) - 186.8889) < 0.001);
    // δ = 300 s, M = 24 h (Daly's own example scale): √(2·300·86400) = 7200 s; ·(1 + ⅓·√(300/172800) + 300/1555200) − 300 = 7001.39 s.
    assert.ok(Math.abs(dalyIntervalMs(300_000, 86_400_000) / 1000 - 7001.39) < 0.01);
    // δ ≥ 2M: checkpoint once per mean time between failures.
    assert.equal(dalyIntervalMs(500, 200), 200);
  });

  it("keeps the user's setting when no run ended uncleanly", () => {
    const policy = new CheckpointPolicy(5000, { runs: 6, uncleanEnds: 0, uptimeMs: 600_000, checkpointMs: 12 });
    const c = policy.choose(1000);
    assert.equal(c.ms, 5000);
    assert.equal(c.mtbfMs, null);
    assert.match(c.reason, /setting's 5\.0 s: no unclean end in the last 6 run/);
  });

  it('adapts to the mean time between failures, this run included, and never exceeds the setting', () => {
    // 10 unclean ends in 2 s of uptime, plus 0.5 s of this run: M = 250 ms; δ = 20 ms (measured by the
    // previous run): √10000 = 100; ·(1 + ⅓·√0.04 + 20/4500) − 20 = 100 · 1.071111 − 20 = 87.11 ms.
    const policy = new CheckpointPolicy(5000, { runs: 10, uncleanEnds: 10, uptimeMs: 2000, checkpointMs: 20 });
    const c = policy.choose(500);
    assert.equal(c.mtbfMs, 250);
    assert.equal(c.ms, 87);
    assert.match(c.reason, /10 unclean end\(s\) in the last 10 run\(s\) \(mean time between failures 250 ms\) and 20 ms a checkpoint/);
    // The longer this run survives, the rarer failures look: M grows with its uptime.
    assert.ok(policy.choose(60_000).ms > 5 * c.ms);
    // One crash in a long history: the optimum (√(2·20·3.6e6) ≈ 12 s) is beyond the setting, which caps it.
    const rare = new CheckpointPolicy(5000, { runs: 16, uncleanEnds: 1, uptimeMs: 3_600_000, checkpointMs: 20 }).choose(0);
    assert.equal(rare.ms, 5000);
    assert.match(rare.reason, /capped by the setting/);
  });

  it('has a floor, and learns the checkpoint cost as it measures it', () => {
    const policy = new CheckpointPolicy(5000, { runs: 16, uncleanEnds: 16, uptimeMs: 16, checkpointMs: undefined });
    const c = policy.choose(0);
    assert.equal(c.ms, MIN_INTERVAL_MS);
    assert.match(c.reason, /\(assumed\).*raised to the floor/);
    policy.recordCost(100);
    assert.equal(policy.checkpointCostMs, 100); // the first measurement replaces the assumption
    policy.recordCost(200);
    assert.equal(policy.checkpointCostMs, 130); // then a running average: 0.7 · 100 + 0.3 · 200
  });
});

describe('run history (RUNS)', () => {
  it('records each run in one fixed-width line, updated in place; an open line is an unclean end', () => {
    const dir = tmpDir('runs');
    const first = RunRecord.begin(dir, 1_000_000_000_000, 1_000_000_000_100);
    assert.deepEqual(first.past, []);
    first.alive(1_000_000_000_900);
    first.checkpointCost(12.5, 1_000_000_001_000);
    // Killed: no end written. The next run sees it open, alive for 1 s.
    const second = RunRecord.begin(dir, 1_000_000_002_000, 1_000_000_002_000);
    assert.deepEqual(second.past, [{ startedAt: 1_000_000_000_000, aliveAt: 1_000_000_001_000, clean: false, checkpointMs: 12.5 }]);
    second.endCleanly(1_000_000_005_000);
    const text = fs.readFileSync(path.join(dir, RUNS_FILE), 'latin1');
    assert.equal(text, 'run 1000000000000 1000000001000 - 000012500    \nrun 1000000002000 1000000005000 c 000000000    \n');
    assert.deepEqual(estimateFailures(parseRuns(text)), { runs: 2, uncleanEnds: 1, uptimeMs: 4000, checkpointMs: 12.5 });
  });

  it('skips damaged lines, overwrites a torn last line, and looks back over the recent runs only', () => {
    const dir = tmpDir('torn');
    const file = path.join(dir, RUNS_FILE);
    const good = 'run 1000000000000 1000000000500 c 000001000    \n';
    // A damaged line, then a torn one (a kill mid-write): neither counts; the next run's line replaces the torn one.
    fs.writeFileSync(file, good + 'run 10000x0000000 1000000000500 c 000001000    \n' + 'run 100000');
    const r = RunRecord.begin(dir, 1_000_000_009_000, 1_000_000_009_000);
    assert.equal(r.past.length, 1);
    r.close();
    assert.equal(fs.readFileSync(file, 'latin1').length, 3 * 48);
    // Only the last ESTIMATE_WINDOW_RUNS runs are looked at: old crashes are forgotten.
    const old = Array.from({ length: 20 }, (_, i) => ({ startedAt: i * 10, aliveAt: i * 10 + 5, clean: i >= 10, checkpointMs: 0 }));
    const e = estimateFailures(old);
    assert.equal(e.runs, ESTIMATE_WINDOW_RUNS);
    assert.equal(e.uncleanEnds, 10 - (20 - ESTIMATE_WINDOW_RUNS));
  });

  it('is compacted when it grows past twice the runs it keeps', () => {
    const dir = tmpDir('compact');
    const line = 'run 1000000000000 1000000000500 - 000001000    \n';
    fs.writeFileSync(path.join(dir, RUNS_FILE), line.repeat(200));
    const r = RunRecord.begin(dir, 1_000_000_009_000, 1_000_000_009_000);
    r.endCleanly(1_000_000_009_500);
    assert.equal(r.past.length, 64);
    assert.equal(fs.readFileSync(path.join(dir, RUNS_FILE), 'latin1').length, 65 * 48);
  });
});
