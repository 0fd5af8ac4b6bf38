// Power loss loses nothing that was called durable. A short real job (and the store's direct calls) is
// recorded through src/store/fileLayer (FsRecorder); at every crash point, every directory a power loss
// may leave there (CrashModel, test/unit/powerLoss.ts) is rebuilt, reopened — which recovers it — and
// checked: every term reported durable before that point is there, every term there is right (OEIS
// b000182, not our own output), the newest snapshot restores, and a sample of them finishes its job.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as nodeFs from 'node:fs';
import * as path from 'node:path';
import { StateDir, type NewTerm } from '../../src/store';
import { fs as layer } from '../../src/store/fileLayer';
import { TermLog } from '../../src/store/termLog';
import { CURRENT_LOG_FORMAT, LOG_HEADER_SIZE, RECORD_OVERHEAD, checkRecord } from '../../src/store/termRecord';
import { restoreEngine, writeCheckpoint } from '../../src/worker/jobState';
import { JobRunner, type JobOptions } from '../../src/worker/runner';
import { CrashModel, FsRecorder, describeOp, materialize, treeDigest, type CrashState, type Op, type Tree } from './powerLoss';
import { REF_TERMS, mulberry32, tempDirs } from './testUtil';

const WORKER_DIR = path.resolve(__dirname, '../../../dist');
const REF = REF_TERMS.map((t) => t.digits);
const SEED = 0x5eed;
/** Random mixes per crash point, besides the systematic states. */
const SAMPLES = 3;
/** Crash points whose recovered state is handed to a real job to finish. */
const RESUMED_JOBS = 8;

const { roots, tmpDir } = tempDirs('tn-crash');

// ------------------------------------------------------------------------------ what was promised

/** What the store had promised at some moment (the files are relative to the state directory). */
interface Promised {
  /** Terms 1..terms were reported durable (an append that carried them returned). */
  terms: number;
  /** A snapshot at this position (or a later one) was reported written. */
  snapshotAt: number | null;
  /** Damaged bytes set aside, by name, with the digest of what they held: never to be lost. */
  asides: { name: string; sha: string }[];
  /** Earlier states archived by "start over", with the terms each held. */
  archives: { name: string; terms: number }[];
  /** During archive(): the terms may be in the (named once known) archive instead. */
  archiving: { name: string | null; terms: number } | null;
  /** During truncateTo(keep): terms after `keep` may be in the set-aside file instead. */
  truncating: { keep: number; aside: string | null } | null;
  /**
   * Damaged bytes, from the moment the damage is on disk: recovery sets them aside but never deletes
   * them, so at every moment some file holds them whole (or terms.log still does, at `inLog`).
   */
  preserved: { what: string; sha: string; bytes: number; inLog: number | null }[];
}

class Promises {
  private now: Promised = { terms: 0, snapshotAt: null, asides: [], archives: [], archiving: null, truncating: null, preserved: [] };
  private readonly timeline: { at: number; p: Promised }[] = [{ at: 0, p: this.now }];

  constructor(private readonly rec: FsRecorder) {}

  get current(): Readonly<Promised> {
    return this.now;
  }

  /** From the next operation on (the ones done so far happened before the promise). */
  set(change: Partial<Promised>): void {
    this.now = { ...this.now, ...change };
    this.timeline.push({ at: this.rec.ops.length, p: this.now });
  }

