// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), slicing-by-8.
// Incremental: crc32c(b, crc32c(a)) === crc32c(concat(a, b)).

const POLY = 0x82f63b78;

const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    for (let s = 1; s < 8; s++) {
      const prev = t[(s - 1) * 256 + i];
      t[s * 256 + i] = ((prev >>> 8) ^ t[prev & 0xff]) >>> 0;
    }
  }
  return t;
})();

/** CRC-32C of `buf`, continuing from `seed` (the CRC of the preceding bytes; 0 for none). */
export function crc32c(buf: Uint8Array, seed = 0): number {
  const t = TABLE;
  let crc = ~seed | 0;
  let i = 0;
  const len = buf.length;
  const end8 = len - (len % 8);
  while (i < end8) {
    const a = crc ^ (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24));
    crc =
      t[1792 + (a & 0xff)] ^
      t[1536 + ((a >>> 8) & 0xff)] ^
      t[1280 + ((a >>> 16) & 0xff)] ^
      t[1024 + (a >>> 24)] ^
      t[768 + buf[i + 4]] ^
      t[512 + buf[i + 5]] ^
      t[256 + buf[i + 6]] ^
      t[buf[i + 7]];
    i += 8;
  }
  while (i < len) {
    crc = t[(crc ^ buf[i]) & 0xff] ^ (crc >>> 8);
    i++;
  }
  return ~crc >>> 0;
}
