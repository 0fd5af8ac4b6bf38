// Formatting shared by the extension host and the Terms view. Pure: no vscode, no DOM, and no words. Every text
// is a template with {0}-style placeholders that the caller got from vscode.l10n (host) or from the view's
// ViewStrings (which the host filled the same way); numbers are written in the caller's locale.

/** Shown where a value is unknown (a symbol, the same in every language). */
export const NO_VALUE = '—';

/**
 * Fills `{0}`, `{1}`, … in a template with the arguments, in one pass (an argument that itself holds "{1}" is
 * not filled again), as vscode.l10n.t does. A placeholder without an argument stays as it is.
 */
export function format(template: string, ...args: readonly (string | number)[]): string {
  return fillPlaceholders(template, args);
}

/** VS Code's own message formatting (format2): `{key}` is replaced by args[key] when it has a value, else kept;
 *  positional arguments are an array, named ones a record. */
export function fillPlaceholders(message: string, args: readonly unknown[] | Readonly<Record<string, unknown>>): string {
  const values = args as Readonly<Record<string, unknown>>;
  return message.replace(/\{([^}]+)\}/g, (match, key: string) => {
    const v = values[key];
    if (v === undefined || v === null) return match;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
    return JSON.stringify(v) ?? match;
  });
}

/** Numbers as the editor's language writes them ("18,886" in English, "18.886" in German). */
export class NumberFormat {
  readonly locale: string;
  private readonly grouped: Intl.NumberFormat;
  private readonly ungrouped: Intl.NumberFormat;
  private readonly tenths: Intl.NumberFormat;
  private readonly hundredths: Intl.NumberFormat;

  /** An unknown or malformed locale (VS Code's `env.language` is a BCP 47 tag, but be safe) falls back to English. */
  constructor(locale: string) {
    let tag = 'en';
    try {
      tag = Intl.getCanonicalLocales(locale)[0] ?? 'en';
    } catch {
      // RangeError: not a well-formed language tag.
    }
    this.locale = tag;
    const make = (options: Intl.NumberFormatOptions) => new Intl.NumberFormat(tag, options);
    this.grouped = make({ maximumFractionDigits: 0 });
    this.ungrouped = make({ maximumFractionDigits: 0, useGrouping: false });
    this.tenths = make({ minimumFractionDigits: 1, maximumFractionDigits: 1, useGrouping: false });
    this.hundredths = make({ minimumFractionDigits: 2, maximumFractionDigits: 2, useGrouping: false });
  }

  /** A count, grouped: "18,886". */
  int(n: number): string {
    return this.grouped.format(n);
  }

  /** An index or a small number, not grouped: "3000" (as in "T(3000)"). */
  plain(n: number): string {
    return this.ungrouped.format(n);
  }

  /** One decimal, not grouped: "7.5" (like toFixed(1), in the locale's digits and decimal mark). */
  fixed1(n: number): string {
    return this.tenths.format(n);
  }

  /** Two decimals, not grouped: "1.25". */
  fixed2(n: number): string {
    return this.hundredths.format(n);
  }
}


/** Percent done, 0..100, rounded down (99.9% is not "100%"). */
export function percent(done: number, target: number): number {
  return target > 0 ? Math.min(100, Math.floor((100 * done) / target)) : 0;
}

/** Duration templates: "{0}s", "{0}m {1}s", "{0}h {1}m". */
export interface DurationTexts {
  /** Seconds: "{0}s". */
  durationSeconds: string;
  /** Minutes and seconds: "{0}m {1}s". */
  durationMinutes: string;
  /** Hours and minutes: "{0}h {1}m". */
  durationHours: string;
}

/** "45s", "1m 20s", "2h 5m" (whole seconds); NO_VALUE when unknown. */
export function formatDuration(seconds: number | null, t: DurationTexts, nf: NumberFormat): string {
  if (seconds === null || !Number.isFinite(seconds)) return NO_VALUE;
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return format(t.durationSeconds, nf.plain(s));
  if (s < 3600) return format(t.durationMinutes, nf.plain(Math.floor(s / 60)), nf.plain(s % 60));
  return format(t.durationHours, nf.plain(Math.floor(s / 3600)), nf.plain(Math.floor((s % 3600) / 60)));
}

/** What a finished job took, with and without the number of runs and the average rate. */
export interface TookTexts extends DurationTexts {
  /** A rate: "{0} terms/s". */
  rate: string;
  /** {0}: the compute time. */
  took: string;
  /** {0}: the compute time, {2}: the rate. */
  tookRate: string;
  /** {0}: the compute time (one run). */
  tookOneRun: string;
  /** {0}: the compute time (one run), {2}: the rate. */
  tookOneRunRate: string;
  /** {0}: the compute time, {1}: the runs. */
  tookRuns: string;
  /** {0}: the compute time, {1}: the runs, {2}: the rate. */
  tookRunsRate: string;
}

/** "42 terms/s", "7.5 terms/s": one decimal below 10. */
export function formatRate(termsPerSecond: number, rateTemplate: string, nf: NumberFormat): string {
  const r = termsPerSecond;
  return format(rateTemplate, r < 10 ? nf.fixed1(r) : nf.plain(Math.round(r)));
}

/** "took 1m 20s over 3 runs, 42 terms/s": what a finished job cost (compute time summed over its runs). */
export function formatTook(computeMs: number, runs: number, terms: number, t: TookTexts, nf: NumberFormat): string {
  const s = computeMs / 1000;
  const rate = s > 0 ? terms / s : 0;
  // Short jobs in tenths of a second ("took 0s" would say nothing).
  const took = s < 10 ? format(t.durationSeconds, nf.fixed1(s)) : formatDuration(s, t, nf);
  const rateText = rate > 0 ? formatRate(rate, t.rate, nf) : '';
  const template =
    runs <= 0 ? (rateText ? t.tookRate : t.took) : runs === 1 ? (rateText ? t.tookOneRunRate : t.tookOneRun) : rateText ? t.tookRunsRate : t.tookRuns;
  return format(template, took, nf.plain(runs), rateText);
}

/** Templates of sizes on disk ("{0} KB"): French writes "{0} Ko". */
export interface ByteTexts {
  bytes: string;
  kilobytes: string;
  megabytes: string;
  gigabytes: string;
}

/** "512 B", "1.5 KB", "3.2 MB", "1.25 GB" (binary multiples). */
export function formatBytes(bytes: number, t: ByteTexts, nf: NumberFormat): string {
  if (bytes < 1024) return format(t.bytes, nf.plain(bytes));
  if (bytes < 1024 * 1024) return format(t.kilobytes, nf.fixed1(bytes / 1024));
  if (bytes < 1024 * 1024 * 1024) return format(t.megabytes, nf.fixed1(bytes / 1024 / 1024));
  return format(t.gigabytes, nf.fixed2(bytes / 1024 / 1024 / 1024));
}

/** Local date and time, "2026-11-25 14:03:07" (what a user compares with their clock). */
export function formatLocalTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** The time in a StateDir archive's name, `archive-<ISO time without colons>[-k]`; undefined for other names. */
export function archiveTime(name: string): number | undefined {
  const m = /^archive-(\d{4}-\d\d-\d\dT)(\d\d)(\d\d)(\d\d(?:\.\d+)?Z)(?:-\d+)?$/.exec(name);
  if (!m) return undefined;
  const t = Date.parse(`${m[1]}${m[2]}:${m[3]}:${m[4]}`);
  return Number.isFinite(t) ? t : undefined;
}
