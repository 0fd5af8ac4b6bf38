// Terms finished inside blocks still in progress (pending.log): what lets a checkpoint write only the
// progress made since the last one. A block computes its terms from the top down and hands them to the log
// only when it ends, in order; until then they live in its state. Rewriting all of them at every
// checkpoint made a checkpoint's cost grow with the block (14 MB and ~100 ms at N = 4000), which made
// frequent checkpoints, the only defence against frequent crashes, unaffordable. Now each checkpoint
// appends the terms that are new since the last one, here, fsynced before the snapshot that counts on them,
// and the snapshot keeps only the blocks' arithmetic state.
//
// pending.log: "TANPEND\0" | u32 version | u32 crc32c(first 12 bytes), then records exactly as in terms.log
// (u32 magic | u32 n | u32 L | L digits | u32 CRC-32 of n, L and digits), in any order of n. Records are
// checked when read; the file is scanned by their prefixes at open (a torn tail is cut, damage is set aside).
// Terms at or below the log's count are never needed again (the log has them): compaction drops them.
import * as path from 'path';
import { crc32c } from './crc32';
import { fs } from './fileLayer';
import { atomicWriteFile, closeQuietly, errnoCode, fsyncDir, io, ioError, quarantinePath, readFully, writevFully } from './fsutil';
import { CURRENT_LOG_FORMAT, EncodedTerms, RECORD_MAGIC, RECORD_OVERHEAD, maxDigits, type NewTerm } from './termRecord';

export const PENDING_FILE = 'pending.log';
const MAGIC = Buffer.from('TANPEND\0', 'latin1');
const VERSION = 1;
const HEADER_SIZE = 16;
const PREFIX = 12;
/** Compaction pays off once the dead records are this large and outweigh the live ones. */
const COMPACT_MIN_DEAD_BYTES = 8 << 20;

function header(): Buffer {
  const b = Buffer.alloc(HEADER_SIZE);
  MAGIC.copy(b, 0);
  b.writeUInt32LE(VERSION, 8);
  b.writeUInt32LE(crc32c(b.subarray(0, 12)), 12);
  return b;
}

function headerOk(b: Buffer): boolean {
  return b.length === HEADER_SIZE && b.subarray(0, 8).equals(MAGIC) && b.readUInt32LE(8) === VERSION && b.readUInt32LE(12) === crc32c(b.subarray(0, 12));
}

interface Place {
  offset: number;
  length: number;
}

export interface PendingTermsOptions {
  durable: boolean;
  /** Read only (a reader beside the writer): nothing is created, cut or set aside. */
  readOnly?: boolean;
  /** A recovery (goes to the state directory's recoveries). */
  report(line: string): void;
}

export class PendingTerms {
  private fd: number | null = null;
  private size = HEADER_SIZE;
  private readonly places = new Map<number, Place>();
  readonly file: string;

  private constructor(
    readonly dir: string,
    private readonly opts: PendingTermsOptions,
  ) {
    this.file = path.join(dir, PENDING_FILE);
  }

  /** Opens (creating) pending.log for the writer of `dir`, recovering a torn tail or setting damage aside. */
  static open(dir: string, opts: PendingTermsOptions): PendingTerms {
    const p = new PendingTerms(dir, opts);
    try {
      p.openAndScan();
    } catch (e) {
      p.close();
      throw e;
    }
    return p;
  }

  private openAndScan(): void {
    let fd: number | undefined;
    try {
      fd = fs.openSync(this.file, this.opts.readOnly ? 'r' : 'r+');
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw ioError(e, `open ${this.file}`);
    }
    if (this.opts.readOnly) {
      if (fd === undefined) return;
      const head = Buffer.alloc(HEADER_SIZE);
      this.fd = fd;
      if (readFully(fd, head, 0, HEADER_SIZE, 0) === HEADER_SIZE && headerOk(head)) this.scan(fs.fstatSync(fd).size);
      return;
    }
    if (fd !== undefined) {
      const size = fs.fstatSync(fd).size;
      const head = Buffer.alloc(HEADER_SIZE);
      if (readFully(fd, head, 0, HEADER_SIZE, 0) === HEADER_SIZE && headerOk(head)) {
        this.fd = fd;
        this.scan(size);
        return;
      }
      fs.closeSync(fd);
      if (size > 0) {
        const aside = quarantinePath(this.file);
        io(`move ${this.file} aside`, () => fs.renameSync(this.file, aside));
        if (this.opts.durable) fsyncDir(this.dir);
        this.opts.report(`pending.log had no valid header; moved it aside to ${path.basename(aside)} (the blocks in progress it held are recomputed)`);
      }
    }
    atomicWriteFile(this.file, header(), { durable: this.opts.durable });
    this.fd = io(`open ${this.file}`, () => fs.openSync(this.file, 'r+'));
    this.size = HEADER_SIZE;
  }

  /** Indexes the records by their prefixes; the first one that cannot be a record ends the valid part. */
  private scan(size: number): void {
    const fd = this.fd as number;
    const prefix = Buffer.alloc(PREFIX);
    let pos = HEADER_SIZE;
    let problem: string | undefined;
    while (pos < size) {
      if (readFully(fd, prefix, 0, PREFIX, pos) < PREFIX) {
        problem = 'torn';
        break;
      }
      const n = prefix.readUInt32LE(4);
      const L = prefix.readUInt32LE(8);
      if (prefix.readUInt32LE(0) !== RECORD_MAGIC || n < 1 || L < 1 || L > maxDigits(n)) {
        problem = 'damaged';
        break;
      }
      if (pos + RECORD_OVERHEAD + L > size) {
        problem = 'torn';
        break;
      }
      this.places.set(n, { offset: pos, length: RECORD_OVERHEAD + L });
      pos += RECORD_OVERHEAD + L;
    }
    this.size = pos;
    if (this.opts.readOnly) return;
    if (problem === 'damaged') {
      const aside = this.copyAside(pos, size);
      this.opts.report(`pending.log is damaged at byte ${pos}; moved the ${size - pos} bytes from there to ${path.basename(aside)} (blocks whose terms were there are recomputed)`);
    }
    if (pos < size) {
      io(`truncate ${this.file}`, () => {
        fs.ftruncateSync(fd, pos);
        if (this.opts.durable) fs.fsyncSync(fd);
      });
    }
    this.size = pos;
  }

