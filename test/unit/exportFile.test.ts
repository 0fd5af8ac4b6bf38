// exportTerms: a complete file or none. Missing folders are made; an export never reports success with
// fewer terms than it was asked for; the temporary file is synced before the rename and the folder after.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { AsyncTermReader, StateDir, StoreError, type Term } from '../../src/store';
import { ExportError, exportTerms } from '../../src/store/exportFile';
import { REFERENCE_BFILE } from './reference';
import { REF_TERMS, tempDirs } from './testUtil';

const REF: Term[] = REF_TERMS;
const { roots, tmpDir } = tempDirs('tn-export');

function* terms(from: number, to: number, skip?: number): Generator<Term> {
  for (let n = from; n <= to; n++) if (n !== skip) yield REF[n - 1];
}

/** Expects the promise to fail with an ExportError (one line) naming `term`, and returns it. */
async function expectExportError(p: Promise<unknown>, re: RegExp, term?: number): Promise<ExportError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ExportError, `expected an ExportError, got ${String((e as Error)?.stack ?? e)}`);
    assert.match(e.message, re);
    assert.doesNotMatch(e.message, /\n/, 'one line');
    assert.equal(e.term, term);
    return e;
  }
  assert.fail('expected the export to fail');
}

type Patch = { open?: typeof fs.promises.open; rename?: typeof fs.promises.rename };
/** Replaces functions of fs.promises (which exportFile calls) while fn runs. */
async function withPromises<T>(patch: Patch, fn: () => Promise<T>): Promise<T> {
  const saved = { open: fs.promises.open, rename: fs.promises.rename };
  Object.assign(fs.promises, patch);
  try {
    return await fn();
  } finally {
    Object.assign(fs.promises, saved);
  }
}

const errno = (code: string, syscall: string) => Object.assign(new Error(`${code}: injected, ${syscall}`), { code, syscall });

