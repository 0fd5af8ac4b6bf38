// The status bar item: short while running, hidden when there is no job, click shows the terms. A finished
// job's item hides a while after it is done (unless tangentNumbers.statusBar.keepAfterDone) and comes back
// with the next job.
import * as vscode from 'vscode';
import type { JobView } from '../common/protocol';
import { Disposable } from './disposable';
import { percent } from '../common/format';
import { formatBytes, formatDuration, formatTook, spokenDuration } from './format';

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
    this.item.name = 'Tangent Numbers';
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
    const counts = `T ${v.done}/${v.target}`;
    let text: string;
    let spoken: string;
    switch (v.state) {
      case 'running':
        text = `$(sync~spin) ${counts} · ${pct}% · ${formatDuration(v.etaSeconds)}`;
        spoken = `Tangent numbers running: ${v.done} of ${v.target} terms, ${pct} percent, about ${spokenDuration(v.etaSeconds)} left`;
        break;
      case 'paused':
      case 'cancelled':
        text = `$(debug-pause) ${counts} · ${v.state}`;
        spoken = `Tangent numbers ${v.state} at ${v.done} of ${v.target} terms`;
        break;
      case 'done':
        text = `$(check) T ${v.done} · done`;
        spoken = `Tangent numbers done: ${v.done} terms`;
        break;
      case 'readonly':
        text = `$(lock) ${counts} · ${pct}%`;
        spoken = `Tangent numbers computed by another window or process: ${v.done} of ${v.target} terms, read-only here`;
        break;
      case 'error':
        text = `$(error) ${counts} · error`;
        spoken = `Tangent numbers stopped with an error at ${v.done} of ${v.target} terms`;
        break;
    }
    this.item.text = text;
    this.item.accessibilityInformation = { label: spoken, role: 'button' };
    this.item.backgroundColor = v.state === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    const tip = new vscode.MarkdownString(undefined, true);
    tip.appendMarkdown(`**Tangent numbers** — ${v.state === 'readonly' ? 'read-only' : v.state}\n\n`);
    tip.appendMarkdown(`${v.done} of ${v.target} terms (${pct}%)\n\n`);
    if (v.state === 'running') {
      tip.appendMarkdown(`Rate: ${v.termsPerSecond.toFixed(1)} terms/s · ETA ${formatDuration(v.etaSeconds)}\n\n`);
      tip.appendMarkdown(`Elapsed: ${formatDuration(v.elapsedMs / 1000)}\n\n`);
    }
    if (v.state === 'done' && v.elapsedMs > 0) tip.appendMarkdown(`The job ${formatTook(v.elapsedMs, v.runs ?? 0, v.done)}\n\n`);
    if (v.lastCheckpointAt !== null) tip.appendMarkdown(`Last checkpoint: ${formatDuration((Date.now() - v.lastCheckpointAt) / 1000)} ago\n\n`);
    if (v.bytesStored > 0) tip.appendMarkdown(`Stored: ${formatBytes(v.bytesStored)}\n\n`);
    if (v.message) tip.appendText(v.message);
    // Read-only: the message says who holds the job; the way out is a command.
    if (v.state === 'readonly') tip.appendMarkdown('\n\nCommand: **Tangent Numbers: Take Over Job**.');
    tip.appendMarkdown('\n\nClick to show the terms.');
    this.item.tooltip = tip;
    this.item.show();
  }
}
