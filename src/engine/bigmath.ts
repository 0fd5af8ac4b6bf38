// Exact BigInt helpers for the engine: bit lengths, integer square root, factorials and π.

/** Number of bits of a non-negative BigInt (0 for 0). */
export function bitLength(x: bigint): number {
  if (x === 0n) return 0;
  // toString(16) is linear time (power-of-two radix) and exact.
  const hex = x.toString(16);
  return (hex.length - 1) * 4 + (32 - Math.clz32(parseInt(hex[0], 16)));
}

/**
 * floor(sqrt(x)) for x >= 0. The root of x's top half (recursively) is within a few units of the
 * answer's top half, so Newton's iteration from there needs one or two full-size steps, where
 * starting from a power of two would take ~log2(bits) of them.
 */
export function isqrt(x: bigint): bigint {
  if (x < 0n) throw new RangeError('isqrt of a negative number');
  if (x < 2n) return x;
  const bits = bitLength(x);
  if (bits <= 52) {
    // x is exact as a double and Math.sqrt rounds correctly, so the floor is the root or one above it.
    const r = BigInt(Math.floor(Math.sqrt(Number(x))));
    return r * r > x ? r - 1n : r;
  }
  // sqrt(x) ≈ isqrt(x >> 2k) << k; + 1 << k puts the start above the root, as Newton's descent needs.
  const k = Math.floor(bits / 4);
  let y = (isqrt(x >> BigInt(2 * k)) + 1n) << BigInt(k);
  for (;;) {
    const next = (y + x / y) >> 1n;
    if (next >= y) return y;
    y = next;
  }
}

/** Product of the integers lo..hi (inclusive), by binary splitting so multiplications stay balanced. */
export function rangeProduct(lo: number, hi: number): bigint {
  if (lo > hi) return 1n;
  if (hi - lo < 16) {
    let p = 1n;
    let acc = 1;
    for (let k = lo; k <= hi; k++) {
      // Batch small factors in a double while the product stays exact (< 2^53).
      if (acc * k > Number.MAX_SAFE_INTEGER) {
        p *= BigInt(acc);
        acc = 1;
      }
      acc *= k;
    }
    return p * BigInt(acc);
  }
  const mid = (lo + hi) >>> 1;
  return rangeProduct(lo, mid) * rangeProduct(mid + 1, hi);
}

export function factorial(n: number): bigint {
  return rangeProduct(2, n);
}

// Chudnovsky series, evaluated by binary splitting: each term adds ~47.11 bits.
const C3_OVER_24 = 10939058860032000n; // 640320^3 / 24

function chudnovskySplit(a: number, b: number): [bigint, bigint, bigint] {
  if (b - a === 1) {
    if (a === 0) return [1n, 1n, 13591409n];
    const A = BigInt(a);
    const p = -(6n * A - 5n) * (2n * A - 1n) * (6n * A - 1n);
    const q = A * A * A * C3_OVER_24;
    return [p, q, p * (13591409n + 545140134n * A)];
  }
  const m = (a + b) >>> 1;
  const [p1, q1, t1] = chudnovskySplit(a, m);
  const [p2, q2, t2] = chudnovskySplit(m, b);
  return [p1 * p2, q1 * q2, t1 * q2 + p1 * t2];
}

/** floor(π · 2^bits) up to an error of at most a few units; callers keep guard bits. */
export function piFixed(bits: number): bigint {
  const guard = 32;
  const prec = bits + guard;
  const terms = Math.ceil(prec / 47.11) + 2;
  const [, q, t] = chudnovskySplit(0, terms);
  const sqrt10005 = isqrt(10005n << BigInt(2 * prec)); // √10005 · 2^prec
  const pi = (426880n * sqrt10005 * q) / t;
  return pi >> BigInt(guard);
}

/** Caches π at the highest precision asked for so far; lower precisions are truncations of it. */
export class PiCache {
  private bits = 0;
  private value = 0n;

  get(bits: number): bigint {
    if (bits > this.bits) {
      // Grow with headroom so a slowly rising target does not recompute π for every block.
      const want = Math.max(bits, Math.ceil(this.bits * 1.5), 4096);
      this.value = piFixed(want);
      this.bits = want;
    }
    return this.value >> BigInt(this.bits - bits);
  }
}
