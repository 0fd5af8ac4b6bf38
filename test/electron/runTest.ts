// `npm run test:electron`: runs the in-host suite (test/integration/*.test.ts, through
// out/test/integration/index.js) in a desktop VS Code downloaded by @vscode/test-electron, as an
// alternative to the code-server harness of `npm run test:vscode`. Needs network access the first time (it
// downloads VS Code into .vscode-test/) and a display (use xvfb-run on a headless Linux machine).
//
//   VSCODE_TEST_VERSION=1.100.3 npm run test:electron     (default: stable)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';

async function main(): Promise<number> {
  // out/test/electron/runTest.js -> repository root
  const root = path.resolve(__dirname, '..', '..', '..');
  const extensionDevelopmentPath = root;
  const extensionTestsPath = path.join(root, 'out', 'test', 'integration', 'index.js');
  if (!fs.existsSync(extensionTestsPath)) {
    console.error(`${extensionTestsPath} is missing: run \`npm run build && npm run build:tests\` first`);
    return 1;
  }
  // A folder must be open: the extension keeps its job in the workspace storage (storageUri).
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'tangent-electron-ws-'));
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tangent-electron-user-'));
  const resultFile = path.join(userDataDir, 'test-result.json');
  try {
    await runTests({
      version: process.env.VSCODE_TEST_VERSION ?? 'stable',
      extensionDevelopmentPath,
      extensionTestsPath,
      extensionTestsEnv: { EXT_TEST_RESULT_FILE: resultFile },
      launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes', `--user-data-dir=${userDataDir}`],
    });
    // The index writes the result file; its absence means the extension host never finished the suite.
    if (!fs.existsSync(resultFile)) {
      console.error('VS Code exited without a test result file: the extension host died or the suite did not run');
      return 1;
    }
    const result = JSON.parse(fs.readFileSync(resultFile, 'utf8')) as { passes: number; failures: number; pending: number };
    console.log(`in-host suite: ${result.passes} passing, ${result.failures} failing, ${result.pending} pending`);
    return result.failures === 0 ? 0 : 1;
  } catch (e) {
    console.error(`the in-host tests failed: ${(e as Error).message}`);
    return 1;
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
