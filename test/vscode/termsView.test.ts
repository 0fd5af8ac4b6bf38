// Outer tests (plain Node) of the "Terms" side-panel webview and of the export, in a real workbench:
// code-server 4.100.3 (VS Code 1.100.3) + Chromium. The extension host runs test/harness/inHostBridge.ts,
// through which these tests start jobs and run the in-host suites (test/integration/export.bridged.ts,
// view.bridged.ts) at the right moment; everything the user sees is read from the workbench's DOM.
//
// One window (dark theme) runs the tests in order, sharing its job: 500 terms, then 4000, then 6000 (an
// extension long enough that an export lands while it runs).
// A second window (light theme) reopens the same folder, user data and browser profile.
// Artifacts: test-artifacts/terms-view-{dark,light}.png, test-artifacts/perf.json, failure screenshots.
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { Bridge, BRIDGE_INDEX } from '../harness/bridgeClient';
import { REPO_ROOT, VSCodeSession } from '../harness/codeServer';
import { TermsView, bigReferences, bigRowProblems, rowProblems, settle, type BigReference } from '../harness/termsViewPage';
import { FIXTURES_DIR, REFERENCE, REFERENCE_HASHES } from '../unit/reference';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');
const MARK = 'tangentNumbers.terms.firstRows';
const FIRST_PAINT_BUDGET_MS = 300;
const LONG_TASK_BUDGET_MS = 50;

const sha256 = (s: string | Buffer) => crypto.createHash('sha256').update(s).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** VS Code shows at most 3 new notification toasts per 800 ms (the others go to the notification centre
 *  only): wait this long before an action whose toast a test reads. */
const toastQuiet = () => sleep(900);
const ref = (n: number) => REFERENCE[n - 1];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const round1 = (x: number) => Math.round(x * 10) / 10;

/** Everything measured, written to test-artifacts/perf.json at the end (and printed as it is measured). */
const perf: Record<string, unknown> = {};
function report(key: string, value: unknown): void {
  perf[key] = value;
  console.log(`      [perf] ${key}: ${JSON.stringify(value)}`);
}

/** Files under dir (relative path → size:mtime), for "nothing was written" checks. */
function snapshotTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = fs.statSync(p);
        out[path.relative(dir, p)] = `${st.size}:${st.mtimeMs}`;
      }
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

/** The newest log file of the extension's "Tangent Numbers" LogOutputChannel under the user data dir. */
function channelLogFile(userDataDir: string): string | undefined {
  const found: { file: string; mtime: number }[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name === 'Tangent Numbers.log') found.push({ file: p, mtime: fs.statSync(p).mtimeMs });
    }
  };
  walk(path.join(userDataDir, 'logs'));
  return found.sort((a, b) => b.mtime - a.mtime)[0]?.file;
}

/** Makes dir unwritable even for root (immutable attribute) or, for other users, read-only. Returns undo. */
function makeReadOnlyDir(dir: string): (() => void) | undefined {
  fs.mkdirSync(dir, { recursive: true });
  let undo: () => void;
  if (process.getuid?.() === 0) {
    try {
      execFileSync('chattr', ['+i', dir], { stdio: 'ignore' });
    } catch {
      return undefined;
    }
    undo = () => execFileSync('chattr', ['-i', dir], { stdio: 'ignore' });
  } else {
    fs.chmodSync(dir, 0o555);
    undo = () => fs.chmodSync(dir, 0o755);
  }
  try {
    fs.writeFileSync(path.join(dir, 'probe'), '');
    fs.rmSync(path.join(dir, 'probe'));
    undo();
    return undefined; // still writable here: the case cannot be tested
  } catch {
    return undo;
  }
}

