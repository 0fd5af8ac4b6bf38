// Outer side of test/harness/inHostBridge.ts: calls into the extension host of a VSCodeSession that was
// started with extensionTestsPath = out/test/harness/inHostBridge.js.
import * as http from 'node:http';
import * as path from 'node:path';
import type { TestsResult, VSCodeSession } from './codeServer';

export const BRIDGE_INDEX = path.join(__dirname, 'inHostBridge.js');

export interface JobView {
  state: string;
  done: number;
  target: number;
  termsPerSecond: number;
  etaSeconds: number | null;
  message?: string;
}

export class Bridge {
  private constructor(
    readonly port: number,
    private readonly token: string,
  ) {}

  /** Waits for the bridge of the current extension host (log lines from index `since` on). */
  static async connect(session: VSCodeSession, since = 0, timeoutMs = 90_000): Promise<Bridge> {
    const line = await session.waitForLog(/TN-BRIDGE listening \d+ \w+/, timeoutMs, since);
    const m = /TN-BRIDGE listening (\d+) (\w+)/.exec(line)!;
    const bridge = new Bridge(Number(m[1]), m[2]);
    await bridge.call('activate');
    return bridge;
  }

  call<T = unknown>(op: string, params: Record<string, unknown> = {}, timeoutMs = 240_000): Promise<T> {
    const body = JSON.stringify({ op, params });
    return new Promise<T>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: this.port, method: 'POST', path: '/', headers: { 'content-type': 'application/json', 'x-bridge-token': this.token }, timeout: timeoutMs },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => {
            try {
              const r = JSON.parse(text) as { value?: T; error?: string };
              if (r.error !== undefined) reject(new Error(`bridge ${op}: ${r.error}`));
              else resolve(r.value as T);
            } catch (e) {
              reject(new Error(`bridge ${op}: bad reply (${res.statusCode}) ${text.slice(0, 200)}: ${(e as Error).message}`));
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`bridge ${op}: no reply within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  exec<T = unknown>(command: string, ...args: unknown[]): Promise<T> {
    return this.call<T>('exec', { command, args });
  }

  /** Runs the commands in the extension host without awaiting one before starting the next (a double
   *  click), then waits for all of them; each one's value or error message. */
  execConcurrent(...calls: { command: string; args?: unknown[] }[]): Promise<({ value: unknown } | { error: string })[]> {
    return this.call('execConcurrent', { calls });
  }

  /** Starts a command and returns at once (for commands that wait for quick picks or dialogs). */
  execDetached(command: string, ...args: unknown[]): Promise<void> {
    return this.call('execDetached', { command, args });
  }

  job(): Promise<JobView> {
    return this.call<JobView>('job');
  }

  waitJob(p: { states?: string[]; minDone?: number; target?: number; timeoutMs?: number }): Promise<JobView> {
    return this.call<JobView>('waitJob', p, (p.timeoutMs ?? 60_000) + 10_000);
  }

  /** Starts over with `count` terms (or starts the first job) and waits until all are done. */
  async computeFresh(count: number, timeoutMs = 120_000): Promise<JobView> {
    await this.exec('tangentNumbers.compute', { count, mode: 'restart' });
    return this.waitJob({ states: ['done'], minDone: count, target: count, timeoutMs });
  }

  runTests(files: string[], grep?: string, params?: unknown): Promise<TestsResult> {
    return this.call<TestsResult>('runTests', { files, grep, params }, 300_000);
  }

  /** Ends the in-host "suite": the bridge writes the result file; the workbench then stops the extension host. */
  finish(): Promise<void> {
    return this.call('finish');
  }
}
