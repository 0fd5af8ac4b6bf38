// Integration-test harness: a real VS Code (code-server 4.100.3 = VS Code 1.100.3, with its Node extension
// host) driven by Debian's Chromium through playwright-core. Used by the outer mocha tests in test/vscode/.
//
// Install once: `npm run install:vscode`. Overrides: CODE_SERVER_ENTRY, CHROMIUM_PATH,
// VSCODE_HARNESS_ECHO=1 (print window/extension-host log lines live).
import { ChildProcess, execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { format } from 'node:util';
import { chromium, selectors, type Browser, type BrowserContext, type FrameLocator, type Locator, type Page } from 'playwright-core';

/** Repository root: the nearest ancestor of this file with scripts/install-vscode.sh (works from out/ and from test/). */
export const REPO_ROOT: string = (() => {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'scripts', 'install-vscode.sh'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(__dirname, '..', '..', '..');
  }
})();

export const DEFAULT_EXTENSION_ID = 'tangent-numbers.tangent-numbers';

export interface SessionOptions {
  /** Folder to open; undefined = empty window (no folder, so no storageUri). */
  workspace?: string;
  extensionDevelopmentPath?: string;
  /** Test index (compiled .js exporting run()); the workbench runs it and reports through codeAutomationExit. */
  extensionTestsPath?: string;
  /** Fixed port: workspace storage hashes and browser storage are keyed by host:port. Default: a free port. */
  port?: number;
  /** Default: fresh dir under the session's temp dir. Pass one to keep state across sessions. */
  userDataDir?: string;
  extensionsDir?: string;
  /** Persistent Chromium profile (IndexedDB holds Mementos under code-server). Default: throwaway profile. */
  browserProfileDir?: string;
  /** Extra environment for code-server, inherited by the extension host. */
  env?: Record<string, string>;
  /** Screenshots and logs. Default <repo>/test-artifacts. */
  artifactsDir?: string;
  /** Sets workbench.colorTheme, e.g. 'Default Light Modern'. */
  colorTheme?: string;
  /** Merged into <userDataDir>/User/settings.json before the server starts. */
  settings?: Record<string, unknown>;
  /** Name used for log files in artifactsDir. Default session-<port>. */
  label?: string;
  /** Print window/extension-host log lines live. Default: on when extensionTestsPath is set, or VSCODE_HARNESS_ECHO=1. */
  echoLogs?: boolean;
  /** Limit for server start + workbench load. Default 90 s. */
  startTimeoutMs?: number;
  viewport?: { width: number; height: number };
  /** 'restricted': workspace trust is on and the folder is not trusted (Restricted Mode, no start-up prompt).
   *  Default: trust is disabled, as in most tests. */
  workspaceTrust?: 'restricted';
  /** Display language (code-server --locale), e.g. 'qps-ploc'. VS Code only switches to it when a language pack
   *  for it is known in <userDataDir>/languagepacks.json; otherwise the workbench stays English. */
  locale?: string;
}

export interface TestsResult {
  passes: number;
  failures: number;
  pending: number;
  failuresDetail: { title: string; message: string }[];
}

export interface StorageDirs {
  userDataDir: string;
  /** <userDataDir>/User/globalStorage/<extensionId> (context.globalStorageUri). */
  globalStorage: string;
  /** <userDataDir>/User/workspaceStorage/<hash>/<extensionId> (context.storageUri); undefined when no folder
   *  is open. It exists only once the extension has written there. */
  workspaceStorage: string | undefined;
  /** <userDataDir>/User/workspaceStorage/<hash> */
  workspaceStorageRoot: string | undefined;
}

interface Payload {
  workspace?: string;
  extensionDevelopmentPath?: string;
  extensionTestsPath?: string;
}

const LOG_TAIL_LINES = 30;
// Routine workbench chatter left out of the live echo (still in `logs`): the window and the extension host
// log through the same channel with the same type, so they cannot be told apart otherwise.
const ECHO_NOISE = /^(\[console\.\w+\]\s*)?\s*(INFO\s+)?(Resolving connection token|Resolved connection token|Creating a socket|Ignoring fetching additional builtin extensions|Updating additional builtin extensions cache|\[Service Worker\] registered|ChatSessionStore:)/;
const DEFAULT_SETTINGS: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
};
// Chromium flags: headless, no sandbox as root, and no background traffic on the closed network.
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];
const Q = {
  widget: '.quick-input-widget',
  input: '.quick-input-widget .quick-input-box input',
  row: '.quick-input-widget .quick-input-list .monaco-list-row',
  // Validation text of showInputBox/createInputBox (also shows prompt when valid).
  message: '.quick-input-widget .quick-input-message',
  toast: '.notifications-toasts .notification-toast',
  statusbar: '.monaco-workbench .part.statusbar',
};

