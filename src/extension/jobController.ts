// The job controller: owns this workspace's job — its worker (through JobRunner), its state
// directory and the user's intent (running / paused / cancelled) — and publishes a JobView.
// It never computes or does heavy I/O on the extension host thread: the worker does both.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { JobState, JobView, JobWorkerEvent } from '../common/protocol';
import { AsyncTermReader, inspectLock, isStoreError, type LockInfo, type LockStatus } from '../store';
import { duration } from '../store/lock';
import { JobRunner, type JobOutcome } from '../worker/runner';
import { removeStaleTemps, writeFileAtomic } from './atomicFile';
import { Disposable } from './disposable';
import { formatLocalTime } from '../common/format';
import { formatTook } from './format';
import { SerialQueue } from './serialQueue';
import { getSettings } from './settings';

/** What the user last asked for; persisted so a reload or crash can tell "resume" from "stay paused". */
interface JobIntent {
  /** The count the user asked for: every job of this intent is started with it (never the store's own). */
  target: number;
  intent: 'run' | 'paused' | 'cancelled';
  /** Start over was asked and no job has archived the old state yet: the next job archives it first. */
  startOver?: boolean;
}

/** What the job took so far, kept in job.json beside the intent (cumulative across resumes, reset by start over). */
interface JobStats {
  /** Compute time of every run (a run: one worker from opening the state to its end). */
  computeMs: number;
  /** Runs that opened the state. */
  runs: number;
}

/** How often a running job's compute time is saved to job.json (besides at each run's end): what a crash loses. */
const STATS_SAVE_INTERVAL_MS = 30_000;

/** The failure of a job or of an operation on it: a one-line message and, when known, its code (StoreError codes,
 *  OUT_OF_MEMORY, WORKER_ERROR, …). */
export interface JobFailure {
  message: string;
  code?: string;
}

type StartMode = 'continue' | 'extend' | 'restart';

type HeldLock = Extract<LockStatus, { kind: 'held' }>;

/** Why a job worker was started: decides what the user is told once it has opened the state. */
interface RunStart {
  origin: 'startup' | 'command' | 'afterOther' | 'takeOver';
  /** The other writer this window waited for, if any. */
  holder?: LockInfo;
}

/** Something the user should hear about (extension.ts turns it into a notification with its buttons). */
export interface JobNotice {
  /** resumed / tookOver: the job runs here now (Pause, Show); readonly: another process writes it (Take Over,
   *  Show Log); released: its writer is gone but the job stays as the user left it (Resume). */
  kind: 'resumed' | 'tookOver' | 'readonly' | 'released';
  message: string;
}

/** A read-only state that lasts this long is announced (a reload's new window waits ~1 s for the old one). */
const READONLY_NOTICE_DELAY_MS = 2000;
/** After a take-over that met the lock again, the next automatic attempt waits at least this long. */
const TAKEOVER_RETRY_MS = 5000;

/** "pid 12 on box" (+ " (this machine)"), for the log (English). */
function holderName(h: LockInfo, thisHost?: boolean): string {
  return `pid ${h.pid} on ${h.hostname}${thisHost ? ' (this machine)' : ''}`;
}

/** The log's "since 2026-11-25 14:03:07". */
function sinceText(iso: string): string {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? `since ${formatLocalTime(t)}` : 'since an unknown time';
}

/** holderName for the user, in their language. */
function holderText(h: LockInfo, thisHost?: boolean): string {
  return thisHost ? vscode.l10n.t('pid {0} on {1} (this machine)', h.pid, h.hostname) : vscode.l10n.t('pid {0} on {1}', h.pid, h.hostname);
}

/** When the writer took the lock, for the user ("since {0}" in their messages). */
function sinceTime(iso: string): string {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? formatLocalTime(t) : vscode.l10n.t('an unknown time');
}

/** store/lock's duration() ("3.2 s", "12 min", "1.5 h", "2 d": the log's English) in the user's language. */
function durationText(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 10) return vscode.l10n.t('{0} s', Math.round(s * 10) / 10);
  if (s < 120) return vscode.l10n.t('{0} s', Math.round(s));
  if (s < 3600) return vscode.l10n.t('{0} min', Math.round(s / 60));
  if (s < 48 * 3600) return vscode.l10n.t('{0} h', Math.round(s / 360) / 10);
  return vscode.l10n.t('{0} d', Math.round(s / 8640) / 10);
}

/** A duration() text that came from the worker's log line ("1 h") in the user's language (else as it is). */
function localizedDuration(text: string): string {
  const m = /^(\d+(?:\.\d+)?) (s|min|h|d)$/.exec(text);
  if (!m) return text;
  const units: Record<string, (v: string) => string> = {
    s: (v) => vscode.l10n.t('{0} s', v),
    min: (v) => vscode.l10n.t('{0} min', v),
    h: (v) => vscode.l10n.t('{0} h', v),
    d: (v) => vscode.l10n.t('{0} d', v),
  };
  return units[m[2]](m[1]);
}

