// A power-loss model of the store's file system calls, in the spirit of SQLite's crash VFS (test6.c) and
// ALICE (Pillai et al., OSDI'14): FsRecorder wraps the functions of src/store/fileLayer's `fs` (each still
// does the real call) and records an ordered trace of what they changed; CrashModel replays a trace up
// to a crash point and lists the directory trees a power loss there may leave.
//
// The rules (Linux, ext4-like, but conservative: nothing is assumed that POSIX does not promise):
// - a file's data and size are durable once the file is fsynced (fsync or fdatasync);
// - data or a size change not yet fsynced may be lost entirely, kept, or torn at a 512-byte boundary
//   (new sectors before it and old ones after, or — written out of order — the other way round); a grown
//   size may reach the disk without the data (the tail reads as zeros);
// - a create, mkdir, rename or unlink is durable once its directory is fsynced (a rename across two
//   directories once both are); before that it may or may not have happened, each independently of the
//   others, but a rename is atomic (old name or new, never neither, never both);
// - a name inside a directory whose own entry did not survive is gone with it.
import { createHash } from 'node:crypto';
import * as nodeFs from 'node:fs';
import * as path from 'node:path';
import { fs as layer } from '../../src/store/fileLayer';

export const SECTOR = 512;
/** The namespace value of a directory (files carry their inode number, 1 and up). */
const DIR = 0;

export type MetaOp =
  | { kind: 'create'; path: string; ino: number }
  | { kind: 'mkdir'; path: string }
  | { kind: 'rename'; from: string; to: string; ino: number }
  | { kind: 'unlink'; path: string };
export type DataOp =
  | { kind: 'write'; path: string; ino: number; offset: number; data: Buffer }
  | { kind: 'truncate'; path: string; ino: number; size: number }
  | { kind: 'fsync'; path: string; ino: number }
  | { kind: 'fsyncDir'; path: string };
/** One recorded change; paths are relative to the recorder's root, with '/' separators ('' is the root). */
export type Op = (MetaOp | DataOp) & { phase: string };

export function describeOp(op: Op): string {
  switch (op.kind) {
    case 'write':
      return `write ${op.data.length} bytes at ${op.offset} of ${op.path}`;
    case 'truncate':
      return `truncate ${op.path} to ${op.size}`;
    case 'fsync':
      return `fsync ${op.path}`;
    case 'fsyncDir':
      return `fsync directory ${op.path || '.'}`;
    case 'rename':
      return `rename ${op.from} -> ${op.to}`;
    default:
      return `${op.kind} ${op.path}`;
  }
}

type AnyFn = (...args: unknown[]) => unknown;

/** Mutating functions the model does not know: recording fails loudly rather than miss a change. */
const UNMODELLED_SYNC = ['linkSync', 'symlinkSync', 'cpSync', 'mkdtempSync'];
const ASYNC_MUTATORS = [
  'open', 'write', 'writev', 'writeFile', 'appendFile', 'rename', 'unlink', 'rm', 'rmdir', 'mkdir', 'copyFile',
  'truncate', 'ftruncate', 'fsync', 'fdatasync', 'link', 'symlink', 'cp', 'mkdtemp',
];

function openFlags(flags: unknown): number {
  const c = nodeFs.constants;
  if (typeof flags === 'number') return flags;
  const s = typeof flags === 'string' ? flags : 'r';
  let bits = s.includes('+') ? c.O_RDWR : s[0] === 'r' ? c.O_RDONLY : c.O_WRONLY;
  if (s[0] === 'w') bits |= c.O_CREAT | c.O_TRUNC;
  if (s[0] === 'a') bits |= c.O_CREAT | c.O_APPEND;
  if (s.includes('x')) bits |= c.O_EXCL;
  if (s.includes('s')) bits |= c.O_SYNC;
  return bits;
}

function bytesOf(data: unknown, encoding?: unknown): Buffer {
  if (typeof data === 'string') return Buffer.from(data, (typeof encoding === 'string' ? encoding : 'utf8') as BufferEncoding);
  const v = data as ArrayBufferView;
  return Buffer.from(Buffer.from(v.buffer, v.byteOffset, v.byteLength)); // a copy: callers reuse buffers
}

interface OpenFile {
  ino: number;
  rel: string;
  dir: boolean;
  pos: number;
  append: boolean;
  sync: boolean;
}

