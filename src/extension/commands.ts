// Command handlers. Each accepts optional arguments so the command can also be driven
// programmatically (tests, keybindings with args); without them it asks the user.
import * as vscode from 'vscode';
import { MAX_COUNT, validateCount } from '../engine/engine';
import { AsyncTermReader, type TermBytes } from '../store';
import { FORMATS, FORMAT_LABELS, isExportFormat, type ExportFormat } from '../engine/formats';
import { ExportError, exportTerms } from '../store/exportFile';
import type { JobController } from './jobController';
import { countProblem, exportFormatText } from './engineText';
import { getSettings } from './settings';
import { isIntegerIn, isRecord } from '../common/protocol';

export const VIEW_ID = 'tangentNumbers.terms';

type StartMode = 'continue' | 'extend' | 'restart';

export interface ComputeArgs {
  count?: unknown;
  mode?: unknown;
}

export async function computeCommand(controller: JobController, args?: ComputeArgs): Promise<void> {
  const current = controller.current;
  let count: number;
  if (args?.count !== undefined) {
    // A command argument may be anything (a keybinding's args, another extension): show it as given.
    const given = typeof args.count === 'string' ? args.count : JSON.stringify(args.count) ?? typeof args.count;
    const v = validateCount(given);
    if (!v.ok) {
      void vscode.window.showErrorMessage(vscode.l10n.t('Tangent Numbers: invalid count "{0}": {1}.', given, countProblem(given, vscode.l10n)));
      return;
    }
    count = v.value;
  } else {
    const input = await vscode.window.showInputBox({
      title: vscode.l10n.t('Tangent Numbers: Compute'),
      prompt: vscode.l10n.t('How many terms T(1..N)? A whole number from 1 to {0}.', MAX_COUNT),
      value: String(current.target || getSettings().defaultCount),
      ignoreFocusOut: true,
      validateInput: (text) => (validateCount(text).ok ? undefined : countProblem(text, vscode.l10n)),
    });
    if (input === undefined) return;
    const v = validateCount(input);
    if (!v.ok) return;
    count = v.value;
  }

  let mode = 'extend' as StartMode;
  if (current.state === 'readonly') {
    void vscode.window.showWarningMessage(vscode.l10n.t('Tangent Numbers: {0}', current.message ?? vscode.l10n.t('this job is read-only in this window')));
    return;
  }
  const hasJob = current.state !== 'none' && (current.done > 0 || current.state === 'running');
  if (hasJob) {
    if (args?.mode === 'continue' || args?.mode === 'extend' || args?.mode === 'restart') {
      mode = args.mode;
    } else {
      type Pick = vscode.QuickPickItem & { mode: StartMode };
      const items: Pick[] = [];
      if (current.done < current.target) {
        items.push({ label: `$(debug-continue) ${vscode.l10n.t('Continue')}`, description: vscode.l10n.t('resume the stored job at term {0} of {1}', current.done + 1, current.target), mode: 'continue' });
      }
      if (count > current.target) {
        items.push({ label: `$(arrow-right) ${vscode.l10n.t('Extend to {0}', count)}`, description: vscode.l10n.t('keep the {0} finished terms and compute up to {1}', current.done, count), mode: 'extend' });
      }
      items.push({ label: `$(discard) ${vscode.l10n.t('Start over')}`, description: vscode.l10n.t('archive the {0} stored terms and compute {1} from the beginning', current.done, count), mode: 'restart' });
      const pick = await vscode.window.showQuickPick(items, { title: vscode.l10n.t('Tangent Numbers: this workspace already has a job'), placeHolder: vscode.l10n.t('What should happen to it?') });
      if (!pick) return;
      mode = pick.mode;
      if (mode === 'restart') {
        const startOver = vscode.l10n.t('Start Over');
        const ok = await vscode.window.showWarningMessage(
          vscode.l10n.t("Start over with {0} terms? The {1} stored terms are archived in the extension's storage, not deleted.", count, current.done),
          { modal: true },
          startOver,
        );
        if (ok !== startOver) return;
      }
    }
  }
  const target = mode === 'continue' ? current.target : count;
  await controller.start(target, mode);
}

