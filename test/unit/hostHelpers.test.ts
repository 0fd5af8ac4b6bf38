// Host-side helpers that need no vscode: Disposable (disposes everything even when some throw) and the
// atomic replacement of small files (job.json, the user's intent).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { removeStaleTemps, writeFileAtomic } from '../../src/extension/atomicFile';
import { Disposable } from '../../src/extension/disposable';
import { tempDirs } from './testUtil';

const { roots, tmpDir } = tempDirs('tn-host');

class Owner extends Disposable {
  add(d: { dispose(): void }): void {
    this.register(d);
  }
}

describe('Disposable', () => {
  it('disposes every registered disposable in reverse order, even when some throw, then rethrows all errors', () => {
    const o = new Owner();
    const disposed: number[] = [];
    for (let i = 1; i <= 5; i++) {
      o.add({
        dispose: () => {
          disposed.push(i);
          if (i === 2 || i === 4) throw new Error(`dispose ${i} failed`);
        },
      });
    }
    assert.throws(
      () => o.dispose(),
      (e: unknown) => e instanceof AggregateError && e.errors.map((x: Error) => x.message).join(',') === 'dispose 4 failed,dispose 2 failed',
    );
    assert.deepEqual(disposed, [5, 4, 3, 2, 1], 'none skipped');
    o.dispose(); // once only: nothing runs (or throws) again
    assert.deepEqual(disposed, [5, 4, 3, 2, 1]);
  });

  it('one failing disposable: the others are disposed and its own error is rethrown', () => {
    const o = new Owner();
    const disposed: string[] = [];
    o.add({ dispose: () => disposed.push('a') });
    o.add({
      dispose: () => {
        throw new TypeError('b broke');
      },
    });
    o.add({ dispose: () => disposed.push('c') });
    assert.throws(() => o.dispose(), (e: unknown) => e instanceof TypeError && e.message === 'b broke');
    assert.deepEqual(disposed, ['c', 'a']);
  });
});

describe('writeFileAtomic', () => {
  after(() => {
    for (const d of roots) fs.rmSync(d, { recursive: true, force: true });
  });

  it('replaces the file whole; concurrent writers never share a temporary file and leave none behind', async () => {
    const dir = tmpDir('atomic');
    const file = path.join(dir, 'job.json');
    await writeFileAtomic(file, JSON.stringify({ target: 1, intent: 'run' }));
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), { target: 1, intent: 'run' });
    // Writers racing on one file (the old code shared job.json.tmp: one rename then failed with ENOENT,
    // or a reader saw a torn mix). Every write succeeds and the file is always one of the written contents.
    const contents = Array.from({ length: 40 }, (_, i) => JSON.stringify({ target: 1000 + i, intent: i % 2 ? 'paused' : 'run', pad: 'x'.repeat(i * 100) }));
    const seen = new Set<string>();
    let reading = true;
    const reader = (async () => {
      while (reading) {
        seen.add(await fs.promises.readFile(file, 'utf8'));
        await new Promise((r) => setImmediate(r));
      }
    })();
    await Promise.all(contents.map((c) => writeFileAtomic(file, c)));
    reading = false;
    await reader;
    assert.ok(contents.includes(fs.readFileSync(file, 'utf8')), 'the final content is one of the writes');
    for (const s of seen) assert.ok(s === JSON.stringify({ target: 1, intent: 'run' }) || contents.includes(s), `a reader saw a torn file: ${s.slice(0, 80)}`);
    assert.deepEqual(fs.readdirSync(dir), ['job.json'], 'no temporary file is left');
  });

  it('a failed write leaves the old file and no temporary file; removeStaleTemps clears those of dead writers only', async () => {
    const dir = tmpDir('atomic-fail');
    const file = path.join(dir, 'job.json');
    await writeFileAtomic(file, '{"target":5,"intent":"run"}');
    // A folder where the file should go makes the rename fail (EISDIR), after the temporary file was written.
    const blocked = path.join(dir, 'blocked');
    fs.mkdirSync(path.join(blocked, 'job.json'), { recursive: true });
    await assert.rejects(writeFileAtomic(path.join(blocked, 'job.json'), 'new'), (e: NodeJS.ErrnoException) => e.code === 'EISDIR' || e.code === 'EEXIST' || e.code === 'ENOTEMPTY');
    assert.deepEqual(fs.readdirSync(blocked), ['job.json'], 'the temporary file was removed');
    assert.equal(fs.readFileSync(file, 'utf8'), '{"target":5,"intent":"run"}');

    // Temporary files a crash left: one of this process (no write in progress), one of a process that
    // is gone, one of a live process (pid 1) that may be writing right now, and an unrelated file.
    const ours = path.join(dir, `.job.json.${process.pid}.a1b2c3.tmp`);
    const dead = path.join(dir, '.job.json.2147483646.00ff00.tmp');
    const live = path.join(dir, '.job.json.1.abcdef.tmp');
    const other = path.join(dir, '.other.json.2147483646.00ff00.tmp');
    for (const f of [ours, dead, live, other]) fs.writeFileSync(f, 'partial');
    assert.equal(await removeStaleTemps(file), 2);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['.job.json.1.abcdef.tmp', '.other.json.2147483646.00ff00.tmp', 'blocked', 'job.json']);
  });
});