/**
 * Records every change the store makes under `root` through src/store/fileLayer's `fs`. Files under
 * `root` when it starts are taken as durable. Markers (the test's own notes, e.g. "terms 1..n were
 * reported durable") are placed between operations: `at` is the number of operations before them.
 */
export class FsRecorder {
  readonly ops: Op[] = [];
  /** Inodes of the files present at the start, with their (durable) content. */
  readonly initialFiles = new Map<number, Buffer>();
  /** The namespace at the start: relative path -> inode (0 for a directory). */
  readonly initialNames = new Map<string, number>();
  /**
   * What the recorder could not model. Also thrown, but the store may catch an error (fsyncDir ignores a
   * directory it cannot open, for Windows), so the test asserts this is empty.
   */
  readonly problems: string[] = [];
  phase = '';
  private readonly names = new Map<string, number>();
  private readonly fds = new Map<number, OpenFile>();
  private readonly originals = new Map<string, unknown>();
  private nextIno = 1;

  constructor(readonly root: string) {
    const scan = (rel: string) => {
      for (const e of nodeFs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
          this.initialNames.set(r, DIR);
          scan(r);
        } else if (e.isFile()) {
          const ino = this.nextIno++;
          this.initialNames.set(r, ino);
          this.initialFiles.set(ino, nodeFs.readFileSync(path.join(root, r)));
        }
      }
    };
    scan('');
    this.names.set('', DIR);
    for (const [k, v] of this.initialNames) this.names.set(k, v);
  }

  private fail(message: string): never {
    this.problems.push(message);
    throw new Error(`power-loss recorder: ${message}`);
  }

  /** Path relative to the root ('/'-separated), or null outside it. */
  rel(p: unknown): string | null {
    if (typeof p !== 'string' && !Buffer.isBuffer(p) && !(p instanceof URL)) return null;
    const abs = path.resolve(p instanceof URL ? p.pathname : String(p));
    const r = path.relative(this.root, abs);
    if (r.startsWith('..') || path.isAbsolute(r)) return null;
    return r.split(path.sep).join('/');
  }

  private push(op: MetaOp | DataOp): void {
    this.ops.push({ ...op, phase: this.phase });
  }

  private known(r: string, what: string): number {
    const ino = this.names.get(r);
    if (ino === undefined) this.fail(`${what} ${r}, which was made outside src/store/fileLayer`);
    return ino;
  }

  start(): void {
    const fsObj = layer as unknown as Record<string, unknown>;
    const wrap = (name: string, make: (orig: AnyFn) => AnyFn) => {
      const orig = fsObj[name] as AnyFn;
      this.originals.set(name, orig);
      fsObj[name] = make(orig);
    };
    const c = nodeFs.constants;

    wrap('openSync', (orig) => (p, flags, mode) => {
      const r = this.rel(p);
      if (r === null) return orig(p, flags, mode);
      const bits = openFlags(flags);
      const before = this.names.get(r);
      const fd = orig(p, flags, mode) as number;
      const dir = nodeFs.fstatSync(fd).isDirectory();
      let ino = before;
      if (ino === undefined) {
        if (!(bits & c.O_CREAT)) this.fail(`opened ${r}, which was made outside src/store/fileLayer`);
        ino = this.nextIno++;
        this.names.set(r, ino);
        this.push({ kind: 'create', path: r, ino });
      } else if (!dir && bits & c.O_TRUNC && (bits & 3) !== c.O_RDONLY) {
        this.push({ kind: 'truncate', path: r, ino, size: 0 });
      }
      this.fds.set(fd, { ino, rel: r, dir, pos: 0, append: (bits & c.O_APPEND) !== 0, sync: (bits & (c.O_SYNC | c.O_DSYNC)) !== 0 });
      return fd;
    });
    wrap('closeSync', (orig) => (fd) => {
      const out = orig(fd);
      this.fds.delete(fd as number);
      return out;
    });
    const recordWrite = (f: OpenFile, fd: number, data: Buffer, position: unknown, n: number) => {
      const at = typeof position === 'number' && position >= 0 ? position : f.append ? nodeFs.fstatSync(fd).size - n : f.pos;
      if (!(typeof position === 'number' && position >= 0)) f.pos = at + n;
      this.push({ kind: 'write', path: f.rel, ino: f.ino, offset: at, data: data.subarray(0, n) });
      if (f.sync) this.push({ kind: 'fsync', path: f.rel, ino: f.ino });
    };
    wrap('writeSync', (orig) => (fd, buf, a, b, d) => {
      const f = this.fds.get(fd as number);
      if (!f) return orig(fd, buf, a, b, d);
      let data: Buffer;
      let position: unknown;
      if (typeof buf === 'string') {
        data = bytesOf(buf, b);
        position = a;
      } else if (a !== null && typeof a === 'object') {
        const o = a as { offset?: number; length?: number; position?: number | null };
        const all = bytesOf(buf);
        const off = o.offset ?? 0;
        data = all.subarray(off, off + (o.length ?? all.length - off));
        position = o.position;
      } else {
        const all = bytesOf(buf);
        const off = typeof a === 'number' ? a : 0;
        data = all.subarray(off, off + (typeof b === 'number' ? b : all.length - off));
        position = d;
      }
      const n = orig(fd, buf, a, b, d) as number;
      recordWrite(f, fd as number, data, position, n);
      return n;
    });
    wrap('writevSync', (orig) => (fd, bufs, position) => {
      const f = this.fds.get(fd as number);
      if (!f) return orig(fd, bufs, position);
      const data = Buffer.concat((bufs as ArrayBufferView[]).map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength)));
      const n = orig(fd, bufs, position) as number;
      recordWrite(f, fd as number, data, position, n);
      return n;
    });
    wrap('ftruncateSync', (orig) => (fd, len) => {
      const out = orig(fd, len);
      const f = this.fds.get(fd as number);
      if (f) this.push({ kind: 'truncate', path: f.rel, ino: f.ino, size: typeof len === 'number' ? len : 0 });
      return out;
    });
    wrap('truncateSync', (orig) => (p, len) => {
      const r = this.rel(p);
      const out = orig(p, len);
      if (r !== null) this.push({ kind: 'truncate', path: r, ino: this.known(r, 'truncated'), size: typeof len === 'number' ? len : 0 });
      return out;
    });
    for (const name of ['fsyncSync', 'fdatasyncSync']) {
      wrap(name, (orig) => (fd) => {
        const out = orig(fd);
        const f = this.fds.get(fd as number);
        if (f) this.push(f.dir ? { kind: 'fsyncDir', path: f.rel } : { kind: 'fsync', path: f.rel, ino: f.ino });
        return out;
      });
    }
    wrap('renameSync', (orig) => (a, b) => {
      const ra = this.rel(a);
      const rb = this.rel(b);
      if (ra === null && rb === null) return orig(a, b);
      if (ra === null || rb === null) this.fail(`rename across the recorded root (${String(a)} -> ${String(b)})`);
      const ino = this.known(ra, 'renamed');
      if (ino === DIR) this.fail(`renaming a directory (${ra}) is not modelled`);
      const out = orig(a, b);
      this.names.delete(ra);
      this.names.set(rb, ino);
      this.push({ kind: 'rename', from: ra, to: rb, ino });
      return out;
    });
    const removeTree = (r: string) => {
      const gone = [...this.names.keys()].filter((k) => k === r || k.startsWith(`${r}/`)).sort((x, y) => y.length - x.length);
      for (const k of gone) {
        this.names.delete(k);
        this.push({ kind: 'unlink', path: k });
      }
    };
    for (const name of ['unlinkSync', 'rmdirSync', 'rmSync']) {
      wrap(name, (orig) => (p, opts) => {
        const r = this.rel(p);
        const out = orig(p, opts);
        if (r !== null) removeTree(r);
        return out;
      });
    }
    wrap('mkdirSync', (orig) => (p, opts) => {
      const r = this.rel(p);
      const missing: string[] = [];
      for (let d = r; d !== null && d !== '' && d !== '.' && !this.names.has(d); d = path.posix.dirname(d)) missing.unshift(d);
      const out = orig(p, opts);
      for (const d of missing) {
        if (!nodeFs.existsSync(path.join(this.root, d))) continue;
        this.names.set(d, DIR);
        this.push({ kind: 'mkdir', path: d });
      }
      return out;
    });
    const wholeWrite = (r: string, data: Buffer, append: boolean) => {
      let ino = this.names.get(r);
      let at = 0;
      if (ino === undefined) {
        ino = this.nextIno++;
        this.names.set(r, ino);
        this.push({ kind: 'create', path: r, ino });
      } else if (append) {
        at = nodeFs.statSync(path.join(this.root, r)).size - data.length;
      } else {
        this.push({ kind: 'truncate', path: r, ino, size: 0 });
      }
      if (data.length > 0) this.push({ kind: 'write', path: r, ino, offset: at, data });
    };
    wrap('copyFileSync', (orig) => (src, dst, mode) => {
      const r = this.rel(dst);
      const out = orig(src, dst, mode);
      if (r !== null) wholeWrite(r, nodeFs.readFileSync(path.join(this.root, r)), false);
      return out;
    });
    for (const [name, append] of [['writeFileSync', false], ['appendFileSync', true]] as const) {
      wrap(name, (orig) => (file, data, opts) => {
        if (typeof file === 'number') this.fail(`${name} on a file descriptor is not modelled`);
        const r = this.rel(file);
        const flag = typeof opts === 'object' && opts !== null ? (opts as { flag?: string }).flag : undefined;
        const enc = typeof opts === 'string' ? opts : typeof opts === 'object' && opts !== null ? (opts as { encoding?: string }).encoding : undefined;
        const out = orig(file, data, opts);
        if (r !== null) wholeWrite(r, bytesOf(data, enc), append || (flag ?? '').startsWith('a'));
        return out;
      });
    }
    for (const name of UNMODELLED_SYNC) {
      wrap(name, (orig) => (...args) => {
        if (args.some((a) => this.rel(a) !== null)) this.fail(`fs.${name} is not modelled (test/unit/powerLoss.ts)`);
        return orig(...args);
      });
    }
    for (const name of ASYNC_MUTATORS) {
      wrap(name, () => () => this.fail(`the store called fs.${name} (asynchronous, not recorded); the writer side must use the synchronous calls`));
    }
  }

  stop(): void {
    const fsObj = layer as unknown as Record<string, unknown>;
    for (const [name, orig] of this.originals) fsObj[name] = orig;
    this.originals.clear();
  }
}

