// Checks a b-file of A000182 ("n T(n)" lines) against the independent residues of src/engine/verifier.ts,
// without computing a single term: T(n) mod two primes costs O(n) word operations, and the digits of a
// line are reduced mod both primes in one pass. The file is streamed in chunks (bounded memory: a chunk
// plus at most one line, capped at the longest line T(n) can have); the caller awaits between chunks, so
// an editor's event loop stays free.
import * as fs from 'node:fs';
import { maxDigits } from '../store/termRecord';
import { VERIFIER_PRIMES, VerificationError, Verifier } from './verifier';

const [P, Q] = VERIFIER_PRIMES;

/**
 * What a pass guarantees, in one line (the CLI's --help and docs/verify.md say the same). A wrong value
 * passes only if it differs from T(n) by a multiple of p·q; as gcd(10, p·q) = 1 and p·q > 10^15, any
 * change confined to 15 consecutive digits is never such a multiple.
 */
export const VERIFY_GUARANTEE =
  `each term is compared with T(n) mod p = ${P} and mod q = ${Q}, computed independently (no term is computed): ` +
  `every error whose difference from the true T(n) is not a multiple of p·q ≈ 4.5e15 is found (so every ` +
  `substitution within 15 consecutive digits); a random corruption goes unnoticed with probability about 1/(p·q) ≈ 2.2e-16`;

/** The outcome of checking a b-file. `line` is 1-based. */
export type BfileVerdict =
  /** Terms T(1..terms) are all right (and nothing else but comments and blank lines is in the file). */
  | { kind: 'verified'; terms: number; lines: number; bytes: number }
  /** Line `line` holds term n, and its value is not T(n) (or not a decimal number without leading zeros). */
  | { kind: 'wrong'; line: number; n: number; reason: string }
  /** Term n should come next; line `line` holds term `found` > n. */
  | { kind: 'missing'; line: number; n: number; found: number }
  /** Term n should come next; line `line` holds term `found` (repeated or out of order); term n is on line `laterLine` if it comes later. */
  | { kind: 'order'; line: number; n: number; found: number; laterLine?: number }
  /** Not a b-file: binary data, a line that is not "n digits", no terms at all. */
  | { kind: 'malformed'; line: number; reason: string }
  /** Stopped on request after `terms` right terms. */
  | { kind: 'cancelled'; terms: number; lines: number };

/** 0 verified, 1 a wrong, missing or misplaced term, 2 not a b-file (the CLI's exit status). */
export function verdictExitCode(v: BfileVerdict): number {
  switch (v.kind) {
    case 'verified':
      return 0;
    case 'wrong':
    case 'missing':
    case 'order':
      return 1;
    default:
      return 2;
  }
}

/** The verdict as one line, prefixed with where it is ("FILE:LINE: …" for a failure). */
export function describeVerdict(file: string, v: BfileVerdict): string {
  switch (v.kind) {
    case 'verified':
      return `${file}: all ${v.terms} terms of A000182 verified (T(1..${v.terms}))`;
    case 'wrong':
      return `${file}:${v.line}: term ${v.n} is wrong (${v.reason})`;
    case 'missing':
      return `${file}:${v.line}: term ${v.n} is missing (the line holds term ${v.found})`;
    case 'order':
      return `${file}:${v.line}: expected term ${v.n}, found term ${v.found}${v.laterLine ? ` (term ${v.n} is on line ${v.laterLine})` : ''}`;
    case 'malformed':
      return `${file}:${v.line}: not a b-file of A000182: ${v.reason}`;
    case 'cancelled':
      return `${file}: verification cancelled after ${v.terms} terms (T(1..${v.terms}) are right)`;
  }
}

const NL = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const HASH = 0x23;
/** Bytes of the index and separators a line may hold besides the digits of its term. */
const LINE_SLACK = 64;

function isBlank(b: number): boolean {
  return b === SPACE || b === TAB || b === CR;
}

/**
 * A push parser: feed the file's bytes in chunks of any size, then end(). Stops at the first problem;
 * from then on push() returns that verdict and ignores its input.
 */
export class BfileChecker {
  private readonly verifier = new Verifier();
  /** The part of a line cut by a chunk boundary (at most the longest allowed line). */
  private carry = Buffer.alloc(0);
  private carryLength = 0;
  /** Skipping the rest of a comment line. */
  private inComment = false;
  private lineNo = 0;
  private bytes = 0;
  private failure: BfileVerdict | null = null;
  /**
   * A line held a later term than the next one: whether the next one is missing or just out of place is
   * told by the rest of the file, read for line indexes only.
   */
  private searching: { n: number; line: number; found: number } | null = null;

  /** Right terms so far: T(1..terms). */
  get terms(): number {
    return this.verifier.count;
  }

  /** Lines seen so far (the last may be incomplete). */
  get lines(): number {
    return this.lineNo;
  }

