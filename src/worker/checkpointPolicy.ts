// How often the job checkpoints the blocks in progress: adapted to how often this job actually dies.
//
// Finished terms are durable as soon as they are committed; a checkpoint saves the work inside the blocks
// still running. Checkpointing costs δ (block threads serializing their states, the job thread writing and
// fsyncing the snapshot); a crash costs the work since the last one. Young (1974) and Daly (2006) give the
// interval that minimises the expected loss for a mean time between failures M:
//   Young: τ = √(2δM);  Daly: τ = √(2δM)·(1 + ⅓·√(δ/(2M)) + δ/(18M)) − δ  for δ < 2M, else τ = M.
// M comes from the state directory's history of runs (src/store/runHistory.ts): their time alive, this
// run's included, over the unclean ends among them. Without unclean ends the user's setting stands; it is
// also the upper bound. A floor keeps a pathological estimate from checkpointing in a loop.
import type { FailureEstimate } from '../store/runHistory';

/** The least interval chosen, ms: below it the checkpoints themselves would be most of the work. */
export const MIN_INTERVAL_MS = 50;
/** A checkpoint's cost before any was measured (blocks' states + snapshot write at N ~ 4000). */
export const DEFAULT_CHECKPOINT_COST_MS = 25;

export function youngIntervalMs(costMs: number, mtbfMs: number): number {
  return Math.sqrt(2 * costMs * mtbfMs);
}

export function dalyIntervalMs(costMs: number, mtbfMs: number): number {
  if (costMs >= 2 * mtbfMs) return mtbfMs;
  const young = youngIntervalMs(costMs, mtbfMs);
  return young * (1 + Math.sqrt(costMs / (2 * mtbfMs)) / 3 + costMs / (18 * mtbfMs)) - costMs;
}

export interface IntervalChoice {
  ms: number;
  /** The mean time between failures the choice assumed (ms), null without unclean ends. */
  mtbfMs: number | null;
  costMs: number;
  /** One line for the log and --stats: which interval, and why. */
  reason: string;
}

export class CheckpointPolicy {
  private costMs: number;
  private costMeasured: boolean;

  constructor(
    /** The user's setting (checkpointIntervalSeconds / --checkpoint-interval): the upper bound. */
    readonly maxMs: number,
    private readonly history: FailureEstimate,
  ) {
    this.costMeasured = history.checkpointMs !== undefined;
    this.costMs = history.checkpointMs ?? DEFAULT_CHECKPOINT_COST_MS;
  }

  /** A checkpoint was measured to cost `ms` (job thread and block threads): a running average of the recent ones. */
  recordCost(ms: number): void {
    if (!(ms >= 0)) return;
    this.costMs = this.costMeasured ? 0.7 * this.costMs + 0.3 * ms : ms;
    this.costMeasured = true;
  }

  get checkpointCostMs(): number {
    return this.costMs;
  }

  /**
   * The interval for a run alive for `uptimeMs` so far, whose restart took `restartMs` (from its start to its
   * blocks computing again). Failures strike the whole run, but only the time after the restart holds work
   * to save, so the optimum is taken for the mean time between failures less the restart: the difference
   * matters exactly when crashes are frequent (a run of a few hundred ms that spends half of it starting).
   */
  choose(uptimeMs: number, restartMs = 0): IntervalChoice {
    const { uncleanEnds, runs } = this.history;
    const costMs = this.costMs;
    const cost = `${formatMs(costMs)} a checkpoint${this.costMeasured ? '' : ' (assumed)'}`;
    if (uncleanEnds === 0) {
      return { ms: this.maxMs, mtbfMs: null, costMs, reason: `the setting's ${formatMs(this.maxMs)}: no unclean end in the last ${runs} run(s)` };
    }
    const mtbfMs = (this.history.uptimeMs + Math.max(0, uptimeMs)) / uncleanEnds;
    const workMs = Math.max(1, mtbfMs - Math.max(0, restartMs));
    const daly = dalyIntervalMs(costMs, workMs);
    const ms = Math.round(Math.min(this.maxMs, Math.max(MIN_INTERVAL_MS, daly)));
    const bound = ms === this.maxMs ? ", capped by the setting" : ms === MIN_INTERVAL_MS ? ', raised to the floor' : '';
    return {
      ms,
      mtbfMs,
      costMs,
      reason:
        `Daly's optimum for ${uncleanEnds} unclean end(s) in the last ${runs} run(s) (mean time between failures ${formatMs(mtbfMs)}` +
        `${restartMs > 0 ? `, ${formatMs(restartMs)} of it restarting` : ''}) and ${cost}${bound}`,
    };
  }
}

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms >= 10_000 ? 0 : 1)} s` : `${Math.round(ms)} ms`;
}
