// AssemblyScript: the WebAssembly kernel of the FFT multiplication (../fftMultiply.ts drives it).
// Compiled by scripts/build-wasm.mjs; this file is not part of the TypeScript program.
//
// Integers are cut into balanced 16-bit limbs (-2^15..2^15-1); a real sequence x of length N = 2M is
// packed as z_k = x_2k + i·x_2k+1 and transformed by an M-point complex FFT, then untangled into the
// half spectrum (realPost); products go back the same way (realPre, dit). Arrays are split into real
// and imaginary halves so that every loop runs two lanes of f64x2 SIMD. Pointers are byte offsets into
// this module's memory; the caller lays it out and owns it.

// Forward DIF: natural order in, bit-reversed out. tw[h + j] = e^{-2πi j/(2h)}; tw3[q + j] = e^{-2πi 3j/(4q)}.
// Radix-4 stages (two radix-2 stages fused; the same output order), a radix-2 stage first when log2 n is odd.
@inline function cmulR(ar: v128, ai: v128, br: v128, bi: v128): v128 { return f64x2.sub(f64x2.mul(ar, br), f64x2.mul(ai, bi)); }
@inline function cmulI(ar: v128, ai: v128, br: v128, bi: v128): v128 { return f64x2.add(f64x2.mul(ar, bi), f64x2.mul(ai, br)); }
// Conjugate-twiddle products: a · conj(b).
@inline function cjmulR(ar: v128, ai: v128, br: v128, bi: v128): v128 { return f64x2.add(f64x2.mul(ar, br), f64x2.mul(ai, bi)); }
@inline function cjmulI(ar: v128, ai: v128, br: v128, bi: v128): v128 { return f64x2.sub(f64x2.mul(ai, br), f64x2.mul(ar, bi)); }

export function dif(re: usize, im: usize, n: i32, twr: usize, twi: usize, t3r: usize, t3i: usize): void {
  let q = n >> 2;
  if ((31 - clz(n)) & 1) {
    const h = n >> 1, hb = <usize>h << 3;
    for (let j: usize = 0; j < hb; j += 16) {
      const ur = v128.load(re + j), ui = v128.load(im + j), vr = v128.load(re + hb + j), vi = v128.load(im + hb + j);
      v128.store(re + j, f64x2.add(ur, vr)); v128.store(im + j, f64x2.add(ui, vi));
      const dr = f64x2.sub(ur, vr), di = f64x2.sub(ui, vi);
      const cr = v128.load(twr + hb + j), ci = v128.load(twi + hb + j);
      v128.store(re + hb + j, cmulR(dr, di, cr, ci)); v128.store(im + hb + j, cmulI(dr, di, cr, ci));
    }
    q = n >> 3;
  }
  for (; q >= 2; q >>= 2) {
    const qb = <usize>q << 3;
    const w1r = twr + 2 * qb, w1i = twi + 2 * qb, w2r = twr + qb, w2i = twi + qb, w3r = t3r + qb, w3i = t3i + qb;
    for (let s: usize = 0; s < <usize>n << 3; s += 4 * qb) {
      const r0 = re + s, i0 = im + s;
      for (let j: usize = 0; j < qb; j += 16) {
        const x0r = v128.load(r0 + j), x0i = v128.load(i0 + j);
        const x1r = v128.load(r0 + qb + j), x1i = v128.load(i0 + qb + j);
        const x2r = v128.load(r0 + 2 * qb + j), x2i = v128.load(i0 + 2 * qb + j);
        const x3r = v128.load(r0 + 3 * qb + j), x3i = v128.load(i0 + 3 * qb + j);
        const s0r = f64x2.add(x0r, x2r), s0i = f64x2.add(x0i, x2i), d0r = f64x2.sub(x0r, x2r), d0i = f64x2.sub(x0i, x2i);
        const s1r = f64x2.add(x1r, x3r), s1i = f64x2.add(x1i, x3i), d1r = f64x2.sub(x1r, x3r), d1i = f64x2.sub(x1i, x3i);
        v128.store(r0 + j, f64x2.add(s0r, s1r)); v128.store(i0 + j, f64x2.add(s0i, s1i));
        const ar = f64x2.sub(s0r, s1r), ai = f64x2.sub(s0i, s1i);
        let cr = v128.load(w2r + j), ci = v128.load(w2i + j);
        v128.store(r0 + qb + j, cmulR(ar, ai, cr, ci)); v128.store(i0 + qb + j, cmulI(ar, ai, cr, ci));
        const br = f64x2.add(d0r, d1i), bi = f64x2.sub(d0i, d1r); // d0 - i d1
        cr = v128.load(w1r + j); ci = v128.load(w1i + j);
        v128.store(r0 + 2 * qb + j, cmulR(br, bi, cr, ci)); v128.store(i0 + 2 * qb + j, cmulI(br, bi, cr, ci));
        const er = f64x2.sub(d0r, d1i), ei = f64x2.add(d0i, d1r); // d0 + i d1
        cr = v128.load(w3r + j); ci = v128.load(w3i + j);
        v128.store(r0 + 3 * qb + j, cmulR(er, ei, cr, ci)); v128.store(i0 + 3 * qb + j, cmulI(er, ei, cr, ci));
      }
    }
  }
  // q = 1: 4-point transforms, no twiddles.
  for (let s: usize = 0; s < <usize>n << 3; s += 32) {
    const x0r = load<f64>(re + s), x1r = load<f64>(re + s + 8), x2r = load<f64>(re + s + 16), x3r = load<f64>(re + s + 24);
    const x0i = load<f64>(im + s), x1i = load<f64>(im + s + 8), x2i = load<f64>(im + s + 16), x3i = load<f64>(im + s + 24);
    const s0r = x0r + x2r, s0i = x0i + x2i, d0r = x0r - x2r, d0i = x0i - x2i;
    const s1r = x1r + x3r, s1i = x1i + x3i, d1r = x1r - x3r, d1i = x1i - x3i;
    store<f64>(re + s, s0r + s1r); store<f64>(im + s, s0i + s1i);
    store<f64>(re + s + 8, s0r - s1r); store<f64>(im + s + 8, s0i - s1i);
    store<f64>(re + s + 16, d0r + d1i); store<f64>(im + s + 16, d0i - d1r);
    store<f64>(re + s + 24, d0r - d1i); store<f64>(im + s + 24, d0i + d1r);
  }
}

