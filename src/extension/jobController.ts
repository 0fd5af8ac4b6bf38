// The job controller: owns this workspace's job — its worker (through JobRunner), its state
// directory and the user's intent (running / paused / cancelled) — and publishes a JobView.
// It never computes or does heavy I/O on the extension host thread: the worker does both.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { JobState, JobView, JobWorkerEvent } from '../common/protocol';
import { AsyncTermReader } from '../store';
import { LOCK_FILE, isPidAlive } from '../store/lock';
import { JobRunner, type JobOutcome } from '../worker/runner';
import { Disposable } from './disposable';
import { getSettings } from './settings';

/** What the user last asked for; persisted so a reload or crash can tell "resume" from "stay paused". */
interface JobIntent {
  target: number;
  intent: 'run' | 'paused' | 'cancelled';
}

const EMPTY_VIEW: JobView = { state: 'none', done: 0, target: 0, termsPerSecond: 0, etaSeconds: null, elapsedMs: 0, lastCheckpointAt: null, bytesStored: 0 };

export class JobController extends Disposable {
  private runner: JobRunner | undefined;
  private view: JobView = EMPTY_VIEW;
  private intent: JobIntent | undefined;
  private readerPromise: Promise<AsyncTermReader> | undefined;
  private readonlyPoll: NodeJS.Timeout | undefined;

  private readonly changeEmitter = this.register(new vscode.EventEmitter<JobView>());
  /** Fires whenever the job's view changes (throttled by the worker to a few times a second). */
  readonly onDidChange = this.changeEmitter.event;
  private readonly commitEmitter = this.register(new vscode.EventEmitter<{ from: number; to: number }>());
  /** Fires when terms from..to became durable. */
  readonly onDidCommit = this.commitEmitter.event;
  private readonly openEmitter = this.register(new vscode.EventEmitter<{ done: number; target: number; snapshot: { generation: number; position: number } | null }>());
  /** Fires when a worker has opened the stored state (done = terms already there). */
  readonly onDidOpen = this.openEmitter.event;
  private readonly resetEmitter = this.register(new vscode.EventEmitter<void>());
  /** Fires when the stored terms were replaced (start over). */
  readonly onDidReset = this.resetEmitter.event;

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

  /** Reads what is stored; resumes an unfinished job when the user wants that. Returns the view. */
  async initialize(resumeOnStartup: boolean): Promise<'resumed' | 'idle'> {
    this.intent = await this.readIntent();
    if (!this.intent) return 'idle';
    const done = await this.storedCount();
    const state: JobState = done >= this.intent.target ? 'done' : this.intent.intent === 'run' ? 'paused' : this.intent.intent;
    this.update({ ...EMPTY_VIEW, state, done, target: this.intent.target });
    if (this.intent.intent === 'run' && done < this.intent.target && resumeOnStartup) {
      this.log.info(`found an unfinished job (${done} of ${this.intent.target} terms); resuming`);
      this.startRunner(undefined);
      return 'resumed';
    }
    return 'idle';
  }

  /** Starts a new job, continues or extends the stored one. `restart` archives the stored terms first. */
  async start(target: number, mode: 'continue' | 'extend' | 'restart'): Promise<void> {
    if (this.view.state === 'readonly') throw new Error(this.view.message ?? 'this job is read-only here');
    if (this.runner?.running) {
      if (mode === 'restart') {
        this.runner.cancel();
        await this.runner.outcome;
      } else {
        this.runner.setTarget(target);
        await this.writeIntent({ target, intent: 'run' });
        this.log.info(`target changed to ${target} while running`);
        return;
      }
    }
    if (mode === 'restart') await this.archive();
    await this.writeIntent({ target, intent: 'run' });
    this.startRunner(target);
  }

  async pause(): Promise<void> {
    if (!this.runner?.running) return;
    await this.writeIntent({ ...this.intent!, intent: 'paused' });
    this.runner.pause();
    await this.runner.outcome;
  }

  async resume(): Promise<void> {
    if (this.runner?.running || !this.intent) return;
    await this.writeIntent({ ...this.intent, intent: 'run' });
    this.startRunner(undefined);
  }

