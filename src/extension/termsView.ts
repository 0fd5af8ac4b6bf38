// The "Terms" side-panel webview: the job as a notebook-like cell plus a virtualized table of the terms.
// The host never sends all terms: the webview asks for pages of row summaries and for single full values.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { TERMS_PAGE_LIMIT, parseFromWebview, summarizeTerm, type FromWebview, type ToWebview } from '../common/protocol';
import { Disposable } from './disposable';
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
    new Throttle(1000 / UPDATES_PER_SECOND, () => this.post({ type: 'job', job: this.controller.current, now: Date.now() })),
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
          this.post({ type: 'init', job: this.controller.current, count: this.count, now: Date.now() }, from);
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
    // The skeleton is static and complete, so the first paint needs no script; main.ts fills it in.
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<title>Tangent Numbers</title>
</head>
<body>
<section class="cell" id="cell" aria-label="Tangent numbers job">
  <div class="cell-head">
    <span class="state" id="job-state" data-state="none">Loading…</span>
    <span class="counts" id="job-counts"></span>
  </div>
  <div class="progress" id="progress" role="progressbar" aria-label="Terms computed" aria-valuemin="0" aria-valuemax="0" aria-valuenow="0"><div class="progress-fill" id="progress-fill"></div></div>
  <dl class="stats">
    <div><dt>Rate</dt><dd id="stat-rate">—</dd></div>
    <div><dt>Elapsed</dt><dd id="stat-elapsed">—</dd></div>
    <div><dt>ETA</dt><dd id="stat-eta">—</dd></div>
    <div><dt>Checkpoint</dt><dd id="stat-checkpoint">—</dd></div>
  </dl>
  <p class="message" id="job-message" hidden></p>
  <div class="actions" role="toolbar" aria-label="Job actions">
    <button type="button" class="btn" id="btn-pause" disabled>Pause</button>
    <button type="button" class="btn" id="btn-resume" disabled>Resume</button>
    <button type="button" class="btn secondary" id="btn-cancel" disabled>Cancel</button>
    <button type="button" class="btn secondary" id="btn-extend" disabled>Extend…</button>
    <button type="button" class="btn secondary" id="btn-export" disabled>Export…</button>
  </div>
</section>
<section class="empty" id="empty" hidden>
  <p>No Tangent numbers computed in this workspace yet.</p>
  <button type="button" class="btn" id="btn-compute">Compute…</button>
</section>
<div class="live sr-only" id="announcer" aria-live="polite" aria-atomic="true"></div>
<div class="toolbar" id="table-toolbar">
  <label for="jump">Jump to n</label>
  <input id="jump" type="text" inputmode="numeric" autocomplete="off" spellcheck="false" aria-describedby="jump-hint">
  <button type="button" class="btn secondary" id="btn-jump">Go</button>
  <span class="hint" id="jump-hint"></span>
</div>
<div class="scroller" id="scroller" tabindex="-1">
  <table class="terms" id="terms" aria-label="Tangent numbers T(n)" aria-rowcount="1">
    <colgroup><col class="col-n"><col class="col-digits"><col class="col-value"></colgroup>
    <thead><tr aria-rowindex="1"><th scope="col" class="c-n">n</th><th scope="col" class="c-digits">digits</th><th scope="col" class="c-value">T(n)</th></tr></thead>
    <tbody id="rows"><tr class="spacer" id="spacer-top" aria-hidden="true"><td colspan="3"></td></tr><tr class="spacer" id="spacer-bottom" aria-hidden="true"><td colspan="3"></td></tr></tbody>
  </table>
  <p class="table-empty" id="table-empty" hidden>Terms appear here as they finish.</p>
</div>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
  }
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