// ------------------------------------------------------------------------------------------ the model

/**
 * What a power loss leaves of one file's unsynced changes. Torn at byte `at` (a sector boundary): the written
 * sectors before it reached the disk and the ones from it did not (`newBefore`), or the other way round
 * (the disk wrote them out of order).
 */
export type Variant = 'keep' | 'drop' | 'zeros' | { at: number; newBefore: boolean };

export function describeVariant(v: Variant): string {
  return typeof v === 'string' ? v : `torn at byte ${v.at} (${v.newBefore ? 'new sectors before it, old after' : 'old sectors before it, new after'})`;
}

export interface CrashState {
  /** Per pending directory operation (CrashModel.pendingCount of them): did it reach the disk? */
  applied: boolean[];
  /** Per inode with unsynced changes; missing means 'keep'. */
  variants: Map<number, Variant>;
  label: string;
}

interface Pending {
  op: MetaOp;
  dirs: string[];
  synced: Set<string>;
}

function parentOf(p: string): string {
  const d = path.posix.dirname(p);
  return d === '.' ? '' : d;
}

function applyMeta(ns: Map<string, number>, op: MetaOp): void {
  switch (op.kind) {
    case 'create':
      ns.set(op.path, op.ino);
      break;
    case 'mkdir':
      ns.set(op.path, DIR);
      break;
    case 'rename':
      ns.delete(op.from);
      ns.set(op.to, op.ino);
      break;
    case 'unlink':
      ns.delete(op.path);
      break;
  }
}