// Inverse DIT (conjugate twiddles): bit-reversed in, natural out, unscaled; the stages of dif backwards.
export function dit(re: usize, im: usize, n: i32, twr: usize, twi: usize, t3r: usize, t3i: usize): void {
  for (let s: usize = 0; s < <usize>n << 3; s += 32) {
    const y0r = load<f64>(re + s), y1r = load<f64>(re + s + 8), y2r = load<f64>(re + s + 16), y3r = load<f64>(re + s + 24);
    const y0i = load<f64>(im + s), y1i = load<f64>(im + s + 8), y2i = load<f64>(im + s + 16), y3i = load<f64>(im + s + 24);
    const pr = y0r + y1r, pi = y0i + y1i, mr = y0r - y1r, mi = y0i - y1i;
    const br = y2r + y3r, bi = y2i + y3i, dr = y2r - y3r, di = y2i - y3i; // B + C, B - C
    store<f64>(re + s, pr + br); store<f64>(im + s, pi + bi);
    store<f64>(re + s + 16, pr - br); store<f64>(im + s + 16, pi - bi);
    store<f64>(re + s + 8, mr - di); store<f64>(im + s + 8, mi + dr);   // (y0 - A) + i(B - C)
    store<f64>(re + s + 24, mr + di); store<f64>(im + s + 24, mi - dr);
  }
  const odd = (31 - clz(n)) & 1;
  const lastQ = odd ? n >> 3 : n >> 2;
  for (let q = 4; q <= lastQ; q <<= 2) {
    const qb = <usize>q << 3;
    const w1r = twr + 2 * qb, w1i = twi + 2 * qb, w2r = twr + qb, w2i = twi + qb, w3r = t3r + qb, w3i = t3i + qb;
    for (let s: usize = 0; s < <usize>n << 3; s += 4 * qb) {
      const r0 = re + s, i0 = im + s;
      for (let j: usize = 0; j < qb; j += 16) {
        const y0r = v128.load(r0 + j), y0i = v128.load(i0 + j);
        let yr = v128.load(r0 + qb + j), yi = v128.load(i0 + qb + j);
        let cr = v128.load(w2r + j), ci = v128.load(w2i + j);
        const ar = cjmulR(yr, yi, cr, ci), ai = cjmulI(yr, yi, cr, ci);
        yr = v128.load(r0 + 2 * qb + j); yi = v128.load(i0 + 2 * qb + j);
        cr = v128.load(w1r + j); ci = v128.load(w1i + j);
        const br = cjmulR(yr, yi, cr, ci), bi = cjmulI(yr, yi, cr, ci);
        yr = v128.load(r0 + 3 * qb + j); yi = v128.load(i0 + 3 * qb + j);
        cr = v128.load(w3r + j); ci = v128.load(w3i + j);
        const cr2 = cjmulR(yr, yi, cr, ci), ci2 = cjmulI(yr, yi, cr, ci);
        const pr = f64x2.add(y0r, ar), pi = f64x2.add(y0i, ai), mr = f64x2.sub(y0r, ar), mi = f64x2.sub(y0i, ai);
        const sr = f64x2.add(br, cr2), si = f64x2.add(bi, ci2), dr = f64x2.sub(br, cr2), di = f64x2.sub(bi, ci2);
        v128.store(r0 + j, f64x2.add(pr, sr)); v128.store(i0 + j, f64x2.add(pi, si));
        v128.store(r0 + 2 * qb + j, f64x2.sub(pr, sr)); v128.store(i0 + 2 * qb + j, f64x2.sub(pi, si));
        v128.store(r0 + qb + j, f64x2.sub(mr, di)); v128.store(i0 + qb + j, f64x2.add(mi, dr));
        v128.store(r0 + 3 * qb + j, f64x2.add(mr, di)); v128.store(i0 + 3 * qb + j, f64x2.sub(mi, dr));
      }
    }
  }
  if (odd) {
    const h = n >> 1, hb = <usize>h << 3;
    for (let j: usize = 0; j < hb; j += 16) {
      const xr = v128.load(re + hb + j), xi = v128.load(im + hb + j);
      const cr = v128.load(twr + hb + j), ci = v128.load(twi + hb + j);
      const vr = cjmulR(xr, xi, cr, ci), vi = cjmulI(xr, xi, cr, ci);
      const ur = v128.load(re + j), ui = v128.load(im + j);
      v128.store(re + j, f64x2.add(ur, vr)); v128.store(im + j, f64x2.add(ui, vi));
      v128.store(re + hb + j, f64x2.sub(ur, vr)); v128.store(im + hb + j, f64x2.sub(ui, vi));
    }
  }
}

