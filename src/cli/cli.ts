// tangent-numbers: compute or resume T(1..N) in a state directory, then write them out.
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { MAX_COUNT, validateCount } from '../engine/engine';
import { FORMATS, footer, header, isExportFormat, line, type ExportFormat } from '../engine/formats';
import { ExportError, exportTerms, type ExportResult } from '../store/exportFile';
import { AsyncTermReader, StateDir, StoreError } from '../store';
import type { TermBytes } from '../store';
import type { ProgressInfo } from '../common/protocol';
import { JobRunner } from '../worker/runner';

// This process is ours alone (unlike the extension host, whose flags we leave as they are), so V8 is tuned
// for it: a function is optimized by TurboFan only after ~15× the default interrupt budget's worth of work.
// With the default, some 120 functions a run were compiled in the three isolates, ~0.3 s of CPU on the
// compiler threads competing with the block threads for two cores, most of them lukewarm (the job's
// bookkeeping, a block's set-up); now ~20, the hot ones. Measured alternately: N = 2000 0.49 → 0.46 s,
// N = 4000 1.43 → 1.34 s (medians), N = 8000 no change. Process-wide, so the worker threads have it too.
v8.setFlagsFromString('--interrupt-budget=1000000');

const USAGE = `usage: tangent-numbers --count N --state DIR [--out FILE|-] [--format ${FORMATS.join('|')}]
                       [--checkpoint-interval SECONDS] [--threads K] [--stats]
  Computes the Tangent numbers T(1..N) (OEIS A000182), N in 1..${MAX_COUNT}, resumably in DIR.
  Run the same command again after an interruption to continue where it stopped.
  --stats ends with one line on stderr, "stats {…}": the run's time and CPU, and what its checkpoints cost.`;

/** Bad input: one clear line, exit 2, no stack trace. */
class UsageError extends Error {}

interface Args {
  count: number;
  state: string;
  out?: string;
  format: ExportFormat;
  checkpointMs: number;
  threads?: number;
  stats: boolean;
}