/** A tree a crash may leave: relative path -> content (null for a directory). */
export type Tree = Map<string, Buffer | null>;

/** The state of every file and directory after a prefix of the trace, durable and volatile. */
export class CrashModel {
  private readonly cur = new Map<number, Buffer>();
  private readonly dur = new Map<number, Buffer>();
  /** Per inode, the sectors written since its last fsync (a size change alone leaves it empty). */
  private readonly dirty = new Map<number, Set<number>>();
  /** The namespace after every directory operation up to the first one not yet durable. */
  private readonly base: Map<string, number>;
  private readonly pending: Pending[] = [];

  constructor(initialNames: ReadonlyMap<string, number>, initialFiles: ReadonlyMap<number, Buffer>) {
    this.base = new Map(initialNames);
    for (const [ino, b] of initialFiles) {
      this.cur.set(ino, b);
      this.dur.set(ino, b);
    }
  }

  apply(op: Op): void {
    switch (op.kind) {
      case 'write': {
        const old = this.cur.get(op.ino) ?? Buffer.alloc(0);
        const end = op.offset + op.data.length;
        const next = Buffer.alloc(Math.max(old.length, end));
        old.copy(next, 0);
        op.data.copy(next, op.offset);
        this.cur.set(op.ino, next);
        const sectors = this.dirty.get(op.ino) ?? new Set<number>();
        for (let k = Math.floor(op.offset / SECTOR); k * SECTOR < end; k++) sectors.add(k);
        this.dirty.set(op.ino, sectors);
        break;
      }
      case 'truncate': {
        const old = this.cur.get(op.ino) ?? Buffer.alloc(0);
        const next = Buffer.alloc(op.size);
        old.copy(next, 0, 0, Math.min(old.length, op.size));
        this.cur.set(op.ino, next);
        if (!this.dirty.has(op.ino)) this.dirty.set(op.ino, new Set());
        break;
      }
      case 'fsync':
        this.dur.set(op.ino, this.cur.get(op.ino) ?? Buffer.alloc(0));
        this.dirty.delete(op.ino);
        break;
      case 'fsyncDir':
        for (const p of this.pending) if (p.dirs.includes(op.path)) p.synced.add(op.path);
        while (this.pending.length > 0 && this.pending[0].dirs.every((d) => this.pending[0].synced.has(d))) {
          applyMeta(this.base, (this.pending.shift() as Pending).op);
        }
        break;
      case 'create':
        if (!this.cur.has(op.ino)) {
          this.cur.set(op.ino, Buffer.alloc(0));
          this.dur.set(op.ino, Buffer.alloc(0));
        }
        this.pending.push({ op, dirs: [parentOf(op.path)], synced: new Set() });
        break;
      case 'mkdir':
      case 'unlink':
        this.pending.push({ op, dirs: [parentOf(op.path)], synced: new Set() });
        break;
      case 'rename':
        this.pending.push({ op, dirs: [...new Set([parentOf(op.from), parentOf(op.to)])], synced: new Set() });
        break;
    }
  }