/** Streams stored terms from..to in pages, never holding all of them. */
async function* storedTerms(reader: AsyncTermReader, from: number, to: number): AsyncGenerator<TermBytes> {
  // Pages of up to 256 terms or 2 million digits, whichever comes first (memory stays bounded at large n).
  for (let n = from; n <= to; ) {
    const page = await reader.readRangeBytes(n, Math.min(to, n + 255), 2_000_000);
    if (page.length === 0) return; // the log ended early (cut while reading)
    yield* page;
    n += page.length;
  }
}

export interface ExportArgs {
  format?: unknown;
  file?: unknown;
  from?: unknown;
  to?: unknown;
}

/**
 * Export… of the current job's terms, or (`archiveDir`) of an archived job's state directory (Manage Stored
 * Jobs), read with a reader of its own that is closed afterwards.
 */
export async function exportCommand(controller: JobController, args?: ExportArgs, archiveDir?: string): Promise<{ file: string; terms: number } | undefined> {
  if (archiveDir === undefined) return exportFromReader(controller, await controller.reader().catch(() => undefined), args, false);
  let reader: AsyncTermReader | undefined;
  try {
    reader = await AsyncTermReader.open(archiveDir);
  } catch (e) {
    void vscode.window.showErrorMessage(vscode.l10n.t('Tangent Numbers: cannot read {0}: {1}', archiveDir, (e as Error).message));
    return undefined;
  }
  try {
    return await exportFromReader(controller, reader, args, true);
  } finally {
    await reader.close().catch(() => undefined);
  }
}

async function exportFromReader(controller: JobController, reader: AsyncTermReader | undefined, args: ExportArgs | undefined, archived: boolean): Promise<{ file: string; terms: number } | undefined> {
  const view = controller.current;
  let available: number;
  try {
    available = reader ? await reader.count() : 0;
  } catch {
    available = 0;
  }
  if (!reader || available === 0) {
    void vscode.window.showWarningMessage(
      archived ? vscode.l10n.t('Tangent Numbers: there are no finished terms to export in this archive.') : vscode.l10n.t('Tangent Numbers: there are no finished terms to export yet.'),
    );
    return undefined;
  }
  const a = isRecord(args) ? args : {};

  let format: ExportFormat;
  if (a.format !== undefined) {
    if (!isExportFormat(a.format)) {
      void vscode.window.showErrorMessage(vscode.l10n.t('Tangent Numbers: unknown export format; use one of {0}.', FORMATS.join(', ')));
      return undefined;
    }
    format = a.format;
  } else {
    const pick = await vscode.window.showQuickPick(
      FORMATS.map((f) => ({ ...exportFormatText(f, vscode.l10n), format: f })),
      { title: vscode.l10n.t('Tangent Numbers: Export — format') },
    );
    if (!pick) return undefined;
    format = pick.format;
  }

  let from = 1;
  let to = available;
  if (a.from !== undefined || a.to !== undefined) {
    if ((a.from !== undefined && !isIntegerIn(a.from, 1, available)) || (a.to !== undefined && !isIntegerIn(a.to, 1, available))) {
      void vscode.window.showErrorMessage(vscode.l10n.t('Tangent Numbers: the export range must lie within 1..{0}.', available));
      return undefined;
    }
    from = a.from ?? 1;
    to = a.to ?? available;
    if (from > to) {
      void vscode.window.showErrorMessage(vscode.l10n.t('Tangent Numbers: the export range is empty (from > to).'));
      return undefined;
    }
  }
  if (a.file === undefined && a.from === undefined && a.to === undefined) {
    const range = await pickRange(available);
    if (!range) return undefined;
    [from, to] = range;
  }

  let file: string;
  if (typeof a.file === 'string' && a.file.length > 0) {
    file = a.file;
  } else if (a.file !== undefined) {
    void vscode.window.showErrorMessage(vscode.l10n.t('Tangent Numbers: the export file must be a path.'));
    return undefined;
  } else {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const name = format === 'bfile' ? 'b000182.txt' : `A000182.${FORMAT_LABELS[format].extension}`;
    const uri = await vscode.window.showSaveDialog({
      title: vscode.l10n.t('Tangent Numbers: Export'),
      defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined,
      filters: { [exportFormatText(format, vscode.l10n).label]: [FORMAT_LABELS[format].extension] },
    });
    if (!uri) return undefined;
    if (uri.scheme !== 'file') {
      void vscode.window.showErrorMessage(vscode.l10n.t('Tangent Numbers: export can only write to files on this machine.'));
      return undefined;
    }
    file = uri.fsPath;
  }

  const partial = !archived && view.state === 'running' && to >= available;
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Exporting T({0}..{1})', from, to), cancellable: true },
    async (progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      let last = 0;
      try {
        return await exportTerms(storedTerms(reader, from, to), file, format, {
          expectedTerms: { from, to },
          signal: abort.signal,
          onProgress: (written) => {
            const pct = (100 * written) / (to - from + 1);
            progress.report({ increment: pct - last, message: vscode.l10n.t('{0} of {1} terms', written, to - from + 1) });
            last = pct;
          },
        });
      } catch (e) {
        const msg = e instanceof ExportError ? e.message : vscode.l10n.t('export failed: {0}', (e as Error).message);
        void vscode.window.showErrorMessage(vscode.l10n.t('Tangent Numbers: {0}', msg));
        return undefined;
      }
    },
  );
  if (!result) return undefined;
  // Whole sentences, each translated on its own.
  const sentences = [
    result.terms === 1 ? vscode.l10n.t('Tangent Numbers: exported {0} term to {1}.', result.terms, result.file) : vscode.l10n.t('Tangent Numbers: exported {0} terms to {1}.', result.terms, result.file),
  ];
  if (partial) sentences.push(vscode.l10n.t('The job is still running: this is the finished prefix ({0} of {1} terms).', result.terms, view.target));
  const removed = result.abandonedTempsRemoved;
  if (removed) {
    sentences.push(
      removed === 1
        ? vscode.l10n.t('Removed {0} temporary file an interrupted export had left beside it.', removed)
        : vscode.l10n.t('Removed {0} temporary files an interrupted export had left beside it.', removed),
    );
  }
  void vscode.window.showInformationMessage(sentences.join(' '));
  return { file: result.file, terms: result.terms };
}

