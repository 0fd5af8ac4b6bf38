// Outer tests (plain Node): start code-server + Chromium through the harness and drive VS Code.
// Needs `npm run install:vscode` once and compiled tests (`npm run build && npm run build:tests`).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT, VSCodeSession } from '../harness/codeServer';

describe('VS Code integration (code-server)', function () {
  let session: VSCodeSession | undefined;
  let workspace: string | undefined;

  afterEach(async function () {
    if (session && this.currentTest?.state === 'failed') {
      await session.screenshot(`failed-${this.currentTest.title}`).catch(() => undefined);
    }
    await session?.stop();
    session = undefined;
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
    workspace = undefined;
  });

  it("runs the in-host suite inside code-server's extension host", async function () {
    const testsIndex = path.join(REPO_ROOT, 'out', 'test', 'integration', 'index.js');
    assert.ok(fs.existsSync(testsIndex), `${testsIndex} is missing: run \`npm run build:tests\` first`);
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'tangent-ws-'));
    session = await VSCodeSession.start({
      workspace,
      extensionDevelopmentPath: REPO_ROOT,
      extensionTestsPath: testsIndex,
      label: 'in-host-suite',
    });
    const result = await session.waitForTestsResult(300_000);
    const details = result.failuresDetail.map((f) => `- ${f.title}: ${f.message}`).join('\n');
    assert.equal(result.failures, 0, `in-host failures:\n${details}`);
    assert.ok(result.passes >= 1, `expected at least one in-host test to pass, got ${JSON.stringify(result)}`);
  });
});
