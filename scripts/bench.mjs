// Benchmark: `npm run bench` (optionally `-- --sizes 500,1000,2000,4000,8000,16000 --full-max 8000`).
// Sizes above --full-max (default 8000) measure only end to end and gp: the one-thread engine, the
// no-checkpoint run and the resume run would each cost minutes more there. Runs shorter than ~10 s are
// repeated (--repeat, default 3), ours and gp's in alternation, and the fastest kept: one short run is noise.
// For each N, in one run on this machine:
//   engine      T(1..N) in-process on one thread, verified (no disk), wall time
//   e2e         `tangent-numbers --count N --out b-file` from an empty state dir, default checkpoints (5 s)
//   e2e-none    the same without snapshots (--checkpoint-interval 0; appends are still fsynced): the overhead
//               baseline, run alternately with e2e; the overhead is the median of the pairs' differences
//   own cost    what the checkpoints cost as the e2e runs measure it (--stats): the job thread writing
//               snapshots and the block threads serializing their states, as a share of the run's CPU
//   resume      time from starting a job that is 90% done to its first new durable term
//   restore     a job stopped mid-block (SIGTERM at half its run) and resumed with --stats: each open block's
//               restore (its state parsed) and first term after it (cold thread, cached spectra rebuilt)
//   kill loop   (--kill-sizes, default 4000,8000) default settings, SIGKILL at seeded moments 5–30% of the
//               uninterrupted run apart until a run finishes: restarts, terms durable after each, intervals chosen
//   gp          PARI/GP writing the same b-file (bernvec), when `gp` is installed; ratio = e2e / gp
//   verify      `tangent-numbers --verify` on the b-file just written (fastest of --repeat), against computing it
//   Node floor  once per run: Node starting the CLI's block threads (empty) and exiting, the least time and
//               memory any run of ours can take on this platform, next to gp's
// Peak RSS of child processes is read from /proc/<pid>/status (VmHWM). Results: bench-results/.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const cli = path.join(repo, 'dist/cli.js');
const { TangentEngine } = require(path.join(repo, 'out/src/engine/engine.js'));
const { JobRunner } = require(path.join(repo, 'out/src/worker/runner.js'));
const { killLoop } = require(path.join(repo, 'out/test/harness/killLoop.js'));
const hashes = JSON.parse(fs.readFileSync(path.join(repo, 'test/fixtures/reference-bfile-hashes.json'), 'utf8')).bfiles;

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const sizes = arg('sizes', '500,1000,2000,4000').split(',').map(Number);
const fullMax = Number(arg('full-max', '8000'));
const repeat = Number(arg('repeat', '3'));
const killSizes = arg('kill-sizes', '4000,8000').split(',').filter(Boolean).map(Number);
const SHORT_JOB_PAIRS = 15;

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tn-bench-'));
const hasGp = spawnSync('gp', ['--version-short'], { encoding: 'utf8' }).status === 0;

