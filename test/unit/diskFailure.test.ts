// A disk that fills up or fails under a running job: the run ends with one clear line and exit 2 (never a
// stack trace), the state stays resumable, and copied to a working disk it finishes to the PARI/GP b-file.
// The full disk is a real one (a 12 MB tmpfs) where mounting is permitted (root, CI); elsewhere the same
// run is made in-process with ENOSPC from the store's file layer once 12 MB are written.
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AsyncTermReader, StateDir } from '../../src/store';
import { exportTerms } from '../../src/store/exportFile';
import { fs as storeFs } from '../../src/store/fileLayer';
import { JobRunner, type JobOutcome } from '../../src/worker/runner';
import { REFERENCE_HASHES } from './reference';
import { tempDirs } from './testUtil';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');
const WORKER_DIR = path.resolve(__dirname, '../../../dist');
const { roots, tmpDir } = tempDirs('tn-disk');

function runCli(args: string[], nodeArgs: string[] = [], env?: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...nodeArgs, CLI, ...args], { encoding: 'utf8', timeout: 300000, env: env ? { ...process.env, ...env } : undefined });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Where mounting a small tmpfs is not permitted: a preload for the CLI that makes every file opened through
 * fs.promises under TN_FULL_DIR fail its writes with ENOSPC once 2 MB are in it, as the full disk would (the
 * export writes through Node's own fs.promises, not the store's file layer).
 */
const FULL_DISK_PRELOAD = `
  const fsp = require('fs').promises;
  const path = require('path');
  const full = path.resolve(process.env.TN_FULL_DIR);
  const open = fsp.open;
  fsp.open = async (file, ...rest) => {
    const h = await open(file, ...rest);
    if (!path.resolve(String(file)).startsWith(full + path.sep)) return h;
    const write = h.write.bind(h);
    let written = 0;
    h.write = async (...a) => {
      if (written > (2 << 20)) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
      const r = await write(...a);
      written += r.bytesWritten;
      return r;
    };
    return h;
  };
`;

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** The run's failure is exactly one `tangent-numbers: …` line, and nothing on stderr looks like a stack trace. */
function assertOneLineFailure(stderr: string, re: RegExp): void {
  const lines = stderr.split(/\r?\n|\r/).filter((l) => l.startsWith('tangent-numbers:'));
  assert.equal(lines.length, 1, `one failure line: ${stderr}`);
  assert.match(lines[0], re);
  assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
  assert.doesNotMatch(stderr, /Error:|node:internal/, 'no error dump');
}

/** Exports T(1..count) from a state directory as a b-file and returns its SHA-256. */
async function bfileHash(state: string, count: number): Promise<string> {
  const out = path.join(path.dirname(state), `b${count}-${Date.now()}.txt`);
  const reader = await AsyncTermReader.open(state);
  try {
    async function* all() {
      for (let n = 1; n <= count; ) {
        const page = await reader.readRangeBytes(n, Math.min(count, n + 255), 2_000_000);
        yield* page;
        n += page.length;
        if (page.length === 0) return;
      }
    }
    await exportTerms(all(), out, 'bfile', { expectedTerms: { from: 1, to: count } });
  } finally {
    await reader.close();
  }
  return sha256(out);
}

type Fault = { errno: string; on: 'open' | 'write'; when: (file: string, nth: number) => boolean };

/**
 * Makes the store's file layer fail as a disk would: the file-system calls `on` (open, or writes of any
 * kind) of a file for which `when(file, nth call on it)` is true throw `errno`.
 */
function injectFault(fault: Fault): () => void {
  const saved = { openSync: storeFs.openSync, writeSync: storeFs.writeSync, writevSync: storeFs.writevSync };
  const files = new Map<number, string>();
  const calls = new Map<string, number>();
  const hit = (file: string, syscall: string) => {
    const nth = (calls.get(file) ?? 0) + 1;
    calls.set(file, nth);
    if (fault.when(file, nth)) throw Object.assign(new Error(`${fault.errno}: injected, ${syscall} '${file}'`), { code: fault.errno, syscall });
  };
  storeFs.openSync = ((file: fs.PathLike, flags: fs.OpenMode = 'r', mode?: fs.Mode) => {
    if (fault.on === 'open' && flags !== 'r') hit(String(file), 'open');
    const fd = saved.openSync(file, flags, mode);
    files.set(fd, String(file));
    return fd;
  }) as typeof storeFs.openSync;
  storeFs.writeSync = ((fd: number, ...rest: unknown[]) => {
    if (fault.on === 'write') hit(files.get(fd) ?? `fd ${fd}`, 'write');
    return (saved.writeSync as (...a: unknown[]) => number)(fd, ...rest);
  });
  storeFs.writevSync = ((fd: number, buffers: readonly NodeJS.ArrayBufferView[], position?: number) => {
    if (fault.on === 'write') hit(files.get(fd) ?? `fd ${fd}`, 'write');
    return saved.writevSync(fd, buffers, position);
  });
  return () => Object.assign(storeFs, saved);
}

