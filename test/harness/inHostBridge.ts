// In-host side of the terms-view tests: loaded by the extension host as extensionTestsPath (instead of
// test/integration/index.ts). Instead of running a fixed suite at load, it serves a small JSON-over-HTTP
// API on 127.0.0.1 so the outer test (test/vscode/termsView.test.ts) can drive the extension through the
// real `vscode` API while it drives the UI through Chromium:
//   exec (vscode.commands.executeCommand), job/waitJob (the extension's API), clipboard, runTests (runs
//   in-host mocha files, tdd, on demand), finish (ends the "suite": run() resolves, the result file is written).
// It prints "TN-BRIDGE listening <port>" when ready; the port is per extension host (a reload starts a new one).
// Only loopback, only for tests; a random token guards the requests.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import Mocha from 'mocha';
import * as vscode from 'vscode';
import { EXTENSION_ID } from './inHost';

interface JobView {
  state: string;
  done: number;
  target: number;
  [k: string]: unknown;
}
interface Api {
  readonly job: JobView;
  readonly onDidChange: vscode.Event<JobView>;
  readonly stateDir: string;
}

interface TestsResult {
  passes: number;
  failures: number;
  pending: number;
  failuresDetail: { title: string; message: string }[];
}

const total: TestsResult = { passes: 0, failures: 0, pending: 0, failuresDetail: [] };

function writeResult(result: TestsResult): void {
  const file = process.env.EXT_TEST_RESULT_FILE;
  if (!file) return;
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(result, null, 2));
  fs.renameSync(`${file}.tmp`, file);
}

async function api(): Promise<Api> {
  const ext = vscode.extensions.getExtension<Api>(EXTENSION_ID);
  if (!ext) throw new Error(`extension ${EXTENSION_ID} is not loaded`);
  return ext.isActive ? ext.exports : ext.activate();
}

/** Resolves when the job satisfies the condition (checked at once, then on every change and every 200 ms). */
async function waitJob(p: { states?: string[]; minDone?: number; target?: number; timeoutMs?: number }): Promise<JobView> {
  const a = await api();
  const ok = (v: JobView) =>
    (!p.states || p.states.includes(v.state)) && (p.minDone === undefined || v.done >= p.minDone) && (p.target === undefined || v.target === p.target);
  const until = Date.now() + (p.timeoutMs ?? 60_000);
  return new Promise<JobView>((resolve, reject) => {
    const check = () => {
      const v = a.job;
      if (ok(v)) {
        done();
        resolve(v);
      } else if (Date.now() > until) {
        done();
        reject(new Error(`waitJob ${JSON.stringify(p)}: job is ${JSON.stringify(v)}`));
      }
    };
    const sub = a.onDidChange(check);
    const timer = setInterval(check, 200);
    const done = () => {
      sub.dispose();
      clearInterval(timer);
    };
    check();
  });
}

/** Runs compiled in-host test files (tdd) now, in this extension host, and returns their outcome. */
function runTests(files: string[], grep?: string, params?: unknown): Promise<TestsResult> {
  const dir = path.join(__dirname, '..', 'integration');
  const mocha = new Mocha({ ui: 'tdd', timeout: 180_000, color: false, reporter: 'spec' });
  if (grep) mocha.grep(grep);
  for (const f of files) {
    const file = path.resolve(dir, f);
    if (path.dirname(file) !== dir || !fs.existsSync(file)) throw new Error(`no in-host test file ${f}`);
    mocha.addFile(file);
  }
  (globalThis as { __tangentBridgeParams?: unknown }).__tangentBridgeParams = params;
  return new Promise((resolve) => {
    const failuresDetail: TestsResult['failuresDetail'] = [];
    const finish = (r: TestsResult) => {
      mocha.unloadFiles();
      total.passes += r.passes;
      total.failures += r.failures;
      total.pending += r.pending;
      total.failuresDetail.push(...r.failuresDetail);
      resolve(r);
    };
    try {
      const runner = mocha.run(() => {
        const s = runner.stats ?? { passes: 0, failures: failuresDetail.length, pending: 0 };
        finish({ passes: s.passes, failures: s.failures, pending: s.pending, failuresDetail });
      });
      runner.on('fail', (test, err: Error) => failuresDetail.push({ title: test.fullTitle(), message: err?.stack ?? String(err) }));
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      finish({ passes: 0, failures: 1, pending: 0, failuresDetail: [{ title: `loading ${files.join(', ')}`, message: err.stack ?? err.message }] });
    }
  });
}

