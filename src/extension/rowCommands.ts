// Commands of the Terms view's row context menu (contributes.menus["webview/context"]). VS Code passes the
// row's data-vscode-context, {"webviewSection":"row","n":123,…}: data from the webview, checked like a message.
import * as vscode from 'vscode';
import { exportCommand } from './commands';
import type { JobController } from './jobController';
import { bfileLine, rowIndex } from './rowContext';

async function storedTerm(controller: JobController, ctx: unknown): Promise<{ n: number; digits: string } | undefined> {
  const n = rowIndex(ctx);
  if (n === undefined) {
    void vscode.window.showWarningMessage(vscode.l10n.t('Tangent Numbers: use this command from a row of the Terms view.'));
    return undefined;
  }
  const reader = await controller.reader();
  const [term] = n <= (await reader.count()) ? await reader.readRange(n, n) : [];
  if (term?.n !== n) {
    void vscode.window.showWarningMessage(vscode.l10n.t('Tangent Numbers: T({0}) is not stored.', n));
    return undefined;
  }
  return term;
}

/** Copy T(n): puts the full decimal value on the clipboard; returns it (or undefined). */
export async function copyTermCommand(controller: JobController, ctx: unknown): Promise<string | undefined> {
  const t = await storedTerm(controller, ctx);
  if (!t) return undefined;
  await vscode.env.clipboard.writeText(t.digits);
  vscode.window.setStatusBarMessage(
    t.digits.length === 1 ? vscode.l10n.t('Copied T({0}) ({1} digit)', t.n, t.digits.length) : vscode.l10n.t('Copied T({0}) ({1} digits)', t.n, t.digits.length),
    3000,
  );
  return t.digits;
}

/** Copy as b-file line: "n T(n)". */
export async function copyBfileLineCommand(controller: JobController, ctx: unknown): Promise<string | undefined> {
  const t = await storedTerm(controller, ctx);
  if (!t) return undefined;
  const line = bfileLine(t.n, t.digits);
  await vscode.env.clipboard.writeText(line);
  vscode.window.setStatusBarMessage(vscode.l10n.t('Copied the b-file line of T({0})', t.n), 3000);
  return line;
}

/** Export from here: the export flow for n..(last stored term). */
export async function exportFromCommand(controller: JobController, ctx: unknown): Promise<{ file: string; terms: number } | undefined> {
  const n = rowIndex(ctx);
  if (n === undefined) {
    void vscode.window.showWarningMessage(vscode.l10n.t('Tangent Numbers: use this command from a row of the Terms view.'));
    return undefined;
  }
  const count = await (await controller.reader()).count();
  if (n > count) {
    void vscode.window.showWarningMessage(vscode.l10n.t('Tangent Numbers: T({0}) is not stored.', n));
    return undefined;
  }
  return exportCommand(controller, { from: n, to: count });
}