  private copyAside(from: number, to: number): string {
    const target = quarantinePath(this.file);
    const buf = Buffer.alloc(to - from);
    readFully(this.fd as number, buf, 0, buf.length, from);
    atomicWriteFile(target, buf, { durable: this.opts.durable });
    return target;
  }

  has(n: number): boolean {
    return this.places.has(n);
  }

  get bytes(): number {
    return this.size;
  }

  /**
   * Appends runs of consecutive terms (one writev, one fsync): once it returns they are durable, and a
   * snapshot may count on them.
   */
  append(runs: readonly (readonly NewTerm[])[]): void {
    if (this.opts.readOnly) throw new Error('pending.log was opened read-only');
    const encoded = runs.filter((r) => r.length > 0).map((r) => EncodedTerms.of(r, CURRENT_LOG_FORMAT));
    if (encoded.length === 0) return;
    const fd = this.fd as number;
    const start = this.size;
    try {
      writevFully(fd, encoded.flatMap((e) => e.pieces), start);
      if (this.opts.durable) fs.fsyncSync(fd);
    } catch (e) {
      try {
        fs.ftruncateSync(fd, start);
      } catch {
        /* the next open cuts it */
      }
      throw ioError(e, `append to ${this.file}`);
    }
    let at = start;
    for (const e of encoded) {
      for (let i = 0; i < e.count; i++) {
        const length = RECORD_OVERHEAD + e.lengths[i];
        this.places.set(e.first + i, { offset: at, length });
        at += length;
      }
    }
    this.size = at;
  }

  /**
   * Terms from..to, or undefined if one is absent or damaged (its block is then recomputed). Records that lie
   * next to each other in the file are read at once (a block's terms were appended a run per checkpoint),
   * and each is checked by its checksum (its digits were checked when it was appended); the digits are
   * views into those reads: at N = 4000, 394 terms (9 MB) in 12 ms instead of 34 one by one.
   */
  readRange(from: number, to: number): Uint8Array[] | undefined {
    if (to < from) return [];
    if (this.fd === null) return undefined;
    const places: Place[] = [];
    for (let n = from; n <= to; n++) {
      const p = this.places.get(n);
      if (!p) return undefined;
      places.push(p);
    }
    const order = places.map((_, i) => i).sort((a, b) => places[a].offset - places[b].offset);
    const out: Uint8Array[] = new Array<Uint8Array>(places.length);
    for (let i = 0; i < order.length; ) {
      // One read for a stretch of records that follow each other in the file.
      let j = i + 1;
      let end = places[order[i]].offset + places[order[i]].length;
      while (j < order.length && places[order[j]].offset === end) end += places[order[j++]].length;
      const start = places[order[i]].offset;
      const buf = Buffer.allocUnsafe(end - start);
      if (readFully(this.fd, buf, 0, buf.length, start) !== buf.length) return undefined;
      for (let k = i; k < j; k++) {
        const p = places[order[k]];
        const rec = buf.subarray(p.offset - start, p.offset - start + p.length);
        const n = from + order[k];
        const L = rec.readUInt32LE(8);
        if (rec.readUInt32LE(0) !== RECORD_MAGIC || rec.readUInt32LE(4) !== n || L + RECORD_OVERHEAD !== p.length) return undefined;
        if (rec.readUInt32LE(PREFIX + L) !== CURRENT_LOG_FORMAT.checksum(rec.subarray(4, PREFIX + L))) return undefined;
        out[order[k]] = rec.subarray(PREFIX, PREFIX + L);
      }
      i = j;
    }
    return out;
  }

  /**
   * Drops the terms at or below `committed` (the log holds them) once they are most of the file: the live
   * records are rewritten beside it and renamed over it, so a crash leaves the old file or the new one.
   */
  compact(committed: number): boolean {
    if (this.opts.readOnly) return false;
    let live = 0;
    for (const [n, p] of this.places) if (n > committed) live += p.length;
    const dead = this.size - HEADER_SIZE - live;
    if (dead < COMPACT_MIN_DEAD_BYTES || dead < live) return false;
    const keep = [...this.places].filter(([n]) => n > committed).sort((a, b) => a[1].offset - b[1].offset);
    const parts: Buffer[] = [header()];
    const places = new Map<number, Place>();
    let at = HEADER_SIZE;
    for (const [n, p] of keep) {
      const rec = Buffer.allocUnsafe(p.length);
      readFully(this.fd as number, rec, 0, p.length, p.offset);
      parts.push(rec);
      places.set(n, { offset: at, length: p.length });
      at += p.length;
    }
    atomicWriteFile(this.file, parts, { durable: this.opts.durable });
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = io(`open ${this.file}`, () => fs.openSync(this.file, 'r+'));
    this.places.clear();
    for (const [n, p] of places) this.places.set(n, p);
    this.size = at;
    return true;
  }

  close(): void {
    this.fd = closeQuietly(this.fd);
  }
}
