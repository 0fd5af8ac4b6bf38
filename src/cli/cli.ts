// tangent-numbers: compute or resume T(1..N) in a state directory, then write them out.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { MAX_COUNT, validateCount } from '../engine/engine';
import { FORMATS, footer, header, isExportFormat, linePrefix, lineSuffix, type ExportFormat } from '../engine/formats';
import { ExportError, exportTerms, type ExportResult } from '../store/exportFile';
import { AsyncTermReader, StateDir, StoreError } from '../store';
import type { TermBytes } from '../store';
import { isStoreErrorCode } from '../store/errors';
import type { JobWorkerEvent, ProgressInfo } from '../common/protocol';
import { JobRunner } from '../worker/runner';
import { VERIFY_GUARANTEE, describeVerdict, verdictExitCode, verifyBfile } from '../engine/bfileVerifier';

// This process is ours alone (unlike the extension host, whose flags we leave as they are), so V8 is tuned
// for it: a function is optimized by TurboFan only after ~15× the default interrupt budget's worth of work.
// With the default, some 120 functions a run were compiled in the three isolates, ~0.3 s of CPU on the
// compiler threads competing with the block threads for two cores, most of them lukewarm (the job's
// bookkeeping, a block's set-up); now ~20, the hot ones. Measured alternately: N = 2000 0.49 → 0.46 s,
// N = 4000 1.43 → 1.34 s (medians), N = 8000 no change. Process-wide, so the worker threads have it too.
v8.setFlagsFromString('--interrupt-budget=1000000');

/** `text` broken into lines of at most ~`width` characters, the later ones indented by `indent`. */
function wrapped(text: string, indent: number, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

const USAGE = `usage: tangent-numbers --count N --state DIR [--out FILE|-] [--format ${FORMATS.join('|')}]
                       [--checkpoint-interval SECONDS] [--threads K] [--stats]
       tangent-numbers --verify FILE
  Computes the Tangent numbers T(1..N) (OEIS A000182), N in 1..${MAX_COUNT}, resumably in DIR.
  Run the same command again after an interruption to continue where it stopped.
  --stats ends with one line on stderr, "stats {…}": the run's time and CPU, and what its checkpoints cost.
  --out - streams the terms to stdout as they are computed (FILE is written whole, or not at all).
  Exit status: 0 done; 2 the run failed (one line on stderr: a full or failing disk, a damaged or busy
  state directory, bad input; the stored state stays resumable); 130/143 interrupted by SIGINT/SIGTERM and
  141 the reader of --out - went away (e.g. | head): both checkpoint first, and the same command resumes.
  --verify FILE checks a b-file of A000182 ("n T(n)" lines from n = 1, # comments and blank lines allowed)
  ${wrapped(`without computing it: ${VERIFY_GUARANTEE}.`, 2, 104)}
  Exit status: 0 all terms right; 1 a wrong, missing or out-of-order term (FILE:LINE names the first);
  2 not a b-file (or unreadable).`;

/** Bad input: one clear line, exit 2, no stack trace. */
class UsageError extends Error {}
/** A request refused for what it would do (not for how it is written): one line, exit 2. */
class Refusal extends Error {}
/**
 * The reader of `--out -` closed the pipe (EPIPE; `| head` does that once it has enough). Not an error of
 * ours nor of the user: the job checkpoints and the run ends quietly, like a program killed by SIGPIPE.
 */
class PipeClosed extends Error {}
/** 128 + SIGPIPE, what a shell reports for a writer that its reader left (`yes | head -1`). */
const EXIT_PIPE_CLOSED = 141;
/** The run has decided how it exits (see the 'exit' listener at the end). */
let settled = false;

interface Args {
  count: number;
  state: string;
  out?: string;
  format: ExportFormat;
  checkpointMs: number;
  threads?: number;
  stats: boolean;
}

/** `--verify FILE`: check a b-file, compute nothing. */
interface VerifyArgs {
  verify: string;
}

function parseArgs(argv: string[]): Args | VerifyArgs {
  const values = new Map<string, string>();
  let stats = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE + '\n');
      settled = true;
      process.exit(0);
    }
    if (arg === '--stats') {
      stats = true;
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new UsageError(`unexpected argument "${arg}"`);
    const [, name, inline] = m;
    if (!['count', 'state', 'out', 'format', 'checkpoint-interval', 'threads', 'verify'].includes(name)) throw new UsageError(`unknown option --${name}`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    values.set(name, value);
  }
  const verify = values.get('verify');
  if (verify !== undefined) {
    if (values.size > 1 || stats) throw new UsageError('--verify FILE takes no other option');
    return { verify };
  }
  const countText = values.get('count');
  if (countText === undefined) throw new UsageError('--count N is required');
  const count = validateCount(countText);
  if (!count.ok) throw new UsageError(`invalid --count "${countText}": ${count.reason}`);
  const state = values.get('state');
  if (!state) throw new UsageError('--state DIR is required');
  const format = values.get('format') ?? 'bfile';
  if (!isExportFormat(format)) throw new UsageError(`invalid --format "${format}": use one of ${FORMATS.join(', ')}`);
  const interval = Number(values.get('checkpoint-interval') ?? '5');
  if (!Number.isFinite(interval) || interval < 0 || interval > 3600) throw new UsageError('invalid --checkpoint-interval: seconds between 0 and 3600');
  let threads: number | undefined;
  if (values.has('threads')) {
    threads = Number(values.get('threads'));
    if (!Number.isInteger(threads) || threads < 1 || threads > 64) throw new UsageError('invalid --threads: a whole number between 1 and 64');
  }
  const out = values.get('out');
  if (out !== undefined && out !== '-') refuseOutputInState(out, state);
  return { count: count.value, state: path.resolve(state), out, format, checkpointMs: Math.round(interval * 1000), threads, stats };
}

