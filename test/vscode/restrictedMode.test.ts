// Restricted Mode in a real workbench (code-server with workspace trust on and the folder not trusted): the
// extension reads no workspace file, so it stays enabled and computes; the settings it declares restricted
// (threads, worker memory) are taken from the user, never from the untrusted folder's .vscode/settings.json,
// while its other settings still apply. Terms are checked against the OEIS b-file, not the extension's output.
// Installed from a .vsix as a user installs it: a development extension is loaded even where its manifest
// says it does not support untrusted workspaces (checked: with `supported: false` it still ran).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { VSCodeSession } from '../harness/codeServer';
import { referenceBfile500, storedBfile } from '../harness/references';
import { computeViaPalette, extensionLogLines, packageVsix, sessionPerTest, stateDirOf, waitForActivation, waitForExtensionLog, waitForStatus } from '../harness/tangentSession';

describe('Restricted Mode (code-server, workspace trust on, folder not trusted)', function () {
  this.timeout(240_000);
  const { tempDir, use } = sessionPerTest('restrictedMode');

  it('the extension is enabled and computes T(1..500) exactly; the folder cannot set threads or memory, but its other settings apply', async function () {
    const extensionsDir = tempDir('tangent-exts-');
    assert.match(await VSCodeSession.installVsix(await packageVsix(tempDir('tangent-vsix-')), extensionsDir), /successfully installed/i);
    const ws = tempDir('tangent-untrusted-');
    fs.mkdirSync(path.join(ws, '.vscode'));
    // What a hostile repository could ask for; the two restricted values must be ignored while untrusted.
    fs.writeFileSync(
      path.join(ws, '.vscode', 'settings.json'),
      JSON.stringify({ 'tangentNumbers.threads': 3, 'tangentNumbers.workerMemoryLimitMb': 200, 'tangentNumbers.checkpointIntervalSeconds': 2 }, null, 2),
    );
    const s = use(await VSCodeSession.start({ workspace: ws, extensionsDir, label: 'restricted-mode', workspaceTrust: 'restricted' }));
    const page = s.page;

    // The workbench is in Restricted Mode: its status bar entry and banner say so.
    await page.locator('.monaco-workbench .part.statusbar .statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor({ state: 'visible', timeout: 30_000 });
    await page.locator('.monaco-workbench .part.banner', { hasText: /Restricted Mode/ }).first().waitFor({ state: 'visible', timeout: 30_000 });

    // Enabled: it activates by itself, and its commands are in the palette.
    await waitForActivation(s);
    assert.ok(!s.serverLogs.some((l) => /Loading development extension/.test(l)), 'the installed copy runs, no development extension');
    await computeViaPalette(s, 500);

    // The user's defaults, not the folder's 3 threads and 200 MB; the folder's checkpoint interval applies.
    const defaultThreads = Math.max(1, os.availableParallelism() - 1);
    const line = await waitForExtensionLog(s, /\] job: \d+ block thread/);
    assert.match(line, new RegExp(`job: ${defaultThreads} block thread\\(s\\), 1024 MB memory limit per thread, checkpoints at most 2 s apart`));

    await waitForStatus(s, /^T 500 · done$/, 90_000);
    const stored = storedBfile(stateDirOf(s));
    assert.ok(stored.equals(referenceBfile500()), 'the stored terms T(1..500) equal OEIS b000182.txt byte for byte');
    assert.ok(!extensionLogLines(s).some((l) => /\[error\]/.test(l)), 'no error in the extension log');
  });
});
