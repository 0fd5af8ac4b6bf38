// The CLI as a user runs it: a child process, killed and resumed, fed bad input.
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StateDir } from '../../src/store';
import { termsInCheckpointedBlocks } from '../../src/worker/jobState';
import { REFERENCE_BFILE, REFERENCE_HASHES } from './reference';
import { mulberry32, tempDirs } from './testUtil';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');

// The kill tests' directories hold ~100 MB logs each: removed after the suite.
const { roots, tmpDir } = tempDirs('tn-cli');

function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'latin1', timeout: 120000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function storedCount(dir: string): number {
  const s = StateDir.open(dir, { mode: 'read' });
  try {
    return s.count;
  } finally {
    s.close();
  }
}

/**
 * Terms whose work is durable: those in the log plus those finished inside the checkpointed blocks a
 * resume continues (the ones beyond the log: a snapshot can predate the commit of its first block).
 */
function durableProgress(dir: string): { progress: number; account: string } {
  const s = StateDir.open(dir, { mode: 'read' });
  try {
    const snap = s.latestSnapshot;
    const progress = s.count + (snap && snap.header.position <= s.count ? termsInCheckpointedBlocks(snap.payload, s.count) : 0);
    const account = snap ? `${s.count} stored, snapshot ${snap.header.generation} at ${snap.header.position} holding ${termsInCheckpointedBlocks(snap.payload, s.count)} block terms beyond the log (${String(snap.header.blocks)})` : `${s.count} stored, no snapshot`;
    return { progress, account };
  } finally {
    s.close();
  }
}