describe('exportTerms', () => {
  after(() => roots.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('creates the missing folders of the target (as VS Code offers in its save dialog) and writes the reference b-file', async () => {
    const dir = tmpDir('nested');
    const target = path.join(dir, 'new', 'deeper', 'b000182.txt');
    const r = await exportTerms(terms(1, 500), target, 'bfile', { expectedTerms: { from: 1, to: 500 } });
    assert.deepEqual([r.file, r.terms], [target, 500]);
    assert.equal(fs.readFileSync(target, 'latin1'), REFERENCE_BFILE);
    assert.deepEqual(fs.readdirSync(path.dirname(target)), ['b000182.txt']);
  });

  it('fewer terms than expected: fails naming the first missing one; the target stays untouched, no temporary file, no new folder', async () => {
    const dir = tmpDir('short');
    const target = path.join(dir, 'b.txt');
    fs.writeFileSync(target, 'previous\n');
    await expectExportError(exportTerms(terms(1, 300), target, 'bfile', { expectedTerms: { from: 1, to: 500 } }), /^term 301 is missing: the terms to export end at term 300; nothing was written to .*b\.txt$/, 301);
    await expectExportError(exportTerms(terms(100, 200, 150), target, 'csv', { expectedTerms: { from: 100, to: 200 } }), /^term 150 is missing: the terms to export skip from term 149 to term 151;/, 150);
    await expectExportError(exportTerms(terms(1, 0), target, 'json', { expectedTerms: { from: 7, to: 9 } }), /^term 7 is missing: the terms to export are missing;/, 7);
    assert.equal(fs.readFileSync(target, 'utf8'), 'previous\n');
    assert.deepEqual(fs.readdirSync(dir), ['b.txt']);
    // The folders an export made for a file it then could not write are removed again.
    const fresh = path.join(dir, 'made', 'for', 'it.txt');
    await expectExportError(exportTerms(terms(1, 10), fresh, 'txt', { expectedTerms: { from: 1, to: 11 } }), /^term 11 is missing/, 11);
    assert.deepEqual(fs.readdirSync(dir), ['b.txt']);
  });

  it('a damaged stored term fails the export naming it, the target untouched', async () => {
    const dir = tmpDir('damaged');
    const state = path.join(dir, 'state');
    const sd = StateDir.open(state);
    let at: number;
    try {
      sd.appendTerms(REF.slice(0, 500));
      at = Number(fs.readFileSync(path.join(state, 'terms.idx')).readBigUInt64LE(249 * 8));
    } finally {
      sd.close();
    }
    const logPath = path.join(state, 'terms.log');
    const bytes = fs.readFileSync(logPath);
    bytes[at + 12 + 5] ^= 0x01; // a digit of T(250)
    fs.writeFileSync(logPath, bytes);
    const target = path.join(dir, 'out', 'b.txt');
    const reader = await AsyncTermReader.open(state);
    try {
      async function* stored() {
        for (let n = 1; n <= 500; ) {
          const page = await reader.readRangeBytes(n, Math.min(500, n + 63));
          if (page.length === 0) return;
          yield* page;
          n += page.length;
        }
      }
      const e = await expectExportError(exportTerms(stored(), target, 'bfile', { expectedTerms: { from: 1, to: 500 } }), /^nothing was written to .*b\.txt: term 250 in .*terms\.log is damaged \(its checksum is wrong\); terms 1\.\.249 are intact/, 250);
      assert.ok(e.cause instanceof StoreError && e.cause.code === 'CORRUPT');
    } finally {
      await reader.close();
    }
    assert.deepEqual(fs.readdirSync(dir), ['state'], 'neither the file nor its folder was made');
  });

  it('syncs the temporary file before the rename and the folder after it', async () => {
    const dir = tmpDir('fsync');
    const target = path.join(dir, 'b.txt');
    const events: string[] = [];
    const realOpen = fs.promises.open;
    const realRename = fs.promises.rename;
    const open = (async (file: fs.PathLike, flags?: string | number, mode?: fs.Mode) => {
      const h: FileHandle = await realOpen(file, flags, mode);
      const name = path.relative(dir, String(file)) || '.';
      const sync = h.sync.bind(h);
      h.sync = async () => {
        events.push(`sync ${name.endsWith('.tmp') ? 'temp' : name}`);
        return sync();
      };
      return h;
    }) as typeof fs.promises.open;
    const rename = (async (from: fs.PathLike, to: fs.PathLike) => {
      events.push(`rename to ${path.relative(dir, String(to))}`);
      return realRename(from, to);
    }) as typeof fs.promises.rename;
    await withPromises({ open, rename }, () => exportTerms(terms(1, 50), target, 'bfile'));
    assert.deepEqual(events, ['sync temp', 'rename to b.txt', 'sync .']);
    assert.equal(fs.readFileSync(target, 'latin1'), REFERENCE_BFILE.split('\n').slice(0, 50).join('\n') + '\n');
  });

  it('a folder sync that fails after the rename is reported (the file may not survive a power loss)', async () => {
    const dir = tmpDir('fsyncfail');
    const target = path.join(dir, 'b.txt');
    const realOpen = fs.promises.open;
    const open = (async (file: fs.PathLike, flags?: string | number, mode?: fs.Mode) => {
      const h: FileHandle = await realOpen(file, flags, mode);
      if (String(file) === dir) h.sync = () => Promise.reject(errno('EIO', 'fsync'));
      return h;
    }) as typeof fs.promises.open;
    await withPromises({ open }, () => expectExportError(exportTerms(terms(1, 5), target, 'txt'), /^wrote .*b\.txt, but could not make it durable \(syncing its folder failed: EIO\)/));
  });

  it('an unusable path fails with a clear line and leaves nothing', async () => {
    const dir = tmpDir('bad');
    fs.writeFileSync(path.join(dir, 'plain'), 'x');
    await expectExportError(exportTerms(terms(1, 5), path.join(dir, 'plain', 'sub', 'b.txt'), 'bfile'), /^cannot write to .*b\.txt: a part of the path is not a folder$/);
    await expectExportError(exportTerms(terms(1, 5), path.join(dir, 'plain', 'b.txt'), 'bfile'), /^cannot write to .*b\.txt: a part of the path is not a folder$/);
    fs.mkdirSync(path.join(dir, 'folder'));
    await expectExportError(exportTerms(terms(1, 5), path.join(dir, 'folder'), 'bfile'), /^cannot write to .*folder: it is a folder$/);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['folder', 'plain']);
    assert.equal(fs.readFileSync(path.join(dir, 'plain'), 'utf8'), 'x');
  });

  for (const [code, where, re] of [
    ['ENOSPC', 'write', /^the disk is full; nothing was written to .*b\.txt — free some space or choose another disk$/],
    ['EDQUOT', 'write', /^the disk quota is used up; nothing was written to .*b\.txt — free some space or choose another disk$/],
    ['EIO', 'write', /^the disk reported an I\/O error while writing .*b\.txt \(EIO\); nothing was written — choose another disk$/],
    ['EROFS', 'open', /^cannot write to .*b\.txt: it is on a read-only file system; choose another place$/],
  ] as const) {
    it(`${code} at the ${where}: one line saying what happened, the target untouched`, async () => {
      const dir = tmpDir(code);
      const target = path.join(dir, 'b.txt');
      fs.writeFileSync(target, 'previous\n');
      const realOpen = fs.promises.open;
      const open = (async (file: fs.PathLike, flags?: string | number, mode?: fs.Mode) => {
        if (where === 'open' && flags === 'wx') throw errno(code, 'open');
        const h: FileHandle = await realOpen(file, flags, mode);
        if (where === 'write' && flags === 'wx') h.write = (() => Promise.reject(errno(code, 'write')));
        return h;
      }) as typeof fs.promises.open;
      await withPromises({ open }, () => expectExportError(exportTerms(terms(1, 20), target, 'bfile'), re));
      assert.equal(fs.readFileSync(target, 'utf8'), 'previous\n');
      assert.deepEqual(fs.readdirSync(dir), ['b.txt']);
    });
  }
});
