// Outer scenarios (plain Node + Playwright): a real VS Code (code-server 4.100.3) with the Tangent Numbers
// extension, driven through its UI (command palette, input box, status bar, notifications, window reloads,
// a second window) and through its extension host process (SIGKILL). The stored terms are always checked
// against the PARI/GP / OEIS references in test/fixtures, never against the extension's own output.
//
// Needs `npm run install:vscode` once and `npm run build && npm run build:tests`.
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { Bridge, BRIDGE_INDEX } from '../harness/bridgeClient';
import { REPO_ROOT, VSCodeSession, type SessionOptions } from '../harness/codeServer';
import { latestSnapshot, poll, referenceBfile500, referenceBfileHash, storedBfile, storedBfileHash, storedCount, durableCount } from '../harness/references';
import {
  COMPUTE,
  computeViaPalette,
  STATUS_ITEM_ID,
  extensionLogLines,
  packageVsix,
  paletteLabels,
  quickInputValue,
  readIntent,
  stateDirOf,
  storageRoot,
  statusDone,
  statusItem,
  waitForActivation,
  waitForExtensionLog,
  waitForFocusedRow,
  waitForQuickInputIdle,
  waitForQuickInputTitle,
  waitForStatus,
} from '../harness/tangentSession';

const RUNNING = /^T (\d+)\/4000 · (\d+)% · /;
/** The pause test never finishes its job: a target large enough that it cannot end before Cancel on a fast machine. */
const LONG = 8000;
const RUNNING_LONG = new RegExp(`^T (\\d+)/${LONG} · (\\d+)% · `);
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** job.json's intent fields (it also keeps what the job took: computeMs, runs). */
function intentOnly(j: { target: number; intent: string; startOver?: boolean } | undefined): { target: number; intent: string; startOver?: boolean } | undefined {
  return j && { target: j.target, intent: j.intent, ...(j.startOver !== undefined ? { startOver: j.startOver } : {}) };
}

/** Measured numbers, printed after the suite (and kept in test-artifacts/extension-metrics.json). */
const metrics: Record<string, unknown> = {};