/** `p` with symbolic links resolved in the part of it that exists (the rest may be created later). */
function resolveExisting(p: string): string {
  const missing: string[] = [];
  for (let at = path.resolve(p); ; ) {
    try {
      return path.join(fs.realpathSync.native(at), ...missing);
    } catch {
      const up = path.dirname(at);
      if (up === at) return path.resolve(p);
      missing.unshift(path.basename(at));
      at = up;
    }
  }
}

function within(child: string, parent: string): boolean {
  const fold = (p: string) => (process.platform === 'win32' || process.platform === 'darwin' ? p.toLowerCase() : p);
  const rel = path.relative(fold(parent), fold(child));
  return rel === '' || (rel.split(path.sep)[0] !== '..' && !path.isAbsolute(rel));
}

/**
 * The output file must lie outside the state directory: `--out DIR/terms.log` would replace the job's own
 * log with a b-file. Checked on the real paths (a symbolic link to the state directory is inside it): the
 * file itself, where it resolves to, and the folder it lands in.
 */
function refuseOutputInState(out: string, state: string): void {
  const stateReal = resolveExisting(state);
  const outPaths = [resolveExisting(out), path.join(resolveExisting(path.dirname(path.resolve(out))), path.basename(path.resolve(out)))];
  if (outPaths.some((o) => within(o, stateReal))) {
    const same = outPaths.some((o) => path.relative(stateReal, o) === '');
    throw new Refusal(
      same
        ? `--out ${out} is the state directory itself; write the terms to a file outside it`
        : `--out ${out} is inside the state directory ${path.resolve(state)}: it could replace the job's own files; write the terms to a file outside it`,
    );
  }
}

function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

class ProgressDisplay {
  private lastPlain = 0;
  private drawn = false;
  constructor(private readonly tty: boolean) {}

  update(p: ProgressInfo): void {
    const done = Math.min(p.done, p.target);
    const pct = p.target > 0 ? (100 * done) / p.target : 100;
    const text = `${pct.toFixed(1)}% ${done}/${p.target} terms · ${p.termsPerSecond.toFixed(1)} terms/s · ETA ${formatDuration(p.etaSeconds)}`;
    if (this.tty) {
      const width = 24;
      const filled = Math.round((pct / 100) * width);
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
      this.drawn = true;
    } else if (Date.now() - this.lastPlain >= 2000) {
      this.lastPlain = Date.now();
      process.stderr.write(`${text}\n`);
    }
  }

  say(message: string): void {
    if (this.drawn) process.stderr.write('\r\x1b[K');
    process.stderr.write(`${message}\n`);
  }