function parseArgs(argv: string[]): Args {
  const values = new Map<string, string>();
  let stats = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    }
    if (arg === '--stats') {
      stats = true;
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new UsageError(`unexpected argument "${arg}"`);
    const [, name, inline] = m;
    if (!['count', 'state', 'out', 'format', 'checkpoint-interval', 'threads'].includes(name)) throw new UsageError(`unknown option --${name}`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    values.set(name, value);
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
  return { count: count.value, state: path.resolve(state), out: values.get('out'), format, checkpointMs: Math.round(interval * 1000), threads, stats };
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

/** Writes T(1..count) to stdout from the finished store. */
async function writeStdout(args: Args): Promise<void> {
  const store = StateDir.open(args.state, { mode: 'read' });
  try {
    const write = (s: string) => (process.stdout.write(s) ? Promise.resolve() : new Promise<void>((r) => process.stdout.once('drain', () => r())));
    await write(header(args.format));
    let first = true;
    for (const t of store.iterate(1, Math.min(args.count, store.count))) {
      await write(line(args.format, t, first));
      first = false;
    }
    await write(footer(args.format, first));
  } finally {
    store.close();
  }
}

/** Digits read back from the store per page of the export (a page of 256 terms of N = 16000 would be 20 MB). */
const EXPORT_PAGE_DIGITS = 2_000_000;

/**
 * Streams the output file while the job runs, into a temporary file which is renamed over the target
 * only once all `count` terms are in it. If the job stops early, the temporary file is removed and the
 * target untouched. Terms stored before the job opened are read back from the store; the terms it
 * commits come with their 'committed' events (streamDigits), already durable when they arrive.
 */
class LiveOutput {
  /** Terms 1..stored may be read from the store (those there at the start, or committed without digits). */
  private stored = 0;
  private readonly streamed: { from: number; digits: Uint8Array[] }[] = [];
  private ended = false;
  private wake: (() => void) | undefined;
  readonly done: Promise<ExportResult>;

  constructor(
    private readonly args: Args,
    private readonly reader: Promise<AsyncTermReader>,
    storedAtStart: number,
  ) {
    this.stored = storedAtStart;
    this.done = exportTerms(this.terms(), args.out!, args.format);
    this.done.catch(() => undefined); // awaited by main()
  }

  /** Terms from..to are durable; their digits, when the event brought them. */
  commit(from: number, to: number, digits?: Uint8Array[]): void {
    if (digits) this.streamed.push({ from, digits });
    else this.stored = Math.max(this.stored, to);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  private async *terms(): AsyncGenerator<TermBytes> {
    const count = this.args.count;
    let next = 1;
    while (next <= count) {
      const head = this.streamed[0];
      if (head && head.from <= next) {
        for (let i = next - head.from; i < head.digits.length && next <= count; i++) yield { n: next++, bytes: head.digits[i] };
        this.streamed.shift();
        continue;
      }
      const available = Math.min(this.stored, count);
      if (next <= available) {
        const page = await (await this.reader).readRangeBytes(next, Math.min(available, next + 255), EXPORT_PAGE_DIGITS);
        if (page.length === 0) throw new ExportError(`term ${next} could not be read back from the store`);
        yield* page;
        next += page.length;
        continue;
      }
      if (this.ended) throw new ExportError(`the job stopped at term ${next - 1}; ${this.args.out} was not written`);
      await new Promise<void>((r) => (this.wake = r));
    }
  }
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const display = new ProgressDisplay(process.stderr.isTTY === true);
  const liveOutput = args.out !== undefined && args.out !== '-';
  // The job's bookkeeping runs on this thread, idle otherwise (one worker less to start); blocks on worker threads.
  const runner = new JobRunner({ stateDir: args.state, target: args.count, checkpointIntervalMs: args.checkpointMs, parallelism: args.threads, streamDigits: liveOutput, inline: true });
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
  let outputFailure: unknown;
  const checkpoints = { count: 0, ms: 0, blockStateMs: 0, bytes: 0 };
  let interval: { ms: number; reason: string } | undefined;
  const restores: { restoreMs: number; firstTermMs: number }[] = [];
  runner.onEvent((e) => {
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
        if (liveOutput) {
          const reader = AsyncTermReader.open(args.state);
          reader.catch(() => undefined); // awaited (and reported) by the export, if it needs the store at all
          output = new LiveOutput(args, reader, e.done);
          // An unusable output path stops the job at once instead of after all the work.
          output.done.catch((err: unknown) => {
            if (!outputFailure && runner.running) {
              outputFailure = err;
              runner.pause();
            }
          });
        }
        for (const r of e.recoveries) display.say(`recovered: ${r}`);
        if (e.done >= e.target) display.say(`all ${e.target} terms are already computed`);
        else if (e.done > 0) display.say(`resuming at term ${e.done + 1} of ${e.target}`);
        else display.say(`computing ${e.target} terms`);
        break;
      case 'log':
        if (e.level === 'warn') display.say(`warning: ${e.message}`);
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
  });

  const outcome = await runner.outcome;
  // Every committed term came with an event; anything durable beyond them is read from the store.
  if (outcome.kind === 'stopped') output?.commit(1, outcome.progress.done);
  output?.end();
  display.end();
  if (outcome.kind === 'failed') {
    await output?.done.catch(() => undefined);
    const userError = ['FOREIGN', 'VERSION', 'SEQUENCE', 'LOCKED', 'UNUSABLE_DIR', 'CORRUPT', 'NO_SPACE'].includes(outcome.code);
    process.stderr.write(`tangent-numbers: ${outcome.message}\n`);
    return userError ? 2 : 1;
  }
  if (outputFailure) throw outputFailure;
  if (signalExit) {
    await output?.done.catch(() => undefined);
    process.stderr.write(`stopped at term ${outcome.progress.done} of ${outcome.progress.target}; run the same command to resume\n`);
    return signalExit;
  }
  const written = output ? await output.done : undefined;
  if (!output && args.out === '-') await writeStdout(args);
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

/**
 * Exits once what was written to stdout and stderr has gone out: writes to a pipe are queued when it is
 * full, and process.exit drops the queue (a reader of `--out -` then got the b-file cut short).
 */
function exitAfterOutput(code: number): void {
  const drained = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write('', () => resolve()));
  void Promise.all([drained(process.stdout), drained(process.stderr)]).then(() => process.exit(code));
}

main().then(exitAfterOutput, (e: unknown) => {
  if (e instanceof UsageError) {
    process.stderr.write(`tangent-numbers: ${e.message} (see --help)\n`);
    return exitAfterOutput(2);
  }
  process.stderr.write(`tangent-numbers: ${e instanceof Error ? e.message : String(e)}\n`);
  exitAfterOutput(e instanceof StoreError || e instanceof ExportError ? 2 : 1);
});