/** What the queue calls each operation: the log's English, and the key of its failure text for the user. */
type Operation =
  | 'read the stored job'
  | 'start the job'
  | 'start the job over'
  | 'pause the job'
  | 'resume the job'
  | 'retry the job'
  | 'cancel the job'
  | 'take the job over'
  | "save the job's intent"
  | "save the job's compute time";

/** "could not <operation>: <reason>" in the user's language (one whole sentence per operation). */
function operationFailedText(what: Operation, reason: string): string {
  switch (what) {
    case 'read the stored job':
      return vscode.l10n.t('could not read the stored job: {0}', reason);
    case 'start the job':
      return vscode.l10n.t('could not start the job: {0}', reason);
    case 'start the job over':
      return vscode.l10n.t('could not start the job over: {0}', reason);
    case 'pause the job':
      return vscode.l10n.t('could not pause the job: {0}', reason);
    case 'resume the job':
      return vscode.l10n.t('could not resume the job: {0}', reason);
    case 'retry the job':
      return vscode.l10n.t('could not retry the job: {0}', reason);
    case 'cancel the job':
      return vscode.l10n.t('could not cancel the job: {0}', reason);
    case 'take the job over':
      return vscode.l10n.t('could not take the job over: {0}', reason);
    case "save the job's intent":
      return vscode.l10n.t("could not save the job's intent: {0}", reason);
    case "save the job's compute time":
      return vscode.l10n.t("could not save the job's compute time: {0}", reason);
  }
}

/** Tangent Numbers: no other process holds this job … (why, by what this window is doing with it). */
function nothingToTakeOverText(running: boolean, state: JobState): string {
  if (running) return vscode.l10n.t('Tangent Numbers: no other process holds this job; there is nothing to take over (this window is writing it).');
  switch (state) {
    case 'none':
      return vscode.l10n.t('Tangent Numbers: no other process holds this job; there is nothing to take over (it is not started here).');
    case 'running':
      return vscode.l10n.t('Tangent Numbers: no other process holds this job; there is nothing to take over (it is running here).');
    case 'paused':
      return vscode.l10n.t('Tangent Numbers: no other process holds this job; there is nothing to take over (it is paused here).');
    case 'cancelled':
      return vscode.l10n.t('Tangent Numbers: no other process holds this job; there is nothing to take over (it is cancelled here).');
    case 'done':
      return vscode.l10n.t('Tangent Numbers: no other process holds this job; there is nothing to take over (it is done here).');
    case 'error':
      return vscode.l10n.t('Tangent Numbers: no other process holds this job; there is nothing to take over (it is error here).');
    case 'readonly':
      return vscode.l10n.t('Tangent Numbers: no other process holds this job; there is nothing to take over (it is readonly here).');
  }
}

const EMPTY_VIEW: JobView = { state: 'none', done: 0, target: 0, termsPerSecond: 0, etaSeconds: null, elapsedMs: 0, lastCheckpointAt: null, bytesStored: 0 };

export class JobController extends Disposable {
  private runner: JobRunner | undefined;
  private view: JobView = EMPTY_VIEW;
  /** The user's intent as last asked in this window (job.json holds it once its write has completed). */
  private intent: JobIntent | undefined;
  private readerPromise: Promise<AsyncTermReader> | undefined;
  /** Set while a start-over job has not opened the state yet: it archives the old state first, so no
   *  reader may open that meanwhile. Resolved by the job's 'opened' event or its end. */
  private readerGate: { promise: Promise<void>; open: () => void } | undefined;
  private readonlyPoll: NodeJS.Timeout | undefined;
  /** Bumped whenever the read-only poll starts or stops: a tick of an older poll does nothing. */
  private pollEpoch = 0;
  /** The other writer as last seen by the read-only poll. */
  private holder: LockInfo | undefined;
  private readonlySince = 0;
  private readonlyNotified = false;
  private lastAutoTakeoverAt = 0;
  /** The current run intent was asked for in this window (a command), not inherited from a stored job at
   *  start-up: only then does a take-over ignore tangentNumbers.resumeOnStartup. */
  private explicitRun = false;
  /** Why the current runner was started. */
  private runStart: RunStart = { origin: 'command' };
  /** Every change of the job (start, resume, pause, cancel, take-over, retry) runs here, one at a time, and
   *  reads the state when it runs: a double click or two racing commands cannot start two workers. */
  private readonly queue = new SerialQueue();
  /** Warnings the running job has logged before its 'opened' event (its recoveries repeat them). */
  private readonly warned = new Set<string>();
  /** Completed runs' totals (job.json); the running one's elapsed time is `runElapsedMs`. */
  private stats: JobStats = { computeMs: 0, runs: 0 };
  private runElapsedMs = 0;
  private statsSavedAt = 0;

