// The division-free decimal conversion against V8's own BigInt toString (an independent
// implementation), on random numbers of every size the engine produces and on the edge cases of a
// scaled remainder tree: runs of 9s and 0s across leaf borders, powers of ten, leading zero leaves.
import * as assert from 'node:assert/strict';
import { LEAF_DIGITS, NotAnIntegerError, digitsOfScaledFraction, treeBits } from '../../src/engine/decimal';
import { mulberry32 } from './testUtil';

/** y = floor(x · 2^s / 10^D) for x with `leaves` leaves and s = treeBits + extra: the engine's input. */
function scaled(x: bigint, leaves: number, extra = 24): { y: bigint; s: number } {
  const s = treeBits(leaves) + extra;
  return { y: (x << BigInt(s)) / 10n ** BigInt(leaves * LEAF_DIGITS), s };
}

function leavesFor(x: bigint): number {
  return Math.ceil(x.toString().length / LEAF_DIGITS);
}

function randomDigits(random: () => number, count: number): bigint {
  let s = String(1 + Math.floor(random() * 9));
  while (s.length < count) s += String(Math.floor(random() * 10));
  return BigInt(s);
}

describe('decimal digits of a scaled fraction (scaled remainder tree)', () => {
  const seed = 20261125;
  const random = mulberry32(seed);

  it('equals BigInt toString on random numbers from 1 to 60 000 digits', () => {
    for (const digits of [1, 2, 19, 255, 256, 257, 511, 512, 513, 1000, 2560, 7777, 20000, 60000]) {
      const x = randomDigits(random, digits);
      const leaves = leavesFor(x);
      const { y, s } = scaled(x, leaves);
      assert.equal(digitsOfScaledFraction(y, s, leaves), x.toString(), `${digits} digits (seed ${seed})`);
    }
  });

  it('handles runs of 9s and 0s across leaf borders, powers of ten and leading zero leaves', () => {
    const cases: bigint[] = [];
    for (const k of [LEAF_DIGITS - 1, LEAF_DIGITS, LEAF_DIGITS + 1, 3 * LEAF_DIGITS, 5 * LEAF_DIGITS + 7]) {
      const p = 10n ** BigInt(k);
      cases.push(p - 1n, p, p + 1n, 7n * p - 1n, 7n * p + 1n);
    }
    // A value whose low leaves are all 9s (the case where a truncated fraction reads 1.000…).
    cases.push(randomDigits(random, 300) * 10n ** 1200n + (10n ** 1200n - 1n));
    for (const x of cases) {
      const leaves = leavesFor(x);
      for (const extraLeaves of [0, 1, 3]) {
        const { y, s } = scaled(x, leaves + extraLeaves);
        assert.equal(digitsOfScaledFraction(y, s, leaves + extraLeaves), x.toString(), `${x.toString().length} digits, ${extraLeaves} extra leaves`);
      }
    }
  });

  it('carries across the pieces the WebAssembly kernel takes (runs of 9s and 0s over many leaves)', () => {
    // Terms of N = 8000 have ~190 leaves: the tree splits them into pieces of up to 32 leaves, and a
    // leaf's correction can carry through every leaf of a piece into the one before it.
    const runs = [40 * LEAF_DIGITS, 70 * LEAF_DIGITS + 13, 150 * LEAF_DIGITS - 1];
    for (const run of runs) {
      const p = 10n ** BigInt(run);
      const head = randomDigits(random, 40 * LEAF_DIGITS + 17);
      for (const x of [head * p + (p - 1n), head * p, head * p + 1n, (head + 1n) * p - 1n, p, p - 1n]) {
        const leaves = leavesFor(x);
        for (const ulps of [-3n, 0n, 3n]) {
          const { y, s } = scaled(x, leaves);
          assert.equal(digitsOfScaledFraction(y + ulps, s, leaves), x.toString(), `${x.toString().length} digits, run of ${run}, ${ulps} ulps`);
        }
      }
    }
  });

  it('accepts an input a few ulps off (the engine rounds on the way) and extra fraction bits', () => {
    const x = randomDigits(random, 4000);
    const leaves = leavesFor(x);
    for (const extra of [24, 40, 100]) {
      const { y, s } = scaled(x, leaves, extra);
      for (const ulps of [-5n, 5n]) assert.equal(digitsOfScaledFraction(y + ulps, s, leaves), x.toString());
    }
  });

  it('refuses a value that is not close to a scaled integer, and bad parameters', () => {
    const x = randomDigits(random, 3000);
    const leaves = leavesFor(x);
    const { y, s } = scaled(x, leaves);
    // 10^D / (3·2^k) is never an integer: the leaves cannot all round cleanly.
    for (const k of [10, 300, 1000, s - treeBits(leaves) - 1]) {
      assert.throws(() => digitsOfScaledFraction(y + (1n << BigInt(s - k)) / 3n, s, leaves), NotAnIntegerError, `perturbed at bit ${k}`);
    }
    // The same in a number of many pieces, perturbed inside its last piece, and one too large for its digits.
    const big = randomDigits(random, 100 * LEAF_DIGITS);
    const scaledBig = scaled(big, 100);
    assert.throws(() => digitsOfScaledFraction(scaledBig.y + (1n << BigInt(scaledBig.s - Math.floor(98 * LEAF_DIGITS * 3.33))) / 3n, scaledBig.s, 100), NotAnIntegerError);
    assert.throws(() => digitsOfScaledFraction(1n << BigInt(scaledBig.s), scaledBig.s, 100), NotAnIntegerError);
    assert.throws(() => digitsOfScaledFraction(y, treeBits(leaves) - 1, leaves), RangeError);
    assert.throws(() => digitsOfScaledFraction(y, s, 0), RangeError);
  });
});
