// The serial executor the job controller sends every operation through (src/extension/serialQueue.ts):
// one at a time, in order, an operation that throws does not stop the ones after it, and each caller gets
// its own operation's result or error.
import * as assert from 'node:assert/strict';
import { SerialQueue } from '../../src/extension/serialQueue';
import { mulberry32 } from './testUtil';

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('SerialQueue', () => {
  it('runs operations one at a time, in the order they were queued, even when later ones are quicker', async () => {
    const q = new SerialQueue();
    const random = mulberry32(182);
    const events: string[] = [];
    let active = 0;
    let maxActive = 0;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        q.run(async () => {
          active++;
          maxActive = Math.max(maxActive, active);
          events.push(`start ${i}`);
          // Later operations are quicker on average: without the queue they would finish first.
          await delay(Math.floor(random() * (20 - i)));
          events.push(`end ${i}`);
          active--;
          return i * i;
        }),
      ),
    );
    assert.equal(maxActive, 1, 'never two operations at once');
    assert.deepEqual(events, Array.from({ length: 20 }, (_, i) => [`start ${i}`, `end ${i}`]).flat());
    assert.deepEqual(results, Array.from({ length: 20 }, (_, i) => i * i), 'each caller gets its own result');
  });

  it('an operation that throws (synchronously or by rejecting) does not stop the queue; its caller gets the error', async () => {
    const q = new SerialQueue();
    const ran: number[] = [];
    const a = q.run(async () => {
      ran.push(1);
      return 'one';
    });
    const b = q.run((): string => {
      ran.push(2);
      throw new Error('sync failure');
    });
    const c = q.run(async () => {
      ran.push(3);
      await delay(5);
      throw new RangeError('async failure');
    });
    const d = q.run(() => {
      ran.push(4);
      return 'four';
    });
    const settled = await Promise.allSettled([a, b, c, d]);
    assert.deepEqual(ran, [1, 2, 3, 4]);
    assert.deepEqual(settled[0], { status: 'fulfilled', value: 'one' });
    assert.equal(settled[1].status, 'rejected');
    assert.equal((settled[1].reason as Error).message, 'sync failure');
    assert.equal(settled[2].status, 'rejected');
    assert.ok(settled[2].reason instanceof RangeError);
    assert.equal(settled[2].reason.message, 'async failure');
    assert.deepEqual(settled[3], { status: 'fulfilled', value: 'four' });
    // And the queue still works afterwards.
    assert.equal(await q.run(async () => 5), 5);
  });

  it('a check-then-act operation queued twice (a double-clicked Resume) acts once', async () => {
    // The controller's resume: "no job runs?" then an await (writing the intent), then start one.
    const model = () => {
      let running = false;
      let started = 0;
      const resume = async () => {
        if (running) return;
        await delay(5);
        running = true;
        started++;
      };
      return { resume, started: () => started };
    };
    const unqueued = model();
    await Promise.all([unqueued.resume(), unqueued.resume()]);
    assert.equal(unqueued.started(), 2, 'without the queue both calls pass the check (the bug this prevents)');

    const q = new SerialQueue();
    const queued = model();
    await Promise.all([q.run(queued.resume), q.run(queued.resume), q.run(queued.resume)]);
    assert.equal(queued.started(), 1, 'through the queue, the second call sees the first one\'s job');
  });

  it('size counts queued and running operations; idle() waits for all, also after failures', async () => {
    const q = new SerialQueue();
    assert.equal(q.size, 0);
    const order: string[] = [];
    void q.run(() => delay(10).then(() => order.push('a')));
    void q.run(() => Promise.reject(new Error('x'))).catch(() => order.push('b failed'));
    void q.run(() => delay(5).then(() => order.push('c')));
    assert.equal(q.size, 3);
    await q.idle();
    assert.equal(q.size, 0);
    assert.deepEqual(order.filter((x) => x !== 'b failed'), ['a', 'c']);
    assert.ok(order.includes('b failed'));
  });

  it('an operation may queue another without waiting for it; that one runs after it', async () => {
    const q = new SerialQueue();
    const order: string[] = [];
    let inner: Promise<void> | undefined;
    await q.run(async () => {
      inner = q.run(async () => void order.push('inner'));
      await delay(5);
      order.push('outer');
    });
    await inner;
    assert.deepEqual(order, ['outer', 'inner']);
  });
});
