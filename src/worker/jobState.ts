// Glue between the engine and the store: rebuilds an engine from what is on disk, and writes
// checkpoints. The log of finished terms is the truth; a snapshot only saves re-verifying it.
import { ALGORITHM, SEQUENCE, TangentEngine } from '../engine/engine';
import { VerificationError, Verifier } from '../engine/verifier';
import { StoreError, type StateDir } from '../store';

export interface Restored {
  engine: TangentEngine;
  snapshot: { generation: number; position: number } | null;
  notes: string[];
}

export function restoreEngine(store: StateDir, requestedTarget: number | undefined): Restored {
  const notes: string[] = [];
  const snap = store.latestSnapshot;
  let verifier: Verifier | null = null;
  let storedTarget: number | undefined;
  if (snap) {
    if (snap.header.algorithm !== ALGORITHM) {
      throw new StoreError('VERSION', `the snapshot ${snap.file} was made by algorithm "${snap.header.algorithm}"; this build runs "${ALGORITHM}"`);
    }
    try {
      verifier = Verifier.deserialize(snap.payload, store.count);
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
  return { engine, snapshot: snap ? { generation: snap.header.generation, position: snap.header.position } : null, notes };
}

export function writeCheckpoint(store: StateDir, engine: TangentEngine) {
  return store.writeSnapshot({ sequence: SEQUENCE, algorithm: ALGORITHM, position: engine.done, target: engine.target }, engine.verifier.serialize());
}