// Sizes M = 3t (t a power of two): one radix-3 DIF stage over thirds, then an FFT of size t on each
// third, so that third r holds X[3q + r] at position rev(q). w1/w2[j] = e^{-2πi j/M}, e^{-2πi 2j/M}.
const HALF_SQRT3: f64 = 0.8660254037844386;
export function radix3Dif(re: usize, im: usize, m: i32, w1r: usize, w1i: usize, w2r: usize, w2i: usize): void {
  const tb = <usize>(m / 3) << 3;
  const half = f64x2.splat(0.5), h3 = f64x2.splat(HALF_SQRT3);
  for (let j: usize = 0; j < tb; j += 16) {
    const ar = v128.load(re + j), ai = v128.load(im + j);
    const br = v128.load(re + tb + j), bi = v128.load(im + tb + j);
    const cr = v128.load(re + 2 * tb + j), ci = v128.load(im + 2 * tb + j);
    const sr = f64x2.add(br, cr), si = f64x2.add(bi, ci);
    const dr = f64x2.mul(h3, f64x2.sub(br, cr)), di = f64x2.mul(h3, f64x2.sub(bi, ci));
    v128.store(re + j, f64x2.add(ar, sr)); v128.store(im + j, f64x2.add(ai, si));
    const ur = f64x2.sub(ar, f64x2.mul(half, sr)), ui = f64x2.sub(ai, f64x2.mul(half, si));
    // a + ωb + ω²c = u − i·(√3/2)(b − c); a + ω²b + ωc = u + i·(√3/2)(b − c)
    const pr = f64x2.add(ur, di), pi = f64x2.sub(ui, dr);
    const qr = f64x2.sub(ur, di), qi = f64x2.add(ui, dr);
    let wr = v128.load(w1r + j), wi = v128.load(w1i + j);
    v128.store(re + tb + j, cmulR(pr, pi, wr, wi)); v128.store(im + tb + j, cmulI(pr, pi, wr, wi));
    wr = v128.load(w2r + j); wi = v128.load(w2i + j);
    v128.store(re + 2 * tb + j, cmulR(qr, qi, wr, wi)); v128.store(im + 2 * tb + j, cmulI(qr, qi, wr, wi));
  }
}

// Inverse of radix3Dif (conjugate twiddles, unscaled), after the inverse FFT of each third.
export function radix3Dit(re: usize, im: usize, m: i32, w1r: usize, w1i: usize, w2r: usize, w2i: usize): void {
  const tb = <usize>(m / 3) << 3;
  const half = f64x2.splat(0.5), h3 = f64x2.splat(HALF_SQRT3);
  for (let j: usize = 0; j < tb; j += 16) {
    const ar = v128.load(re + j), ai = v128.load(im + j);
    let yr = v128.load(re + tb + j), yi = v128.load(im + tb + j);
    let wr = v128.load(w1r + j), wi = v128.load(w1i + j);
    const br = cjmulR(yr, yi, wr, wi), bi = cjmulI(yr, yi, wr, wi);
    yr = v128.load(re + 2 * tb + j); yi = v128.load(im + 2 * tb + j);
    wr = v128.load(w2r + j); wi = v128.load(w2i + j);
    const cr = cjmulR(yr, yi, wr, wi), ci = cjmulI(yr, yi, wr, wi);
    const sr = f64x2.add(br, cr), si = f64x2.add(bi, ci);
    const dr = f64x2.mul(h3, f64x2.sub(br, cr)), di = f64x2.mul(h3, f64x2.sub(bi, ci));
    v128.store(re + j, f64x2.add(ar, sr)); v128.store(im + j, f64x2.add(ai, si));
    const ur = f64x2.sub(ar, f64x2.mul(half, sr)), ui = f64x2.sub(ai, f64x2.mul(half, si));
    // a + ω̄b + ω̄²c = u + i·(√3/2)(b − c); a + ω̄²b + ω̄c = u − i·(√3/2)(b − c)
    v128.store(re + tb + j, f64x2.sub(ur, di)); v128.store(im + tb + j, f64x2.add(ui, dr));
    v128.store(re + 2 * tb + j, f64x2.add(ur, di)); v128.store(im + 2 * tb + j, f64x2.sub(ui, dr));
  }
}