  /** What was promised once `done` operations had happened. */
  at(done: number): Promised {
    let p = this.timeline[0].p;
    for (const t of this.timeline) if (t.at <= done) p = t.p;
    return p;
  }
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Offset of term n's record in a log of the reference terms. */
function recordOffset(n: number): number {
  let off = LOG_HEADER_SIZE;
  for (let j = 1; j < n; j++) off += RECORD_OVERHEAD + REF[j - 1].length;
  return off;
}

/** Files set aside that a recovery report names (terms.log.corrupt-…, snapshot-….snap.corrupt-…). */
function asideNames(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (const l of lines) for (const m of l.matchAll(/((?:terms\.log|snapshot-\d{10}\.snap)\.corrupt-[0-9A-Za-z.-]*[0-9A-Za-z])/g)) out.push(m[1]);
  return out;
}

// ------------------------------------------------------------------------------ checking a crash state

/** A pid no process has: the writer of the recorded run, after the reboot. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  assert.ok(typeof r.pid === 'number' && r.pid > 0);
  return r.pid;
}

/**
 * After a power loss no process holds the lock. The recorded writer is this (living) process, so its
 * LOCK is made to name a pid that no longer exists, and to be as old as a reboot makes it.
 */
function reboot(dir: string, pid: number): void {
  const old = new Date(Date.now() - 3600_000);
  const walk = (d: string) => {
    for (const e of nodeFs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.startsWith('LOCK')) {
        const text = nodeFs.readFileSync(p, 'latin1');
        nodeFs.writeFileSync(p, text.replace(new RegExp(`"pid":${process.pid}\\b`, 'g'), `"pid":${pid}`), 'latin1');
        nodeFs.utimesSync(p, old, old);
      }
    }
  };
  walk(dir);
}

/** Terms first.. held by a set-aside piece of log (raw records), as long as they are intact and right. */
function termsInAside(file: string, first: number): number {
  if (!nodeFs.existsSync(file)) return first - 1;
  const b = nodeFs.readFileSync(file);
  let pos = 0;
  let n = first;
  while (pos + 12 <= b.length) {
    const len = RECORD_OVERHEAD + b.readUInt32LE(pos + 8);
    if (pos + len > b.length || checkRecord(b.subarray(pos, pos + len), n, CURRENT_LOG_FORMAT) !== null) break;
    assert.equal(b.toString('latin1', pos + 12, pos + len - 4), REF[n - 1], `term ${n} in ${path.basename(file)}`);
    pos += len;
    n++;
  }
  return n - 1;
}

/** Terms in the log of a (possibly half-made) archive directory, checked against the reference. */
function termsInArchive(dir: string): number {
  if (!nodeFs.existsSync(path.join(dir, 'terms.log'))) return 0;
  const log = TermLog.open(dir, { mode: 'read', durable: false, fullCheckBelowBytes: Infinity, report() {}, info() {} });
  try {
    for (const t of log.iterate()) assert.equal(t.digits, REF[t.n - 1], `archived term ${t.n}`);
    return log.count;
  } finally {
    log.close();
  }
}

/** Whether the damaged bytes `pr` are somewhere in a tree (under state/, archives included). */
function preservedIn(files: ReadonlyMap<string, Buffer>, pr: Promised['preserved'][number]): boolean {
  for (const [p, b] of files) {
    if (b.length === pr.bytes && sha(b) === pr.sha) return true;
    if (pr.inLog !== null && p === 'state/terms.log' && sha(b.subarray(pr.inLog, pr.inLog + pr.bytes)) === pr.sha) return true;
  }
  return false;
}

/** The files under `dir`, by path relative to its parent's parent ("state/…"), as preservedIn wants them. */
function filesOnDisk(dir: string, rel = 'state'): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const e of nodeFs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) for (const [k, v] of filesOnDisk(p, `${rel}/${e.name}`)) out.set(k, v);
    else out.set(`${rel}/${e.name}`, nodeFs.readFileSync(p));
  }
  return out;
}

interface Checked {
  count: number;
  recovered: boolean;
}

/**
 * Reopens the state directory `work/state` as a power loss left it (write mode: it recovers) and checks
 * it against what was promised. `tailCheck` opens it trusting the index's last entry (as logs of 4 MiB and
 * more are), else with a full scan (as small logs are).
 */