  private readonly changeEmitter = this.register(new vscode.EventEmitter<JobView>());
  /** Fires whenever the job's view changes (throttled by the worker to a few times a second). */
  readonly onDidChange = this.changeEmitter.event;
  private readonly commitEmitter = this.register(new vscode.EventEmitter<{ from: number; to: number }>());
  /** Fires when terms from..to became durable. */
  readonly onDidCommit = this.commitEmitter.event;
  private readonly openEmitter = this.register(new vscode.EventEmitter<{ done: number; target: number; snapshot: { generation: number; position: number } | null }>());
  /** Fires when a worker has opened the stored state (done = terms already there). */
  readonly onDidOpen = this.openEmitter.event;
  private readonly failEmitter = this.register(new vscode.EventEmitter<JobFailure>());
  /** Fires with a one-line message (and the failure's code when known) each time the job fails or an operation on it fails with no job running
   *  (the view is then in the error state; Retry is `retry()`). */
  readonly onDidFail = this.failEmitter.event;
  private readonly resetEmitter = this.register(new vscode.EventEmitter<void>());
  /** Fires when the stored terms are being replaced (start over). */
  readonly onDidReset = this.resetEmitter.event;
  private readonly noticeEmitter = this.register(new vscode.EventEmitter<JobNotice>());
  /** Fires with what the user should be told: a resume or take-over, a read-only state, a writer that is gone. */
  readonly onDidNotice = this.noticeEmitter.event;

  readonly root: string;
  readonly stateDir: string;
  private readonly intentFile: string;

  constructor(
    storageUri: vscode.Uri,
    private readonly workerDir: string,
    private readonly log: vscode.LogOutputChannel,
  ) {
    super();
    this.root = storageUri.fsPath;
    this.stateDir = path.join(this.root, 'state');
    this.intentFile = path.join(this.root, 'job.json');
    this.register({ dispose: () => this.shutdown() });
  }

  get current(): JobView {
    return this.view;
  }

  get isRunning(): boolean {
    return this.runner?.running === true;
  }

  /** Reads what is stored; resumes an unfinished job when the user wants that. */
  initialize(resumeOnStartup: boolean): Promise<'resumed' | 'idle'> {
    return this.enqueue('read the stored job', async () => {
      await removeStaleTemps(this.intentFile).catch(() => 0);
      // The temporary file of versions that wrote job.json through one fixed name.
      await fs.promises.rm(`${this.intentFile}.tmp`, { force: true }).catch(() => undefined);
      this.intent = await this.readIntent();
      this.explicitRun = false;
      if (!this.intent) return 'idle';
      const done = await this.storedCount();
      // A start over not yet carried out is unfinished whatever the old state holds.
      const unfinished = this.intent.startOver === true || done < this.intent.target;
      const state: JobState = !unfinished ? 'done' : this.intent.intent === 'run' ? 'paused' : this.intent.intent;
      this.update({ ...EMPTY_VIEW, state, done, target: this.intent.target, elapsedMs: this.stats.computeMs, runs: this.stats.runs });
      if (this.intent.intent === 'run' && unfinished && resumeOnStartup) {
        // A stale lock (a machine that died, a container that is gone) is taken over by the job itself.
        this.log.info(`found an unfinished job (${done} of ${this.intent.target} terms); resuming`);
        await this.startRunner(this.intent, { origin: 'startup' });
        return 'resumed';
      }
      if (unfinished) {
        // Not resumed here, but another process may be writing it right now: then show that, not "paused".
        const status = await inspectLock(this.stateDir).catch(() => undefined);
        if (status?.kind === 'held') {
          this.log.info(`read-only: ${this.heldLine(status)}`);
          this.enterReadonly(this.heldMessage(status), status.holder);
        }
      }
      return 'idle';
    }).then((r) => r ?? 'idle');
  }

  /** Starts a new job, continues or extends the stored one. `restart` has the job archive the stored state first. */
  start(target: number, mode: StartMode): Promise<void> {
    return this.enqueue(mode === 'restart' ? 'start the job over' : 'start the job', async () => {
      if (this.view.state === 'readonly') {
        void vscode.window.showWarningMessage(vscode.l10n.t('Tangent Numbers: {0}', this.view.message ?? vscode.l10n.t('this job is read-only in this window')));
        return;
      }
      const runner = this.runner;
      if (runner?.running) {
        if (mode !== 'restart') {
          // A start over this job has not carried out yet stays asked for.
          await this.saveIntent({ target, intent: 'run', startOver: this.intent?.startOver });
          runner.setTarget(target);
          this.log.info(`target changed to ${target} while running`);
          return;
        }
        runner.cancel();
        await runner.outcome;
      }
      const intent: JobIntent = { target, intent: 'run', startOver: mode === 'restart' };
      await this.saveIntent(intent);
      this.explicitRun = true;
      await this.startRunner(intent, { origin: 'command' });
    });
  }

  pause(): Promise<void> {
    return this.enqueue('pause the job', async () => {
      if (this.view.state === 'readonly' && this.intent) {
        // Another process writes it: this window only stops meaning to take it over when that one lets go.
        await this.saveIntentOrWarn({ ...this.intent, intent: 'paused' }, 'the pause');
        this.log.info('paused: this window will not take the job over when the other writer lets go');
        return;
      }
      const runner = this.runner;
      if (!runner?.running || !this.intent) return;
      await this.saveIntentOrWarn({ ...this.intent, intent: 'paused' }, 'the pause');
      runner.pause();
      await runner.outcome;
    });
  }

  resume(): Promise<void> {
    return this.enqueue('resume the job', () => this.resumeNow());
  }