  end(): void {
    if (this.drawn) process.stderr.write('\n');
    this.drawn = false;
  }
}

/** Why stdout stopped taking output (set once, from its 'error' event), and who waits to hear it. */
let stdoutFailure: Error | undefined;
const stdoutWaiters = new Set<() => void>();
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (stdoutFailure) return;
  stdoutFailure = e.code === 'EPIPE' ? new PipeClosed('the reader of the output went away') : new ExportError(`cannot write the terms to the standard output: ${e.message}`, { cause: e });
  for (const wake of stdoutWaiters) wake();
});
// Progress and messages go to stderr; a stderr nobody reads any more must not end the run (the exit status still tells).
process.stderr.on('error', () => undefined);

/** Throws why stdout failed, if it did. A function, so that the check after an await reads the variable anew. */
function throwIfStdoutFailed(): void {
  if (stdoutFailure) throw stdoutFailure;
}

/** Writes `chunk` to stdout, waiting while the pipe is full; throws PipeClosed once the reader is gone. */
async function writeStdout(chunk: Uint8Array | string): Promise<void> {
  throwIfStdoutFailed();
  if (!process.stdout.write(chunk)) {
    await new Promise<void>((resolve) => {
      const wake = () => {
        process.stdout.off('drain', wake);
        stdoutWaiters.delete(wake);
        resolve();
      };
      process.stdout.on('drain', wake);
      stdoutWaiters.add(wake);
    });
  }
  throwIfStdoutFailed();
}

/** `--out -`: the terms to stdout in order, as they come (a line per term, so `| head -1` hears at once). */
async function streamToStdout(terms: AsyncIterable<TermBytes>, format: ExportFormat): Promise<undefined> {
  await writeStdout(header(format));
  const suffix = Buffer.from(lineSuffix(format), 'latin1');
  let first = true;
  for await (const t of terms) {
    await writeStdout(Buffer.concat([Buffer.from(linePrefix(format, t.n, t.bytes.length, first), 'latin1'), t.bytes, suffix]));
    first = false;
  }
  await writeStdout(footer(format, first));
  return undefined;
}

/** Digits read back from the store per page of the export (a page of 256 terms of N = 16000 would be 20 MB). */
const EXPORT_PAGE_DIGITS = 2_000_000;
/**
 * Digits of committed terms held for the output beyond this are let go (and read back from the store when
 * their turn comes): a slow reader of --out - must not make the run hold the whole output in memory.
 */
const STREAMED_DIGITS_LIMIT = 64 << 20;

/**
 * Streams the output while the job runs: to a file, through a temporary file renamed over the target only
 * once all `count` terms are in it (if the job stops early, the temporary file is removed and the target
 * untouched); or to stdout. Terms stored before the job opened are read back from the store; the terms it
 * commits come with their 'committed' events (streamDigits), already durable when they arrive.
 * A stored term found damaged is waited for, not given up on: the job (or main, once the job has finished:
 * healStore) sets the damaged part aside and commits the terms again; only if that does not happen does the
 * output fail, naming the term.
 */
class LiveOutput {
  /** Terms 1..stored may be read from the store (those there at the start, or committed without digits). */
  private stored = 0;
  private readonly streamed: { from: number; digits: Uint8Array[]; bytes: number }[] = [];
  private streamedBytes = 0;
  private ended = false;
  private wake: (() => void) | undefined;
  /** The damaged stored term the output waits on (for the job to commit it again), while it waits. */
  private waitingOn: StoreError | undefined;
  private stuckWaiters: ((damage: StoreError | undefined) => void)[] = [];
  readonly done: Promise<ExportResult | undefined>;

  constructor(
    private readonly args: Args,
    private readonly reader: Promise<AsyncTermReader>,
    storedAtStart: number,
  ) {
    this.stored = storedAtStart;
    const count = args.count;
    this.done = args.out === '-' ? streamToStdout(this.terms(), args.format) : exportTerms(this.terms(), args.out!, args.format, { expectedTerms: { from: 1, to: count } });
    this.done.catch(() => undefined); // awaited by main()
  }