describe('Tangent Numbers extension in VS Code (code-server)', function () {
  this.timeout(240_000);
  let session: VSCodeSession | undefined;
  /** Sessions a test killed and replaced (startAgain): stopped after it, for their logs and temp dirs. */
  const retired: VSCodeSession[] = [];
  let extraPage: Page | undefined;
  const tempDirs: string[] = [];
  const children: ChildProcess[] = [];

  function tempDir(prefix: string): string {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    tempDirs.push(d);
    return d;
  }

  /** A session on a fresh folder; the extension from the repository unless opts says otherwise. */
  async function start(label: string, opts: SessionOptions = {}): Promise<VSCodeSession> {
    session = await VSCodeSession.start({ workspace: tempDir('tangent-ws-'), extensionDevelopmentPath: REPO_ROOT, label, ...opts });
    return session;
  }

  /** Another writer on a state directory: the extension's own CLI, a separate process. Resolves once it holds
   *  the lock and has stored terms. */
  async function startOtherWriter(dir: string): Promise<{ process: ChildProcess; exit: Promise<number | null>; output: () => string }> {
    const cli = spawn(process.execPath, [path.join(REPO_ROOT, 'dist', 'cli.js'), '--count', '4000', '--state', dir, '--checkpoint-interval', '1'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(cli);
    let output = '';
    cli.stdout.on('data', (d: Buffer) => (output += d.toString()));
    cli.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exit = new Promise<number | null>((resolve) => cli.once('exit', (code) => resolve(code)));
    await poll(async () => {
      if (cli.exitCode !== null) throw new Error(`the CLI exited early (${cli.exitCode}):\n${output}`);
      return fs.existsSync(path.join(dir, 'LOCK')) && (await storedCount(dir)) > 0;
    }, 'the CLI to hold the lock and store terms', 30_000, 20);
    return { process: cli, exit, output: () => output };
  }

  afterEach(async function () {
    if (session && this.currentTest?.state === 'failed') {
      await session.screenshot(`failed-${this.currentTest.title.slice(0, 60)}`).catch(() => undefined);
      if (extraPage && !extraPage.isClosed()) {
        const file = path.join(session.artifactsDir, `failed-${this.currentTest.title.slice(0, 50).replace(/[^\w.-]+/g, '_')}-window2.png`);
        await extraPage.screenshot({ path: file }).catch(() => undefined);
      }
    }
    if (extraPage && !extraPage.isClosed()) {
      await extraPage.goto('about:blank', { timeout: 10_000 }).catch(() => undefined);
      await extraPage.close().catch(() => undefined);
    }
    extraPage = undefined;
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await session?.stop();
    session = undefined;
    for (const r of retired.splice(0)) await r.stop();
    for (const d of tempDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  after(function () {
    if (Object.keys(metrics).length === 0) return;
    const dir = path.join(REPO_ROOT, 'test-artifacts');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'extension-metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
    console.log(`      metrics: ${JSON.stringify(metrics)}`);
  });

  it('activates after start-up with no interaction; the input box rejects bad counts; Escape starts nothing', async function () {
    const s = await start('bad-input');
    // Nothing has been clicked or typed: only onStartupFinished can have activated the extension.
    await waitForActivation(s);
    const initial = await statusItem(s);
    assert.ok(!initial?.visible, `no job yet, so no status bar item; got ${JSON.stringify(initial)}`);

    await s.runCommand(COMPUTE);
    await waitForQuickInputTitle(s, /^Tangent Numbers: Compute$/);
    assert.equal(await quickInputValue(s), '1000', 'the input box proposes tangentNumbers.defaultCount');
    await s.quickInputValidationMessage(/How many terms T\(1\.\.N\)\? A whole number from 1 to 20000/);

    await s.typeIntoQuickInput('abc');
    assert.match(await s.quickInputValidationMessage(/not a whole number/), /not a whole number/);
    await s.typeIntoQuickInput('0');
    assert.match(await s.quickInputValidationMessage(/must be between 1 and 20000/), /must be between 1 and 20000/);
    await s.typeIntoQuickInput('20001');
    assert.match(await s.quickInputValidationMessage(/must be between 1 and 20000/), /must be between 1 and 20000/);
    await s.typeIntoQuickInput('-5');
    await s.quickInputValidationMessage(/not a whole number/);
    // A valid value clears the error again (the prompt is shown).
    await s.typeIntoQuickInput('20000');
    await s.quickInputValidationMessage(/^How many terms/);
    // Enter on an invalid value is refused: the box stays open.
    await s.typeIntoQuickInput('abc', { submit: true });
    await delay(300);
    assert.ok(await s.quickInputVisible(), 'Enter with an invalid value must not accept the input box');

    await s.pressKey('Escape');
    await poll(async () => !(await s.quickInputVisible()), 'the input box to close on Escape', 10_000, 50);
    await delay(2000); // a started job would have created its state and shown the status bar item by now
    const dir = stateDirOf(s);
    assert.ok(!fs.existsSync(dir), `no job may start: ${dir} exists`);
    assert.equal(readIntent(s), undefined, 'no job.json may be written');
    const after = await statusItem(s);
    assert.ok(!after?.visible, `the status bar item stays hidden; got ${JSON.stringify(after)}`);
    assert.ok(!extensionLogLines(s).some((l) => /started: |opened .* \(write\)/.test(l)), 'the log shows no job start');
  });

  it('status bar item shows the progress of a running job, increasing, then done; with aria-label and tooltip', async function () {
    const s = await start('status-bar');
    await waitForActivation(s);
    await computeViaPalette(s, 4000);
    const samples: { t: number; text: string; ariaLabel: string | null; spinning: boolean }[] = [];
    const item = s.page.locator(`.statusbar-item[id="${STATUS_ITEM_ID}"]`).first();
    const t0 = Date.now();
    for (;;) {
      const cur = await statusItem(s);
      if (cur?.visible) {
        const spinning = (await item.locator('.codicon-sync.codicon-modifier-spin').count()) > 0;
        samples.push({ t: Date.now() - t0, text: cur.text, ariaLabel: cur.ariaLabel, spinning });
        if (/done/.test(cur.text)) break;
      }
      if (Date.now() - t0 > 120_000) throw new Error(`no "done" within 120 s; last samples ${JSON.stringify(samples.slice(-3))}`);
      await delay(100);
    }
    const running = samples.filter((x) => !/done/.test(x.text));
    assert.ok(running.length >= 3, `expected several samples while running, got ${JSON.stringify(samples)}`);
    for (const x of running) {
      assert.match(x.text, RUNNING, `running text ${JSON.stringify(x.text)}`);
      const [, done, pct] = RUNNING.exec(x.text)!;
      assert.equal(Number(pct), Math.floor((100 * Number(done)) / 4000), `percentage in ${x.text}`);
      assert.match(x.ariaLabel ?? '', new RegExp(`^Tangent numbers running: ${done} of 4000 terms, ${pct} percent, about .+ left$`), 'aria-label while running');
      assert.ok(x.spinning, `the running item shows the spinning sync icon (${x.text})`);
    }
    const counts = running.map((x) => Number(RUNNING.exec(x.text)![1]));
    for (let i = 1; i < counts.length; i++) assert.ok(counts[i] >= counts[i - 1], `the count went back: ${counts.join(', ')}`);
    const distinct = new Set(counts).size;
    assert.ok(distinct >= 3 && counts[counts.length - 1] > counts[0], `the count must visibly increase: ${counts.join(', ')}`);
    const last = samples[samples.length - 1];
    assert.equal(last.text, 'T 4000 · done');
    assert.equal(last.ariaLabel, 'Tangent numbers done: 4000 terms');
    assert.equal(await item.locator('.codicon-check').count(), 1, 'done shows the check icon');
    assert.equal(await item.locator('a.statusbar-item-label').getAttribute('role'), 'button', 'accessibilityInformation role');
    metrics.statusBar = { samples: running.length, distinctCounts: distinct, firstRunning: running[0].text, doneAfterMs: last.t };

    // The tooltip (a Markdown hover) summarizes the job.
    await item.hover();
    const hover = s.page.locator('.workbench-hover, .monaco-hover').filter({ hasText: 'Tangent numbers' }).first();
    await hover.waitFor({ state: 'visible', timeout: 10_000 });
    const tip = await hover.innerText();
    assert.match(tip, /Tangent numbers — done/);
    assert.match(tip, /4000 of 4000 terms \(100%\)/);
    assert.match(tip, /Click to show the terms/);

    const stored = storedBfileHash(stateDirOf(s));
    assert.equal(stored.sha256, referenceBfileHash(4000).sha256, 'b-file sha256 against PARI/GP (N = 4000)');
  });

  it('reloading the window mid-run resumes where the job was (not at term 1) and finishes with the reference terms', async function () {
    const s = await start('reload-mid-run');
    await waitForActivation(s);
    await computeViaPalette(s, 4000);
    const dir = stateDirOf(s);
    const before = await poll(async () => {
      const c = await storedCount(dir);
      return c > 500 ? c : undefined;
    }, 'more than 500 stored terms', 60_000, 20);
    const since = extensionLogLines(s).length;
    const t0 = Date.now();
    await s.reloadWindow();
    // If the old host ended without releasing its lock, the new one took it over and says so instead.
    const note = await s.waitForNotification(/(?:Resumed Tangent numbers|took over the job from pid \d+ on \S+ \(last alive [^)]+\); resuming) at term \d+ of 4000/, 60_000);
    const resumedAt = Number(/at term (\d+) of/.exec(note)![1]);
    const resumeMs = Date.now() - t0;
    assert.ok(resumedAt > 1, `resumed at term ${resumedAt}: it restarted`);
    assert.ok(resumedAt >= before + 1, `resumed at term ${resumedAt}, but ${before} terms were stored before the reload`);
    const found = await waitForExtensionLog(s, /found an unfinished job \(\d+ of 4000 terms\); resuming/, 30_000, since);
    await waitForExtensionLog(s, new RegExp(`resumed at term ${resumedAt} of 4000 \\(`), 30_000, since);
    // The old host's worker may still append a few terms while it stops (under the lock), so the new host's
    // first look can see fewer terms than its worker then resumes after; never more.
    const foundCount = Number(/\((\d+) of 4000/.exec(found)![1]);
    assert.ok(foundCount >= before && foundCount <= resumedAt - 1, `found ${foundCount} stored terms; ${before} before the reload, resumed at ${resumedAt}`);
    // If the new host came up while the old one still held the lock, it waited read-only and then took over.
    const readOnlyPhase = extensionLogLines(s).slice(since).some((l) => /read-only: /.test(l));
    if (readOnlyPhase) await waitForExtensionLog(s, /taking the job over/, 30_000, since);
    await waitForStatus(s, /^T 4000 · done$/, 120_000);
    const stored = storedBfileHash(dir);
    assert.equal(stored.count, 4000);
    assert.equal(stored.sha256, referenceBfileHash(4000).sha256, 'b-file sha256 against PARI/GP (N = 4000)');
    metrics.reload = { storedBeforeReload: before, foundByNewHost: foundCount, resumedAtTerm: resumedAt, reloadToResumedNotificationMs: resumeMs, readOnlyPhase };
  });

  it('pause is kept across a reload (not resumed); Resume and Cancel from the palette; commands follow the state', async function () {
    const s = await start('pause-reload');
    await waitForActivation(s);
    await computeViaPalette(s, LONG);
    await waitForStatus(s, RUNNING_LONG, 30_000);
    const dir = stateDirOf(s);
    await poll(async () => (await storedCount(dir)) > 300, 'more than 300 stored terms', 60_000, 20);
    await s.runCommand('Tangent Numbers: Pause');
    const paused = await waitForStatus(s, new RegExp(`^T \\d+/${LONG} · paused$`), 30_000);
    const k = statusDone(paused.text)!;
    assert.ok(k < LONG, `paused before the end (${paused.text})`);
    assert.equal(await storedCount(dir), k, 'the status bar shows the stored count');
    assert.equal(readIntent(s)?.intent, 'paused');
    let labels = await paletteLabels(s, 'Tangent Numbers:', /Compute/);
    assert.ok(labels.includes('Tangent Numbers: Resume') && !labels.includes('Tangent Numbers: Pause'), `palette while paused: ${labels.join(' | ')}`);

    const since = extensionLogLines(s).length;
    await s.reloadWindow();
    await waitForActivation(s, 60_000, since);
    await waitForStatus(s, new RegExp(`^T ${k}/${LONG} · paused$`), 30_000);
    await delay(3000);
    assert.equal((await statusItem(s))?.text, `T ${k}/${LONG} · paused`, 'still paused 3 s after the reload');
    assert.equal(await storedCount(dir), k, 'no terms were computed after the reload');
    assert.deepEqual((await s.notifications()).filter((n) => /Resumed/.test(n)), [], 'no "Resumed" notification for a paused job');
    assert.ok(!extensionLogLines(s).slice(since).some((l) => /resuming|resumed at term/.test(l)), 'the log shows no resume');

    await s.runCommand('Tangent Numbers: Resume');
    await waitForStatus(s, RUNNING_LONG, 30_000);
    assert.equal(readIntent(s)?.intent, 'run');
    await poll(async () => (await storedCount(dir)) > k, 'the resumed job to store more terms', 60_000, 20);
    await waitForExtensionLog(s, new RegExp(`resumed at term ${k + 1} of ${LONG}`), 30_000, since);
    labels = await paletteLabels(s, 'Tangent Numbers:', /Compute/);
    assert.ok(labels.includes('Tangent Numbers: Pause') && labels.includes('Tangent Numbers: Cancel'), `palette while running: ${labels.join(' | ')}`);

    await s.runCommand('Tangent Numbers: Cancel');
    const cancelled = await waitForStatus(s, new RegExp(`^T \\d+/${LONG} · cancelled$`), 30_000);
    const c = statusDone(cancelled.text)!;
    assert.ok(c >= k, `cancelled at ${c}, below the ${k} terms stored when paused`);
    assert.equal(readIntent(s)?.intent, 'cancelled');
    await delay(1000);
    assert.equal(await storedCount(dir), c, 'nothing is computed after cancel');
    labels = await paletteLabels(s, 'Tangent Numbers:', /Compute/);
    assert.ok(!labels.includes('Tangent Numbers: Pause') && !labels.includes('Tangent Numbers: Cancel') && labels.includes('Tangent Numbers: Resume'),
      `palette when cancelled: ${labels.join(' | ')}`);
    metrics.pause = { pausedAt: k, cancelledAt: c };
  });

  it('a second window on the same folder gets its own storage: the running job in the first is untouched and correct', async function () {
    // The first window's item is read well after its job may have finished: keep it after done.
    const s = await start('second-window', { settings: { 'tangentNumbers.statusBar.keepAfterDone': true } });
    await waitForActivation(s);
    await computeViaPalette(s, 4000);
    await waitForStatus(s, RUNNING, 30_000);
    const since = extensionLogLines(s).length;
    extraPage = await s.openAdditionalWindow();
    // VS Code gives a second window on a folder whose workspace storage is in use a storage of its own
    // (<hash>-1), so the two extension hosts never share a state directory.
    const line = await waitForExtensionLog(s, /\[info\] storage: /, 60_000, since);
    const second = line.slice(line.indexOf('storage: ') + 'storage: '.length);
    assert.notEqual(second, storageRoot(s), 'the second window has its own storageUri');
    assert.match(second, /-1\/tangent-numbers\.tangent-numbers$/);
    const first = await statusItem(s);
    assert.match(first?.text ?? '', /^T \d+\/4000 · \d+% · |^T 4000 · done$/, 'the first window still runs its job');
    await delay(1000);
    const other = await statusItem(s, extraPage);
    assert.ok(!other?.visible, `the second window has no job, so no status bar item: ${JSON.stringify(other)}`);
    await waitForStatus(s, /^T 4000 · done$/, 120_000);
    const stored = storedBfileHash(stateDirOf(s));
    assert.equal(stored.count, 4000);
    assert.equal(stored.sha256, referenceBfileHash(4000).sha256, 'b-file sha256 against PARI/GP (N = 4000)');
    assert.ok(!fs.existsSync(path.join(second, 'state')), 'the second window created no state of its own');
  });

  it('while another process writes the job, the window shows it read-only ($(lock)) and follows it; the terms match', async function () {
    const s = await start('read-only');
    await waitForActivation(s);
    const dir = stateDirOf(s);
    const cli = await startOtherWriter(dir);

    await computeViaPalette(s, 4000);
    const ro = await waitForStatus(s, /^T \d+\/4000 · \d+%$/, 30_000);
    const item = s.page.locator(`.statusbar-item[id="${STATUS_ITEM_ID}"]`).first();
    assert.equal(await item.locator('.codicon-lock').count(), 1, `the read-only item shows the lock icon (${ro.text})`);
    assert.match(ro.ariaLabel ?? '', /^Tangent numbers computed by another window or process: \d+ of 4000 terms, read-only here$/);
    await waitForExtensionLog(s, /\[warning\] read-only: another process \(pid \d+/, 10_000);
    // The window follows the other writer's progress from the stored terms, without writing.
    const seen = new Set<number>();
    await poll(async () => {
      const cur = await statusItem(s);
      const d = statusDone(cur?.text ?? '');
      if (d !== undefined) seen.add(d);
      return d === 4000 ? cur : undefined;
    }, 'the read-only item to reach 4000/4000', 120_000, 100);
    assert.ok(seen.size >= 2, `the read-only window followed the progress: ${[...seen].join(', ')}`);
    assert.equal(await cli.exit, 0, `the CLI failed:\n${cli.output()}`);
    // Once the other writer has let go of the finished job, the window shows it done.
    await waitForStatus(s, /^T 4000 · done$/, 30_000);
    await waitForExtensionLog(s, /the other writer finished the job \(4000 terms\)/, 10_000);
    const stored = storedBfileHash(dir);
    assert.equal(stored.count, 4000);
    assert.equal(stored.sha256, referenceBfileHash(4000).sha256, 'b-file sha256 against PARI/GP (N = 4000)');
    metrics.readOnly = { countsSeen: seen.size, firstReadOnlyText: ro.text };
  });

  it('when the other writer dies mid-run, the read-only window takes the job over and finishes it correctly', async function () {
    const s = await start('take-over');
    await waitForActivation(s);
    const dir = stateDirOf(s);
    const cli = await startOtherWriter(dir);
    await computeViaPalette(s, 4000);
    await waitForStatus(s, /^T \d+\/4000 · \d+%$/, 30_000);
    assert.equal(await s.page.locator(`.statusbar-item[id="${STATUS_ITEM_ID}"] .codicon-lock`).count(), 1, 'read-only while the CLI writes');
    await poll(async () => (await storedCount(dir)) > 1000, 'the CLI to store 1000 terms', 60_000, 20);
    cli.process.kill('SIGKILL');
    await cli.exit;
    const stored = durableCount(dir);
    assert.ok(stored < 4000, `the CLI was killed before the end (${stored} terms)`);
    const since = extensionLogLines(s).length;
    await waitForExtensionLog(s, /the other writer stopped at term \d+; taking the job over/, 15_000, since);
    await waitForExtensionLog(s, /took over stale lock of pid \d+/, 15_000, since);
    const resumed = await waitForExtensionLog(s, /resumed at term \d+ of 4000/, 15_000, since);
    const at = Number(/resumed at term (\d+)/.exec(resumed)![1]);
    assert.equal(at, stored + 1, `the window continued after the ${stored} stored terms`);
    await waitForStatus(s, /^T 4000 · done$/, 120_000);
    const final = storedBfileHash(dir);
    assert.equal(final.count, 4000);
    assert.equal(final.sha256, referenceBfileHash(4000).sha256, 'b-file sha256 against PARI/GP (N = 4000)');
    metrics.takeOver = { storedWhenOtherWriterDied: stored, resumedAtTerm: at };
  });

  describe('a writer that is gone (another host, a dead machine): leases, read-only, take-over', function () {
    const LOCK_LEASE_MS = 30_000;
    /** Local "YYYY-MM-DD HH:MM:SS", as the extension shows times (this process has the server's time zone). */
    const localTime = (ms: number) => {
      const d = new Date(ms);
      const p = (n: number) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
    };

    /** A session whose user-data and extensions dirs outlive it, so that startAgain() finds the same storage. */
    async function startRestartable(label: string): Promise<VSCodeSession> {
      return start(label, { userDataDir: tempDir('tangent-ud-'), extensionsDir: tempDir('tangent-exts-'), settings: { 'tangentNumbers.checkpointIntervalSeconds': 1 } });
    }

    /** Runs a job of `count` terms until it has stored `minTerms` and a checkpoint, then kills all of VS Code. */
    /** After the kill: `stored`, the terms durable in the log (what the next writer keeps); `indexed`, those the
     *  index already names (what a reader shows; a block appended just before the kill may not be indexed yet). */
    async function computeThenKillServer(s: VSCodeSession, count: number, minTerms: number): Promise<{ dir: string; stored: number; indexed: number; killed: number[] }> {
      await waitForActivation(s);
      await computeViaPalette(s, count);
      const dir = stateDirOf(s);
      await poll(async () => ((await storedCount(dir)) >= minTerms && latestSnapshot(dir) !== null ? true : undefined),
        `${minTerms} stored terms and a checkpoint`, 90_000, 20);
      const killed = await s.killServer();
      retired.push(s);
      session = undefined;
      // What the dead machine left: the terms every later start has to keep.
      const stored = durableCount(dir);
      const indexed = await storedCount(dir);
      assert.ok(stored >= minTerms && stored < count && indexed <= stored, `${stored} terms stored at the kill (${indexed} indexed)`);
      return { dir, stored, indexed, killed };
    }

    /** Rewrites the dead writer's LOCK (same JSON format) to name another writer, and sets its heartbeat (mtime). */
    function rewriteLock(dir: string, changes: Record<string, unknown>, heartbeatMs: number): Record<string, unknown> {
      const file = path.join(dir, 'LOCK');
      const lock = { ...(JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>), ...changes };
      fs.writeFileSync(file, JSON.stringify(lock) + '\n');
      fs.utimesSync(file, heartbeatMs / 1000, heartbeatMs / 1000);
      return lock;
    }

    it('the machine dies mid-job; its LOCK names a host that is gone with a heartbeat an hour old: the next start takes the job over by itself and finishes it', async function () {
      const s1 = await startRestartable('machine-dies');
      const { dir, stored, killed } = await computeThenKillServer(s1, 4000, 400);
      const dead = JSON.parse(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8')) as { pid: number; hostname: string; token: string };
      assert.equal(dead.hostname, os.hostname());
      assert.ok(killed.includes(dead.pid), `the LOCK's holder (pid ${dead.pid}) was among the processes killed (${killed.join(', ')})`);
      // As if the job had run in a dev container that is gone now: another host, its last heartbeat an hour ago.
      rewriteLock(dir, { hostname: 'gone-devcontainer-7f3a', pid: 4242 }, Date.now() - 3600_000);

      const since = extensionLogLines(s1).length;
      const t0 = Date.now();
      const s2 = await s1.startAgain({ label: 'machine-dies-again' });
      session = s2;
      assert.equal(stateDirOf(s2), dir, 'the same storageUri after the restart');
      // No click: the window resumes the job, whose own StateDir.open takes the stale lock over.
      const note = await s2.waitForNotification(/^Tangent Numbers: took over the job from pid 4242 on gone-devcontainer-7f3a \(last alive 1 h ago\); resuming at term \d+ of 4000\.$/, 60_000);
      const tookOverMs = Date.now() - t0;
      const resumedAt = Number(/resuming at term (\d+) of/.exec(note)![1]);
      assert.equal(resumedAt, stored + 1, `the ${stored} stored terms are kept and not recomputed`);
      await waitForExtensionLog(s2, /\[warning\] (?:recovery: )?took over stale lock of pid 4242 on gone-devcontainer-7f3a \(no heartbeat for 1 h \(lease 30 s\); last alive 1 h ago\)$/, 10_000, since);
      await waitForExtensionLog(s2, new RegExp(`\\[info\\] took over the job from pid 4242 on gone-devcontainer-7f3a \\(last alive 1 h ago\\); resuming at term ${resumedAt} of 4000$`), 10_000, since);
      await waitForStatus(s2, /^T 4000 · done$/, 180_000);
      const lines = extensionLogLines(s2).slice(since);
      assert.deepEqual(lines.filter((l) => /read-only|LOCKED/.test(l)), [], 'never read-only: the stale lock was taken over at once');
      assert.equal(lines.filter((l) => /opened .* \(write\)/.test(l)).length, 1, 'one writer');
      const final = storedBfileHash(dir);
      assert.equal(final.count, 4000);
      assert.equal(final.sha256, referenceBfileHash(4000).sha256, 'b-file sha256 against PARI/GP (N = 4000)');
      metrics.machineDies = { storedAtKill: stored, resumedAtTerm: resumedAt, restartToTookOverNotificationMs: tookOverMs };
    });

    it('a live writer on another host: read-only with who and since; Take Over refuses while its heartbeat goes on; once it stops, the window takes over by itself after the lease and finishes', async function () {
      const N = 2000;
      const s1 = await startRestartable('live-other-host');
      const { dir, stored, indexed } = await computeThenKillServer(s1, N, 300);
      const lockFile = path.join(dir, 'LOCK');
      // A writer on an SSH host that is alive: its heartbeat (the LOCK's mtime) is renewed every second.
      const startedAt = Date.now() - 5 * 60_000;
      const token = crypto.randomBytes(16).toString('hex');
      rewriteLock(dir, { hostname: 'live-ssh-host-2b9c', pid: 31337, startedAt: new Date(startedAt).toISOString(), token }, Date.now());
      const beat = () => {
        const now = Date.now() / 1000;
        fs.utimesSync(lockFile, now, now);
      };
      let heartbeat: NodeJS.Timeout | undefined = setInterval(beat, 1000);
      try {
        const since = extensionLogLines(s1).length;
        const s2 = await s1.startAgain({ label: 'live-other-host-again' });
        session = s2;
        const holder = 'pid 31337 on live-ssh-host-2b9c';
        const ro = await waitForStatus(s2, new RegExp(`^T ${indexed}/${N} · \\d+%$`), 60_000);
        const item = s2.page.locator(`.statusbar-item[id="${STATUS_ITEM_ID}"]`).first();
        assert.equal(await item.locator('.codicon-lock').count(), 1, `read-only shows the lock icon (${ro.text})`);
        await waitForExtensionLog(s2, /\[warning\] read-only: another process \(pid 31337 on live-ssh-host-2b9c\) is writing /, 10_000, since);
        await waitForExtensionLog(s2, new RegExp(`\\[info\\] read-only: ${holder} holds the lock since ${localTime(startedAt)} \\(last heartbeat `), 10_000, since);

        // A notification says so (info toasts hide after ~15 s: answered first) and offers Take Over, which
        // explains while the holder is alive, and leaves everything as it is.
        await s2.waitForNotification(new RegExp(`^Tangent Numbers: ${holder} is computing this job \\(since ${localTime(startedAt)}\\); it is shown read-only in this window\\.$`), 15_000);
        await s2.clickNotificationButton(/is computing this job/, 'Take Over');
        await s2.waitForNotification(new RegExp(`^Tangent Numbers: ${holder} is alive and writing this job: its last heartbeat was \\d+(\\.\\d)? s ago, ` +
          'and its lease expires in \\d+(\\.\\d)? s unless it renews it\\. Take Over is possible once the lease has expired; this window then takes the job over by itself\\.$'), 15_000);
        const who = new RegExp(`Read-only here: ${holder} is computing this job \\(since ${localTime(startedAt)}; last heartbeat \\d+(\\.\\d)? s ago\\)\\. ` +
          'Its lease expires in \\d+(\\.\\d)? s unless it renews it; then this window takes the job over by itself\\.');
        // The status bar tooltip says who holds the job, since when, and its last heartbeat.
        await poll(async () => {
          await s2.page.mouse.move(0, 0);
          await item.hover();
          const hover = s2.page.locator('.workbench-hover, .monaco-hover').filter({ hasText: 'Tangent numbers' }).first();
          await hover.waitFor({ state: 'visible', timeout: 5_000 });
          const tip = await hover.innerText();
          return /Tangent numbers — read-only/.test(tip) && who.test(tip.replace(/\s+/g, ' ')) && /Take Over Job/.test(tip) ? tip : undefined;
        }, 'the tooltip to name the holder', 20_000, 500);
        const labels = await paletteLabels(s2, 'Tangent Numbers:', /Take Over Job/);
        assert.ok(labels.includes('Tangent Numbers: Take Over Job') && !labels.includes('Tangent Numbers: Resume'), `palette while read-only: ${labels.join(' | ')}`);
        // ... and the view's message.
        await s2.runCommand('Tangent Numbers: Show Terms');
        const viewMessage = s2.webviewFrame('Terms').locator('#job-message');
        await poll(async () => who.test(((await viewMessage.innerText({ timeout: 2_000 }).catch(() => '')) || '').replace(/\s+/g, ' ')),
          'the view\'s message to name the holder', 20_000, 200);

        // The command (shown in the palette only while read-only) refuses the same way.
        await s2.runCommand('Tangent Numbers: Take Over Job');
        await poll(() => extensionLogLines(s2).slice(since).filter((l) => /take over refused: pid 31337 on live-ssh-host-2b9c is alive/.test(l)).length >= 2 || undefined,
          'the command to be refused too', 10_000, 100);
        assert.equal((JSON.parse(fs.readFileSync(lockFile, 'utf8')) as { token: string }).token, token, 'the live holder\'s LOCK is untouched');
        assert.equal(durableCount(dir), stored, 'nothing was written while another host holds the lock');
        assert.equal(await storedCount(dir), indexed, 'nor indexed');
        assert.equal(await item.locator('.codicon-lock').count(), 1, 'still read-only');

        // The other host goes silent: after its lease the window takes the job over by itself.
        clearInterval(heartbeat);
        heartbeat = undefined;
        const lastBeat = fs.statSync(lockFile).mtimeMs;
        const note = await s2.waitForNotification(
          new RegExp(`^Tangent Numbers: took over the job from ${holder} \\(last alive \\d+ s ago\\); resuming at term ${stored + 1} of ${N}\\.$`), LOCK_LEASE_MS + 30_000);
        const tookOverAfterMs = Date.now() - lastBeat;
        assert.ok(tookOverAfterMs >= LOCK_LEASE_MS, `taken over ${tookOverAfterMs} ms after the last heartbeat, before the ${LOCK_LEASE_MS} ms lease ran out`);
        assert.ok(tookOverAfterMs <= LOCK_LEASE_MS + 8_000, `taken over only ${tookOverAfterMs} ms after the last heartbeat (lease ${LOCK_LEASE_MS} ms)`);
        await waitForExtensionLog(s2, new RegExp(`the other writer stopped at term ${indexed}; taking the job over \\(${holder}: no heartbeat for \\d+ s \\(lease 30 s\\); last alive \\d+ s ago\\)`), 10_000, since);
        await waitForExtensionLog(s2, /\[warning\] (?:recovery: )?took over stale lock of pid 31337 on live-ssh-host-2b9c \(no heartbeat for \d+ s \(lease 30 s\); last alive \d+ s ago\)$/, 10_000, since);
        await waitForStatus(s2, new RegExp(`^T ${N} · done$`), 120_000);
        const final = storedBfileHash(dir);
        assert.equal(final.count, N);
        assert.equal(final.sha256, referenceBfileHash(N).sha256, `b-file sha256 against PARI/GP (N = ${N})`);
        metrics.liveOtherHost = { storedAtKill: stored, tookOverAfterLastHeartbeatMs: tookOverAfterMs, notification: note };
      } finally {
        if (heartbeat) clearInterval(heartbeat);
      }
    });
  });

  describe('one operation at a time (the controller\'s queue)', function () {
    /** A session whose extension host also runs the test bridge (commands through the real vscode API). */
    async function startBridged(label: string): Promise<{ s: VSCodeSession; bridge: Bridge }> {
      const s = await start(label, { extensionTestsPath: BRIDGE_INDEX, settings: { 'tangentNumbers.checkpointIntervalSeconds': 1 } });
      const bridge = await Bridge.connect(s);
      await waitForActivation(s);
      return { s, bridge };
    }

    const termsLogSize = (dir: string) => fs.statSync(path.join(dir, 'terms.log')).size;
    const linesSince = (s: VSCodeSession, since: number, re: RegExp) => extensionLogLines(s).slice(since).filter((l) => re.test(l));

    /** Waits until the job is paused and returns its count; then checks that nothing more is written for `quietMs`
     *  (an orphan worker the controller lost track of would keep appending). */
    async function pausedAndQuiet(s: VSCodeSession, bridge: Bridge, dir: string, target: number, quietMs = 3000): Promise<number> {
      const paused = await bridge.waitJob({ states: ['paused'], timeoutMs: 30_000 });
      assert.equal(paused.target, target);
      const size = termsLogSize(dir);
      const count = await storedCount(dir);
      assert.equal(count, paused.done, 'the paused view shows the stored count');
      await delay(quietMs);
      assert.equal(termsLogSize(dir), size, `terms.log grew after the pause: a worker still computes (${count} terms at the pause)`);
      assert.equal(await storedCount(dir), count);
      assert.equal((await bridge.job()).state, 'paused');
      await waitForStatus(s, new RegExp(`^T ${count}/${target} · paused$`), 10_000);
      return count;
    }

    it('serial: a double-clicked Resume and two racing Resumes start one job; Pause really stops it; it finishes once with the reference terms', async function () {
      const N = 6000;
      const { s, bridge } = await startBridged('serial-resume');
      const dir = stateDirOf(s);
      await bridge.exec('tangentNumbers.compute', { count: N });
      await bridge.waitJob({ states: ['running'], minDone: 300, timeoutMs: 60_000 });
      await bridge.exec('tangentNumbers.pause');
      const k1 = await pausedAndQuiet(s, bridge, dir, N);
      assert.ok(k1 < N, `paused before the end (${k1})`);

      // Double click: the second Resume is issued before the first one has awaited anything.
      let since = extensionLogLines(s).length;
      const double = await bridge.execConcurrent({ command: 'tangentNumbers.resume' }, { command: 'tangentNumbers.resume' });
      assert.deepEqual(double, [{ value: null }, { value: null }], 'both Resume commands complete without error');
      await bridge.waitJob({ states: ['running'], minDone: k1 + 1, timeoutMs: 60_000 });
      await delay(1500); // a second worker would have hit the lock by now
      assert.equal((await bridge.job()).state, 'running', 'not read-only: no second worker met the first one\'s lock');
      assert.equal(linesSince(s, since, new RegExp(`resumed at term ${k1 + 1} of ${N}`)).length, 1, 'one job opened the state');
      assert.equal(linesSince(s, since, /opened .* \(write\)/).length, 1, 'one writer opened the state');
      assert.deepEqual(linesSince(s, since, /read-only|LOCKED/), [], 'no worker found the state locked');
      assert.equal(readIntent(s)?.intent, 'run');
      await bridge.exec('tangentNumbers.pause');
      const k2 = await pausedAndQuiet(s, bridge, dir, N);
      assert.ok(k2 > k1, `the resumed job computed (${k1} → ${k2})`);
      assert.equal(readIntent(s)?.intent, 'paused');

      // Two Resumes from two callers at once (as Retry racing Resume): separate requests into the host.
      since = extensionLogLines(s).length;
      await Promise.all([bridge.exec('tangentNumbers.resume'), bridge.exec('tangentNumbers.resume')]);
      await bridge.waitJob({ states: ['running'], minDone: k2 + 1, timeoutMs: 60_000 });
      await delay(1500);
      assert.equal((await bridge.job()).state, 'running');
      assert.equal(linesSince(s, since, /opened .* \(write\)/).length, 1, 'one writer opened the state');
      assert.deepEqual(linesSince(s, since, /read-only|LOCKED/), []);
      // Pause and Resume racing each other, twice over: whatever order, one job or none runs, never two.
      await bridge.execConcurrent({ command: 'tangentNumbers.pause' }, { command: 'tangentNumbers.resume' }, { command: 'tangentNumbers.pause' });
      const k3 = await pausedAndQuiet(s, bridge, dir, N);
      assert.ok(k3 >= k2);

      since = extensionLogLines(s).length;
      await bridge.execConcurrent({ command: 'tangentNumbers.resume' }, { command: 'tangentNumbers.resume' });
      const done = await bridge.waitJob({ states: ['done'], minDone: N, timeoutMs: 180_000 });
      assert.equal(done.target, N);
      await waitForStatus(s, new RegExp(`^T ${N} · done$`), 10_000);
      assert.equal(linesSince(s, since, /opened .* \(write\)/).length, 1, 'one writer opened the state');
      assert.equal(linesSince(s, since, new RegExp(`finished at term ${N} of ${N}`)).length, 1, 'the job finished once');
      assert.deepEqual(linesSince(s, since, /read-only|LOCKED/), []);
      const stored = storedBfileHash(dir);
      assert.equal(stored.count, N);
      assert.equal(stored.sha256, referenceBfileHash(N).sha256, `b-file sha256 against PARI/GP (N = ${N})`);
      metrics.serialResume = { pausedAt: [k1, k2, k3] };
    });

    it('target: a resume whose stored state has no usable snapshot continues to the count asked for, not to the stored count', async function () {
      const N = 6000;
      const { s, bridge } = await startBridged('intent-target');
      const dir = stateDirOf(s);
      await bridge.exec('tangentNumbers.compute', { count: N });
      await bridge.waitJob({ states: ['running'], minDone: 300, timeoutMs: 60_000 });
      await bridge.exec('tangentNumbers.pause');
      const k = await pausedAndQuiet(s, bridge, dir, N, 500);
      // As after a recovery that cut the log below every snapshot: the log alone, without the job's target.
      const snaps = fs.readdirSync(dir).filter((n) => /^snapshot-\d+\.snap$/.test(n));
      assert.ok(snaps.length > 0, 'the paused job has snapshots');
      for (const n of snaps) fs.rmSync(path.join(dir, n));
      const since = extensionLogLines(s).length;
      await bridge.exec('tangentNumbers.resume');
      const resumed = await bridge.waitJob({ states: ['running', 'done'], minDone: k + 1, timeoutMs: 60_000 });
      assert.equal(resumed.target, N, 'the job runs to the count in job.json');
      await waitForExtensionLog(s, new RegExp(`resumed at term ${k + 1} of ${N} \\(no snapshot\\)`), 30_000, since);
      // Its first checkpoint records the intent's target, not the stored count.
      const snap = await poll(() => latestSnapshot(dir) ?? undefined, 'a new snapshot', 30_000, 100);
      assert.equal(snap.target, N);
      assert.deepEqual(linesSince(s, since, new RegExp(`finished at term ${k} of`)), [], 'it did not end at the stored count');
      await bridge.exec('tangentNumbers.cancel');
      await bridge.waitJob({ states: ['cancelled'], timeoutMs: 30_000 });
      assert.equal(readIntent(s)?.target, N);
    });

    it('serial: Start over while running: the job archives the old terms under its lock (archive-* in the state directory) and computes from term 1', async function () {
      const { s, bridge } = await startBridged('serial-start-over');
      const dir = stateDirOf(s);
      await bridge.exec('tangentNumbers.compute', { count: 6000 });
      await bridge.waitJob({ states: ['running'], minDone: 200, timeoutMs: 60_000 });
      const since = extensionLogLines(s).length;
      await bridge.exec('tangentNumbers.compute', { count: 1000, mode: 'restart' });
      const done = await bridge.waitJob({ states: ['done'], minDone: 1000, target: 1000, timeoutMs: 120_000 });
      assert.equal(done.done, 1000);
      await waitForStatus(s, /^T 1000 · done$/, 10_000);

      const archives = fs.readdirSync(dir).filter((n) => n.startsWith('archive-'));
      assert.equal(archives.length, 1, `one archive-* folder in ${dir}: ${fs.readdirSync(dir).join(', ')}`);
      assert.deepEqual(fs.readdirSync(storageRoot(s)).filter((n) => n.startsWith('archive-')), [], 'nothing is archived beside the state directory');
      // The archive is a readable state directory holding the cancelled 6000-term job's terms.
      const archive = path.join(dir, archives[0]);
      const archived = await storedCount(archive);
      assert.ok(archived >= 200 && archived < 6000, `archived ${archived} terms`);
      const prefix = storedBfile(archive, Math.min(archived, 500));
      assert.ok(prefix.equals(referenceBfile500().subarray(0, prefix.length)), 'the archived terms equal OEIS b000182.txt');
      // The job itself archived the old state (under its writer lock), then began at term 1.
      const lines = extensionLogLines(s).slice(since);
      const archivedAt = lines.findIndex((l) => l.includes(`archived the previous state to ${archives[0]} and started over`));
      const startedAt = lines.findIndex((l) => /started: 1000 terms/.test(l));
      assert.ok(archivedAt >= 0, `the job logged the archive: ${lines.join('\n')}`);
      assert.ok(startedAt > archivedAt, 'the new job started from nothing after the archive');
      assert.deepEqual(linesSince(s, since, /resumed at term/), [], 'the new job resumed nothing');
      assert.deepEqual(linesSince(s, since, /read-only|LOCKED/), []);
      assert.deepEqual(intentOnly(readIntent(s)), { target: 1000, intent: 'run' }, 'job.json: the new job, its start over carried out');
      const stored = storedBfileHash(dir);
      assert.equal(stored.count, 1000);
      assert.equal(stored.sha256, referenceBfileHash(1000).sha256, 'b-file sha256 against PARI/GP (N = 1000)');
      metrics.startOver = { archivedTerms: archived };
    });

    it('serial: a job that cannot start shows the error with Retry; Retry racing Resume starts one job', async function () {
      const { s, bridge } = await startBridged('serial-retry');
      // job.json cannot be written: a folder stands in its place (the rename onto it fails).
      fs.mkdirSync(path.join(storageRoot(s), 'job.json', 'blocker'), { recursive: true });
      await bridge.exec('tangentNumbers.compute', { count: 1000 });
      const note = await s.waitForNotification(/Tangent Numbers: could not start the job: /, 30_000);
      assert.match(note, /job\.json/, `the error names the file: ${note}`);
      const failed = await bridge.job();
      assert.equal(failed.state, 'error');
      assert.equal(failed.target, 1000);
      await waitForStatus(s, /^T 0\/1000 · error$/, 10_000);
      assert.ok(!fs.existsSync(stateDirOf(s)), 'no job ran');

      fs.rmSync(path.join(storageRoot(s), 'job.json'), { recursive: true });
      const since = extensionLogLines(s).length;
      await Promise.all([s.clickNotificationButton(/could not start the job/, 'Retry'), bridge.exec('tangentNumbers.resume')]);
      await bridge.waitJob({ states: ['done'], minDone: 1000, target: 1000, timeoutMs: 120_000 });
      assert.equal(linesSince(s, since, /opened .* \(write\)/).length, 1, 'one writer');
      assert.equal(linesSince(s, since, /finished at term 1000 of 1000/).length, 1, 'the job finished once');
      assert.deepEqual(linesSince(s, since, /read-only|LOCKED/), []);
      assert.deepEqual(intentOnly(readIntent(s)), { target: 1000, intent: 'run' });
      const stored = storedBfileHash(stateDirOf(s));
      assert.equal(stored.sha256, referenceBfileHash(1000).sha256, 'b-file sha256 against PARI/GP (N = 1000)');
    });

    it('export: the save dialog to a folder that does not exist yet (accepting "create it?") writes the b-file there', async function () {
      const { s, bridge } = await startBridged('export-new-folder');
      await bridge.computeFresh(500);
      const outDir = tempDir('tangent-export-');
      const target = path.join(outDir, 'new-folder', 'deeper', 'b000182.txt');
      const page = s.page;
      // The range is given, the file is not: the command asks for it with the save dialog (code-server's
      // simple file dialog: a quick input that takes the whole path).
      await bridge.execDetached('tangentNumbers.export', { format: 'bfile', from: 1, to: 500 });
      await waitForQuickInputTitle(s, /Tangent Numbers: Export/);
      await poll(async () => /b000182\.txt$/.test(await quickInputValue(s)), 'the save dialog to propose b000182.txt', 15_000, 50);
      await page.keyboard.press('Control+A');
      await page.keyboard.type(target);
      await waitForQuickInputIdle(s);
      assert.equal(await quickInputValue(s), target);
      await page.keyboard.press('Enter');
      // The dialog asks whether to create the missing folder; accept (the dialog itself creates nothing).
      await poll(async () => {
        const title = await s.page.locator('.quick-input-widget .quick-input-title').first().innerText().catch(() => '');
        if (/does not exist\. Would you like to create it\?/.test(title)) return true;
        // The dialog may still be reading the folder and swallow that Enter: while it shows, accept again.
        if (/Tangent Numbers: Export/.test(title) && (await quickInputValue(s)) === target) await page.keyboard.press('Enter');
        return undefined;
      }, 'the save dialog to ask to create the folder', 20_000, 1000);
      assert.ok(!fs.existsSync(path.dirname(target)), 'the folder does not exist before the export');
      await page.keyboard.press('Enter');
      // The outcome either way (an error notification says why the export failed).
      const done = await s.waitForNotification(/exported 500 terms to |Tangent Numbers: /, 30_000);
      assert.match(done, /exported 500 terms to /);
      assert.ok(done.includes(target), `the notification names the file: ${done}`);
      assert.ok(fs.readFileSync(target).equals(referenceBfile500()), 'the exported b-file equals OEIS b000182.txt byte for byte');
      assert.deepEqual(fs.readdirSync(path.dirname(target)), ['b000182.txt'], 'no temporary file is left beside it');
    });
  });

  describe('installed from a .vsix (as a user installs it)', function () {
    let vsix: string;

    before(async function () {
      this.timeout(300_000);
      const t0 = Date.now();
      vsix = await packageVsix(tempDir('tangent-vsix-'));
      metrics.vsceMs = Date.now() - t0;
      // tempDir() entries are removed after each test; keep this one for the whole describe.
      tempDirs.splice(tempDirs.indexOf(path.dirname(vsix)), 1);
    });

    after(function () {
      if (vsix) fs.rmSync(path.dirname(vsix), { recursive: true, force: true });
    });

    async function startInstalled(label: string, settings?: Record<string, unknown>): Promise<VSCodeSession> {
      const extensionsDir = tempDir('tangent-exts-');
      const out = await VSCodeSession.installVsix(vsix, extensionsDir);
      assert.match(out, /successfully installed/i);
      const s = await start(label, { extensionDevelopmentPath: undefined, extensionsDir, settings });
      const installed = fs.readdirSync(extensionsDir).filter((d) => d.startsWith('tangent-numbers.tangent-numbers-'));
      assert.equal(installed.length, 1, `the .vsix is installed in ${extensionsDir}: ${installed.join(', ')}`);
      return s;
    }

    /** Activation of the installed copy (no development extension is loaded in these sessions). */
    async function waitForInstalledActivation(s: VSCodeSession): Promise<void> {
      await waitForActivation(s);
      assert.ok(!s.serverLogs.some((l) => /Loading development extension/.test(l)), 'no development extension was loaded');
    }

    it('SIGKILL of the extension host mid-run: the restarted host resumes from the stored terms and the checkpointed blocks', async function () {
      const interval = 1;
      const s = await startInstalled('sigkill', { 'tangentNumbers.checkpointIntervalSeconds': interval });
      await waitForInstalledActivation(s);
      await computeViaPalette(s, 4000);
      const dir = stateDirOf(s);
      // Kill right after a checkpoint that holds in-progress blocks and before the next commit, so the
      // restart has block states to continue (the usual case; the test makes it certain).
      await poll(async () => {
        if ((await storedCount(dir)) < 800) return undefined;
        const snap = latestSnapshot(dir);
        return snap && snap.position === snap.count && snap.blocks.length > 0 ? snap : undefined;
      }, 'a checkpoint with in-progress blocks after 800 terms', 90_000, 20);
      const since = extensionLogLines(s).length;
      const killed = await s.killExtensionHost('SIGKILL');
      const killedAt = Date.now();
      // The files as the killed process left them: what the next start has to work from.
      const snap = latestSnapshot(dir)!;
      assert.ok(snap, 'a snapshot exists');
      const stored = snap.count;
      const snapshotAgeMs = killedAt - Date.parse(snap.createdAt);
      const chain: string[] = [];
      for (let next = stored + 1; ;) {
        const b = snap.blocks.find((x) => Number(x.split('..')[0]) === next);
        if (!b) break;
        chain.push(b);
        next = Number(b.split('..')[1]) + 1;
      }
      assert.ok(chain.length > 0, `the snapshot holds no block continuing term ${stored + 1}: ${JSON.stringify(snap)}`);

      await s.waitForExtensionHost({ exclude: killed, timeoutMs: 30_000 });
      // The killed host's lock is stale (its process has ended): the new host's job takes it over and says so.
      const note = await s.waitForNotification(/^Tangent Numbers: took over the job from pid \d+ on \S+ \(last alive [^)]+ ago\); resuming at term \d+ of 4000\.$/, 60_000);
      assert.ok(killed.includes(Number(/from pid (\d+)/.exec(note)![1])), `the lock taken over was the killed host's (${killed.join(', ')}): ${note}`);
      const resumedAt = Number(/at term (\d+) of/.exec(note)![1]);
      const restartMs = Date.now() - killedAt;
      assert.equal(resumedAt, stored + 1, `the stored terms 1..${stored} are kept and not recomputed`);
      await waitForExtensionLog(s, /took over stale lock of pid \d+/, 30_000, since);
      await waitForExtensionLog(s, new RegExp(`resumed at term ${stored + 1} of 4000 \\(snapshot generation ${snap.generation} at term ${snap.position}\\)`), 30_000, since);
      const cont = await waitForExtensionLog(s, /continuing \d+ block\(s\) from their checkpointed state: /, 30_000, since);
      assert.ok(cont.endsWith(`continuing ${chain.length} block(s) from their checkpointed state: ${chain.join(', ')}`), `expected the blocks ${chain.join(', ')}: ${cont}`);
      await waitForStatus(s, /^T 4000 · done$/, 120_000);
      assert.ok(!extensionLogLines(s).slice(since).some((l) => /could not resume block/.test(l)), 'every checkpointed block state was usable');
      // At most one checkpoint interval of in-progress work was lost (timer granularity: half an interval).
      assert.ok(snapshotAgeMs <= interval * 1000 * 1.5 + 500, `the newest snapshot was ${snapshotAgeMs} ms old at the kill`);
      const final = storedBfileHash(dir);
      assert.equal(final.count, 4000);
      assert.equal(final.sha256, referenceBfileHash(4000).sha256, 'b-file sha256 against PARI/GP (N = 4000)');
      metrics.sigkill = { storedAtKill: stored, snapshotGeneration: snap.generation, snapshotAgeMsAtKill: snapshotAgeMs, resumedAtTerm: resumedAt, continuedBlocks: chain, killToResumedNotificationMs: restartMs };
    });

    it('end to end as a user: F1, "Tangent Numbers: Compute…", 500, done; stored terms = OEIS b000182.txt; export via palette and save dialog', async function () {
      const s = await startInstalled('e2e-vsix');
      await waitForInstalledActivation(s); // the activity bar shows the extension: its commands are in the palette
      const page = s.page;

      await page.keyboard.press('F1');
      await page.locator('.quick-input-widget .quick-input-box input').waitFor({ state: 'visible', timeout: 10_000 });
      await page.keyboard.type(COMPUTE);
      await waitForFocusedRow(s, COMPUTE);
      await page.keyboard.press('Enter');
      await waitForQuickInputTitle(s, /^Tangent Numbers: Compute$/);
      await page.keyboard.press('Control+A');
      await page.keyboard.type('500');
      await page.keyboard.press('Enter');
      const t0 = Date.now();
      await waitForStatus(s, /^T 500 · done$/, 60_000);
      metrics.e2eComputeMs = Date.now() - t0;
      const stored = storedBfile(stateDirOf(s));
      const reference = referenceBfile500();
      assert.equal(stored.length, reference.length, 'b-file size of T(1..500)');
      assert.ok(stored.equals(reference), 'the stored terms T(1..500) equal OEIS b000182.txt byte for byte');

      // Export: format and range pickers, then the save dialog (in code-server a quick input taking a path).
      const outDir = tempDir('tangent-export-');
      const target = path.join(outDir, 'b000182-export.txt');
      await page.keyboard.press('F1');
      await page.locator('.quick-input-widget .quick-input-box input').waitFor({ state: 'visible', timeout: 10_000 });
      await page.keyboard.type('Tangent Numbers: Export…');
      await waitForFocusedRow(s, 'Tangent Numbers: Export…');
      await page.keyboard.press('Enter');
      await waitForQuickInputTitle(s, /Export — format/);
      await waitForFocusedRow(s, 'OEIS b-file');
      await page.keyboard.press('Enter');
      await waitForQuickInputTitle(s, /Export — which terms/);
      await waitForFocusedRow(s, 'All 500 finished terms');
      await page.keyboard.press('Enter');
      await waitForQuickInputTitle(s, /Tangent Numbers: Export/);
      await poll(async () => /b000182\.txt$/.test(await quickInputValue(s)), 'the save dialog to propose b000182.txt', 15_000, 50);
      await page.keyboard.press('Control+A');
      await page.keyboard.type(target);
      await waitForQuickInputIdle(s); // the dialog reads the typed folder before it accepts
      assert.equal(await quickInputValue(s), target);
      await page.keyboard.press('Enter');
      // The simple file dialog may still be reading the folder and swallow that Enter (seen on a busy
      // machine): while it stays open on the same path, accept again.
      await poll(async () => {
        if (!(await s.quickInputVisible())) return true;
        if ((await quickInputValue(s)) === target) await page.keyboard.press('Enter');
        return undefined;
      }, 'the save dialog to accept the path', 20_000, 1500);
      const done = await s.waitForNotification(/exported 500 terms to /, 30_000);
      assert.ok(done.includes(target), `notification names the file: ${done}`);
      const exported = fs.readFileSync(target);
      assert.ok(exported.equals(reference), 'the exported b-file equals OEIS b000182.txt byte for byte');
    });
  });

  describe('verify a b-file', function () {
    /** "Tangent Numbers: Verify b-file…" from the palette, then `file` typed into the open dialog (code-server's
     *  simple file dialog: a quick input that takes the whole path). */
    async function verifyViaDialog(s: VSCodeSession, file: string): Promise<void> {
      const page = s.page;
      await s.runCommand('Tangent Numbers: Verify b-file…');
      await waitForQuickInputTitle(s, /Tangent Numbers: Verify b-file/);
      await waitForQuickInputIdle(s);
      await page.keyboard.press('Control+A');
      await page.keyboard.type(file);
      await waitForQuickInputIdle(s); // the dialog reads the typed folder before it accepts
      assert.equal(await quickInputValue(s), file);
      await page.keyboard.press('Enter');
      // The dialog may still be reading the folder and swallow that Enter: while it stays open on the path, accept again.
      await poll(async () => {
        if (!(await s.quickInputVisible())) return true;
        if ((await quickInputValue(s)) === file) await page.keyboard.press('Enter');
        return undefined;
      }, 'the open dialog to accept the path', 20_000, 1500);
    }

    it('Verify b-file… through the open dialog: OEIS b000182.txt is verified; a corrupted copy is named by term and line and opened there', async function () {
      const s = await start('verify-bfile');
      await waitForActivation(s);
      const dir = tempDir('tangent-verify-');
      // OEIS's b-file with a comment header, as OEIS serves it.
      const good = path.join(dir, 'b000182.txt');
      const header = '# A000182 (Tangent numbers), n = 1..500\n# checked against PARI/GP\n';
      fs.writeFileSync(good, Buffer.concat([Buffer.from(header), referenceBfile500()]));
      await verifyViaDialog(s, good);
      const ok = await s.waitForNotification(/A000182 verified|Tangent Numbers: /, 30_000);
      assert.equal(ok, `Tangent Numbers: ${good}: all 500 terms of A000182 verified (T(1..500)).`);

      // One digit of T(321) changed: line 2 + 321 of the file.
      const lines = fs.readFileSync(good, 'latin1').split('\n');
      const at = 2 + 321 - 1;
      assert.match(lines[at], /^321 \d+$/);
      lines[at] = lines[at].replace(/(\d)(\d{40})$/, (_, d: string, rest: string) => String((Number(d) + 1) % 10) + rest);
      const bad = path.join(dir, 'corrupted.txt');
      fs.writeFileSync(bad, lines.join('\n'), 'latin1');
      await verifyViaDialog(s, bad);
      const wrong = await s.waitForNotification(/term 321 is wrong|Tangent Numbers: .*corrupted/, 30_000);
      assert.match(wrong, new RegExp(`^Tangent Numbers: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:323: term 321 is wrong \\(it is \\d+ mod 67108859, the independent check says \\d+\\)\\.$`));
      // The editor shows that file, the cursor on that line (the status bar's "Ln 323, Col 1").
      await poll(async () => {
        const tab = await s.page.locator('.tabs-container .tab.active .label-name').first().innerText().catch(() => '');
        const cursor = await s.page.locator('.statusbar-item[id="status.editor.selection"]').first().innerText().catch(() => '');
        return tab.trim() === 'corrupted.txt' && /^Ln 323, Col 1\b/.test(cursor.trim()) ? true : undefined;
      }, 'the editor to open corrupted.txt at line 323', 20_000, 100);
    });

    it("a 49 MB b-file (PARI/GP's 4000 terms, path given as the command's argument) is verified without holding up the extension host", async function () {
      const s = await start('verify-large', { extensionTestsPath: BRIDGE_INDEX });
      const bridge = await Bridge.connect(s);
      await waitForActivation(s);
      const dir = tempDir('tangent-verify-');
      const file = path.join(dir, 'b4000.txt');
      const made = await new Promise<number | null>((resolve) => {
        const cli = spawn(process.execPath, [path.join(REPO_ROOT, 'dist', 'cli.js'), '--count', '4000', '--state', path.join(dir, 'state'), '--out', file], { stdio: 'ignore' });
        children.push(cli);
        cli.once('exit', resolve);
      });
      assert.equal(made, 0);
      assert.equal(crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex'), referenceBfileHash(4000).sha256, 'the b-file is PARI/GP\'s (sha256)');

      // While it verifies, the extension host answers the bridge: the longest wait for a reply is its longest stall.
      const t0 = Date.now();
      let running = true;
      const verified = bridge.exec<{ file: string; verdict: { kind: string; terms: number } }>('tangentNumbers.verifyBfile', { file }).finally(() => (running = false));
      let pings = 0;
      let slowestPingMs = 0;
      while (running) {
        const p0 = Date.now();
        await bridge.call('ping');
        slowestPingMs = Math.max(slowestPingMs, Date.now() - p0);
        pings++;
      }
      const result = await verified;
      const verifyMs = Date.now() - t0;
      assert.deepEqual({ file: result.file, kind: result.verdict.kind, terms: result.verdict.terms }, { file, kind: 'verified', terms: 4000 });
      const note = await s.waitForNotification(/A000182 verified/, 30_000);
      assert.equal(note, `Tangent Numbers: ${file}: all 4000 terms of A000182 verified (T(1..4000)).`);
      metrics.verify4000 = { verifyMs, pings, slowestPingMs };
      assert.ok(pings >= 2, `the host answered ${pings} pings while verifying (${verifyMs} ms)`);
      assert.ok(slowestPingMs < 500, `the extension host stalled ${slowestPingMs} ms`);
    });
  });
});