// Selector engine "vscode-webview=<title>": the visible webview iframe (an overlay positioned over its
// owner) that lies over the view pane with that header title or over the editor group whose active tab has
// that label. Geometry, because only editor webviews name their owner (data-parent-flow-to-element-id);
// webview views do not. Runs in the page, so it must be self-contained.
const WEBVIEW_ENGINE = 'vscode-webview';
let webviewEngineRegistered: Promise<void> | undefined;
function registerWebviewEngine(): Promise<void> {
  webviewEngineRegistered ??= selectors.register(WEBVIEW_ENGINE, () => ({
    queryAll(root: Element | Document, title: string): Element[] {
      const doc = (root as Element).ownerDocument ?? (root as Document);
      const want = title.trim();
      const owners: Element[] = [];
      for (const pane of Array.from(doc.querySelectorAll('.pane'))) {
        const body = pane.querySelector('.pane-body');
        if (body && pane.querySelector('.pane-header .title')?.textContent?.trim() === want) owners.push(body);
      }
      for (const group of Array.from(doc.querySelectorAll('.editor-group-container'))) {
        const body = group.querySelector('.editor-container');
        if (body && group.querySelector('.tab.active .label-name')?.textContent?.trim() === want) owners.push(body);
      }
      return Array.from(doc.querySelectorAll('iframe.webview.ready')).filter((frame) => {
        const overlay = frame.parentElement;
        if (!overlay || getComputedStyle(overlay).visibility === 'hidden') return false;
        const r = overlay.getBoundingClientRect();
        const x = r.left + r.width / 2, y = r.top + r.height / 2;
        return owners.some((o) => {
          const b = o.getBoundingClientRect();
          return x >= b.left && x <= b.right && y >= b.top && y <= b.bottom;
        });
      });
    },
    query(root: Element | Document, title: string): Element | null {
      return this.queryAll(root, title)[0] ?? null;
    },
  })).catch((e: Error) => { if (!/already registered/.test(e.message)) throw e; });
  return webviewEngineRegistered;
}

const liveSessions = new Set<VSCodeSession>();
let exitHooksInstalled = false;
function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  // Last resort (crash, process.exit, Ctrl-C): no code-server may outlive the test process.
  const killAll = () => { for (const s of liveSessions) s.killSync(); };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killAll();
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}

export class VSCodeSession {
  /** The workbench page. */
  page!: Page;
  /** Log lines of the window and the extension host, one entry per line. With extensionTestsPath they come
   *  from codeAutomationLog (util.format-ed, so mocha's output reads as in a terminal, no prefix); without it
   *  from the browser console, prefixed "[console.<type>] ", extension host output as
   *  "[console.log] [Extension Host] <text>". Page errors as "[pageerror] ...". */
  readonly logs: string[] = [];
  /** Output of code-server itself. */
  readonly serverLogs: string[] = [];
  readonly timings: { serverListeningMs?: number; workbenchReadyMs?: number; stopMs?: number } = {};
  readonly port: number;
  readonly userDataDir: string;
  readonly extensionsDir: string;
  readonly artifactsDir: string;
  /** Temp dir with config.yaml, XDG dirs, server.log and the test result file; removed by stop(). */
  readonly workDir: string;
  /** Value of EXT_TEST_RESULT_FILE for the extension host. */
  readonly resultFile: string;
  readonly label: string;
  private payload: Payload;
  private server: ChildProcess | undefined;
  private serverExit: Promise<void> | undefined;
  private browser: Browser | undefined;
  private context: BrowserContext | undefined;
  private exitCode: Promise<number> | undefined;
  private resolveExit: ((code: number) => void) | undefined;
  private readonly echo: boolean;
  private stopping: Promise<void> | undefined;
  private readonly logListeners = new Set<(line: string) => void>();
  private readonly opts: SessionOptions;

  private constructor(opts: SessionOptions, port: number, workDir: string) {
    this.opts = opts;
    this.port = port;
    this.workDir = workDir;
    this.userDataDir = path.resolve(opts.userDataDir ?? path.join(workDir, 'user-data'));
    this.extensionsDir = path.resolve(opts.extensionsDir ?? path.join(workDir, 'extensions'));
    this.artifactsDir = path.resolve(opts.artifactsDir ?? path.join(REPO_ROOT, 'test-artifacts'));
    this.resultFile = path.join(workDir, 'test-result.json');
    this.label = opts.label ?? `session-${port}`;
    this.payload = {
      workspace: opts.workspace && path.resolve(opts.workspace),
      extensionDevelopmentPath: opts.extensionDevelopmentPath && path.resolve(opts.extensionDevelopmentPath),
      extensionTestsPath: opts.extensionTestsPath && path.resolve(opts.extensionTestsPath),
    };
    this.echo = opts.echoLogs ?? (process.env.VSCODE_HARNESS_ECHO === '1' || !!opts.extensionTestsPath);
  }

  static codeServerEntry(): string {
    return process.env.CODE_SERVER_ENTRY ??
      path.join(REPO_ROOT, '.vscode-test', 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  }

  static chromiumPath(): string {
    return process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  }

  /** Starts code-server and Chromium and waits until the workbench has rendered. */
  static async start(opts: SessionOptions = {}): Promise<VSCodeSession> {
    const entry = VSCodeSession.codeServerEntry();
    if (!fs.existsSync(entry)) {
      throw new Error(`code-server not found at ${entry}: run \`npm run install:vscode\` (or set CODE_SERVER_ENTRY)`);
    }
    if (!fs.existsSync(VSCodeSession.chromiumPath())) {
      throw new Error(`Chromium not found at ${VSCodeSession.chromiumPath()}: run \`npm run install:vscode\` (or set CHROMIUM_PATH)`);
    }
    installExitHooks();
    const port = opts.port ?? await freePort();
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vscode-session-'));
    const session = new VSCodeSession(opts, port, workDir);
    liveSessions.add(session);
    try {
      await session.startServer(entry);
      await session.startBrowser();
      await session.openWorkbench();
    } catch (e) {
      await session.screenshot(`${session.label}-start-failed`).catch(() => undefined);
      await session.stop();
      throw session.decorate(e);
    }
    return session;
  }

  // ---------------------------------------------------------------------------------------------
  // start-up

  private serverEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    // Variables code-server reads (PORT overrides --bind-addr's port, VSCODE_IPC_HOOK_CLI turns it into a
    // client of another instance, ...) must not leak in from the calling shell.
    for (const [k, v] of Object.entries(process.env)) {
      if (/^(VSCODE_|CODE_SERVER_|CS_|ELECTRON_)/.test(k)) continue;
      if (['PORT', 'PASSWORD', 'HASHED_PASSWORD', 'GITHUB_TOKEN'].includes(k)) continue;
      env[k] = v;
    }
    return {
      ...env,
      EXTENSIONS_GALLERY: '{}', // no marketplace look-ups on the closed network
      // Keep code-server's config.yaml/coder.json and Chromium's caches out of ~.
      XDG_CONFIG_HOME: path.join(this.workDir, 'xdg-config'),
      XDG_DATA_HOME: path.join(this.workDir, 'xdg-data'),
      XDG_CACHE_HOME: path.join(this.workDir, 'xdg-cache'),
      ...this.opts.env,
      EXT_TEST_RESULT_FILE: this.resultFile,
    };
  }