function checkRebuilt(work: string, p: Promised, where: string, tailCheck: boolean): Checked {
  const dir = path.join(work, 'state');
  let store: StateDir;
  try {
    store = StateDir.open(dir, tailCheck ? { fullCheckBelowBytes: 0 } : {});
  } catch (e) {
    assert.fail(`${where}: the state directory does not open: ${(e as Error).message}`);
  }
  const recoveries = [...store.recoveries];
  let count: number;
  try {
    count = store.count;
    let n = 0;
    for (const t of store.iterate()) {
      n++;
      assert.equal(t.n, n, where);
      assert.equal(t.digits, REF[n - 1], `${where}: term ${n} is wrong`);
    }
    assert.equal(n, count, `${where}: the log says ${count} terms but holds ${n}`);
    assert.deepEqual(store.verifyAll(), { ok: true }, where);
    if (count < p.terms) {
      // Only an archive or a truncation under way may hold durable terms elsewhere.
      let elsewhere = count;
      if (p.archiving?.name) elsewhere = Math.max(elsewhere, termsInArchive(path.join(dir, p.archiving.name)));
      if (p.truncating) {
        assert.ok(count >= p.truncating.keep, `${where}: truncating to ${p.truncating.keep} lost terms ${count + 1}..${p.truncating.keep}`);
        if (p.truncating.aside) elsewhere = Math.max(elsewhere, termsInAside(path.join(dir, p.truncating.aside), count + 1));
      }
      assert.ok(elsewhere >= p.terms, `${where}: terms ${count + 1}..${p.terms} were reported durable but are lost (the log holds ${count})`);
    }
    const snap = store.latestSnapshot;
    if (p.snapshotAt !== null) {
      assert.ok(snap && snap.header.position >= p.snapshotAt, `${where}: the snapshot at term ${p.snapshotAt} was reported written but is lost (latest: ${snap ? snap.header.position : 'none'})`);
    }
    if (snap || count > 0) {
      const restored = restoreEngine(store, undefined);
      assert.equal(restored.engine.done, store.count, `${where}: the restored job does not start where the log ends`);
      assert.ok(!restored.notes.some((l) => l.includes('failed verification')), `${where}: ${restored.notes.join('; ')}`);
    }
  } finally {
    store.close();
  }
  for (const a of p.asides) {
    const candidates = [path.join(dir, a.name), ...nodeFs.readdirSync(dir).filter((n) => n.startsWith('archive-')).map((n) => path.join(dir, n, a.name))];
    assert.ok(
      candidates.some((f) => nodeFs.existsSync(f) && sha(nodeFs.readFileSync(f)) === a.sha),
      `${where}: the set-aside file ${a.name} is lost or changed`,
    );
  }
  if (p.preserved.length > 0) {
    const files = filesOnDisk(dir);
    for (const pr of p.preserved) assert.ok(preservedIn(files, pr), `${where}: recovery lost the ${pr.what}`);
  }
  for (const a of p.archives) {
    let archived: StateDir;
    try {
      archived = StateDir.open(path.join(dir, a.name), { mode: 'read' });
    } catch (e) {
      assert.fail(`${where}: the archive ${a.name} does not open: ${(e as Error).message}`);
    }
    try {
      assert.ok(archived.count >= a.terms, `${where}: the archive ${a.name} lost terms ${archived.count + 1}..${a.terms}`);
      for (const t of archived.iterate()) assert.equal(t.digits, REF[t.n - 1], `${where}: archived term ${t.n}`);
    } finally {
      archived.close();
    }
  }
  // Recovery converges: a second open finds nothing more to repair and the same terms.
  const again = StateDir.open(dir);
  try {
    assert.deepEqual(again.recoveries, [], `${where}: a second open still repaired things (first: ${recoveries.join('; ')})`);
    assert.equal(again.count, count, where);
  } finally {
    again.close();
  }
  // A stale lock taken over is no repair of the data.
  return { count, recovered: recoveries.some((l) => !l.startsWith('took over')) };
}

// ------------------------------------------------------------------------------ the recorded run

interface Recorded {
  rec: FsRecorder;
  promises: Promises;
  /** Terms reported by 'committed' events, and checkpoints by 'checkpoint' events. */
  committed: number;
  checkpoints: number;
  pendingBlockCheckpoints: number;
  /** What the recorded run's recoveries and repairs reported (to check it went through them all). */
  reports: string[];
}

