// Versioned, checksummed snapshots: snapshot-<10-digit gen>.snap
//   "TANSNAP\0" | u32 version | u32 H | H bytes JSON header | u32 P | P bytes payload | u32 crc32c(all before)
// Every format version keeps the trailing CRC-32C over all preceding bytes, so a
// newer file (valid CRC, other version) can be told apart from a damaged one.
import { fs } from './fileLayer';
import * as path from 'path';
import { crc32c } from './crc32';
import { StoreError } from './errors';
import { atomicWriteFile, errnoCode, io, ioError, quarantinePath, fsyncDir } from './fsutil';

export const SNAP_MAGIC = Buffer.from('TANSNAP\0', 'latin1');
export const SNAP_VERSION = 1;
export const SEQUENCE = 'A000182';
const MIN_SIZE = 8 + 4 + 4 + 4 + 4;
const NAME_RE = /^snapshot-(\d{10})\.snap$/;
/** Any file that used a generation number (including set-aside and temp ones). */
const GEN_RE = /^snapshot-(\d{10})\.snap/;

export interface SnapshotHeader {
  sequence: 'A000182';
  algorithm: string;
  position: number;
  target: number;
  [k: string]: unknown;
}

export interface Snapshot {
  header: SnapshotHeader & { createdAt: string; generation: number };
  readonly payload: Buffer;
  payloadBytes: number;
  file: string;
}

export function snapshotName(gen: number): string {
  return `snapshot-${String(gen).padStart(10, '0')}.snap`;
}

/** A snapshot just written from parts: its payload is joined only if someone asks for it (rarely: a writer does not). */
function writtenSnapshot(header: Snapshot['header'], payload: Uint8Array | readonly Uint8Array[], file: string): Snapshot {
  let joined: Buffer | undefined;
  const parts = payload instanceof Uint8Array ? [payload] : payload;
  return {
    header,
    file,
    payloadBytes: parts.reduce((sum, part) => sum + part.length, 0),
    get payload(): Buffer {
      return (joined ??= Buffer.concat(parts));
    },
  };
}

/**
 * The snapshot file as parts to be written in order: the payload's parts are not copied (block states
 * are tens of MB at large n), and the CRC is carried across them.
 */
export function encodeSnapshot(header: object, payload: Uint8Array | readonly Uint8Array[], version = SNAP_VERSION): Buffer[] {
  const parts = payload instanceof Uint8Array ? [payload] : payload;
  const payloadLength = parts.reduce((sum, part) => sum + part.length, 0);
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const head = Buffer.allocUnsafe(8 + 4 + 4 + json.length + 4);
  let p = SNAP_MAGIC.copy(head, 0);
  p = head.writeUInt32LE(version, p);
  p = head.writeUInt32LE(json.length, p);
  p += json.copy(head, p);
  head.writeUInt32LE(payloadLength, p);
  let crc = crc32c(head);
  for (const part of parts) crc = crc32c(part, crc);
  const tail = Buffer.allocUnsafe(4);
  tail.writeUInt32LE(crc, 0);
  return [head, ...parts.map((part) => Buffer.from(part.buffer, part.byteOffset, part.length)), tail];
}

export type ParsedSnapshot =
  | { kind: 'ok'; snap: Snapshot }
  | { kind: 'corrupt'; reason: string }
  | { kind: 'version'; version: number }
  | { kind: 'sequence'; sequence: string };

