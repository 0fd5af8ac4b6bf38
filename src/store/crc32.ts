// The store's checksums: CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) for snapshots, headers
// and version-1 logs, and CRC-32 (IEEE 802.3, reflected 0xEDB88320) for the records of version-2 logs,
// where Node's native zlib.crc32 computes it 2.5–3× faster than JavaScript can (every byte of every
// term passes through it when it is stored, and when it is read back).
// Both are incremental: crc(b, crc(a)) === crc(concat(a, b)).
import * as zlib from 'node:zlib';

type Crc = (buf: Uint8Array, seed?: number) => number;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A table-driven CRC of a reflected polynomial, slicing-by-8 (~0.8 ns a byte). */
function slicingBy8(poly: number): Crc {
  const t = new Int32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t[i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    for (let s = 1; s < 8; s++) {
      const prev = t[(s - 1) * 256 + i];
      t[s * 256 + i] = ((prev >>> 8) ^ t[prev & 0xff]) >>> 0;
    }
  }
  return (buf, seed = 0) => {
    let crc = ~seed | 0;
    let i = 0;
    const len = buf.length;
    // Bytes up to a 4-byte-aligned address, then 8 bytes per step read as two 32-bit words (little-endian
    // hosts; a word load costs less than four byte loads and their shifts), then the rest.
    if (LITTLE_ENDIAN) {
      while (i < len && ((buf.byteOffset + i) & 3) !== 0) crc = t[(crc ^ buf[i++]) & 0xff] ^ (crc >>> 8);
      const pairs = (len - i) >> 3;
      if (pairs > 0) {
        const w = new Int32Array(buf.buffer, buf.byteOffset + i, 2 * pairs);
        for (let k = 0; k < 2 * pairs; k += 2) {
          const a = crc ^ w[k];
          const b = w[k + 1];
          crc =
            t[1792 + (a & 0xff)] ^
            t[1536 + ((a >>> 8) & 0xff)] ^
            t[1280 + ((a >>> 16) & 0xff)] ^
            t[1024 + (a >>> 24)] ^
            t[768 + (b & 0xff)] ^
            t[512 + ((b >>> 8) & 0xff)] ^
            t[256 + ((b >>> 16) & 0xff)] ^
            t[b >>> 24];
        }
        i += 8 * pairs;
      }
    }
    while (i < len) crc = t[(crc ^ buf[i++]) & 0xff] ^ (crc >>> 8);
    return ~crc >>> 0;
  };
}

/** CRC-32C of `buf`, continuing from `seed` (the CRC of the preceding bytes; 0 for none). */
export const crc32c: Crc = slicingBy8(0x82f63b78);

/** CRC-32 in JavaScript: for hosts whose Node predates zlib.crc32 (20.15; VS Code 1.90 runs 20.9). */
export const crc32Portable: Crc = slicingBy8(0xedb88320);

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 of `buf`, continuing from `seed`: zlib's when this Node has it. */
export const crc32: Crc = nativeCrc32 ? (buf, seed = 0) => nativeCrc32(buf, seed) : crc32Portable;
