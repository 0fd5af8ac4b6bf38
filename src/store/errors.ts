export type StoreErrorCode =
  | 'FOREIGN'
  | 'VERSION'
  | 'SEQUENCE'
  | 'LOCKED'
  | 'UNUSABLE_DIR'
  | 'NO_SPACE'
  | 'IO_ERROR'
  | 'READ_ONLY'
  | 'CORRUPT';

/** Every StoreErrorCode: conditions of the disk or its contents, never a bug of ours (the CLI exits 2 on them). */
export const STORE_ERROR_CODES: readonly StoreErrorCode[] = ['FOREIGN', 'VERSION', 'SEQUENCE', 'LOCKED', 'UNUSABLE_DIR', 'NO_SPACE', 'IO_ERROR', 'READ_ONLY', 'CORRUPT'];

export function isStoreErrorCode(code: unknown): code is StoreErrorCode {
  return typeof code === 'string' && (STORE_ERROR_CODES as readonly string[]).includes(code);
}

/**
 * The only error the store throws for conditions of the disk or its contents.
 * `message` is one line meant for the user. Programming errors (bad arguments) are
 * plain `RangeError`/`Error`. Note: a StoreError posted across a worker boundary loses
 * its class; send `{ code, message }` (and `term`).
 */
export class StoreError extends Error {
  readonly code: StoreErrorCode;
  /** CORRUPT from a read: the first term whose record is damaged or missing (terms before it were read intact). */
  readonly term?: number;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown; term?: number }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
    if (options?.term !== undefined) this.term = options.term;
  }
}

export function isStoreError(e: unknown, code?: StoreErrorCode): e is StoreError {
  return e instanceof StoreError && (code === undefined || e.code === code);
}