  /** Directory operations that may or may not have reached the disk (durable ones are applied regardless). */
  get pendingCount(): number {
    return this.pending.length;
  }

  private durable(j: number): boolean {
    return this.pending[j].dirs.every((d) => this.pending[j].synced.has(d));
  }

  /** Inodes whose content differs from their durable content. */
  unsynced(): number[] {
    return [...this.dirty.keys()].filter((ino) => !(this.cur.get(ino) as Buffer).equals(this.dur.get(ino) ?? Buffer.alloc(0)));
  }

  /**
   * Everything a power loss may leave of one file: its unsynced changes dropped, kept, torn at the first,
   * middle or last of its written sectors (either way round), or its grown size without the data.
   */
  variantsOf(ino: number): Variant[] {
    const c = this.cur.get(ino) ?? Buffer.alloc(0);
    const d = this.dur.get(ino) ?? Buffer.alloc(0);
    if (c.equals(d)) return ['keep'];
    const sectors = [...(this.dirty.get(ino) ?? [])].sort((x, y) => x - y).slice(1);
    const tears = new Set<number>();
    if (sectors.length > 0) {
      for (const k of [sectors[0], sectors[Math.floor(sectors.length / 2)], sectors[sectors.length - 1]]) tears.add(k * SECTOR);
    }
    const out: Variant[] = ['drop', 'keep'];
    for (const at of tears) out.push({ at, newBefore: true }, { at, newBefore: false });
    if (c.length > d.length) out.push('zeros');
    return out;
  }