async function runJob(state: string, target: number, fault?: Fault): Promise<JobOutcome> {
  const undo = fault ? injectFault(fault) : undefined;
  try {
    return await new JobRunner({ stateDir: state, target, workerDir: WORKER_DIR, checkpointIntervalMs: 50, inline: true }).outcome;
  } finally {
    undo?.();
  }
}

describe('a disk that fills up or fails under a running job', function () {
  this.timeout(300000);
  let mountPoint: string | undefined;
  before(function () {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
    const dir = tmpDir('tmpfs');
    if (process.env.TN_SIMULATE_FULL_DISK) return; // to run the fallback where mounting works
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', dir], { encoding: 'utf8' });
    if (r.status === 0) mountPoint = dir;
    else console.log(`      (mount -t tmpfs not permitted here: ${(r.stderr || r.error?.message || '').trim()}; the full disk is simulated in-process)`);
  });
  after(() => {
    if (mountPoint) spawnSync('umount', [mountPoint]);
    roots.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
  });

  it('N = 4000 with --state on a 12 MB disk: exit 2, one line naming the full disk; copied to a disk with room it finishes to the reference', async function () {
    const reference = REFERENCE_HASHES['4000'];
    const copy = path.join(tmpDir('copy'), 'state');
    if (mountPoint) {
      const state = path.join(mountPoint, 'state');
      const r = runCli(['--count', '4000', '--state', state]);
      assert.equal(r.status, 2, r.stderr);
      assertOneLineFailure(r.stderr, /^tangent-numbers: the disk is full: could not .* \(ENOSPC\); free some space or copy the state directory to a disk with room, then resume/);
      assert.ok(fs.existsSync(path.join(state, 'terms.log')));
      spawnSync('cp', ['-a', state, copy]);
      const out = path.join(path.dirname(copy), 'b4000.txt');
      const again = runCli(['--count', '4000', '--state', copy, '--out', out]);
      assert.equal(again.status, 0, again.stderr);
      assert.match(again.stderr, /resuming at term \d+ of 4000/);
      assert.equal(sha256(out), reference.sha256);
    } else {
      // The same, in-process: the store's writes fail with ENOSPC once 12 MB are on the "disk".
      const state = path.join(tmpDir('simulated'), 'state');
      let written = 0;
      const saved = { writeSync: storeFs.writeSync, writevSync: storeFs.writevSync };
      const full = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
      storeFs.writevSync = ((fd: number, buffers: readonly NodeJS.ArrayBufferView[], position?: number) => {
        written += buffers.reduce((s, b) => s + b.byteLength, 0);
        if (written > 12 << 20) throw full();
        return saved.writevSync(fd, buffers, position);
      });
      let outcome: JobOutcome;
      try {
        outcome = await new JobRunner({ stateDir: state, target: 4000, workerDir: WORKER_DIR, inline: true }).outcome;
      } finally {
        Object.assign(storeFs, saved);
      }
      assert.equal(outcome.kind === 'failed' && outcome.code, 'NO_SPACE', JSON.stringify(outcome));
      fs.cpSync(state, copy, { recursive: true });
      const finished = await runJob(copy, 4000);
      assert.equal(finished.kind === 'stopped' && finished.reason, 'finished', JSON.stringify(finished));
      assert.equal(await bfileHash(copy, 4000), reference.sha256);
    }
  });

  it('--out on a full disk: exit 2, one line, nothing left there; the run with --out elsewhere writes the reference', function () {
    const dir = tmpDir('outfull');
    const state = path.join(dir, 'state');
    let full: string;
    let r: ReturnType<typeof runCli>;
    if (mountPoint) {
      full = mountPoint;
      fs.rmSync(path.join(mountPoint, 'state'), { recursive: true, force: true });
      fs.writeFileSync(path.join(full, 'filler'), Buffer.alloc(10 << 20)); // leaves ~2 MB: the 2000-term b-file (11 MB) cannot fit
      r = runCli(['--count', '2000', '--state', state, '--out', path.join(full, 'b.txt')]);
    } else {
      full = tmpDir('fullout');
      fs.writeFileSync(path.join(full, 'filler'), '');
      const preload = path.join(dir, 'fullDisk.js');
      fs.writeFileSync(preload, FULL_DISK_PRELOAD);
      r = runCli(['--count', '2000', '--state', state, '--out', path.join(full, 'b.txt')], ['--require', preload], { TN_FULL_DIR: full });
    }
    assert.equal(r.status, 2, r.stderr);
    assertOneLineFailure(r.stderr, /^tangent-numbers: the disk is full; nothing was written to .*b\.txt — free some space or choose another disk$/);
    assert.deepEqual(fs.readdirSync(full), ['filler'], 'no temporary file left on the full disk');
    fs.rmSync(path.join(full, 'filler'));
    const out = path.join(dir, 'b.txt');
    const again = runCli(['--count', '2000', '--state', state, '--out', out]);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(sha256(out), REFERENCE_HASHES['2000'].sha256);
  });

  // In-process, a job on this thread (as the CLI runs it): EIO and EROFS at a log append, at the index
  // write that follows it, and at a snapshot. The job fails with the right code and one line; the next
  // job on the same directory finishes exactly.
  const cases: [string, string, RegExp, Fault][] = [
    ['EIO at a log append', 'IO_ERROR', /^the disk reported an I\/O error while trying to append to .*terms\.log \(EIO\)/, { errno: 'EIO', on: 'write', when: (f, nth) => f.endsWith('terms.log') && nth === 4 }],
    ['EIO at an index write', 'IO_ERROR', /^the disk reported an I\/O error while trying to append to .*terms\.idx \(EIO\)/, { errno: 'EIO', on: 'write', when: (f, nth) => f.endsWith('terms.idx') && nth === 4 }],
    ['EIO at a snapshot write', 'IO_ERROR', /^the disk reported an I\/O error while trying to write .*snapshot-\d+\.snap \(EIO\)/, { errno: 'EIO', on: 'write', when: (f) => f.includes('.snap.tmp') }],
    ['EROFS at a log append', 'READ_ONLY', /^could not append to .*terms\.log: it is on a read-only file system \(EROFS\)/, { errno: 'EROFS', on: 'write', when: (f, nth) => f.endsWith('terms.log') && nth === 3 }],
    ['EROFS at an index write', 'READ_ONLY', /^could not append to .*terms\.idx: it is on a read-only file system \(EROFS\)/, { errno: 'EROFS', on: 'write', when: (f, nth) => f.endsWith('terms.idx') && nth === 3 }],
    ['EROFS at a snapshot', 'READ_ONLY', /^could not write .*snapshot-\d+\.snap: it is on a read-only file system \(EROFS\)/, { errno: 'EROFS', on: 'open', when: (f) => f.includes('.snap.tmp') }],
  ];
  for (const [name, code, message, fault] of cases) {
    it(`${name}: the job fails with ${code} in one line; the next job finishes to the reference (N = 1000)`, async () => {
      const state = path.join(tmpDir('inject'), 'state');
      const failed = await runJob(state, 1000, fault);
      assert.equal(failed.kind, 'failed', JSON.stringify(failed));
      assert.equal(failed.kind === 'failed' && failed.code, code, JSON.stringify(failed));
      const text = failed.kind === 'failed' ? failed.message : '';
      assert.match(text, message);
      assert.doesNotMatch(text, /\n/);
      const sd = StateDir.open(state, { mode: 'read' });
      const stored = sd.count;
      sd.close();
      assert.ok(stored < 1000, `the job stopped early (${stored} terms stored)`);
      const finished = await runJob(state, 1000);
      assert.equal(finished.kind === 'stopped' && finished.reason, 'finished', JSON.stringify(finished));
      assert.equal(await bfileHash(state, 1000), REFERENCE_HASHES['1000'].sha256);
    });
  }

  it('a lost lock (another writer took it over): exit 2, one line; once it is gone the same command finishes', async function () {
    const dir = tmpDir('lock');
    const state = path.join(dir, 'state');
    const child = spawn(process.execPath, [CLI, '--count', '6000', '--state', state, '--threads', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    for (let i = 0; i < 600 && !/computing 6000 terms/.test(stderr); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(stderr, /computing 6000 terms/);
    // Another process's lock, as a takeover would leave it (this test's own pid: alive).
    fs.writeFileSync(path.join(state, 'LOCK'), JSON.stringify({ pid: process.pid, hostname: 'elsewhere', startedAt: new Date().toISOString(), token: 'not-yours' }));
    const code = await exited;
    assert.equal(code, 2, stderr);
    assertOneLineFailure(stderr, /^tangent-numbers: the lock on .* was taken over by pid \d+ on elsewhere; stopped writing$/);
    fs.rmSync(path.join(state, 'LOCK'));
    const out = path.join(dir, 'b.txt');
    const again = runCli(['--count', '2000', '--state', state, '--out', out]);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(sha256(out), REFERENCE_HASHES['2000'].sha256);
  });
});
