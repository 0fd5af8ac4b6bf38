// AssemblyScript, compiled to WebAssembly by scripts/build-wasm.mjs: the lower levels of the scaled
// remainder tree of ../decimal.ts, where V8's BigInt arithmetic costs most per digit (small
// multiplications, one toString per 256-digit leaf, and an allocation for every intermediate).
//
// A piece is a binary fraction z / 2^(32F) (u32 limbs, least significant first) standing for the
// decimal digits of leaves · LEAF_DIGITS, with F = limbsFor(leaves). It is split as in ../decimal.ts
// (high digits: z's top limbs; low digits: frac(z · 10^k), computed as (z mod 2^(32F−k)) · 5^k, of
// which only the limbs of the wanted window are formed), down to leaves of LEAF_DIGITS digits, which
// are read off nine digits at a time by multiplying by 10^9. Each leaf's digits I and what is left of
// its fraction, r, are then reconciled with the next leaf's own fraction z': c = I + round(r − z'), the
// same telescoping correction as ../decimal.ts, which absorbs the 0.999… / 1.000… ambiguity of a
// truncated fraction, and a leaf whose r − z' is not within 2^-24 of an integer is an error (the input
// was not a scaled integer). Corrections carry across leaves and, through the return value, pieces.
//
// Memory is laid out and owned by the caller (./radixKernel.ts).

const LEAF_DIGITS: i32 = 256;
const LOG2_10: f64 = 3.321928094887362;
/** Bits kept beyond a piece's digits (../decimal.ts's TREE_GUARD). */
const TREE_GUARD: i32 = 40;
const LEAF_LIMBS: i32 = 28; // limbsFor(1)
const TOLERANCE: f64 = 5.960464477539063e-8; // 2^-24
const NOT_AN_INTEGER: i32 = 99;
const POWERS_OF_TEN = memory.data<u32>([1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000]);

/** Limbs of a piece of `leaves` leaves: its digits' bits plus the guard, rounded up to whole limbs. */
export function limbsFor(leaves: i32): i32 {
  return (<i32>Math.ceil(<f64>(leaves * LEAF_DIGITS) * LOG2_10) + TREE_GUARD + 31) >> 5;
}

// Set by init(): 5^(LEAF_DIGITS·2^j) for j = 0.. as (pointer, limbs) pairs at `fives` (their limbs most
// significant first); the scratch area
// (split results and the leaf list) and one leaf's working copy.
let fives: usize = 0;
let scratchBase: usize = 0;
let leafList: usize = 0;
let work: usize = 0;
let scratchTop: usize = 0;
let leafCount: i32 = 0;
let firstTop: f64 = 0;

export function init(fivesIndex: usize, scratch: usize, leafPointers: usize, workLimbs: usize): void {
  fives = fivesIndex;
  scratchBase = scratch;
  leafList = leafPointers;
  work = workLimbs;
}

/** The top 64 bits of the fraction at z (F limbs), as a double in [0, 1). */
@inline function topOf(z: usize, F: i32): f64 {
  return <f64>load<u32>(z + (<usize>(F - 1) << 2)) * 2.3283064365386963e-10 + <f64>load<u32>(z + (<usize>(F - 2) << 2)) * 5.421010862427522e-20;
}

/** The top fraction of the piece last converted by piece() (its first leaf's): the preceding piece's next. */
export function lastFirstTop(): f64 {
  return firstTop;
}

/**
 * Limbs lo..hi-1 of a · b (A and B limbs; b stored most significant limb first, so that both run
 * forwards in a column), written at dst. Columns below lo − 2 are not formed: their carry into limb lo
 * is below one unit, which the tree's guard bits absorb. A column's 64-bit products are summed four
 * at a time (SIMD) as Σp mod 2^64 and Σ(p >> 32), which together give the exact sum.
 */
