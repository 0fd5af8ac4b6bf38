// Kill loop: runs `tangent-numbers --count N --state DIR --out FILE` again and again, each run SIGKILLed at a
// seeded random moment between --min and --max of an uninterrupted run's time (default 5–30%), until one
// run finishes on its own. Reports the restarts it took, the progress each run made, and whether the
// b-file equals the reference. Used by `npm run bench` (progress per restart) and runnable alone:
//   node scripts/killLoop.mjs --count 4000 [--seed 1] [--min 0.05] [--max 0.3] [--base SECONDS] [--limit 200]
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(repo, 'dist/cli.js');

/** Mulberry32: a small seeded generator, so that a run's kill times can be repeated. */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One CLI run; killed with SIGKILL after `killAfterMs` unless it ends first. */
function run(args, killAfterMs) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, ms: performance.now() - t0, stderr });
    });
  });
}

/** Terms durable in DIR's log (its index holds 8 bytes a term; the store rebuilds it if it lies). */
function storedTerms(dir) {
  try {
    return Math.floor(fs.statSync(path.join(dir, 'terms.idx')).size / 8);
  } catch {
    return 0;
  }
}

/**
 * Runs the kill loop for `count` terms. `baseMs`: an uninterrupted run's time (measured first when omitted).
 * Returns { baseMs, restarts, finished, progress: terms durable after each killed run, intervals, sha256 }.
 */
export async function killLoop({ count, seed = 1, min = 0.05, max = 0.3, baseMs, limit = 200, extraArgs = [] }) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tn-killloop-'));
  try {
    const out = path.join(tmp, 'b.txt');
    if (baseMs === undefined) {
      const base = await run(['--count', String(count), '--state', path.join(tmp, 'base'), '--out', out, ...extraArgs]);
      if (base.code !== 0) throw new Error(`the uninterrupted run failed (${base.code}): ${base.stderr}`);
      baseMs = base.ms;
      fs.rmSync(path.join(tmp, 'base'), { recursive: true, force: true });
      fs.rmSync(out, { force: true });
    }
    const random = seededRandom(seed);
    const state = path.join(tmp, 'state');
    const args = ['--count', String(count), '--state', state, '--out', out, '--stats', ...extraArgs];
    const progress = [];
    const intervals = [];
    let restarts = 0;
    let finished = false;
    let last;
    while (restarts <= limit) {
      const killAt = baseMs * (min + (max - min) * random());
      last = await run(args, killAt);
      const chosen = /checkpoint interval (\S+) s/.exec(last.stderr);
      if (chosen) intervals.push(Number(chosen[1]));
      if (last.code === 0) {
        finished = true;
        break;
      }
      if (last.signal !== 'SIGKILL') throw new Error(`run ${restarts + 1} ended with ${last.code ?? last.signal}: ${last.stderr}`);
      progress.push(storedTerms(state));
      restarts++;
    }
    const sha256 = finished ? createHash('sha256').update(fs.readFileSync(out)).digest('hex') : undefined;
    return { count, seed, baseMs, restarts, finished, progress, intervals, sha256 };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const result = await killLoop({
    count: Number(arg('count', '4000')),
    seed: Number(arg('seed', '1')),
    min: Number(arg('min', '0.05')),
    max: Number(arg('max', '0.3')),
    baseMs: arg('base') === undefined ? undefined : Number(arg('base')) * 1000,
    limit: Number(arg('limit', '200')),
  });
  const hashes = JSON.parse(fs.readFileSync(path.join(repo, 'test/fixtures/reference-bfile-hashes.json'), 'utf8')).bfiles;
  const ref = hashes[String(result.count)]?.sha256;
  console.log(JSON.stringify({ ...result, matchesReference: ref === undefined ? null : result.sha256 === ref }));
}
