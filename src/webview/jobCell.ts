// The job, as a notebook-like cell above the table: its state, progress, rate, elapsed time, ETA, last
// checkpoint, a message (error, read-only, or what a finished job took) and its buttons; milestones are
// announced to screen readers. With no job and no terms, an empty state with a Compute button instead.
import { NO_VALUE, format, formatDuration, formatRate, formatTook, percent } from '../common/format';
import type { FromWebview, JobState, JobView, TermsViewCommand } from '../common/protocol';
import type { Announcer } from './announcer';
import { byId } from './dom';
import type { ViewText } from './viewConfig';

export interface JobCellDeps {
  text: ViewText;
  announcer: Announcer;
  post: (msg: FromWebview) => void;
  /** Terms stored. */
  count: () => number;
  /** The table's scroller and toolbar (shown or hidden with the job), and a way to render the table. */
  scroller: HTMLElement;
  toolbar: HTMLElement;
  renderTable: () => void;
}

export class JobCell {
  private readonly cell = byId('cell');
  private readonly stateBadge = byId('job-state');
  private readonly counts = byId('job-counts');
  private readonly progress = byId('progress');
  private readonly fill = byId('progress-fill');
  private readonly rate = byId('stat-rate');
  private readonly elapsed = byId('stat-elapsed');
  private readonly eta = byId('stat-eta');
  private readonly checkpoint = byId('stat-checkpoint');
  private readonly message = byId('job-message');
  private readonly pause = byId<HTMLButtonElement>('btn-pause');
  private readonly resume = byId<HTMLButtonElement>('btn-resume');
  private readonly cancel = byId<HTMLButtonElement>('btn-cancel');
  private readonly extend = byId<HTMLButtonElement>('btn-extend');
  private readonly export = byId<HTMLButtonElement>('btn-export');
  private readonly empty = byId('empty');
  private readonly compute = byId<HTMLButtonElement>('btn-compute');

  private job: JobView | undefined;
  /** What to do about the job's failure (from the host). */
  private advice = '';
  /** Local time the last job update arrived, and host clock minus local clock. */
  private receivedAt = 0;
  private clockSkew = 0;
  private announced: { state: JobState; decile: number } | undefined;
  /** The badge's text, by state. */
  private readonly stateNames: Record<JobState, string>;

  constructor(private readonly deps: JobCellDeps) {
    const { s } = deps.text;
    this.stateNames = {
      none: s.stateNone,
      running: s.stateRunning,
      paused: s.statePaused,
      cancelled: s.stateCancelled,
      done: s.stateDone,
      error: s.stateError,
      readonly: s.stateReadonly,
    };
  }

  /** The job's state ('none' until the host said). */
  get state(): JobState {
    return this.job?.state ?? 'none';
  }

  /** The buttons run commands; elapsed, ETA and checkpoint age advance every second. */
  wire(): void {
    const command = (c: TermsViewCommand) => () => this.deps.post({ type: 'command', command: c });
    this.pause.addEventListener('click', command('pause'));
    this.resume.addEventListener('click', command('resume'));
    this.cancel.addEventListener('click', command('cancel'));
    this.extend.addEventListener('click', command('compute'));
    this.export.addEventListener('click', command('export'));
    this.compute.addEventListener('click', command('compute'));
    window.setInterval(() => {
      if (document.visibilityState === 'visible') this.tick();
    }, 1000);
  }

  setJob(v: JobView, hostNow: number, advice: string): void {
    const previous = this.job;
    this.job = v;
    this.advice = typeof advice === 'string' ? advice : '';
    this.receivedAt = Date.now();
    if (Number.isFinite(hostNow)) this.clockSkew = hostNow - this.receivedAt;
    this.milestones(previous, v);
    this.render();
  }

  private milestones(previous: JobView | undefined, v: JobView): void {
    const { s, nf } = this.deps.text;
    const decile = Math.floor(percent(v.done, v.target) / 10);
    if (!this.announced || !previous) {
      this.announced = { state: v.state, decile };
      return;
    }
    const say = (text: string) => this.deps.announcer.say(text);
    const done = nf.int(v.done);
    const target = nf.int(v.target);
    if (v.state !== this.announced.state) {
      switch (v.state) {
        case 'running':
          say(v.done > 0 ? format(s.announceResumed, done, target) : format(s.announceStarted, target));
          break;
        case 'paused':
          say(format(s.announcePaused, done, target));
          break;
        case 'cancelled':
          say(format(s.announceCancelled, done, target));
          break;
        case 'done':
          say(format(s.announceDone, done));
          break;
        case 'error':
          say(format(s.announceError, v.message ?? s.announceErrorUnknown, this.advice).trim());
          break;
        case 'readonly':
          say(s.announceReadonly);
          break;
        case 'none':
          say(s.announceNone);
          break;
      }
      this.announced = { state: v.state, decile };
      return;
    }
    if (v.state === 'running' && decile > this.announced.decile && decile < 10) say(format(s.announceProgress, nf.plain(decile * 10), done, target));
    this.announced.decile = decile;
  }