function waitForStderr(child: ChildProcess, re: RegExp, timeoutMs = 30000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re} in: ${text}`)), timeoutMs);
    child.stderr!.on('data', (d: Buffer) => {
      text += d.toString();
      if (re.test(text)) {
        clearTimeout(timer);
        resolve(text);
      }
    });
  });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/**
 * Runs the CLI again and again, SIGKILLing it at seeded random moments: every fifth kill during start-up
 * (open, recovery, lock takeover), the others at a random moment of the compute phase, measured from when
 * the job says it is computing. Checks that stored terms and durable progress never go back, that
 * progress grows over every 10 kills, that every checkpointed block state is usable, and that the final
 * b-file is PARI/GP's.
 */
async function killRepeatedly(o: { count: number; threads: number; kills: number; seed: number; killAfterMs: [number, number]; stopWhenDone?: boolean }): Promise<void> {
  const { count: n, seed } = o;
  const random = mulberry32(seed);
  const dir = tmpDir('kill');
  const state = path.join(dir, 'state');
  const out = path.join(dir, `b${n}.txt`);
  const counts: number[] = [];
  const progress: number[] = [];
  const accounts: string[] = [];
  const lostWork: string[] = [];
  const unusableStates: string[] = [];
  let kills = 0;
  for (let run = 0; kills < o.kills && run < 2 * o.kills; run++) {
    const child = spawn(process.execPath, [CLI, '--count', String(n), '--state', state, '--out', out, '--checkpoint-interval', '0.2', '--threads', String(o.threads)], { stdio: ['ignore', 'ignore', 'pipe'] });
    const duringStartup = run % 5 === 0;
    const [soonest, latest] = o.killAfterMs;
    const delay = duringStartup ? Math.floor(random() * 250) : soonest + Math.floor(random() * (latest - soonest));
    const ready = duringStartup ? Promise.resolve() : waitForStderr(child, /computing \d+ terms|resuming at term|already computed/, 30000).then(() => undefined);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = ready.then(() => new Promise<null>((r) => setTimeout(() => r(null), delay)));
    const result = await Promise.race([exited(child), timer]);
    if (result === null) {
      child.kill('SIGKILL');
      await exited(child);
      kills++;
    } else {
      assert.equal(result.code, 0, `run ${run} (seed ${seed}) exited by itself with ${result.code}`);
    }
    const exists = fs.existsSync(path.join(state, 'STATE'));
    const count = exists ? storedCount(state) : 0;
    if (counts.length) assert.ok(count >= counts[counts.length - 1], `seed ${seed}: the stored count went back from ${counts[counts.length - 1]} to ${count}`);
    counts.push(count);
    const durable = exists ? durableProgress(state) : { progress: 0, account: 'no state' };
    progress.push(durable.progress);
    accounts.push(durable.account);
    if (/could not resume block/.test(stderr)) unusableStates.push(`run ${run}: ${stderr}`);
    if (progress.length > 1 && progress[progress.length - 1] < progress[progress.length - 2]) {
      // Checkpointed work was lost: keep the run's own account for the failure message.
      lostWork.push(`run ${run}: ${accounts[accounts.length - 2]} -> ${durable.account}; stderr: ${stderr.replace(/\s*\n\s*/g, ' | ')}`);
    }
    if (o.stopWhenDone && count === n) break;
  }
  if (!o.stopWhenDone) assert.equal(kills, o.kills, `seed ${seed}: ${o.kills} kills`);
  assert.ok(kills >= Math.min(o.kills, 5), `seed ${seed}: only ${kills} kills`);
  const final = runCli(['--count', String(n), '--state', state, '--out', out]);
  assert.equal(final.status, 0, final.stderr);
  assert.match(final.stderr, new RegExp(`resuming at term \\d+ of ${n}|all ${n} terms are already computed`));
  const text = fs.readFileSync(out);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'the killed runs left no temporary output files behind');
  assert.equal(text.length, REFERENCE_HASHES[String(n)].bytes);
  assert.equal(createHash('sha256').update(text).digest('hex'), REFERENCE_HASHES[String(n)].sha256, `seed ${seed}`);
  // Killed again and again, the job still moved forward: blocks in progress are checkpointed
  // (their finished terms included), so durable progress grows even when no run lives long
  // enough to finish a whole block.
  for (let i = 10; i < progress.length; i++) {
    if (progress[i - 10] < n) assert.ok(progress[i] > progress[i - 10], `seed ${seed}: no durable progress over 10 consecutive kills: ${progress.join(',')}\n${lostWork.join('\n')}`);
  }
  assert.deepEqual(lostWork, [], `seed ${seed}: checkpointed work went back`);
  assert.deepEqual(unusableStates, [], `seed ${seed}: every checkpointed block state was usable`);
  console.log(`      durable progress after each kill (seed ${seed}, ${o.threads} thread(s), ${kills} kills): ${progress.join(',')}`);
}

describe('CLI', function () {
  before(function () {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  });
  after(() => roots.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it("a killed run's temporary output file is removed by the next run; other processes' and hosts' are kept", async function () {
    this.timeout(120000);
    const dir = tmpDir('temps');
    const out = path.join(dir, 'b.txt');
    const host = os.hostname().replace(/[^A-Za-z0-9-]/g, '_') || 'host';
    const ours = (name: string) => name.startsWith('.b.txt.') && name.endsWith('.tmp');
    const child = spawn(process.execPath, [CLI, '--count', '6000', '--state', path.join(dir, 'state'), '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    await waitForStderr(child, /computing 6000 terms/);
    await new Promise((r) => setTimeout(r, 400)); // the output file is being written by now
    child.kill('SIGKILL');
    await exited(child);
    const left = fs.readdirSync(dir).filter(ours);
    assert.equal(left.length, 1, `the killed run left its temporary file: ${fs.readdirSync(dir).join(', ')}`);
    assert.match(left[0], new RegExp(`^\\.b\\.txt\\.${host}\\.${child.pid}\\.[0-9a-z]+\\.tmp$`));
    // A live process's temporary file (this test's own pid) and another host's are not ours to remove.
    const live = `.b.txt.${host}.${process.pid}.x1.tmp`;
    const otherHost = `.b.txt.some-other-host.${child.pid}.x2.tmp`;
    for (const name of [live, otherHost]) fs.writeFileSync(path.join(dir, name), 'in progress elsewhere');
    const r = runCli(['--count', '6000', '--state', path.join(dir, 'state'), '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /removed 1 temporary file\(s\) that killed runs had left next to/);
    assert.deepEqual(fs.readdirSync(dir).filter(ours).sort(), [live, otherHost].sort());
    assert.equal(fs.readFileSync(out, 'latin1').slice(0, REFERENCE_BFILE.length), REFERENCE_BFILE);
  });

  it('writes the b-file of T(1..500) byte-identical to the OEIS reference', () => {
    const dir = tmpDir('ref');
    const out = path.join(dir, 'b.txt');
    const r = runCli(['--count', '500', '--state', path.join(dir, 'state'), '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.readFileSync(out, 'latin1'), REFERENCE_BFILE);
    assert.match(r.stderr, /computing 500 terms/);
  });

  it('--stats ends with what the run and its checkpoints cost: snapshots with blocks in progress, or none', () => {
    const dir = tmpDir('stats');
    const statsOf = (stderr: string) => {
      const m = /^stats (\{.*\})$/m.exec(stderr);
      assert.ok(m, stderr);
      return JSON.parse(m[1]) as Record<string, number>;
    };
    // Snapshots every 0.2 s: the running blocks serialize their states for them.
    const r = runCli(['--count', '3000', '--state', path.join(dir, 'often'), '--out', path.join(dir, 'b.txt'), '--checkpoint-interval', '0.2', '--stats']);
    assert.equal(r.status, 0, r.stderr);
    const often = statsOf(r.stderr);
    assert.ok(often.checkpoints >= 3, JSON.stringify(often));
    assert.ok(often.checkpointMs > 0 && often.blockStateMs > 0 && often.snapshotBytes > 0, JSON.stringify(often));
    assert.ok(often.cpuMs > often.checkpointMs + often.blockStateMs && often.elapsedMs > 0, JSON.stringify(often));
    assert.equal(fs.readFileSync(path.join(dir, 'b.txt'), 'latin1').slice(0, REFERENCE_BFILE.length), REFERENCE_BFILE);
    const none = statsOf(runCli(['--count', '600', '--state', path.join(dir, 'none'), '--checkpoint-interval', '0', '--stats']).stderr);
    assert.deepEqual([none.checkpoints, none.checkpointMs, none.blockStateMs, none.snapshotBytes], [0, 0, 0, 0]);
    // Without --stats, no such line.
    assert.doesNotMatch(runCli(['--count', '10', '--state', path.join(dir, 'quiet')]).stderr, /^stats /m);
  });

  it('resumes and extends: 300 → 500 says "resuming at term 301 of 500"; stdout output works', () => {
    const dir = tmpDir('extend');
    const state = path.join(dir, 'state');
    assert.equal(runCli(['--count', '300', '--state', state]).status, 0);
    const r = runCli(['--count', '500', '--state', state, '--out', '-']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /resuming at term 301 of 500/);
    assert.equal(r.stdout, REFERENCE_BFILE);
    const again = runCli(['--count', '500', '--state', state, '--out', '-', '--format', 'txt']);
    assert.match(again.stderr, /all 500 terms are already computed/);
    assert.equal(again.stdout, REFERENCE_BFILE.replace(/^\d+ /gm, ''));
  });

  it('survives 50 SIGKILLs at seeded random moments and ends with the PARI/GP reference b-file (N = 6000)', async function () {
    this.timeout(600000);
    // One compute thread makes the 6000-term job last ~7 s: kills 150..650 ms into a run (most after its first
    // checkpoint, ~0.3 s in) land before its end.
    await killRepeatedly({ count: 6000, threads: 1, kills: 50, seed: Number(process.env.TN_FAULT_SEED ?? 20261125), killAfterMs: [150, 650] });
  });

  it('survives 20 SIGKILLs with two compute threads, through the end of the job where blocks split (N = 6000)', async function () {
    this.timeout(600000);
    // Two threads finish 6000 terms in ~3.5 s of compute (4000 now take 1.3 s: too few kills landed before
    // the end): the kills land all along the job and, in its last runs, in the last blocks, where a
    // thread that runs out of work takes over the bottom of the other's block.
    // A run needs ~0.3 s to reach its first checkpoint with block states (two workers start, the blocks
    // resume): kills from 300 ms on leave each run a chance to save its progress, and before 800 ms they
    // are many enough.
    await killRepeatedly({ count: 6000, threads: 2, kills: 20, seed: Number(process.env.TN_FAULT_SEED ?? 20261125) + 1, killAfterMs: [300, 800], stopWhenDone: true });
  });

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal} checkpoints and exits ${code}; the next run resumes there`, async function () {
      this.timeout(120000);
      const dir = tmpDir(signal);
      const state = path.join(dir, 'state');
      const child = spawn(process.execPath, [CLI, '--count', '6000', '--state', state], { stdio: ['ignore', 'ignore', 'pipe'] });
      await waitForStderr(child, /\d+\/6000 terms/);
      await new Promise((r) => setTimeout(r, 400));
      const gone = exited(child);
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.kill(signal);
      const { code: exitCode } = await gone;
      assert.equal(exitCode, code, stderr);
      const m = /stopped at term (\d+) of 6000/.exec(stderr);
      assert.ok(m, stderr);
      const stoppedAt = Number(m[1]);
      const s = StateDir.open(state, { mode: 'read' });
      try {
        assert.equal(s.count, stoppedAt);
        assert.equal(s.latestSnapshot?.header.position, stoppedAt, 'a checkpoint was written at the stop');
      } finally {
        s.close();
      }
      const next = runCli(['--count', '500', '--state', state, '--out', '-']);
      assert.equal(next.status, 0);
      assert.equal(next.stdout, REFERENCE_BFILE);
    });
  }

  it('refuses a second process on the same state directory', async function () {
    this.timeout(120000);
    const dir = tmpDir('lock');
    const state = path.join(dir, 'state');
    const first = spawn(process.execPath, [CLI, '--count', '4000', '--state', state], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      await waitForStderr(first, /computing 4000 terms/);
      const second = runCli(['--count', '100', '--state', state]);
      assert.equal(second.status, 2);
      assert.match(second.stderr, /another process \(pid \d+/);
      assert.equal(second.stderr.trim().split('\n').length, 1, 'one line');
    } finally {
      first.kill('SIGKILL');
      await exited(first);
    }
  });

  describe('bad input exits 2 with one clear line and changes nothing', () => {
    const cases: [string, string[], RegExp][] = [
      ['a count that is not a number', ['--count', 'abc'], /invalid --count "abc": not a whole number/],
      ['a fractional count', ['--count', '2.5'], /not a whole number/],
      ['a zero count', ['--count', '0'], /must be between 1 and 20000/],
      ['a count above the maximum', ['--count', '20001'], /must be between 1 and 20000/],
      ['a missing count', [], /--count N is required/],
      ['an unknown format', ['--count', '5', '--format', 'xml'], /invalid --format "xml"/],
      ['an unknown option', ['--count', '5', '--colour'], /unknown option --colour/],
    ];
    for (const [name, args, re] of cases) {
      it(name, () => {
        const dir = tmpDir('bad');
        const state = path.join(dir, 'state');
        const r = runCli([...args, '--state', state]);
        assert.equal(r.status, 2);
        assert.match(r.stderr, re);
        assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
        assert.equal(fs.existsSync(state), false, 'nothing created');
      });
    }

    it('a state path that is a file', () => {
      const dir = tmpDir('file');
      const file = path.join(dir, 'f');
      fs.writeFileSync(file, 'x');
      const r = runCli(['--count', '5', '--state', file]);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /is not a directory/);
      assert.equal(fs.readFileSync(file, 'utf8'), 'x');
    });

    it('a directory holding foreign files', () => {
      const dir = tmpDir('foreign');
      fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
      const r = runCli(['--count', '5', '--state', dir]);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /not a Tangent Numbers state directory/);
      assert.deepEqual(fs.readdirSync(dir), ['notes.txt']);
    });

    it('a state written by another format version is refused and left untouched', () => {
      const dir = tmpDir('version');
      const state = path.join(dir, 'state');
      assert.equal(runCli(['--count', '50', '--state', state]).status, 0);
      const stateFile = path.join(state, 'STATE');
      const v2 = fs.readFileSync(stateFile, 'utf8').replace('"formatVersion":1', '"formatVersion":2');
      fs.writeFileSync(stateFile, v2);
      const before = fs.readdirSync(state).map((f) => [f, fs.readFileSync(path.join(state, f)).toString('hex')]);
      const r = runCli(['--count', '60', '--state', state]);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /format version 2/);
      const after = fs.readdirSync(state).map((f) => [f, fs.readFileSync(path.join(state, f)).toString('hex')]);
      assert.deepEqual(after, before);
    });

    it('an output path under a file fails with one line and leaves no half-written file; missing folders are made', () => {
      const dir = tmpDir('out');
      const state = path.join(dir, 'state');
      fs.writeFileSync(path.join(dir, 'plain'), 'x');
      const r = runCli(['--count', '20', '--state', state, '--out', path.join(dir, 'plain', 'b.txt')]);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /cannot write to .*: a part of the path is not a folder/);
      assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('tangent-numbers:')).length, 1);
      assert.deepEqual(fs.readdirSync(dir).sort(), ['plain', 'state']);
      const made = runCli(['--count', '20', '--state', state, '--out', path.join(dir, 'new', 'folder', 'b.txt')]);
      assert.equal(made.status, 0, made.stderr);
      assert.equal(fs.readFileSync(path.join(dir, 'new', 'folder', 'b.txt'), 'latin1'), REFERENCE_BFILE.split('\n').slice(0, 20).join('\n') + '\n');
    });

    it('--out inside --state (or the state directory itself, or through a link to it) is refused and nothing is replaced', () => {
      const dir = tmpDir('outinstate');
      const state = path.join(dir, 'state');
      assert.equal(runCli(['--count', '50', '--state', state]).status, 0);
      fs.symlinkSync(state, path.join(dir, 'link'));
      const before = fs.readdirSync(state).map((f) => [f, fs.readFileSync(path.join(state, f)).toString('hex')]);
      for (const out of [path.join(state, 'terms.log'), state, path.join(dir, 'link', 'terms.idx'), path.join(state, 'sub', 'b.txt'), `${state}/../state/STATE`]) {
        const r = runCli(['--count', '50', '--state', state, '--out', out]);
        assert.equal(r.status, 2, `${out}: ${r.stderr}`);
        assert.match(r.stderr, /^tangent-numbers: --out .* (is inside the state directory|is the state directory itself)/);
        assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
      }
      // Through a link as --state, too; and a state directory not made yet.
      assert.equal(runCli(['--count', '50', '--state', path.join(dir, 'link'), '--out', path.join(state, 'b.txt')]).status, 2);
      const fresh = path.join(dir, 'fresh');
      assert.equal(runCli(['--count', '50', '--state', fresh, '--out', path.join(fresh, 'b.txt')]).status, 2);
      assert.equal(fs.existsSync(fresh), false, 'nothing created');
      const after = fs.readdirSync(state).map((f) => [f, fs.readFileSync(path.join(state, f)).toString('hex')]);
      assert.deepEqual(after, before);
      // Beside it is fine.
      assert.equal(runCli(['--count', '50', '--state', state, '--out', path.join(dir, 'state.txt')]).status, 0);
    });
  });

  it('a digit flipped in the middle of a finished 10.5 MB log (checked only at its tail on open) is set aside and recomputed: the b-file is the reference', function () {
    this.timeout(300000);
    const dir = tmpDir('heal');
    const state = path.join(dir, 'state');
    assert.equal(runCli(['--count', '2000', '--state', state]).status, 0);
    const logPath = path.join(state, 'terms.log');
    const size = fs.statSync(logPath).size;
    assert.ok(size > 4 << 20);
    const at = Number(fs.readFileSync(path.join(state, 'terms.idx')).readBigUInt64LE(999 * 8));
    const fd = fs.openSync(logPath, 'r+');
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, at + 12 + 1234);
    b[0] ^= 0x01; // a digit of T(1000), still a digit
    fs.writeSync(fd, b, 0, 1, at + 12 + 1234);
    fs.closeSync(fd);
    const damaged = fs.readFileSync(logPath);
    fs.cpSync(state, path.join(dir, 'copy'), { recursive: true });
    fs.cpSync(state, path.join(dir, 'nosnap'), { recursive: true });
    const reference = REFERENCE_HASHES['2000'];
    const healed = /(recovered|warning): terms\.log: the record of term 1000 at byte \d+ is damaged \(its checksum is wrong\); moved terms 1000\.\.2000/;
    // To a file.
    const out = path.join(dir, 'b.txt');
    const r = runCli(['--count', '2000', '--state', state, '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, healed);
    assert.equal(createHash('sha256').update(fs.readFileSync(out)).digest('hex'), reference.sha256);
    const aside = fs.readdirSync(state).filter((f) => f.startsWith('terms.log.corrupt-'));
    assert.equal(aside.length, 1);
    assert.ok(fs.readFileSync(path.join(state, aside[0])).equals(damaged.subarray(at)), 'the damaged part is kept aside, whole');
    assert.equal(fs.statSync(logPath).size, size, 'the log regrew to the same size');
    // To stdout.
    const piped = spawnSync(process.execPath, [CLI, '--count', '2000', '--state', path.join(dir, 'copy'), '--out', '-'], { encoding: 'latin1', timeout: 120000, maxBuffer: 64 << 20 });
    assert.equal(piped.status, 0, piped.stderr);
    assert.match(piped.stderr, healed);
    assert.equal(createHash('sha256').update(piped.stdout, 'latin1').digest('hex'), reference.sha256);
    // Without snapshots the job itself re-verifies the stored terms (and fails on term 1000), even without --out.
    const nosnap = path.join(dir, 'nosnap');
    for (const f of fs.readdirSync(nosnap)) if (f.startsWith('snapshot-')) fs.rmSync(path.join(nosnap, f));
    const quiet = runCli(['--count', '2000', '--state', nosnap]);
    assert.equal(quiet.status, 0, quiet.stderr);
    assert.match(quiet.stderr, healed);
    const check = spawnSync(process.execPath, [CLI, '--count', '2000', '--state', nosnap, '--out', '-'], { encoding: 'latin1', timeout: 120000, maxBuffer: 64 << 20 });
    assert.match(check.stderr, /all 2000 terms are already computed/);
    assert.equal(createHash('sha256').update(check.stdout, 'latin1').digest('hex'), reference.sha256);
  });

  describe('--out - whose reader goes away (| head -1): exit 141 without a word, the state checkpointed', () => {
    /** Runs `cli args | head -1` in a shell; returns the CLI's exit status, its stderr and what head printed. */
    function throughHead(args: string[]): { status: number; stderr: string; head: string } {
      const errFile = path.join(tmpDir('head'), 'stderr');
      const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
      const r = spawnSync('bash', ['-c', `${quoted} 2>'${errFile}' | head -1; exit \${PIPESTATUS[0]}`], { encoding: 'latin1', timeout: 120000 });
      return { status: r.status ?? -1, stderr: fs.readFileSync(errFile, 'latin1'), head: r.stdout };
    }

    it('while the job runs, and again once it is finished; the next run resumes and streams the reference b-file', () => {
      const dir = tmpDir('epipe');
      const state = path.join(dir, 'state');
      const running = throughHead(['--count', '4000', '--state', state, '--out', '-', '--threads', '1']);
      assert.equal(running.head, '1 1\n');
      assert.equal(running.status, 141, running.stderr);
      assert.doesNotMatch(running.stderr, /tangent-numbers:|Error|^\s+at /m, 'no error, no stack trace');
      const s = StateDir.open(state, { mode: 'read' });
      let stopped: number;
      try {
        stopped = s.count;
        assert.ok(stopped < 4000, `the job was stopped early (${stopped})`);
        assert.equal(s.latestSnapshot?.header.position, stopped, 'a checkpoint was written at the stop');
      } finally {
        s.close();
      }
      const all = spawnSync(process.execPath, [CLI, '--count', '4000', '--state', state, '--out', '-'], { encoding: 'latin1', timeout: 120000, maxBuffer: 256 << 20 });
      assert.equal(all.status, 0, all.stderr);
      assert.match(all.stderr, /resuming at term \d+ of 4000/);
      assert.equal(createHash('sha256').update(all.stdout, 'latin1').digest('hex'), REFERENCE_HASHES['4000'].sha256);
      // Finished: the terms come from the store; the reader leaves after the first line.
      const finished = throughHead(['--count', '4000', '--state', state, '--out', '-']);
      assert.equal(finished.head, '1 1\n');
      assert.equal(finished.status, 141, finished.stderr);
      assert.match(finished.stderr, /all 4000 terms are already computed/);
      assert.doesNotMatch(finished.stderr, /tangent-numbers:|Error|^\s+at /m);
    });
  });
});