describe('Terms view and export in the real workbench (code-server)', function () {
  this.timeout(120_000);
  // One temp dir for the folder, the user data, the browser profile and the exports (made in before()).
  let root = '';
  let workspace = '';
  let userDataDir = '';
  let browserProfileDir = '';
  let exportsDir = '';
  const big = new Map<number, BigReference>(bigReferences(FIXTURES_DIR).map((t) => [t.n, t]));
  let port: number | undefined;
  let session: VSCodeSession | undefined;
  let bridge: Bridge;
  let view: TermsView;

  async function startSession(label: string, colorTheme: 'Default Dark Modern' | 'Default Light Modern'): Promise<void> {
    session = await VSCodeSession.start({
      workspace,
      userDataDir,
      browserProfileDir,
      port,
      colorTheme,
      label,
      extensionDevelopmentPath: REPO_ROOT,
      extensionTestsPath: BRIDGE_INDEX,
      artifactsDir: ARTIFACTS,
      echoLogs: process.env.VSCODE_HARNESS_ECHO === '1',
    });
    port = session.port;
    await session.page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: `http://127.0.0.1:${session.port}` });
    bridge = await Bridge.connect(session);
    view = new TermsView(session);
    await applyTheme(colorTheme);
  }

  /** Applies a colour theme and checks the workbench shows it. code-server 4.100.3 does not apply the
   *  workbench.colorTheme of settings.json at start-up (it shows the first theme of the kind: Light+, or
   *  Abyss after a reload), but applies a change of the setting: so the session's theme is set again here. */
  async function applyTheme(theme: 'Default Dark Modern' | 'Default Light Modern'): Promise<void> {
    const cls = theme === 'Default Dark Modern' ? 'vscode-theme-defaults-themes-dark_modern-json' : 'vscode-theme-defaults-themes-light_modern-json';
    const shown = () => session!.page.evaluate((c) => !!document.querySelector('.monaco-workbench')?.classList.contains(c), cls);
    if (await shown()) return;
    await bridge.call('updateSetting', { section: 'workbench', key: 'colorTheme', value: 'Default High Contrast' });
    await bridge.call('updateSetting', { section: 'workbench', key: 'colorTheme', value: theme });
    await session!.page.waitForFunction((c) => !!document.querySelector('.monaco-workbench')?.classList.contains(c), cls, { timeout: 15_000 });
  }

  async function stopSession(): Promise<void> {
    if (!session) return;
    const s = session;
    session = undefined;
    try {
      await bridge?.finish().catch(() => undefined);
      // The bridge writes the result file as it finishes (a reload by command may already have settled
      // the harness's exit promise, so wait for the file itself).
      for (let i = 0; i < 100 && !fs.existsSync(s.resultFile); i++) await sleep(100);
      const result = await s.waitForTestsResult(30_000).catch(() => undefined);
      if (result && result.failures > 0) throw new Error(`in-host failures: ${JSON.stringify(result.failuresDetail, null, 2)}`);
    } finally {
      await s.stop();
    }
  }

  async function clipboard(): Promise<string> {
    return session!.page.evaluate(() => navigator.clipboard.readText());
  }

  async function waitForClipboard(not: string, timeoutMs = 10_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const text = await clipboard();
      if (text !== not) return text;
      if (Date.now() > until) throw new Error(`the clipboard still holds "${not}" after ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  /** Puts the mouse over the table's sticky header: a wheel there scrolls the table (over an expanded
   *  row's value box it would scroll that box first). */
  async function mouseOverTable(): Promise<void> {
    const box = await view.frame.locator('#terms th.c-digits').boundingBox();
    assert.ok(box, 'the table header has a box');
    await session!.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  }

  /** Scrolls the table by mouse wheel and waits until it rests and its rows are shown. */
  async function wheel(dy: number): Promise<void> {
    await mouseOverTable();
    const inner = await view.inner();
    const from = await inner.evaluate(() => document.getElementById('scroller')!.scrollTop);
    await session!.page.mouse.wheel(0, dy);
    // Wait until the scroll has happened and come to rest (it may be animated).
    await inner.waitForFunction((f) => document.getElementById('scroller')!.scrollTop !== f, from, { timeout: 5_000 });
    let last = -1;
    for (;;) {
      const now = await inner.evaluate(() => new Promise<number>((r) => requestAnimationFrame(() => r(document.getElementById('scroller')!.scrollTop))));
      if (now === last) break;
      last = now;
      await sleep(50);
    }
    await view.waitForRows();
  }

  async function hideAndShow(): Promise<void> {
    await session!.runCommand('View: Show Explorer');
    const until = Date.now() + 10_000;
    while (await view.isShown()) {
      if (Date.now() > until) throw new Error('the Terms view is still shown after "View: Show Explorer"');
      await sleep(50);
    }
    await view.open();
  }

  async function assertVisibleRowsMatch(what: string, min = 10): Promise<number[]> {
    const rows = await view.visibleRows();
    assert.ok(rows.length >= min, `${what}: only ${rows.length} visible rows`);
    const problems = rows.flatMap((r) => rowProblems(r, ref(r.n)));
    assert.deepEqual(problems, [], `${what}: rows differ from b000182.txt`);
    const ns = rows.map((r) => r.n);
    assert.deepEqual(ns, Array.from({ length: ns.length }, (_, i) => ns[0] + i), `${what}: visible rows are consecutive`);
    return ns;
  }

  interface FirstPaintSample {
    /** The asserted number: first rows (the view's performance mark) after its document started (its first
     *  resource, terms.css in <head>, was requested as the HTML was parsed). */
    fromContentStartMs: number;
    /** The mark from the content frame's time origin (navigation start of VS Code's fake.html, into which the
     *  view's HTML is written): includes VS Code's service-worker dispatch of that navigation. */
    fromTimeOriginMs: number;
    serviceWorkerDispatchMs: number;
    firstContentfulPaintMs: number;
    /** The mark from the navigation start of VS Code's webview host frame (pre/index.html). */
    fromWebviewHostStartMs: number;
    /** Wall clock: palette command → mark seen by polling (includes the palette and polling latency). */
    commandToRowsWallMs: number;
  }

  /** Reads the first-paint numbers of the view that is being opened (started at t0 by the caller). */
  async function firstPaint(t0: number): Promise<FirstPaintSample> {
    const { host, inner } = await view.frames();
    await inner.waitForFunction((mark) => performance.getEntriesByName(mark).length > 0, MARK, { timeout: 30_000, polling: 10 });
    const wallMs = Date.now() - t0;
    const m = await inner.evaluate((mark) => {
      const e = performance.getEntriesByName(mark)[0];
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
      const css = performance.getEntriesByType('resource').find((r) => /\/terms\.css(\?|$)/.test(r.name));
      const fcp = performance.getEntriesByName('first-contentful-paint')[0];
      return { mark: e.startTime, origin: performance.timeOrigin, contentStart: css?.startTime ?? Number.NaN, workerStart: nav?.workerStart ?? 0, fcp: fcp?.startTime ?? Number.NaN };
    }, MARK);
    const hostOrigin = await host.evaluate(() => performance.timeOrigin);
    assert.ok(Number.isFinite(m.contentStart), 'the view requested terms.css');
    return {
      fromContentStartMs: round1(m.mark - m.contentStart),
      fromTimeOriginMs: round1(m.mark),
      serviceWorkerDispatchMs: round1(m.workerStart),
      firstContentfulPaintMs: round1(m.fcp),
      fromWebviewHostStartMs: round1(m.origin + m.mark - hostOrigin),
      commandToRowsWallMs: wallMs,
    };
  }

  before(function () {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tangent-view-'));
    workspace = path.join(root, 'workspace');
    userDataDir = path.join(root, 'user-data');
    browserProfileDir = path.join(root, 'browser-profile');
    exportsDir = path.join(root, 'exports');
    fs.mkdirSync(workspace);
    fs.mkdirSync(exportsDir);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterEach(async function () {
    if (session && this.currentTest?.state === 'failed') {
      await session.screenshot(`failed-termsView-${this.currentTest.title}`).catch(() => undefined);
      const ui = await session.page.evaluate(() => ({
        toasts: Array.from(document.querySelectorAll('.notifications-toasts .notification-toast')).map((t) => (t as HTMLElement).innerText.replace(/\s+/g, ' ').slice(0, 120)),
        toastsContainer: document.querySelector('.notifications-toasts')?.className,
        quickInput: document.querySelector<HTMLElement>('.quick-input-widget')?.style.display,
        quickInputTitle: document.querySelector('.quick-input-widget .quick-input-title')?.textContent,
        dialog: document.querySelector('.monaco-dialog-box')?.textContent?.slice(0, 200) ?? null,
        focus: `${document.activeElement?.tagName}.${document.activeElement?.className}`,
      })).catch((e: Error) => e.message);
      console.log(`      [failure state] ${JSON.stringify(ui)}`);
      // Leave no quick input open for the next test.
      for (let i = 0; i < 3 && (await session.quickInputVisible().catch(() => false)); i++) await session.pressKey('Escape');
    }
  });

  after(async function () {
    await stopSession();
    if (Object.keys(perf).length > 0) {
      fs.writeFileSync(path.join(ARTIFACTS, 'perf.json'), JSON.stringify({ measuredAt: new Date().toISOString(), ...perf }, null, 2) + '\n');
    }
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  describe('a window in Default Dark Modern', function () {
    before(async function () {
      await startSession('terms-view-dark', 'Default Dark Modern');
    });

    after(async function () {
      await stopSession();
    });

    it('shows the reference values of a 500-term job: top, around n = 250, the end; expand and copy are exact', async function () {
      const job = await bridge.computeFresh(500);
      assert.equal(job.done, 500);
      await view.open();
      assert.equal(await view.frame.locator('#job-state').getAttribute('data-state'), 'done');
      assert.equal(await view.frame.locator('#progress').getAttribute('aria-valuenow'), '500');
      assert.match((await view.frame.locator('#job-counts').textContent()) ?? '', /500 \/ 500 terms/);

      const top = await assertVisibleRowsMatch('top');
      assert.equal(top[0], 1);

      await view.jumpTo(250);
      const around = await assertVisibleRowsMatch('after jumping to 250');
      assert.equal(around[0], 250, 'the jump puts row 250 at the top');

      await wheel(1000); // ~45 rows further, across the page boundary at n = 300
      const wheeled = await assertVisibleRowsMatch('after scrolling by wheel');
      assert.ok(wheeled[0] > 280 && wheeled[0] < 310, `first row after the wheel: ${wheeled[0]}`);

      await view.jumpTo(500);
      const end = await assertVisibleRowsMatch('at the end');
      assert.equal(end.at(-1), 500, 'the last row is T(500)');

      // Keyboard: Home, PageDown and End on the focused row move through the table; rows stay exact.
      const focused = async () => (await view.inner()).evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.n ?? null);
      await view.frame.locator('tr.row[data-n="495"] .c-digits').click();
      assert.equal(await focused(), '495');
      await session!.pressKey('Home');
      await view.waitForRows();
      assert.equal((await assertVisibleRowsMatch('after Home'))[0], 1);
      assert.equal(await focused(), '1');
      await session!.pressKey('PageDown');
      await view.waitForRows();
      const paged = await assertVisibleRowsMatch('after PageDown');
      const pagedFocus = Number(await focused());
      assert.ok(pagedFocus > top.at(-1)! - 3 && paged.includes(pagedFocus), `PageDown focused T(${pagedFocus}), shown ${paged[0]}..${paged.at(-1)}`);
      await session!.pressKey('End');
      await view.waitForRows();
      assert.equal((await assertVisibleRowsMatch('after End')).at(-1), 500);
      assert.equal(await focused(), '500');

      // Expand: the detail row holds the whole value.
      assert.equal(await view.expand(500), ref(500));
      assert.match((await view.frame.locator('tr[data-detail-for="500"] .detail-title').textContent()) ?? '', new RegExp(`T\\(500\\) · ${ref(500).length.toLocaleString('en-US')} digits`));
      await view.jumpTo(250);
      assert.equal(await view.expand(250), ref(250));

      // Copy from the row's button and from the detail's Copy button: the clipboard holds the exact value.
      await session!.page.evaluate(() => navigator.clipboard.writeText('sentinel'));
      const row = view.frame.locator('tr.row[data-n="250"]');
      await row.hover();
      await row.locator('.row-copy').click();
      assert.equal(await waitForClipboard('sentinel'), ref(250));
      await view.frame.locator('#announcer', { hasText: `Copied T(250) (${ref(250).length.toLocaleString('en-US')} digits).` }).waitFor({ timeout: 5_000 });

      await session!.page.evaluate(() => navigator.clipboard.writeText('sentinel'));
      await view.jumpTo(500);
      await view.frame.locator('tr[data-detail-for="500"] button[data-action="copy"]').click();
      assert.equal(await waitForClipboard('sentinel'), ref(500));
      await view.collapse(500);
      await view.jumpTo(250);
      await view.collapse(250);
    });

    it('comes back at its scroll position with its expanded rows after hide/show and after a window reload', async function () {
      await view.jumpTo(290);
      assert.equal(await view.expand(290), ref(290));
      await view.jumpTo(300);
      assert.equal(await view.expand(300), ref(300));
      assert.equal(await view.expand(302), ref(302));
      await wheel(37); // an offset that is not a multiple of the row height
      await sleep(300); // the view saves its state 100 ms after a scroll
      const before = await view.state();
      assert.ok(before.firstVisible >= 300 && before.firstVisible <= 302, `first visible row ${before.firstVisible}`);
      assert.deepEqual(before.details, [300, 302]);

      const expectRestored = async (what: string) => {
        await view.waitForRows();
        const inner = await view.inner();
        // The saved offset is applied once the heights of the expanded rows above are known.
        await inner.waitForFunction((want) => document.getElementById('scroller')!.scrollTop === want, before.scrollTop, { timeout: 10_000 }).catch(() => undefined);
        await settle(inner);
        const after = await view.state();
        assert.deepEqual(after, before, `${what}: the view's position and expanded rows`);
        assert.equal(await view.fullValue(300), ref(300), `${what}: T(300) expanded`);
        assert.equal(await view.fullValue(302), ref(302), `${what}: T(302) expanded`);
        await assertVisibleRowsMatch(what, 3);
      };

      await hideAndShow();
      await expectRestored('after hide/show');

      // "Developer: Reload Window" (the workbench saves its state, then reloads the page). A browser-level
      // reload (page.reload()) does not wait for VS Code web to flush its storage, so it may restore an older
      // state of any webview; that is the platform's, not the view's.
      const since = session!.logs.length;
      await session!.runCommand('Developer: Reload Window');
      bridge = await Bridge.connect(session!, since);
      await applyTheme('Default Dark Modern');
      await view.waitForRows(60_000); // the sidebar comes back with the view: no command
      await expectRestored('after a window reload');

      // T(290), above the viewport, is still expanded too.
      await view.jumpTo(290);
      assert.equal(await view.frame.locator('tr.row[data-n="290"]').getAttribute('aria-expanded'), 'true');
      assert.equal(await view.fullValue(290), ref(290));
      for (const n of [290, 300, 302]) {
        await view.jumpTo(n);
        await view.collapse(n);
      }
    });

    it('exports every format exactly as the references (in-host suite, with the view open)', async function () {
      this.timeout(300_000);
      const result = await bridge.runTests(['export.bridged.js']);
      assert.equal(result.failures, 0, `in-host export failures:\n${result.failuresDetail.map((f) => `- ${f.title}: ${f.message}`).join('\n')}`);
      assert.ok(result.passes >= 8 && result.pending === 0, `in-host export suite: ${JSON.stringify(result)}`);
      // It extended the job to 4000 while the view was open: the view followed.
      await view.frame.locator('#job-state[data-state="done"]').waitFor({ timeout: 30_000 });
      await view.frame.locator('#job-counts', { hasText: '4,000 / 4,000 terms' }).waitFor({ timeout: 30_000 });
    });

    it('jumps to n = 3000 in a 4000-term job and shows the reference row (18,886 digits)', async function () {
      await bridge.waitJob({ states: ['done'], minDone: 4000 });
      await view.jumpTo(3000);
      const rows = await view.visibleRows();
      assert.equal(rows[0].n, 3000);
      assert.equal(rows[0].digits, '18,886');
      assert.deepEqual(bigRowProblems(rows[0], big.get(3000)!), []);
      const full = await view.expand(3000);
      assert.equal(full.length, 18_886);
      assert.equal(sha256(full), big.get(3000)!.sha256, 'sha256 of the expanded T(3000)');

      await view.jumpTo(4000);
      const end = await view.visibleRows();
      assert.equal(end.at(-1)!.n, 4000);
      for (const n of [3999, 4000]) assert.deepEqual(bigRowProblems(end.find((r) => r.n === n)!, big.get(n)!), []);

      // Beyond the stored terms, and not a number: the view says so instead of jumping blindly.
      await view.jumpTo(1);
      await view.frame.locator('#jump').fill('5000');
      await view.frame.locator('#jump').press('Enter');
      await view.frame.locator('#jump-hint', { hasText: 'T(5,000) is not computed yet; showing T(4,000).' }).waitFor({ timeout: 10_000 });
      await view.waitForRows();
      assert.equal((await view.visibleRows()).at(-1)!.n, 4000);
      await view.frame.locator('#jump').fill('12e3');
      await view.frame.locator('#btn-jump').click();
      await view.frame.locator('#jump-hint', { hasText: 'Type a whole number from 1 to 4,000.' }).waitFor({ timeout: 10_000 });
      assert.equal(await view.frame.locator('#jump').getAttribute('aria-invalid'), 'true');
      await view.jumpTo(3000);
      assert.equal(await view.frame.locator('#jump').getAttribute('aria-invalid'), 'false');
    });

    it('saves a screenshot of the view in Default Dark Modern (finished job, one expanded row)', async function () {
      await bridge.exec('notifications.clearAll');
      assert.equal(await view.frame.locator('body').getAttribute('data-vscode-theme-id'), 'Default Dark Modern');
      assert.equal(await view.frame.locator('body').getAttribute('data-vscode-theme-kind'), 'vscode-dark');
      await view.frame.locator('tr[data-detail-for="3000"] .full:not(.pending)').waitFor();
      await session!.page.locator('.part.sidebar').screenshot({ path: path.join(ARTIFACTS, 'terms-view-dark.png') });
      await session!.screenshot('terms-view-dark-window');
    });

    it('ignores forged webview messages: logged, nothing read or written, host and view keep working', async function () {
      const storage = session!.storageDirs().workspaceStorage!;
      const canaryDir = path.join(root, 'canary');
      fs.mkdirSync(canaryDir, { recursive: true });
      const canary = path.join(canaryDir, 'secret.txt');
      fs.writeFileSync(canary, 'do not read me\n');
      const watched = { workspace, storage, canaryDir, exportsDir };
      const before = Object.fromEntries(Object.entries(watched).map(([k, d]) => [k, snapshotTree(d)]));
      const hostsBefore = await session!.extensionHostPids();
      const logFile = channelLogFile(userDataDir);
      assert.ok(logFile, 'the Tangent Numbers log file exists');
      const logStart = fs.readFileSync(logFile, 'utf8').length;
      const newLog = () => fs.readFileSync(logFile, 'utf8').slice(logStart);

      const forged: unknown[] = [
        // wrong types
        'hello', 42, null, true, [1, 2], {}, { type: 42 }, { type: ['getRows'] }, { n: 5 },
        { type: 'getRows', from: '1', to: '10' }, { type: 'getTerm', n: '5' }, { type: 'getTerm', n: [5] },
        // huge, negative, NaN, non-integer numbers
        { type: 'getRows', from: 1, to: 1e300 }, { type: 'getRows', from: 2 ** 53, to: 2 ** 53 + 2 },
        { type: 'getRows', from: -5, to: 10 }, { type: 'getRows', from: 1, to: 5000 }, { type: 'getRows', from: 10, to: 5 },
        { type: 'getRows', from: Number.NaN, to: 10 }, { type: 'getTerm', n: 1e300 }, { type: 'getTerm', n: 2 ** 53 },
        { type: 'getTerm', n: -1 }, { type: 'getTerm', n: 0 }, { type: 'getTerm', n: 1.5 }, { type: 'getTerm', n: Number.POSITIVE_INFINITY },
        { type: 'copy', n: 2 ** 53 }, { type: 'copy', n: -3 },
        // path strings
        { type: 'getTerm', n: '../../etc/passwd' }, { type: 'getRows', from: '/etc/passwd', to: 2 }, { type: 'copy', n: canary },
        { type: 'command', command: '../../../etc/passwd' }, { type: 'command', command: 'workbench.action.closeWindow' },
        { type: 'command', command: `tangentNumbers.export ${canary}` },
        // unknown types
        { type: 'export', format: 'bfile', file: canary }, { type: 'readFile', path: '/etc/passwd' }, { type: 'openFile', file: canary },
        { type: '__proto__' }, { type: 'constructor' }, { type: 'toString' },
        // extra fields on otherwise valid messages
        { type: 'ready', extra: 1 }, { type: 'getTerm', n: 5, file: canary }, { type: 'getRows', from: 1, to: 2, path: '../../etc/passwd' },
        { type: 'command', command: 'export', file: canary }, { type: 'copy', n: 1, format: 'bfile' },
        { type: 'getRows', from: 1, to: 2, pad: 'x'.repeat(100_000) },
      ];
      assert.ok(forged.length < 50, 'below the logging cap');
      await view.forgeMessages(forged);

      // Each one is logged as ignored (the preview is the JSON the host received, cut at 200 characters).
      const expected = forged.map((m) => {
        const text = JSON.stringify(m);
        return text.length > 200 ? `${text.slice(0, 200)}…` : text;
      });
      const ignoredLines = () => newLog().split('\n').filter((l) => /\[warning\] terms view: ignored a malformed message /.test(l));
      const until = Date.now() + 15_000;
      while (ignoredLines().length < forged.length && Date.now() < until) await sleep(100);
      const ignored = ignoredLines().map((l) => l.replace(/^.*ignored a malformed message /, ''));
      assert.deepEqual(ignored, expected, 'every forged message is logged as ignored, in order');

      // A flood: the log is capped at 50 such lines, then one notice, then silence.
      await view.forgeMessages(Array.from({ length: 100 }, (_, i) => ({ type: 'getTerm', n: -i })));
      const untilCap = Date.now() + 15_000;
      while (!/further malformed messages are ignored/.test(newLog()) && Date.now() < untilCap) await sleep(100);
      await sleep(500);
      assert.equal(ignoredLines().length, 50, 'logged malformed messages are capped at 50');
      assert.equal(newLog().split('\n').filter((l) => /further malformed messages are ignored without logging/.test(l)).length, 1);

      // The channel is the real one: a valid forged `copy` makes the host copy T(2000) (vscode.env.clipboard, as
      // read back in the extension host) and answer the view, which announces it.
      await bridge.call('writeClipboard', { text: 'sentinel' });
      await view.forgeMessages([{ type: 'copy', n: 2000 }]);
      const untilCopied = Date.now() + 15_000;
      let copied = 'sentinel';
      while (copied === 'sentinel' && Date.now() < untilCopied) {
        await sleep(100);
        copied = await bridge.call<string>('readClipboard');
      }
      assert.equal(sha256(copied), big.get(2000)!.sha256, 'the host copied T(2000)');
      await view.frame.locator('#announcer', { hasText: 'Copied T(2000).' }).waitFor({ timeout: 5_000 });

      // Many valid but heavy requests (T(4000) has 26,181 digits): bounded by the host's queue, and the
      // refusals are logged at most 50 times too. Then a flood of `ready` (each answered with `init`).
      await view.forgeMessages(Array.from({ length: 300 }, () => ({ type: 'getTerm', n: 4000 })));
      const refusedLines = () => newLog().split('\n').filter((l) => /terms view: too many pending requests; ignored getTerm/.test(l)).length;
      const untilRefused = Date.now() + 15_000;
      while (!/further requests refused for too many pending ones are ignored without logging/.test(newLog()) && Date.now() < untilRefused) await sleep(100);
      await sleep(500);
      assert.equal(refusedLines(), 50, 'refused requests are logged at most 50 times');
      assert.equal(newLog().split('\n').filter((l) => /further requests refused for too many pending ones/.test(l)).length, 1);
      await view.forgeMessages(Array.from({ length: 500 }, () => ({ type: 'ready' })));

      // The extension host is the same process and still answers; a command still works.
      assert.deepEqual(await session!.extensionHostPids(), hostsBefore, 'the extension host did not restart');
      const probe = path.join(exportsDir, 'after-forged.txt');
      assert.deepEqual(await bridge.exec('tangentNumbers.export', { format: 'txt', file: probe, from: 1, to: 5 }), { file: probe, terms: 5 });
      assert.equal(fs.readFileSync(probe, 'latin1'), REFERENCE.slice(0, 5).join('\n') + '\n');
      fs.rmSync(probe);
      // The view still works.
      await view.jumpTo(1000);
      assert.deepEqual(bigRowProblems((await view.visibleRows())[0], big.get(1000)!), []);
      await view.jumpTo(3000);

      // Nothing was written anywhere we watch (the store included), the canary is untouched.
      await sleep(500);
      for (const [k, d] of Object.entries(watched)) assert.deepEqual(snapshotTree(d), before[k], `files under ${k} (${d})`);
      assert.equal(fs.readFileSync(canary, 'utf8'), 'do not read me\n');
      assert.doesNotMatch(newLog(), /\[error\]/, 'no errors in the log');
      report('forgedMessages', { malformed: forged.length + 100, heavyValid: 300, ready: 500, loggedAsMalformed: ignoredLines().length, loggedAsRefused: refusedLines(), logBytes: newLog().length });
    });

    it('exports through the real UI: Export button → format → range → save dialog (and overwrites after asking)', async function () {
      const target = path.join(exportsDir, 'ui-export.csv');
      const rowsOf = () => session!.page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
      const pickRow = async (text: RegExp) => {
        const row = rowsOf().filter({ hasText: text }).first();
        await row.waitFor({ timeout: 15_000 });
        await row.click();
      };
      const input = session!.page.locator('.quick-input-widget .quick-input-box input');
      const title = session!.page.locator('.quick-input-widget .quick-input-title');
      const saveAs = async (file: string, proposedName: string) => {
        // code-server's simple save dialog: a quick input holding a path. Wait until it proposes
        // <workspace>/<proposedName> (typing earlier would be overwritten by that).
        const proposed = path.join(workspace, proposedName);
        await session!.page.waitForFunction((p) => document.querySelector<HTMLInputElement>('.quick-input-widget .quick-input-box input')?.value === p, proposed, { timeout: 15_000 });
        const dialogTitle = await title.textContent();
        // Typing another folder makes the dialog list it; Enter while it loads is ignored, so press Enter
        // until the dialog goes or asks something else.
        for (let attempt = 0; ; attempt++) {
          if ((await input.inputValue()) !== file) await input.fill(file);
          await sleep(300);
          await session!.pressKey('Enter');
          const done = await session!.page
            .waitForFunction((t) => {
              const box = document.querySelector<HTMLInputElement>('.quick-input-widget .quick-input-box input');
              return !box || box.offsetParent === null || document.querySelector('.quick-input-widget .quick-input-title')?.textContent !== t;
            }, dialogTitle, { timeout: 5_000 })
            .then(() => true, () => false);
          if (done) break;
          assert.ok(attempt < 5, `the save dialog does not accept ${file}`);
        }
      };

      await bridge.exec('notifications.clearAll');
      await toastQuiet();
      await view.frame.locator('#btn-export').click();
      await pickRow(/^CSV/);
      await pickRow(/From n to m/);
      await session!.typeIntoQuickInput('100..120', { submit: true });
      await input.waitFor();
      await saveAs(target, 'A000182.csv');
      await session!.waitForNotification(new RegExp(`exported 21 terms to ${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      const lines = fs.readFileSync(target, 'latin1').trimEnd().split('\n');
      assert.equal(lines[0], 'n,digits,value');
      assert.deepEqual(lines.slice(1), Array.from({ length: 21 }, (_, i) => `${100 + i},${ref(100 + i).length},${ref(100 + i)}`));

      // Again, through the palette, onto the same file: the dialog asks before replacing it. (Same format:
      // the dialog appends the format's extension to a name without it, e.g. ui-export.csv.txt for a b-file.)
      await toastQuiet();
      await session!.runCommand('Tangent Numbers: Export…');
      await pickRow(/^CSV/);
      await pickRow(/First k terms/);
      await session!.typeIntoQuickInput('7', { submit: true });
      await saveAs(target, 'A000182.csv');
      // The simple dialog asks in its title; Enter (OK) confirms.
      await session!.page.locator('.quick-input-widget .quick-input-title', { hasText: /ui-export\.csv already exists\. Are you sure you want to overwrite it\?/ }).waitFor({ timeout: 15_000 });
      await session!.pressKey('Enter');
      await session!.waitForNotification(new RegExp(`exported 7 terms to ${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      assert.equal(fs.readFileSync(target, 'latin1'), ['n,digits,value', ...Array.from({ length: 7 }, (_, i) => `${i + 1},${ref(i + 1).length},${ref(i + 1)}`)].join('\n') + '\n');
      assert.deepEqual(fs.readdirSync(exportsDir), ['ui-export.csv'], 'no temporary file is left');
    });

    it('refuses unwritable paths with a clear error and leaves no file, not even a temporary one', async function () {
      const fileParent = path.join(root, 'a-file');
      fs.writeFileSync(fileParent, 'not a folder\n');
      const folderTarget = path.join(root, 'a-folder');
      fs.mkdirSync(folderTarget);
      const readOnly = path.join(root, 'read-only');
      const undoReadOnly = makeReadOnlyDir(readOnly);
      const cases: { file: string; message: RegExp; check: () => void }[] = [
        // (A missing folder is no refusal any more: the export makes it, as VS Code's save dialog expects; test/unit/exportFile.test.ts.)
        { file: path.join(fileParent, 'out.txt'), message: /a part of the path is not a folder/, check: () => assert.equal(fs.readFileSync(fileParent, 'utf8'), 'not a folder\n') },
        { file: folderTarget, message: /it is a folder/, check: () => assert.deepEqual(fs.readdirSync(folderTarget), []) },
      ];
      if (undoReadOnly) cases.push({ file: path.join(readOnly, 'out.txt'), message: /permission denied/, check: () => assert.deepEqual(fs.readdirSync(readOnly), []) });
      else console.log('      (read-only folder: cannot make a folder unwritable here; case skipped)');
      const rootBefore = fs.readdirSync(root).sort();
      try {
        for (const c of cases) {
          await toastQuiet();
          const r = await bridge.exec('tangentNumbers.export', { format: 'bfile', file: c.file });
          assert.equal(r, null, `export to ${c.file} returns nothing`);
          const text = await session!.waitForNotification(new RegExp(`Tangent Numbers: cannot write to ${c.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:`), 10_000).catch(async (e: Error) => {
            const dom = await session!.page.evaluate(() => ({
              toasts: Array.from(document.querySelectorAll('.notifications-toasts .notification-toast')).map((t) => (t as HTMLElement).innerText),
              toastsContainer: document.querySelector<HTMLElement>('.notifications-toasts')?.className,
              center: document.querySelector<HTMLElement>('.notifications-center')?.className,
              centerItems: Array.from(document.querySelectorAll('.notifications-center .notification-list-item-message')).map((t) => (t as HTMLElement).innerText),
              active: `${document.activeElement?.tagName}.${document.activeElement?.className}`,
              quickInput: document.querySelector<HTMLElement>('.quick-input-widget')?.style.display,
            }));
            throw new Error(`${e.message.split('\n')[0]}\nDOM: ${JSON.stringify(dom, null, 2)}`);
          });
          assert.match(text, c.message, `notification for ${c.file}`);
          assert.ok(text.includes(c.file), `the notification names the file: ${text}`);
          assert.doesNotMatch(text, /undefined|\[object/);
          c.check();
        }
      } finally {
        undoReadOnly?.();
      }
      assert.deepEqual(fs.readdirSync(root).sort(), rootBefore, 'no file appeared next to the targets');
      assert.deepEqual(fs.readdirSync(root).filter((f) => f.endsWith('.tmp')), []);
    });

    it(`paints the first rows of a 4000-term job within ${FIRST_PAINT_BUDGET_MS} ms of the view's document starting`, async function () {
      const job = await bridge.job();
      assert.equal(job.state, 'done');
      assert.equal(job.done, 4000);
      const samples: FirstPaintSample[] = [];
      for (let i = 0; i < 3; i++) {
        // Hidden, the view is destroyed (no retained context); shown again, it starts from scratch.
        await session!.runCommand('View: Show Explorer');
        while (await view.isShown()) await sleep(50);
        const t0 = Date.now();
        await session!.runCommand('Tangent Numbers: Show Terms');
        samples.push(await firstPaint(t0));
        await view.waitForRows();
      }
      const result = {
        budgetMs: FIRST_PAINT_BUDGET_MS,
        terms: 4000,
        asserted: 'fromContentStartMs: from the start of the view document (its HTML parsed, first resource requested) to the first rows in the DOM',
        medianFromContentStartMs: median(samples.map((s) => s.fromContentStartMs)),
        medianFromTimeOriginMs: median(samples.map((s) => s.fromTimeOriginMs)),
        samples,
      };
      report('firstPaint', result);
      for (const s of samples) {
        assert.ok(s.fromContentStartMs <= FIRST_PAINT_BUDGET_MS, `first rows ${s.fromContentStartMs} ms after the document started > ${FIRST_PAINT_BUDGET_MS} ms: ${JSON.stringify(s)}`);
      }
    });

    it(`has no long task > ${LONG_TASK_BUDGET_MS} ms in the view while scrolling top to bottom through 4000 rows by wheel`, async function () {
      this.timeout(180_000);
      await view.jumpTo(1);
      const inner = await view.inner();
      // In the view's frame: long tasks (the asserted measure) and long animation frames, whose script
      // attribution tells the view's own script (webview.js) from the workbench's (same renderer thread:
      // the webview is same-origin with the workbench under code-server).
      const install = () =>
        Promise.all([inner, session!.page].map((target) => target.evaluate(() => {
          const w = window as unknown as Record<string, unknown> & { __perf?: { tasks: unknown[]; frames: unknown[]; observers: PerformanceObserver[] } };
          w.__perf?.observers.forEach((o) => o.disconnect());
          const perf = { tasks: [] as unknown[], frames: [] as unknown[], observers: [] as PerformanceObserver[] };
          w.__perf = perf;
          const tasks = new PerformanceObserver((list) => {
            for (const e of list.getEntries()) {
              const attribution = ((e as PerformanceEntry & { attribution?: { name: string; containerType: string }[] }).attribution ?? []).map((a) => `${a.name}/${a.containerType}`);
              perf.tasks.push({ start: Math.round(e.startTime), duration: e.duration, attribution });
            }
          });
          tasks.observe({ type: 'longtask' });
          const frames = new PerformanceObserver((list) => {
            for (const e of list.getEntries() as (PerformanceEntry & { blockingDuration: number; scripts: { invoker: string; sourceURL: string; duration: number }[] })[]) {
              if (e.duration <= 50) continue;
              perf.frames.push({
                start: Math.round(e.startTime),
                duration: Math.round(e.duration),
                blocking: Math.round(e.blockingDuration),
                scripts: e.scripts.map((x) => ({ invoker: x.invoker, source: x.sourceURL.split('/').pop(), ms: Math.round(x.duration) })),
              });
            }
          });
          frames.observe({ type: 'long-animation-frame' });
          perf.observers.push(tasks, frames);
        })));
      type Collected = { tasks: { start: number; duration: number; attribution: string[] }[]; frames: { start: number; duration: number; blocking: number; scripts: { invoker: string; source: string; ms: number }[] }[] };
      // Long tasks as the view's frame sees them; long animation frames as the workbench page sees them (the
      // renderer reports them to the top frame, with the scripts of every same-process frame).
      const collect = async (): Promise<Collected> => {
        const read = (target: Frame | Page) => target.evaluate(() => {
          const p = (window as unknown as { __perf: { tasks: unknown[]; frames: unknown[] } }).__perf;
          return { tasks: p.tasks, frames: p.frames };
        }) as Promise<Collected>;
        const [view_, page] = await Promise.all([read(inner), read(session!.page)]);
        return { tasks: view_.tasks, frames: [...view_.frames, ...page.frames] };
      };

      // The instrument works: a deliberate 80 ms task in the view is seen.
      await install();
      await inner.evaluate(() => new Promise<void>((r) => setTimeout(() => {
        const t = performance.now();
        while (performance.now() - t < 80) { /* busy */ }
        setTimeout(r, 50);
      }, 0)));
      await sleep(200);
      const selfCheck = await collect();
      assert.ok(selfCheck.tasks.some((t) => t.duration >= 75), `the long-task observer did not see an 80 ms task: ${JSON.stringify(selfCheck)}`);

      const scrollPass = async () => {
        await view.jumpTo(1);
        await install();
        await mouseOverTable();
        const step = 400; // < the viewport (~480 px): every row passes through it
        const t0 = Date.now();
        let steps = 0;
        let placeholderFrames = 0;
        for (;;) {
          await session!.page.mouse.wheel(0, step);
          steps++;
          const st = await inner.evaluate(() => new Promise<[number, number, number]>((r) => requestAnimationFrame(() => {
            const sc = document.getElementById('scroller')!;
            r([sc.scrollTop, sc.scrollHeight - sc.clientHeight, document.querySelectorAll('tr.row.loading').length]);
          })));
          if (st[2] > 0) placeholderFrames++;
          if (st[0] >= st[1] - 1) break;
          assert.ok(steps < 1000, 'the scroll does not reach the end');
        }
        const scrollMs = Date.now() - t0;
        await view.waitForRows();
        const got = await collect();
        const last = await view.visibleRows();
        assert.equal(last.at(-1)!.n, 4000, 'the scroll ends at T(4000)');
        for (const n of [3999, 4000]) assert.deepEqual(bigRowProblems(last.find((r) => r.n === n)!, big.get(n)!), []);
        return {
          wheelSteps: steps,
          wheelStepPx: step,
          scrollMs,
          framesWithPlaceholderRows: placeholderFrames,
          longTasks: got.tasks.map((t) => ({ ms: round1(t.duration), atMs: t.start, attribution: t.attribution })),
          maxLongTaskMs: round1(Math.max(0, ...got.tasks.map((t) => t.duration))),
          longAnimationFrames: got.frames,
          viewScriptMsInLongFrames: Math.max(0, ...got.frames.flatMap((f) => f.scripts.filter((x) => x.source?.startsWith('webview.js')).map((x) => x.ms))),
        };
      };

      // The machine may be shared (2 CPUs; other suites may run at the same time), and a starved renderer
      // stretches any task: up to 3 passes, at least one must be free of long tasks. Every pass is reported.
      const passes = [await scrollPass()];
      while (passes.at(-1)!.maxLongTaskMs > LONG_TASK_BUDGET_MS && passes.length < 3) passes.push(await scrollPass());
      report('scrollLongTasks', { budgetMs: LONG_TASK_BUDGET_MS, rows: 4000, loadAverage: os.loadavg().map(round1), cpus: os.cpus().length, selfCheckDetectedMs: round1(Math.max(...selfCheck.tasks.map((t) => t.duration))), passes });
      for (const p of passes) assert.ok(p.viewScriptMsInLongFrames <= LONG_TASK_BUDGET_MS, `the view's script ran ${p.viewScriptMsInLongFrames} ms in one frame: ${JSON.stringify(p.longAnimationFrames)}`);
      assert.deepEqual(passes.at(-1)!.longTasks.filter((t) => t.ms > LONG_TASK_BUDGET_MS), [], `long tasks while scrolling in each of ${passes.length} passes: ${JSON.stringify(passes.map((p) => p.longTasks))}`);
      await view.jumpTo(3000);
    });

    it('keeps the extension host event-loop delay p99 ≤ 20 ms while a 4000-term job runs with the view open (in-host)', async function () {
      this.timeout(240_000);
      await view.waitForRows();
      assert.ok(await view.isShown(), 'the view is open');
      const since = session!.logs.length;
      const result = await bridge.runTests(['view.bridged.js']);
      const line = await session!.waitForLog(/TN-PERF eventLoop /, 10_000, since).catch(() => undefined);
      if (line) report('extensionHostEventLoop', JSON.parse(line.slice(line.indexOf('TN-PERF eventLoop ') + 'TN-PERF eventLoop '.length)));
      assert.equal(result.failures, 0, `in-host failures:\n${result.failuresDetail.map((f) => `- ${f.title}: ${f.message}`).join('\n')}`);
      assert.equal(result.passes, 1);
      assert.ok(line, 'the in-host test reported its numbers');
      // The view followed the restarted job to the end.
      await view.frame.locator('#job-counts', { hasText: '4,000 / 4,000 terms' }).waitFor({ timeout: 30_000 });
      await view.waitForRows();
    });

    it('exports the finished prefix while a job runs, and the notification says so', async function () {
      this.timeout(180_000);
      await bridge.exec('notifications.clearAll');
      await bridge.exec('tangentNumbers.compute', { count: 6000, mode: 'extend' });
      const running = await bridge.waitJob({ states: ['running'], minDone: 4000, target: 6000 });
      assert.equal(running.state, 'running');
      const file = path.join(exportsDir, 'while-running.txt');
      await toastQuiet();
      const r = await bridge.exec<{ file: string; terms: number }>('tangentNumbers.export', { format: 'bfile', file });
      const text = await session!.waitForNotification(/exported \d+ terms to .*while-running\.txt/);
      const after = await bridge.waitJob({ states: ['done'], minDone: 6000, timeoutMs: 120_000 });
      report('exportWhileRunning', { exportedTerms: r.terms, target: 6000, notification: text });
      assert.equal(after.done, 6000);
      assert.ok(r.terms >= 4000 && r.terms < 6000, `exported ${r.terms} terms while the job ran`);
      assert.match(text, new RegExp(`exported ${r.terms} terms to .*The job is still running: this is the finished prefix \\(${r.terms} of 6000 terms\\)\\.`));
      // The file is exactly the prefix: its first 4000 lines are the PARI/GP b-file, then n = 4001.. in order.
      const data = fs.readFileSync(file);
      let pos = 0;
      for (let i = 0; i < 4000; i++) pos = data.indexOf(0x0a, pos) + 1;
      assert.equal(pos, REFERENCE_HASHES['4000'].bytes);
      assert.equal(sha256(data.subarray(0, pos)), REFERENCE_HASHES['4000'].sha256, 'the first 4000 lines match the reference b-file');
      const rest = data.subarray(pos).toString('latin1').split('\n');
      assert.equal(rest.pop(), '');
      assert.deepEqual(rest.map((l) => Number(l.split(' ')[0])), Array.from({ length: r.terms - 4000 }, (_, i) => 4001 + i));
      assert.ok(rest.every((l) => /^\d+ [1-9]\d{26180,}$/.test(l)), 'terms after 4000 have more digits than T(4000)');
      fs.rmSync(file);
    });
  });

  describe('the same folder reopened in Default Light Modern', function () {
    before(async function () {
      await startSession('terms-view-light', 'Default Light Modern');
    });

    after(async function () {
      await stopSession();
    });

    it('shows the stored job and saves a screenshot of the view (finished job, one expanded row)', async function () {
      const job = await bridge.waitJob({ states: ['done'], minDone: 6000, timeoutMs: 30_000 });
      assert.equal(job.done, 6000);
      assert.equal(job.target, 6000);
      const t0 = Date.now();
      await session!.runCommand('Tangent Numbers: Show Terms');
      const sample = await firstPaint(t0);
      report('firstPaintInANewWindow', { terms: 6000, ...sample });
      assert.ok(sample.fromContentStartMs <= FIRST_PAINT_BUDGET_MS, `first rows ${sample.fromContentStartMs} ms after the document started`);
      await view.waitForRows();
      const inner = await view.inner();
      assert.equal(await view.frame.locator('body').getAttribute('data-vscode-theme-id'), 'Default Light Modern');
      assert.equal(await view.frame.locator('body').getAttribute('data-vscode-theme-kind'), 'vscode-light');
      await view.frame.locator('#job-counts', { hasText: '6,000 / 6,000 terms' }).waitFor();
      await view.jumpTo(3000);
      const full = await view.expand(3000);
      assert.equal(sha256(full), big.get(3000)!.sha256);
      await bridge.exec('notifications.clearAll');
      await settle(inner);
      await session!.page.locator('.part.sidebar').screenshot({ path: path.join(ARTIFACTS, 'terms-view-light.png') });
      await session!.screenshot('terms-view-light-window');
    });
  });
});