  /** Shows the job (and the empty state, the toolbar and the table as the job and the count call for). */
  render(): void {
    const v = this.job;
    if (!v) return;
    const { s, nf } = this.deps.text;
    const count = this.deps.count();
    const none = v.state === 'none' && count === 0;
    this.empty.hidden = !none;
    this.cell.hidden = none;
    this.deps.toolbar.hidden = count === 0;
    this.deps.scroller.hidden = none;
    this.stateBadge.textContent = this.stateNames[v.state];
    this.stateBadge.dataset.state = v.state;
    this.counts.textContent = v.target > 0 ? format(s.countsOfTarget, nf.int(v.done), nf.int(v.target)) : format(s.countsDone, nf.int(v.done));
    const p = percent(v.done, v.target);
    this.progress.setAttribute('aria-valuemax', String(v.target));
    this.progress.setAttribute('aria-valuenow', String(Math.min(v.done, v.target)));
    this.progress.setAttribute('aria-valuetext', format(s.progressValue, nf.int(v.done), nf.int(v.target), nf.plain(p)));
    this.progress.dataset.state = v.state;
    this.fill.style.transform = `scaleX(${v.target > 0 ? Math.min(1, v.done / v.target) : 0})`;
    // Animate changes, not the first paint.
    if (!this.progress.classList.contains('animate')) requestAnimationFrame(() => this.progress.classList.add('animate'));
    // A finished job: its average rate, and what it took (compute time summed over its runs) as the message.
    const took = v.state === 'done' && v.elapsedMs > 0 ? formatTook(v.elapsedMs, v.runs ?? 0, v.done, s, nf) : '';
    this.rate.textContent =
      v.state === 'running' && v.termsPerSecond > 0
        ? formatRate(v.termsPerSecond, s.rate, nf)
        : took && v.done > 0
          ? formatRate(v.done / (v.elapsedMs / 1000), s.rate, nf)
          : NO_VALUE;
    const hasMessage = ((v.state === 'error' || v.state === 'readonly') && !!v.message) || took !== '';
    this.message.hidden = !hasMessage;
    this.message.textContent = took ? format(s.finished, took) : hasMessage ? v.message! : '';
    this.message.dataset.kind = v.state;
    this.tick();
    this.updateButtons();
    this.deps.renderTable();
  }

  /** Elapsed, ETA and checkpoint age advance locally between updates. */
  private tick(): void {
    const v = this.job;
    if (!v) return;
    const { s, nf } = this.deps.text;
    const since = Date.now() - this.receivedAt;
    const running = v.state === 'running';
    this.elapsed.textContent = v.elapsedMs > 0 || running ? formatDuration((v.elapsedMs + (running ? since : 0)) / 1000, s, nf) : NO_VALUE;
    this.eta.textContent = v.state === 'done' ? s.etaDone : running && v.etaSeconds !== null ? formatDuration(Math.max(0, v.etaSeconds - since / 1000), s, nf) : NO_VALUE;
    this.checkpoint.textContent = v.lastCheckpointAt !== null ? format(s.checkpointAgo, formatDuration((Date.now() + this.clockSkew - v.lastCheckpointAt) / 1000, s, nf)) : NO_VALUE;
  }

  /** Enables the buttons the job's state allows; a focused button that gets disabled hands the focus on. */
  updateButtons(): void {
    const st = this.state;
    const enable: [HTMLButtonElement, boolean][] = [
      [this.pause, st === 'running'],
      [this.resume, st === 'paused' || st === 'cancelled' || st === 'error'],
      [this.cancel, st === 'running' || st === 'paused'],
      [this.extend, st !== 'none' && st !== 'readonly'],
      [this.export, this.deps.count() > 0],
    ];
    const focused = document.activeElement;
    let lostFocus = false;
    for (const [b, on] of enable) {
      if (b.disabled === !on) continue;
      if (!on && focused === b) lostFocus = true;
      b.disabled = !on;
    }
    if (lostFocus) (enable.find(([b, on]) => on && b !== focused)?.[0] ?? this.deps.scroller).focus();
  }
}