  get failed(): BfileVerdict | null {
    return this.failure;
  }

  /** The longest line that can hold the next term (its index, a separator, its digits, a CR). */
  private lineCap(): number {
    return maxDigits(this.verifier.count + 1) + LINE_SLACK;
  }

  /** Feeds the next bytes of the file; returns the failure once there is one, else null. */
  push(chunk: Uint8Array): BfileVerdict | null {
    if (this.failure) return this.failure;
    this.bytes += chunk.length;
    let pos = 0;
    const end = chunk.length;
    while (pos < end && !this.failure) {
      const nl = indexOfNewline(chunk, pos);
      const stop = nl < 0 ? end : nl;
      if (this.carryLength === 0 && !this.inComment) {
        // Start of a line.
        this.lineNo++;
        if (chunk[pos] === HASH) this.inComment = true;
      }
      if (this.inComment) {
        if (nl >= 0) this.inComment = false;
      } else if (nl >= 0 && this.carryLength === 0) {
        this.line(chunk, pos, stop); // the common case: a whole line inside the chunk, no copy
      } else {
        this.append(chunk, pos, stop);
        if (nl >= 0 && !this.failure) {
          this.line(this.carry, 0, this.carryLength);
          this.carryLength = 0;
        }
      }
      if (nl < 0) break;
      pos = nl + 1;
    }
    return this.failure;
  }

  /** The verdict once the whole file has been pushed. */
  end(): BfileVerdict {
    if (this.failure) return this.failure;
    if (this.carryLength > 0) {
      // A last line without a newline.
      this.line(this.carry, 0, this.carryLength);
      this.carryLength = 0;
      if (this.failure) return this.failure;
    }
    if (this.searching) {
      const { n, line, found } = this.searching;
      return (this.failure = { kind: 'missing', line, n, found });
    }
    if (this.verifier.count === 0) return (this.failure = { kind: 'malformed', line: Math.max(1, this.lineNo), reason: 'it holds no terms' });
    return { kind: 'verified', terms: this.verifier.count, lines: this.lineNo, bytes: this.bytes };
  }

  private append(chunk: Uint8Array, from: number, to: number): void {
    if (this.searching) to = Math.min(to, from + Math.max(0, LINE_SLACK - this.carryLength)); // only its index is read
    const len = to - from;
    const need = this.carryLength + len;
    if (need > this.lineCap()) {
      this.failure = this.tooLong(Buffer.concat([this.carry.subarray(0, Math.min(this.carryLength, LINE_SLACK)), chunk.subarray(from, Math.min(to, from + LINE_SLACK))]));
      return;
    }
    if (need > this.carry.length) {
      const grown = Buffer.alloc(Math.min(this.lineCap(), Math.max(need, 2 * this.carry.length, 4096)));
      this.carry.copy(grown, 0, 0, this.carryLength);
      this.carry = grown;
    }
    this.carry.set(chunk.subarray(from, to), this.carryLength);
    this.carryLength = need;
  }

  /** A line longer than the next term's can be: a wrong term if it starts with that term's index, else no b-file. */
  private tooLong(start: Uint8Array): BfileVerdict {
    const n = this.verifier.count + 1;
    const head = Buffer.from(start.subarray(0, LINE_SLACK)).toString('latin1');
    const m = /^[ \t]*(\d+)[ \t]+\d/.exec(head);
    if (m && Number(m[1]) === n) return { kind: 'wrong', line: this.lineNo, n, reason: `it has more than ${maxDigits(n)} digits, more than T(${n}) can have` };
    const binary = binaryByte(start, 0, start.length);
    if (binary !== null) return binary(this.lineNo);
    return { kind: 'malformed', line: this.lineNo, reason: `the line is longer than ${this.lineCap()} bytes, more than a line for term ${n} can be` };
  }

