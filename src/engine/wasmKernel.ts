// The engine's WebAssembly: the FFT multiplication (./fft/kernel.as.ts) and the lower levels of the
// decimal conversion (./radix/radix.as.ts), compiled into one module with one memory, so that a number
// an FFT product leaves in memory is split and read off where it lies, without going through hex and
// BigInt. Each user lays out its own regions with reserve(); memory only grows, so a region's address
// stays valid (views of memory.buffer must be made again after a growth).

import { KERNEL_WASM_BASE64 } from './kernelBinary.generated';

export interface KernelExports {
  memory: WebAssembly.Memory;
  // FFT (./fft/fftMultiply.ts)
  dif(re: number, im: number, n: number, twr: number, twi: number, t3r: number, t3i: number): void;
  dit(re: number, im: number, n: number, twr: number, twi: number, t3r: number, t3i: number): void;
  radix3Dif(re: number, im: number, m: number, w1r: number, w1i: number, w2r: number, w2i: number): void;
  radix3Dit(re: number, im: number, m: number, w1r: number, w1i: number, w2r: number, w2i: number): void;
  realPost(re: number, im: number, m: number, gr: number, gi: number): void;
  realPre(re: number, im: number, m: number, gr: number, gi: number, total: number): void;
  realPostCross(re: number, im: number, t: number, gr: number, gi: number): void;
  realPreCross(re: number, im: number, t: number, gr: number, gi: number): void;
  pointwise(xr: number, xi: number, yr: number, yi: number, zr: number, zi: number, m: number): void;
  loadHex(src: number, len: number, re: number, im: number, m: number): number;
  loadHex12(src: number, len: number, re: number, im: number, m: number): number;
  loadLimbs32(src: number, words: number, re: number, im: number, m: number, bits: number): number;
  storeHex(re: number, im: number, count: number, dst: number, cap: number, hexPairs: number, lo: number, hi: number, bits: number): number;
  storeWindow32(re: number, im: number, count: number, dst: number, loBit: number, words: number, bits: number): void;
  lastMaxErr(): number;
  // Radix conversion (./radix/radixKernel.ts)
  limbsFor(leaves: number): number;
  init(fivesIndex: number, scratch: number, leafPointers: number, workLimbs: number): void;
  piece(z: number, F: number, leaves: number, out: number, nextTop: number, carryIn: number): number;
  lastFirstTop(): number;
}

let instance: KernelExports | undefined;

export function kernel(): KernelExports {
  if (!instance) {
    const module = new WebAssembly.Module(Buffer.from(KERNEL_WASM_BASE64, 'base64'));
    instance = new WebAssembly.Instance(module, { env: { abort: () => { throw new Error('WebAssembly kernel aborted'); } } }).exports as unknown as KernelExports;
  }
  return instance;
}

/** A new region of `bytes` bytes (16-byte aligned) at the end of the kernel's memory, which grows for it. */
export function reserve(bytes: number): number {
  const k = kernel();
  const at = (k.memory.buffer.byteLength + 15) & ~15;
  const end = at + bytes;
  const have = k.memory.buffer.byteLength;
  if (end > have) k.memory.grow(Math.ceil((end - have) / 65536));
  return at;
}

/** Writes x ≥ 0 as `words` u32 limbs (least significant first) at dst in the kernel's memory; false if it does not fit. */
export function writeLimbs(x: bigint, dst: number, words: number): boolean {
  const hex = x.toString(16);
  if (x < 0n || hex.length > 8 * words) return false;
  const bytes = Buffer.from(hex.padStart(8 * words, '0'), 'hex').reverse();
  new Uint8Array(kernel().memory.buffer, dst, 4 * words).set(bytes);
  return true;
}

/** The number held by `words` u32 limbs at src in the kernel's memory. */
export function readLimbs(src: number, words: number): bigint {
  const bytes = Buffer.from(new Uint8Array(kernel().memory.buffer, src, 4 * words)).reverse();
  return BigInt('0x' + (bytes.toString('hex') || '0'));
}
