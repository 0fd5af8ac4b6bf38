// Glue between the engine and the store: rebuilds an engine from what is on disk, and writes
// checkpoints. The log of finished terms is the truth; a snapshot only saves re-verifying it.
import { ALGORITHM, SEQUENCE, TangentEngine } from '../engine/engine';
import { VerificationError, Verifier } from '../engine/verifier';
import { StoreError, type StateDir } from '../store';

/** In-progress state of a block that was running at the checkpoint. */
export interface PendingBlock {
  from: number;
  to: number;
  state: Uint8Array;
}

/**
 * Snapshot payload: u32 verifier length, verifier state, u32 block count, then per block u32 from, u32 to,
 * u32 length, state. As parts to be written one after the other: the block states (tens of MB at large n)
 * are not copied into one buffer.
 */
export function encodePayload(verifier: Buffer, blocks: readonly PendingBlock[]): Buffer[] {
  const parts: Buffer[] = [];
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v, 0);
    parts.push(b);
  };
  u32(verifier.length);
  parts.push(verifier);
  u32(blocks.length);
  for (const b of blocks) {
    u32(b.from);
    u32(b.to);
    u32(b.state.byteLength);
    parts.push(Buffer.from(b.state.buffer, b.state.byteOffset, b.state.byteLength));
  }
  return parts;
}

export function decodePayload(buf: Buffer): { verifier: Buffer; blocks: PendingBlock[] } {
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
  const verifier = bytes(u32());
  const count = u32();
  const blocks: PendingBlock[] = [];
  for (let i = 0; i < count; i++) {
    const from = u32();
    const to = u32();
    blocks.push({ from, to, state: Buffer.from(bytes(u32())) });
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
    const state = Buffer.from(b.state.buffer, b.state.byteOffset, b.state.byteLength);
    // ZetaBlock state header: magic, from, to, next n (the block runs downwards from `to`, so it has
    // finished n+1..to; a resume narrows it to the terms after the log).
    return state.length >= 16 ? sum + Math.max(0, b.to - Math.max(state.readUInt32LE(12), after)) : sum;
  }, 0);
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
  let blocks: PendingBlock[] = [];
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
      pendingBlocks.push({ ...b, from: Math.max(b.from, next) });
      next = b.to + 1;
    }
  }
  if (pendingBlocks.length) notes.push(`continuing ${pendingBlocks.length} block(s) from their checkpointed state: ${pendingBlocks.map((b) => `${b.from}..${b.to}`).join(', ')}`);
  return { engine, pendingBlocks, storedTarget, snapshot: snap ? { generation: snap.header.generation, position: snap.header.position } : null, notes };
}

export function writeCheckpoint(store: StateDir, engine: TangentEngine, jobTarget: number, blocks: readonly PendingBlock[]) {
  return store.writeSnapshot(
    { sequence: SEQUENCE, algorithm: ALGORITHM, position: engine.done, target: jobTarget, blocks: blocks.map((b) => `${b.from}..${b.to}`) },
    encodePayload(engine.verifier.serialize(), blocks),
  );
}
