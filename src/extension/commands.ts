// Command handlers. Each accepts optional arguments so the command can also be driven
// programmatically (tests, keybindings with args); without them it asks the user.
import * as vscode from 'vscode';
import { MAX_COUNT, validateCount } from '../engine/engine';
import { AsyncTermReader, type TermBytes } from '../store';
import { FORMATS, FORMAT_LABELS, isExportFormat, type ExportFormat } from '../engine/formats';
import { ExportError, exportTerms } from '../store/exportFile';
import type { JobController } from './jobController';
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
    const v = validateCount(String(args.count));
    if (!v.ok) {
      void vscode.window.showErrorMessage(`Tangent Numbers: invalid count "${String(args.count)}": ${v.reason}.`);
      return;
    }
    count = v.value;
  } else {
    const input = await vscode.window.showInputBox({
      title: 'Tangent Numbers: Compute',
      prompt: `How many terms T(1..N)? A whole number from 1 to ${MAX_COUNT}.`,
      value: String(current.target || getSettings().defaultCount),
      ignoreFocusOut: true,
      validateInput: (text) => {
        const v = validateCount(text);
        return v.ok ? undefined : v.reason;
      },
    });
    if (input === undefined) return;
    const v = validateCount(input);
    if (!v.ok) return;
    count = v.value;
  }

  let mode = 'extend' as StartMode;
  if (current.state === 'readonly') {
    void vscode.window.showWarningMessage(`Tangent Numbers: ${current.message ?? 'this job is read-only in this window'}`);
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
        items.push({ label: '$(debug-continue) Continue', description: `resume the stored job at term ${current.done + 1} of ${current.target}`, mode: 'continue' });
      }
      if (count > current.target) {
        items.push({ label: `$(arrow-right) Extend to ${count}`, description: `keep the ${current.done} finished terms and compute up to ${count}`, mode: 'extend' });
      }
      items.push({ label: '$(discard) Start over', description: `archive the ${current.done} stored terms and compute ${count} from the beginning`, mode: 'restart' });
      const pick = await vscode.window.showQuickPick(items, { title: 'Tangent Numbers: this workspace already has a job', placeHolder: 'What should happen to it?' });
      if (!pick) return;
      mode = pick.mode;
      if (mode === 'restart') {
        const ok = await vscode.window.showWarningMessage(
          `Start over with ${count} terms? The ${current.done} stored terms are archived in the extension's storage, not deleted.`,
          { modal: true },
          'Start Over',
        );
        if (ok !== 'Start Over') return;
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
    void vscode.window.showErrorMessage(`Tangent Numbers: cannot read ${archiveDir}: ${(e as Error).message}`);
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
    void vscode.window.showWarningMessage(`Tangent Numbers: there are no finished terms to export${archived ? ' in this archive' : ' yet'}.`);
    return undefined;
  }
  const a = isRecord(args) ? args : {};

  let format: ExportFormat;
  if (a.format !== undefined) {
    if (!isExportFormat(a.format)) {
      void vscode.window.showErrorMessage(`Tangent Numbers: unknown export format; use one of ${FORMATS.join(', ')}.`);
      return undefined;
    }
    format = a.format;
  } else {
    const pick = await vscode.window.showQuickPick(
      FORMATS.map((f) => ({ label: FORMAT_LABELS[f].label, description: FORMAT_LABELS[f].description, format: f })),
      { title: 'Tangent Numbers: Export — format' },
    );
    if (!pick) return undefined;
    format = pick.format;
  }

  let from = 1;
  let to = available;
  if (a.from !== undefined || a.to !== undefined) {
    if ((a.from !== undefined && !isIntegerIn(a.from, 1, available)) || (a.to !== undefined && !isIntegerIn(a.to, 1, available))) {
      void vscode.window.showErrorMessage(`Tangent Numbers: the export range must lie within 1..${available}.`);
      return undefined;
    }
    from = (a.from as number | undefined) ?? 1;
    to = (a.to as number | undefined) ?? available;
    if (from > to) {
      void vscode.window.showErrorMessage('Tangent Numbers: the export range is empty (from > to).');
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
    void vscode.window.showErrorMessage('Tangent Numbers: the export file must be a path.');
    return undefined;
  } else {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const name = format === 'bfile' ? 'b000182.txt' : `A000182.${FORMAT_LABELS[format].extension}`;
    const uri = await vscode.window.showSaveDialog({
      title: 'Tangent Numbers: Export',
      defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined,
      filters: { [FORMAT_LABELS[format].label]: [FORMAT_LABELS[format].extension] },
    });
    if (!uri) return undefined;
    if (uri.scheme !== 'file') {
      void vscode.window.showErrorMessage('Tangent Numbers: export can only write to files on this machine.');
      return undefined;
    }
    file = uri.fsPath;
  }

  const partial = !archived && view.state === 'running' && to >= available;
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Exporting T(${from}..${to})`, cancellable: true },
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
            progress.report({ increment: pct - last, message: `${written} of ${to - from + 1} terms` });
            last = pct;
          },
        });
      } catch (e) {
        const msg = e instanceof ExportError ? e.message : `export failed: ${(e as Error).message}`;
        void vscode.window.showErrorMessage(`Tangent Numbers: ${msg}`);
        return undefined;
      }
    },
  );
  if (!result) return undefined;
  const note = partial ? ` The job is still running: this is the finished prefix (${result.terms} of ${view.target} terms).` : '';
  const cleaned = result.abandonedTempsRemoved ? ` Removed ${result.abandonedTempsRemoved} temporary file(s) an interrupted export had left beside it.` : '';
  void vscode.window.showInformationMessage(`Tangent Numbers: exported ${result.terms} terms to ${result.file}.${note}${cleaned}`);
  return { file: result.file, terms: result.terms };
}

async function pickRange(available: number): Promise<[number, number] | undefined> {
  const pick = await vscode.window.showQuickPick(
    [
      { label: `All ${available} finished terms`, id: 'all' },
      { label: 'First k terms…', id: 'first' },
      { label: 'From n to m…', id: 'range' },
    ],
    { title: 'Tangent Numbers: Export — which terms?' },
  );
  if (!pick) return undefined;
  if (pick.id === 'all') return [1, available];
  if (pick.id === 'first') {
    const k = await vscode.window.showInputBox({
      title: 'Export the first k terms',
      prompt: `k from 1 to ${available}`,
      validateInput: (t) => (isIntegerIn(Number(t), 1, available) && /^\d+$/.test(t.trim()) ? undefined : `a whole number from 1 to ${available}`),
    });
    return k === undefined ? undefined : [1, Number(k)];
  }
  const r = await vscode.window.showInputBox({
    title: 'Export terms n..m',
    prompt: `two whole numbers within 1..${available}, e.g. 100..200`,
    validateInput: (t) => (parseRange(t, available) ? undefined : `write n..m with 1 ≤ n ≤ m ≤ ${available}`),
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
