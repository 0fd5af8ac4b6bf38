// The state directory's history of runs (RUNS): when each job run started, when it was last seen alive,
// and whether it ended cleanly. A run that never wrote its end was killed (or its machine died): that is
// an unclean end, and the rate of them is what the job's checkpoint interval adapts to (see
// src/worker/checkpointPolicy.ts). Advisory only: never fsynced, a damaged line is skipped, and losing
// the file costs nothing but the estimate.
//
// One fixed-width line per run, so that the running job updates its own line in place (a small pwrite,
// no fsync) instead of appending:
//   run <start ms> <alive ms> <end> <checkpoint µs>\n
//   end: '-' still open (or killed), 'c' ended cleanly; checkpoint µs: the last measured cost of one checkpoint.
import * as path from 'path';
import { fs } from './fileLayer';
import { atomicWriteFile, closeQuietly, errnoCode, writeFully } from './fsutil';

export const RUNS_FILE = 'RUNS';
const LINE_BYTES = 48;
const LINE_RE = /^run (\d{13}) (\d{13}) ([-c]) (\d{9}) {4}$/;
/** Runs kept when the file is compacted (at open, once it holds more than twice as many). */
const KEEP_RUNS = 64;
/** Runs the estimate looks back over: the recent behaviour of this machine, not last month's. */
export const ESTIMATE_WINDOW_RUNS = 16;

export interface PastRun {
  startedAt: number;
  aliveAt: number;
  clean: boolean;
  /** Last measured cost of one checkpoint (ms), 0 when none was written. */
  checkpointMs: number;
}

export interface FailureEstimate {
  /** Earlier runs looked at (at most ESTIMATE_WINDOW_RUNS). */
  runs: number;
  /** Of those, how many ended uncleanly (killed, crashed, machine lost). */
  uncleanEnds: number;
  /** Their time alive, summed (ms). */
  uptimeMs: number;
  /** The most recent measured checkpoint cost of an earlier run (ms), if any. */
  checkpointMs: number | undefined;
}

function formatLine(r: PastRun): string {
  const us = Math.min(999_999_999, Math.max(0, Math.round(r.checkpointMs * 1000)));
  const line = `run ${pad(r.startedAt, 13)} ${pad(r.aliveAt, 13)} ${r.clean ? 'c' : '-'} ${pad(us, 9)}    \n`;
  if (line.length !== LINE_BYTES) throw new RangeError(`a RUNS line must be ${LINE_BYTES} bytes`);
  return line;
}

function pad(v: number, width: number): string {
  return String(Math.max(0, Math.floor(v))).padStart(width, '0').slice(-width);
}

export function parseRuns(text: string): PastRun[] {
  const runs: PastRun[] = [];
  for (const line of text.split('\n')) {
    const m = LINE_RE.exec(line);
    if (!m) continue; // torn or damaged: the estimate does without it
    runs.push({ startedAt: Number(m[1]), aliveAt: Number(m[2]), clean: m[3] === 'c', checkpointMs: Number(m[4]) / 1000 });
  }
  return runs;
}

/** What the earlier runs say about how often this job dies. */
export function estimateFailures(past: readonly PastRun[]): FailureEstimate {
  const recent = past.slice(-ESTIMATE_WINDOW_RUNS);
  let uncleanEnds = 0;
  let uptimeMs = 0;
  for (const r of recent) {
    if (!r.clean) uncleanEnds++;
    uptimeMs += Math.max(0, r.aliveAt - r.startedAt);
  }
  const measured = [...past].reverse().find((r) => r.checkpointMs > 0);
  return { runs: recent.length, uncleanEnds, uptimeMs, checkpointMs: measured?.checkpointMs };
}

/**
 * This run's line in RUNS, opened by the job that holds the state directory's writer lock. Every update
 * is best effort: the history must never stop a job (a full disk is reported by the log's own writes).
 */
export class RunRecord {
  private fd: number | null;
  private readonly line: PastRun;

  private constructor(
    fd: number | null,
    private readonly offset: number,
    line: PastRun,
    /** The runs before this one, oldest first. */
    readonly past: readonly PastRun[],
  ) {
    this.fd = fd;
    this.line = line;
  }

  /** Reads the history of `dir` and appends an open line for a run that started at `startedAt` (ms). */
  static begin(dir: string, startedAt: number, now = Date.now()): RunRecord {
    const file = path.join(dir, RUNS_FILE);
    let past: PastRun[] = [];
    try {
      past = parseRuns(fs.readFileSync(file, 'latin1'));
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') return RunRecord.detached(startedAt, now, past);
    }
    const line: PastRun = { startedAt, aliveAt: now, clean: false, checkpointMs: 0 };
    try {
      if (past.length > 2 * KEEP_RUNS) {
        past = past.slice(-KEEP_RUNS);
        atomicWriteFile(file, past.map(formatLine).join(''), { durable: false });
      }
      const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
      // Whole lines only: a torn last line (a kill mid-write) is overwritten, not appended to.
      const size = fs.fstatSync(fd).size;
      const offset = size - (size % LINE_BYTES);
      const record = new RunRecord(fd, offset, line, past);
      record.write();
      return record;
    } catch {
      return RunRecord.detached(startedAt, now, past);
    }
  }

  private static detached(startedAt: number, now: number, past: PastRun[]): RunRecord {
    return new RunRecord(null, 0, { startedAt, aliveAt: now, clean: false, checkpointMs: 0 }, past);
  }

  get startedAt(): number {
    return this.line.startedAt;
  }

  /** The run is still alive at `now`. */
  alive(now = Date.now()): void {
    this.line.aliveAt = Math.max(this.line.aliveAt, now);
    this.write();
  }

  /** One checkpoint cost `ms` (kept for the next run's first estimate). */
  checkpointCost(ms: number, now = Date.now()): void {
    this.line.checkpointMs = ms;
    this.alive(now);
  }

  /** The run ends in order (finished, paused, cancelled, or failed with a reported error). */
  endCleanly(now = Date.now()): void {
    this.line.clean = true;
    this.alive(now);
    this.close();
  }

  close(): void {
    this.fd = closeQuietly(this.fd);
  }

  private write(): void {
    if (this.fd === null) return;
    try {
      writeFully(this.fd, Buffer.from(formatLine(this.line), 'latin1'), this.offset);
    } catch {
      this.close(); // the history is advisory: a job never fails on it
    }
  }
}