  /** Retry after an error: resumes the job as the user last asked for it (a start over not done yet included). */
  retry(): Promise<void> {
    return this.enqueue('retry the job', () => this.resumeNow());
  }

  cancel(): Promise<void> {
    return this.enqueue('cancel the job', async () => {
      if (!this.intent) return;
      const runner = this.runner;
      await this.saveIntentOrWarn({ ...this.intent, intent: 'cancelled' }, 'the cancellation');
      if (runner?.running) {
        runner.cancel();
        await runner.outcome;
      } else if (this.view.state === 'readonly') {
        this.log.info('cancelled: this window will not take the job over when the other writer lets go');
      } else {
        this.update({ ...this.view, state: 'cancelled' });
      }
    });
  }

  /**
   * Take Over (command and notification button): when the other writer's lease has expired (or it let go),
   * this window runs the job; while it is alive, says so and when its lease expires, and does nothing.
   */
  takeOver(): Promise<void> {
    return this.enqueue('take the job over', async () => {
      if (this.view.state !== 'readonly' || this.runner?.running || !this.intent) {
        void vscode.window.showInformationMessage(nothingToTakeOverText(this.runner?.running === true, this.view.state));
        return;
      }
      const status = await inspectLock(this.stateDir);
      if (status.kind === 'held') {
        this.showHolder(status);
        const h = status.holder;
        const auto = this.takesOverByItself();
        this.log.info(
          `take over refused: ${holderName(h, status.thisHost)} is alive and writing this job: its last heartbeat was ${duration(status.heartbeatAgeMs)} ago, ` +
            `and its lease expires in ${duration(status.leaseExpiresInMs)} unless it renews it. Take Over is possible once the lease has expired` +
            `${auto ? '; this window then takes the job over by itself' : ''}.`,
        );
        const who = holderText(h, status.thisHost);
        const beat = durationText(status.heartbeatAgeMs);
        const lease = durationText(status.leaseExpiresInMs);
        void vscode.window.showInformationMessage(
          auto
            ? vscode.l10n.t('Tangent Numbers: {0} is alive and writing this job: its last heartbeat was {1} ago, and its lease expires in {2} unless it renews it. Take Over is possible once the lease has expired; this window then takes the job over by itself.', who, beat, lease)
            : vscode.l10n.t('Tangent Numbers: {0} is alive and writing this job: its last heartbeat was {1} ago, and its lease expires in {2} unless it renews it. Take Over is possible once the lease has expired.', who, beat, lease),
        );
        return;
      }
      const holder = (status.kind === 'stale' ? status.holder : null) ?? this.holder;
      this.stopReadonlyPoll();
      const intent: JobIntent = { ...this.intent, intent: 'run' };
      await this.saveIntent(intent);
      this.explicitRun = true;
      this.log.info(`taking the job over as asked${holder ? ` from ${holderName(holder)}` : ''} (${status.kind === 'stale' ? `stale: ${status.why}` : 'its lock is free'})`);
      await this.startRunner(intent, { origin: 'takeOver', holder });
    });
  }

  /** The reader for the stored terms (shared; reopened after a start over, once its job has archived the old state). */
  async reader(): Promise<AsyncTermReader> {
    while (this.readerGate) await this.readerGate.promise;
    if (this.isDisposed) throw new Error('the job controller is closed');
    const p = (this.readerPromise ??= AsyncTermReader.open(this.stateDir));
    p.catch(() => {
      if (this.readerPromise === p) this.readerPromise = undefined;
    });
    return p;
  }

  /**
   * Queues an operation. It runs after all queued before it, unless the controller is disposed by then. A
   * failure is reported to the user (the error state, with Retry, when no job runs) instead of rejecting, as
   * "could not <what>: <reason>".
   */
  private enqueue<T>(what: Operation, op: () => Promise<T>): Promise<T | undefined> {
    return this.queue.run(async () => {
      if (this.isDisposed) return undefined;
      try {
        return await op();
      } catch (e) {
        this.operationFailed(what, e);
        return undefined;
      }
    });
  }

  private operationFailed(what: Operation, e: unknown): void {
    const reason = e instanceof Error ? e.message : String(e);
    this.log.error(`could not ${what}: ${reason}`);
    if (this.isDisposed) return;
    const message = operationFailedText(what, reason);
    if (this.runner?.running) void vscode.window.showErrorMessage(vscode.l10n.t('Tangent Numbers: {0}', message));
    else this.fail(message, isStoreError(e) ? e.code : undefined);
  }

  private fail(message: string, code?: string): void {
    // A first job that failed to start has no view of its own yet: show the count it was asked for.
    const target = this.view.target || (this.intent?.target ?? 0);
    this.update({ ...this.view, state: 'error', target, message, failureCode: code, termsPerSecond: 0, etaSeconds: null });
    this.failEmitter.fire({ message, code });
  }

  /** Resume (or Retry): runs the job the intent describes, unless one runs. Only from inside the queue. */
  private async resumeNow(): Promise<void> {
    if (this.runner?.running || !this.intent) return;
    // A Resume queued behind a Retry (or a double click) that has already run the job to its end: nothing to do.
    if (this.view.state === 'done' && this.view.done >= this.intent.target && !this.intent.startOver) return;
    const intent: JobIntent = { ...this.intent, intent: 'run' };
    await this.saveIntent(intent);
    this.explicitRun = true;
    // Another process writes the job: the read-only poll takes it over when that one lets go.
    if (this.view.state === 'readonly') return;
    await this.startRunner(intent, { origin: 'command' });
  }

