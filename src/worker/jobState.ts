// Glue between the engine and the store: rebuilds an engine from what is on disk, and writes
// checkpoints. The log of finished terms is the truth; a snapshot only saves re-verifying it.
import { ALGORITHM, SEQUENCE, TangentEngine } from '../engine/engine';
import { VerificationError, Verifier } from '../engine/verifier';
import { StoreError, type NewTerm, type StateDir } from '../store';
import { joinBlockState, splitBlockState } from '../engine/tangent';

/** In-progress state of a block that was running at the checkpoint (ZetaBlock.serialize(), whole). */
export interface PendingBlock {
  from: number;
  to: number;
  state: Uint8Array;
}

/** A block as a snapshot holds it: its arithmetic (`head`); its finished terms next+1..to are in pending.log. */
export interface StoredBlock {
  from: number;
  to: number;
  next: number;
  head: Uint8Array;
}

/** Payload format 2 starts with this word; format 1 (whole block states) starts with the verifier's length, always smaller. */
const PAYLOAD_V2 = 0x32594150;

/**
 * Snapshot payload (format 2): u32 PAYLOAD_V2, u32 verifier length, verifier state, u32 block count, then
 * per block u32 from, u32 to, u32 next, u32 head length, head. As parts to be written one after the other.
 */
export function encodePayload(verifier: Buffer, blocks: readonly StoredBlock[]): Buffer[] {
  const parts: Buffer[] = [];
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v, 0);
    parts.push(b);
  };
  u32(PAYLOAD_V2);
  u32(verifier.length);
  parts.push(verifier);
  u32(blocks.length);
  for (const b of blocks) {
    u32(b.from);
    u32(b.to);
    u32(b.next);
    u32(b.head.byteLength);
    parts.push(Buffer.from(b.head.buffer, b.head.byteOffset, b.head.byteLength));
  }
  return parts;
}

/** A snapshot's blocks: format 2 (heads; terms in pending.log) or format 1 (whole states, from earlier builds). */
export function decodePayload(buf: Buffer): { verifier: Buffer; blocks: (StoredBlock | PendingBlock)[] } {
  let o = 0;
  const u32 = () => {
    if (o + 4 > buf.length) throw new RangeError('snapshot payload is truncated');
    const v = buf.readUInt32LE(o);
    o += 4;
    return v;
  };
  const bytes = (len: number) => {
    if (o + len > buf.length) throw new RangeError('snapshot payload is truncated');
    const b = buf.subarray(o, o + len);
    o += len;
    return b;
  };
  const v2 = buf.length >= 4 && buf.readUInt32LE(0) === PAYLOAD_V2;
  if (v2) o = 4;
  const verifier = bytes(u32());
  const count = u32();
  const blocks: (StoredBlock | PendingBlock)[] = [];
  for (let i = 0; i < count; i++) {
    const from = u32();
    const to = u32();
    if (v2) {
      const next = u32();
      if (next > to || next < from - 1) throw new RangeError('snapshot payload has an impossible block');
      blocks.push({ from, to, next, head: Buffer.from(bytes(u32())) });
    } else blocks.push({ from, to, state: Buffer.from(bytes(u32())) });
  }
  if (o !== buf.length) throw new RangeError('snapshot payload has trailing bytes');
  return { verifier: Buffer.from(verifier), blocks };
}

/**
 * Terms after term `after` finished inside the checkpointed blocks (those a resume continues when the log
 * holds `after` terms), from a snapshot payload: for progress reports and tests.
 */
export function termsInCheckpointedBlocks(payload: Buffer, after = 0): number {
  return decodePayload(payload).blocks.reduce((sum, b) => {
    if ('next' in b) return sum + Math.max(0, b.to - Math.max(b.next, after));
    const state = Buffer.from(b.state.buffer, b.state.byteOffset, b.state.byteLength);
    // ZetaBlock state header: magic, from, to, next n (the block runs downwards from `to`, so it has
    // finished n+1..to; a resume narrows it to the terms after the log).
    return state.length >= 16 ? sum + Math.max(0, b.to - Math.max(state.readUInt32LE(12), after)) : sum;
  }, 0);
}

/**
 * A stored block made whole again: its head and its finished terms, from pending.log (or, those the log
 * has committed since, from the log). Undefined when one is missing or damaged: the block is recomputed.
 */
function wholeState(store: StateDir, b: StoredBlock): Uint8Array | undefined {
  const logged = Math.min(b.to, store.count);
  const finished: Uint8Array[] = [];
  for (let n = b.next + 1; n <= logged; n++) finished.push(Buffer.from(store.readTerm(n), 'latin1'));
  const rest = store.pending.readRange(Math.max(b.next, logged) + 1, b.to);
  if (!rest) return undefined;
  return joinBlockState(b.head, [...finished, ...rest]);
}

