// The computation as a resumable state machine:
//   state (target, verified prefix) → step → new state + finished, verified terms (in order).
// Nothing here touches the disk or knows about threads; the runner persists what `step` returns.

import { PiCache } from './bigmath';
import { SMALL_LIMIT, ZetaBlock, decimalDigitsUpper, piBitsOfBlock, tangentSmall } from './tangent';
import { VERIFIER_MAX_N, Verifier } from './verifier';

export const SEQUENCE = 'A000182';
export const ALGORITHM = 'zeta-downward-blocks/1';
/** Largest supported count: T(20000) has ~99,000 digits and the b-file of 1..20000 is ~1 GB. */
export const MAX_COUNT = 20000;

export interface Term {
  n: number;
  digits: string;
}

export interface BlockOptions {
  /** State from an interrupted run of the same block (ZetaBlock.serialize()). */
  resume?: Uint8Array;
  /** Called when `resume` cannot be used (another build's layout, damage); the block then starts afresh.
   *  Without it, such a state throws its RangeError. */
  onUnusableResume?: (reason: string) => void;
  /** Called after each finished term. */
  onTerm?: (remaining: number) => void;
  /** Polled after each term: when true, the block's state goes to onState and BlockStopped is thrown. */
  shouldStop?: () => boolean;
  /** Receives the block's resumable state (and the ms its serialization took): when it stops, and after a term whenever `stateWanted()` says so. */
  onState?: (state: Buffer, ms: number) => void;
  /** Polled after each term: true asks for the block's state now (a checkpoint is being written). */
  stateWanted?: () => boolean;
  /**
   * Polled after each term: true asks the block to hand the bottom of its remaining range to another
   * thread (one that would otherwise sit idle at the end of a job). If the block agrees, it calls onSplit
   * with its new lower end and its state after the split, and returns only the terms from there up.
   */
  splitWanted?: () => boolean;
  onSplit?: (from: number, state: Buffer) => void;
  /** Called when the block was asked to split and declined (so that whoever asked need not wait). */
  onSplitDeclined?: () => void;
  /** π is computed at least this precise (piBitsFor the job's target) the first time a block needs it. */
  piBits?: number;
  /** A block continued from `resume`: the ms its state took to restore, and its first term after it (which rebuilds the transforms' cached spectra). */
  onRestored?: (restoreMs: number, firstTermMs: number) => void;
}

/** A block's state and the ms its serialization took (what a checkpoint costs a block thread). */
function timedState(block: ZetaBlock): [Buffer, number] {
  const started = performance.now();
  const state = block.serialize();
  return [state, performance.now() - started];
}

/** Thrown by a block computation that was asked to stop (its state was handed to onState first). */
export class BlockStopped extends Error {
  override name = 'BlockStopped';
}

/** T(from..to) as ASCII digits, each in an ArrayBuffer of its own (a block worker moves them to the job thread without a copy). */
export type BlockComputer = (from: number, to: number, options?: BlockOptions) => Uint8Array[];

/** Checks a requested count; returns a one-line reason when it is not usable. */
export function validateCount(input: string | number): { ok: true; value: number } | { ok: false; reason: string } {
  const text = String(input).trim();
  if (!/^\d+$/.test(text)) return { ok: false, reason: 'not a whole number' };
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_COUNT) {
    return { ok: false, reason: `must be between 1 and ${MAX_COUNT}` };
  }
  return { ok: true, value };
}

/**
 * Decimal digits one block may hold: a block keeps its finished terms until it is committed and puts
 * them in every checkpoint, so this bounds both its memory and a checkpoint's size at large n.
 * Measured at N = 8000: 24 M digits 7.1–7.4 s and 390–413 MB peak, 12 M 7.0–7.3 s and 332–354 MB,
 * 8 M 7.5 s (a block's set-up is paid more often) and 318–336 MB.
 */
const BLOCK_DIGITS = 12_000_000;

/** Terms per unit of work: blocks amortize a per-block setup, but hold their terms until they end. */
export function blockSizeAt(from: number): number {
  return Math.max(64, Math.min(800, Math.round(from / 5), Math.floor(BLOCK_DIGITS / decimalDigitsUpper(from))));
}

/** Computes T(from..to) exactly as decimal strings; deterministic, so re-running gives the same bytes. */
export function createBlockComputer(): BlockComputer {
  const pi = new PiCache();
  return (from, to, options = {}) => {
    const out: Uint8Array[] = [];
    if (from <= SMALL_LIMIT) {
      const smallTo = Math.min(to, SMALL_LIMIT);
      out.push(...tangentSmall(smallTo).slice(from - 1).map((t) => Uint8Array.from(Buffer.from(t.toString(), 'latin1'))));
      options.onTerm?.(to - smallTo);
      if (to <= SMALL_LIMIT) return out;
      from = SMALL_LIMIT + 1;
    }
    const restoreStarted = performance.now();
    const restored = options.resume && restoreBlock(options.resume, from, to, options.onUnusableResume);
    const restoreMs = performance.now() - restoreStarted;
    if (!restored && options.piBits) pi.get(options.piBits);
    const block = restored || ZetaBlock.start(from, to, pi);
    let firstTermOfRestored = restored ? performance.now() : 0;
    // A block that began with the small terms returns them too; it is short and never split.
    const splittable = out.length === 0 && options.onSplit !== undefined;
    while (!block.finished) {
      block.step();
      if (firstTermOfRestored) {
        options.onRestored?.(restoreMs, performance.now() - firstTermOfRestored);
        firstTermOfRestored = 0;
      }
      options.onTerm?.(block.remaining);
      if (!block.finished && options.shouldStop?.()) {
        if (options.onState) options.onState(...timedState(block));
        throw new BlockStopped();
      }
      if (splittable && !block.finished && options.splitWanted?.()) {
        const at = block.balancedSplit();
        if (at !== null) {
          block.splitAt(at);
          options.onSplit!(at, block.serialize());
        } else options.onSplitDeclined?.();
      }
      if (options.onState && !block.finished && options.stateWanted?.()) options.onState(...timedState(block));
    }
    out.push(...block.termBytes());
    return out;
  };
}

