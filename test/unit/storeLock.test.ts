// One-writer lock: same-process and cross-process exclusion, stale-lock takeover.
import * as assert from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { StateDir } from '../../src/store';
import type { Term } from '../../src/store';
import { REF_TERMS, tempDirs, expectStoreError } from './testUtil';

const REF: Term[] = REF_TERMS;
const { roots, tmpDir } = tempDirs('tn-store');
const storeModule = path.resolve(__dirname, '../../src/store/index.js');
// ----

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
function lockFile(dir: string): { pid: number; hostname: string; startedAt: string; token: string } {
  return JSON.parse(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8'));
}

describe('store: writer lock', function () {
  this.timeout(30_000);
  after(() => roots.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('writes {pid, hostname, startedAt, token} and refuses a second writer in the same process', () => {
    const dir = tmpDir('lock1');
    const a = StateDir.open(dir);
    try {
      const info = lockFile(dir);
      assert.strictEqual(info.pid, process.pid);
      assert.strictEqual(info.hostname, os.hostname());
      assert.ok(!Number.isNaN(Date.parse(info.startedAt)));
      assert.match(info.token, /^[0-9a-f]{32}$/);
      const e = expectStoreError(() => StateDir.open(dir), 'LOCKED');
      assert.strictEqual(e.message, `another process (pid ${process.pid} on ${os.hostname()}) is writing ${dir}`);
      assert.deepStrictEqual(lockFile(dir), info, 'the refused open must not disturb the lock');
      a.appendTerms(REF.slice(0, 3)); // still ours
      const r = StateDir.open(dir, { mode: 'read' }); // readers take no lock
      assert.strictEqual(r.count, 3);
      r.close();
    } finally {
      a.close();
    }
    assert.ok(!fs.existsSync(path.join(dir, 'LOCK')));
    const b = StateDir.open(dir);
    assert.strictEqual(b.count, 3);
    b.close();
  });

  it('a lock of another host is never taken over', () => {
    const dir = tmpDir('lockhost');
    StateDir.open(dir).close();
    const other = { pid: 12345, hostname: `not-${os.hostname()}`, startedAt: new Date(0).toISOString(), token: 'x' };
    fs.writeFileSync(path.join(dir, 'LOCK'), JSON.stringify(other));
    const e = expectStoreError(() => StateDir.open(dir), 'LOCKED');
    assert.ok(e.message.includes(`pid 12345 on not-${os.hostname()}`), e.message);
    assert.deepStrictEqual(lockFile(dir), other);
  });

  it('an empty or unparsable LOCK (crash while writing it) is stale once it is not brand new', () => {
    const dir = tmpDir('lockempty');
    StateDir.open(dir).close();
    for (const content of ['', '{"pid": 4']) {
      const lock = path.join(dir, 'LOCK');
      fs.writeFileSync(lock, content);
      const old = new Date(Date.now() - 60_000);
      fs.utimesSync(lock, old, old);
      const sd = StateDir.open(dir);
      try {
        assert.ok(sd.recoveries.some((l) => l.startsWith('took over')), sd.recoveries.join(' | '));
        assert.strictEqual(lockFile(dir).pid, process.pid);
      } finally {
        sd.close();
      }
    }
  });

  it('a lock with our pid from before this process started is a previous incarnation (pid reuse)', () => {
    const dir = tmpDir('lockreuse');
    StateDir.open(dir).close();
    const stale = { pid: process.pid, hostname: os.hostname(), startedAt: new Date(Date.now() - 86_400_000 - process.uptime() * 1000).toISOString(), token: 'old' };
    fs.writeFileSync(path.join(dir, 'LOCK'), JSON.stringify(stale));
    const sd = StateDir.open(dir);
    assert.ok(sd.recoveries.some((l) => l.startsWith('took over')), sd.recoveries.join(' | '));
    sd.close();
  });

  it('a live child holding the lock makes our open fail with LOCKED; after it closes we get in', async () => {
    const dir = tmpDir('lockchild');
    const cp = await lockingChild(dir);
    try {
      const e = expectStoreError(() => StateDir.open(dir), 'LOCKED');
      assert.strictEqual(e.message, `another process (pid ${cp.pid} on ${os.hostname()}) is writing ${dir}`);
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
    const lines: string[] = [];
    const sd = StateDir.open(dir, { logger: { info: () => undefined, warn: (m) => lines.push(m) } });
    try {
      assert.ok(sd.recoveries.includes(`took over stale lock of pid ${pid}`), sd.recoveries.join(' | '));
      assert.ok(lines.includes(`took over stale lock of pid ${pid}`));
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
    const usurper = { pid: 1, hostname: os.hostname(), startedAt: new Date().toISOString(), token: 'theirs' };
    fs.writeFileSync(path.join(dir, 'LOCK'), JSON.stringify(usurper));
    expectStoreError(() => sd.appendTerms([REF[5]]), 'LOCKED');
    expectStoreError(() => sd.writeSnapshot({ sequence: 'A000182', algorithm: 'a', position: 5, target: 10 }, Buffer.alloc(1)), 'LOCKED');
    assert.strictEqual(sd.count, 5);
    sd.close();
    assert.deepStrictEqual(lockFile(dir), usurper);
  });
});
