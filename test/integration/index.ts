// Entry point that the extension host loads as extensionTestsPath: runs every *.test.js next to this file
// with mocha (tdd) and writes the outcome to $EXT_TEST_RESULT_FILE. The harness needs that file because the
// workbench reports exit code 0 even when the extension host dies mid-run.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

interface TestsResult {
  passes: number;
  failures: number;
  pending: number;
  failuresDetail: { title: string; message: string }[];
}

function writeResult(result: TestsResult): void {
  const file = process.env.EXT_TEST_RESULT_FILE;
  if (!file) return;
  // Atomic: the harness may read it as soon as the workbench reports the exit code.
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(result, null, 2));
  fs.renameSync(`${file}.tmp`, file);
}

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', timeout: 120000, color: false });
  // EXT_TEST_FILES=extension,smoke (inherited from the environment of the outer test process) runs only the
  // files whose name contains one of the words: for iterating on one suite. Unset: every file.
  const only = (process.env.EXT_TEST_FILES ?? '').split(',').map((w) => w.trim()).filter(Boolean);
  const files = fs.readdirSync(__dirname)
    .filter((f) => f.endsWith('.test.js') && (only.length === 0 || only.some((w) => f.includes(w))))
    .sort();
  for (const f of files) mocha.addFile(path.join(__dirname, f));

  return new Promise<void>((resolve, reject) => {
    const failuresDetail: TestsResult['failuresDetail'] = [];
    try {
      const runner = mocha.run(() => {
        const stats = runner.stats ?? { passes: 0, failures: failuresDetail.length, pending: 0 };
        const result = { passes: stats.passes, failures: stats.failures, pending: stats.pending, failuresDetail };
        writeResult(result);
        if (result.failures > 0) reject(new Error(`${result.failures} of ${result.passes + result.failures} tests failed`));
        else if (files.length === 0) reject(new Error(`no *.test.js files in ${__dirname}`));
        else resolve();
      });
      runner.on('fail', (test, err: Error) => {
        failuresDetail.push({ title: test.fullTitle(), message: err?.stack ?? String(err) });
      });
    } catch (err) {
      // A test file that throws while loading (syntax error, missing module) ends up here.
      const e = err instanceof Error ? err : new Error(String(err));
      writeResult({ passes: 0, failures: 1, pending: 0, failuresDetail: [{ title: 'loading test files', message: e.stack ?? e.message }] });
      reject(e);
    }
  });
}