  /** Terms from..to are durable; their digits, when the event brought them. */
  commit(from: number, to: number, digits?: Uint8Array[]): void {
    if (digits) {
      const bytes = digits.reduce((sum, d) => sum + d.length, 0);
      this.streamed.push({ from, digits, bytes });
      this.streamedBytes += bytes;
      if (this.streamedBytes > STREAMED_DIGITS_LIMIT) {
        // Committed means stored: these terms can be read back when the output gets to them.
        this.streamed.length = 0;
        this.streamedBytes = 0;
        this.stored = Math.max(this.stored, to);
      }
    } else this.stored = Math.max(this.stored, to);
    this.waitingOn = undefined;
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  /**
   * Once the job has finished (and commit told all its terms stored): resolves with the damaged stored term
   * the output is stuck on, or with undefined once the output is done (written, or failed for another reason).
   */
  stuckOn(): Promise<StoreError | undefined> {
    if (this.waitingOn) return Promise.resolve(this.waitingOn);
    return new Promise((resolve) => {
      this.stuckWaiters.push(resolve);
      this.done.then(
        () => resolve(undefined),
        () => resolve(undefined),
      );
    });
  }

  private async *terms(): AsyncGenerator<TermBytes> {
    const count = this.args.count;
    let next = 1;
    /** The stored term found damaged, while the job may still set it aside and commit it again. */
    let damage: StoreError | undefined;
    while (next <= count) {
      const head = this.streamed[0];
      if (head && head.from <= next) {
        for (let i = next - head.from; i < head.digits.length && next <= count; i++) yield { n: next++, bytes: head.digits[i] };
        this.streamed.shift();
        this.streamedBytes -= head.bytes;
        continue;
      }
      const available = Math.min(this.stored, count);
      if (next <= available) {
        let page: TermBytes[];
        try {
          page = await (await this.reader).readRangeBytes(next, Math.min(available, next + 255), EXPORT_PAGE_DIGITS);
        } catch (e) {
          if (!(e instanceof StoreError && e.code === 'CORRUPT' && e.term !== undefined && e.term >= next) || this.ended) throw e;
          damage = e;
          this.stored = e.term - 1; // the terms before it are intact: read on up to it, then wait for the job
          continue;
        }
        if (page.length === 0) {
          // The log holds fewer terms than it did: a recovery cut it back, and the job commits them again.
          if (this.ended) throw damage ?? new ExportError(`term ${next} could not be read back from the store (it ends before it)`, { term: next });
          this.stored = next - 1;
          continue;
        }
        yield* page;
        next += page.length;
        if (damage && next > (damage.term as number)) damage = undefined; // read back: it was committed again
        continue;
      }
      if (this.ended) {
        if (damage) throw damage;
        throw new ExportError(`the job stopped at term ${next - 1}; ${this.args.out === '-' ? 'the output is incomplete' : `${this.args.out} was not written`}`, { term: next });
      }
      if (damage) {
        this.waitingOn = damage;
        for (const tell of this.stuckWaiters.splice(0)) tell(damage);
      }
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }
}

/** How many times one run sets damaged terms aside and computes them again before it gives up. */
const MAX_HEALS = 2;

/**
 * The job or the output met a damaged stored term. A verified scan of the whole log finds the
 * first damage (the read's may not be the first); it is set aside with all after it (StateDir.healFrom),
 * for the next job to compute again. Returns the terms kept, or null if there was no damage to set aside.
 */
function healStore(state: string, display: ProgressDisplay): number | null {
  const store = StateDir.open(state, { logger: { info: () => undefined, warn: (line) => display.say(`recovered: ${line}`) } });
  try {
    const scan = store.beginLogScan();
    let step = scan.step(16 << 20);
    while (!step.done) step = scan.step(16 << 20);
    if (!step.damage) return null;
    store.healFrom(step.damage.n, step.damage.reason);
    return store.count;
  } finally {
    store.close();
  }
}

/** The exit status of a job that failed: 2 for the disk, the store or the machine, 1 for a bug of ours. */
function failedJobExit(code: string): number {
  return isStoreErrorCode(code) || code === 'OUT_OF_MEMORY' || code === 'WORKER_EXIT' ? 2 : 1;
}

/** `--verify FILE`: one line (stdout when every term is right, else stderr) and the verdict's exit status. */
async function verifyMain(file: string): Promise<number> {
  let verdict;
  try {
    verdict = await verifyBfile(file);
  } catch (e) {
    throw new Refusal(`cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const line = describeVerdict(file, verdict);
  if (verdict.kind === 'verified') await writeStdout(`${line}\n`);
  else process.stderr.write(`${line}\n`);
  return verdictExitCode(verdict);
}

async function main(): Promise<number> {
  const parsed = parseArgs(process.argv.slice(2));
  if ('verify' in parsed) return verifyMain(parsed.verify);
  const args = parsed;
  const display = new ProgressDisplay(process.stderr.isTTY === true);
  // The output (a file, or stdout with `-`) is written as the terms are committed, from their events.
  const liveOutput = args.out !== undefined;
  // The job's bookkeeping runs on this thread, idle otherwise (one worker less to start); blocks on worker threads.
  const startJob = () => new JobRunner({ stateDir: args.state, target: args.count, checkpointIntervalMs: args.checkpointMs, parallelism: args.threads, streamDigits: liveOutput, inline: true });
  let runner = startJob();
  let signalExit = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalExit) return;
    signalExit = sig === 'SIGINT' ? 130 : 143;
    display.say(`${sig}: checkpointing…`);
    runner.pause();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let output: LiveOutput | undefined;
  let outputFailure: Error | undefined;
  const checkpoints = { count: 0, ms: 0, blockStateMs: 0, bytes: 0 };
  let interval: { ms: number; reason: string } | undefined;
  const restores: { restoreMs: number; firstTermMs: number }[] = [];
  const warned = new Set<string>();
  const onEvent = (e: JobWorkerEvent) => {
    switch (e.type) {
      case 'checkpoint':
        checkpoints.count++;
        checkpoints.ms += e.ms;
        checkpoints.blockStateMs += e.blockStateMs;
        checkpoints.bytes += e.bytes;
        break;
      case 'committed':
        output?.commit(e.from, e.to, e.digits);
        break;
      case 'opened':
        if (liveOutput && !output) {
          const reader = AsyncTermReader.open(args.state);
          reader.catch(() => undefined); // awaited (and reported) by the export, if it needs the store at all
          output = new LiveOutput(args, reader, e.done);
          // An unusable output path (or a reader of stdout gone) stops the job at once instead of after all the work.
          output.done.catch((err: unknown) => {
            if (!outputFailure && runner.running) {
              outputFailure = err instanceof Error ? err : new Error(String(err));
              runner.pause();
            }
          });
        }
        // The store's own repairs were said as they happened (warnings); the restore's notes come only here.
        for (const r of e.recoveries) if (!warned.has(r)) display.say(`recovered: ${r}`);
        if (e.done >= e.target) display.say(`all ${e.target} terms are already computed`);
        else if (e.done > 0) display.say(`resuming at term ${e.done + 1} of ${e.target}`);
        else display.say(`computing ${e.target} terms`);
        break;
      case 'log':
        if (e.level === 'warn') {
          warned.add(e.message);
          display.say(`warning: ${e.message}`);
        }
        break;
      case 'progress':
        display.update(e.progress);
        break;
      case 'restored':
        restores.push({ restoreMs: e.restoreMs, firstTermMs: e.firstTermMs });
        break;
      case 'interval':
        interval = e;
        // The setting itself needs no word; an interval adapted to this job's crashes does.
        if (e.adapted) display.say(`checkpoint interval ${(e.ms / 1000).toFixed(2)} s: ${e.reason}`);
        break;
      default:
        break;
    }
  };
  runner.onEvent(onEvent);

  let outcome = await runner.outcome;
  /** Terms stored when the last job stopped (less, if damage was set aside since). */
  let storedAtStop = outcome.kind === 'stopped' ? outcome.progress.done : 0;
  for (let heals = 0; ; heals++) {
    // Every committed term came with an event; anything durable beyond them is read from the store.
    if (outcome.kind === 'stopped') output?.commit(1, outcome.progress.done);
    if (outputFailure || signalExit || heals >= MAX_HEALS) break;
    // A stored term the job (re-verifying the terms after its snapshot) or the output could not read back
    // (a large log is checked only at its tail on open): set the damage aside and compute those terms
    // again, instead of failing every run from now on.
    if (outcome.kind === 'failed') {
      if (outcome.code !== 'CORRUPT') break;
    } else if (!(output && outcome.reason === 'finished' && (await output.stuckOn()))) break;
    display.end();
    const kept = healStore(args.state, display);
    if (kept === null) break;
    storedAtStop = kept;
    if (signalExit) break; // interrupted while healing: the next run computes the terms set aside
    runner = startJob();
    runner.onEvent(onEvent);
    outcome = await runner.outcome;
    if (outcome.kind === 'stopped') storedAtStop = outcome.progress.done;
  }
  output?.end();
  display.end();
  if (outcome.kind === 'failed') {
    await output?.done.catch(() => undefined);
    process.stderr.write(`tangent-numbers: ${oneLine(outcome.message)}\n`);
    return failedJobExit(outcome.code);
  }
  if (outputFailure) throw outputFailure;
  if (signalExit) {
    await output?.done.catch(() => undefined);
    process.stderr.write(`stopped at term ${storedAtStop} of ${outcome.progress.target}; run the same command to resume\n`);
    return signalExit;
  }
  const written = output ? await output.done : undefined;
  if (written?.abandonedTempsRemoved) display.say(`removed ${written.abandonedTempsRemoved} temporary file(s) that killed runs had left next to ${written.file}`);
  if (args.out && args.out !== '-') display.say(`wrote ${args.count} terms to ${path.resolve(args.out)}`);
  if (args.stats) {
    // CPU of every thread of this process; the checkpoints' share of it is what they cost the run.
    const cpu = process.cpuUsage();
    const round = (ms: number) => Math.round(ms * 10) / 10;
    const line = {
      elapsedMs: round(performance.now()),
      cpuMs: round((cpu.user + cpu.system) / 1000),
      checkpoints: checkpoints.count,
      checkpointMs: round(checkpoints.ms),
      blockStateMs: round(checkpoints.blockStateMs),
      snapshotBytes: checkpoints.bytes,
      restoredBlocks: restores.length,
      blockRestoreMs: restores.map((r) => round(r.restoreMs)),
      blockFirstTermMs: restores.map((r) => round(r.firstTermMs)),
      checkpointIntervalMs: interval?.ms,
      checkpointIntervalReason: interval?.reason,
    };
    process.stderr.write(`stats ${JSON.stringify(line)}\n`);
  }
  return 0;
}

/** A message as one line (a failure's text from a worker or the OS could hold more). */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * Exits once what was written to stdout and stderr has gone out: writes to a pipe are queued when it is
 * full, and process.exit drops the queue (a reader of `--out -` then got the b-file cut short). A stream
 * whose reader is gone has nothing more to send.
 */
function exitAfterOutput(code: number): void {
  settled = true;
  const drained = (stream: NodeJS.WriteStream) =>
    new Promise<void>((resolve) => {
      if (stream.destroyed || stream.writableEnded || (stream === process.stdout && stdoutFailure)) return resolve();
      stream.write('', () => resolve());
    });
  void Promise.all([drained(process.stdout), drained(process.stderr)]).then(() => process.exit(code));
}

// A run whose work is left waiting on nothing (a bug of ours) would otherwise end with exit 0 as if it had succeeded.
process.on('exit', (code) => {
  if (settled || code !== 0) return;
  fs.writeSync(2, 'tangent-numbers: internal error: the run ended before its work did\n');
  process.exitCode = 1;
});

main().then(exitAfterOutput, (e: unknown) => {
  if (e instanceof PipeClosed) return exitAfterOutput(EXIT_PIPE_CLOSED); // quietly: see PipeClosed
  if (e instanceof UsageError) {
    process.stderr.write(`tangent-numbers: ${oneLine(e.message)} (see --help)\n`);
    return exitAfterOutput(2);
  }
  // The run's failures (disk, store, output) are one line and exit 2; anything else is a bug of ours (exit 1).
  const failure = e instanceof StoreError || e instanceof ExportError || e instanceof Refusal;
  process.stderr.write(`tangent-numbers: ${oneLine(e instanceof Error ? e.message : String(e))}\n`);
  exitAfterOutput(failure ? 2 : 1);
});
