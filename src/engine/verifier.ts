// Independent check of every term before it is committed: T(n) mod p for two primes p < 2^26,
// from the series identity tan' = 1 + tan², in plain double arithmetic (products < 2^52 are exact).
//
// With tan x = Σ A_k x^(2k-1):  A_1 = 1,  (2k-1)·A_k = Σ_{i=1}^{k-1} A_i·A_{k-i},  T(k) = (2k-1)!·A_k.
// This shares nothing with the zeta route (no π, no floating point, no BigInt), costs O(k) word
// operations per term and works while 2k-1 < p.

export const VERIFIER_PRIMES: readonly number[] = [67108859, 67108837];

/** The largest n the verifier can check (needs (2n-1)! invertible mod p). */
export const VERIFIER_MAX_N = Math.floor((Math.min(...VERIFIER_PRIMES) - 1) / 2);

/**
 * x mod p for an integer 0 <= x < 2^53. V8 compiles `%` on values beyond int32 to a call to fmod,
 * which made this file most of the job thread's time; a floating quotient is off by at most one.
 */
function reduce(x: number, p: number): number {
  const r = x - Math.floor(x / p) * p;
  return r < 0 ? r + p : r >= p ? r - p : r;
}

function mulMod(a: number, b: number, p: number): number {
  return reduce(a * b, p);
}