  /** Starts a job worker for `intent`, always with the intent's target. Only from inside the queue. */
  private async startRunner(intent: JobIntent, start: RunStart): Promise<void> {
    if (this.isDisposed) return;
    const startOver = intent.startOver === true;
    if (startOver) await this.beginStartOver();
    const settings = getSettings();
    // Leave the editor a core of its own unless the user asks otherwise.
    const parallelism = settings.threads > 0 ? settings.threads : Math.max(1, os.availableParallelism() - 1);
    // Says which values were used: in Restricted Mode the workspace's own values of these settings are ignored.
    this.log.info(`job: ${parallelism} block thread(s), ${settings.workerMemoryLimitMb} MB memory limit per thread, checkpoints at most ${settings.checkpointIntervalSeconds} s apart`);
    let runner: JobRunner;
    try {
      runner = new JobRunner({
        stateDir: this.stateDir,
        target: intent.target,
        startOver,
        checkpointIntervalMs: settings.checkpointIntervalSeconds * 1000,
        maxOldGenerationSizeMb: settings.workerMemoryLimitMb,
        parallelism,
        workerDir: this.workerDir,
      });
    } catch (e) {
      this.openReaderGate();
      throw e;
    }
    this.runner = runner;
    this.runStart = start;
    this.stopReadonlyPoll();
    this.update({ ...this.view, state: 'running', target: intent.target, message: undefined });
    runner.onEvent((e) => this.onWorkerEvent(runner, e));
    void runner.outcome.then((o) => this.onOutcome(runner, o));
  }

  /**
   * Before a start-over job: closes the reader of the old state (the job moves its files into an archive
   * under its lock) and keeps readers waiting until the job has opened the new state; the view starts empty.
   */
  private async beginStartOver(): Promise<void> {
    if (!this.readerGate) {
      let open!: () => void;
      const promise = new Promise<void>((resolve) => (open = resolve));
      this.readerGate = { promise, open };
    }
    const reader = await this.readerPromise?.catch(() => undefined);
    this.readerPromise = undefined;
    await reader?.close();
    // A new job: what the old one took is archived with it (not counted any more).
    this.stats = { computeMs: 0, runs: 0 };
    this.update({ ...EMPTY_VIEW, state: 'none' });
    this.resetEmitter.fire();
  }

  private openReaderGate(): void {
    const gate = this.readerGate;
    this.readerGate = undefined;
    gate?.open();
  }

  private onWorkerEvent(runner: JobRunner, e: JobWorkerEvent): void {
    if (runner !== this.runner) return;
    switch (e.type) {
      case 'opened': {
        // The store's own repairs were logged as they happened; the restore's notes come only here.
        for (const r of e.recoveries) if (!this.warned.has(r)) this.log.warn(`recovery: ${r}`);
        this.warned.clear();
        const from = e.snapshot ? `snapshot generation ${e.snapshot.generation} at term ${e.snapshot.position}` : 'no snapshot';
        if (e.done > 0) this.log.info(`resumed at term ${e.done + 1} of ${e.target} (${from})`);
        else this.log.info(`started: ${e.target} terms`);
        if (runner.options.startOver) {
          // The old state is archived: readers may open the new one, and the next job must not archive again.
          this.openReaderGate();
          if (this.intent?.startOver) this.intent = { ...this.intent, startOver: false };
        }
        // One more run of this job (saved with the intent: a crash still counts it).
        this.stats = { ...this.stats, runs: this.stats.runs + 1 };
        this.runElapsedMs = 0;
        this.statsSavedAt = Date.now();
        void this.enqueue("save the job's intent", () => this.writeIntent());
        this.update({ ...this.view, done: e.done, target: e.target, elapsedMs: this.stats.computeMs, runs: this.stats.runs });
        this.openEmitter.fire({ done: e.done, target: e.target, snapshot: e.snapshot });
        this.announceOpen(e.done, e.target, e.recoveries.find((r) => r.startsWith('took over ')));
        break;
      }
      case 'log':
        if (e.level === 'warn') {
          this.warned.add(e.message);
          this.log.warn(e.message);
        } else this.log.info(e.message);
        break;
      case 'progress': {
        const p = e.progress;
        const lastCheckpointAt = p.sinceCheckpointMs === null ? this.view.lastCheckpointAt : Date.now() - p.sinceCheckpointMs;
        this.runElapsedMs = p.elapsedMs;
        const elapsedMs = this.stats.computeMs + p.elapsedMs;
        this.update({ ...this.view, done: p.done, target: p.target, termsPerSecond: p.termsPerSecond, etaSeconds: p.etaSeconds, elapsedMs, runs: this.stats.runs, bytesStored: p.bytesStored, lastCheckpointAt });
        break;
      }
      case 'committed':
        this.view = { ...this.view, done: e.done };
        this.commitEmitter.fire({ from: e.from, to: e.to });
        break;
      case 'checkpoint':
        this.log.info(`checkpoint: generation ${e.generation} at term ${e.position}${e.blocks.length ? ` with block(s) ${e.blocks.join(', ')} in progress` : ''} (${e.bytes} bytes, ${e.ms.toFixed(1)} ms)`);
        this.update({ ...this.view, lastCheckpointAt: Date.now() });
        if (Date.now() - this.statsSavedAt >= STATS_SAVE_INTERVAL_MS) {
          this.statsSavedAt = Date.now();
          void this.enqueue("save the job's compute time", () => this.writeIntent());
        }
        break;
      default:
        break;
    }
  }

