export type StoreErrorCode =
  | 'FOREIGN'
  | 'VERSION'
  | 'SEQUENCE'
  | 'LOCKED'
  | 'UNUSABLE_DIR'
  | 'NO_SPACE'
  | 'CORRUPT';

/**
 * The only error the store throws for conditions of the disk or its contents.
 * `message` is one line meant for the user. Programming errors (bad arguments) are
 * plain `RangeError`/`Error`. Note: a StoreError posted across a worker boundary loses
 * its class; send `{ code, message }`.
 */
export class StoreError extends Error {
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}

export function isStoreError(e: unknown, code?: StoreErrorCode): e is StoreError {
  return e instanceof StoreError && (code === undefined || e.code === code);
}