/** The block `resume` holds, or null (reported) when it does not fit from..to and the caller can start afresh. */
function restoreBlock(resume: Uint8Array, from: number, to: number, onUnusable: ((reason: string) => void) | undefined): ZetaBlock | null {
  try {
    const block = ZetaBlock.restore(resume);
    // A state may start below `from`: its lower terms were committed since (the bottom of a later split).
    if (block.to !== to || block.from > from) throw new RangeError(`resume state is for ${block.from}..${block.to}, not ${from}..${to}`);
    block.narrowTo(from);
    return block;
  } catch (e) {
    if (!(e instanceof RangeError) || !onUnusable) throw e;
    onUnusable(e.message);
    return null;
  }
}

/**
 * The precision of π the blocks of a job up to `target` need at most (its last block's, which may have
 * taken in a remainder: up to 1.5 blocks). A thread that computes π at this precision once saves
 * computing it again at every larger block (growing by half each time, ~3.5× the final cost in all;
 * π to 80 kbit takes 12 ms).
 */
export function piBitsFor(target: number): number {
  if (target <= SMALL_LIMIT) return 0;
  const from = Math.max(SMALL_LIMIT + 1, target - Math.ceil(1.5 * blockSizeAt(target)) + 1);
  return piBitsOfBlock(from, target);
}

/** The next unit of work after `done` terms, or null when the target is reached. */
export function planNext(done: number, target: number): { from: number; to: number } | null {
  if (done >= target) return null;
  const from = done + 1;
  if (from <= SMALL_LIMIT) return { from, to: Math.min(target, SMALL_LIMIT) };
  let to = Math.min(target, done + blockSizeAt(from));
  // A short remainder goes into this block rather than a block of its own: at the end of a job, where
  // terms cost most, it would pay a whole setup for a few terms (N = 4000: 23 terms, 60 ms, where the
  // last block has a 30 ms setup). A thread left idle at the end takes over the bottom of the last block.
  if (target - to < blockSizeAt(to + 1) / 2) to = target;
  return { from, to };
}

export class TangentEngine {
  private targetCount: number;

  constructor(
    target: number,
    readonly verifier: Verifier = new Verifier(),
    private readonly compute: BlockComputer = createBlockComputer(),
  ) {
    this.targetCount = TangentEngine.checkTarget(target);
  }

  private static checkTarget(target: number): number {
    const v = validateCount(target);
    if (!v.ok) throw new RangeError(`invalid count ${target}: ${v.reason}`);
    if (v.value > VERIFIER_MAX_N) throw new RangeError(`count ${target} is beyond the verifier's range`);
    return v.value;
  }

  get done(): number {
    return this.verifier.count;
  }

  get target(): number {
    return this.targetCount;
  }

  get finished(): boolean {
    return this.done >= this.targetCount;
  }

  /** Raising the target continues from where the job is; lowering it below `done` just ends the job. */
  setTarget(target: number): void {
    this.targetCount = TangentEngine.checkTarget(target);
  }

  nextBlock(): { from: number; to: number } | null {
    return planNext(this.done, this.targetCount);
  }

  /**
   * One step: computes the next block, verifies every term independently and only then
   * advances. Throws VerificationError (state unchanged) if any term disagrees.
   */
  step(options?: BlockOptions): Term[] {
    const block = this.nextBlock();
    if (!block) return [];
    const digits = this.compute(block.from, block.to, options);
    return this.acceptBlock(block.from, digits).map((t) => ({ n: t.n, digits: Buffer.from(t.digits.buffer, t.digits.byteOffset, t.digits.length).toString('latin1') }));
  }

  /**
   * Verifies and commits externally computed terms (e.g. from a parallel worker) starting at `from`,
   * as strings or as ASCII bytes (what block workers send), and returns them numbered. `residues`, when
   * given, are the verifier's residuesOf() each term, taken ahead (the comparison itself is done here).
   */
  acceptBlock<D extends string | Uint8Array>(from: number, digits: readonly D[], residues?: readonly (number[] | null)[]): { n: number; digits: D }[] {
    if (from !== this.done + 1) throw new RangeError(`block starts at ${from}, expected ${this.done + 1}`);
    if (residues && residues.length !== digits.length) throw new RangeError(`${residues.length} residues for ${digits.length} terms`);
    const mark = this.verifier.count;
    try {
      return digits.map((d, i) => {
        this.verifier.acceptResidues(from + i, residues ? residues[i] : this.verifier.residuesOf(d));
        return { n: from + i, digits: d };
      });
    } catch (e) {
      // A bad term leaves the state exactly as it was before the block.
      this.verifier.truncate(mark);
      throw e;
    }
  }
}