  private onOutcome(runner: JobRunner, o: JobOutcome): void {
    if (runner.options.startOver) this.openReaderGate();
    if (runner !== this.runner) return;
    this.runner = undefined;
    // The run's compute time joins the job's total (a run that never opened the state added nothing).
    const ranMs = o.kind === 'stopped' ? Math.max(o.progress.elapsedMs, this.runElapsedMs) : this.runElapsedMs;
    this.stats = { ...this.stats, computeMs: this.stats.computeMs + ranMs };
    this.runElapsedMs = 0;
    if (ranMs > 0) void this.enqueue("save the job's compute time", () => this.writeIntent());
    if (o.kind === 'stopped') {
      const state: JobState = o.reason === 'finished' ? 'done' : o.reason;
      this.log.info(`${o.reason} at term ${o.progress.done} of ${o.progress.target}`);
      this.update({ ...this.view, state, done: o.progress.done, target: o.progress.target, termsPerSecond: 0, etaSeconds: o.reason === 'finished' ? 0 : null, elapsedMs: this.stats.computeMs, runs: this.stats.runs });
      if (o.reason === 'finished') this.log.info(`the job ${formatTook(this.stats.computeMs, this.stats.runs, o.progress.done)}`);
      return;
    }
    if (o.code === 'LOCKED') {
      this.log.warn(`read-only: ${o.message}`);
      // The poll's first look (at once) replaces this with who holds the job, since when, and its heartbeat.
      this.enterReadonly(vscode.l10n.t('Another window or process is computing this job; shown read-only here. ({0})', o.message), undefined);
      return;
    }
    this.log.error(`${o.code}: ${o.message}`);
    this.update({ ...this.view, elapsedMs: this.stats.computeMs });
    this.fail(o.message, o.code);
  }

  /** Shows the job read-only (another process holds its lock) and follows that writer until it lets go. */
  private enterReadonly(message: string, holder: LockInfo | undefined): void {
    if (this.view.state !== 'readonly') {
      this.readonlySince = Date.now();
      this.readonlyNotified = false;
    }
    this.holder = holder;
    this.update({ ...this.view, state: 'readonly', message, termsPerSecond: 0, etaSeconds: null });
    this.startReadonlyPoll();
  }

  /** While another process writes, follow its progress from the log and its lock (every second, at once
   *  first); when it lets go (released, or stale: its lease expired or its process is gone), decide in the
   *  queue whether to take the job over, show it done, or leave it as the user left it. */
  private startReadonlyPoll(): void {
    this.stopReadonlyPoll();
    const epoch = this.pollEpoch;
    const live = () => epoch === this.pollEpoch && this.view.state === 'readonly' && !this.isDisposed;
    let warned = false;
    const tick = async (): Promise<void> => {
      this.readonlyPoll = undefined;
      if (!live()) return;
      try {
        this.followStored(await this.storedCount());
        if (!live()) return;
        // Never blocks the event loop: fs.promises only.
        const status = await inspectLock(this.stateDir);
        if (!live()) return;
        if (status.kind === 'held') {
          this.showHolder(status);
        } else if (Date.now() - this.lastAutoTakeoverAt >= TAKEOVER_RETRY_MS) {
          this.stopReadonlyPoll();
          // What to do now is decided in the queue, after any command the user gave meanwhile.
          void this.enqueue('take the job over', () => this.afterOtherWriter());
          return;
        }
      } catch (e) {
        if (!warned) this.log.warn(`read-only: could not inspect the lock: ${(e as Error).message}`);
        warned = true;
      }
      if (live()) this.readonlyPoll = setTimeout(() => void tick(), 1000);
    };
    this.readonlyPoll = setTimeout(() => void tick(), 0);
  }

  private stopReadonlyPoll(): void {
    this.pollEpoch++;
    if (this.readonlyPoll) clearTimeout(this.readonlyPoll);
    this.readonlyPoll = undefined;
  }

  /** The read-only view says who holds the job; a read-only state that lasts is announced once. */
  private showHolder(status: HeldLock): void {
    if (this.holder?.token !== status.holder.token) this.log.info(`read-only: ${this.heldLine(status)}`);
    this.holder = status.holder;
    const message = this.heldMessage(status);
    if (message !== this.view.message) this.update({ ...this.view, message });
    if (!this.readonlyNotified && Date.now() - this.readonlySince >= READONLY_NOTICE_DELAY_MS) {
      this.readonlyNotified = true;
      const h = status.holder;
      this.noticeEmitter.fire({
        kind: 'readonly',
        message: vscode.l10n.t('Tangent Numbers: {0} is computing this job (since {1}); it is shown read-only in this window.', holderText(h, status.thisHost), sinceTime(status.since)),
      });
    }
  }