async function pickRange(available: number): Promise<[number, number] | undefined> {
  const pick = await vscode.window.showQuickPick(
    [
      { label: available === 1 ? vscode.l10n.t('The {0} finished term', available) : vscode.l10n.t('All {0} finished terms', available), id: 'all' },
      { label: vscode.l10n.t('First k terms…'), id: 'first' },
      { label: vscode.l10n.t('From n to m…'), id: 'range' },
    ],
    { title: vscode.l10n.t('Tangent Numbers: Export — which terms?') },
  );
  if (!pick) return undefined;
  if (pick.id === 'all') return [1, available];
  if (pick.id === 'first') {
    const k = await vscode.window.showInputBox({
      title: vscode.l10n.t('Export the first k terms'),
      prompt: vscode.l10n.t('k from 1 to {0}', available),
      validateInput: (t) => (isIntegerIn(Number(t), 1, available) && /^\d+$/.test(t.trim()) ? undefined : vscode.l10n.t('a whole number from 1 to {0}', available)),
    });
    return k === undefined ? undefined : [1, Number(k)];
  }
  const r = await vscode.window.showInputBox({
    title: vscode.l10n.t('Export terms n..m'),
    prompt: vscode.l10n.t('two whole numbers within 1..{0}, e.g. 100..200', available),
    validateInput: (t) => (parseRange(t, available) ? undefined : vscode.l10n.t('write n..m with 1 ≤ n ≤ m ≤ {0}', available)),
  });
  return r === undefined ? undefined : parseRange(r, available);
}

function parseRange(text: string, available: number): [number, number] | undefined {
  const m = /^\s*(\d+)\s*(?:\.\.|-|–)\s*(\d+)\s*$/.exec(text);
  if (!m) return undefined;
  const a = Number(m[1]);
  const b = Number(m[2]);
  return a >= 1 && a <= b && b <= available ? [a, b] : undefined;
}
