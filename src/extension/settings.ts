import * as vscode from 'vscode';

export const SECTION = 'tangentNumbers';

export interface Settings {
  defaultCount: number;
  checkpointIntervalSeconds: number;
  resumeOnStartup: boolean;
  workerMemoryLimitMb: number;
  /** Block-computing threads; 0 = all cores but one. */
  threads: number;
  /** Keep the status bar item after a job is done (else it hides STATUS_HIDE_AFTER_DONE_MS later). */
  statusBarKeepAfterDone: boolean;
}

/** Reads `tangentNumbers.*`, clamping values a hand-edited settings.json might put out of range. */
export function getSettings(): Settings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const clampInt = (v: unknown, min: number, max: number, fallback: number) =>
    typeof v === 'number' && Number.isFinite(v) ? Math.min(max, Math.max(min, Math.round(v))) : fallback;
  return {
    defaultCount: clampInt(c.get('defaultCount'), 1, 20000, 1000),
    checkpointIntervalSeconds: clampInt(c.get('checkpointIntervalSeconds'), 1, 600, 5),
    resumeOnStartup: c.get('resumeOnStartup') !== false,
    workerMemoryLimitMb: clampInt(c.get('workerMemoryLimitMb'), 128, 16384, 1024),
    threads: clampInt(c.get('threads'), 0, 64, 0),
    statusBarKeepAfterDone: c.get('statusBar.keepAfterDone') === true,
  };
}