  private heldLine(s: HeldLock): string {
    return `${holderName(s.holder, s.thisHost)} holds the lock ${sinceText(s.since)} (last heartbeat ${duration(s.heartbeatAgeMs)} ago, lease expires in ${duration(s.leaseExpiresInMs)} unless renewed)`;
  }

  /** JobView.message while read-only: who, since when, its heartbeat, and what happens when it stops. */
  private heldMessage(s: HeldLock): string {
    const args = [holderText(s.holder, s.thisHost), sinceTime(s.since), durationText(s.heartbeatAgeMs), durationText(s.leaseExpiresInMs)];
    return this.takesOverByItself()
      ? vscode.l10n.t('Read-only here: {0} is computing this job (since {1}; last heartbeat {2} ago). Its lease expires in {3} unless it renews it; then this window takes the job over by itself.', ...args)
      : vscode.l10n.t('Read-only here: {0} is computing this job (since {1}; last heartbeat {2} ago). Its lease expires in {3} unless it renews it; then Take Over Job can take it over.', ...args);
  }

  /** Whether this window runs the job when its other writer lets go: the user wants it run, and either asked
   *  for that here or lets a stored job resume by itself (tangentNumbers.resumeOnStartup). */
  private takesOverByItself(): boolean {
    return this.intent?.intent === 'run' && (this.explicitRun || getSettings().resumeOnStartup);
  }

  private followStored(done: number): void {
    if (done === this.view.done) return;
    const from = this.view.done + 1;
    this.update({ ...this.view, done });
    if (done >= from) this.commitEmitter.fire({ from, to: done });
  }

  /** The lock looked free or stale to the poll. Only from inside the queue. */
  private async afterOtherWriter(): Promise<void> {
    if (this.view.state !== 'readonly' || this.runner?.running) return;
    // Looked at again here: a command queued meanwhile, or another window, may have changed it.
    const status = await inspectLock(this.stateDir);
    if (status.kind === 'held') {
      this.showHolder(status);
      this.startReadonlyPoll();
      return;
    }
    const holder = (status.kind === 'stale' ? status.holder : null) ?? this.holder;
    const gone =
      status.kind === 'stale'
        ? `${holder ? holderName(holder) : 'its writer'}: ${status.why}; last alive ${duration(Date.now() - status.lastAliveAt)} ago`
        : `${holder ? holderName(holder) : 'its writer'} released the lock`;
    const done = await this.storedCount();
    this.followStored(done);
    if (this.intent?.startOver !== true && done >= this.view.target) {
      this.log.info(`the other writer finished the job (${done} terms)`);
      this.update({ ...this.view, state: 'done', message: undefined, termsPerSecond: 0, etaSeconds: 0 });
    } else if (this.intent && this.takesOverByItself()) {
      this.log.info(`the other writer stopped at term ${done}; taking the job over (${gone})`);
      this.lastAutoTakeoverAt = Date.now();
      await this.startRunner(this.intent, { origin: 'afterOther', holder });
    } else {
      const state: JobState = this.intent?.intent === 'cancelled' ? 'cancelled' : 'paused';
      const why = this.intent?.intent === 'run' ? 'tangentNumbers.resumeOnStartup is off' : `it was ${state} here`;
      this.log.info(`the other writer stopped at term ${done} (${gone}); the job stays ${state} (${why})`);
      this.update({ ...this.view, state, message: undefined });
      if (status.kind === 'stale') {
        const args = [holder ? holderText(holder) : vscode.l10n.t('its writer'), status.why, durationText(Date.now() - status.lastAliveAt), done, this.view.target];
        const message =
          state === 'cancelled'
            ? vscode.l10n.t("Tangent Numbers: the job's writer is gone ({0}: {1}; last alive {2} ago). It stays cancelled at term {3} of {4} (it was cancelled here).", ...args)
            : this.intent?.intent === 'run'
              ? vscode.l10n.t("Tangent Numbers: the job's writer is gone ({0}: {1}; last alive {2} ago). It stays paused at term {3} of {4} (tangentNumbers.resumeOnStartup is off).", ...args)
              : vscode.l10n.t("Tangent Numbers: the job's writer is gone ({0}: {1}; last alive {2} ago). It stays paused at term {3} of {4} (it was paused here).", ...args);
        this.noticeEmitter.fire({ kind: 'released', message });
      }
    }
  }