async function recordRun(root: string): Promise<Recorded> {
  const stateDir = path.join(root, 'state');
  const rec = new FsRecorder(root);
  const promises = new Promises(rec);
  const out: Recorded = { rec, promises, committed: 0, checkpoints: 0, pendingBlockCheckpoints: 0, reports: [] };
  const ours = (sd: StateDir) => sd.dir === stateDir;

  // Recording wrappers around the store's promises: each calls the real method, then notes what it promised.
  const proto = StateDir.prototype;
  // The originals: the wrappers call them with .call(this, …), and they are put back after the test.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const { appendTerms, writeSnapshot, truncateTo, archive } = proto;
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const open = StateDir.open;
  const noteAsides = (sd: StateDir, lines: readonly string[]) => {
    out.reports.push(...lines);
    const asides = asideNames(lines).map((name) => ({ name, sha: sha(nodeFs.readFileSync(path.join(sd.dir, name))) }));
    if (asides.length > 0) promises.set({ asides: [...promises.current.asides, ...asides] });
  };
  StateDir.open = (dir, opts) => {
    const sd = open.call(StateDir, dir, opts);
    if (ours(sd)) noteAsides(sd, sd.recoveries);
    return sd;
  };
  /** Called (on the job's own thread, as the run is inline) right after an append of the recorded job. */
  let afterAppend: (() => void) | undefined;
  proto.appendTerms = function (this: StateDir, terms) {
    appendTerms.call(this, terms);
    if (ours(this)) promises.set({ terms: this.count });
    afterAppend?.();
  };
  proto.writeSnapshot = function (this: StateDir, header, payload) {
    const snap = writeSnapshot.call(this, header, payload);
    if (ours(this)) promises.set({ snapshotAt: header.position });
    return snap;
  };
  proto.truncateTo = function (this: StateDir, count) {
    const truncating = { keep: count, aside: null as string | null };
    const seen = this.recoveries.length;
    promises.set({ truncating, snapshotAt: null });
    const first = rec.ops.length;
    truncateTo.call(this, count);
    // The set-aside file is the one renamed into place during the call.
    const moved = rec.ops.slice(first).find((o) => o.kind === 'rename' && o.to.includes('terms.log.corrupt-'));
    truncating.aside = moved && moved.kind === 'rename' ? path.posix.basename(moved.to) : null;
    noteAsides(this, this.recoveries.slice(seen));
    promises.set({ terms: this.count, truncating: null, snapshotAt: this.latestSnapshot?.header.position ?? null });
  };
  proto.archive = function (this: StateDir) {
    const archiving = { name: null as string | null, terms: promises.current.terms };
    promises.set({ archiving, snapshotAt: null });
    const first = rec.ops.length;
    const seen = this.recoveries.length;
    // Known once it is made (and needed for the crash points from there on).
    const made = () => rec.ops.slice(first).find((o) => o.kind === 'mkdir');
    let target: string;
    try {
      target = archive.call(this);
    } finally {
      const m = made();
      archiving.name = m ? path.posix.basename(m.path) : null;
    }
    out.reports.push(...this.recoveries.slice(seen));
    promises.set({ archiving: null, terms: this.count, archives: [...promises.current.archives, { name: path.basename(target), terms: archiving.terms }] });
    return target;
  };

  const job = async (phase: string, options: Partial<JobOptions>, started?: (runner: JobRunner) => void) => {
    rec.phase = phase;
    const runner = new JobRunner({ stateDir, workerDir: WORKER_DIR, inline: true, parallelism: 2, checkpointIntervalMs: 20, ...options });
    started?.(runner);
    runner.onEvent((e) => {
      if (e.type === 'committed') {
        // The append returned before the event was posted: the promise is already noted.
        assert.ok(promises.current.terms >= e.to, `${phase}: term ${e.to} committed before its append was seen`);
        out.committed++;
      }
      if (e.type === 'checkpoint') {
        out.checkpoints++;
        if (e.blocks.length > 0) out.pendingBlockCheckpoints++;
      }
    });
    const outcome = await runner.outcome;
    assert.equal(outcome.kind, 'stopped', `${phase}: ${JSON.stringify(outcome)}`);
    return outcome;
  };
  /** A change made as if by the disk or another program, durably, through the recorded layer. */
  const damage = (phase: string, file: string, offset: number, bytes: Buffer) => {
    rec.phase = phase;
    const fd = layer.openSync(file, 'r+');
    layer.writeSync(fd, bytes, 0, bytes.length, offset);
    layer.fsyncSync(fd);
    layer.closeSync(fd);
  };
  const logFile = path.join(stateDir, 'terms.log');
  const refTerms = (from: number, to: number): NewTerm[] => REF_TERMS.slice(from - 1, to);

  rec.start();
  try {
    await job('fresh job', { target: 40 });
    await job('extended job', { target: 90 });
    // Paused the moment its first terms are appended (this thread runs the job), while the first block of big
    // terms has just started: its checkpoint carries that block's state, and the resumed job continues it.
    await job('paused job', { target: 260 }, (runner) => {
      afterAppend = () => {
        afterAppend = undefined;
        runner.pause();
      };
    });
    await job('resumed job', { target: 260 });

    // A crashed writer's leftovers: half a record after the last term, a snapshot temp file, a bad index entry.
    const count = promises.current.terms;
    const torn = Buffer.alloc(12 + 40);
    torn.writeUInt32LE(0x52544e54, 0);
    torn.writeUInt32LE(count + 1, 4);
    torn.writeUInt32LE(REF[count].length, 8);
    torn.write(REF[count].slice(0, 40), 12, 'latin1');
    damage('torn tail', logFile, nodeFs.statSync(logFile).size, torn);
    const gens = nodeFs.readdirSync(stateDir).flatMap((n) => /^snapshot-(\d{10})\.snap$/.exec(n)?.[1] ?? []).map(Number);
    rec.phase = 'torn tail';
    layer.writeFileSync(path.join(stateDir, `snapshot-${String(Math.max(0, ...gens) + 1).padStart(10, '0')}.snap.tmp`), Buffer.alloc(700, 7));
    damage('torn tail', path.join(stateDir, 'terms.idx'), 8 * (count - 3), Buffer.alloc(8, 0xee));
    await job('job recovering a torn tail', { target: 270 });

    // The disk damaged the last record and the newest snapshot: recovery sets both aside.
    const last = promises.current.terms;
    const digitAt = recordOffset(last) + 12 + 3;
    const bad = Buffer.from([REF[last - 1].charCodeAt(3) === 0x35 ? 0x36 : 0x35]);
    promises.set({ terms: last - 1, snapshotAt: null });
    damage('damaged record', logFile, digitAt, bad);
    const damagedTail = nodeFs.readFileSync(logFile).subarray(recordOffset(last));
    const newest = nodeFs.readdirSync(stateDir).filter((n) => /^snapshot-\d{10}\.snap$/.test(n)).sort().pop();
    assert.ok(newest, 'the jobs wrote snapshots');
    damage('damaged record', path.join(stateDir, newest), 30, Buffer.from('garbage'));
    const damagedSnapshot = nodeFs.readFileSync(path.join(stateDir, newest));
    promises.set({
      preserved: [
        { what: `damaged record of term ${last} and what follows it`, sha: sha(damagedTail), bytes: damagedTail.length, inLog: recordOffset(last) },
        { what: `damaged ${newest}`, sha: sha(damagedSnapshot), bytes: damagedSnapshot.length, inLog: null },
      ],
    });
    rec.phase = 'open recovering damage';
    StateDir.open(stateDir).close();

    // The store's calls directly: appends, a snapshot, a truncation, start over, appends to the new log.
    rec.phase = 'direct store calls';
    let store = StateDir.open(stateDir);
    try {
      const c = store.count;
      store.appendTerms(refTerms(c + 1, c + 6));
      store.appendTerms(store.encodeTerms(refTerms(c + 7, c + 12)));
      writeCheckpoint(store, restoreEngine(store, 300).engine, 300, []);
      rec.phase = 'truncateTo';
      store.truncateTo(c - 20);
      rec.phase = 'archive';
      store.archive();
      rec.phase = 'appends after start over';
      store.appendTerms(refTerms(1, 12));
      store.appendTerms(refTerms(13, 20));
    } finally {
      store.close();
    }

    // A damaged log header: the log is set aside whole and a new one started.
    promises.set({ terms: 0, snapshotAt: null });
    damage('damaged header', logFile, 2, Buffer.from('XX'));
    const damagedLog = nodeFs.readFileSync(logFile);
    promises.set({ preserved: [...promises.current.preserved, { what: 'log with a damaged header', sha: sha(damagedLog), bytes: damagedLog.length, inLog: null }] });
    rec.phase = 'open after a damaged header';
    store = StateDir.open(stateDir);
    try {
      store.appendTerms(refTerms(1, 5));
    } finally {
      store.close();
    }
  } finally {
    rec.stop();
    StateDir.open = open;
    Object.assign(proto, { appendTerms, writeSnapshot, truncateTo, archive });
  }
  return out;
}

