// Independent check of every term before it is committed: T(n) mod p for two primes p < 2^26,
// from the series identity tan' = 1 + tan², in plain double arithmetic (products < 2^52 are exact).
//
// With tan x = Σ A_k x^(2k-1):  A_1 = 1,  (2k-1)·A_k = Σ_{i=1}^{k-1} A_i·A_{k-i},  T(k) = (2k-1)!·A_k.
// This shares nothing with the zeta route (no π, no floating point, no BigInt), costs O(k) word
// operations per term and works while 2k-1 < p.

export const VERIFIER_PRIMES: readonly number[] = [67108859, 67108837];

/** The largest n the verifier can check (needs (2n-1)! invertible mod p). */
export const VERIFIER_MAX_N = Math.floor((Math.min(...VERIFIER_PRIMES) - 1) / 2);

function mulMod(a: number, b: number, p: number): number {
  return (a * b) % p;
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

/** Decimal digits → value mod p, 7 digits at a time (r·10^7 + chunk < 2^50). */
export function decimalMod(digits: string, p: number): number {
  return decimalResidues(digits, [p])[0];
}

/** Decimal digits → value mod each prime in one pass; chunks are parsed once with charCodeAt. */
export function decimalResidues(digits: string, primes: readonly number[]): number[] {
  const r = primes.map(() => 0);
  const len = digits.length;
  let i = 0;
  let width = len % 7 || 7;
  while (i < len) {
    let chunk = 0;
    const end = i + width;
    for (; i < end; i++) chunk = chunk * 10 + (digits.charCodeAt(i) - 48);
    const scale = width === 7 ? 1e7 : 10 ** width;
    for (let k = 0; k < r.length; k++) r[k] = (r[k] * scale + chunk) % primes[k];
    width = 7;
  }
  return r;
}

export class VerificationError extends Error {
  override name = 'VerificationError';
  constructor(readonly n: number, message: string) {
    super(message);
  }
}

/** Residues A_k mod p for k = 1..count, for each prime; grows one term at a time. */
export class Verifier {
  readonly primes: readonly number[];
  private readonly series: Float64Array[];
  private readonly factorials: number[]; // (2k-1)! mod p for the current count
  private n = 0;

  constructor(primes: readonly number[] = VERIFIER_PRIMES, capacity = 1024) {
    this.primes = primes;
    this.series = primes.map(() => new Float64Array(capacity + 1));
    this.factorials = primes.map(() => 1);
  }

  get count(): number {
    return this.n;
  }

  /** T(n+1) mod each prime, where n = count; does not advance. */
  private nextResidues(): { a: number[]; t: number[] } {
    const k = this.n + 1;
    if (k > VERIFIER_MAX_N) throw new RangeError(`the verifier works up to n = ${VERIFIER_MAX_N}`);
    const a: number[] = [];
    const t: number[] = [];
    this.primes.forEach((p, idx) => {
      const A = this.series[idx];
      let ak: number;
      if (k === 1) {
        ak = 1;
      } else {
        // Σ_{i=1}^{k-1} A_i A_{k-i}, each pair counted twice except the middle one.
        let s = 0;
        const half = (k - 1) >> 1;
        for (let i = 1; i <= half; i++) {
          s += (A[i] * A[k - i]) % p;
          if (s >= p) s -= p;
        }
        s = (s * 2) % p;
        if (k % 2 === 0) s = (s + mulMod(A[k / 2], A[k / 2], p)) % p;
        ak = mulMod(s, invMod(2 * k - 1, p), p);
      }
      // (2k-1)! = (2k-3)! · (2k-2) · (2k-1)
      const fact = k === 1 ? 1 : mulMod(mulMod(this.factorials[idx], 2 * k - 2, p), 2 * k - 1, p);
      a.push(ak);
      t.push(mulMod(ak, fact, p));
    });
    return { a, t };
  }

  private push(a: number[]): void {
    const k = this.n + 1;
    this.primes.forEach((p, idx) => {
      if (k >= this.series[idx].length) {
        const grown = new Float64Array(Math.max(2 * this.series[idx].length, k + 1));
        grown.set(this.series[idx]);
        this.series[idx] = grown;
      }
      this.series[idx][k] = a[idx];
      if (k > 1) this.factorials[idx] = mulMod(mulMod(this.factorials[idx], 2 * k - 2, p), 2 * k - 1, p);
    });
    this.n = k;
  }

  /** Checks that `digits` is T(count+1) mod both primes and, if so, advances. Throws VerificationError otherwise. */
  accept(n: number, digits: string): void {
    if (n !== this.n + 1) throw new VerificationError(n, `term ${n} arrived out of order (expected ${this.n + 1})`);
    if (!/^[1-9][0-9]*$/.test(digits)) throw new VerificationError(n, `T(${n}) is not a positive decimal integer`);
    const { a, t } = this.nextResidues();
    const residues = decimalResidues(digits, this.primes);
    this.primes.forEach((p, idx) => {
      const got = residues[idx];
      if (got !== t[idx]) {
        throw new VerificationError(n, `T(${n}) failed verification: it is ${got} mod ${p}, the independent check says ${t[idx]}`);
      }
    });
    this.push(a);
  }

  /** Forgets terms after `count` (used to roll back a rejected block, or to match a shorter log). */
  truncate(count: number): void {
    if (count >= this.n) return;
    this.n = Math.max(0, count);
    this.primes.forEach((p, idx) => {
      let f = 1;
      for (let k = 2; k <= this.n; k++) f = mulMod(mulMod(f, 2 * k - 2, p), 2 * k - 1, p);
      this.factorials[idx] = f;
    });
  }

  /** Serialized residues: u32 prime count, then per prime: u32 p, u32 count, count × u32 A_k. */
  serialize(): Buffer {
    const buf = Buffer.alloc(4 + this.primes.length * (8 + 4 * this.n));
    let o = buf.writeUInt32LE(this.primes.length, 0);
    this.primes.forEach((p, idx) => {
      o = buf.writeUInt32LE(p, o);
      o = buf.writeUInt32LE(this.n, o);
      for (let k = 1; k <= this.n; k++) o = buf.writeUInt32LE(this.series[idx][k], o);
    });
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
