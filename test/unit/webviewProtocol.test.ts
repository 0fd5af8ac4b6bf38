import * as assert from 'node:assert/strict';
import { inspect } from 'node:util';
import {
  TERMS_MAX_N,
  TERMS_PAGE_LIMIT,
  TERMS_VIEW_COMMANDS,
  TERM_HEAD_DIGITS,
  TERM_TAIL_DIGITS,
  parseFromWebview,
  summarizeTerm,
  type FromWebview,
} from '../../src/common/protocol';

describe('terms view protocol: parseFromWebview', () => {
  const valid: FromWebview[] = [
    { type: 'ready' },
    { type: 'getRows', from: 1, to: 1 },
    { type: 'getRows', from: 1, to: TERMS_PAGE_LIMIT },
    { type: 'getRows', from: 3901, to: 4000 },
    { type: 'getRows', from: TERMS_MAX_N - TERMS_PAGE_LIMIT + 1, to: TERMS_MAX_N },
    { type: 'getTerm', n: 1 },
    { type: 'getTerm', n: 4000 },
    { type: 'getTerm', n: TERMS_MAX_N },
    { type: 'copy', n: 1 },
    { type: 'copy', n: 26181 },
    ...TERMS_VIEW_COMMANDS.map((command) => ({ type: 'command', command }) as const),
  ];

  for (const msg of valid) {
    it(`accepts ${JSON.stringify(msg)}`, () => {
      assert.deepEqual(parseFromWebview(msg), msg);
    });
  }

  it('accepts a structured clone of each valid message (what postMessage delivers)', () => {
    for (const msg of valid) assert.deepEqual(parseFromWebview(structuredClone(msg)), msg);
  });

  it('returns a fresh object holding only the checked fields', () => {
    const msg = { type: 'getRows', from: 5, to: 9 };
    const parsed = parseFromWebview(msg);
    assert.notEqual(parsed, msg);
    assert.deepEqual(parsed, msg);
  });

  const badNumbers: [string, unknown][] = [
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['zero', 0],
    ['negative', -1],
    ['negative zero', -0],
    ['a fraction', 1.5],
    ['a tiny fraction', 1 + Number.EPSILON * 4],
    ['1e300', 1e300],
    ['2**53', 2 ** 53],
    ['2**53 + 2', 2 ** 53 + 2],
    ['Number.MAX_VALUE', Number.MAX_VALUE],
    ['one past the largest index', TERMS_MAX_N + 1],
    ['a numeric string', '5'],
    ['an empty string', ''],
    ['a path-like string', '../../etc/passwd'],
    ['a bigint', 5n],
    ['a boolean', true],
    ['null', null],
    ['undefined', undefined],
    ['an array', [5]],
    ['an object', { valueOf: () => 5 }],
    ['a Number object', Object(5)],
  ];

  for (const [what, v] of badNumbers) {
    it(`rejects ${what} as n, from or to`, () => {
      assert.equal(parseFromWebview({ type: 'getTerm', n: v }), undefined);
      assert.equal(parseFromWebview({ type: 'copy', n: v }), undefined);
      assert.equal(parseFromWebview({ type: 'getRows', from: v, to: 10 }), undefined);
      assert.equal(parseFromWebview({ type: 'getRows', from: 1, to: v }), undefined);
    });
  }

  it('rejects reversed and oversized row ranges', () => {
    assert.equal(parseFromWebview({ type: 'getRows', from: 10, to: 9 }), undefined);
    assert.equal(parseFromWebview({ type: 'getRows', from: 1, to: TERMS_PAGE_LIMIT + 1 }), undefined);
    assert.equal(parseFromWebview({ type: 'getRows', from: 1, to: 4000 }), undefined);
    assert.equal(parseFromWebview({ type: 'getRows', from: 1, to: TERMS_MAX_N }), undefined);
  });

  it('rejects missing fields', () => {
    assert.equal(parseFromWebview({ type: 'getRows', from: 1 }), undefined);
    assert.equal(parseFromWebview({ type: 'getRows', to: 1 }), undefined);
    assert.equal(parseFromWebview({ type: 'getRows' }), undefined);
    assert.equal(parseFromWebview({ type: 'getTerm' }), undefined);
    assert.equal(parseFromWebview({ type: 'copy' }), undefined);
    assert.equal(parseFromWebview({ type: 'command' }), undefined);
    assert.equal(parseFromWebview({ from: 1, to: 2 }), undefined);
    assert.equal(parseFromWebview({ n: 1 }), undefined);
    assert.equal(parseFromWebview({}), undefined);
  });

  it('rejects fields set to undefined (present but missing a value)', () => {
    assert.equal(parseFromWebview({ type: 'getTerm', n: undefined }), undefined);
    assert.equal(parseFromWebview({ type: 'ready', extra: undefined }), undefined);
  });

  it('rejects extra fields, such as path-like strings', () => {
    assert.equal(parseFromWebview({ type: 'ready', path: '../../etc/passwd' }), undefined);
    assert.equal(parseFromWebview({ type: 'getRows', from: 1, to: 2, path: '../../etc/passwd' }), undefined);
    assert.equal(parseFromWebview({ type: 'getTerm', n: 1, file: '/etc/passwd' }), undefined);
    assert.equal(parseFromWebview({ type: 'copy', n: 1, value: '123' }), undefined);
    assert.equal(parseFromWebview({ type: 'command', command: 'pause', args: ['../../etc/passwd'] }), undefined);
    assert.equal(parseFromWebview({ type: 'command', command: 'export', file: '../../etc/passwd' }), undefined);
  });

  it('rejects unknown and malformed commands', () => {
    for (const command of [
      'tangentNumbers.pause',
      'Pause',
      'PAUSE',
      ' pause',
      'pause ',
      'showLog',
      'workbench.action.terminal.new',
      '../../etc/passwd',
      '',
      'x'.repeat(100_000),
      'constructor',
      '__proto__',
      'toString',
      1,
      null,
      ['pause'],
      { command: 'pause' },
    ]) {
      assert.equal(parseFromWebview({ type: 'command', command }), undefined, JSON.stringify(command)?.slice(0, 40));
    }
  });

  it('rejects unknown, mistyped or path-like message types', () => {
    for (const type of ['init', 'rows', 'term', 'job', 'Ready', 'READY', 'ready ', '', '../../etc/passwd', '__proto__', 'constructor', 'hasOwnProperty', 1, null, undefined, ['ready'], { type: 'ready' }]) {
      assert.equal(parseFromWebview({ type }), undefined, inspect(type));
    }
  });

  it('rejects non-objects: null, undefined, arrays, primitives, functions', () => {
    for (const msg of [null, undefined, 0, 1, NaN, '', 'ready', '{"type":"ready"}', true, [], ['ready'], [{ type: 'ready' }], () => ({ type: 'ready' }), Symbol('ready')]) {
      assert.equal(parseFromWebview(msg), undefined, typeof msg);
    }
  });

  it('rejects objects whose fields are inherited, not own', () => {
    const inherited = Object.create({ type: 'getTerm', n: 1 }) as object;
    assert.equal(parseFromWebview(inherited), undefined);
  });

  it('never throws, even on hostile objects', () => {
    const throwing = new Proxy(
      {},
      {
        get() {
          throw new Error('boom');
        },
        ownKeys() {
          throw new Error('boom');
        },
      },
    );
    const getter = {
      type: 'getTerm',
      get n(): number {
        throw new Error('boom');
      },
    };
    assert.doesNotThrow(() => parseFromWebview(throwing));
    assert.equal(parseFromWebview(throwing), undefined);
    assert.doesNotThrow(() => parseFromWebview(getter));
    assert.equal(parseFromWebview(getter), undefined);
  });
});

describe('terms view protocol: summarizeTerm', () => {
  it('sends short values whole', () => {
    assert.deepEqual(summarizeTerm(1, '1'), { n: 1, digits: 1, head: '1', tail: '' });
    const v = '1'.repeat(TERM_HEAD_DIGITS + TERM_TAIL_DIGITS);
    assert.deepEqual(summarizeTerm(9, v), { n: 9, digits: v.length, head: v, tail: '' });
  });

  it('sends only the ends and the length of long values', () => {
    const v = '9'.repeat(TERM_HEAD_DIGITS) + '0'.repeat(26181 - TERM_HEAD_DIGITS - TERM_TAIL_DIGITS) + '7'.repeat(TERM_TAIL_DIGITS);
    const s = summarizeTerm(4000, v);
    assert.equal(s.digits, 26181);
    assert.equal(s.head, '9'.repeat(TERM_HEAD_DIGITS));
    assert.equal(s.tail, '7'.repeat(TERM_TAIL_DIGITS));
    assert.ok(JSON.stringify(s).length < 100);
  });
});
