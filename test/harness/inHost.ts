// Helpers for the in-host tests of the terms view and the export (test/integration/view.bridged.ts,
// export.bridged.ts, run through the bridge). Loaded only inside the extension host (imports 'vscode').
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

export const EXTENSION_ID = 'tangent-numbers.tangent-numbers';

/** Repository root (has test/fixtures), from out/test/harness or test/harness. */
export const REPO_ROOT: string = (() => {
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'test', 'fixtures', 'b000182.txt'))) return dir;
  }
  throw new Error(`no test/fixtures above ${__dirname}`);
})();
export const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures');

export interface JobView {
  state: string;
  done: number;
  target: number;
}
export interface Api {
  readonly job: JobView;
  readonly onDidChange: vscode.Event<JobView>;
  readonly stateDir: string;
}

export async function extensionApi(): Promise<Api> {
  const ext = vscode.extensions.getExtension<Api>(EXTENSION_ID);
  if (!ext) throw new Error(`extension ${EXTENSION_ID} is not loaded`);
  return ext.isActive ? ext.exports : ext.activate();
}

/** Waits until the job satisfies `ok` (checked now, on every change and every 100 ms). */
export async function waitForJob(ok: (v: JobView) => boolean, timeoutMs = 120_000): Promise<JobView> {
  const api = await extensionApi();
  return new Promise<JobView>((resolve, reject) => {
    const until = Date.now() + timeoutMs;
    const check = () => {
      const v = api.job;
      if (ok(v)) {
        stop();
        resolve(v);
      } else if (Date.now() > until) {
        stop();
        reject(new Error(`timed out after ${timeoutMs} ms; job is ${JSON.stringify(v)}`));
      }
    };
    const sub = api.onDidChange(check);
    const timer = setInterval(check, 100);
    const stop = () => {
      sub.dispose();
      clearInterval(timer);
    };
    check();
  });
}

/** Makes the job hold exactly T(1..count), finished (starting over unless it already does). */
export async function ensureFinishedJob(count: number): Promise<void> {
  const api = await extensionApi();
  const v = api.job;
  if (v.state === 'done' && v.done === count && v.target === count) return;
  await vscode.commands.executeCommand('tangentNumbers.compute', { count, mode: 'restart' });
  await waitForJob((j) => j.state === 'done' && j.done === count && j.target === count);
}

/** b000182.txt as a map n → decimal digits (n = 1..500). */
export function referenceTerms(): Map<number, string> {
  const map = new Map<number, string>();
  for (const line of fs.readFileSync(path.join(FIXTURES, 'b000182.txt'), 'latin1').split('\n')) {
    const m = /^(\d+) (\d+)$/.exec(line);
    if (m) map.set(Number(m[1]), m[2]);
  }
  if (map.size !== 500) throw new Error(`b000182.txt: expected 500 terms, read ${map.size}`);
  return map;
}

export interface ReferenceTerm {
  n: number;
  digits: number;
  head: string;
  tail: string;
  sha256: string;
}
export function referenceBigTerms(): ReferenceTerm[] {
  return (JSON.parse(fs.readFileSync(path.join(FIXTURES, 'reference-terms.json'), 'utf8')) as { terms: ReferenceTerm[] }).terms;
}
export function referenceBfileHashes(): Record<string, { sha256: string; bytes: number }> {
  return (JSON.parse(fs.readFileSync(path.join(FIXTURES, 'reference-bfile-hashes.json'), 'utf8')) as { bfiles: Record<string, { sha256: string; bytes: number }> }).bfiles;
}

export function sha256(data: Buffer | string): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = crypto.createHash('sha256');
    fs.createReadStream(file)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}