// One pair of realPost: Z_k at byte offset po, Z_{M-k} at qo, become X_k and X_{M-k}; w = e^{-2πik/N}.
@inline function postPair(re: usize, im: usize, po: usize, qo: usize, wr: f64, wi: f64): void {
  const ar = load<f64>(re + po), ai = load<f64>(im + po), br = load<f64>(re + qo), bi = load<f64>(im + qo);
  // E = (Z_k + conj Z_{M-k})/2, O = (Z_k - conj Z_{M-k})/(2i); X_k = E + w·O, X_{M-k} = conj(E - w·O)
  const er = 0.5 * (ar + br), ei = 0.5 * (ai - bi);
  const or = 0.5 * (ai + bi), oi = -0.5 * (ar - br);
  const tr = wr * or - wi * oi, ti = wr * oi + wi * or;
  store<f64>(re + po, er + tr); store<f64>(im + po, ei + ti);
  store<f64>(re + qo, er - tr); store<f64>(im + qo, ti - ei);
}

// One pair of realPre (the inverse of postPair, scaled by 2h); w = e^{-2πik/N} as in postPair.
@inline function prePair(re: usize, im: usize, po: usize, qo: usize, wr: f64, wi: f64, h: f64): void {
  const ar = load<f64>(re + po), ai = load<f64>(im + po), br = load<f64>(re + qo), bi = load<f64>(im + qo);
  // E = (X_k + conj X_{M-k})/2, O = (X_k - conj X_{M-k})·conj(w)/2; Z_k = E + iO, Z_{M-k} = conj E + i·conj O
  const er = h * (ar + br), ei = h * (ai - bi);
  const dr = h * (ar - br), di = h * (ai + bi);
  const or = dr * wr + di * wi, oi = di * wr - dr * wi;
  store<f64>(re + po, er - oi); store<f64>(im + po, ei + or);
  store<f64>(re + qo, er + oi); store<f64>(im + qo, or - ei);
}

// postPair and prePair on two pairs at once: positions p, p + 1 (the v128 at po) with their partners
// q, q − 1 (the v128 at qo − 8, lanes swapped so that they line up with p's).
@inline function swapLanes(v: v128): v128 { return i64x2.shuffle(v, v, 1, 0); }
@inline function postPairs(re: usize, im: usize, po: usize, qo: usize, wr: v128, wi: v128): void {
  const ar = v128.load(re + po), ai = v128.load(im + po);
  const br = swapLanes(v128.load(re + qo - 8)), bi = swapLanes(v128.load(im + qo - 8));
  const half = f64x2.splat(0.5);
  const er = f64x2.mul(half, f64x2.add(ar, br)), ei = f64x2.mul(half, f64x2.sub(ai, bi));
  const or = f64x2.mul(half, f64x2.add(ai, bi)), oi = f64x2.mul(half, f64x2.sub(br, ar));
  const tr = f64x2.sub(f64x2.mul(wr, or), f64x2.mul(wi, oi)), ti = f64x2.add(f64x2.mul(wr, oi), f64x2.mul(wi, or));
  v128.store(re + po, f64x2.add(er, tr)); v128.store(im + po, f64x2.add(ei, ti));
  v128.store(re + qo - 8, swapLanes(f64x2.sub(er, tr))); v128.store(im + qo - 8, swapLanes(f64x2.sub(ti, ei)));
}
@inline function prePairs(re: usize, im: usize, po: usize, qo: usize, wr: v128, wi: v128, h: v128): void {
  const ar = v128.load(re + po), ai = v128.load(im + po);
  const br = swapLanes(v128.load(re + qo - 8)), bi = swapLanes(v128.load(im + qo - 8));
  const er = f64x2.mul(h, f64x2.add(ar, br)), ei = f64x2.mul(h, f64x2.sub(ai, bi));
  const dr = f64x2.mul(h, f64x2.sub(ar, br)), di = f64x2.mul(h, f64x2.add(ai, bi));
  const or = f64x2.add(f64x2.mul(dr, wr), f64x2.mul(di, wi)), oi = f64x2.sub(f64x2.mul(di, wr), f64x2.mul(dr, wi));
  v128.store(re + po, f64x2.sub(er, oi)); v128.store(im + po, f64x2.add(ei, or));
  v128.store(re + qo - 8, swapLanes(f64x2.add(er, oi))); v128.store(im + qo - 8, swapLanes(f64x2.sub(or, ei)));
}

