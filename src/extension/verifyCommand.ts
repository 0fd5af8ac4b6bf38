// "Tangent Numbers: Verify b-file…": checks any b-file of A000182 against the independent residues
// (src/engine/bfileVerifier.ts), with a cancellable progress notification. The file is read in 256 KiB
// chunks with awaited reads, ~2 ms of work each, so the extension host's event loop is never held for
// long (a 50 MB file is ~200 turns of it).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { verdictExitCode, verifyBfile, type BfileVerdict } from '../engine/bfileVerifier';
import { verdictText } from './engineText';
import { hostNumbers } from './format';

export interface VerifyArgs {
  /** The b-file's path; without it, an open dialog asks for it. */
  file?: unknown;
}

/** The command; resolves with the verdict (undefined when the dialog was dismissed). */
export async function verifyBfileCommand(args?: VerifyArgs | vscode.Uri): Promise<{ file: string; verdict: BfileVerdict } | undefined> {
  let file: string;
  if (args instanceof vscode.Uri) file = args.fsPath; // from an explorer context menu
  else if (typeof args?.file === 'string' && args.file.length > 0) file = args.file;
  else {
    const picked = await vscode.window.showOpenDialog({
      title: vscode.l10n.t('Tangent Numbers: Verify b-file'),
      openLabel: vscode.l10n.t('Verify'),
      canSelectMany: false,
      canSelectFiles: true,
      canSelectFolders: false,
      defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
      filters: { [vscode.l10n.t('b-file')]: ['txt'], [vscode.l10n.t('All files')]: ['*'] },
    });
    if (!picked || picked.length === 0) return undefined;
    if (picked[0].scheme !== 'file') {
      void vscode.window.showErrorMessage(vscode.l10n.t('Tangent Numbers: Verify can only read files on this machine.'));
      return undefined;
    }
    file = picked[0].fsPath;
  }

  let verdict: BfileVerdict;
  try {
    verdict = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Verifying {0}', path.basename(file)), cancellable: true },
      async (progress, token) => {
        const abort = new AbortController();
        const cancel = token.onCancellationRequested(() => abort.abort());
        let shown = 0;
        try {
          return await verifyBfile(file, {
            signal: abort.signal,
            onProgress: (read, total, terms) => {
              const pct = total > 0 ? (100 * read) / total : 100;
              progress.report({ increment: pct - shown, message: vscode.l10n.t('T(1..{0}) right, {1} of {2} MB', terms, hostNumbers().fixed1(read / 1e6), hostNumbers().fixed1(total / 1e6)) });
              shown = pct;
            },
          });
        } finally {
          cancel.dispose();
        }
      },
    );
  } catch (e) {
    void vscode.window.showErrorMessage(vscode.l10n.t('Tangent Numbers: cannot read {0}: {1}', file, e instanceof Error ? e.message : String(e)));
    return undefined;
  }

  const message = verdictText(file, verdict, vscode.l10n);
  if (verdict.kind === 'verified' || verdict.kind === 'cancelled') void vscode.window.showInformationMessage(message);
  else void vscode.window.showErrorMessage(message);
  if (verdictExitCode(verdict) === 1 && 'line' in verdict) {
    // The first wrong, missing or misplaced term: show its line (a file too large for the editor just stays closed).
    const at = new vscode.Position(verdict.line - 1, 0);
    try {
      await vscode.window.showTextDocument(vscode.Uri.file(file), { selection: new vscode.Range(at, at), preview: true });
    } catch (e) {
      void vscode.window.showWarningMessage(vscode.l10n.t('Tangent Numbers: cannot open {0} at line {1}: {2}', file, verdict.line, e instanceof Error ? e.message : String(e)));
    }
  }
  return { file, verdict };
}
