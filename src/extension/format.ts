// Short human texts shared by the status bar and notifications.

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/** Spoken form for screen readers ("1 minute 20 seconds"). */
export function spokenDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return 'unknown time';
  const s = Math.max(0, Math.round(seconds));
  const parts: string[] = [];
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h) parts.push(`${h} hour${h === 1 ? '' : 's'}`);
  if (m) parts.push(`${m} minute${m === 1 ? '' : 's'}`);
  if (sec || parts.length === 0) parts.push(`${sec} second${sec === 1 ? '' : 's'}`);
  return parts.join(' ');
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

export function percent(done: number, target: number): number {
  return target > 0 ? Math.min(100, Math.floor((100 * done) / target)) : 0;
}

/** Local date and time, "2026-11-25 14:03:07" (what a user compares with their clock). */
export function formatLocalTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** "took 1m 20s over 3 runs, 42 terms/s": what a finished job cost (compute time summed over its runs). */
export function formatTook(computeMs: number, runs: number, terms: number): string {
  const s = computeMs / 1000;
  const rate = s > 0 ? terms / s : 0;
  const rateText = rate <= 0 ? '' : `, ${rate < 10 ? rate.toFixed(1) : Math.round(rate)} terms/s`;
  const over = runs > 0 ? ` over ${runs} run${runs === 1 ? '' : 's'}` : '';
  // Short jobs in tenths of a second ("took 0s" would say nothing).
  const took = s < 10 ? `${s.toFixed(1)}s` : formatDuration(s);
  return `took ${took}${over}${rateText}`;
}

/** The time in a StateDir archive's name, `archive-<ISO time without colons>[-k]`; undefined for other names. */
export function archiveTime(name: string): number | undefined {
  const m = /^archive-(\d{4}-\d\d-\d\dT)(\d\d)(\d\d)(\d\d(?:\.\d+)?Z)(?:-\d+)?$/.exec(name);
  if (!m) return undefined;
  const t = Date.parse(`${m[1]}${m[2]}:${m[3]}:${m[4]}`);
  return Number.isFinite(t) ? t : undefined;
}