/** Runs a command, returning wall seconds and peak RSS (MB) sampled from /proc. */
function measure(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    let peakKb = 0;
    const sample = () => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        /* exited */
      }
    };
    sample();
    const timer = setInterval(sample, 5);
    child.on('exit', (code) => {
      clearInterval(timer);
      const seconds = (performance.now() - t0) / 1000;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr}`));
      else {
        // `tangent-numbers --stats` ends with "stats {…}": the checkpoints' own cost, measured in the run.
        const stats = /^stats (\{.*\})$/m.exec(stderr);
        resolve({ seconds, peakMb: peakKb / 1024, stats: stats ? JSON.parse(stats[1]) : undefined });
      }
    });
  });
}

function sha256(file) {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function engineSeconds(n) {
  const t0 = performance.now();
  const engine = new TangentEngine(n);
  while (!engine.finished) engine.step();
  return (performance.now() - t0) / 1000;
}

async function resumeSeconds(n) {
  const dir = path.join(tmpRoot, `resume-${n}`);
  await measure(process.execPath, [cli, '--count', String(Math.floor(n * 0.9)), '--state', dir]);
  const t0 = performance.now();
  const runner = new JobRunner({ stateDir: dir, target: n, workerDir: path.join(repo, 'dist') });
  const first = await new Promise((resolve, reject) => {
    runner.onEvent((e) => {
      if (e.type === 'committed') resolve((performance.now() - t0) / 1000);
      if (e.type === 'failed') reject(new Error(e.message));
    });
  });
  runner.pause();
  await runner.outcome;
  return first;
}

/**
 * What restoring open blocks costs: a job stopped by SIGTERM at half its uninterrupted time (it checkpoints its
 * blocks in progress), then resumed with --stats, which lists each restored block's restore and first-term ms.
 */
async function restoreCost(n, uninterruptedS) {
  const dir = path.join(tmpRoot, `restore-${n}`);
  fs.rmSync(dir, { recursive: true, force: true });
  await new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, '--count', String(n), '--state', dir], { stdio: 'ignore' });
    setTimeout(() => child.kill('SIGTERM'), uninterruptedS * 500);
    child.on('exit', resolve);
  });
  const run = await measure(process.execPath, [cli, '--count', String(n), '--state', dir, '--stats']);
  fs.rmSync(dir, { recursive: true, force: true });
  const st = run.stats ?? {};
  return { blocks: st.restoredBlocks ?? 0, restoreMs: st.blockRestoreMs ?? [], firstTermMs: st.blockFirstTermMs ?? [], runS: run.seconds };
}

async function gpSeconds(n, out) {
  const script = path.join(tmpRoot, `b${n}.gp`);
  fs.writeFileSync(
    script,
    `N=${n}; B=bernvec(N); f=fileopen("${out}","w"); for(n=1,N, filewrite(f, Str(n, " ", (-1)^(n-1)*4^n*(4^n-1)*B[n+1]/(2*n)))); fileclose(f);\n`,
  );
  return measure('gp', ['-q', '-s', '4G', script], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Node's own floor, measured like our runs: a process that starts as many (empty) worker threads as the
 * CLI's job and exits once they are up. The fastest and the smallest of `repeat` runs.
 */
async function nodeFloor(threads) {
  const code = `const { Worker } = require('node:worker_threads'); let up = 0;
    for (let i = 0; i < ${threads}; i++) new Worker('', { eval: true }).on('online', () => { if (++up === ${threads}) process.exit(0); });`;
  const runs = [];
  for (let i = 0; i < repeat; i++) runs.push(await measure(process.execPath, ['-e', code]));
  return { threads, seconds: Math.min(...runs.map((r) => r.seconds)), peakMb: Math.min(...runs.map((r) => r.peakMb)) };
}

const rows = [];
console.log(`Tangent numbers benchmark — ${os.cpus().length} cores (${os.cpus()[0].model}), Node ${process.version}${hasGp ? '' : ', gp not installed'}`);
// The CLI's default block threads (see JobRunner): min(2, cores).
const floor = await nodeFloor(Math.min(2, os.availableParallelism()));
console.log(`Node floor: start ${floor.threads} empty worker threads and exit: ${floor.seconds.toFixed(2)} s, peak RSS ${floor.peakMb.toFixed(0)} MB`);
for (const n of sizes) {
  const row = { n };
  const full = n <= fullMax;
  if (full) row.engineS = engineSeconds(n);
  const outA = path.join(tmpRoot, `ours-${n}.txt`);
  const fresh = (name) => {
    fs.rmSync(path.join(tmpRoot, name), { recursive: true, force: true });
    return path.join(tmpRoot, name);
  };
  const e2e = () => measure(process.execPath, [cli, '--count', String(n), '--state', fresh(`e2e-${n}`), '--out', outA, '--stats']);
  const none = () => measure(process.execPath, [cli, '--count', String(n), '--state', fresh(`none-${n}`), '--out', path.join(tmpRoot, `none-${n}.txt`), '--checkpoint-interval', '0']);
  const outG = path.join(tmpRoot, `gp-${n}.txt`);
  // Rounds of our run, the no-checkpoint run (sizes measured in full) and gp's run, in alternation, so
  // that a drift of this machine's speed (large, and slow) hits all three alike: a comparison of runs
  // taken minutes apart mostly measured the machine. The times are the fastest of the first `repeat`
  // rounds, ours and gp's alike. Jobs under 2 s run at least 15 rounds of ours for the checkpoint
  // overhead, the median of the rounds' differences: their overhead (two snapshots, ~10 ms) is a few
  // percent of the run, as is the noise, and the median of 5 differences scattered by ±5%.
  const rounds = [];
  const wanted = () => (rounds[0].ours.seconds >= 10 ? 1 : full && rounds[0].ours.seconds < 2 ? Math.max(repeat, SHORT_JOB_PAIRS) : repeat);
  for (let i = 0; i === 0 || i < wanted(); i++) {
    const round = { ours: await e2e() };
    if (full) round.none = await none();
    if (hasGp && i < repeat) round.gp = await gpSeconds(n, outG);
    rounds.push(round);
  }
  const timed = rounds.slice(0, repeat);
  row.e2eS = Math.min(...timed.map((r) => r.ours.seconds));
  row.peakMb = Math.max(...rounds.map((r) => r.ours.peakMb));
  if (full) {
    row.noneS = Math.min(...timed.map((r) => r.none.seconds));
    const overheads = rounds.map((r) => (100 * (r.ours.seconds - r.none.seconds)) / r.none.seconds).sort((p, q) => p - q);
    row.overheadPct = overheads[Math.floor((overheads.length - 1) / 2)];
    // Measured inside the runs (--stats): the job thread's time writing snapshots and the block threads'
    // serializing their states, as a share of the run's CPU time (the median run).
    const direct = rounds.map((r) => r.ours.stats).filter((st) => st).map((st) => ({ ms: st.checkpointMs + st.blockStateMs, pct: (100 * (st.checkpointMs + st.blockStateMs)) / st.cpuMs, count: st.checkpoints }));
    if (direct.length > 0) {
      const mid = [...direct].sort((p, q) => p.pct - q.pct)[Math.floor((direct.length - 1) / 2)];
      row.checkpointDirect = { ms: mid.ms, pctOfCpu: mid.pct, snapshots: mid.count };
    }
    row.resumeS = await resumeSeconds(n);
    row.restore = await restoreCost(n, row.e2eS);
    // The interval a crash-free run keeps (the setting's), as its --stats say.
    row.intervalCrashFree = rounds.map((r) => r.ours.stats?.checkpointIntervalMs).find((v) => v !== undefined);
  }
  if (hashes[String(n)]) row.matchesReference = sha256(outA) === hashes[String(n)].sha256;
  // Verifying the b-file just written against the residues (tangent-numbers --verify), against computing it.
  const verifyRuns = [];
  for (let i = 0; i < repeat; i++) verifyRuns.push(await measure(process.execPath, [cli, '--verify', outA]));
  row.verifyS = Math.min(...verifyRuns.map((r) => r.seconds));
  row.verifyPeakMb = Math.max(...verifyRuns.map((r) => r.peakMb));
  if (hasGp) {
    row.gpS = Math.min(...timed.map((r) => r.gp.seconds));
    row.gpPeakMb = Math.max(...timed.map((r) => r.gp.peakMb));
    row.ratio = row.e2eS / row.gpS;
    // The same comparison round by round (each ratio of two runs a minute apart at most).
    const ratios = timed.map((r) => r.ours.seconds / r.gp.seconds).sort((p, q) => p - q);
    row.ratioMedianOfRounds = ratios[Math.floor((ratios.length - 1) / 2)];
    row.sameAsGp = sha256(outA) === sha256(outG);
  }
  rows.push(row);
  console.log(JSON.stringify(row));
  fs.rmSync(path.join(tmpRoot, `e2e-${n}`), { recursive: true, force: true });
  fs.rmSync(path.join(tmpRoot, `none-${n}`), { recursive: true, force: true });
}

// Kill loops: seeded, default settings; the uninterrupted time they scale their kills by is measured by each.
const kills = [];
for (const n of killSizes) {
  const r = await killLoop({ count: n, seed: 1, limit: n <= 4000 ? 100 : 40 });
  const steps = r.progress.map((p, i) => p - (i ? r.progress[i - 1] : 0));
  const sorted = [...r.intervals].sort((a, b) => a - b);
  const k = {
    n,
    baseS: r.baseMs / 1000,
    restarts: r.restarts,
    finished: r.finished,
    matchesReference: hashes[String(n)] ? r.sha256 === hashes[String(n)].sha256 : undefined,
    termsPerRestart: r.restarts ? (r.progress[r.progress.length - 1] ?? 0) / r.restarts : undefined,
    runsWithNewTerms: steps.filter((d) => d > 0).length,
    intervalMedianS: sorted.length ? sorted[Math.floor(sorted.length / 2)] : undefined,
    intervalRangeS: sorted.length ? [sorted[0], sorted[sorted.length - 1]] : undefined,
    loopS: r.loopMs / 1000,
  };
  kills.push(k);
  console.log(JSON.stringify(k));
}

const f = (x, d = 2) => (x === undefined ? '—' : x.toFixed(d));
const lines = [
  '| N | engine (1 thread) s | end-to-end s | no checkpoints s | checkpoint overhead (A/B) | checkpoints, measured in the run | resume → first new term s | peak RSS MB | PARI/GP s | PARI/GP RSS MB | ratio ours/gp | growth per doubling (ours / gp) | b-file = reference |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
];
rows.forEach((r, i) => {
  const prev = rows[i - 1];
  const growth = prev && r.n === 2 * prev.n ? `${f(r.e2eS / prev.e2eS, 1)}× / ${r.gpS && prev.gpS ? f(r.gpS / prev.gpS, 1) + '×' : '—'}` : '—';
  const ok = r.matchesReference === undefined ? (r.sameAsGp === undefined ? '—' : r.sameAsGp ? 'same as gp' : 'DIFFERS') : r.matchesReference ? 'yes' : 'NO';
  const direct = r.checkpointDirect ? `${r.checkpointDirect.snapshots} snapshots, ${f(r.checkpointDirect.ms, 0)} ms = ${f(r.checkpointDirect.pctOfCpu, 1)}% of CPU` : '—';
  lines.push(`| ${r.n} | ${f(r.engineS)} | ${f(r.e2eS)} | ${f(r.noneS)} | ${r.overheadPct === undefined ? '—' : f(r.overheadPct, 1) + '%'} | ${direct} | ${f(r.resumeS)} | ${f(r.peakMb, 0)} | ${f(r.gpS)} | ${f(r.gpPeakMb, 0)} | ${f(r.ratio)} | ${growth} | ${ok} |`);
});
lines.push('', `Node's floor in this run (start ${floor.threads} empty worker threads, exit): ${f(floor.seconds)} s, peak RSS ${f(floor.peakMb, 0)} MB.`);
lines.push('', '| N | verify the b-file s | compute it (end to end) s | verify / compute | verify peak RSS MB |', '|---|---|---|---|---|');
for (const r of rows) lines.push(`| ${r.n} | ${f(r.verifyS)} | ${f(r.e2eS)} | ${f(r.verifyS / r.e2eS)} | ${f(r.verifyPeakMb, 0)} |`);
const ms = (xs) => (xs.length ? xs.map((x) => x.toFixed(0)).join(', ') : '—');
lines.push('', '| N | crash-free interval (s) | open blocks restored | restore ms (each) | first term after it ms (each) |', '|---|---|---|---|---|');
for (const r of rows) if (r.restore) lines.push(`| ${r.n} | ${r.intervalCrashFree === undefined ? '—' : f(r.intervalCrashFree / 1000, 1)} | ${r.restore.blocks} | ${ms(r.restore.restoreMs)} | ${ms(r.restore.firstTermMs)} |`);
if (kills.length) {
  lines.push('', '| kill loop N | uninterrupted s | restarts to finish | b-file = reference | terms committed per restart | runs that committed terms | interval chosen, median (range) s | loop s |', '|---|---|---|---|---|---|---|---|');
  for (const k of kills) {
    const ok = k.matchesReference === undefined ? '—' : k.matchesReference ? 'yes' : 'NO';
    const range = k.intervalRangeS ? `${k.intervalMedianS} (${k.intervalRangeS[0]}–${k.intervalRangeS[1]})` : '—';
    lines.push(`| ${k.n} | ${f(k.baseS)} | ${k.finished ? k.restarts : `not finished after ${k.restarts}`} | ${ok} | ${f(k.termsPerRestart, 0)} | ${k.runsWithNewTerms} of ${k.restarts} | ${range} | ${f(k.loopS, 0)} |`);
  }
}
const table = lines.join('\n');
console.log('\n' + table);
const outDir = path.join(repo, 'bench-results');
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'bench.md'), table + '\n');
fs.writeFileSync(path.join(outDir, 'bench.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, cpu: os.cpus()[0].model, cores: os.cpus().length, nodeFloor: floor, rows, killLoops: kills }, null, 2));
fs.rmSync(tmpRoot, { recursive: true, force: true });