// After dif of z (z_k = x_2k + i x_2k+1), turn Z (bit-reversed) into the half spectrum X_0..X_M,
// stored at the same positions; X_M's real part rides in slot 0's imaginary part. In bit-reversed
// order the partner M-k of the frequency at position p (in octave [b, 2b)) sits at 3b-1-p.
// gr/gi[p] = e^{-2πi rev(p)/N}.
export function realPost(re: usize, im: usize, m: i32, gr: usize, gi: usize): void {
  const z0r = load<f64>(re), z0i = load<f64>(im);
  store<f64>(re, z0r + z0i); store<f64>(im, z0r - z0i);
  for (let b = 1; b < m; b <<= 1) {
    if (b >= 4) {
      // b/2 pairs, an even number: two at a time.
      for (let p = b, q = 2 * b - 1; p < q; p += 2, q -= 2) {
        const po = <usize>p << 3;
        postPairs(re, im, po, <usize>q << 3, v128.load(gr + po), v128.load(gi + po));
      }
      continue;
    }
    for (let p = b, q = 2 * b - 1; p <= q; p++, q--) {
      const po = <usize>p << 3;
      postPair(re, im, po, <usize>q << 3, load<f64>(gr + po), load<f64>(gi + po));
    }
  }
}

// Inverse of realPost, with the 1/total scale folded in (total = m, or 3m for third 0 of a size-3m transform).
export function realPre(re: usize, im: usize, m: i32, gr: usize, gi: usize, total: i32): void {
  const h = 0.5 / <f64>total;
  const c0 = load<f64>(re), cm = load<f64>(im);
  store<f64>(re, h * (c0 + cm)); store<f64>(im, h * (c0 - cm));
  const hv = f64x2.splat(h);
  for (let b = 1; b < m; b <<= 1) {
    if (b >= 4) {
      for (let p = b, q = 2 * b - 1; p < q; p += 2, q -= 2) {
        const po = <usize>p << 3;
        prePairs(re, im, po, <usize>q << 3, v128.load(gr + po), v128.load(gi + po), hv);
      }
      continue;
    }
    for (let p = b, q = 2 * b - 1; p <= q; p++, q--) {
      const po = <usize>p << 3;
      prePair(re, im, po, <usize>q << 3, load<f64>(gr + po), load<f64>(gi + po), h);
    }
  }
}

// realPost for the pairs between thirds 1 and 2 of a size-3t transform: the partner M−k of the
// frequency at position q of third 1 sits at position t−1−q of third 2. gr/gi: third 1's twiddles.
export function realPostCross(re: usize, im: usize, t: i32, gr: usize, gi: usize): void {
  const tb = <usize>t << 3;
  if (t >= 2 && (t & 1) == 0) {
    for (let p: usize = 0, q: usize = tb - 8; p < tb; p += 16, q -= 16) postPairs(re, im, tb + p, 2 * tb + q, v128.load(gr + p), v128.load(gi + p));
    return;
  }
  for (let p: usize = 0, q: usize = tb - 8; p < tb; p += 8, q -= 8) postPair(re, im, tb + p, 2 * tb + q, load<f64>(gr + p), load<f64>(gi + p));
}

// realPre's counterpart of realPostCross (scale 1/M with M = 3t).
export function realPreCross(re: usize, im: usize, t: i32, gr: usize, gi: usize): void {
  const tb = <usize>t << 3;
  const h = 0.5 / <f64>(3 * t);
  if (t >= 2 && (t & 1) == 0) {
    const hv = f64x2.splat(h);
    for (let p: usize = 0, q: usize = tb - 8; p < tb; p += 16, q -= 16) prePairs(re, im, tb + p, 2 * tb + q, v128.load(gr + p), v128.load(gi + p), hv);
    return;
  }
  for (let p: usize = 0, q: usize = tb - 8; p < tb; p += 8, q -= 8) prePair(re, im, tb + p, 2 * tb + q, load<f64>(gr + p), load<f64>(gi + p), h);
}

// x *= y pointwise on half spectra (slot 0 holds two reals).
// z = x · y pointwise (z may be x): x stays when the product goes elsewhere, so one operand's spectrum
// serves two products without being copied out and back.
export function pointwise(xr: usize, xi: usize, yr: usize, yi: usize, zr: usize, zi: usize, m: i32): void {
  store<f64>(zr, load<f64>(xr) * load<f64>(yr)); store<f64>(zi, load<f64>(xi) * load<f64>(yi));
  { const a = load<f64>(xr + 8), b = load<f64>(xi + 8), c = load<f64>(yr + 8), d = load<f64>(yi + 8);
    store<f64>(zr + 8, a * c - b * d); store<f64>(zi + 8, a * d + b * c); }
  for (let j: usize = 16; j < <usize>m << 3; j += 16) {
    const a = v128.load(xr + j), b = v128.load(xi + j), c = v128.load(yr + j), d = v128.load(yi + j);
    v128.store(zr + j, f64x2.sub(f64x2.mul(a, c), f64x2.mul(b, d)));
    v128.store(zi + j, f64x2.add(f64x2.mul(a, d), f64x2.mul(b, c)));
  }
}

