// The store's one way to the file system. Every module of the writer side (log, index, snapshots, lock,
// state directory) calls `fs` from here instead of importing Node's module, so that the crash-consistency
// test can record each write, fsync and rename the store makes, and rebuild what a power loss may leave.
import * as nodeFs from 'fs';

/** Node's `fs`, as a plain object whose functions a test may replace for a while (see test/unit/crash*). */
export const fs: typeof nodeFs = { ...nodeFs };
export type { Stats } from 'fs';