export function parseSnapshot(buf: Buffer, file: string, gen: number): ParsedSnapshot {
  if (buf.length < MIN_SIZE) return { kind: 'corrupt', reason: `it is too short (${buf.length} bytes)` };
  if (!buf.subarray(0, 8).equals(SNAP_MAGIC)) return { kind: 'corrupt', reason: 'its magic is wrong' };
  const end = buf.length - 4;
  if (buf.readUInt32LE(end) !== crc32c(buf.subarray(0, end))) return { kind: 'corrupt', reason: 'its checksum is wrong' };
  const version = buf.readUInt32LE(8);
  if (version !== SNAP_VERSION) return { kind: 'version', version };
  const H = buf.readUInt32LE(12);
  if (16 + H + 4 > end) return { kind: 'corrupt', reason: 'its header length is out of range' };
  const P = buf.readUInt32LE(16 + H);
  if (16 + H + 4 + P !== end) return { kind: 'corrupt', reason: 'its lengths do not add up' };
  let h: Record<string, unknown>;
  try {
    h = JSON.parse(buf.toString('utf8', 16, 16 + H)) as Record<string, unknown>;
  } catch {
    return { kind: 'corrupt', reason: 'its header is not JSON' };
  }
  if (typeof h !== 'object' || h === null || Array.isArray(h)) return { kind: 'corrupt', reason: 'its header is not an object' };
  if (typeof h.sequence !== 'string') return { kind: 'corrupt', reason: 'its header has no sequence' };
  if (h.sequence !== SEQUENCE) return { kind: 'sequence', sequence: h.sequence };
  if (
    typeof h.algorithm !== 'string' ||
    !Number.isInteger(h.position) ||
    (h.position as number) < 0 ||
    typeof h.target !== 'number' ||
    typeof h.createdAt !== 'string' ||
    h.generation !== gen
  ) {
    return { kind: 'corrupt', reason: 'its header lacks algorithm/position/target/createdAt or has the wrong generation' };
  }
  return {
    kind: 'ok',
    snap: { header: h as Snapshot['header'], payload: buf.subarray(16 + H + 4, end), payloadBytes: end - (16 + H + 4), file },
  };
}

export interface SnapshotStoreOptions {
  mode: 'write' | 'read';
  durable: boolean;
  report(line: string): void;
  info(line: string): void;
}

/** The snapshot generations of one state directory. */
export class SnapshotStore {
  private nextGen = 1;
  /** Generations known to be valid (read or written by us), with their position. */
  private readonly known = new Map<number, number>();
  private _latest: Snapshot | null = null;

  constructor(
    readonly dir: string,
    private readonly opts: SnapshotStoreOptions,
  ) {}

  get latest(): Snapshot | null {
    return this._latest;
  }

  private names(): string[] {
    try {
      return fs.readdirSync(this.dir);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return [];
      throw ioError(e, `list ${this.dir}`);
    }
  }

  /** Generations with a live snapshot file, newest first. */
  private generations(): number[] {
    const gens: number[] = [];
    for (const name of this.names()) {
      const g = GEN_RE.exec(name);
      if (g) this.nextGen = Math.max(this.nextGen, Number(g[1]) + 1);
      const m = NAME_RE.exec(name);
      if (m) gens.push(Number(m[1]));
    }
    return gens.sort((a, b) => b - a);
  }