function middleProduct(a: usize, A: i32, bReversed: usize, B: i32, dst: usize, lo: i32, hi: i32): void {
  let carry: u64 = 0;
  for (let c = max(0, lo - 2); c < hi; c++) {
    const i0 = max(0, c - B + 1);
    const i1 = min(c, A - 1);
    let pa = a + (<usize>i0 << 2);
    let pb = bReversed + (<usize>(B - 1 - c + i0) << 2);
    let wrapped = i64x2.splat(0);
    let highs = i64x2.splat(0);
    let i = i0;
    for (; i + 3 <= i1; i += 4) {
      const va = v128.load(pa);
      const vb = v128.load(pb);
      const p0 = i64x2.extmul_low_i32x4_u(va, vb);
      const p1 = i64x2.extmul_high_i32x4_u(va, vb);
      wrapped = i64x2.add(wrapped, i64x2.add(p0, p1));
      highs = i64x2.add(highs, i64x2.add(i64x2.shr_u(p0, 32), i64x2.shr_u(p1, 32)));
      pa += 16;
      pb += 16;
    }
    let sumWrapped = <u64>(i64x2.extract_lane(wrapped, 0) + i64x2.extract_lane(wrapped, 1));
    let sumHigh = <u64>(i64x2.extract_lane(highs, 0) + i64x2.extract_lane(highs, 1));
    for (; i <= i1; i++) {
      const p = <u64>load<u32>(pa) * <u64>load<u32>(pb);
      sumWrapped += p;
      sumHigh += p >> 32;
      pa += 4;
      pb += 4;
    }
    // Σ(p mod 2^32) < 2^32 · (terms), so it is known from its value mod 2^64.
    const sumLow = sumWrapped - (sumHigh << 32);
    const t = sumLow + carry;
    carry = (t >> 32) + sumHigh;
    if (c >= lo) store<u32>(dst + (<usize>(c - lo) << 2), <u32>t);
  }
}

/** Splits the piece (z, F limbs, `leaves` leaves) down to leaves, appending each leaf's top LEAF_LIMBS limbs to the leaf list. */
function collect(z: usize, F: i32, leaves: i32): void {
  if (leaves == 1) {
    store<u32>(leafList + (<usize>leafCount << 2), <u32>(z + (<usize>(F - LEAF_LIMBS) << 2)));
    leafCount++;
    return;
  }
  // The high part has a power-of-two number of leaves (a tabulated power of five), as in ../decimal.ts.
  let high = 1;
  let j = 0;
  while (high * 4 <= leaves) {
    high <<= 1;
    j++;
  }
  const low = leaves - high;
  const highLimbs = limbsFor(high);
  const lowLimbs = limbsFor(low);
  collect(z + (<usize>(F - highLimbs) << 2), highLimbs, high);
  // frac(z·10^k / 2^(32F)) = frac((z mod 2^(32F−k)) · 5^k / 2^(32F−k)), k = LEAF_DIGITS·high = 8·high limbs.
  const rest = F - 8 * high;
  const five = <usize>load<u32>(fives + (<usize>j << 3));
  const fiveLimbs = load<i32>(fives + (<usize>j << 3) + 4);
  const dst = scratchTop;
  scratchTop += <usize>lowLimbs << 2;
  middleProduct(z, rest, five, fiveLimbs, dst, rest - lowLimbs, rest);
  collect(dst, lowLimbs, low);
}

/** "00".."99" as pairs of ASCII bytes. */
const DIGIT_PAIRS = memory.data<u8>([
  48, 48, 48, 49, 48, 50, 48, 51, 48, 52, 48, 53, 48, 54, 48, 55, 48, 56, 48, 57, 49, 48, 49, 49, 49, 50, 49, 51, 49, 52, 49, 53, 49, 54, 49, 55, 49, 56, 49, 57,
  50, 48, 50, 49, 50, 50, 50, 51, 50, 52, 50, 53, 50, 54, 50, 55, 50, 56, 50, 57, 51, 48, 51, 49, 51, 50, 51, 51, 51, 52, 51, 53, 51, 54, 51, 55, 51, 56, 51, 57,
  52, 48, 52, 49, 52, 50, 52, 51, 52, 52, 52, 53, 52, 54, 52, 55, 52, 56, 52, 57, 53, 48, 53, 49, 53, 50, 53, 51, 53, 52, 53, 53, 53, 54, 53, 55, 53, 56, 53, 57,
  54, 48, 54, 49, 54, 50, 54, 51, 54, 52, 54, 53, 54, 54, 54, 55, 54, 56, 54, 57, 55, 48, 55, 49, 55, 50, 55, 51, 55, 52, 55, 53, 55, 54, 55, 55, 55, 56, 55, 57,
  56, 48, 56, 49, 56, 50, 56, 51, 56, 52, 56, 53, 56, 54, 56, 55, 56, 56, 56, 57, 57, 48, 57, 49, 57, 50, 57, 51, 57, 52, 57, 53, 57, 54, 57, 55, 57, 56, 57, 57,
]);

