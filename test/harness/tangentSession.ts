// Helpers for the outer tests of the Tangent Numbers extension (test/vscode/extension.test.ts): where its
// state and log live under a code-server session, the status bar item, the extension's own log (the
// "Tangent Numbers" log output channel, which VS Code writes to a file), and packaging it as a user would.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { REPO_ROOT, type VSCodeSession } from './codeServer';
import { poll } from './references';

export const EXTENSION_ID = 'tangent-numbers.tangent-numbers';
/** DOM id of the status bar item: <publisher>.<name>.<item id>. */
export const STATUS_ITEM_ID = `${EXTENSION_ID}.tangentNumbers.status`;
const LOG_NAME = 'Tangent Numbers.log';

export function storageRoot(session: VSCodeSession): string {
  const ws = session.storageDirs().workspaceStorage;
  if (!ws) throw new Error('the session has no folder open, so the extension has no workspace storage');
  return ws;
}

/** <storageUri>/state: the job's state directory. */
export function stateDirOf(session: VSCodeSession): string {
  return path.join(storageRoot(session), 'state');
}

/** <storageUri>/job.json: the user's intent (run / paused / cancelled). */
export function readIntent(session: VSCodeSession): { target: number; intent: string } | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(storageRoot(session), 'job.json'), 'utf8')) as { target: number; intent: string };
  } catch {
    return undefined;
  }
}

function findLogFiles(dir: string, out: string[] = []): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) findLogFiles(p, out);
    else if (e.name === LOG_NAME && path.basename(dir) === EXTENSION_ID) out.push(p);
  }
  return out;
}

/** Every line the extension logged, in all extension hosts of the session so far (one file per host:
 *  <userDataDir>/logs/<time>/exthost<N>/tangent-numbers.tangent-numbers/Tangent Numbers.log), oldest first. */
export function extensionLogLines(session: VSCodeSession): string[] {
  const files = findLogFiles(path.join(session.userDataDir, 'logs')).map((f) => {
    const lines = fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.length > 0);
    return { f, lines, first: lines[0]?.slice(0, 23) ?? '' };
  });
  files.sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : a.f.localeCompare(b.f)));
  return files.flatMap((x) => x.lines);
}

/** Waits for a line of the extension's log matching `re`, among the lines from index `since` on. */
export async function waitForExtensionLog(session: VSCodeSession, re: RegExp, timeoutMs = 30_000, since = 0): Promise<string> {
  try {
    return await poll(() => extensionLogLines(session).slice(since).find((l) => re.test(l)), `a line matching ${re} in the extension's log`, timeoutMs, 100);
  } catch (e) {
    const tail = extensionLogLines(session).slice(-25).join('\n');
    throw new Error(`${(e as Error).message}\n--- last lines of ${LOG_NAME} ---\n${tail}`, { cause: e });
  }
}

/** The extension logs "storage: ..." as the last step of activate(). */
export function waitForActivation(session: VSCodeSession, timeoutMs = 60_000, since = 0): Promise<string> {
  return waitForExtensionLog(session, /\[info\] storage: /, timeoutMs, since);
}

export interface StatusSample {
  text: string;
  ariaLabel: string | null;
  visible: boolean;
}

/** Text, aria-label and visibility of the status bar item in `page` (the session's page by default). */
export async function statusItem(session: VSCodeSession, page: Page = session.page): Promise<StatusSample | undefined> {
  const item = page.locator(`.monaco-workbench .part.statusbar .statusbar-item[id="${STATUS_ITEM_ID}"]`).first();
  if ((await item.count()) === 0) return undefined;
  // One read in the page, so text and aria-label come from the same render (the item updates ~4×/s).
  return item
    .evaluate((el) => {
      const h = el as HTMLElement;
      return { text: h.innerText.trim(), ariaLabel: h.getAttribute('aria-label'), visible: h.offsetWidth > 0 && h.offsetHeight > 0 && getComputedStyle(h).visibility !== 'hidden' };
    })
    .catch(() => undefined);
}

/** Waits until the status bar item (in `page`) is visible with text matching `re`; returns the sample. */
export async function waitForStatus(session: VSCodeSession, re: RegExp, timeoutMs = 30_000, page: Page = session.page): Promise<StatusSample> {
  let last: StatusSample | undefined;
  try {
    return await poll(async () => {
      last = await statusItem(session, page);
      return last?.visible && re.test(last.text) ? last : undefined;
    }, `the status bar item to show ${re}`, timeoutMs, 50);
  } catch (e) {
    throw new Error(`${(e as Error).message}; it shows ${JSON.stringify(last)}`, { cause: e });
  }
}

