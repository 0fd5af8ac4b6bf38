// Rate and ETA for a job whose terms grow: later terms cost far more than early ones, so the
// ETA weighs the remaining terms by an estimate of their cost instead of counting them.
import { log2TangentUpper } from '../engine/tangent';

/** Relative cost of term n: multiplication and decimal conversion at its size are ~ bits^1.5. */
export function termCost(n: number): number {
  return Math.pow(log2TangentUpper(n) + 64, 1.5);
}

const WINDOW_MS = 8000;

export class ProgressTracker {
  private readonly samples: { t: number; done: number; work: number }[] = [];
  private prefix: Float64Array = new Float64Array(1);

  constructor(private target: number) {
    this.growPrefix(target);
  }

  private growPrefix(target: number): void {
    if (this.prefix.length > target) return;
    const p = new Float64Array(target + 1);
    p.set(this.prefix);
    for (let n = this.prefix.length; n <= target; n++) p[n] = p[n - 1] + termCost(n);
    this.prefix = p;
  }

  setTarget(target: number): void {
    this.target = target;
    this.growPrefix(target);
  }

  record(now: number, done: number): void {
    this.samples.push({ t: now, done, work: this.prefix[Math.min(done, this.target)] });
    while (this.samples.length > 2 && now - this.samples[0].t > WINDOW_MS) this.samples.shift();
  }

  rate(): { termsPerSecond: number; etaSeconds: number | null } {
    if (this.samples.length < 2) return { termsPerSecond: 0, etaSeconds: null };
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const seconds = (last.t - first.t) / 1000;
    if (seconds <= 0) return { termsPerSecond: 0, etaSeconds: null };
    const termsPerSecond = (last.done - first.done) / seconds;
    const workPerSecond = (last.work - first.work) / seconds;
    const remaining = this.prefix[this.target] - last.work;
    const etaSeconds = remaining <= 0 ? 0 : workPerSecond > 0 ? remaining / workPerSecond : null;
    return { termsPerSecond, etaSeconds };
  }
}
