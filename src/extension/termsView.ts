// The "Terms" side-panel webview: the job as a notebook-like cell plus a virtualized table of the terms.
// The host never sends all terms: the webview asks for pages of row summaries and for single full values.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { NO_VALUE } from '../common/format';
import { TERMS_PAGE_LIMIT, parseFromWebview, summarizeTerm, type FromWebview, type JobView, type ToWebview } from '../common/protocol';
import { VIEW_CONFIG_ELEMENT_ID, type ViewConfig, type ViewStrings } from '../common/viewStrings';
import { Disposable } from './disposable';
import { failureAdvice } from './failureText';
import { tookTexts } from './format';
import type { JobController } from './jobController';

/** At most this many messages of one kind per second reach the webview (job updates, new counts). */
const UPDATES_PER_SECOND = 4;
/** Reads queued beyond this are refused (a well-behaved webview keeps a few in flight). */
const MAX_QUEUED_READS = 16;
const MAX_MALFORMED_LOGGED = 50;
/** Likewise for requests refused because too many are pending (only a misbehaving webview gets there). */
const MAX_REFUSED_LOGGED = 50;

/** Leading + trailing throttle: runs at once when idle, else once at the end of the interval. */
class Throttle implements vscode.Disposable {
  private last = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly run: () => void,
  ) {}

  trigger(): void {
    if (this.timer) return;
    const wait = this.last + this.intervalMs - Date.now();
    if (wait <= 0) {
      this.fire();
      return;
    }
    this.timer = setTimeout(() => this.fire(), wait);
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private fire(): void {
    this.timer = undefined;
    this.last = Date.now();
    this.run();
  }

  dispose(): void {
    this.cancel();
  }
}

export class TermsViewProvider extends Disposable implements vscode.WebviewViewProvider {
  static readonly viewType = 'tangentNumbers.terms';

  private view: vscode.WebviewView | undefined;
  private viewSubscriptions: vscode.Disposable[] = [];
  /** Stored terms as last known (commit events); re-read from the store on every `ready` and `getRows`. */
  private count = 0;
  /** Bumped when the stored terms are replaced: reads started before a reset are not answered. */
  private epoch = 0;
  /** Store reads run one at a time, in order. */
  private reads: Promise<void> = Promise.resolve();
  private queuedReads = 0;
  /** Malformed messages logged so far (a misbehaving webview must not flood the log). */
  private malformed = 0;
  /** Requests refused for too many pending ones, so far (logged up to MAX_REFUSED_LOGGED). */
  private refused = 0;