/** v / 100 for v < 2^32, by a multiplication (a division instruction costs ~25 cycles). */
@inline function div100(v: u32): u32 {
  return <u32>((<u64>v * 0x51eb851f) >> 37);
}

/** The four ASCII digits of v < 10^4 at dst. */
@inline function write4(dst: usize, v: u32): void {
  const q = div100(v);
  store<u16>(dst, load<u16>(DIGIT_PAIRS + (<usize>q << 1)));
  store<u16>(dst + 2, load<u16>(DIGIT_PAIRS + (<usize>(v - q * 100) << 1)));
}

/** The nine ASCII digits of v < 10^9 at dst, as 1 + 4 + 4 (independent chains, short latency). */
@inline function write9(dst: usize, v: u32): void {
  const top = <u32>((<u64>v * 0xd1b71759) >> 45); // v / 10^4
  const first = <u32>((<u64>top * 0xd1b71759) >> 45); // v / 10^8
  store<u8>(dst, <u8>(48 + first));
  write4(dst + 1, top - first * 10000);
  write4(dst + 5, v - top * 10000);
}

/** Adds `delta` to the decimal number in the `count` ASCII digits at dst; returns the carry (or borrow) out of it. */
function addAt(dst: usize, count: i32, delta: i32): i32 {
  for (let i = count - 1; i >= 0 && delta != 0; i--) {
    let d = <i32>load<u8>(dst + <usize>i) - 48 + delta;
    delta = 0;
    if (d >= 10) {
      d -= 10;
      delta = 1;
    } else if (d < 0) {
      d += 10;
      delta = -1;
    }
    store<u8>(dst + <usize>i, <u8>(48 + d));
  }
  return delta;
}

/**
 * The LEAF_DIGITS digits of the leaf fraction in `work`, at dst; leaves in `work` what is left of the
 * fraction. Limbs that can no longer reach the digits still to come (plus 64 bits) are dropped as it goes.
 */
function leafDigits(dst: usize): void {
  let lowest = 0;
  let remaining = LEAF_DIGITS;
  while (remaining > 0) {
    const step = min(remaining, 9);
    const keep = (<i32>Math.ceil(<f64>remaining * LOG2_10) + 64 + 31) >> 5;
    lowest = max(lowest, LEAF_LIMBS - keep);
    const factor = <u64>load<u32>(POWERS_OF_TEN + (<usize>step << 2));
    let carry: u64 = 0;
    for (let q = lowest; q < LEAF_LIMBS; q++) {
      const at = work + (<usize>q << 2);
      const t = <u64>load<u32>(at) * factor + carry;
      store<u32>(at, <u32>t);
      carry = t >> 32;
    }
    // carry < 10^step: the next `step` digits (LEAF_DIGITS = 28·9 + 4).
    if (step == 9) write9(dst + <usize>(LEAF_DIGITS - remaining), <u32>carry);
    else write4(dst + <usize>(LEAF_DIGITS - remaining), <u32>carry);
    remaining -= step;
  }
}

/**
 * Writes the leaves · LEAF_DIGITS digits of the piece (z, F = limbsFor(leaves) limbs) at out.
 * `nextTop`: the top of the following piece's fraction (0 after the last piece); `carryIn`: the carry
 * (−1, 0, 1) the following piece passed up. Returns the carry out of this piece's first digit, or
 * NOT_AN_INTEGER when a leaf does not reconcile. z is only read.
 */
export function piece(z: usize, F: i32, leaves: i32, out: usize, nextTop: f64, carryIn: i32): i32 {
  scratchTop = scratchBase;
  leafCount = 0;
  collect(z, F, leaves);
  let next = nextTop;
  let carry = carryIn;
  for (let i = leaves - 1; i >= 0; i--) {
    const leaf = <usize>load<u32>(leafList + (<usize>i << 2));
    const own = topOf(leaf, LEAF_LIMBS);
    memory.copy(work, leaf, <usize>LEAF_LIMBS << 2);
    const dst = out + <usize>(i * LEAF_DIGITS);
    leafDigits(dst);
    const delta = topOf(work, LEAF_LIMBS) - next;
    const rounded = Math.round(delta);
    if (Math.abs(delta - rounded) > TOLERANCE) return NOT_AN_INTEGER;
    carry = addAt(dst, LEAF_DIGITS, <i32>rounded + carry);
    next = own;
  }
  firstTop = next;
  return carry;
}