// Hex digits (lowercase, most significant first, len chars at src) -> balanced 16-bit limbs x_0..,
// laid out as re[k] = x_2k, im[k] = x_2k+1, zero-filled to m slots. Returns the limb count.
@inline function nib(c: u32): u32 { return (c & 15) + 9 * (c >> 6); }
@inline function putLimb(re: usize, im: usize, k: i32, v: f64): void {
  store<f64>(((k & 1) ? im : re) + (<usize>(k >> 1) << 3), v);
}
// Zeroes the limbs from `limbs` up to the end of the m slots.
@inline function zeroFrom(re: usize, im: usize, limbs: i32, m: i32): void {
  if (limbs & 1) putLimb(re, im, limbs, 0.0);
  const used = <usize>((limbs + 1) >> 1);
  memory.fill(re + (used << 3), 0, (<usize>m - used) << 3);
  memory.fill(im + (used << 3), 0, (<usize>m - used) << 3);
}
/** Four hex chars (a little-endian word, most significant char first) as their 16-bit value. */
@inline function hex4(w: u32): i32 {
  const v4 = (w & 0x0f0f0f0f) + 9 * ((w >> 6) & 0x01010101);
  return <i32>(((v4 & 0xff) << 12) | (((v4 >> 8) & 0xff) << 8) | (((v4 >> 16) & 0xff) << 4) | (v4 >> 24));
}
export function loadHex(src: usize, len: i32, re: usize, im: usize, m: i32): i32 {
  let carry = 0, limbs = 0, end = len;
  // Two limbs a step, straight into their slots (limb 2i to re[i], 2i + 1 to im[i]).
  while (end >= 8) {
    let v0 = hex4(load<u32>(src + <usize>(end - 4))) + carry;
    carry = (v0 + 32768) >> 16; v0 -= carry << 16;
    let v1 = hex4(load<u32>(src + <usize>(end - 8))) + carry;
    carry = (v1 + 32768) >> 16; v1 -= carry << 16;
    const at = <usize>(limbs >> 1) << 3;
    store<f64>(re + at, <f64>v0); store<f64>(im + at, <f64>v1);
    limbs += 2;
    end -= 8;
  }
  while (end >= 4) {
    const w = load<u32>(src + <usize>(end - 4));
    const v4 = (w & 0x0f0f0f0f) + 9 * ((w >> 6) & 0x01010101);
    let v = <i32>(((v4 & 0xff) << 12) | (((v4 >> 8) & 0xff) << 8) | (((v4 >> 16) & 0xff) << 4) | (v4 >> 24)) + carry;
    carry = (v + 32768) >> 16; v -= carry << 16; // v in [0, 65536] -> balanced [-32768, 32767] plus a carry
    putLimb(re, im, limbs++, <f64>v);
    end -= 4;
  }
  if (end > 0) {
    let v = 0;
    for (let i = 0; i < end; i++) v = (v << 4) | <i32>nib(load<u8>(src + <usize>i));
    v += carry;
    carry = (v + 32768) >> 16; v -= carry << 16;
    putLimb(re, im, limbs++, <f64>v);
  }
  if (carry) putLimb(re, im, limbs++, <f64>carry);
  zeroFrom(re, im, limbs, m);
  return limbs;
}

// loadHex with balanced 12-bit limbs (three hex digits each), for products too large for 16-bit limbs'
// rounding error bound.
export function loadHex12(src: usize, len: i32, re: usize, im: usize, m: i32): i32 {
  let carry = 0, limbs = 0, end = len;
  while (end > 0) {
    const start = end >= 3 ? end - 3 : 0;
    let v = 0;
    for (let i = start; i < end; i++) v = (v << 4) | <i32>nib(load<u8>(src + <usize>i));
    v += carry;
    carry = (v + 2048) >> 12; v -= carry << 12; // v in [0, 4096] -> balanced [-2048, 2047] plus a carry
    putLimb(re, im, limbs++, <f64>v);
    end = start;
  }
  if (carry) putLimb(re, im, limbs++, <f64>carry);
  zeroFrom(re, im, limbs, m);
  return limbs;
}

// The hex written at dst + pos .. dst + cap, without leading zeros (one "0" if empty), gets a "0x"
// prefix; returns its length.
@inline function hexPrefix(dst: usize, cap: i32, pos: i32): i32 {
  if (pos == cap) { pos--; store<u8>(dst + <usize>pos, 48); }
  while (pos < cap - 1 && load<u8>(dst + <usize>pos) == 48) pos++;
  pos -= 2; store<u16>(dst + <usize>pos, 0x7830); // "0x"
  return cap - pos;
}