function invMod(a: number, p: number): number {
  // Extended Euclid on doubles; all intermediates stay below 2^27.
  let [r0, r1] = [p, a % p];
  let [t0, t1] = [0, 1];
  while (r1 !== 0) {
    const q = Math.floor(r0 / r1);
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  if (r0 !== 1) throw new RangeError(`${a} is not invertible mod ${p}`);
  return t0 < 0 ? t0 + p : t0;
}

/** Decimal digits → value mod p. */
export function decimalMod(digits: string, p: number): number {
  const r = decimalResidues(digits, [p]);
  if (r === null) throw new RangeError('not a positive decimal integer');
  return r[0];
}

const CHUNK_DIGITS = 8; // r·10^8 + chunk < 2^26·10^8 + 10^8 < 2^53
const CHUNK_SCALE = 1e8;

/** The digits as bytes, left-padded with '0's to whole chunks, so they can be read as 32-bit words. */
let scratch = new Uint8Array(1 << 16);
let scratchWords = new Int32Array(scratch.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Decimal digits → value mod each prime in one pass, or null when `digits` is not a positive decimal
 * integer without leading zeros, given as a string or as ASCII bytes. They are copied into a byte
 * buffer (a memcpy) and read four
 * digits per 32-bit word: the check and the value of the four come from a few word operations
 * (SWAR), with the quotients of the reductions from multiplications: 3–4× faster than a charCodeAt
 * per digit, which made this most of the job thread's time.
 */
export function decimalResidues(digits: string | Uint8Array, primes: readonly number[]): number[] | null {
  const len = digits.length;
  const text = typeof digits === 'string';
  if (len === 0 || (text ? digits.charCodeAt(0) : digits[0]) === 48) return null;
  const pad = (CHUNK_DIGITS - (len % CHUNK_DIGITS)) % CHUNK_DIGITS;
  const total = pad + len;
  if (total > scratch.length) {
    scratch = new Uint8Array(Math.max(total, 2 * scratch.length));
    scratchWords = new Int32Array(scratch.buffer);
  }
  // A non-ASCII character would be cut to its low byte by the copy ('İ' to '0'): such a string is no
  // number. Its UTF-8 length gives it away (a native scan).
  if (text && Buffer.byteLength(digits, 'utf8') !== len) return null;
  if (!LITTLE_ENDIAN) return decimalResiduesSlow(text ? digits : Buffer.from(digits).toString('latin1'), primes);
  scratch.fill(48, 0, pad);
  if (text) Buffer.from(scratch.buffer, scratch.byteOffset, scratch.length).write(digits, pad, len, 'latin1');
  else scratch.set(digits, pad);
  // Two primes at a time in local variables (a loop over a typed array of residues halves the speed).
  const residues: number[] = [];
  let bad = 0;
  for (let k = 0; k < primes.length; k += 2) {
    const p = primes[k];
    const q = k + 1 < primes.length ? primes[k + 1] : 1;
    const inverseP = 1 / p;
    const inverseQ = 1 / q;
    let rp = 0;
    let rq = 0;
    for (let w = 0; w < total / 4; w += 2) {
      const high = digitWord(scratchWords[w]);
      const low = digitWord(scratchWords[w + 1]);
      bad |= high | low;
      const chunk = (high & 0xffff) * 10000 + (low & 0xffff);
      rp = reduceByInverse(rp * CHUNK_SCALE + chunk, p, inverseP);
      rq = reduceByInverse(rq * CHUNK_SCALE + chunk, q, inverseQ);
    }
    residues.push(rp);
    if (k + 1 < primes.length) residues.push(rq);
  }
  return bad < 0 ? null : residues;
}

/**
 * reduce(x, p) with the quotient from a multiplication by 1/p (a division costs 3× as much, and this
 * is the job thread's inner loop): for x < 2^53 the floating quotient is off by at most one.
 */
function reduceByInverse(x: number, p: number, inverse: number): number {
  const r = x - Math.floor(x * inverse) * p;
  return r < 0 ? r + p : r >= p ? r - p : r;
}

/**
 * The value (< 10^4) of four ASCII digits in a little-endian word (first digit in the low byte), in
 * the low 16 bits; negative (bit 31 set) if any byte is not a digit.
 */
function digitWord(word: number): number {
  // word ^ 0x30 is 0..9 for a digit: its high nibble is 0, and adding 6 does not carry into it. All in
  // int32 arithmetic (imul, >>), which V8 keeps out of doubles.
  const d = word ^ 0x30303030;
  const invalid = (d | (d + 0x06060606)) & 0xf0f0f0f0;
  // Pairs d0·10 + d1 in byte 0 and d2·10 + d3 in byte 2, then (d0d1)·100 + d2d3.
  const pairs = (Math.imul(d, 10) + (d >> 8)) & 0x00ff00ff;
  return ((pairs & 0xff) * 100 + (pairs >> 16)) | (invalid === 0 ? 0 : -0x80000000);
}

/** decimalResidues one character at a time (big-endian hosts). */
function decimalResiduesSlow(digits: string, primes: readonly number[]): number[] | null {
  const len = digits.length;
  const r = new Float64Array(primes.length);
  let i = 0;
  let width = len % CHUNK_DIGITS || CHUNK_DIGITS;
  let bad = 0;
  while (i < len) {
    let chunk = 0;
    const end = i + width;
    for (; i < end; i++) {
      const d = digits.charCodeAt(i) - 48;
      bad |= d | (9 - d); // negative (sign bit set) for anything but '0'..'9'
      chunk = chunk * 10 + d;
    }
    const scale = width === CHUNK_DIGITS ? CHUNK_SCALE : 10 ** width;
    for (let k = 0; k < r.length; k++) r[k] = reduce(r[k] * scale + chunk, primes[k]);
    width = CHUNK_DIGITS;
  }
  return bad < 0 ? null : Array.from(r);
}

/**
 * Σ_{i=lo}^{hi} A[i]·A[k−i] mod p, with A[i] < p < 2^26. Each A[i] is split as H[i]·2^13 + L[i]
 * (both < 2^13), so each product is < 2^39 and 2^13 of them add up exactly before one reduction.
 */
function convolutionMod(A: Float64Array, H: Float64Array, L: Float64Array, k: number, lo: number, hi: number, p: number): number {
  let high = 0;
  let low = 0;
  for (let start = lo; start <= hi; start += SPLIT_RUN) {
    const end = Math.min(hi, start + SPLIT_RUN - 1);
    let sh = 0;
    let sl = 0;
    for (let i = start; i <= end; i++) {
      const b = A[k - i];
      sh += H[i] * b;
      sl += L[i] * b;
    }
    high = reduce(high + reduce(sh, p), p);
    low = reduce(low + reduce(sl, p), p);
  }
  return reduce(high * SPLIT + low, p);
}

const SPLIT = 8192; // 2^13
const SPLIT_RUN = 8192; // products < 2^39 each: 2^13 of them stay below 2^52

export class VerificationError extends Error {
  override name = 'VerificationError';
  constructor(readonly n: number, message: string) {
    super(message);
  }
}

/** One prime's series A_k mod p, with each A_k also split in 13-bit halves for convolutionMod. */
interface Residues {
  readonly p: number;
  A: Float64Array;
  H: Float64Array;
  L: Float64Array;
  /** (2k-1)! mod p for the current count. */
  factorial: number;
}

/** Residues A_k mod p for k = 1..count, for each prime; grows one term at a time. */
export class Verifier {
  readonly primes: readonly number[];
  private readonly residues: Residues[];
  private n = 0;

  constructor(primes: readonly number[] = VERIFIER_PRIMES, capacity = 1024) {
    this.primes = primes;
    this.residues = primes.map((p) => ({
      p,
      A: new Float64Array(capacity + 1),
      H: new Float64Array(capacity + 1),
      L: new Float64Array(capacity + 1),
      factorial: 1,
    }));
  }

  get count(): number {
    return this.n;
  }

  /** A_(n+1) mod each prime, where n = count; does not advance. */
  private nextA(): number[] {
    const k = this.n + 1;
    if (k > VERIFIER_MAX_N) throw new RangeError(`the verifier works up to n = ${VERIFIER_MAX_N}`);
    return this.residues.map(({ p, A, H, L }) => {
      if (k === 1) return 1;
      // Σ_{i=1}^{k-1} A_i A_{k-i}, each pair counted twice except the middle one.
      let s = reduce(2 * convolutionMod(A, H, L, k, 1, (k - 1) >> 1, p), p);
      if (k % 2 === 0) s = reduce(s + mulMod(A[k / 2], A[k / 2], p), p);
      return mulMod(s, invMod(2 * k - 1, p), p);
    });
  }

  /** (2k-1)! = (2k-3)! · (2k-2) · (2k-1) mod p, for k = count + 1. */
  private nextFactorial(r: Residues): number {
    const k = this.n + 1;
    return k === 1 ? 1 : mulMod(mulMod(r.factorial, 2 * k - 2, r.p), 2 * k - 1, r.p);
  }

  private push(a: readonly number[]): void {
    const k = this.n + 1;
    this.residues.forEach((r, idx) => {
      if (k >= r.A.length) {
        const size = Math.max(2 * r.A.length, k + 1);
        const grow = (old: Float64Array) => {
          const grown = new Float64Array(size);
          grown.set(old);
          return grown;
        };
        r.A = grow(r.A);
        r.H = grow(r.H);
        r.L = grow(r.L);
      }
      r.factorial = this.nextFactorial(r);
      r.A[k] = a[idx];
      r.L[k] = a[idx] % SPLIT;
      r.H[k] = (a[idx] - r.L[k]) / SPLIT;
    });
    this.n = k;
  }

  /** Checks that `digits` is T(count+1) mod both primes and, if so, advances. Throws VerificationError otherwise. */
  accept(n: number, digits: string | Uint8Array): void {
    this.acceptResidues(n, this.residuesOf(digits));
  }

  /**
   * The residues accept() compares, of any number's digits (null if they are not a positive decimal
   * integer): the costly part of a check, which needs no earlier term, so it can be done ahead.
   */
  residuesOf(digits: string | Uint8Array): number[] | null {
    return decimalResidues(digits, this.primes);
  }

  /** accept() for digits whose residuesOf() was taken ahead. */
  acceptResidues(n: number, got: number[] | null): void {
    if (n !== this.n + 1) throw new VerificationError(n, `term ${n} arrived out of order (expected ${this.n + 1})`);
    if (got === null) throw new VerificationError(n, `T(${n}) is not a positive decimal integer`);
    const a = this.nextA();
    this.residues.forEach((r, idx) => {
      const want = mulMod(a[idx], this.nextFactorial(r), r.p);
      if (got[idx] !== want) {
        throw new VerificationError(n, `T(${n}) failed verification: it is ${got[idx]} mod ${r.p}, the independent check says ${want}`);
      }
    });
    this.push(a);
  }

  /** Forgets terms after `count` (used to roll back a rejected block, or to match a shorter log). */
  truncate(count: number): void {
    if (count >= this.n) return;
    this.n = Math.max(0, count);
    for (const r of this.residues) {
      let f = 1;
      for (let k = 2; k <= this.n; k++) f = mulMod(mulMod(f, 2 * k - 2, r.p), 2 * k - 1, r.p);
      r.factorial = f;
    }
  }

  /** Serialized residues: u32 prime count, then per prime: u32 p, u32 count, count × u32 A_k. */
  serialize(): Buffer {
    const buf = Buffer.alloc(4 + this.primes.length * (8 + 4 * this.n));
    let o = buf.writeUInt32LE(this.primes.length, 0);
    for (const r of this.residues) {
      o = buf.writeUInt32LE(r.p, o);
      o = buf.writeUInt32LE(this.n, o);
      for (let k = 1; k <= this.n; k++) o = buf.writeUInt32LE(r.A[k], o);
    }
    return buf;
  }

  /** Restores residues for terms 1..min(stored, limit). Throws RangeError on a malformed buffer. */
  static deserialize(buf: Buffer, limit = Infinity): Verifier {
    const need = (o: number, len: number) => {
      if (o + len > buf.length) throw new RangeError('verifier state is truncated');
    };
    need(0, 4);
    const count = buf.readUInt32LE(0);
    if (count !== VERIFIER_PRIMES.length) throw new RangeError('verifier state is for other primes');
    let o = 4;
    const primes: number[] = [];
    const lists: Float64Array[] = [];
    let stored = -1;
    for (let i = 0; i < count; i++) {
      need(o, 8);
      const p = buf.readUInt32LE(o);
      const m = buf.readUInt32LE(o + 4);
      o += 8;
      if (p !== VERIFIER_PRIMES[i] || (stored >= 0 && m !== stored)) throw new RangeError('verifier state is inconsistent');
      stored = m;
      need(o, 4 * m);
      const A = new Float64Array(m + 1);
      for (let k = 1; k <= m; k++, o += 4) {
        A[k] = buf.readUInt32LE(o);
        if (A[k] >= p) throw new RangeError('verifier state holds an out-of-range residue');
      }
      primes.push(p);
      lists.push(A);
    }
    if (o !== buf.length) throw new RangeError('verifier state has trailing bytes');
    const v = new Verifier(primes, Math.max(1024, stored));
    const upto = Math.min(stored, limit);
    for (let k = 1; k <= upto; k++) v.push(lists.map((A) => A[k]));
    return v;
  }
}