export interface Restored {
  engine: TangentEngine;
  /** Blocks that were in progress at the snapshot and start right after the stored terms. */
  pendingBlocks: PendingBlock[];
  snapshot: { generation: number; position: number } | null;
  /** The target recorded in the snapshot (a smaller request does not shrink the stored job). */
  storedTarget: number | undefined;
  notes: string[];
}

export function restoreEngine(store: StateDir, requestedTarget: number | undefined): Restored {
  const notes: string[] = [];
  const snap = store.latestSnapshot;
  let verifier: Verifier | null = null;
  let storedTarget: number | undefined;
  let blocks: (StoredBlock | PendingBlock)[] = [];
  if (snap) {
    if (snap.header.algorithm !== ALGORITHM) {
      throw new StoreError('VERSION', `the snapshot ${snap.file} was made by algorithm "${snap.header.algorithm}"; this build runs "${ALGORITHM}"`);
    }
    try {
      const payload = decodePayload(snap.payload);
      verifier = Verifier.deserialize(payload.verifier, store.count);
      blocks = payload.blocks;
    } catch (e) {
      throw new StoreError('CORRUPT', `the snapshot ${snap.file} has a valid checksum but unreadable content (${(e as Error).message})`);
    }
    storedTarget = snap.header.target;
    if (snap.header.position > store.count) {
      notes.push(`the log ends at term ${store.count}, before the snapshot's position ${snap.header.position}; continuing from term ${store.count + 1}`);
    }
  }
  verifier ??= new Verifier();

  // Terms logged after the snapshot (or all of them, without one) are checked again independently.
  const from = verifier.count + 1;
  if (from <= store.count) {
    let n = from;
    try {
      for (const term of store.iterate(from, store.count)) {
        verifier.accept(term.n, term.digits);
        n = term.n + 1;
      }
    } catch (e) {
      if (!(e instanceof VerificationError)) throw e;
      notes.push(`stored term ${n} failed verification (${e.message}); the log was cut back to term ${n - 1} and the rest set aside`);
      store.truncateTo(n - 1);
    }
    notes.push(`re-verified stored terms ${from}..${n - 1} that came after the last snapshot`);
  }

  const target = requestedTarget ?? storedTarget ?? (store.count > 0 ? store.count : undefined);
  if (target === undefined) throw new StoreError('CORRUPT', 'there is no job to resume in this state directory');
  const engine = new TangentEngine(Math.max(target, 1), verifier);
  // Blocks beyond the stored terms can be continued. One whose lower terms were logged after the snapshot
  // (the bottom of a split made since) continues from the log's end; the job worker plans fresh blocks for
  // any gap (the bottom of a split that had no state yet).
  const pendingBlocks: PendingBlock[] = [];
  let next = engine.done + 1;
  for (const b of [...blocks].sort((x, y) => x.from - y.from)) {
    if (b.to >= next && b.to <= engine.target) {
      const state = 'state' in b ? b.state : wholeState(store, b);
      if (!state) {
        notes.push(`block ${b.from}..${b.to}: terms it had finished are missing from pending.log; recomputing it`);
        continue;
      }
      pendingBlocks.push({ from: Math.max(b.from, next), to: b.to, state });
      next = b.to + 1;
    }
  }
  if (pendingBlocks.length) notes.push(`continuing ${pendingBlocks.length} block(s) from their checkpointed state: ${pendingBlocks.map((b) => `${b.from}..${b.to}`).join(', ')}`);
  return { engine, pendingBlocks, storedTarget, snapshot: snap ? { generation: snap.header.generation, position: snap.header.position } : null, notes };
}

/**
 * Writes a checkpoint: the blocks' finished terms that pending.log does not have yet go there first (fsynced),
 * then the snapshot with each block's arithmetic only. Terms the log has since committed are dropped from
 * pending.log once they are most of it.
 */
export function writeCheckpoint(store: StateDir, engine: TangentEngine, jobTarget: number, blocks: readonly PendingBlock[]) {
  const pending = store.pending;
  const stored: StoredBlock[] = [];
  const runs: NewTerm[][] = [];
  for (const b of blocks) {
    const s = splitBlockState(b.state);
    let run: NewTerm[] = [];
    for (let i = 0; i < s.finished.length; i++) {
      const n = s.next + 1 + i;
      if (!pending.has(n)) run.push({ n, digits: s.finished[i] });
      else if (run.length) {
        runs.push(run);
        run = [];
      }
    }
    if (run.length) runs.push(run);
    stored.push({ from: b.from, to: b.to, next: s.next, head: s.head });
  }
  pending.append(runs);
  const snap = store.writeSnapshot(
    { sequence: SEQUENCE, algorithm: ALGORITHM, position: engine.done, target: jobTarget, blocks: blocks.map((b) => `${b.from}..${b.to}`) },
    encodePayload(engine.verifier.serialize(), stored),
  );
  pending.compact(engine.done);
  return snap;
}