  /** One line (without its newline), not a comment. */
  private line(b: Uint8Array, from: number, to: number): void {
    if (this.searching) {
      const m = /^[ \t]*(\d{1,10})[ \t]/.exec(Buffer.from(b.subarray(from, Math.min(to, from + LINE_SLACK))).toString('latin1'));
      if (m && Number(m[1]) === this.searching.n) {
        const { n, line, found } = this.searching;
        this.failure = { kind: 'order', line, n, found, laterLine: this.lineNo };
      }
      return;
    }
    if (to - from > this.lineCap()) {
      this.failure = this.tooLong(b.subarray(from, from + LINE_SLACK));
      return;
    }
    let i = from;
    while (i < to && isBlank(b[i])) i++;
    if (i === to) return; // a blank line
    // The index.
    const indexStart = i;
    let index = 0;
    while (i < to && b[i] >= 0x30 && b[i] <= 0x39 && i - indexStart < 10) index = index * 10 + (b[i++] - 0x30);
    const sepStart = i;
    while (i < to && (b[i] === SPACE || b[i] === TAB)) i++;
    const digitsStart = i;
    let digitsEnd = to;
    while (digitsEnd > digitsStart && isBlank(b[digitsEnd - 1])) digitsEnd--;
    if (i === indexStart || sepStart === indexStart || i === sepStart || digitsStart === digitsEnd || !isDigitRun(b, digitsStart, Math.min(digitsEnd, digitsStart + 1))) {
      this.failure = this.notATermLine(b, from, to);
      return;
    }
    const expected = this.verifier.count + 1;
    if (index !== expected) {
      if (index > expected) this.searching = { n: expected, line: this.lineNo, found: index };
      else this.failure = { kind: 'order', line: this.lineNo, n: expected, found: index };
      return;
    }
    const digits = b.subarray(digitsStart, digitsEnd);
    if (digits.length > 1 && digits[0] === 0x30) {
      this.failure = { kind: 'wrong', line: this.lineNo, n: index, reason: 'it has a leading zero' };
      return;
    }
    if (digits.length > maxDigits(index)) {
      this.failure = { kind: 'wrong', line: this.lineNo, n: index, reason: `it has ${digits.length} digits, more than T(${index}) can have` };
      return;
    }
    const residues = this.verifier.residuesOf(digits);
    if (residues === null) {
      // Not all digits (the leading zero and "0" aside, which are wrong values of a well-formed line).
      this.failure = digits.length === 1 && digits[0] === 0x30 ? { kind: 'wrong', line: this.lineNo, n: index, reason: 'it is 0' } : this.notATermLine(b, from, to);
      return;
    }
    try {
      this.verifier.acceptResidues(index, residues);
    } catch (e) {
      if (!(e instanceof VerificationError)) throw e;
      // "T(n) failed verification: it is r mod p, the independent check says s": the part after the colon.
      this.failure = { kind: 'wrong', line: this.lineNo, n: index, reason: e.message.replace(/^[^:]*:\s*/, '') };
    }
  }

  private notATermLine(b: Uint8Array, from: number, to: number): BfileVerdict {
    const binary = binaryByte(b, from, to);
    if (binary !== null) return binary(this.lineNo);
    const text = Buffer.from(b.subarray(from, Math.min(to, from + 40))).toString('latin1');
    return { kind: 'malformed', line: this.lineNo, reason: `"${text}${to - from > 40 ? '…' : ''}" is not "n T(n)"` };
  }
}

/** The verdict for the first byte in b[from, to) that no text file holds, or null. */
function binaryByte(b: Uint8Array, from: number, to: number): ((line: number) => BfileVerdict) | null {
  for (let i = from; i < to; i++) {
    const c = b[i];
    if (c === 0 || c >= 0x80 || (c < 0x20 && c !== TAB && c !== CR)) {
      return (line) => ({ kind: 'malformed', line, reason: `binary data (byte 0x${c.toString(16).padStart(2, '0')})` });
    }
  }
  return null;
}

/** Buffer's indexOf (a memchr), typed (`Buffer.prototype` is untyped in @types/node); called on any Uint8Array. */
// eslint-disable-next-line @typescript-eslint/unbound-method -- only ever called with .call(b, …), b the bytes it searches
const bufferIndexOf: (this: Uint8Array, value: number, byteOffset: number) => number = (Buffer.prototype as Buffer).indexOf;

function indexOfNewline(b: Uint8Array, from: number): number {
  return bufferIndexOf.call(b, NL, from);
}

function isDigitRun(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] < 0x30 || b[i] > 0x39) return false;
  return true;
}

export interface VerifyOptions {
  /** Polled between chunks: stops with a 'cancelled' verdict. */
  signal?: AbortSignal;
  /** After each chunk: bytes read so far, the file's size, terms verified. */
  onProgress?: (bytesRead: number, totalBytes: number, terms: number) => void;
  /** Bytes per read (default 256 KiB: ~2 ms of work, then the event loop has its turn; 1 MiB was no faster and held it up to 20 ms). */
  chunkBytes?: number;
}

/**
 * Verifies the b-file at `file` (throws only for I/O errors: a missing or unreadable file). Reads it in
 * chunks with awaited reads, so other work runs between them; memory is one chunk plus at most one line.
 */
export async function verifyBfile(file: string, options: VerifyOptions = {}): Promise<BfileVerdict> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const total = (await handle.stat()).size;
    const buffer = Buffer.alloc(options.chunkBytes ?? 1 << 18);
    const checker = new BfileChecker();
    let read = 0;
    for (;;) {
      if (options.signal?.aborted) return { kind: 'cancelled', terms: checker.terms, lines: checker.lines };
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      read += bytesRead;
      const failure = checker.push(buffer.subarray(0, bytesRead));
      options.onProgress?.(read, total, checker.terms);
      if (failure) return failure;
    }
    return checker.end();
  } finally {
    await handle.close();
  }
}
