// Proves the suite runs inside a real VS Code extension host (not a mock of the API).
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

suite('smoke: running inside VS Code', () => {
  test('the vscode API is the real one', () => {
    assert.equal(typeof vscode.version, 'string');
    assert.match(vscode.version, /^\d+\.\d+\.\d+/);
    assert.ok(vscode.workspace, 'vscode.workspace exists');
    assert.equal(typeof vscode.commands.executeCommand, 'function');
  });
});