  contentOf(ino: number, v: Variant): Buffer {
    const c = this.cur.get(ino) ?? Buffer.alloc(0);
    const d = this.dur.get(ino) ?? Buffer.alloc(0);
    if (v === 'keep') return c;
    if (v === 'drop') return d;
    // A grown size reaches the disk with the last sector written (a zero tail: with none of them).
    const grown = (v === 'zeros' || !v.newBefore) && c.length > d.length;
    const len = grown ? c.length : c.length >= d.length ? Math.max(d.length, Math.min(v === 'zeros' ? 0 : v.at, c.length)) : d.length;
    const out = Buffer.alloc(len);
    d.copy(out, 0, 0, Math.min(d.length, len));
    if (v === 'zeros') return out;
    for (const k of this.dirty.get(ino) ?? []) {
      const from = k * SECTOR;
      if ((from < v.at) !== v.newBefore || from >= len || from >= c.length) continue;
      c.copy(out, from, from, Math.min(from + SECTOR, c.length, len));
    }
    return out;
  }

  /** The tree a crash state leaves. */
  tree(s: CrashState): Tree {
    const ns = new Map(this.base);
    this.pending.forEach((p, j) => {
      if (s.applied[j] || this.durable(j)) applyMeta(ns, p.op);
    });
    const out: Tree = new Map();
    const reachable = (p: string): boolean => {
      for (let d = parentOf(p); d !== ''; d = parentOf(d)) if (ns.get(d) !== DIR) return false;
      return true;
    };
    for (const [p, ino] of [...ns].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (!reachable(p)) continue;
      out.set(p, ino === DIR ? null : this.contentOf(ino, s.variants.get(ino) ?? 'keep'));
    }
    return out;
  }

  /**
   * A bounded, meaningful set of crash states at this point: everything kept (what a killed process
   * leaves), only what was synced, the mixes of those two, each unsynced file torn or dropped alone,
   * each pending directory operation reverted alone or applied alone, and `samples` random mixes.
   */
  crashStates(rand: () => number, samples: number): CrashState[] {
    const n = this.pending.length;
    const unsynced = this.unsynced();
    const all = (v: boolean) => Array.from({ length: n }, () => v);
    const every = (v: Variant) => new Map(unsynced.map((ino) => [ino, v]));
    const out: CrashState[] = [
      { applied: all(true), variants: every('keep'), label: 'everything kept' },
      { applied: all(false), variants: every('drop'), label: 'only what was synced' },
      { applied: all(true), variants: every('drop'), label: 'directory operations kept, unsynced data dropped' },
      { applied: all(false), variants: every('keep'), label: 'unsynced directory operations dropped, data kept' },
    ];
    for (const ino of unsynced) {
      for (const v of this.variantsOf(ino)) {
        if (v === 'keep') continue;
        out.push({ applied: all(true), variants: new Map([...every('keep'), [ino, v]]), label: `inode ${ino} ${describeVariant(v)}, the rest kept` });
        if (v !== 'drop') out.push({ applied: all(true), variants: new Map([...every('drop'), [ino, v]]), label: `inode ${ino} ${describeVariant(v)}, the rest dropped` });
      }
    }
    for (let j = 0; j < n; j++) {
      if (this.durable(j)) continue;
      const what = describeOp({ ...this.pending[j].op, phase: '' });
      out.push({ applied: all(true).map((_, k) => k !== j), variants: every('keep'), label: `only "${what}" lost` });
      out.push({ applied: all(false).map((_, k) => k === j), variants: every('drop'), label: `only "${what}" kept` });
    }
    for (let k = 0; k < samples && (n > 0 || unsynced.length > 0); k++) {
      const variants = new Map<number, Variant>();
      for (const ino of unsynced) {
        const vs = this.variantsOf(ino);
        variants.set(ino, vs[Math.floor(rand() * vs.length)]);
      }
      out.push({ applied: all(false).map(() => rand() < 0.5), variants, label: `random mix ${k + 1}` });
    }
    return out;
  }
}

/** A digest of a tree, to check each distinct state once. */
export function treeDigest(t: Tree): string {
  const h = createHash('sha1');
  for (const [p, b] of t) {
    h.update(p);
    h.update(b === null ? '/' : `:${b.length}:`);
    if (b !== null) h.update(b);
    h.update('\0');
  }
  return h.digest('hex');
}

/** Writes a tree under `dir` (which exists). */
export function materialize(t: Tree, dir: string): void {
  for (const [p, b] of t) {
    const abs = path.join(dir, ...p.split('/'));
    if (b === null) nodeFs.mkdirSync(abs, { recursive: true });
    else nodeFs.writeFileSync(abs, b);
  }
}
