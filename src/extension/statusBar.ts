// The status bar item: short while running, hidden when there is no job, click shows the terms. A finished
// job's item hides a while after it is done (unless tangentNumbers.statusBar.keepAfterDone) and comes back
// with the next job.
import * as vscode from 'vscode';
import type { JobView } from '../common/protocol';
import { Disposable } from './disposable';
import { percent } from '../common/format';
import { formatBytes, formatDuration, formatTook, hostNumbers, spokenDuration } from './format';

/** How long a finished job's item stays in the status bar. */
export const STATUS_HIDE_AFTER_DONE_MS = 10_000;

export class JobStatusBar extends Disposable {
  static readonly id = 'tangentNumbers.status';
  private readonly item: vscode.StatusBarItem;
  private hideTimer: NodeJS.Timeout | undefined;
  /** The item was hidden after done: it stays hidden until the job is no longer done. */
  private hiddenAfterDone = false;

  constructor(
    onDidChange: vscode.Event<JobView>,
    initial: JobView,
    private readonly keepAfterDone: () => boolean,
  ) {
    super();
    this.register({ dispose: () => clearTimeout(this.hideTimer) });
    this.item = this.register(vscode.window.createStatusBarItem(JobStatusBar.id, vscode.StatusBarAlignment.Left, 50));
    this.item.name = vscode.l10n.t('Tangent Numbers');
    this.item.command = 'tangentNumbers.showTerms';
    this.register(onDidChange((v) => this.render(v)));
    this.render(initial);
  }

  private render(v: JobView): void {
    if (v.state !== 'done') {
      clearTimeout(this.hideTimer);
      this.hideTimer = undefined;
      this.hiddenAfterDone = false;
    }
    if (v.state === 'none' || this.hiddenAfterDone) {
      this.item.hide();
      return;
    }
    if (v.state === 'done' && !this.hideTimer && !this.keepAfterDone()) {
      this.hideTimer = setTimeout(() => {
        this.hiddenAfterDone = true;
        this.item.hide();
      }, STATUS_HIDE_AFTER_DONE_MS);
    }
    const pct = percent(v.done, v.target);
    // The text stays short (codicon, counts, state); the spoken label and the tooltip say it in full.
    const counts = vscode.l10n.t('T {0}/{1}', v.done, v.target);
    let text: string;
    let spoken: string;
    let stateName: string;
    switch (v.state) {
      case 'running':
        text = `$(sync~spin) ${counts} · ${pct}% · ${formatDuration(v.etaSeconds)}`;
        spoken = vscode.l10n.t('Tangent numbers running: {0} of {1} terms, {2} percent, about {3} left', v.done, v.target, pct, spokenDuration(v.etaSeconds));
        stateName = vscode.l10n.t('running');
        break;
      case 'paused':
        text = `$(debug-pause) ${counts} · ${vscode.l10n.t('paused')}`;
        spoken = vscode.l10n.t('Tangent numbers paused at {0} of {1} terms', v.done, v.target);
        stateName = vscode.l10n.t('paused');
        break;
      case 'cancelled':
        text = `$(debug-pause) ${counts} · ${vscode.l10n.t('cancelled')}`;
        spoken = vscode.l10n.t('Tangent numbers cancelled at {0} of {1} terms', v.done, v.target);
        stateName = vscode.l10n.t('cancelled');
        break;
      case 'done':
        text = `$(check) ${vscode.l10n.t('T {0} · done', v.done)}`;
        spoken = vscode.l10n.t('Tangent numbers done: {0} terms', v.done);
        stateName = vscode.l10n.t('done');
        break;
      case 'readonly':
        text = `$(lock) ${counts} · ${pct}%`;
        spoken = vscode.l10n.t('Tangent numbers computed by another window or process: {0} of {1} terms, read-only here', v.done, v.target);
        stateName = vscode.l10n.t('read-only');
        break;
      case 'error':
        text = `$(error) ${counts} · ${vscode.l10n.t('error')}`;
        spoken = vscode.l10n.t('Tangent numbers stopped with an error at {0} of {1} terms', v.done, v.target);
        stateName = vscode.l10n.t('error');
        break;
    }
    this.item.text = text;
    this.item.accessibilityInformation = { label: spoken, role: 'button' };
    this.item.backgroundColor = v.state === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    const tip = new vscode.MarkdownString(undefined, true);
    // Each paragraph is one message (Markdown included: a translation keeps its emphasis).
    const paragraph = (markdown: string) => tip.appendMarkdown(`${markdown}\n\n`);
    paragraph(vscode.l10n.t('**Tangent numbers** — {0}', stateName));
    paragraph(vscode.l10n.t('{0} of {1} terms ({2}%)', v.done, v.target, pct));
    if (v.state === 'running') {
      paragraph(vscode.l10n.t('Rate: {0} terms/s · ETA {1}', hostNumbers().fixed1(v.termsPerSecond), formatDuration(v.etaSeconds)));
      paragraph(vscode.l10n.t('Elapsed: {0}', formatDuration(v.elapsedMs / 1000)));
    }
    if (v.state === 'done' && v.elapsedMs > 0) paragraph(vscode.l10n.t('The job {0}', formatTook(v.elapsedMs, v.runs ?? 0, v.done)));
    if (v.lastCheckpointAt !== null) paragraph(vscode.l10n.t('Last checkpoint: {0} ago', formatDuration((Date.now() - v.lastCheckpointAt) / 1000)));
    if (v.bytesStored > 0) paragraph(vscode.l10n.t('Stored: {0}', formatBytes(v.bytesStored)));
    if (v.message) tip.appendText(v.message);
    // Read-only: the message says who holds the job; the way out is a command.
    if (v.state === 'readonly') tip.appendMarkdown(`\n\n${vscode.l10n.t('Command: **Tangent Numbers: Take Over Job**.')}`);
    tip.appendMarkdown(`\n\n${vscode.l10n.t('Click to show the terms.')}`);
    this.item.tooltip = tip;
    this.item.show();
  }
}
