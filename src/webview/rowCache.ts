// What the view knows of the stored terms: their count, pages of row summaries and a few full values, each
// in a least-recently-used cache, and the requests for them in flight. Rows come from the host in pages on
// request; a full value only on expand or copy.
import { TERMS_PAGE_LIMIT, type FromWebview, type TermSummary, type ToWebview } from '../common/protocol';

/** Rows per page (one `getRows`). */
export const PAGE = Math.min(100, TERMS_PAGE_LIMIT);
const MAX_PAGES = 50;
const MAX_VALUES = 32;
const MAX_INFLIGHT = 4;
const REQUEST_TIMEOUT_MS = 5000;
const VALUE_TIMEOUT_MS = 15000;

export const pageOf = (n: number): number => Math.floor((n - 1) / PAGE);

interface Page {
  rows: (TermSummary | undefined)[];
  /** Leading rows present. */
  filled: number;
}

function isSummary(v: unknown): v is TermSummary {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return Number.isInteger(r.n) && Number.isInteger(r.digits) && typeof r.head === 'string' && typeof r.tail === 'string';
}

export class RowCache {
  /** Terms stored (rows in the table). */
  private stored = 0;
  /** Row summaries by page, least recently used first. */
  private readonly pages = new Map<number, Page>();
  /** Pages asked for, with the local time of the request. */
  private readonly inflight = new Map<number, number>();
  /** A page answered short while the count was this value: do not ask again until the count grows. */
  private readonly shortAt = new Map<number, number>();
  /** Full values, least recently used first. */
  private readonly values = new Map<number, string>();
  private readonly valueWaiters = new Map<number, ((v: string | null) => void)[]>();
  /** Terms the host said it does not have (cleared when the count changes). */
  private readonly missing = new Set<number>();
  private lostRequestTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param post sends a request to the host.
   * @param onLost called when a request went unanswered for too long (render again: that asks for it anew).
   */
  constructor(
    private readonly post: (msg: FromWebview) => void,
    private readonly onLost: () => void,
  ) {}

  get count(): number {
    return this.stored;
  }

  /** Sets the number of stored terms; false when it is unchanged. */
  setCount(next: number): boolean {
    if (next === this.stored) return false;
    this.stored = next;
    this.missing.clear();
    return true;
  }

  summary(n: number): TermSummary | undefined {
    return this.pages.get(pageOf(n))?.rows[(n - 1) % PAGE];
  }

  value(n: number): string | undefined {
    return this.values.get(n);
  }

  /** The host said it does not have T(n). */
  isMissing(n: number): boolean {
    return this.missing.has(n);
  }

  /** Forgets every row and value (the stored terms were replaced); pending value requests still settle. */
  clear(): void {
    this.pages.clear();
    this.inflight.clear();
    this.shortAt.clear();
    this.values.clear();
    this.missing.clear();
  }

  /** Marks the pages of rows start..end as just used, and drops the least recently used beyond the limit. */
  touch(start: number, end: number): void {
    for (let p = pageOf(start); p <= pageOf(end); p++) {
      const page = this.pages.get(p);
      if (page) {
        this.pages.delete(p);
        this.pages.set(p, page);
      }
    }
    while (this.pages.size > MAX_PAGES) {
      const oldest = this.pages.keys().next().value as number;
      this.pages.delete(oldest);
    }
  }

  /** Asks for the missing rows of start..end, then for the pages of `more` (rows whose digit counts are wanted). */
  request(start: number, end: number, more: Iterable<number>): void {
    for (let p = pageOf(start); p <= pageOf(end); p++) if (!this.requestPage(p)) return;
    for (const n of more) if (!this.requestPage(pageOf(n))) return;
  }

  /** At start-up, before the count is known: asks for the pages of rows first..last as a guess. */
  prefetch(first: number, last: number): void {
    for (let p = pageOf(first); p <= pageOf(last); p++) {
      this.inflight.set(p, Date.now());
      this.post({ type: 'getRows', from: p * PAGE + 1, to: p * PAGE + PAGE });
    }
    this.watchForLostRequests();
  }

