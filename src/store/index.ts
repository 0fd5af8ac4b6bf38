export { crc32c } from './crc32c';
export { StoreError, isStoreError } from './errors';
export type { StoreErrorCode } from './errors';
export { quarantine, atomicWriteFile, fsyncDir } from './fsutil';
export { StateDir, STATE_FILE } from './stateDir';
export type { StoreLogger, StateDirOptions } from './stateDir';
export type { Snapshot, SnapshotHeader } from './snapshot';
export type { Term } from './termLog';
export { AsyncTermReader } from './asyncReader';