  private writeSettings(): void {
    const file = path.join(this.userDataDir, 'User', 'settings.json');
    let existing: Record<string, unknown> = {};
    try { existing = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>; } catch { /* none yet */ }
    const trust = this.opts.workspaceTrust === 'restricted'
      ? { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.banner': 'always' }
      : {};
    const settings = {
      ...DEFAULT_SETTINGS, ...existing, ...trust, ...this.opts.settings,
      ...(this.opts.colorTheme ? { 'workbench.colorTheme': this.opts.colorTheme } : {}),
    };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(settings, null, 2) + '\n');
  }

  private async startServer(entry: string): Promise<void> {
    const t0 = Date.now();
    fs.mkdirSync(this.extensionsDir, { recursive: true });
    this.writeSettings();
    const config = path.join(this.workDir, 'config.yaml');
    fs.writeFileSync(config, 'auth: none\ncert: false\n');
    const logFile = fs.createWriteStream(path.join(this.workDir, 'server.log'));
    const server = spawn(process.execPath, [
      entry, '--config', config, '--auth', 'none', '--bind-addr', `127.0.0.1:${this.port}`,
      '--user-data-dir', this.userDataDir, '--extensions-dir', this.extensionsDir,
      '--disable-telemetry', '--disable-update-check', '--disable-getting-started-override',
      ...(this.opts.workspaceTrust === 'restricted' ? [] : ['--disable-workspace-trust']),
      ...(this.opts.locale ? ['--locale', this.opts.locale] : []),
    ], { env: this.serverEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true }); // own group: see killSync
    this.server = server;
    this.serverExit = new Promise((resolve) => server.once('exit', () => resolve()));
    let listening: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => { listening = resolve; });
    for (const stream of [server.stdout, server.stderr]) {
      stream.pipe(logFile, { end: false });
      lineSplitter(stream, (line) => {
        this.serverLogs.push(line);
        if (this.serverLogs.length > 5000) this.serverLogs.splice(0, 1000);
        if (/HTTP server listening on/.test(line)) listening();
      });
    }
    const exited = this.serverExit.then(() => {
      throw new Error(`code-server exited during start-up (exit code ${server.exitCode}, signal ${server.signalCode})`);
    });
    await withTimeout(Promise.race([ready, exited]), this.startTimeout(), `code-server to listen on 127.0.0.1:${this.port}`);
    this.timings.serverListeningMs = Date.now() - t0;
  }

  private startTimeout(): number {
    return this.opts.startTimeoutMs ?? 90_000;
  }

  private async startBrowser(): Promise<void> {
    await registerWebviewEngine();
    const launch = {
      executablePath: VSCodeSession.chromiumPath(),
      headless: true,
      args: CHROMIUM_ARGS,
      env: this.serverEnv() as Record<string, string>,
      viewport: this.opts.viewport ?? { width: 1280, height: 800 },
      timeout: this.startTimeout(),
    };
    if (this.opts.browserProfileDir) {
      fs.mkdirSync(this.opts.browserProfileDir, { recursive: true });
      this.context = await chromium.launchPersistentContext(path.resolve(this.opts.browserProfileDir), launch);
    } else {
      this.browser = await chromium.launch(launch);
      this.context = await this.browser.newContext({ viewport: launch.viewport });
    }
    this.page = this.context.pages()[0] ?? await this.context.newPage();
    this.page.on('pageerror', (e) => this.addLog(`[pageerror] ${e.message}`));
    // codeAutomationLog is only called when extensionTestsPath is set; otherwise the console is what we have.
    // In extension development mode the extension host's console output is forwarded here as
    // "%c[Extension Host] %c<text>" plus CSS arguments; util.format drops the %c styling.
    let consoleChain = Promise.resolve();
    this.page.on('console', (m) => {
      if (this.payload.extensionTestsPath) return;
      // A value that is not JSON is shown as its handle's toString() (its preview, e.g. "JSHandle@node"),
      // which playwright's types do not declare.
      // eslint-disable-next-line @typescript-eslint/no-base-to-string
      const args = Promise.all(m.args().map((a): Promise<unknown> => a.jsonValue().catch(() => String(a))));
      consoleChain = consoleChain.then(() => args.then(
        (values) => this.addLog(`[console.${m.type()}] ${values.length ? format(...values) : m.text()}`),
        () => this.addLog(`[console.${m.type()}] ${m.text()}`)));
    });
    // The web workbench calls these (as for @vscode/test-web) when running extension tests. They survive
    // navigations, so they are exposed once.
    await this.page.exposeFunction('codeAutomationLog', (type: unknown, args: unknown) => {
      const text = format(...(Array.isArray(args) ? (args as unknown[]) : [args]));
      this.addLog(type === 'error' ? `[error] ${text}` : text);
    });
    await this.page.exposeFunction('codeAutomationExit', (code: number, logs?: { relativePath: string; contents: string }[]) => {
      for (const l of logs ?? []) {
        const f = path.join(this.workDir, 'exit-logs', l.relativePath);
        fs.mkdirSync(path.dirname(f), { recursive: true });
        fs.writeFileSync(f, l.contents);
      }
      this.resolveExit?.(code);
    });
  }

  private workbenchUrl(): string {
    const remote = `vscode-remote://127.0.0.1:${this.port}`; // authority must equal the page's host:port
    const payload: [string, string][] = [['skipWelcome', 'true'], ['skipReleaseNotes', 'true']];
    if (this.payload.extensionDevelopmentPath) payload.push(['extensionDevelopmentPath', remote + this.payload.extensionDevelopmentPath]);
    if (this.payload.extensionTestsPath) payload.push(['extensionTestsPath', remote + this.payload.extensionTestsPath]);
    const where = this.payload.workspace ? `folder=${encodeURIComponent(this.payload.workspace)}` : 'ew=true';
    return `http://127.0.0.1:${this.port}/?${where}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  }

  /** A fresh exit-code promise for every window load: each load with extensionTestsPath runs the suite once. */
  private armTestRun(): void {
    fs.rmSync(this.resultFile, { force: true });
    this.exitCode = new Promise<number>((resolve) => { this.resolveExit = resolve; });
  }

  private async openWorkbench(navigate: (url: string) => Promise<unknown> = (url) => this.page.goto(url)): Promise<void> {
    const t0 = Date.now();
    this.armTestRun();
    await navigate(this.workbenchUrl());
    await this.wrap(this.page.locator(Q.statusbar).waitFor({ state: 'visible', timeout: this.startTimeout() }),
      'the workbench to render (.monaco-workbench .part.statusbar)');
    this.timings.workbenchReadyMs = Date.now() - t0;
  }

  // ---------------------------------------------------------------------------------------------
  // logs and results

  private addLog(text: string): void {
    for (const line of text.replace(/\n+$/, '').split('\n')) {
      this.logs.push(line);
      if (this.echo && !this.stopping && !ECHO_NOISE.test(line)) console.log(`    [vscode] ${line}`);
      for (const l of this.logListeners) l(line);
    }
  }

  /** Last lines of the window/extension-host log and of code-server's output, for error messages. */
  logTail(n = LOG_TAIL_LINES): string {
    const part = (title: string, lines: string[]) =>
      lines.length ? `--- last ${Math.min(n, lines.length)} ${title} lines ---\n${lines.slice(-n).join('\n')}` : `--- no ${title} lines ---`;
    return `${part('window/extension host log', this.logs)}\n${part('code-server', this.serverLogs)}`;
  }

  private decorate(e: unknown): Error {
    const err = e instanceof Error ? e : new Error(String(e));
    if (!err.message.includes('--- last') && !err.message.includes('--- no ')) err.message += `\n${this.logTail()}`;
    return err;
  }

  private async wrap<T>(p: Promise<T>, what: string): Promise<T> {
    try {
      return await p;
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      err.message = `waiting for ${what}: ${err.message.split('\n')[0]}`;
      throw this.decorate(err);
    }
  }

  /** Resolves with the first log line matching `re`, looking at lines from index `since` on (default 0: also
   *  lines already collected; pass `session.logs.length` taken before an action to see only newer ones). */
  async waitForLog(re: RegExp, timeoutMs = 30_000, since = 0): Promise<string> {
    const hit = this.logs.slice(since).find((l) => re.test(l));
    if (hit !== undefined) return hit;
    let listener: ((line: string) => void) | undefined;
    const found = new Promise<string>((resolve) => {
      listener = (line) => { if (re.test(line)) resolve(line); };
      this.logListeners.add(listener);
    });
    try {
      return await withTimeout(found, timeoutMs, `a log line matching ${re}`);
    } catch (e) {
      throw this.decorate(e);
    } finally {
      this.logListeners.delete(listener!);
    }
  }

  /** Waits for the suite given as extensionTestsPath to finish in the current window load. */
  async waitForTestsResult(timeoutMs = 300_000): Promise<TestsResult> {
    if (!this.payload.extensionTestsPath || !this.exitCode) {
      throw new Error('waitForTestsResult: this window was not opened with extensionTestsPath');
    }
    let code: number;
    try {
      code = await withTimeout(this.exitCode, timeoutMs, 'the extension tests to finish (codeAutomationExit)');
    } catch (e) {
      await this.screenshot(`${this.label}-tests-timeout`).catch(() => undefined);
      throw this.decorate(e);
    }
    const result = readJson<TestsResult>(this.resultFile);
    if (result) return result;
    // The workbench also reports 0 when the extension host dies, so 0 alone proves nothing.
    throw this.decorate(new Error(code === 0
      ? `the workbench reported exit code 0 but ${this.resultFile} was not written: the extension host died or run() never finished`
      : `the extension tests failed to run (exit code ${code}, no result file): see the log`));
  }

  // ---------------------------------------------------------------------------------------------
  // driving the UI

  private async openCommandPalette(): Promise<Locator> {
    const input = this.page.locator(Q.input);
    if (await input.isVisible()) {
      await this.page.keyboard.press('Escape');
      await input.waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => undefined);
    }
    await this.page.keyboard.press('F1');
    if (!await input.waitFor({ state: 'visible', timeout: 3_000 }).then(() => true, () => false)) {
      // Keyboard focus may be in a place that swallows F1 (e.g. a webview being torn down): move it to the workbench.
      await this.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      await this.page.keyboard.press('F1');
      await this.wrap(input.waitFor({ state: 'visible', timeout: 10_000 }), 'the command palette to open (F1)');
    }
    return input;
  }

  /** Runs a command by its palette title ("Category: Title"), then waits until the palette is gone
   *  (closed, or replaced by the command's own quick input). */
  async runCommand(title: string, timeoutMs = 30_000): Promise<void> {
    const query = '>' + title;
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 1; ; attempt++) {
      const input = await this.openCommandPalette();
      await input.fill(query, { timeout: 5_000 }).catch(() => undefined);
      // The palette closes when something else takes focus (e.g. a webview that just finished loading):
      // then open it again. Only the row whose label is exactly the title counts ("Start" vs "Start Over").
      // Each attempt waits at most 5 s: a palette opened before the extension's contributions were
      // registered keeps showing "No matching commands", so it is closed and opened again.
      const state = await this.page.waitForFunction(([sel, q, t]) => {
        const input = document.querySelector<HTMLInputElement>(sel.input);
        if (!input || input.offsetParent === null || input.value !== q) return 'closed';
        const rows = Array.from(document.querySelectorAll(sel.row));
        const i = rows.findIndex((r) => r.querySelector('.label-name')?.textContent?.trim() === t);
        return i >= 0 ? `row:${rows[i].getAttribute('data-index')}` : false;
      }, [Q, query, title] as const, { timeout: Math.max(1_000, Math.min(5_000, deadline - Date.now())) })
        .then((h) => h.jsonValue() as Promise<string>, () => 'timeout');
      if (state.startsWith('row:')) {
        const row = this.page.locator(`${Q.row}[data-index="${state.slice(4)}"]`);
        if (await row.click({ timeout: 5_000 }).then(() => true, () => false)) break;
      }
      if (Date.now() > deadline) {
        await this.screenshot(`${this.label}-command-not-found`).catch(() => undefined);
        throw this.decorate(new Error(`runCommand: no command palette row "${title}" within ${timeoutMs} ms (${attempt} attempts)`));
      }
    }
    await this.wrap(this.page.waitForFunction(([sel, q]) => {
      const el = document.querySelector<HTMLInputElement>(sel);
      return !el || el.offsetParent === null || el.value !== q;
    }, [Q.input, query] as const, { timeout: Math.max(5_000, deadline - Date.now()) }), `the command palette to close after "${title}"`);
  }

  /** Types into the open quick input (showInputBox/showQuickPick), replacing its value. */
  async typeIntoQuickInput(text: string, opts: { submit?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const input = this.page.locator(Q.input);
    await this.wrap(input.waitFor({ state: 'visible', timeout: opts.timeoutMs ?? 30_000 }), 'a quick input to be open');
    await input.fill(text);
    if (opts.submit) await this.page.keyboard.press('Enter');
  }

  /** Presses a key (Playwright names: 'Enter', 'Escape', 'Control+Shift+P', ...) in the focused element. */
  async pressKey(key: string): Promise<void> {
    await this.page.keyboard.press(key);
  }

  /** Whether a quick input (palette, input box, quick pick) is showing. */
  async quickInputVisible(): Promise<boolean> {
    return this.page.locator(Q.input).isVisible();
  }

  /** Text under the quick input box: the validation message from validateInput, or the prompt when valid.
   *  With `expected`, waits until it matches (validation runs asynchronously in the extension host). */
  async quickInputValidationMessage(expected?: RegExp, timeoutMs = 10_000): Promise<string> {
    const msg = this.page.locator(Q.message);
    const read = async () => ((await msg.isVisible()) ? (await msg.innerText()).trim() : '');
    if (!expected) return read();
    await this.wrap(this.page.waitForFunction(([sel, src, flags]) => {
      const el = document.querySelector<HTMLElement>(sel);
      return !!el && el.offsetParent !== null && new RegExp(src, flags).test(el.innerText.trim());
    }, [Q.message, expected.source, expected.flags] as const, { timeout: timeoutMs }), `the quick input message to match ${expected}`);
    return read();
  }

  /** Messages of the notification toasts currently shown (at most 3 show; info toasts hide after ~15 s). */
  async notifications(): Promise<string[]> {
    const texts = await this.page.locator(`${Q.toast} .notification-list-item-message`).allInnerTexts();
    return texts.map((t) => t.trim());
  }

  /** Waits for a toast whose message matches `re` and returns its message. */
  async waitForNotification(re: RegExp, timeoutMs = 30_000): Promise<string> {
    const toast = this.page.locator(Q.toast).filter({ has: this.page.locator('.notification-list-item-message', { hasText: re }) }).first();
    await this.wrap(toast.waitFor({ state: 'visible', timeout: timeoutMs }), `a notification matching ${re}`);
    return (await toast.locator('.notification-list-item-message').innerText()).trim();
  }

  /** Clicks the button labelled `buttonLabel` on the toast whose message matches `textRegex`. */
  async clickNotificationButton(textRegex: RegExp, buttonLabel: string, timeoutMs = 30_000): Promise<void> {
    const toast = this.page.locator(Q.toast).filter({ has: this.page.locator('.notification-list-item-message', { hasText: textRegex }) }).first();
    const button = toast.locator('.notification-list-item-buttons-container .monaco-button', {
      hasText: new RegExp(`^\\s*${escapeRegExp(buttonLabel)}\\s*$`),
    }).first();
    await this.wrap(button.waitFor({ state: 'visible', timeout: timeoutMs }), `button "${buttonLabel}" on a notification matching ${textRegex}`);
    await button.click();
  }

  /** A status bar item. A string is its DOM id: code-server renders each item as
   *  `<div class="statusbar-item" id="<publisher>.<name>.<itemId>" aria-label="...">` for
   *  createStatusBarItem(itemId, ...), and id `<publisher>.<name>` for the overload without an id (ambiguous
   *  when an extension has several). A RegExp matches the item's text or its aria-label (the text with
   *  codicon names, then the tooltip, unless accessibilityInformation is set). */
  statusBarItem(idOrRegex: string | RegExp): Locator {
    if (typeof idOrRegex === 'string') return this.page.locator(`${Q.statusbar} .statusbar-item[id="${idOrRegex.replace(/"/g, '\\"')}"]`).first();
    const items = this.page.locator(`${Q.statusbar} .statusbar-item`);
    return items.filter({ hasText: idOrRegex }).or(items.and(this.page.getByLabel(idOrRegex))).first();
  }

  /** Visible text of a status bar item (codicons such as $(sync) render as icons, not text). */
  async statusBarItemText(idOrRegex: string | RegExp, timeoutMs = 30_000): Promise<string> {
    const item = this.statusBarItem(idOrRegex);
    await this.wrap(item.waitFor({ state: 'attached', timeout: timeoutMs }), `status bar item ${idOrRegex}`);
    return (await item.innerText()).trim();
  }

  /** Waits until a status bar item's text matches `expected`; returns the text. */
  async waitForStatusBarText(idOrRegex: string | RegExp, expected: RegExp, timeoutMs = 30_000): Promise<string> {
    const item = this.statusBarItem(idOrRegex);
    await this.wrap(item.filter({ hasText: expected }).waitFor({ state: 'attached', timeout: timeoutMs }),
      `status bar item ${idOrRegex} to show ${expected}`);
    return (await item.innerText()).trim();
  }

  /** The content frame (the extension's HTML) of a webview panel or webview view. Each webview is an outer
   *  `iframe.webview.ready` (VS Code's host page) holding `iframe#active-frame`; all of them are overlays
   *  positioned over their owner, so with several webviews a plain frameLocator is ambiguous (strict mode).
   *  - number (default 0): the n-th *visible* webview in DOM order (creation order);
   *  - string: the visible webview over the view with that title (pane header, as written in package.json,
   *    not the upper-cased rendering) or over the editor group whose active tab has that label.
   *  Lazy and auto-waiting like any Playwright locator. */
  webviewFrame(viewTitleOrIndex: string | number = 0): FrameLocator {
    const host = typeof viewTitleOrIndex === 'number'
      ? this.page.locator('iframe.webview.ready').filter({ visible: true }).nth(viewTitleOrIndex)
      : this.page.locator(`${WEBVIEW_ENGINE}=${viewTitleOrIndex}`).first();
    return host.contentFrame().locator('#active-frame').contentFrame();
  }

  // ---------------------------------------------------------------------------------------------
  // window and extension host lifecycle

  /** Reloads the window (same URL and payload): the extension host restarts, and if the window was opened with
   *  extensionTestsPath the suite runs again. Pass `extensionTestsPath` (a path, or null for none) to reopen
   *  the window with a different payload on the same server (same port, so the same storage). */
  async reloadWindow(opts?: { extensionTestsPath?: string | null }): Promise<void> {
    const before = await this.extensionHostPids();
    if (opts && 'extensionTestsPath' in opts) {
      this.payload.extensionTestsPath = opts.extensionTestsPath ? path.resolve(opts.extensionTestsPath) : undefined;
      await this.openWorkbench((url) => this.page.goto(url));
    } else {
      await this.openWorkbench(() => this.page.reload());
    }
    // With tests, the workbench stops the extension host as soon as the suite ends (possibly before a poll
    // sees it): waitForTestsResult is the wait then.
    if (!this.payload.extensionTestsPath) await this.waitForExtensionHost({ exclude: before });
  }

  /** Opens one more browser page on the same server, folder and payload: a second VS Code window with its own
   *  extension host (the caller closes the page). Resolves once its workbench has rendered. Its log lines
   *  are not collected in `logs`. */
  async openAdditionalWindow(): Promise<Page> {
    if (!this.context) throw new Error('openAdditionalWindow: the session has no browser');
    const page = await this.context.newPage();
    page.on('pageerror', (e) => this.addLog(`[pageerror:additional window] ${e.message}`));
    await page.goto(this.workbenchUrl());
    await this.wrap(page.locator(Q.statusbar).waitFor({ state: 'visible', timeout: this.startTimeout() }),
      'the additional window\'s workbench to render');
    return page;
  }

  /** Pids of the extension host processes among all descendants of code-server (it is a grandchild). */
  async extensionHostPids(): Promise<number[]> {
    if (!this.server?.pid) return [];
    return descendants(this.server.pid).filter((pid) => readCmdline(pid).includes('--type=extensionHost'));
  }

  /** Waits until an extension host runs whose pid is not in `exclude` (e.g. the pids before a kill). */
  async waitForExtensionHost(opts: { exclude?: number[]; timeoutMs?: number } = {}): Promise<number[]> {
    const exclude = new Set(opts.exclude ?? []);
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const until = Date.now() + timeoutMs;
    for (;;) {
      const pids = (await this.extensionHostPids()).filter((p) => !exclude.has(p));
      if (pids.length) return pids;
      if (Date.now() > until) throw this.decorate(new Error(`no new extension host process within ${timeoutMs} ms`));
      await delay(100); // polling /proc: there is no event to wait for
    }
  }

  /** Signals every extension host process; returns their pids. What follows a SIGKILL depends on how the
   *  extension is loaded (code-server 4.100.3):
   *  - extensionDevelopmentPath: no restart. The workbench treats it like the dev host ending, stops the
   *    extension hosts and calls codeAutomationExit(0); reloadWindow() brings up a new host.
   *  - installed (installVsix + extensionsDir): a new host process within ~0.2 s, extensions active again
   *    ~1.5-2 s after the kill; the 3rd crash within 5 minutes is not restarted: a toast "Remote Extension host
   *    terminated unexpectedly 3 times within the last 5 minutes." offers "Restart Remote Extension Host". */
  async killExtensionHost(signal: NodeJS.Signals = 'SIGKILL'): Promise<number[]> {
    const pids = await this.extensionHostPids();
    if (!pids.length) throw this.decorate(new Error('killExtensionHost: no extension host process found'));
    for (const pid of pids) {
      try { process.kill(pid, signal); } catch { /* already gone */ }
    }
    return pids;
  }

  /** The machine dies: SIGKILLs code-server and every process under it at once (its process group, then any
   *  descendant that left it), so nothing gets to deactivate, flush or release anything; waits until they are
   *  gone, and closes the browser (whose window would otherwise reconnect to the next server on this port).
   *  Returns the pids killed. Afterwards stop() only cleans up; startAgain() brings up a new session on the
   *  same storage. */
  async killServer(): Promise<number[]> {
    const server = this.server;
    if (!server?.pid || server.exitCode !== null || server.signalCode !== null) {
      throw this.decorate(new Error('killServer: code-server is not running'));
    }
    const pids = [server.pid, ...descendants(server.pid)];
    signalGroup(server, 'SIGKILL');
    for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    await withTimeout(this.serverExit!, 10_000, 'code-server to exit after SIGKILL');
    const until = Date.now() + 10_000;
    // Reparented descendants are reaped by init: until then they linger as zombies, which count as gone.
    while (pids.some((p) => isAlive(p) && !isZombie(p))) {
      if (Date.now() > until) throw this.decorate(new Error(`killServer: pids ${pids.filter(isAlive).join(', ')} still run 10 s after SIGKILL`));
      await delay(50);
    }
    await withTimeout((this.browser ?? this.context)?.close() ?? Promise.resolve(), 15_000, 'the browser to close').catch(() => undefined);
    return pids;
  }

  /** A new session on the same port, folder, extension and user-data/extensions directories as this one, so
   *  the extension gets the same storageUri (its workspace storage hash includes host:port): VS Code coming
   *  back after killServer() or stop(). A fresh browser, as after a reboot. The caller stops both sessions. */
  async startAgain(overrides: Partial<SessionOptions> = {}): Promise<VSCodeSession> {
    if (this.server && this.server.exitCode === null && this.server.signalCode === null) {
      throw new Error('startAgain: this session still runs; killServer() or stop() it first');
    }
    for (const [name, dir] of [['userDataDir', this.userDataDir], ['extensionsDir', this.extensionsDir]] as const) {
      const rel = path.relative(this.workDir, dir);
      if (!rel.startsWith('..') && !path.isAbsolute(rel)) {
        throw new Error(`startAgain: ${name} lies in this session's temp dir, which stop() removes; pass ${name} to start()`);
      }
    }
    return VSCodeSession.start({
      ...this.opts,
      workspace: this.payload.workspace,
      extensionDevelopmentPath: this.payload.extensionDevelopmentPath,
      extensionTestsPath: this.payload.extensionTestsPath,
      port: this.port,
      userDataDir: this.userDataDir,
      extensionsDir: this.extensionsDir,
      label: `${this.label}-again`,
      ...overrides,
    });
  }

  // ---------------------------------------------------------------------------------------------
  // files

  /** Saves a PNG of the workbench as <artifactsDir>/<name>.png and returns its path. */
  async screenshot(name: string): Promise<string> {
    fs.mkdirSync(this.artifactsDir, { recursive: true });
    const file = path.join(this.artifactsDir, `${name.replace(/[^\w.-]+/g, '_')}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /** Where the extension's storageUri and globalStorageUri live on the server. */
  storageDirs(extensionId = this.extensionId()): StorageDirs {
    const user = path.join(this.userDataDir, 'User');
    let root: string | undefined;
    if (this.payload.workspace) {
      root = path.join(user, 'workspaceStorage', workspaceStorageHash(`vscode-remote://127.0.0.1:${this.port}`, this.payload.workspace));
    }
    return {
      userDataDir: this.userDataDir,
      globalStorage: path.join(user, 'globalStorage', extensionId),
      workspaceStorage: root && path.join(root, extensionId),
      workspaceStorageRoot: root,
    };
  }

  private extensionId(): string {
    const dev = this.payload.extensionDevelopmentPath;
    const pkg = dev ? readJson<{ publisher?: string; name?: string }>(path.join(dev, 'package.json')) : undefined;
    return pkg?.publisher && pkg.name ? `${pkg.publisher}.${pkg.name}`.toLowerCase() : DEFAULT_EXTENSION_ID;
  }

  // ---------------------------------------------------------------------------------------------
  // shutdown

  /** Unloads the workbench (the extension host gets deactivate() and exits), closes the browser, kills
   *  code-server's process group and waits for it. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const t0 = Date.now();
    try {
      // Unloading the workbench disconnects it gracefully, so the extension host deactivates and exits now;
      // a dropped socket would make the server keep it for a reconnection.
      const hosts = await this.extensionHostPids();
      if (this.page && !this.page.isClosed() && hosts.length) {
        await this.page.goto('about:blank', { timeout: 10_000 }).catch(() => undefined);
        const until = Date.now() + 5_000;
        while (hosts.some(isAlive) && Date.now() < until) await delay(50);
      }
      await withTimeout((this.browser ?? this.context)?.close() ?? Promise.resolve(), 15_000, 'the browser to close').catch(() => undefined);
      const server = this.server;
      if (server && server.exitCode === null && server.signalCode === null) {
        const pids = server.pid ? descendants(server.pid) : [];
        signalGroup(server, 'SIGTERM');
        const exited = await withTimeout(this.serverExit!, 10_000, 'code-server to exit').then(() => true, () => false);
        if (!exited) signalGroup(server, 'SIGKILL');
        // Descendants that left the group, or ignored SIGTERM, must not linger.
        for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
        if (!exited) await withTimeout(this.serverExit!, 10_000, 'code-server to exit after SIGKILL').catch(() => undefined);
      }
      this.timings.stopMs = Date.now() - t0;
      this.saveLogs();
    } finally {
      liveSessions.delete(this);
      fs.rmSync(this.workDir, { recursive: true, force: true, maxRetries: 3 });
    }
  }

  private saveLogs(): void {
    try {
      const dir = path.join(this.artifactsDir, 'logs');
      fs.mkdirSync(dir, { recursive: true });
      fs.copyFileSync(path.join(this.workDir, 'server.log'), path.join(dir, `${this.label}-server.log`));
      fs.writeFileSync(path.join(dir, `${this.label}-window.log`), this.logs.join('\n') + '\n');
      const exitLogs = path.join(this.workDir, 'exit-logs');
      if (fs.existsSync(exitLogs)) fs.cpSync(exitLogs, path.join(dir, `${this.label}-exit-logs`), { recursive: true });
    } catch { /* best effort */ }
  }

  /** Synchronous group kill for process exit hooks. */
  killSync(): void {
    if (this.server) signalGroup(this.server, 'SIGKILL');
  }

  /** Installs a .vsix into an extensions dir with code-server's CLI; returns its output. */
  static async installVsix(vsixPath: string, extensionsDir: string, timeoutMs = 120_000): Promise<string> {
    const entry = VSCodeSession.codeServerEntry();
    if (!fs.existsSync(entry)) throw new Error(`code-server not found at ${entry}: run \`npm run install:vscode\``);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vscode-install-'));
    fs.mkdirSync(extensionsDir, { recursive: true });
    try {
      return await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, [entry, '--user-data-dir', path.join(tmp, 'user-data'), '--extensions-dir', path.resolve(extensionsDir),
          '--install-extension', path.resolve(vsixPath), '--force'], {
          timeout: timeoutMs,
          env: { ...process.env, EXTENSIONS_GALLERY: '{}', XDG_CONFIG_HOME: path.join(tmp, 'c'), XDG_DATA_HOME: path.join(tmp, 'd'), XDG_CACHE_HOME: path.join(tmp, 'x') },
        }, (err, stdout, stderr) => {
          const out = `${stdout}${stderr}`;
          if (err || !/successfully installed/i.test(out)) reject(new Error(`installing ${vsixPath} failed: ${err?.message ?? ''}\n${out}`));
          else resolve(out);
        });
      });
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
}