  private read(gen: number): ParsedSnapshot {
    const file = path.join(this.dir, snapshotName(gen));
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return { kind: 'corrupt', reason: 'it vanished' };
      throw ioError(e, `read ${file}`);
    }
    return parseSnapshot(buf, file, gen);
  }

  private setAside(gen: number, reason: string): void {
    const file = path.join(this.dir, snapshotName(gen));
    this.known.delete(gen);
    if (this.opts.mode === 'read') {
      this.opts.report(`skipped ${snapshotName(gen)}: ${reason} (read-only: left in place)`);
      return;
    }
    if (!fs.existsSync(file)) return;
    const target = quarantinePath(file);
    io(`move ${file} aside`, () => fs.renameSync(file, target));
    if (this.opts.durable) fsyncDir(this.dir);
    this.opts.report(`set ${snapshotName(gen)} aside as ${path.basename(target)}: ${reason}`);
  }

  private refuse(p: ParsedSnapshot, gen: number): never {
    const file = path.join(this.dir, snapshotName(gen));
    if (p.kind === 'version') {
      throw new StoreError(
        'VERSION',
        `${file} was written by snapshot format version ${p.version}; this build reads version ${SNAP_VERSION}`,
      );
    }
    throw new StoreError('SEQUENCE', `${file} is a snapshot of sequence ${(p as { sequence: string }).sequence}, not ${SEQUENCE}`);
  }

  /**
   * Selects the newest valid snapshot at or below `maxPosition` (the terms in the log).
   * Damaged ones, and ones ahead of the log, are set aside on the way down.
   */
  load(maxPosition: number): Snapshot | null {
    this._latest = null;
    for (const gen of this.generations()) {
      const p = this.read(gen);
      if (p.kind === 'version' || p.kind === 'sequence') this.refuse(p, gen);
      if (p.kind === 'corrupt') {
        this.setAside(gen, `it is damaged (${p.reason})`);
        continue;
      }
      const pos = p.snap.header.position;
      if (pos > maxPosition) {
        this.setAside(gen, `it is at term ${pos} but terms.log holds only ${maxPosition} terms`);
        continue;
      }
      this.known.set(gen, pos);
      this._latest = p.snap;
      return p.snap;
    }
    return null;
  }

  write(header: SnapshotHeader, payload: Uint8Array | readonly Uint8Array[], maxPosition: number): Snapshot {
    if (this.opts.mode !== 'write') throw new Error('this state directory was opened read-only');
    if (!header || header.sequence !== SEQUENCE) throw new RangeError(`snapshot header must have sequence '${SEQUENCE}'`);
    if (typeof header.algorithm !== 'string') throw new RangeError('snapshot header needs an algorithm string');
    if (typeof header.target !== 'number') throw new RangeError('snapshot header needs a numeric target');
    if (!Number.isInteger(header.position) || header.position < 0 || header.position > maxPosition) {
      throw new RangeError(
        `snapshot position ${header.position} must be an integer within 0..${maxPosition} (the terms durable in the log)`,
      );
    }
    if (!((payload as unknown) instanceof Uint8Array) && !(Array.isArray(payload) && payload.every((part) => part instanceof Uint8Array))) {
      throw new RangeError('snapshot payload must be a Buffer or an array of them');
    }
    this.generations(); // refresh nextGen
    const gen = this.nextGen;
    const full = { ...header, createdAt: new Date().toISOString(), generation: gen } as Snapshot['header'];
    const file = path.join(this.dir, snapshotName(gen));
    atomicWriteFile(file, encodeSnapshot(full, payload), { durable: this.opts.durable });
    this.nextGen = gen + 1;
    this.known.set(gen, header.position);
    const snap = writtenSnapshot(full, payload, file);
    this._latest = snap;
    this.prune();
    return snap;
  }

  /** Keeps the newest two valid generations; deletes older valid ones, sets aside damaged ones. */
  private prune(): void {
    let kept = 0;
    for (const gen of this.generations()) {
      if (!this.known.has(gen)) {
        const p = this.read(gen);
        if (p.kind === 'corrupt') {
          this.setAside(gen, `it is damaged (${p.reason})`);
          continue;
        }
        if (p.kind !== 'ok') continue; // another build's or sequence's file: not ours to judge
      }
      if (kept < 2) {
        kept++;
        continue;
      }
      const file = path.join(this.dir, snapshotName(gen));
      try {
        fs.unlinkSync(file);
        this.known.delete(gen);
        this.opts.info(`deleted superseded ${snapshotName(gen)}`);
      } catch (e) {
        this.opts.info(`could not delete superseded ${snapshotName(gen)}: ${(e as Error).message}`);
      }
    }
  }

  /** Live snapshot files (names). */
  files(): string[] {
    return this.generations().map(snapshotName);
  }

  bytes(): number {
    let total = 0;
    for (const name of this.files()) {
      try {
        total += fs.statSync(path.join(this.dir, name)).size;
      } catch {
        /* vanished */
      }
    }
    return total;
  }
}
