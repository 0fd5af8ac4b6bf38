// Short human texts of the extension host (status bar, notifications, the finished job's summary), in the
// editor's language: templates from vscode.l10n, numbers as vscode.env.language writes them. The pure helpers
// behind them, shared with the Terms view, are in ../common/format.
import * as vscode from 'vscode';
import { NumberFormat, formatBytes as bytesText, formatDuration as durationText, formatTook as tookText, type DurationTexts, type TookTexts } from '../common/format';
import { byteTexts } from '../common/l10n';

// The display language is fixed for a session (VS Code restarts to change it): build these once.
let numbers: NumberFormat | undefined;
let took: TookTexts | undefined;

/** Numbers in the editor's display language. */
export function hostNumbers(): NumberFormat {
  return (numbers ??= new NumberFormat(vscode.env.language));
}

/** Duration templates ("{0}s", "{0}m {1}s", "{0}h {1}m"), localized. */
export function durationTexts(): DurationTexts {
  return {
    durationSeconds: vscode.l10n.t('{0}s'),
    durationMinutes: vscode.l10n.t('{0}m {1}s'),
    durationHours: vscode.l10n.t('{0}h {1}m'),
  };
}

/** The templates of a finished job's summary and of rates, localized (also sent to the Terms view). */
export function tookTexts(): TookTexts {
  return {
    ...durationTexts(),
    rate: vscode.l10n.t('{0} terms/s'),
    took: vscode.l10n.t('took {0}'),
    tookRate: vscode.l10n.t('took {0}, {2}'),
    tookOneRun: vscode.l10n.t('took {0} over 1 run'),
    tookOneRunRate: vscode.l10n.t('took {0} over 1 run, {2}'),
    tookRuns: vscode.l10n.t('took {0} over {1} runs'),
    tookRunsRate: vscode.l10n.t('took {0} over {1} runs, {2}'),
  };
}

/** "45s", "1m 20s", "2h 5m"; "—" when unknown. */
export function formatDuration(seconds: number | null): string {
  return durationText(seconds, (took ??= tookTexts()), hostNumbers());
}

/** Spoken form for screen readers ("1 minute 20 seconds"). */
export function spokenDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return vscode.l10n.t('unknown time');
  const nf = hostNumbers();
  const s = Math.max(0, Math.round(seconds));
  const parts: string[] = [];
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h) parts.push(h === 1 ? vscode.l10n.t('1 hour') : vscode.l10n.t('{0} hours', nf.plain(h)));
  if (m) parts.push(m === 1 ? vscode.l10n.t('1 minute') : vscode.l10n.t('{0} minutes', nf.plain(m)));
  if (sec || parts.length === 0) parts.push(sec === 1 ? vscode.l10n.t('1 second') : vscode.l10n.t('{0} seconds', nf.plain(sec)));
  return parts.join(' ');
}

/** "1.5 MB", in the editor's language. */
export function formatBytes(bytes: number): string {
  return bytesText(bytes, byteTexts(vscode.l10n), hostNumbers());
}

/** "took 1m 20s over 3 runs, 42 terms/s": what a finished job cost (compute time summed over its runs). */
export function formatTook(computeMs: number, runs: number, terms: number): string {
  return tookText(computeMs, runs, terms, (took ??= tookTexts()), hostNumbers());
}