  /** Requests the rows of page p not cached yet; false when no more requests may be in flight. */
  private requestPage(p: number): boolean {
    const now = Date.now();
    const pageFrom = p * PAGE + 1;
    const pageTo = Math.min(this.stored, pageFrom + PAGE - 1);
    const from = pageFrom + (this.pages.get(p)?.filled ?? 0);
    if (from > pageTo) return true;
    const sent = this.inflight.get(p);
    if (sent !== undefined && now - sent < REQUEST_TIMEOUT_MS) return true;
    if ((this.shortAt.get(p) ?? -1) >= this.stored) return true;
    if (this.inflight.size >= MAX_INFLIGHT) {
      // Stale requests (lost answers) do not block new ones.
      for (const [q, t] of this.inflight) if (now - t >= REQUEST_TIMEOUT_MS) this.inflight.delete(q);
      if (this.inflight.size >= MAX_INFLIGHT) return false;
    }
    this.inflight.set(p, now);
    this.post({ type: 'getRows', from, to: pageTo });
    this.watchForLostRequests();
    return true;
  }

  /**
   * A request can go unanswered (the host refuses reads while too many are queued, say, after a flood
   * from a misbehaving view): once one is older than REQUEST_TIMEOUT_MS, render again, which asks for
   * the rows still missing, so a visible row never stays a placeholder for good.
   */
  private watchForLostRequests(): void {
    if (this.lostRequestTimer !== undefined) return;
    this.lostRequestTimer = setTimeout(() => {
      this.lostRequestTimer = undefined;
      if (this.inflight.size === 0) return;
      const now = Date.now();
      let lost = false;
      for (const [q, t] of this.inflight) {
        if (now - t >= REQUEST_TIMEOUT_MS) {
          this.inflight.delete(q);
          lost = true;
        }
      }
      if (lost) this.onLost();
      if (this.inflight.size > 0) this.watchForLostRequests();
    }, REQUEST_TIMEOUT_MS + 100);
  }

  /**
   * Takes the host's answer to `getRows`: keeps its well-formed rows of the page asked for, and the stored count
   * when it grew. Returns the rows kept and whether the count changed.
   */
  onRows(msg: Extract<ToWebview, { type: 'rows' }>): { rows: TermSummary[]; countChanged: boolean } {
    const p = pageOf(msg.from);
    this.inflight.delete(p);
    let page = this.pages.get(p);
    const kept: TermSummary[] = [];
    for (const row of msg.rows) {
      if (!isSummary(row) || row.n < 1 || pageOf(row.n) !== p) continue;
      if (!page) {
        page = { rows: new Array<TermSummary | undefined>(PAGE), filled: 0 };
        this.pages.set(p, page);
      }
      page.rows[(row.n - 1) % PAGE] = row;
      kept.push(row);
    }
    if (page) {
      while (page.filled < PAGE && page.rows[page.filled]) page.filled++;
    }
    const countChanged = Number.isInteger(msg.count) && msg.count > this.stored && this.setCount(msg.count);
    const pageTo = Math.min(this.stored, p * PAGE + PAGE);
    if (p * PAGE + (page?.filled ?? 0) < pageTo) this.shortAt.set(p, this.stored);
    else this.shortAt.delete(p);
    return { rows: kept, countChanged };
  }

  /** T(n) in full: from the cache, else asked of the host (null when it does not have it, or no answer comes). */
  requestValue(n: number): Promise<string | null> {
    const cached = this.values.get(n);
    if (cached !== undefined) return Promise.resolve(cached);
    return new Promise((resolve) => {
      const waiters = this.valueWaiters.get(n);
      if (waiters) {
        waiters.push(resolve);
        return;
      }
      this.valueWaiters.set(n, [resolve]);
      this.post({ type: 'getTerm', n });
      window.setTimeout(() => this.settleValue(n, null), VALUE_TIMEOUT_MS);
    });
  }

  /** Takes the host's answer to `getTerm`. */
  onTerm(n: number, value: string | null): void {
    if (typeof value === 'string') {
      this.values.delete(n);
      this.values.set(n, value);
      while (this.values.size > MAX_VALUES) this.values.delete(this.values.keys().next().value as number);
      this.missing.delete(n);
    } else if (this.valueWaiters.has(n)) {
      this.missing.add(n);
    }
    this.settleValue(n, value);
  }

  private settleValue(n: number, value: string | null): void {
    const waiters = this.valueWaiters.get(n);
    this.valueWaiters.delete(n);
    for (const w of waiters ?? []) w(value);
  }
}