/** JSON-safe copy (URIs become strings, undefined becomes null). */
function plain(v: unknown): unknown {
  if (v === undefined) return null;
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (x instanceof vscode.Uri ? x.toString() : x)) ?? 'null');
}

export function run(): Promise<void> {
  const token = Math.random().toString(36).slice(2);
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));

  const ops: Record<string, (p: Record<string, unknown>) => Promise<unknown>> = {
    ping: async () => ({ pid: process.pid }),
    activate: async () => {
      const a = await api();
      return { job: a.job, stateDir: a.stateDir };
    },
    job: async () => (await api()).job,
    waitJob: async (p) => waitJob(p),
    exec: async (p) => plain(await vscode.commands.executeCommand(String(p.command), ...((p.args as unknown[]) ?? []))),
    // Starts commands in one go, none awaited before the next starts (a double click), then waits for all;
    // returns each one's value or error.
    execConcurrent: async (p) => {
      const calls = (p.calls as { command: string; args?: unknown[] }[]) ?? [];
      const running = calls.map((c) => Promise.resolve(vscode.commands.executeCommand(String(c.command), ...(c.args ?? []))));
      const settled = await Promise.allSettled(running);
      return settled.map((r) => (r.status === 'fulfilled' ? { value: plain(r.value) } : { error: r.reason instanceof Error ? r.reason.message : String(r.reason) }));
    },
    // Starts a command without waiting for it (it may wait for UI input, e.g. a quick pick).
    execDetached: async (p) => {
      void Promise.resolve(vscode.commands.executeCommand(String(p.command), ...((p.args as unknown[]) ?? []))).then(undefined, (e: Error) =>
        console.log(`TN-BRIDGE detached ${String(p.command)} failed: ${e.message}`),
      );
      return null;
    },
    /** inspect() of a setting, e.g. {section: 'workbench', key: 'colorTheme'}. */
    inspectSetting: async (p) => plain(vscode.workspace.getConfiguration(String(p.section)).inspect(String(p.key))),
    /** Sets a user (global) setting. */
    updateSetting: async (p) =>
      vscode.workspace.getConfiguration(String(p.section)).update(String(p.key), p.value, vscode.ConfigurationTarget.Global),
    readClipboard: async () => vscode.env.clipboard.readText(),
    writeClipboard: async (p) => vscode.env.clipboard.writeText(String(p.text)),
    logsPath: async () => {
      const ext = vscode.extensions.getExtension(EXTENSION_ID);
      return { pid: process.pid, extensionPath: ext?.extensionPath ?? null };
    },
    runTests: async (p) => runTests(p.files as string[], p.grep as string | undefined, p.params),
    finish: async () => {
      setTimeout(finish, 50);
      return null;
    },
  };

  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      const reply = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value ?? null));
      };
      if (req.headers['x-bridge-token'] !== token) return reply(403, { error: 'bad token' });
      let msg: { op?: string; params?: Record<string, unknown> };
      try {
        msg = JSON.parse(body) as typeof msg;
      } catch {
        return reply(400, { error: 'bad json' });
      }
      const op = msg.op && Object.prototype.hasOwnProperty.call(ops, msg.op) ? ops[msg.op] : undefined;
      if (!op) return reply(404, { error: `unknown op ${msg.op}` });
      op(msg.params ?? {}).then(
        (value) => reply(200, { value }),
        (e: unknown) => reply(200, { error: e instanceof Error ? e.stack ?? e.message : String(e) }),
      );
    });
  });

  return new Promise<void>((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as import('node:net').AddressInfo;
      // The outer test finds the bridge through this line (codeAutomationLog → session.logs).
      console.log(`TN-BRIDGE listening ${port} ${token}`);
      void finished.then(() => {
        server.close();
        writeResult(total);
        if (total.failures > 0) reject(new Error(`${total.failures} in-host tests failed`));
        else resolve();
      });
    });
  });
}
