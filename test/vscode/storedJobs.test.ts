// Outer tests (plain Node + Playwright) of "Manage Stored Jobs…", of what a finished job shows (what it took,
// the status bar item hiding after done) and of the Terms view's row context menu, in a real workbench
// (code-server) whose extension host runs test/harness/inHostBridge.ts. Terms are checked against the
// OEIS/PARI references (test/unit/reference.ts), never against the extension's own output.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Bridge, BRIDGE_INDEX } from '../harness/bridgeClient';
import { REPO_ROOT, VSCodeSession } from '../harness/codeServer';
import { poll, storedCount } from '../harness/references';
import {
  COMPUTE,
  computeViaPalette,
  extensionLogLines,
  quickInputValue,
  stateDirOf,
  storageRoot,
  statusItem,
  waitForActivation,
  waitForQuickInputIdle,
  waitForQuickInputTitle,
  waitForStatus,
} from '../harness/tangentSession';
import { TermsView } from '../harness/termsViewPage';
import { REFERENCE } from '../unit/reference';

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ROW_LABELS = '.quick-input-widget .quick-input-list .monaco-list-row';

describe('Stored jobs, finished jobs and the row context menu (code-server)', function () {
  this.timeout(240_000);
  let session: VSCodeSession | undefined;
  const tempDirs: string[] = [];

  async function startBridged(label: string, settings: Record<string, unknown> = {}): Promise<{ s: VSCodeSession; bridge: Bridge }> {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'tangent-ws-'));
    tempDirs.push(ws);
    const s = await VSCodeSession.start({
      workspace: ws,
      extensionDevelopmentPath: REPO_ROOT,
      label,
      extensionTestsPath: BRIDGE_INDEX,
      settings: { 'tangentNumbers.checkpointIntervalSeconds': 1, ...settings },
    });
    session = s;
    const bridge = await Bridge.connect(s);
    await waitForActivation(s);
    return { s, bridge };
  }

  async function startPlain(label: string): Promise<VSCodeSession> {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'tangent-ws-'));
    tempDirs.push(ws);
    session = await VSCodeSession.start({ workspace: ws, extensionDevelopmentPath: REPO_ROOT, label, settings: { 'tangentNumbers.checkpointIntervalSeconds': 1 } });
    await waitForActivation(session);
    return session;
  }

  /** Waits for the modal dialog whose text matches `re`, clicks its button `label`; returns the dialog's text. */
  async function clickDialogButton(s: VSCodeSession, re: RegExp, label: string): Promise<string> {
    const dialog = s.page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible', timeout: 15_000 });
    const text = (await dialog.innerText()).replace(/\s+/g, ' ');
    assert.match(text, re);
    await dialog.locator('.monaco-button', { hasText: new RegExp(`^${label}$`) }).first().click();
    await dialog.waitFor({ state: 'hidden', timeout: 10_000 });
    return text;
  }

  /** The rows of the open quick pick: label and description, as shown. */
  async function pickRows(s: VSCodeSession): Promise<string[]> {
    return (await s.page.locator(ROW_LABELS).allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
  }

  afterEach(async function () {
    if (session && this.currentTest?.state === 'failed') await session.screenshot(`failed-storedJobs-${this.currentTest.title.slice(0, 50)}`).catch(() => undefined);
    await session?.stop();
    session = undefined;
    for (const d of tempDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('Manage Stored Jobs… lists the archive a Start over left (terms, target, size) and deletes it after a modal confirmation', async function () {
    // No in-host bridge here: a session running extension tests refuses modal dialogs, and both the Start
    // over and the delete ask with one. Everything goes through the palette, the pick and the dialogs.
    const s = await startPlain('stored-jobs');
    const dir = stateDirOf(s);
    await computeViaPalette(s, 300);
    await waitForStatus(s, /^T 300 · done$/, 120_000);
    // Start over with 120: the input box, the pick (only "Start over" fits), the modal.
    await s.runCommand(COMPUTE);
    await waitForQuickInputTitle(s, /^Tangent Numbers: Compute$/);
    await s.page.keyboard.press('Control+A');
    await s.typeIntoQuickInput('120', { submit: true });
    await waitForQuickInputTitle(s, /^Tangent Numbers: this workspace already has a job$/);
    await poll(async () => (await pickRows(s)).some((r) => /Start over/.test(r)), 'the Start over row', 10_000, 50);
    await s.typeIntoQuickInput('Start over', { submit: true });
    await clickDialogButton(s, /Start over with 120 terms\?/, 'Start Over');
    await waitForStatus(s, /^T 120 · done$/, 120_000);
    const archives = fs.readdirSync(dir).filter((n) => n.startsWith('archive-'));
    assert.equal(archives.length, 1, `one archive: ${fs.readdirSync(dir).join(', ')}`);
    const archive = path.join(dir, archives[0]);
    assert.equal(await storedCount(archive), 300);
    const archiveBytes = fs.readdirSync(archive).reduce((sum, n) => sum + fs.statSync(path.join(archive, n)).size, 0);
    const kb = (archiveBytes / 1024).toFixed(1);

    // The pick shows both jobs: the current one first, then the archive with its terms, target and size.
    const t0 = Date.now();
    await s.runCommand('Tangent Numbers: Manage Stored Jobs…');
    await waitForQuickInputTitle(s, /^Tangent Numbers: Stored Jobs$/);
    const rows = await poll(async () => {
      const r = await pickRows(s);
      return r.length === 2 ? r : undefined;
    }, 'two stored jobs in the pick', 15_000, 100);
    console.log(`      [stored jobs] pick shown ${Date.now() - t0} ms after the palette command: ${JSON.stringify(rows)}`);
    assert.match(rows[0], /Current job.*120 terms of 120/);
    assert.ok(rows[1].includes(`300 terms of 300 · ${kb} KB`), `the archive row names its terms, target and size (${kb} KB): ${rows[1]}`);
    assert.match(rows[1], /Archived \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    await s.page.keyboard.press('ArrowDown');
    await s.page.keyboard.press('Enter');
    await waitForQuickInputTitle(s, new RegExp(`^Tangent Numbers: ${archives[0].replace(/\./g, '\\.')}$`));
    await s.typeIntoQuickInput('Delete', { submit: true });
    const question = await clickDialogButton(s, /Delete the archived job/, 'Delete');
    assert.ok(question.includes(`Delete the archived job ${archives[0]} (300 terms, ${kb} KB)?`), `the modal names the size: ${question}`);
    await poll(async () => !fs.existsSync(archive), 'the archive to be deleted', 15_000, 50);
    assert.ok(fs.existsSync(path.join(dir, 'terms.log')), 'the current job is untouched');
    assert.equal(await storedCount(dir), 120);
    const deleted = await poll(() => extensionLogLines(s).filter((l) => l.includes(`deleted the archived job ${archive} (300 terms, ${archiveBytes} bytes)`)), 'the log line', 10_000, 100).catch(() => []);
    assert.equal(deleted.length, 1, 'the log says what was deleted');
    // Listed again: only the current job, which has no Delete (its pick of actions offers Open Folder and Export).
    await s.runCommand('Tangent Numbers: Manage Stored Jobs…');
    await waitForQuickInputTitle(s, /^Tangent Numbers: Stored Jobs$/);
    const again = await poll(async () => {
      const r = await pickRows(s);
      return r.length > 0 ? r : undefined;
    }, 'the pick', 15_000, 100);
    assert.equal(again.length, 1);
    assert.match(again[0], /Current job/);
    await s.page.keyboard.press('Enter');
    await poll(async () => (await pickRows(s)).some((r) => /Open Folder/.test(r)), 'the actions', 10_000, 50);
    // The rows' own labels (a reused row keeps its hidden detail element: only rendered ones count).
    const labels = await s.page.locator(`${ROW_LABELS} .quick-input-list-label .label-name`).evaluateAll((els) =>
      els.filter((e) => (e as HTMLElement).offsetParent !== null).map((e) => (e as HTMLElement).innerText.trim()));
    assert.deepEqual(labels, ['Open Folder', 'Export…'], 'no Delete for the current job');
    await s.pressKey('Escape');
  });

  it('a finished job shows what it took over its runs (view, job.json); the status bar item hides after done and comes back with the next job', async function () {
    const { s, bridge } = await startBridged('finished-job');
    await bridge.computeFresh(200);
    // The first job's item is shown when done, then hides (10 s).
    await waitForStatus(s, /^T 200 · done$/, 10_000);
    const doneAt = Date.now();
    await poll(async () => !(await statusItem(s))?.visible, 'the status bar item to hide after done', 20_000, 100);
    const hiddenAfter = Date.now() - doneAt;
    assert.ok(hiddenAfter >= 8_000, `it stayed a while (${hiddenAfter} ms)`);
    // Extend: a second run of the same job; the item comes back with it.
    await bridge.exec('tangentNumbers.compute', { count: 400, mode: 'extend' });
    await bridge.waitJob({ states: ['done'], minDone: 400, target: 400, timeoutMs: 120_000 });
    await waitForStatus(s, /^T 400 · done$/, 10_000);
    const job = await bridge.job() as { elapsedMs?: number; runs?: number };
    assert.equal(job.runs, 2, 'two runs');
    const saved = JSON.parse(fs.readFileSync(path.join(storageRoot(s), 'job.json'), 'utf8')) as { computeMs?: number; runs?: number; target: number };
    assert.equal(saved.runs, 2);
    assert.equal(saved.target, 400);
    assert.ok(typeof saved.computeMs === 'number' && saved.computeMs > 0, `job.json keeps the compute time: ${JSON.stringify(saved)}`);
    // job.json is written (atomically, fsynced) just after the view changed: wait for the run's end to land.
    await poll(() => {
      const j = JSON.parse(fs.readFileSync(path.join(storageRoot(s), 'job.json'), 'utf8')) as { computeMs?: number };
      return j.computeMs === Math.round(job.elapsedMs ?? -1);
    }, 'job.json to hold the total compute time the view shows', 10_000, 50);

    const view = new TermsView(s);
    await view.open();
    const inner = await view.inner();
    const text = await inner.evaluate(() => ({ message: document.getElementById('job-message')!.textContent, hidden: document.getElementById('job-message')!.hidden, rate: document.getElementById('stat-rate')!.textContent }));
    assert.equal(text.hidden, false);
    assert.match(text.message ?? '', /^Finished: took (\d+\.\ds|\d+m \d+s) over 2 runs, [\d.]+ terms\/s\.$/);
    assert.match(text.rate ?? '', /^[\d.]+ terms\/s$/);
    console.log(`      [finished] ${text.message} (status bar hid ${hiddenAfter} ms after done)`);
  });

  it('the status bar item stays after done with tangentNumbers.statusBar.keepAfterDone', async function () {
    const { s, bridge } = await startBridged('keep-after-done', { 'tangentNumbers.statusBar.keepAfterDone': true });
    await bridge.computeFresh(100);
    await waitForStatus(s, /^T 100 · done$/, 10_000);
    await delay(12_000);
    assert.equal((await statusItem(s))?.visible, true, 'still shown 12 s after done');
  });

  it('the row context menu: right-click a row → "Copy T(n)" puts the reference value on the clipboard; b-file line and Export from here', async function () {
    const { s, bridge } = await startBridged('row-menu');
    await bridge.computeFresh(60);
    const view = new TermsView(s);
    await view.open();
    const inner = await view.inner();
    const n = 7;
    await bridge.call('writeClipboard', { text: 'before' });
    await inner.locator(`tr.row[data-n="${n}"]`).click({ button: 'right' });
    const menu = s.page.locator('.context-view .monaco-menu');
    await menu.waitFor({ state: 'visible', timeout: 15_000 });
    const items = (await menu.locator('.action-label').allInnerTexts()).map((t) => t.trim()).filter((t) => t.length > 0);
    assert.deepEqual(items, ['Copy T(n)', 'Copy as b-file Line', 'Export from Here…'], 'only the row commands (no Cut/Copy/Paste)');
    // The first item is focused as the menu opens; Enter runs it (as a user's keyboard would).
    await poll(async () => (await menu.locator('.action-item.focused .action-label').innerText().catch(() => '')).trim() === 'Copy T(n)', 'Copy T(n) to be focused', 5_000, 50)
      .catch(async () => menu.locator('.action-label', { hasText: /^Copy T\(n\)$/ }).hover());
    await s.page.keyboard.press('Enter');
    const copied = await poll(async () => {
      const c = await bridge.call<string>('readClipboard');
      return c !== 'before' ? c : undefined;
    }, 'the clipboard to change', 10_000, 100);
    assert.equal(copied, REFERENCE[n - 1], `T(${n}) from b000182.txt`);

    // Copy as b-file line, for a large term (from the command with the row's context, as the menu passes it).
    const line = await bridge.exec<string>('tangentNumbers.copyBfileLine', { webviewSection: 'row', n: 55 });
    assert.equal(line, `55 ${REFERENCE[54]}`);
    assert.equal(await bridge.call<string>('readClipboard'), `55 ${REFERENCE[54]}`);

    // Export from here (the menu's third item, run with the row's context): the format pick, then the save
    // dialog; the file holds T(41..60) exactly as the reference b-file's lines.
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tangent-export-'));
    tempDirs.push(outDir);
    const out = path.join(outDir, 'tail.txt');
    await bridge.execDetached('tangentNumbers.exportFrom', { webviewSection: 'row', n: 41 });
    await waitForQuickInputTitle(s, /^Tangent Numbers: Export — format$/);
    await s.typeIntoQuickInput('OEIS b-file', { submit: true });
    await waitForQuickInputTitle(s, /^Tangent Numbers: Export$/);
    await poll(async () => /b000182\.txt$/.test(await quickInputValue(s)), 'the save dialog to propose b000182.txt', 15_000, 50);
    await s.page.keyboard.press('Control+A');
    await s.page.keyboard.type(out);
    await waitForQuickInputIdle(s);
    await s.page.keyboard.press('Enter');
    await poll(async () => {
      if (fs.existsSync(out)) return true;
      // The dialog may still be reading the folder and swallow that Enter: while it shows the path, accept again.
      if ((await s.quickInputVisible()) && (await quickInputValue(s).catch(() => '')) === out) await s.page.keyboard.press('Enter');
      return undefined;
    }, 'the export file', 20_000, 1000);
    const expected = REFERENCE.slice(40, 60).map((v, i) => `${41 + i} ${v}`).join('\n') + '\n';
    await poll(() => fs.readFileSync(out, 'latin1') === expected || undefined, 'the export to hold T(41..60) as b-file lines', 10_000, 100);
  });
});