let maxErr: f64 = 0;
export function lastMaxErr(): f64 { return maxErr; }
// hexPairs: 256 u16 entries, two lowercase hex chars per byte value (low address = high nibble).
// Rounds c_0..c_{count-1} and carries in base 2^bits (bits = 16, or 12: three hex digits a limb),
// writing limbs lo..hi-1 of the product as '0x' + hex (most significant first) ending at dst + cap;
// the limbs above hi are not computed at all (with hi >= count, everything up to the final carry is
// written). Returns the number of chars written, prefix included, without leading zeros.
// lastMaxErr(): the largest distance from an integer seen.
export function storeHex(re: usize, im: usize, count: i32, dst: usize, cap: i32, hexPairs: usize, lo: i32, hi: i32, bits: i32): i32 {
  let carry: i64 = 0; let pos = cap; let err: f64 = 0;
  const end = min(count, hi);
  const mask = (<i64>1 << <i64>bits) - 1;
  let k = 0;
  if (bits == 16) {
    // Two limbs a step, rounded and carried as one 32-bit word (the same integer), its eight hex chars
    // written at once; a single limb only where `lo` or `end` splits a pair. Two error maxima, so
    // neither chain waits on the other.
    let e0: f64 = 0, e1: f64 = 0;
    const below = min(lo, end);
    for (; k + 1 < below; k += 2) {
      const at = <usize>(k >> 1) << 3;
      const c0 = load<f64>(re + at), c1 = load<f64>(im + at);
      const r0 = nearest(c0), r1 = nearest(c1);
      e0 = max(e0, abs(c0 - r0)); e1 = max(e1, abs(c1 - r1));
      carry = (carry + <i64>r0 + (<i64>r1 << 16)) >> 32;
    }
    if (k < below) {
      // lo is odd: limb lo − 1 (even, in re) alone.
      const c0 = load<f64>(re + (<usize>(k >> 1) << 3));
      const r0 = nearest(c0);
      e0 = max(e0, abs(c0 - r0));
      carry = (carry + <i64>r0) >> 16;
      k++;
    }
    // From an even limb the pair is re[i], im[i]; from an odd one, im[i], re[i + 1].
    const odd = k & 1;
    const first = odd ? im : re, second = odd ? re + 8 : im;
    for (; k + 1 < end; k += 2) {
      const at = <usize>(k >> 1) << 3;
      const c0 = load<f64>(first + at), c1 = load<f64>(second + at);
      const r0 = nearest(c0), r1 = nearest(c1);
      e0 = max(e0, abs(c0 - r0)); e1 = max(e1, abs(c1 - r1));
      const v: i64 = carry + <i64>r0 + (<i64>r1 << 16);
      carry = v >> 32;
      const P = <u32>v;
      pos -= 8;
      store<u64>(dst + <usize>pos,
        <u64>load<u16>(hexPairs + (<usize>(P >>> 24) << 1)) |
        (<u64>load<u16>(hexPairs + (<usize>((P >>> 16) & 255) << 1)) << 16) |
        (<u64>load<u16>(hexPairs + (<usize>((P >>> 8) & 255) << 1)) << 32) |
        (<u64>load<u16>(hexPairs + (<usize>(P & 255) << 1)) << 48));
    }
    err = max(e0, e1);
  }
  for (; k < end; k++) {
    const c = load<f64>(((k & 1) ? im : re) + (<usize>(k >> 1) << 3));
    const r = nearest(c);
    err = max(err, abs(c - r));
    carry += <i64>r;
    const limb = <u32>(carry & mask); carry >>= <i64>bits;
    if (k < lo) continue;
    if (bits == 16) {
      pos -= 4;
      store<u32>(dst + <usize>pos, <u32>load<u16>(hexPairs + (<usize>(limb >> 8) << 1)) | (<u32>load<u16>(hexPairs + (<usize>(limb & 255) << 1)) << 16));
    } else {
      pos -= 3;
      // The pair for the limb's low byte, then its top nibble (the second char of that nibble's pair).
      store<u16>(dst + <usize>pos + 1, load<u16>(hexPairs + (<usize>(limb & 255) << 1)));
      store<u8>(dst + <usize>pos, load<u8>(hexPairs + (<usize>(limb >> 8) << 1) + 1));
    }
  }
  if (hi >= count) while (carry > 0) { const b = <u32>(carry & 255); carry >>= 8; pos -= 2; store<u16>(dst + <usize>pos, load<u16>(hexPairs + (<usize>b << 1))); }
  maxErr = err;
  return hexPrefix(dst, cap, pos);
}