  /** Once a job has opened the state: tells the user when it took the job over, or resumed it by itself. */
  private announceOpen(done: number, target: number, tookOver: string | undefined): void {
    const resuming = done < target;
    const { origin, holder } = this.runStart;
    if (tookOver) {
      // takeoverLine(): "took over stale lock of pid P on H (why; last alive X ago)"; hostnames have no spaces.
      const m = /^took over stale lock of pid (\d+) on (\S+) \((.*); last alive (.+) ago\)$/.exec(tookOver);
      const from = m ? `from pid ${m[1]} on ${m[2]} (last alive ${m[4]} ago)` : `(${tookOver})`;
      this.log.info(`took over the job ${from}; ${resuming ? `resuming at term ${done + 1} of ${target}` : `all ${target} terms were stored`}`);
      let message: string;
      if (m) {
        const args = [m[1], m[2], localizedDuration(m[4]), done + 1, target];
        message = resuming
          ? vscode.l10n.t('Tangent Numbers: took over the job from pid {0} on {1} (last alive {2} ago); resuming at term {3} of {4}.', ...args)
          : vscode.l10n.t('Tangent Numbers: took over the job from pid {0} on {1} (last alive {2} ago); all {4} terms were stored.', ...args);
      } else {
        message = resuming
          ? vscode.l10n.t('Tangent Numbers: took over the job ({0}); resuming at term {1} of {2}.', tookOver, done + 1, target)
          : vscode.l10n.t('Tangent Numbers: took over the job ({0}); all {2} terms were stored.', tookOver, done + 1, target);
      }
      this.noticeEmitter.fire({ kind: 'tookOver', message });
      return;
    }
    if (done >= target || origin === 'command') return;
    this.noticeEmitter.fire({
      kind: 'resumed',
      message:
        origin !== 'startup' && holder
          ? vscode.l10n.t('Resumed Tangent numbers at term {0} of {1} after {2} let go of the job', done + 1, target, holderText(holder))
          : vscode.l10n.t('Resumed Tangent numbers at term {0} of {1}', done + 1, target),
    });
  }

  private async storedCount(): Promise<number> {
    try {
      return await (await this.reader()).count();
    } catch {
      return 0;
    }
  }

  private async readIntent(): Promise<JobIntent | undefined> {
    try {
      const j = JSON.parse(await fs.promises.readFile(this.intentFile, 'utf8')) as Partial<JobIntent & JobStats>;
      if (typeof j.target === 'number' && Number.isInteger(j.target) && j.target > 0 && (j.intent === 'run' || j.intent === 'paused' || j.intent === 'cancelled')) {
        // Older job.json files have no stats: the job then counts from here.
        const ok = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
        this.stats = { computeMs: ok(j.computeMs) ? j.computeMs : 0, runs: ok(j.runs) ? Math.floor(j.runs) : 0 };
        return { target: j.target, intent: j.intent, startOver: j.startOver === true };
      }
      this.log.warn(`ignored ${this.intentFile}: unexpected content`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn(`could not read ${this.intentFile}: ${(e as Error).message}`);
    }
    return undefined;
  }

  /** Makes `intent` the user's intent, here at once and in job.json (atomically and durably) before it returns. */
  private async saveIntent(intent: JobIntent): Promise<void> {
    this.intent = intent;
    await this.writeIntent();
  }

  /** saveIntent for a pause or cancel: the job stops either way; a failed write only means a reload may resume it. */
  private async saveIntentOrWarn(intent: JobIntent, what: 'the pause' | 'the cancellation'): Promise<void> {
    try {
      await this.saveIntent(intent);
    } catch (e) {
      const reason = (e as Error).message;
      this.log.warn(`${what} could not be saved (${reason}); a reload may resume the job`);
      void vscode.window.showWarningMessage(
        what === 'the pause'
          ? vscode.l10n.t('Tangent Numbers: the pause could not be saved ({0}); a reload may resume the job.', reason)
          : vscode.l10n.t('Tangent Numbers: the cancellation could not be saved ({0}); a reload may resume the job.', reason),
      );
    }
  }

  /** Writes the current intent. Only from inside the queue, so writes land in the order they were made. */
  private async writeIntent(): Promise<void> {
    if (!this.intent) return;
    const { target, intent, startOver } = this.intent;
    // The running run's time so far is included: after a crash the job still counts it.
    const computeMs = Math.round(this.stats.computeMs + (this.runner?.running ? this.runElapsedMs : 0));
    const stats = this.stats.runs > 0 || computeMs > 0 ? { computeMs, runs: this.stats.runs } : {};
    await fs.promises.mkdir(this.root, { recursive: true });
    await writeFileAtomic(this.intentFile, JSON.stringify(startOver ? { target, intent, startOver, ...stats } : { target, intent, ...stats }));
  }

  private update(view: JobView): void {
    // The failure code belongs to the error state only.
    this.view = view.state === 'error' || view.failureCode === undefined ? view : { ...view, failureCode: undefined };
    void vscode.commands.executeCommand('setContext', 'tangentNumbers.jobState', view.state);
    this.changeEmitter.fire(view);
  }

  /** On deactivate: stop the worker with a checkpoint, without changing the user's intent. */
  private shutdown(): void {
    this.stopReadonlyPoll();
    this.openReaderGate();
    const runner = this.runner;
    this.runner = undefined;
    if (runner?.running) {
      runner.pause();
      // The worker stops within a block; if the host is torn down first, the log still holds every finished term.
      const timer = setTimeout(() => void runner.terminate(), 3000);
      void runner.outcome.finally(() => clearTimeout(timer));
    }
    void this.readerPromise?.then((r) => r.close()).catch(() => undefined);
  }
}
