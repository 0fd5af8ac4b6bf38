// One-writer lock: exclusion, leases with a heartbeat, stale-lock takeover (other hosts, pid reuse, dead
// processes), exactly-one-winner races between real processes, the non-blocking inspector, and the
// clean-up that must leave other processes' temp files alone.
import * as assert from 'assert';
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { inspectLock, lockStatusSync, LEASE_MS, releaseLockIfToken, StateDir } from '../../src/store';
import type { LockInfo, LockStatus, Term } from '../../src/store';
import { fs as layerFs } from '../../src/store/fileLayer';
import { parseProcStat, processStartTicks, WriterLock } from '../../src/store/lock';
import { REF_TERMS, tempDirs, expectStoreError } from './testUtil';

const REF: Term[] = REF_TERMS;
const { roots, tmpDir } = tempDirs('tn-store');
const storeModule = path.resolve(__dirname, '../../src/store/index.js');
const lockModule = path.resolve(__dirname, '../../src/store/lock.js');
const LINUX = process.platform === 'linux';
const HOST = os.hostname();
const HOST_TAG = HOST.replace(/[^A-Za-z0-9-]/g, '_') || 'host';
const BOOT_ID = LINUX ? fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() : undefined;
const HOUR = 3_600_000;

/** A child process that opens `dir` for writing, appends terms 1..10, prints "locked", then waits for "close" on stdin. */
function lockingChild(dir: string): Promise<ChildProcess> {
  const code = `
    const fs = require('fs');
    const [mod, dir] = process.argv.slice(1);
    const { StateDir } = require(mod);
    const sd = StateDir.open(dir);
    if (sd.count === 0) sd.appendTerms(${JSON.stringify(REF.slice(0, 10))});
    process.stdout.write('locked\\n');
    process.stdin.on('data', (d) => {
      if (String(d).includes('close')) { sd.close(); process.stdout.write('closed\\n'); process.exit(0); }
    });
  `;
  const cp = spawn(process.execPath, ['-e', code, storeModule, dir], { stdio: ['pipe', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    cp.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('locked')) resolve(cp);
    });
    cp.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    cp.on('error', reject);
    cp.on('exit', (c) => reject(new Error(`child exited early (${c}): ${err}`)));
  });
}
function exited(cp: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (cp.exitCode !== null || cp.signalCode !== null) resolve();
    else cp.once('exit', () => resolve());
  });
}
/** A process that sleeps until killed; `title` becomes its command name (field 2 of /proc/<pid>/stat). */
async function sleeper(title = 'tn-sleeper'): Promise<ChildProcess> {
  const cp = spawn(process.execPath, ['-e', `process.title = ${JSON.stringify(title)}; console.log('up'); setInterval(() => {}, 1e6);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    cp.stdout?.once('data', () => resolve());
    cp.once('exit', (c) => reject(new Error(`sleeper exited (${c})`)));
  });
  return cp;
}
/** The pid of a process that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const cp = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await exited(cp);
  return cp.pid as number;
}
function lockFile(dir: string): LockInfo {
  return JSON.parse(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8')) as LockInfo;
}
/** Writes LOCK (or another file) with the given content and a heartbeat (mtime) `agoMs` in the past. */
function plant(file: string, content: string | object, agoMs = 0): void {
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  const t = new Date(Date.now() - agoMs);
  fs.utimesSync(file, t, t);
}
function holder(extra: Partial<LockInfo>): LockInfo {
  return { pid: 4242, hostname: HOST, startedAt: new Date(Date.now() - 2 * HOUR).toISOString(), token: crypto.randomBytes(16).toString('hex'), ...extra };
}
function lines(sd: StateDir): string {
  return sd.recoveries.join(' | ');
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Blocks this thread (timers cannot run), as a job thread stuck in a long synchronous step would. */
function block(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe('store: writer lock', function () {
  this.timeout(30_000);
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) c.kill('SIGKILL');
    roots.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
  });
  async function liveChild(title?: string): Promise<ChildProcess> {
    const c = await sleeper(title);
    children.push(c);
    return c;
  }

  it('writes {pid, hostname, startedAt, token, leaseMs, procStart, bootId} and refuses a second writer in the same process', () => {
    const dir = tmpDir('lock1');
    const a = StateDir.open(dir);
    try {
      const info = lockFile(dir);
      assert.strictEqual(info.pid, process.pid);
      assert.strictEqual(info.hostname, HOST);
      assert.ok(!Number.isNaN(Date.parse(info.startedAt)));
      assert.match(info.token, /^[0-9a-f]{32}$/);
      assert.strictEqual(info.token, a.lockToken);
      assert.strictEqual(info.leaseMs, LEASE_MS);
      if (LINUX) {
        assert.strictEqual(info.bootId, BOOT_ID);
        assert.strictEqual(info.procStart, parseProcStat(fs.readFileSync('/proc/self/stat', 'latin1'))?.startTicks);
      }
      assert.strictEqual(a.tookOverLock, undefined);
      const e = expectStoreError(() => StateDir.open(dir), 'LOCKED');
      assert.match(
        e.message,
        new RegExp(`^another process \\(pid ${process.pid} on ${HOST}\\) is writing ${dir.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}: ` +
          `it has held the lock since ${info.startedAt.replace(/\./g, '\\.')}, last heartbeat [0-9.]+ s ago, lease expires in (29|30|[12][0-9]\\.[0-9]) s unless renewed$`),
      );
      assert.deepStrictEqual(lockFile(dir), info, 'the refused open must not disturb the lock');
      a.appendTerms(REF.slice(0, 3)); // still ours
      const r = StateDir.open(dir, { mode: 'read' }); // readers take no lock
      assert.strictEqual(r.count, 3);
      r.close();
    } finally {
      a.close();
    }
    assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['STATE', 'terms.idx', 'terms.log'], 'close removes LOCK and leaves no sentinel');
    const b = StateDir.open(dir);
    assert.strictEqual(b.count, 3);
    b.close();
  });

  it('a lock of another host is live while its heartbeat is fresh, and taken over once it is older than the lease', () => {
    const dir = tmpDir('lockhost');
    StateDir.open(dir).close();
    const other = holder({ pid: 12345, hostname: `not-${HOST}`, startedAt: '2026-01-02T03:04:05.000Z', leaseMs: 30_000 });
    plant(path.join(dir, 'LOCK'), other, 3000);
    const e = expectStoreError(() => StateDir.open(dir), 'LOCKED');
    assert.match(e.message, new RegExp(`pid 12345 on not-${HOST}\\).*held the lock since 2026-01-02T03:04:05\\.000Z, last heartbeat 3(\\.[0-9])? s ago, lease expires in 2[67](\\.[0-9])? s unless renewed`), e.message);
    assert.deepStrictEqual(lockFile(dir), other, 'a refused open leaves the lock alone');

    plant(path.join(dir, 'LOCK'), other, HOUR); // the dev container it came from is gone
    const lastAlive = fs.statSync(path.join(dir, 'LOCK')).mtimeMs;
    const sd = StateDir.open(dir);
    try {
      assert.deepStrictEqual(sd.recoveries, [`took over stale lock of pid 12345 on not-${HOST} (no heartbeat for 1 h (lease 30 s); last alive 1 h ago)`]);
      assert.deepStrictEqual(sd.tookOverLock?.holder, other);
      assert.strictEqual(sd.tookOverLock?.lastAliveAt, lastAlive);
      assert.strictEqual(lockFile(dir).token, sd.lockToken);
      sd.appendTerms(REF.slice(0, 2));
    } finally {
      sd.close();
    }
  });

  it('a lock of another host without a lease of its own gets the default lease; one declaring a longer one than 60 s gets 60 s', () => {
    const dir = tmpDir('lockleasefield');
    StateDir.open(dir).close();
    const noLease = holder({ hostname: 'elsewhere' });
    plant(path.join(dir, 'LOCK'), noLease, LEASE_MS - 5000);
    expectStoreError(() => StateDir.open(dir), 'LOCKED');
    plant(path.join(dir, 'LOCK'), noLease, LEASE_MS + 2000);
    StateDir.open(dir).close();
    plant(path.join(dir, 'LOCK'), holder({ hostname: 'elsewhere', leaseMs: 10 * HOUR }), 61_000);
    const sd = StateDir.open(dir);
    assert.match(lines(sd), /no heartbeat for 61 s \(lease 60 s\)/);
    sd.close();
  });

  it('an empty or unparsable LOCK (crash while writing it) is stale once it is not brand new', () => {
    const dir = tmpDir('lockempty');
    StateDir.open(dir).close();
    for (const content of ['', '{"pid": 4']) {
      plant(path.join(dir, 'LOCK'), content, 60_000);
      const sd = StateDir.open(dir);
      try {
        assert.deepStrictEqual(sd.recoveries, ['took over an unreadable LOCK (a crash while it was written; last changed 60 s ago)']);
        assert.strictEqual(sd.tookOverLock?.holder, null);
        assert.strictEqual(lockFile(dir).pid, process.pid);
      } finally {
        sd.close();
      }
    }
  });

  it('a lock with our pid from an earlier process (by its start time, or by startedAt where none is recorded) is stale', function () {
    const dir = tmpDir('lockreuse');
    StateDir.open(dir).close();
    const byStartedAt = holder({ pid: process.pid, startedAt: new Date(Date.now() - 86_400_000 - process.uptime() * 1000).toISOString() });
    plant(path.join(dir, 'LOCK'), byStartedAt);
    let sd = StateDir.open(dir);
    assert.match(lines(sd), new RegExp(`^took over stale lock of pid ${process.pid} on ${HOST} \\(an earlier process with our pid; last alive`));
    sd.close();
    if (!LINUX) return;
    const ours = processStartTicks(process.pid) as number;
    plant(path.join(dir, 'LOCK'), holder({ pid: process.pid, startedAt: new Date().toISOString(), procStart: ours - 1, bootId: BOOT_ID }));
    sd = StateDir.open(dir);
    assert.match(lines(sd), /\(an earlier process with our pid; last alive/);
    sd.close();
    // The same process start: a writer of this very process (another thread) whose heartbeat stopped.
    plant(path.join(dir, 'LOCK'), holder({ pid: process.pid, startedAt: new Date().toISOString(), procStart: ours, bootId: BOOT_ID, leaseMs: 1000 }), 500);
    expectStoreError(() => StateDir.open(dir), 'LOCKED');
    plant(path.join(dir, 'LOCK'), holder({ pid: process.pid, startedAt: new Date().toISOString(), procStart: ours, bootId: BOOT_ID, leaseMs: 1000 }), 1500);
    sd = StateDir.open(dir);
    assert.match(lines(sd), /\(no heartbeat for 1\.5 s \(lease 1 s\); last alive 1\.5 s ago\)$/);
    sd.close();
  });

  it('a lock whose pid is alive but belongs to another process (start time differs) is taken over; the right start time and a fresh heartbeat keep it', async function () {
    if (!LINUX) {
      // Off Linux there is no process start time to compare: a live pid's lock is judged by its heartbeat.
      assert.strictEqual(processStartTicks(process.pid), undefined);
      return;
    }
    const dir = tmpDir('lockpidreuse');
    StateDir.open(dir).close();
    const child = await liveChild();
    const pid = child.pid as number;
    const start = processStartTicks(pid) as number;
    // Field 22 from the kernel, parsed independently: starttime / CLK_TCK + btime is when the child started.
    const tck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    const btime = Number(/^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'))?.[1]);
    assert.ok(Math.abs((btime + start / tck) * 1000 - Date.now()) < 10_000, `child start time ${start} ticks is not about now`);

    plant(path.join(dir, 'LOCK'), holder({ pid, procStart: start + 777, bootId: BOOT_ID, leaseMs: 30_000 }));
    let sd = StateDir.open(dir);
    try {
      assert.match(lines(sd), new RegExp(`^took over stale lock of pid ${pid} on ${HOST} \\(its pid now belongs to another process; last alive [0-9.]+ s ago\\)$`));
      assert.strictEqual(sd.tookOverLock?.why, 'its pid now belongs to another process');
    } finally {
      sd.close();
    }
    const live = holder({ pid, procStart: start, bootId: BOOT_ID, leaseMs: 30_000 });
    plant(path.join(dir, 'LOCK'), live, 1000);
    const e = expectStoreError(() => StateDir.open(dir), 'LOCKED');
    assert.ok(e.message.includes(`(pid ${pid} on ${HOST})`) && e.message.includes(`since ${live.startedAt}`), e.message);
    assert.deepStrictEqual(lockFile(dir), live);
    // The same live process that stopped renewing (hung) loses it after its lease.
    plant(path.join(dir, 'LOCK'), live, 31_000);
    sd = StateDir.open(dir);
    assert.match(lines(sd), /\(no heartbeat for 31 s \(lease 30 s\); last alive 31 s ago\)$/);
    sd.close();
    // After a reboot the pid and start time mean nothing, even if a live process has them now.
    plant(path.join(dir, 'LOCK'), { ...live, bootId: '00000000-0000-4000-8000-000000000000' });
    sd = StateDir.open(dir);
    assert.match(lines(sd), /\(this machine has restarted since; last alive/);
    sd.close();
  });

  it('a lock from another pid namespace (a container with our hostname) is judged by its heartbeat alone', async function () {
    if (!LINUX) {
      // Off Linux no pid namespace is recorded, so no lock is told apart by one.
      assert.strictEqual(processStartTicks(process.pid), undefined);
      return;
    }
    const dir = tmpDir('lockpidns');
    StateDir.open(dir).close();
    const other = holder({ pid: await deadPid(), bootId: BOOT_ID, pidNs: 'pid:[1]' });
    plant(path.join(dir, 'LOCK'), other, 1000);
    expectStoreError(() => StateDir.open(dir), 'LOCKED'); // its pid is not ours to look up
    plant(path.join(dir, 'LOCK'), other, 40_000);
    const sd = StateDir.open(dir);
    assert.match(lines(sd), /no heartbeat for 40 s/);
    sd.close();
  });

  it('parses /proc/<pid>/stat after the last ")" (a command name may hold spaces and parentheses)', async function () {
    assert.deepStrictEqual(parseProcStat('123 (a) (b) c) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 777 19 20'), { state: 'S', startTicks: 777 });
    assert.strictEqual(parseProcStat('123 (x) S 1 2'), undefined);
    assert.strictEqual(parseProcStat('garbage'), undefined);
    if (!LINUX) return;
    const child = await liveChild('t) x (y ) z');
    const stat = fs.readFileSync(`/proc/${child.pid}/stat`, 'latin1');
    assert.ok(stat.includes('(t) x (y ) z)'), `the child's command name is in its stat: ${stat.slice(0, 60)}`);
    const start = processStartTicks(child.pid as number) as number;
    const tck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    const btime = Number(/^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'))?.[1]);
    assert.ok(Math.abs((btime + start / tck) * 1000 - Date.now()) < 10_000, `start ${start} ticks (stat ${stat.slice(0, 80)})`);
  });

  it('a live child holding the lock makes our open fail with LOCKED; after it closes we get in', async () => {
    const dir = tmpDir('lockchild');
    const cp = await lockingChild(dir);
    try {
      const e = expectStoreError(() => StateDir.open(dir), 'LOCKED');
      assert.ok(e.message.startsWith(`another process (pid ${cp.pid} on ${HOST}) is writing ${dir}: it has held the lock since `), e.message);
      assert.strictEqual((await inspectLock(dir)).kind, 'held');
      cp.stdin?.write('close\n');
      await exited(cp);
    } finally {
      cp.kill('SIGKILL');
    }
    const sd = StateDir.open(dir);
    try {
      assert.deepStrictEqual(sd.recoveries, []);
      assert.deepStrictEqual(sd.readRange(1, sd.count), REF.slice(0, 10));
    } finally {
      sd.close();
    }
  });

  it('a SIGKILLed child leaves a stale lock that the next open takes over', async () => {
    const dir = tmpDir('lockkill');
    const cp = await lockingChild(dir);
    const pid = cp.pid as number;
    assert.strictEqual(lockFile(dir).pid, pid);
    expectStoreError(() => StateDir.open(dir), 'LOCKED');
    cp.kill('SIGKILL');
    await exited(cp); // reaped, so the pid is gone
    assert.ok(fs.existsSync(path.join(dir, 'LOCK')), 'the killed child left its lock');
    const warned: string[] = [];
    const sd = StateDir.open(dir, { logger: { info: () => undefined, warn: (m) => warned.push(m) } });
    try {
      assert.strictEqual(sd.recoveries.length, 1, lines(sd));
      assert.match(sd.recoveries[0], new RegExp(`^took over stale lock of pid ${pid} on ${HOST} \\(its process has ended; last alive [0-9.]+ s ago\\)$`));
      assert.deepStrictEqual(warned, sd.recoveries);
      assert.strictEqual(sd.tookOverLock?.holder?.pid, pid);
      assert.strictEqual(lockFile(dir).pid, process.pid);
      assert.deepStrictEqual(sd.readRange(1, sd.count), REF.slice(0, 10));
      sd.appendTerms(REF.slice(10, 20));
    } finally {
      sd.close();
    }
    assert.ok(!fs.existsSync(path.join(dir, 'LOCK')));
  });

  it('a writer whose lock was taken over stops writing and leaves the new lock alone on close', () => {
    const dir = tmpDir('locklost');
    const sd = StateDir.open(dir);
    sd.appendTerms(REF.slice(0, 5));
    const usurper = holder({ pid: 1, startedAt: new Date().toISOString(), token: 'theirs' });
    fs.writeFileSync(path.join(dir, 'LOCK'), JSON.stringify(usurper));
    const e = expectStoreError(() => sd.appendTerms([REF[5]]), 'LOCKED');
    assert.strictEqual(e.message, `the lock on ${dir} was taken over by pid 1 on ${HOST}; stopped writing`);
    expectStoreError(() => sd.writeSnapshot({ sequence: 'A000182', algorithm: 'a', position: 5, target: 10 }, Buffer.alloc(1)), 'LOCKED');
    assert.strictEqual(sd.count, 5);
    sd.close();
    assert.deepStrictEqual(lockFile(dir), usurper);
    assert.deepStrictEqual(fs.readdirSync(dir).filter((n) => n.startsWith('LOCK')), ['LOCK']);
  });

  it('releaseLockIfToken removes LOCK only for its token; the writer then stops', () => {
    const dir = tmpDir('lockrelease');
    const sd = StateDir.open(dir);
    try {
      assert.strictEqual(releaseLockIfToken(dir, 'not-the-token'), false);
      assert.ok(fs.existsSync(path.join(dir, 'LOCK')));
      assert.strictEqual(releaseLockIfToken(dir, sd.lockToken as string), true);
      assert.deepStrictEqual(fs.readdirSync(dir).filter((n) => n.startsWith('LOCK')), []);
      const e = expectStoreError(() => sd.appendTerms(REF.slice(0, 1)), 'LOCKED');
      assert.match(e.message, /no longer held by this process \(its LOCK file was removed\)/);
    } finally {
      sd.close();
    }
  });

  describe('lease and heartbeat', () => {
    const lease = { leaseMs: 400, renewMs: 50 };

    it('the holder renews its heartbeat on its own timer, so an idle writer keeps its lock past the lease', async () => {
      const dir = tmpDir('leaserenew');
      const sd = StateDir.open(dir, { lockLease: lease });
      try {
        const file = path.join(dir, 'LOCK');
        assert.strictEqual(lockFile(dir).leaseMs, 400);
        const m0 = fs.statSync(file).mtimeMs;
        await sleep(300);
        const m1 = fs.statSync(file).mtimeMs;
        assert.ok(m1 - m0 >= 150, `heartbeat advanced by ${m1 - m0} ms in 300 ms`);
        assert.ok(Date.now() - m1 < 200, `heartbeat is ${Date.now() - m1} ms old`);
        await sleep(700); // well past the lease: only renewals keep the lock
        sd.appendTerms(REF.slice(0, 2));
        const st = await inspectLock(dir);
        assert.strictEqual(st.kind, 'held');
        assert.ok(st.kind === 'held' && st.leaseExpiresInMs > 200 && st.heartbeatAgeMs < 200, JSON.stringify(st));
        assert.strictEqual(lockFile(dir).token, sd.lockToken);
      } finally {
        sd.close();
      }
    });

    it('a writer that could not renew (its thread was blocked) and was taken over meanwhile stops before its next write', () => {
      const dir = tmpDir('leaseblocked');
      const sd = StateDir.open(dir, { lockLease: lease });
      try {
        sd.appendTerms(REF.slice(0, 2));
        block(500); // no timer can run: the lease lapses (the holder stops at lease − renew = 350 ms)
        const next = StateDir.open(dir);
        try {
          assert.match(lines(next), new RegExp(`^took over stale lock of pid ${process.pid} on ${HOST} \\(no heartbeat for 0\\.[5-9] s \\(lease 0\\.4 s\\)`));
          assert.strictEqual(next.count, 2);
          const e = expectStoreError(() => sd.appendTerms(REF.slice(2, 3)), 'LOCKED');
          assert.match(e.message, /lapsed: its heartbeat was not renewed for 0\.[5-9] s \(lease 0\.4 s\); stopped writing$/);
          expectStoreError(() => sd.writeSnapshot({ sequence: 'A000182', algorithm: 'a', position: 2, target: 10 }, Buffer.alloc(1)), 'LOCKED');
          assert.strictEqual(sd.count, 2);
          sd.close(); // the lapsed writer's close must not remove the new lock
          assert.strictEqual(lockFile(dir).token, next.lockToken);
          next.appendTerms(REF.slice(2, 4));
        } finally {
          next.close();
        }
      } finally {
        sd.close();
      }
    });

    it('a lapsed writer that nobody replaced (a suspended laptop) reclaims its lease under the sentinel and writes on', () => {
      const dir = tmpDir('leaselapsedreclaim');
      const sd = StateDir.open(dir, { lockLease: lease });
      const token = sd.lockToken;
      block(450);
      sd.appendTerms(REF.slice(0, 1));
      assert.strictEqual(lockFile(dir).token, token);
      assert.ok(Date.now() - fs.statSync(path.join(dir, 'LOCK')).mtimeMs < 200, 'the heartbeat is fresh again');
      assert.deepStrictEqual(fs.readdirSync(dir).filter((n) => n.startsWith('LOCK.takeover')), [], 'its sentinel is gone');
      sd.close();
      assert.deepStrictEqual(fs.readdirSync(dir).filter((n) => n.startsWith('LOCK')), []);
    });

    it("a lapsed writer finding a live racer's sentinel (a takeover under way) stops, and still removes its own LOCK on close", () => {
      const dir = tmpDir('leaselapsedrace');
      const sd = StateDir.open(dir, { lockLease: lease });
      const key = sd.lockToken!;
      // A racer of this host, alive, holds the takeover sentinel of our generation.
      fs.writeFileSync(path.join(dir, `LOCK.takeover.${key}.0`), JSON.stringify({ pid: process.pid, hostname: HOST, startedAt: new Date().toISOString(), token: crypto.randomBytes(16).toString('hex'), procStart: processStartTicks(process.pid) }));
      block(450);
      expectStoreError(() => sd.appendTerms(REF.slice(0, 1)), 'LOCKED');
      fs.rmSync(path.join(dir, `LOCK.takeover.${key}.0`));
      sd.close();
      assert.deepStrictEqual(fs.readdirSync(dir).filter((n) => n.startsWith('LOCK')), []);
    });

    it('a writer whose renewals fail (I/O error) stops once its lease has lapsed, saying why', async () => {
      const dir = tmpDir('leasefail');
      const sd = StateDir.open(dir, { lockLease: lease });
      const real = layerFs.futimesSync;
      try {
        sd.appendTerms(REF.slice(0, 1));
        layerFs.futimesSync = () => {
          throw Object.assign(new Error('EIO: i/o error, futime'), { code: 'EIO' });
        };
        await sleep(150);
        sd.appendTerms(REF.slice(1, 2)); // within the lease: still ours
        await sleep(400);
        const e = expectStoreError(() => sd.appendTerms(REF.slice(2, 3)), 'LOCKED');
        assert.match(e.message, /lapsed: its heartbeat was not renewed for 0\.[4-9] s \(lease 0\.4 s; renewal failed: the disk reported an I\/O error while trying to renew .*LOCK \(EIO\); .*\); stopped writing$/);
        assert.strictEqual(sd.count, 2);
      } finally {
        layerFs.futimesSync = real;
        sd.close();
      }
    });

    it('a lease outside its bounds is refused', () => {
      const dir = tmpDir('leasebounds');
      assert.throws(() => WriterLock.acquire(dir, () => undefined, { leaseMs: 90_000 }), RangeError);
      assert.throws(() => WriterLock.acquire(dir, () => undefined, { leaseMs: 1000, renewMs: 600 }), RangeError);
      assert.deepStrictEqual(fs.readdirSync(dir), []);
    });
  });

  describe('inspectLock / lockStatusSync', () => {
    async function both(dir: string): Promise<LockStatus> {
      const a = await inspectLock(dir);
      const b = lockStatusSync(dir);
      assert.strictEqual(b.kind, a.kind);
      if (a.kind === 'stale' && b.kind === 'stale') assert.deepStrictEqual([b.holder, b.why, b.lastAliveAt], [a.holder, a.why, a.lastAliveAt]);
      if (a.kind === 'held' && b.kind === 'held') assert.deepStrictEqual([b.holder, b.since, b.thisHost], [a.holder, a.since, a.thisHost]);
      return a;
    }

    it('free: no directory, or no LOCK', async () => {
      assert.deepStrictEqual(await both(path.join(tmpDir('inspectnone'), 'missing')), { kind: 'free' });
      assert.deepStrictEqual(await both(tmpDir('inspectempty')), { kind: 'free' });
    });

    it('held: this process, and another host with a fresh heartbeat', async () => {
      const dir = tmpDir('inspectheld');
      const sd = StateDir.open(dir);
      try {
        const st = await both(dir);
        assert.ok(st.kind === 'held', JSON.stringify(st));
        assert.strictEqual(st.holder.token, sd.lockToken);
        assert.strictEqual(st.since, st.holder.startedAt);
        assert.strictEqual(st.thisHost, true);
        assert.ok(st.heartbeatAgeMs >= 0 && st.heartbeatAgeMs < 1000, String(st.heartbeatAgeMs));
        assert.ok(Math.abs(st.leaseExpiresInMs - (LEASE_MS - st.heartbeatAgeMs)) < 50, String(st.leaseExpiresInMs));
      } finally {
        sd.close();
      }
      const other = holder({ hostname: 'build-box', leaseMs: 20_000 });
      plant(path.join(dir, 'LOCK'), other, 5000);
      const before = fs.readdirSync(dir).sort();
      const st = await both(dir);
      assert.ok(st.kind === 'held', JSON.stringify(st));
      assert.deepStrictEqual(st.holder, other);
      assert.strictEqual(st.thisHost, false);
      assert.ok(st.heartbeatAgeMs >= 5000 && st.heartbeatAgeMs < 6000, String(st.heartbeatAgeMs));
      assert.ok(st.leaseExpiresInMs > 14_000 && st.leaseExpiresInMs <= 15_000, String(st.leaseExpiresInMs));
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), before, 'inspecting changes nothing');
    });

    it('stale: another host gone quiet, a dead pid, a reused pid, an unreadable LOCK', async function () {
      const dir = tmpDir('inspectstale');
      const file = path.join(dir, 'LOCK');
      const quiet = holder({ hostname: 'gone-container' });
      plant(file, quiet, HOUR);
      const mtime = fs.statSync(file).mtimeMs;
      assert.deepStrictEqual(await both(dir), { kind: 'stale', holder: quiet, why: 'no heartbeat for 1 h (lease 30 s)', lastAliveAt: mtime });

      const dead = holder({ pid: await deadPid() });
      plant(file, dead);
      let st = await both(dir);
      assert.deepStrictEqual(st.kind === 'stale' && [st.holder, st.why], [dead, 'its process has ended']);

      if (LINUX) {
        const child = await liveChild();
        const reused = holder({ pid: child.pid, procStart: (processStartTicks(child.pid as number) as number) + 1, bootId: BOOT_ID });
        plant(file, reused);
        st = await both(dir);
        assert.deepStrictEqual(st.kind === 'stale' && [st.holder, st.why], [reused, 'its pid now belongs to another process']);
      }

      plant(file, '{"pid":', 10_000);
      st = await both(dir);
      assert.deepStrictEqual(st.kind === 'stale' && [st.holder, st.lastAliveAt], [null, fs.statSync(file).mtimeMs]);
      assert.deepStrictEqual(fs.readdirSync(dir), ['LOCK'], 'inspecting changes nothing');
    });

    it('a LOCK being written right now is waited for, not called stale', async () => {
      const dir = tmpDir('inspectyoung');
      const file = path.join(dir, 'LOCK');
      const info = holder({ hostname: 'writer-box' });
      plant(file, '');
      setTimeout(() => fs.writeFileSync(file, JSON.stringify(info)), 150);
      const st = await inspectLock(dir);
      assert.ok(st.kind === 'held' && st.holder.token === info.token, JSON.stringify(st));
    });
  });

  describe('clean-up at open', () => {
    it("removes temp files and sentinels of dead or long-gone owners, and keeps live racers' and other hosts' recent ones", async () => {
      const dir = tmpDir('leftovers');
      StateDir.open(dir).close();
      const live = await liveChild();
      const livePid = live.pid as number;
      const gone = await deadPid();
      const hex = () => crypto.randomBytes(16).toString('hex');
      const keep = [
        `LOCK.tmp.${HOST_TAG}.${livePid}.${hex()}`, // a live racer's takeover in flight
        `LOCK.tmp.other-host.${gone}.${hex()}`, // another host: its pid means nothing here, and it is recent
        `LOCK.takeover.${hex()}.0`, // a live racer's sentinel
      ];
      const remove = [
        `LOCK.tmp.${HOST_TAG}.${gone}.${hex()}`,
        `LOCK.tmp.other-host.${livePid}.${hex()}`, // made old below
        `LOCK.takeover.${hex()}.0`, // its racer died
        `LOCK.takeover.${hex()}.3`, // unreadable and old
        'snapshot-0000000004.snap.tmp', // the previous holder's unfinished write
      ];
      for (const n of [...keep, ...remove]) plant(path.join(dir, n), 'x');
      plant(path.join(dir, keep[2]), holder({ pid: livePid, procStart: processStartTicks(livePid), bootId: BOOT_ID }));
      plant(path.join(dir, remove[1]), 'x', 2 * HOUR);
      plant(path.join(dir, remove[2]), holder({ pid: gone }));
      plant(path.join(dir, remove[3]), '', 60_000);
      const sd = StateDir.open(dir);
      try {
        const reported = sd.recoveries.map((l) => /(?:file|lock file) (\S+) /.exec(l)?.[1]).sort();
        assert.deepStrictEqual(reported, [...remove].sort(), lines(sd));
        assert.ok(sd.recoveries.some((l) => l === `removed leftover lock file ${remove[2]} (from a process that died while taking over the lock)`), lines(sd));
      } finally {
        sd.close();
      }
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), [...keep, 'STATE', 'terms.idx', 'terms.log'].sort());
    });

    it("initialisation keeps another live process's STATE temp file and removes a dead one's", async () => {
      const dir = tmpDir('inittemps');
      const live = await liveChild();
      const gone = await deadPid();
      const liveTmp = `STATE.tmp.${HOST_TAG}.${live.pid}.abc123`;
      for (const n of [liveTmp, `STATE.tmp.${HOST_TAG}.${gone}.abc123`, `STATE.tmp-${gone}-abcdef`]) plant(path.join(dir, n), '{"magic":');
      const sd = StateDir.open(dir);
      sd.close();
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), [liveTmp, 'STATE', 'terms.idx', 'terms.log'].sort());
    });
  });

  describe('takeover sentinel', () => {
    it("waits while a live racer holds the sentinel, and passes it over once it is older than the sentinel's age limit", async function () {
      const dir = tmpDir('sentinelwait');
      const child = await liveChild();
      const stale = holder({ pid: await deadPid() });
      plant(path.join(dir, 'LOCK'), stale);
      const sentinel = path.join(dir, `LOCK.takeover.${stale.token}.0`);
      plant(sentinel, holder({ pid: child.pid, procStart: processStartTicks(child.pid as number), bootId: BOOT_ID }), 4600);
      const t0 = Date.now();
      const lock = WriterLock.acquire(dir, () => undefined);
      const waited = Date.now() - t0;
      try {
        assert.ok(waited >= 300 && waited < 3000, `waited ${waited} ms for a sentinel 0.4 s short of its 5 s limit`);
        assert.strictEqual(lock.tookOver?.why, 'its process has ended');
        assert.deepStrictEqual(fs.readdirSync(dir), ['LOCK'], 'the winner removes the old generation\'s sentinels');
      } finally {
        lock.release();
      }
      assert.deepStrictEqual(fs.readdirSync(dir), []);
    });
  });

  describe('races for one stale lock (real processes)', function () {
    const RACERS = 6;
    const ROUNDS = 300;
    this.timeout(180_000);

    type Reply = { won?: string; line?: string; code?: string; message?: string; released?: boolean; ready?: boolean };
    interface Racer {
      cp: ChildProcess;
      waiting: ((r: Reply) => void)[];
    }
    const racerCode = `
      const { WriterLock } = require(process.argv[1]);
      let lock;
      const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
      let buf = '';
      process.stdin.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\\n')) >= 0) {
          const cmd = JSON.parse(buf.slice(0, i));
          buf = buf.slice(i + 1);
          if (cmd.op === 'go') {
            const wait = cmd.at - Date.now() - 2;
            if (wait > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
            while (Date.now() < cmd.at) {}
            let line;
            try {
              lock = WriterLock.acquire(cmd.dir, (l) => (line = l));
              say({ won: lock.token, line });
            } catch (e) {
              say({ code: e.code || e.name, message: e.message });
            }
          } else if (cmd.op === 'release') {
            if (lock) lock.release();
            lock = undefined;
            say({ released: true });
          } else if (cmd.op === 'exit') process.exit(0);
        }
      });
      say({ ready: true });
    `;
    const racers: Racer[] = [];
    function ask(r: Racer, cmd?: object): Promise<Reply> {
      const p = new Promise<Reply>((resolve) => r.waiting.push(resolve));
      if (cmd) r.cp.stdin?.write(JSON.stringify(cmd) + '\n');
      return p;
    }
    before(async () => {
      for (let i = 0; i < RACERS; i++) {
        const cp = spawn(process.execPath, ['-e', racerCode, lockModule], { stdio: ['pipe', 'pipe', 'inherit'] });
        const r: Racer = { cp, waiting: [] };
        let out = '';
        cp.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          let k;
          while ((k = out.indexOf('\n')) >= 0) {
            const reply = JSON.parse(out.slice(0, k)) as Reply;
            out = out.slice(k + 1);
            r.waiting.shift()?.(reply);
          }
        });
        racers.push(r);
      }
      await Promise.all(racers.map((r) => ask(r)));
    });
    after(() => {
      for (const r of racers) {
        r.cp.stdin?.write(JSON.stringify({ op: 'exit' }) + '\n');
        r.cp.kill('SIGKILL');
      }
    });

    it(`exactly one of ${RACERS} processes wins each of ${ROUNDS} rounds (stale LOCKs of every kind, stale sentinels of dead racers)`, async function () {
      const root = tmpDir('races');
      const child = await liveChild();
      const livePid = child.pid as number;
      const liveStart = processStartTicks(livePid);
      const gone = await deadPid();
      const kinds = ['other host, 1 h quiet', 'dead pid', 'reused pid', 'unreadable', 'live pid, 1 h quiet', 'no LOCK'];
      const sentinelKinds = ['none', 'dead racer', 'unreadable, old', 'live racer, stalled 10 s'];
      const tally = new Map<string, number>();
      const t0 = Date.now();
      for (let round = 0; round < ROUNDS; round++) {
        const dir = path.join(root, `r${round}`);
        fs.mkdirSync(dir);
        const kind = kinds[round % kinds.length];
        const lockPath = path.join(dir, 'LOCK');
        let token: string | undefined;
        const put = (info: LockInfo, agoMs: number) => {
          token = info.token;
          plant(lockPath, info, agoMs);
        };
        if (kind === 'other host, 1 h quiet') put(holder({ hostname: 'vanished-devcontainer' }), HOUR);
        else if (kind === 'dead pid') put(holder({ pid: gone, procStart: 1, bootId: BOOT_ID }), 0);
        else if (kind === 'reused pid') put(holder({ pid: livePid, procStart: LINUX ? (liveStart as number) + 5 : undefined, bootId: BOOT_ID }), LINUX ? 0 : HOUR);
        else if (kind === 'unreadable') plant(lockPath, '{"pid": 9', 60_000);
        else if (kind === 'live pid, 1 h quiet') put(holder({ pid: livePid, procStart: liveStart, bootId: BOOT_ID }), HOUR);
        const sKind = token ? sentinelKinds[Math.floor(round / kinds.length) % sentinelKinds.length] : 'none';
        if (sKind !== 'none') {
          const s = path.join(dir, `LOCK.takeover.${token}.0`);
          if (sKind === 'dead racer') plant(s, holder({ pid: gone, procStart: 1, bootId: BOOT_ID }));
          else if (sKind === 'unreadable, old') plant(s, '', 60_000);
          else plant(s, holder({ pid: livePid, procStart: liveStart, bootId: BOOT_ID }), 10_000);
        }
        const key = `${kind} / sentinel: ${sKind}`;
        tally.set(key, (tally.get(key) ?? 0) + 1);

        const at = Date.now() + 25;
        const replies = await Promise.all(racers.map((r) => ask(r, { op: 'go', dir, at })));
        const what = `round ${round} (${key}): ${JSON.stringify(replies)}`;
        const winners = replies.map((r, i) => (r.won ? i : -1)).filter((i) => i >= 0);
        assert.strictEqual(winners.length, 1, what);
        const w = winners[0];
        for (const [i, r] of replies.entries()) if (i !== w) assert.strictEqual(r.code, 'LOCKED', what);
        assert.strictEqual(lockFile(dir).token, replies[w].won, `the LOCK on disk carries the winner's token: ${what}`);
        assert.strictEqual(lockFile(dir).pid, racers[w].cp.pid, what);
        if (kind === 'no LOCK') assert.strictEqual(replies[w].line, undefined, what);
        else assert.match(replies[w].line ?? '', /^took over (stale lock of pid \d+ on \S+ \(|an unreadable LOCK)/, what);
        assert.deepStrictEqual(fs.readdirSync(dir), ['LOCK'], `no temp file or sentinel is left: ${what}`);
        await ask(racers[w], { op: 'release' });
        assert.deepStrictEqual(fs.readdirSync(dir), [], `released: ${what}`);
      }
      const ms = Date.now() - t0;
      console.log(`      ${ROUNDS} rounds × ${RACERS} racing processes in ${ms} ms (${(ms / ROUNDS).toFixed(1)} ms a round), one winner each:`);
      for (const [k, n] of [...tally.entries()].sort()) console.log(`        ${n} × ${k}`);
    });
  });
});