// -----------------------------------------------------------------------------------------------
// helpers

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (!child.pid) return;
  try { process.kill(-child.pid, signal); } catch { /* group gone */ }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function lineSplitter(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buf = '';
  stream.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    lines.forEach(onLine);
  });
  stream.on('end', () => { if (buf) onLine(buf); });
}

/** All descendants of `root` (children, grandchildren, ...) from /proc/<pid>/stat's ppid field. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of safeReaddir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try { stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8'); } catch { continue; }
    // "pid (comm) state ppid ...": comm may contain spaces and parentheses, so split after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    for (const c of children.get(queue.shift()!) ?? []) { out.push(c); queue.push(c); }
  }
  return out;
}

function isAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true; // gone
  }
}

function readCmdline(pid: number): string {
  try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' '); } catch { return ''; }
}

function safeReaddir(dir: string): string[] {
  try { return fs.readdirSync(dir); } catch { return []; }
}

function readJson<T>(file: string): T | undefined {
  try { return JSON.parse(fs.readFileSync(file, 'utf8')) as T; } catch { return undefined; }
}

/** VS Code's workspace storage id for a single folder in the web workbench: hash(folderUri.toString()) in hex,
 *  the hash being vs/base/common/hash's stringHash (h = h * 31 + charCode, int32). Includes host:port. */
export function workspaceStorageHash(remoteAuthorityUri: string, folder: string): string {
  // URI.toString() keeps unreserved characters and '/' in the path and percent-encodes the rest (upper case).
  let encoded = '';
  for (const ch of folder) {
    if (/[A-Za-z0-9\-._~/]/.test(ch)) encoded += ch;
    else if (ch.charCodeAt(0) < 128) encoded += '%' + ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0');
    else encoded += encodeURIComponent(ch);
  }
  const s = remoteAuthorityUri + encoded;
  const step = (val: number, h: number) => (((h << 5) - h) + val) | 0;
  let h = step(149417, 0);
  for (let i = 0; i < s.length; i++) h = step(s.charCodeAt(i), h);
  return h.toString(16);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