// u32 limbs (least significant first, `words` of them at src) -> balanced limbs of `bits` bits (16 or 12),
// laid out as for loadHex, zero-filled to m slots: the digit tree's numbers stay in this memory between
// products instead of going through hex and BigInt. Returns the limb count.
export function loadLimbs32(src: usize, words: i32, re: usize, im: usize, m: i32, bits: i32): i32 {
  if (bits == 16) {
    // A word is two limbs: its low half to re[w], its high half to im[w].
    let carry = 0;
    for (let w = 0; w < words; w++) {
      const x = load<u32>(src + (<usize>w << 2));
      let v0 = <i32>(x & 0xffff) + carry;
      carry = (v0 + 32768) >> 16; v0 -= carry << 16;
      let v1 = <i32>(x >>> 16) + carry;
      carry = (v1 + 32768) >> 16; v1 -= carry << 16;
      store<f64>(re + (<usize>w << 3), <f64>v0); store<f64>(im + (<usize>w << 3), <f64>v1);
    }
    let limbs = 2 * words;
    if (carry) putLimb(re, im, limbs++, <f64>carry);
    zeroFrom(re, im, limbs, m);
    return limbs;
  }
  const mask: u64 = (<u64>1 << <u64>bits) - 1;
  const half = 1 << (bits - 1);
  let acc: u64 = 0, accBits = 0, carry = 0, limbs = 0, w = 0;
  while (w < words || accBits > 0) {
    if (accBits < bits && w < words) {
      acc |= <u64>load<u32>(src + (<usize>w << 2)) << <u64>accBits;
      accBits += 32;
      w++;
    }
    let v = <i32>(acc & mask) + carry;
    acc >>= <u64>bits;
    accBits = max(0, accBits - bits);
    carry = (v + half) >> bits; v -= carry << bits; // v in [0, 2^bits] -> balanced, plus a carry
    putLimb(re, im, limbs++, <f64>v);
  }
  if (carry) putLimb(re, im, limbs++, <f64>carry);
  zeroFrom(re, im, limbs, m);
  return limbs;
}

// Rounds and carries c_0..c_{count-1} in base 2^bits as storeHex does, and writes bits
// loBit..loBit + 32·words - 1 of the product as u32 limbs (least significant first) at dst; the limbs
// above the window are not computed. lastMaxErr(): the largest distance from an integer seen.
export function storeWindow32(re: usize, im: usize, count: i32, dst: usize, loBit: i32, words: i32, bits: i32): void {
  if (bits == 16) {
    storeWindow32Pairs(re, im, count, dst, loBit, words);
    return;
  }
  let carry: i64 = 0; let err: f64 = 0;
  const mask = (<i64>1 << <i64>bits) - 1;
  const endBit = loBit + 32 * words;
  const endK = (endBit + bits - 1) / bits;
  const firstK = loBit / bits;
  let acc: u64 = 0, accBits = 0, out = 0;
  for (let k = 0; k < endK; k++) {
    if (k < count) {
      const c = load<f64>(((k & 1) ? im : re) + (<usize>(k >> 1) << 3));
      const r = nearest(c);
      err = max(err, abs(c - r));
      carry += <i64>r;
    }
    let limb = <u64>(carry & mask); carry >>= <i64>bits;
    if (k < firstK) continue;
    let limbBits = bits;
    if (k == firstK) {
      const skip = loBit - firstK * bits;
      limb >>= <u64>skip;
      limbBits -= skip;
    }
    acc |= limb << <u64>accBits;
    accBits += limbBits;
    if (accBits >= 32) {
      store<u32>(dst + (<usize>out << 2), <u32>acc);
      out++;
      acc >>= 32;
      accBits -= 32;
    }
  }
  if (out < words) store<u32>(dst + (<usize>out << 2), <u32>acc);
  maxErr = err;
}

// storeWindow32 for 16-bit limbs: coefficients 2i and 2i + 1 (re[i], im[i]) are rounded and carried as
// one 32-bit word P_i = bits 32i..32i + 31 of the product (the same integer, so the same bits), and the
// window's words are cut from consecutive P's. Two error maxima, so neither chain waits on the other.
function storeWindow32Pairs(re: usize, im: usize, count: i32, dst: usize, loBit: i32, words: i32): void {
  const q = loBit >>> 5;
  const s = loBit & 31;
  const last = q + words - (s == 0 ? 1 : 0); // the last P the window needs
  const full = min(last + 1, count >> 1); // pairs whose both coefficients are below count
  let carry: i64 = 0;
  let e0: f64 = 0, e1: f64 = 0;
  let prev: u32 = 0;
  for (let i = 0; i <= last; i++) {
    let r0: f64 = 0, r1: f64 = 0;
    const at = <usize>i << 3;
    if (i < full) {
      const c0 = load<f64>(re + at), c1 = load<f64>(im + at);
      r0 = nearest(c0); r1 = nearest(c1);
      e0 = max(e0, abs(c0 - r0)); e1 = max(e1, abs(c1 - r1));
    } else if (2 * i < count) {
      const c0 = load<f64>(re + at);
      r0 = nearest(c0);
      e0 = max(e0, abs(c0 - r0));
    }
    const v: i64 = carry + <i64>r0 + (<i64>r1 << 16);
    const P = <u32>v;
    carry = v >> 32;
    if (i < q) continue;
    if (s == 0) store<u32>(dst + (<usize>(i - q) << 2), P);
    else if (i > q) store<u32>(dst + (<usize>(i - q - 1) << 2), (prev >>> s) | (P << (32 - s)));
    prev = P;
  }
  maxErr = max(e0, e1);
}