  async cancel(): Promise<void> {
    if (!this.intent) return;
    await this.writeIntent({ ...this.intent, intent: 'cancelled' });
    if (this.runner?.running) {
      this.runner.cancel();
      await this.runner.outcome;
    } else {
      this.update({ ...this.view, state: 'cancelled' });
    }
  }

  /** The reader for the stored terms (shared; reopened after a start-over). */
  reader(): Promise<AsyncTermReader> {
    this.readerPromise ??= AsyncTermReader.open(this.stateDir);
    this.readerPromise.catch(() => (this.readerPromise = undefined));
    return this.readerPromise;
  }

  private startRunner(target: number | undefined): void {
    const settings = getSettings();
    const runner = new JobRunner({
      stateDir: this.stateDir,
      target,
      checkpointIntervalMs: settings.checkpointIntervalSeconds * 1000,
      maxOldGenerationSizeMb: settings.workerMemoryLimitMb,
      // Leave the editor a core of its own unless the user asks otherwise.
      parallelism: settings.threads > 0 ? settings.threads : Math.max(1, os.availableParallelism() - 1),
      workerDir: this.workerDir,
    });
    this.runner = runner;
    this.stopReadonlyPoll();
    this.update({ ...this.view, state: 'running', target: target ?? this.view.target, message: undefined });
    runner.onEvent((e) => this.onWorkerEvent(runner, e));
    void runner.outcome.then((o) => this.onOutcome(runner, o));
  }

  private onWorkerEvent(runner: JobRunner, e: JobWorkerEvent): void {
    if (runner !== this.runner) return;
    switch (e.type) {
      case 'opened': {
        for (const r of e.recoveries) this.log.warn(`recovery: ${r}`);
        const from = e.snapshot ? `snapshot generation ${e.snapshot.generation} at term ${e.snapshot.position}` : 'no snapshot';
        if (e.done > 0) this.log.info(`resumed at term ${e.done + 1} of ${e.target} (${from})`);
        else this.log.info(`started: ${e.target} terms`);
        this.update({ ...this.view, done: e.done, target: e.target });
        this.openEmitter.fire({ done: e.done, target: e.target, snapshot: e.snapshot });
        break;
      }
      case 'log':
        if (e.level === 'warn') this.log.warn(e.message);
        else this.log.info(e.message);
        break;
      case 'progress': {
        const p = e.progress;
        const lastCheckpointAt = p.sinceCheckpointMs === null ? this.view.lastCheckpointAt : Date.now() - p.sinceCheckpointMs;
        this.update({ ...this.view, done: p.done, target: p.target, termsPerSecond: p.termsPerSecond, etaSeconds: p.etaSeconds, elapsedMs: p.elapsedMs, bytesStored: p.bytesStored, lastCheckpointAt });
        break;
      }
      case 'committed':
        this.view = { ...this.view, done: e.done };
        this.commitEmitter.fire({ from: e.from, to: e.to });
        break;
      case 'checkpoint':
        this.log.info(`checkpoint: generation ${e.generation} at term ${e.position}${e.blocks.length ? ` with block(s) ${e.blocks.join(', ')} in progress` : ''} (${e.bytes} bytes, ${e.ms.toFixed(1)} ms)`);
        this.update({ ...this.view, lastCheckpointAt: Date.now() });
        break;
      default:
        break;
    }
  }

  private onOutcome(runner: JobRunner, o: JobOutcome): void {
    if (runner !== this.runner) return;
    this.runner = undefined;
    if (o.kind === 'stopped') {
      const state: JobState = o.reason === 'finished' ? 'done' : o.reason;
      this.log.info(`${o.reason} at term ${o.progress.done} of ${o.progress.target}`);
      this.update({ ...this.view, state, done: o.progress.done, target: o.progress.target, termsPerSecond: 0, etaSeconds: o.reason === 'finished' ? 0 : null });
      return;
    }
    if (o.code === 'LOCKED') {
      this.log.warn(`read-only: ${o.message}`);
      this.update({ ...this.view, state: 'readonly', message: `Another window or process is computing this job; shown read-only here. (${o.message})` });
      this.startReadonlyPoll();
      return;
    }
    this.log.error(`${o.code}: ${o.message}`);
    this.update({ ...this.view, state: 'error', message: o.message, termsPerSecond: 0, etaSeconds: null });
  }

