// Kill loop: runs `tangent-numbers --count N --state DIR --out FILE` again and again, each run SIGKILLed at a
// seeded random moment between `min` and `max` of an uninterrupted run's time (default 5–30%), until one
// run finishes on its own. Reports the restarts it took, the terms durable after each killed run, the
// checkpoint intervals the runs chose, and the b-file's hash. Used by the fault tests, by `npm run bench`
// (progress per restart) and from the command line: node out/test/harness/killLoop.js --count 4000 [--seed 1]
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mulberry32 } from '../unit/testUtil';

const REPO = path.resolve(__dirname, '../../..');
const CLI = path.join(REPO, 'dist/cli.js');

export interface KillLoopOptions {
  count: number;
  seed?: number;
  /** Kill window, as fractions of an uninterrupted run's time. */
  min?: number;
  max?: number;
  /** An uninterrupted run's time (ms); measured first when omitted. */
  baseMs?: number;
  /** The kill window is taken from at least this run time (ms): see killLoop.test.ts. */
  minBaseMs?: number;
  /** Give up after this many restarts. */
  limit?: number;
  extraArgs?: string[];
}

export interface KillLoopResult {
  count: number;
  seed: number;
  /** The uninterrupted run's time (ms) the kill window was taken from (at least minBaseMs). */
  baseMs: number;
  /** The uninterrupted run's time as measured (or given). */
  measuredBaseMs: number;
  restarts: number;
  finished: boolean;
  /** Terms durable in the log after each killed run. */
  progress: number[];
  /** The checkpoint intervals (s) the runs that lived long enough to say chose. */
  intervals: number[];
  sha256?: string;
  /** Wall time of the whole loop (ms), the first uninterrupted run excluded. */
  loopMs: number;
}

interface RunEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
  stderr: string;
}

/** One CLI run; SIGKILLed after `killAfterMs` unless it ends first. */
function run(args: string[], killAfterMs?: number): Promise<RunEnd> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, ms: performance.now() - t0, stderr });
    });
  });
}

/** Terms durable in DIR's log, from its index (8 bytes a term; the store rebuilds the index if it lies). */
function storedTerms(dir: string): number {
  try {
    return Math.floor(fs.statSync(path.join(dir, 'terms.idx')).size / 8);
  } catch {
    return 0;
  }
}

export async function killLoop(options: KillLoopOptions): Promise<KillLoopResult> {
  const { count, seed = 1, min = 0.05, max = 0.3, limit = 200, extraArgs = [] } = options;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tn-killloop-'));
  try {
    const out = path.join(tmp, 'b.txt');
    let baseMs = options.baseMs;
    if (baseMs === undefined) {
      const base = await run(['--count', String(count), '--state', path.join(tmp, 'base'), '--out', out, ...extraArgs]);
      if (base.code !== 0) throw new Error(`the uninterrupted run failed (${base.code}): ${base.stderr}`);
      baseMs = base.ms;
      fs.rmSync(path.join(tmp, 'base'), { recursive: true, force: true });
      fs.rmSync(out, { force: true });
    }
    const measuredBaseMs = baseMs;
    baseMs = Math.max(baseMs, options.minBaseMs ?? 0);
    const random = mulberry32(seed);
    const state = path.join(tmp, 'state');
    const args = ['--count', String(count), '--state', state, '--out', out, ...extraArgs];
    const progress: number[] = [];
    const intervals: number[] = [];
    const t0 = performance.now();
    let restarts = 0;
    let finished = false;
    while (restarts <= limit) {
      const end = await run(args, baseMs * (min + (max - min) * random()));
      for (const m of end.stderr.matchAll(/checkpoint interval ([\d.]+) s/g)) intervals.push(Number(m[1]));
      if (end.code === 0) {
        finished = true;
        break;
      }
      if (end.signal !== 'SIGKILL') throw new Error(`run ${restarts + 1} ended with ${end.code ?? end.signal}: ${end.stderr}`);
      progress.push(storedTerms(state));
      restarts++;
    }
    const sha256 = finished ? createHash('sha256').update(fs.readFileSync(out)).digest('hex') : undefined;
    return { count, seed, baseMs, measuredBaseMs, restarts, finished, progress, intervals, sha256, loopMs: performance.now() - t0 };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const arg = (name: string, fallback: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const base = arg('base', '');
  void killLoop({
    count: Number(arg('count', '4000')),
    seed: Number(arg('seed', '1')),
    min: Number(arg('min', '0.05')),
    max: Number(arg('max', '0.3')),
    baseMs: base ? Number(base) * 1000 : undefined,
    limit: Number(arg('limit', '200')),
  }).then((r) => console.log(JSON.stringify(r)));
}