// ------------------------------------------------------------------------------ the test

describe('crash consistency under power loss (recorded file-layer trace, rebuilt at every crash point)', function () {
  this.timeout(180000);
  after(() => roots.splice(0).forEach((d) => nodeFs.rmSync(d, { recursive: true, force: true })));

  it('the model loses exactly what was not synced (a write without fsync, a rename without a directory fsync)', () => {
    const root = tmpDir('model');
    const rec = new FsRecorder(root);
    rec.start();
    try {
      const fd = layer.openSync(path.join(root, 'a'), 'w');
      layer.writeSync(fd, Buffer.alloc(1500, 1), 0, 1500, 0);
      layer.fsyncSync(fd);
      layer.writeSync(fd, Buffer.alloc(1000, 2), 0, 1000, 1500);
      layer.closeSync(fd);
      layer.renameSync(path.join(root, 'a'), path.join(root, 'b'));
    } finally {
      rec.stop();
    }
    assert.deepEqual(rec.problems, []);
    assert.deepEqual(rec.ops.map(describeOp), ['create a', 'write 1500 bytes at 0 of a', 'fsync a', 'write 1000 bytes at 1500 of a', 'rename a -> b']);
    const model = new CrashModel(rec.initialNames, rec.initialFiles);
    for (const op of rec.ops) model.apply(op);
    const trees = model.crashStates(mulberry32(1), 4).map((s) => model.tree(s));
    const seen = new Set(trees.map((t) => [...t].map(([p, b]) => `${p}:${b === null ? 'dir' : b.length}`).join(',')));
    // Neither the create nor the rename is durable: no file at all, or a or b, with the synced 1500 bytes,
    // all 2500, torn at a sector boundary (1536, 2048), or with a zero tail.
    for (const expected of ['', 'a:1500', 'a:2500', 'b:1500', 'b:2500', 'b:1536', 'b:2048']) assert.ok(seen.has(expected), `missing state "${expected}" in ${[...seen].join(' | ')}`);
    for (const t of trees) assert.ok(!(t.has('a') && t.has('b')), 'a rename is atomic');
    const zeroTail = trees.find((t) => t.get('b')?.length === 2500 && (t.get('b') as Buffer)[2499] === 0);
    assert.ok(zeroTail, 'a grown size may reach the disk without its data');
  });

  it('every crash state of a recorded job recovers with every term reported durable, and none wrong', async () => {
    const t0 = performance.now();
    const root = tmpDir('run');
    const run = await recordRun(root);
    const recordMs = performance.now() - t0;
    const { rec, promises } = run;
    const ops: readonly Op[] = rec.ops;
    assert.deepEqual(rec.problems, [], 'every file-system call was recorded');
    assert.ok(run.committed > 0 && run.checkpoints > 0, 'the jobs committed terms and wrote checkpoints');
    assert.ok(run.pendingBlockCheckpoints > 0, 'the paused job checkpointed the state of a running block');
    // The run went through every recovery whose writes are to be crashed.
    for (const re of [/cut a torn tail/, /removed leftover temporary file snapshot-/, /terms\.idx/, /record of term \d+ .* is damaged/, /set snapshot-\d+\.snap aside/, /cut terms\.log back/, /archived the previous state/, /terms\.log was unreadable/]) {
      assert.ok(run.reports.some((l) => re.test(l)), `no recovery matched ${re} in: ${run.reports.join(' | ')}`);
    }

    // The rebuilt states live on tmpfs where there is one: their reopening fsyncs like any open, at no cost there.
    const scratch = nodeFs.existsSync('/dev/shm') ? nodeFs.mkdtempSync('/dev/shm/tn-crash-states-') : tmpDir('states');
    if (!roots.includes(scratch)) roots.push(scratch);
    const pid = deadPid();
    const rand = mulberry32(SEED);
    const model = new CrashModel(rec.initialNames, rec.initialFiles);
    const checked = new Map<string, Checked>();
    let rebuilt = 0;
    let recovered = 0;
    let k = 0;
    // Crash points spread over the trace whose harshest state ("only what was synced") a real job finishes.
    const resumeAt = new Set(Array.from({ length: RESUMED_JOBS }, (_, i) => Math.round(((i + 1) * ops.length) / (RESUMED_JOBS + 1))));
    const toResume: { tree: Tree; key: string; where: string }[] = [];
    for (let i = -1; i < ops.length; i++) {
      if (i >= 0) model.apply(ops[i]);
      const promised = promises.at(i + 1);
      const pointName = i < 0 ? 'before the first operation' : `after operation ${i} (${ops[i].phase}: ${describeOp(ops[i])})`;
      const states: CrashState[] = model.crashStates(rand, SAMPLES);
      for (const s of states) {
        rebuilt++;
        const tree = model.tree(s);
        const where = `crash ${pointName}, ${s.label} [seed ${SEED}]`;
        const key = `${treeDigest(tree)}|${JSON.stringify(promised)}`;
        if (resumeAt.has(i) && s.label === 'only what was synced') toResume.push({ tree, key, where });
        if (checked.has(key)) continue;
        for (const pr of promised.preserved) {
          const files = new Map([...tree].filter((e): e is [string, Buffer] => e[1] !== null));
          assert.ok(preservedIn(files, pr), `${where}: the ${pr.what} is lost (before any recovery)`);
        }
        const work = path.join(scratch, String(k++));
        nodeFs.mkdirSync(work);
        materialize(tree, work);
        reboot(work, pid);
        // Half the states are opened trusting the index's last entry, as large logs are.
        let result: Checked;
        try {
          result = checkRebuilt(work, promised, where, k % 2 === 0);
        } catch (e) {
          if (e instanceof assert.AssertionError) throw e;
          throw new Error(`${where}: ${(e as Error).message}`, { cause: e });
        }
        checked.set(key, result);
        if (result.recovered) recovered++;
        nodeFs.rmSync(work, { recursive: true, force: true });
      }
    }
    const checkMs = performance.now() - t0 - recordMs;

    // A job resumed from a crash state (recovering it again) finishes with exactly the reference terms.
    for (const r of toResume) {
      const work = path.join(scratch, String(k++));
      nodeFs.mkdirSync(work);
      materialize(r.tree, work);
      reboot(work, pid);
      const stateDir = path.join(work, 'state');
      const target = Math.min(REF.length, Math.max((checked.get(r.key) as Checked).count, 20) + 8);
      const outcome = await new JobRunner({ stateDir, target, workerDir: WORKER_DIR, inline: true, parallelism: 1, checkpointIntervalMs: 50 }).outcome;
      assert.equal(outcome.kind, 'stopped', `${r.where}: resumed job: ${JSON.stringify(outcome)}`);
      const store = StateDir.open(stateDir, { mode: 'read' });
      try {
        assert.equal(store.count, target, `${r.where}: the resumed job ended at ${store.count} of ${target}`);
        for (const t of store.iterate()) assert.equal(t.digits, REF[t.n - 1], `${r.where}: resumed job's term ${t.n}`);
      } finally {
        store.close();
      }
      nodeFs.rmSync(work, { recursive: true, force: true });
    }
    assert.ok(toResume.length >= RESUMED_JOBS / 2, `resumed ${toResume.length} jobs`);

    const phases = [...new Set(ops.map((o) => o.phase))];
    const seconds = (ms: number) => (ms / 1000).toFixed(1);
    console.log(
      `      crash consistency: ${ops.length} operations recorded in ${phases.length} phases (${run.committed} commits, ` +
        `${run.checkpoints} checkpoints, ${run.pendingBlockCheckpoints} with running blocks), ${ops.length + 1} crash points, ` +
        `${rebuilt} states rebuilt, ${checked.size} distinct ones reopened and checked (${recovered} needed recovery), ` +
        `${toResume.length} resumed jobs finished; record ${seconds(recordMs)} s, check ${seconds(checkMs)} s, ` +
        `total ${seconds(performance.now() - t0)} s`,
    );
  });
});