  /** While another window writes, follow its progress from the log; when it lets go of the state (finished,
   *  stopped or died), show the job as done, or take it over if this window was asked to run it. */
  private startReadonlyPoll(): void {
    this.stopReadonlyPoll();
    this.readonlyPoll = setInterval(() => {
      void this.storedCount().then(async (done) => {
        if (this.view.state !== 'readonly') return;
        if (done !== this.view.done) {
          const from = this.view.done + 1;
          this.update({ ...this.view, done });
          if (done >= from) this.commitEmitter.fire({ from, to: done });
        }
        if (await this.lockHeldByAnother()) return;
        if (this.view.state !== 'readonly' || this.runner) return;
        this.stopReadonlyPoll();
        if (done >= this.view.target) {
          this.log.info(`the other writer finished the job (${done} terms)`);
          this.update({ ...this.view, state: 'done', message: undefined, termsPerSecond: 0, etaSeconds: 0 });
        } else if (this.intent?.intent === 'run') {
          this.log.info(`the other writer stopped at term ${done}; taking the job over`);
          this.startRunner(undefined);
        } else {
          this.update({ ...this.view, state: this.intent?.intent === 'cancelled' ? 'cancelled' : 'paused', message: undefined });
        }
      });
    }, 1000);
  }

  /** True while LOCK names a live process or another machine (a stale lock is taken over by the next writer,
   *  which also judges a half-written one). */
  private async lockHeldByAnother(): Promise<boolean> {
    try {
      const lock = JSON.parse(await fs.promises.readFile(path.join(this.stateDir, LOCK_FILE), 'utf8')) as { pid?: unknown; hostname?: unknown };
      if (typeof lock.hostname === 'string' && lock.hostname !== os.hostname()) return true;
      return typeof lock.pid === 'number' && isPidAlive(lock.pid);
    } catch (e) {
      return !((e as NodeJS.ErrnoException).code === 'ENOENT' || e instanceof SyntaxError);
    }
  }

  private stopReadonlyPoll(): void {
    if (this.readonlyPoll) clearInterval(this.readonlyPoll);
    this.readonlyPoll = undefined;
  }

  private async storedCount(): Promise<number> {
    try {
      return await (await this.reader()).count();
    } catch {
      return 0;
    }
  }

  private async archive(): Promise<void> {
    const reader = await this.readerPromise?.catch(() => undefined);
    this.readerPromise = undefined;
    await reader?.close();
    if (fs.existsSync(this.stateDir)) {
      const dest = path.join(this.root, `archive-${new Date().toISOString().replace(/[:.]/g, '-')}`);
      await fs.promises.rename(this.stateDir, dest);
      this.log.info(`started over: the previous terms were archived to ${dest}`);
    }
    this.update({ ...EMPTY_VIEW, state: 'none' });
    this.resetEmitter.fire();
  }

  private async readIntent(): Promise<JobIntent | undefined> {
    try {
      const j = JSON.parse(await fs.promises.readFile(this.intentFile, 'utf8')) as Partial<JobIntent>;
      if (typeof j.target === 'number' && Number.isInteger(j.target) && j.target > 0 && (j.intent === 'run' || j.intent === 'paused' || j.intent === 'cancelled')) {
        return { target: j.target, intent: j.intent };
      }
      this.log.warn(`ignored ${this.intentFile}: unexpected content`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn(`could not read ${this.intentFile}: ${(e as Error).message}`);
    }
    return undefined;
  }

  private async writeIntent(intent: JobIntent): Promise<void> {
    this.intent = intent;
    await fs.promises.mkdir(this.root, { recursive: true });
    const tmp = `${this.intentFile}.tmp`;
    await fs.promises.writeFile(tmp, JSON.stringify(intent));
    await fs.promises.rename(tmp, this.intentFile);
  }

  private update(view: JobView): void {
    this.view = view;
    void vscode.commands.executeCommand('setContext', 'tangentNumbers.jobState', view.state);
    this.changeEmitter.fire(view);
  }

  /** On deactivate: stop the worker with a checkpoint, without changing the user's intent. */
  private shutdown(): void {
    this.stopReadonlyPoll();
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