/** Terms done according to the status bar text ("T 123/4000 · ..." or "T 4000 · done"). */
export function statusDone(text: string): number | undefined {
  const m = /T (\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/**
 * Packages the extension as a user does (`vsce package --no-dependencies`, which runs the
 * vscode:prepublish production build), in a copy of the sources so the repository's dist/ is left alone.
 * `extraFiles` (path in the package → file to copy there) adds files to that copy only, e.g. translations
 * made at test time; they are packaged only if .vscodeignore lets them through. Returns the path of the .vsix.
 */
export async function packageVsix(outDir: string, timeoutMs = 180_000, extraFiles: Record<string, string> = {}): Promise<string> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tangent-pkg-'));
  try {
    for (const name of ['package.json', 'package.nls.json', 'l10n', 'package-lock.json', '.vscodeignore', 'esbuild.js', 'tsconfig.json', 'README.md', 'CHANGELOG.md', 'LICENSE', 'src', 'media', 'scripts']) {
      const from = path.join(REPO_ROOT, name);
      if (fs.existsSync(from)) fs.cpSync(from, path.join(work, name), { recursive: true });
    }
    for (const [rel, from] of Object.entries(extraFiles)) {
      fs.mkdirSync(path.dirname(path.join(work, rel)), { recursive: true });
      fs.copyFileSync(from, path.join(work, rel));
    }
    fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(work, 'node_modules'), 'dir');
    fs.mkdirSync(outDir, { recursive: true });
    const vsix = path.join(outDir, 'tangent-numbers-test.vsix');
    const vsce = path.join(REPO_ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
    await new Promise<void>((resolve, reject) => {
      execFile(process.execPath, [vsce, 'package', '--no-dependencies', '-o', vsix], { cwd: work, timeout: timeoutMs }, (err, stdout, stderr) => {
        if (err || !fs.existsSync(vsix)) reject(new Error(`vsce package failed: ${err?.message ?? 'no .vsix written'}\n${stdout}${stderr}`));
        else resolve();
      });
    });
    return vsix;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const QI = {
  widget: '.quick-input-widget',
  input: '.quick-input-widget .quick-input-box input',
  title: '.quick-input-widget .quick-input-title',
  row: '.quick-input-widget .quick-input-list .monaco-list-row',
  rowLabel: '.quick-input-widget .quick-input-list .monaco-list-row .label-name',
  focusedLabel: '.quick-input-widget .quick-input-list .monaco-list-row.focused .label-name',
};

/** The command palette's rows for `query` (typed after ">"), each row's labels (label, then alias), read once
 *  `ready` holds of them. */
export async function paletteRows(session: VSCodeSession, query: string, ready: (rows: string[][]) => boolean, what: string, timeoutMs = 15_000): Promise<string[][]> {
  const page = session.page;
  const input = page.locator(QI.input);
  if (await input.isVisible()) await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(`>${query}`);
  try {
    return await poll(async () => {
      const rows = await page.locator(QI.row).evaluateAll((els) =>
        els.map((r) => Array.from(r.querySelectorAll('.label-name')).map((l) => l.textContent?.trim() ?? '')));
      return ready(rows) ? rows : undefined;
    }, `${what} for "${query}"`, timeoutMs, 100);
  } finally {
    await page.keyboard.press('Escape');
  }
}

/** Labels of the command palette rows for `query` (typed after ">"), read once `ready` shows among them. */
export async function paletteLabels(session: VSCodeSession, query: string, ready: RegExp, timeoutMs = 15_000): Promise<string[]> {
  const rows = await paletteRows(session, query, (r) => r.flat().some((l) => ready.test(l)), `a palette row matching ${ready}`, timeoutMs);
  return rows.flat();
}

/**
 * One code-server session per test (call in a describe): temporary folders made for the test, a screenshot
 * of the workbench when the test fails, and after each test the session stopped and the folders removed.
 */
export function sessionPerTest(label: string): { tempDir: (prefix: string) => string; use: (s: VSCodeSession) => VSCodeSession } {
  let session: VSCodeSession | undefined;
  const dirs: string[] = [];
  afterEach(async function () {
    if (session && this.currentTest?.state === 'failed') await session.screenshot(`failed-${label}`).catch(() => undefined);
    await session?.stop();
    session = undefined;
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  return {
    tempDir: (prefix: string): string => {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
    use: (s: VSCodeSession): VSCodeSession => (session = s),
  };
}

/** The Compute command's title in the palette (English). */
export const COMPUTE = 'Tangent Numbers: Compute…';

/** "Tangent Numbers: Compute…" from the palette, then the count into its input box, which closes on Enter. */
export async function computeViaPalette(s: VSCodeSession, count: number): Promise<void> {
  await s.runCommand(COMPUTE);
  await waitForQuickInputTitle(s, /^Tangent Numbers: Compute$/);
  await s.typeIntoQuickInput(String(count), { submit: true });
  await poll(async () => !(await s.quickInputVisible()), 'the input box to close after Enter', 10_000, 50);
}

/** Waits until the focused row of the open quick input is labelled exactly `label`. */
export async function waitForFocusedRow(session: VSCodeSession, label: string, timeoutMs = 15_000): Promise<void> {
  let seen = '';
  try {
    await poll(async () => {
      seen = (await session.page.locator(QI.focusedLabel).first().innerText({ timeout: 1_000 }).catch(() => '')).trim();
      return seen === label;
    }, `the focused quick input row to be "${label}"`, timeoutMs, 50);
  } catch (e) {
    throw new Error(`${(e as Error).message} (focused row: "${seen}")`, { cause: e });
  }
}

/** Waits for the open quick input to have the title `title` (e.g. the one of an input box). */
export async function waitForQuickInputTitle(session: VSCodeSession, title: RegExp, timeoutMs = 15_000): Promise<string> {
  return poll(async () => {
    const el = session.page.locator(QI.title).first();
    if (!(await el.isVisible().catch(() => false))) return undefined;
    const t = (await el.innerText().catch(() => '')).trim();
    return title.test(t) ? t : undefined;
  }, `a quick input titled ${title}`, timeoutMs, 50);
}

/** The value currently in the quick input box. */
export function quickInputValue(session: VSCodeSession): Promise<string> {
  return session.page.locator(QI.input).inputValue();
}

/** Waits until the open quick input has not been busy (progress bar, e.g. the save dialog reading a folder)
 *  for `quietMs` in a row. */
export async function waitForQuickInputIdle(session: VSCodeSession, quietMs = 400, timeoutMs = 15_000): Promise<void> {
  const busy = session.page.locator(`${QI.widget} .monaco-progress-container.active`);
  let quietSince = 0;
  await poll(async () => {
    if ((await busy.count()) > 0) {
      quietSince = 0;
      return false;
    }
    quietSince ||= Date.now();
    return Date.now() - quietSince >= quietMs;
  }, 'the quick input to finish its work', timeoutMs, 50);
}