  private readonly jobUpdates = this.register(
    new Throttle(1000 / UPDATES_PER_SECOND, () => {
      const job = this.controller.current;
      this.post({ type: 'job', job, advice: adviceFor(job), now: Date.now() });
    }),
  );
  private readonly countUpdates = this.register(new Throttle(1000 / UPDATES_PER_SECOND, () => this.post({ type: 'count', count: this.count })));

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly controller: JobController,
    private readonly log: vscode.LogOutputChannel,
  ) {
    super();
    this.register(controller.onDidChange(() => this.jobUpdates.trigger()));
    this.register(
      controller.onDidCommit(({ to }) => {
        if (to <= this.count) return;
        this.count = to;
        this.countUpdates.trigger();
      }),
    );
    this.register(
      controller.onDidReset(() => {
        this.epoch++;
        this.count = 0;
        this.countUpdates.cancel();
        this.post({ type: 'reset' });
      }),
    );
    this.register({ dispose: () => this.releaseView() });
  }

  resolveWebviewView(webviewView: vscode.WebviewView): void {
    if (this.isDisposed) return;
    this.releaseView();
    this.view = webviewView;
    const webview = webviewView.webview;
    webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist'), vscode.Uri.joinPath(this.extensionUri, 'media')],
    };
    webview.html = this.html(webview);
    this.viewSubscriptions.push(
      webview.onDidReceiveMessage((m: unknown) => this.onMessage(webviewView, m)),
      webviewView.onDidDispose(() => {
        if (this.view === webviewView) this.releaseView();
      }),
    );
  }

  private releaseView(): void {
    this.view = undefined;
    for (const d of this.viewSubscriptions.splice(0)) d.dispose();
  }

  /** Posts to the current view; a no-op when there is none, after dispose, or when the view was replaced. */
  private post(msg: ToWebview, to?: vscode.WebviewView): void {
    const view = this.view;
    if (this.isDisposed || !view || (to && to !== view)) return;
    try {
      void Promise.resolve(view.webview.postMessage(msg)).then(undefined, () => undefined);
    } catch {
      // The webview went away between the check and the call.
    }
  }

  private onMessage(from: vscode.WebviewView, raw: unknown): void {
    const msg = parseFromWebview(raw);
    if (!msg) {
      this.malformed++;
      if (this.malformed <= MAX_MALFORMED_LOGGED) this.log.warn(`terms view: ignored a malformed message ${preview(raw)}`);
      if (this.malformed === MAX_MALFORMED_LOGGED) this.log.warn('terms view: further malformed messages are ignored without logging');
      return;
    }
    try {
      this.handle(from, msg);
    } catch (e) {
      this.log.warn(`terms view: ${msg.type} failed: ${(e as Error).message}`);
    }
  }

  private handle(from: vscode.WebviewView, msg: FromWebview): void {
    switch (msg.type) {
      case 'ready':
        this.enqueue('ready', async (epoch) => {
          const count = await this.storedCount();
          if (epoch !== this.epoch) return;
          this.count = Math.max(this.count, count);
          const job = this.controller.current;
          this.post({ type: 'init', job, advice: adviceFor(job), count: this.count, now: Date.now() }, from);
        });
        break;
      case 'getRows':
        this.enqueue('getRows', async (epoch) => {
          const available = await this.storedCount();
          const to = Math.min(msg.to, available, msg.from + TERMS_PAGE_LIMIT - 1);
          const terms = to >= msg.from ? await (await this.controller.reader()).readRange(msg.from, to) : [];
          if (epoch !== this.epoch) return;
          if (available > this.count) this.count = available;
          this.post({ type: 'rows', from: msg.from, to: msg.to, count: available, rows: terms.map((t) => summarizeTerm(t.n, t.digits)) }, from);
        });
        break;
      case 'getTerm':
        this.enqueue('getTerm', async (epoch) => {
          const value = await this.readTerm(msg.n);
          if (epoch !== this.epoch) return;
          this.post({ type: 'term', n: msg.n, value }, from);
        });
        break;
      case 'copy':
        this.enqueue('copy', async () => {
          const value = await this.readTerm(msg.n);
          if (value !== null) await vscode.env.clipboard.writeText(value);
          this.post({ type: 'copied', n: msg.n, ok: value !== null }, from);
        });
        break;
      case 'command': {
        const id = `tangentNumbers.${msg.command}`;
        void vscode.commands.executeCommand(id).then(undefined, (e: unknown) => this.log.warn(`terms view: ${id} failed: ${(e as Error).message}`));
        break;
      }
    }
  }

  /** Runs store reads one after another; a failure is logged, never thrown to the message loop. */
  private enqueue(what: FromWebview['type'], read: (epoch: number) => Promise<void>): void {
    if (what !== 'ready' && this.queuedReads >= MAX_QUEUED_READS) {
      this.refused++;
      if (this.refused <= MAX_REFUSED_LOGGED) this.log.warn(`terms view: too many pending requests; ignored ${what}`);
      if (this.refused === MAX_REFUSED_LOGGED) this.log.warn('terms view: further requests refused for too many pending ones are ignored without logging');
      return;
    }
    this.queuedReads++;
    const epoch = this.epoch;
    this.reads = this.reads
      .then(() => (this.isDisposed ? undefined : read(epoch)))
      .catch((e: unknown) => this.log.warn(`terms view: ${what} failed: ${(e as Error).message}`))
      .finally(() => this.queuedReads--);
  }

  private async storedCount(): Promise<number> {
    try {
      return await (await this.controller.reader()).count();
    } catch (e) {
      this.log.warn(`terms view: cannot read the stored terms: ${(e as Error).message}`);
      return 0;
    }
  }

  /** T(n) if it is stored (n is a validated integer ≥ 1; the range is clamped to the stored count). */
  private async readTerm(n: number): Promise<string | null> {
    const available = await this.storedCount();
    if (n > available) return null;
    const [term] = await (await this.controller.reader()).readRange(n, n);
    return term?.n === n ? term.digits : null;
  }

  private html(webview: vscode.Webview): string {
    const nonce = randomBytes(18).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'media', 'terms.css'));
    const csp = [
      "default-src 'none'",
      `style-src ${webview.cspSource}`,
      `script-src 'nonce-${nonce}'`,
      `img-src ${webview.cspSource} data:`,
      `font-src ${webview.cspSource}`,
    ].join('; ');
    const config: ViewConfig = { locale: vscode.env.language, strings: viewStrings() };
    // The skeleton is static and complete, so the first paint needs no script; main.ts fills it in. The script's
    // texts and the editor's language come with it as a JSON data block (not run, so the CSP needs no change).
    return `<!DOCTYPE html>
<html lang="${escapeHtml(vscode.env.language)}">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}">
<title>${escapeHtml(vscode.l10n.t('Tangent Numbers'))}</title>
</head>
<body>
<section class="cell" id="cell" aria-label="${escapeHtml(vscode.l10n.t('Tangent numbers job'))}">
  <div class="cell-head">
    <span class="state" id="job-state" data-state="none">${escapeHtml(vscode.l10n.t('Loading…'))}</span>
    <span class="counts" id="job-counts"></span>
  </div>
  <div class="progress" id="progress" role="progressbar" aria-label="${escapeHtml(vscode.l10n.t('Terms computed'))}" aria-valuemin="0" aria-valuemax="0" aria-valuenow="0"><div class="progress-fill" id="progress-fill"></div></div>
  <dl class="stats">
    <div><dt>${escapeHtml(vscode.l10n.t('Rate'))}</dt><dd id="stat-rate">${NO_VALUE}</dd></div>
    <div><dt>${escapeHtml(vscode.l10n.t('Elapsed'))}</dt><dd id="stat-elapsed">${NO_VALUE}</dd></div>
    <div><dt>${escapeHtml(vscode.l10n.t('ETA'))}</dt><dd id="stat-eta">${NO_VALUE}</dd></div>
    <div><dt>${escapeHtml(vscode.l10n.t('Checkpoint'))}</dt><dd id="stat-checkpoint">${NO_VALUE}</dd></div>
  </dl>
  <p class="message" id="job-message" hidden></p>
  <div class="actions" role="toolbar" aria-label="${escapeHtml(vscode.l10n.t('Job actions'))}">
    <button type="button" class="btn" id="btn-pause" disabled>${escapeHtml(vscode.l10n.t('Pause'))}</button>
    <button type="button" class="btn" id="btn-resume" disabled>${escapeHtml(vscode.l10n.t('Resume'))}</button>
    <button type="button" class="btn secondary" id="btn-cancel" disabled>${escapeHtml(vscode.l10n.t('Cancel'))}</button>
    <button type="button" class="btn secondary" id="btn-extend" disabled>${escapeHtml(vscode.l10n.t('Extend…'))}</button>
    <button type="button" class="btn secondary" id="btn-export" disabled>${escapeHtml(vscode.l10n.t('Export…'))}</button>
  </div>
</section>
<section class="empty" id="empty" hidden>
  <p>${escapeHtml(vscode.l10n.t('No Tangent numbers computed in this workspace yet.'))}</p>
  <button type="button" class="btn" id="btn-compute">${escapeHtml(vscode.l10n.t('Compute…'))}</button>
</section>
<div class="live sr-only" id="announcer" aria-live="polite" aria-atomic="true"></div>
<div class="toolbar" id="table-toolbar">
  <label for="jump">${escapeHtml(vscode.l10n.t('Jump to n'))}</label>
  <input id="jump" type="text" inputmode="numeric" autocomplete="off" spellcheck="false" aria-describedby="jump-hint">
  <button type="button" class="btn secondary" id="btn-jump">${escapeHtml(vscode.l10n.t('Go'))}</button>
  <span class="hint" id="jump-hint"></span>
</div>
<div class="scroller" id="scroller" tabindex="-1">
  <table class="terms" id="terms" aria-label="${escapeHtml(vscode.l10n.t('Tangent numbers T(n)'))}" aria-rowcount="1">
    <colgroup><col class="col-n"><col class="col-digits"><col class="col-value"></colgroup>
    <thead><tr aria-rowindex="1"><th scope="col" class="c-n">${escapeHtml(vscode.l10n.t('n'))}</th><th scope="col" class="c-digits">${escapeHtml(vscode.l10n.t('digits'))}</th><th scope="col" class="c-value">${escapeHtml(vscode.l10n.t('T(n)'))}</th></tr></thead>
    <tbody id="rows"><tr class="spacer" id="spacer-top" aria-hidden="true"><td colspan="3"></td></tr><tr class="spacer" id="spacer-bottom" aria-hidden="true"><td colspan="3"></td></tr></tbody>
  </table>
  <p class="table-empty" id="table-empty" hidden>${escapeHtml(vscode.l10n.t('Terms appear here as they finish.'))}</p>
</div>
<script type="application/json" id="${VIEW_CONFIG_ELEMENT_ID}" nonce="${nonce}">${jsonForScript(config)}</script>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
  }
}

/** The failure advice the view shows after an error's message ('' unless the job failed). */
function adviceFor(job: JobView): string {
  return job.state === 'error' ? failureAdvice(job.failureCode) : '';
}

/**
 * Every text of the view's script, in the editor's language (see ViewStrings for what each is). Each field is one
 * vscode.l10n.t call on its English text, so `@vscode/l10n-dev export` finds them all.
 */
export function viewStrings(): ViewStrings {
  return {
    ...tookTexts(),
    stateNone: vscode.l10n.t('No job'),
    stateRunning: vscode.l10n.t('Running'),
    statePaused: vscode.l10n.t('Paused'),
    stateCancelled: vscode.l10n.t('Cancelled'),
    stateDone: vscode.l10n.t('Done'),
    stateError: vscode.l10n.t('Error'),
    stateReadonly: vscode.l10n.t('Read-only'),
    countsOfTarget: vscode.l10n.t('{0} / {1} terms'),
    countsDone: vscode.l10n.t('{0} terms'),
    progressValue: vscode.l10n.t('{0} of {1} terms ({2}%)'),
    finished: vscode.l10n.t('Finished: {0}.'),
    etaDone: vscode.l10n.t('done'),
    checkpointAgo: vscode.l10n.t('{0} ago'),
    announceStarted: vscode.l10n.t('Computation started: {0} terms.'),
    announceResumed: vscode.l10n.t('Computation resumed at {0} of {1} terms.'),
    announcePaused: vscode.l10n.t('Paused at {0} of {1} terms.'),
    announceCancelled: vscode.l10n.t('Cancelled at {0} of {1} terms.'),
    announceDone: vscode.l10n.t('Done: {0} terms computed.'),
    announceError: vscode.l10n.t('Error: {0}. {1}'),
    announceErrorUnknown: vscode.l10n.t('the job failed'),
    announceReadonly: vscode.l10n.t('Another window or process is computing this job; shown read-only.'),
    announceNone: vscode.l10n.t('No job.'),
    announceProgress: vscode.l10n.t('{0}% — {1} of {2} terms.'),
    rowToggleTitle: vscode.l10n.t('Expand or collapse (Enter)'),
    rowCopyTitle: vscode.l10n.t('Copy T({0}) (c)'),
    detailCopy: vscode.l10n.t('Copy'),
    detailCollapse: vscode.l10n.t('Collapse'),
    detailCopyTitle: vscode.l10n.t('Copy all digits of T({0})'),
    detailValueLabel: vscode.l10n.t('All digits of T({0})'),
    detailTitle: vscode.l10n.t('T({0})'),
    detailTitleOneDigit: vscode.l10n.t('T({0}) · 1 digit'),
    detailTitleDigits: vscode.l10n.t('T({0}) · {1} digits'),
    detailLoading: vscode.l10n.t('Loading…'),
    detailMissing: vscode.l10n.t('This term is not stored.'),
    expandLimit: vscode.l10n.t('At most {0} rows can be expanded.'),
    copiedOneDigit: vscode.l10n.t('Copied T({0}) (1 digit).'),
    copiedDigits: vscode.l10n.t('Copied T({0}) ({1} digits).'),
    copiedTerm: vscode.l10n.t('Copied T({0}).'),
    copyFailed: vscode.l10n.t('Could not copy T({0}).'),
    termUnavailable: vscode.l10n.t('T({0}) is not available.'),
    jumpNoTerms: vscode.l10n.t('No terms yet.'),
    jumpInvalid: vscode.l10n.t('Type a whole number from 1 to {0}.'),
    jumpBeyond: vscode.l10n.t('T({0}) is not computed yet; showing T({1}).'),
    jumpPlaceholder: vscode.l10n.t('1–{0}'),
  };
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for an HTML text node or a quoted attribute (a translation may hold any character). */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/** JSON that cannot end its <script> element early: every '<' (as in a "</script>" inside a translation) becomes
 *  \u003c, which JSON.parse reads back as '<'. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** A short, safe rendering of an untrusted message for the log. */
function preview(raw: unknown): string {
  try {
    const text = JSON.stringify(raw) ?? String(raw);
    return text.length > 200 ? `${text.slice(0, 200)}…` : text;
  } catch {
    return `(${typeof raw})`;
  }
}
