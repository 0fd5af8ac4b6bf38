// The Terms view's script (browser, no Node): renders the job cell and a virtualized table of T(n).
// Data comes in pages of row summaries on request; the full value of a term only on expand or copy.
import { TERMS_MAX_N, TERMS_PAGE_LIMIT, type FromWebview, type JobState, type JobView, type TermSummary, type ToWebview } from '../common/protocol';
import { failureAdvice } from '../extension/failureText';
import { formatTook } from '../extension/format';

interface VsCodeApi {
  postMessage(msg: FromWebview): void;
  getState(): unknown;
  setState(state: UiState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

/** What the view remembers across hide/show and reloads: UI state only, never term data. */
interface UiState {
  scrollTop: number;
  firstVisibleN: number;
  expanded: number[];
  jumpValue: string;
}

// Geometry (kept in sync with media/terms.css through CSS variables set below).
const ROW_H = 22;
const LINE_H = 18;
const DETAIL_BAR_H = 26;
const DETAIL_PAD_Y = 4; // top and bottom padding of the detail cell
const DETAIL_PAD_X = 8;
const BOX_PAD_Y = 4;
const BOX_PAD_X = 6;
const BOX_MAX_H = 240;

const PAGE = Math.min(100, TERMS_PAGE_LIMIT);
const MAX_PAGES = 50;
const MAX_VALUES = 32;
const OVERSCAN = 6;
const MAX_INFLIGHT = 4;
const REQUEST_TIMEOUT_MS = 5000;
const MAX_EXPANDED = 200;

const vscode = acquireVsCodeApi();
const post = (msg: FromWebview): void => vscode.postMessage(msg);

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the view's HTML`);
  return el as T;
};

const ui = {
  cell: $('cell'),
  state: $('job-state'),
  counts: $('job-counts'),
  progress: $('progress'),
  fill: $('progress-fill'),
  rate: $('stat-rate'),
  elapsed: $('stat-elapsed'),
  eta: $('stat-eta'),
  checkpoint: $('stat-checkpoint'),
  message: $('job-message'),
  pause: $<HTMLButtonElement>('btn-pause'),
  resume: $<HTMLButtonElement>('btn-resume'),
  cancel: $<HTMLButtonElement>('btn-cancel'),
  extend: $<HTMLButtonElement>('btn-extend'),
  export: $<HTMLButtonElement>('btn-export'),
  empty: $('empty'),
  compute: $<HTMLButtonElement>('btn-compute'),
  announcer: $('announcer'),
  toolbar: $('table-toolbar'),
  jump: $<HTMLInputElement>('jump'),
  jumpGo: $<HTMLButtonElement>('btn-jump'),
  jumpHint: $('jump-hint'),
  scroller: $('scroller'),
  table: $<HTMLTableElement>('terms'),
  thead: $('terms').querySelector('thead')!,
  tbody: $<HTMLTableSectionElement>('rows'),
  spacerTop: $<HTMLTableRowElement>('spacer-top'),
  spacerBottom: $<HTMLTableRowElement>('spacer-bottom'),
  tableEmpty: $('table-empty'),
};

document.documentElement.style.setProperty('--row-h', `${ROW_H}px`);
document.documentElement.style.setProperty('--line-h', `${LINE_H}px`);
document.documentElement.style.setProperty('--detail-bar-h', `${DETAIL_BAR_H}px`);

// ------------------------------------------------------------------------------------------------
// Formatting
// ------------------------------------------------------------------------------------------------

const fmtInt = (n: number): string => n.toLocaleString('en-US');

function fmtDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

const STATE_TEXT: Record<JobState, string> = {
  none: 'No job',
  running: 'Running',
  paused: 'Paused',
  cancelled: 'Cancelled',
  done: 'Done',
  error: 'Error',
  readonly: 'Read-only',
};

// ------------------------------------------------------------------------------------------------
// State
// ------------------------------------------------------------------------------------------------

let job: JobView | undefined;
/** Local time the last job update arrived, and host clock minus local clock. */
let jobReceivedAt = 0;
let clockSkew = 0;
/** Terms stored (rows in the table). */
let count = 0;
let initialized = false;

interface Page {
  rows: (TermSummary | undefined)[];
  /** Leading rows present. */
  filled: number;
}
/** Row summaries by page, least recently used first. */
const pages = new Map<number, Page>();
const inflight = new Map<number, number>();
/** A page answered short while `count` was this value: do not ask again until the count grows. */
const shortAt = new Map<number, number>();
/** Full values, least recently used first. */
const values = new Map<number, string>();
const valueWaiters = new Map<number, ((v: string | null) => void)[]>();
/** Terms the host said it does not have (cleared when the count changes). */
const missing = new Set<number>();

const expanded = new Set<number>();
let expandedSorted: number[] = [];
/** Digit counts of expanded rows (their detail heights), kept while the row is expanded, whatever the caches evict. */
const expandedDigits = new Map<number, number>();
let focusN = 1;
let jumpValue = '';
let firstVisibleN = 1;
let pendingRestore: { scrollTop: number; firstVisibleN: number } | undefined;
/** After a restore: the saved position, applied exactly once the heights of the expanded rows above are known. */
let restoreTarget: { scrollTop: number; n: number; until: number } | undefined;

// Layout measurements.
let viewportH = 0;
let viewportW = 0;
let theadH = ROW_H;
let charW = 7.8;
/** Characters that fit in the T(n) column, and digits shown at each end of a value that does not fit. */
let valueChars = 25;
let endDigits = 12;

const pageOf = (n: number): number => Math.floor((n - 1) / PAGE);

function readSavedState(): void {
  const s = vscode.getState();
  if (typeof s !== 'object' || s === null) return;
  const st = s as Partial<Record<keyof UiState, unknown>>;
  const int = (v: unknown, min: number): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= TERMS_MAX_N * ROW_H * 2 ? v : undefined);
  const scrollTop = int(st.scrollTop, 0) ?? 0;
  const first = Math.min(TERMS_MAX_N, int(st.firstVisibleN, 1) ?? 1);
  if (Array.isArray(st.expanded)) {
    for (const n of st.expanded.slice(0, MAX_EXPANDED)) if (int(n, 1) !== undefined && (n as number) <= TERMS_MAX_N) expanded.add(n as number);
  }
  if (typeof st.jumpValue === 'string') jumpValue = st.jumpValue.slice(0, 20);
  pendingRestore = { scrollTop, firstVisibleN: first };
  firstVisibleN = first;
  focusN = first;
  updateExpandedSorted();
}

let saveTimer: number | undefined;
function saveState(now = false): void {
  const save = () => {
    saveTimer = undefined;
    vscode.setState({ scrollTop: Math.round(ui.scroller.scrollTop), firstVisibleN, expanded: expandedSorted.slice(0, MAX_EXPANDED), jumpValue });
  };
  if (now) {
    if (saveTimer !== undefined) window.clearTimeout(saveTimer);
    save();
  } else if (saveTimer === undefined) {
    saveTimer = window.setTimeout(save, 100);
  }
}

function updateExpandedSorted(): void {
  expandedSorted = [...expanded].sort((a, b) => a - b);
}

// ------------------------------------------------------------------------------------------------
// Geometry: fixed-height rows, plus a detail row under each expanded row whose height is computed
// from the value's digit count and the available width (so no measuring feedback loop is needed).
// ------------------------------------------------------------------------------------------------

function summary(n: number): TermSummary | undefined {
  return pages.get(pageOf(n))?.rows[(n - 1) % PAGE];
}

function digitsOf(n: number): number | undefined {
  return expandedDigits.get(n) ?? values.get(n)?.length ?? summary(n)?.digits;
}

/** Records the digit count of an expanded row; true when it was not known before (its height changed). */
function learnDigits(n: number, digits: number): boolean {
  if (!expanded.has(n) || expandedDigits.get(n) === digits) return false;
  const known = digitsOf(n) === digits;
  expandedDigits.set(n, digits);
  return !known;
}

function boxHeight(n: number): number {
  const digits = digitsOf(n);
  if (digits === undefined) return BOX_MAX_H;
  const inner = Math.max(charW, viewportW - 2 * DETAIL_PAD_X - 2 * BOX_PAD_X - 2);
  const perLine = Math.max(1, Math.floor(inner / charW));
  const lines = Math.ceil(digits / perLine) + (digits > perLine ? 1 : 0);
  return Math.min(BOX_MAX_H, lines * LINE_H + 2 * BOX_PAD_Y + 2);
}

function detailHeight(n: number): number {
  return 2 * DETAIL_PAD_Y + DETAIL_BAR_H + boxHeight(n);
}

/** Top of row n in row space (0 = top of the first row); top(count + 1) is the total height. */
function top(n: number): number {
  let y = (n - 1) * ROW_H;
  for (const e of expandedSorted) {
    if (e >= n || e > count) break;
    y += detailHeight(e);
  }
  return y;
}

function rowHeight(n: number): number {
  return ROW_H + (expanded.has(n) ? detailHeight(n) : 0);
}

/** The row (with its detail) covering row-space offset y, clamped to 1..count. */
function rowAt(y: number): number {
  if (count === 0) return 1;
  let extra = 0;
  for (const e of expandedSorted) {
    if (e > count) break;
    const eTop = (e - 1) * ROW_H + extra;
    if (y < eTop) break;
    const h = detailHeight(e);
    if (y < eTop + ROW_H + h) return e;
    extra += h;
  }
  return Math.min(count, Math.max(1, Math.floor((y - extra) / ROW_H) + 1));
}

function measure(): void {
  viewportH = ui.scroller.clientHeight;
  viewportW = ui.scroller.clientWidth;
  theadH = ui.thead.getBoundingClientRect().height || ROW_H;
  const probe = document.createElement('span');
  probe.className = 'probe';
  probe.textContent = '0'.repeat(100);
  document.body.append(probe);
  const w = probe.getBoundingClientRect().width / 100;
  probe.remove();
  if (w > 0) charW = w;
  const th = ui.thead.querySelector('th.c-value');
  const colW = th ? th.getBoundingClientRect().width - 12 - 20 : 0; // padding, room for the copy button
  if (colW > 0) {
    valueChars = Math.max(7, Math.floor(colW / charW));
    endDigits = Math.max(3, Math.min(12, Math.floor((valueChars - 1) / 2)));
  }
}

// ------------------------------------------------------------------------------------------------
// Row elements (reused as the view scrolls)
// ------------------------------------------------------------------------------------------------

const CHEVRON = '<svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true"><path fill="currentColor" d="M6 4l4 4-4 4-.7-.7L8.6 8 5.3 4.7z"/></svg>';
const COPY_ICON =
  '<svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true"><path fill="currentColor" d="M4 4V2.5A1.5 1.5 0 0 1 5.5 1h7A1.5 1.5 0 0 1 14 2.5v7a1.5 1.5 0 0 1-1.5 1.5H11v1.5A1.5 1.5 0 0 1 9.5 14h-7A1.5 1.5 0 0 1 1 12.5v-7A1.5 1.5 0 0 1 2.5 4zm1 0h4.5A1.5 1.5 0 0 1 11 5.5V10h1.5a.5.5 0 0 0 .5-.5v-7a.5.5 0 0 0-.5-.5h-7a.5.5 0 0 0-.5.5zM2.5 5a.5.5 0 0 0-.5.5v7a.5.5 0 0 0 .5.5h7a.5.5 0 0 0 .5-.5v-7a.5.5 0 0 0-.5-.5z"/></svg>';

interface RowEl {
  tr: HTMLTableRowElement;
  nText: HTMLElement;
  digits: HTMLElement;
  head: HTMLElement;
  ell: HTMLElement;
  tail: HTMLElement;
  copy: HTMLButtonElement;
  n: number;
  sig: string;
}

interface DetailEl {
  tr: HTMLTableRowElement;
  td: HTMLTableCellElement;
  title: HTMLElement;
  copy: HTMLButtonElement;
  collapse: HTMLButtonElement;
  box: HTMLElement;
  n: number;
  shown: 'none' | 'loading' | 'value' | 'missing';
  height: number;
}

const rendered = new Map<number, RowEl>();
const renderedDetails = new Map<number, DetailEl>();
const rowPool: RowEl[] = [];
const detailPool: DetailEl[] = [];

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function createRow(): RowEl {
  const tr = el('tr', 'row');
  tr.tabIndex = -1;
  const cn = el('td', 'c-n');
  const twisty = el('button', 'twisty');
  twisty.type = 'button';
  twisty.tabIndex = -1;
  twisty.dataset.action = 'toggle';
  twisty.setAttribute('aria-hidden', 'true');
  twisty.title = 'Expand or collapse (Enter)';
  twisty.innerHTML = CHEVRON;
  const nText = el('span', 'n');
  cn.append(twisty, nText);
  const cd = el('td', 'c-digits');
  const cv = el('td', 'c-value');
  const value = el('span', 'value');
  const head = el('span', 'head');
  const ell = el('span', 'ell', '…');
  const tail = el('span', 'tail');
  value.append(head, ell, tail);
  const copy = el('button', 'icon-btn row-copy');
  copy.type = 'button';
  copy.tabIndex = -1;
  copy.dataset.action = 'copy';
  copy.setAttribute('aria-hidden', 'true');
  copy.innerHTML = COPY_ICON;
  cv.append(value, copy);
  tr.append(cn, cd, cv);
  return { tr, nText, digits: cd, head, ell, tail, copy, n: 0, sig: '' };
}

function createDetail(): DetailEl {
  const tr = el('tr', 'detail');
  const td = el('td', 'detail-cell');
  td.colSpan = 3;
  const bar = el('div', 'detail-bar');
  const title = el('span', 'detail-title');
  const copy = el('button', 'btn secondary small', 'Copy');
  copy.type = 'button';
  copy.dataset.action = 'copy';
  const collapse = el('button', 'btn secondary small', 'Collapse');
  collapse.type = 'button';
  collapse.dataset.action = 'toggle';
  bar.append(title, copy, collapse);
  const box = el('div', 'full');
  box.tabIndex = 0;
  td.append(bar, box);
  tr.append(td);
  return { tr, td, title, copy, collapse, box, n: 0, shown: 'none', height: -1 };
}

function fillRow(r: RowEl, n: number): void {
  const s = summary(n);
  const open = expanded.has(n);
  const sig = `${s ? 's' : 'p'}${open ? 'o' : 'c'}${endDigits}`;
  if (r.n === n && r.sig === sig) return;
  if (r.n !== n) {
    r.tr.dataset.n = String(n);
    // The row's context menu (package.json "webview/context": Copy T(n), Copy as b-file line, Export from here).
    r.tr.dataset.vscodeContext = JSON.stringify({ webviewSection: 'row', n, preventDefaultContextMenuItems: true });
    r.tr.setAttribute('aria-rowindex', String(n + 1));
    r.nText.textContent = String(n);
    r.copy.title = `Copy T(${n}) (c)`;
  }
  r.n = n;
  r.sig = sig;
  r.tr.setAttribute('aria-expanded', String(open));
  r.tr.classList.toggle('expanded', open);
  if (s) {
    r.tr.classList.remove('loading');
    r.digits.textContent = fmtInt(s.digits);
    // Short values come whole (tail ''); show them whole when they fit, else both ends.
    const whole = s.tail === '' && s.head.length <= valueChars;
    r.head.textContent = whole ? s.head : s.head.slice(0, endDigits);
    r.tail.textContent = whole ? '' : (s.tail || s.head).slice(-endDigits);
    r.ell.hidden = whole;
  } else {
    r.tr.classList.add('loading');
    r.digits.textContent = '';
    r.head.textContent = '…';
    r.tail.textContent = '';
    r.ell.hidden = true;
  }
}

function fillDetail(d: DetailEl, n: number): void {
  const value = values.get(n);
  const digits = digitsOf(n);
  if (d.n !== n) {
    d.tr.dataset.detailFor = String(n);
    d.tr.id = `detail-${n}`;
    d.copy.title = `Copy all digits of T(${n})`;
    d.box.setAttribute('aria-label', `All digits of T(${n})`);
    d.shown = 'none';
  }
  d.n = n;
  d.title.textContent = digits === undefined ? `T(${n})` : `T(${n}) · ${fmtInt(digits)} digit${digits === 1 ? '' : 's'}`;
  const h = detailHeight(n);
  if (d.height !== h) {
    d.height = h;
    d.td.style.height = `${h}px`;
    d.box.style.height = `${h - 2 * DETAIL_PAD_Y - DETAIL_BAR_H}px`;
  }
  const want = value !== undefined ? 'value' : missing.has(n) ? 'missing' : 'loading';
  if (d.shown !== want) {
    d.shown = want;
    d.box.classList.toggle('pending', want !== 'value');
    d.box.textContent = value ?? (want === 'missing' ? 'This term is not stored.' : 'Loading…');
    d.box.scrollTop = 0;
  }
  if (value === undefined && want === 'loading') void requestValue(n);
}

// ------------------------------------------------------------------------------------------------
// Rendering (batched in requestAnimationFrame)
// ------------------------------------------------------------------------------------------------

let frame: number | undefined;
let firstRowsMarked = false;
/** Set when row heights may have changed above the viewport: keep the first visible row in place. */
let keepAnchor = false;
let anchor = { n: 1, offset: 0 };
/** A scroll position to apply in the next render (row space). */
let wantScrollTop: number | undefined;

function scheduleRender(): void {
  if (frame === undefined) frame = requestAnimationFrame(render);
}

function renderNow(): void {
  if (frame !== undefined) cancelAnimationFrame(frame);
  render();
}

function render(): void {
  frame = undefined;
  const visibleTable = count > 0;
  ui.tableEmpty.hidden = visibleTable || !initialized || (job?.state ?? 'none') === 'none';
  ui.table.setAttribute('aria-rowcount', String(count + 1));

  if (restoreTarget && Date.now() > restoreTarget.until) restoreTarget = undefined; // heights never came: keep what we have
  if (restoreTarget) {
    const { n, scrollTop: saved } = restoreTarget;
    if (expandedSorted.every((e) => e >= n || e > count || digitsOf(e) !== undefined)) {
      // Every height above is known: the saved offset is exact unless the width changed.
      const y = top(n);
      wantScrollTop = saved >= y && saved < y + rowHeight(n) ? saved : y;
      restoreTarget = undefined;
    } else if (wantScrollTop === undefined) {
      keepAnchor = true;
      anchor = { n, offset: 0 };
    }
  }

  let scrollTop: number;
  if (wantScrollTop !== undefined) scrollTop = wantScrollTop;
  else if (keepAnchor) scrollTop = top(anchor.n) + Math.min(anchor.offset, rowHeight(anchor.n) - 1);
  else scrollTop = ui.scroller.scrollTop;
  const total = count > 0 ? top(count + 1) : 0;
  const rowsViewport = Math.max(ROW_H, viewportH - theadH);
  scrollTop = Math.max(0, Math.min(scrollTop, total - rowsViewport));

  let start = 1;
  let end = 0;
  if (count > 0) {
    const first = rowAt(scrollTop);
    const last = rowAt(scrollTop + rowsViewport - 1);
    start = Math.max(1, first - OVERSCAN);
    end = Math.min(count, last + OVERSCAN);
    firstVisibleN = first;
    anchor = { n: first, offset: scrollTop - top(first) };
  }

  // Spacers.
  const topH = count > 0 ? top(start) : 0;
  const bottomH = count > 0 ? total - top(end + 1) : 0;
  setSpacer(ui.spacerTop, topH);
  setSpacer(ui.spacerBottom, bottomH);

  // Release rows and details that left the range.
  const active = document.activeElement;
  for (const [n, r] of rendered) {
    if (n >= start && n <= end) continue;
    if (active === r.tr) ui.scroller.focus({ preventScroll: true });
    r.tr.remove();
    rendered.delete(n);
    rowPool.push(r);
  }
  for (const [n, d] of renderedDetails) {
    if (n >= start && n <= end && expanded.has(n)) continue;
    if (active && d.tr.contains(active)) ui.scroller.focus({ preventScroll: true });
    d.tr.remove();
    renderedDetails.delete(n);
    detailPool.push(d);
  }

  // Fill and order the rows in range.
  const tabN = focusN >= start && focusN <= end ? focusN : Math.min(end, Math.max(start, firstVisibleN));
  let cursor: ChildNode | null = ui.spacerTop.nextSibling;
  const place = (node: HTMLTableRowElement) => {
    if (node === cursor) cursor = cursor.nextSibling;
    else ui.tbody.insertBefore(node, cursor);
  };
  for (let n = start; n <= end; n++) {
    let r = rendered.get(n);
    if (!r) {
      r = rowPool.pop() ?? createRow();
      rendered.set(n, r);
    }
    fillRow(r, n);
    const tab = n === tabN ? 0 : -1;
    if (r.tr.tabIndex !== tab) r.tr.tabIndex = tab;
    place(r.tr);
    if (expanded.has(n)) {
      let d = renderedDetails.get(n);
      if (!d) {
        d = detailPool.pop() ?? createDetail();
        renderedDetails.set(n, d);
      }
      fillDetail(d, n);
      r.tr.setAttribute('aria-controls', d.tr.id);
      place(d.tr);
    } else {
      r.tr.removeAttribute('aria-controls');
    }
  }
  while (cursor && cursor !== ui.spacerBottom) {
    const next: ChildNode | null = cursor.nextSibling;
    cursor.remove();
    cursor = next;
  }

  if (wantScrollTop !== undefined || keepAnchor) {
    if (Math.abs(ui.scroller.scrollTop - scrollTop) >= 1) ui.scroller.scrollTop = scrollTop;
    wantScrollTop = undefined;
    keepAnchor = false;
  }

  if (!firstRowsMarked && count > 0 && summary(start)) {
    firstRowsMarked = true;
    performance.mark('tangentNumbers.terms.firstRows'); // for performance tests: first real rows on screen
  }
  touchPages(start, end);
  if (count > 0) requestRows(start, end);
  saveState();
}

function setSpacer(tr: HTMLTableRowElement, h: number): void {
  const td = tr.firstElementChild as HTMLElement;
  const px = `${h}px`;
  if (td.style.height !== px) td.style.height = px;
  const hide = h <= 0;
  if (tr.hidden !== hide) tr.hidden = hide;
}

// ------------------------------------------------------------------------------------------------
// Data: pages of summaries, full values
// ------------------------------------------------------------------------------------------------

function touchPages(start: number, end: number): void {
  for (let p = pageOf(start); p <= pageOf(end); p++) {
    const page = pages.get(p);
    if (page) {
      pages.delete(p);
      pages.set(p, page);
    }
  }
  while (pages.size > MAX_PAGES) {
    const oldest = pages.keys().next().value as number;
    pages.delete(oldest);
  }
}

/** Asks for the visible pages' missing rows, then for the digit counts of expanded rows (their heights). */
function requestRows(start: number, end: number): void {
  for (let p = pageOf(start); p <= pageOf(end); p++) if (!requestPage(p)) return;
  for (const e of expandedSorted) {
    if (e > count) break;
    if (digitsOf(e) === undefined && !requestPage(pageOf(e))) return;
  }
}

/** Requests the rows of page p not cached yet; false when no more requests may be in flight. */
function requestPage(p: number): boolean {
  const now = Date.now();
  const pageFrom = p * PAGE + 1;
  const pageTo = Math.min(count, pageFrom + PAGE - 1);
  const from = pageFrom + (pages.get(p)?.filled ?? 0);
  if (from > pageTo) return true;
  const sent = inflight.get(p);
  if (sent !== undefined && now - sent < REQUEST_TIMEOUT_MS) return true;
  if ((shortAt.get(p) ?? -1) >= count) return true;
  if (inflight.size >= MAX_INFLIGHT) {
    // Stale requests (lost answers) do not block new ones.
    for (const [q, t] of inflight) if (now - t >= REQUEST_TIMEOUT_MS) inflight.delete(q);
    if (inflight.size >= MAX_INFLIGHT) return false;
  }
  inflight.set(p, now);
  post({ type: 'getRows', from, to: pageTo });
  watchForLostRequests();
  return true;
}

/**
 * A request can go unanswered (the host refuses reads while too many are queued, say, after a flood
 * from a misbehaving view): once one is older than REQUEST_TIMEOUT_MS, render again, which asks for
 * the rows still missing, so a visible row never stays a placeholder for good.
 */
let lostRequestTimer: ReturnType<typeof setTimeout> | undefined;
function watchForLostRequests(): void {
  if (lostRequestTimer !== undefined) return;
  lostRequestTimer = setTimeout(() => {
    lostRequestTimer = undefined;
    if (inflight.size === 0) return;
    const now = Date.now();
    let lost = false;
    for (const [q, t] of inflight) {
      if (now - t >= REQUEST_TIMEOUT_MS) {
        inflight.delete(q);
        lost = true;
      }
    }
    if (lost) scheduleRender();
    if (inflight.size > 0) watchForLostRequests();
  }, REQUEST_TIMEOUT_MS + 100);
}

function isSummary(v: unknown): v is TermSummary {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return Number.isInteger(r.n) && Number.isInteger(r.digits) && typeof r.head === 'string' && typeof r.tail === 'string';
}

function onRows(msg: Extract<ToWebview, { type: 'rows' }>): void {
  const p = pageOf(msg.from);
  inflight.delete(p);
  let page = pages.get(p);
  let heightsChanged = false;
  for (const row of msg.rows) {
    if (!isSummary(row) || row.n < 1 || pageOf(row.n) !== p) continue;
    if (!page) {
      page = { rows: new Array<TermSummary | undefined>(PAGE), filled: 0 };
      pages.set(p, page);
    }
    page.rows[(row.n - 1) % PAGE] = row;
    if (learnDigits(row.n, row.digits)) heightsChanged = true;
  }
  if (page) {
    while (page.filled < PAGE && page.rows[page.filled]) page.filled++;
  }
  if (Number.isInteger(msg.count) && msg.count > count) setCount(msg.count);
  const pageTo = Math.min(count, p * PAGE + PAGE);
  if (p * PAGE + (page?.filled ?? 0) < pageTo) shortAt.set(p, count);
  else shortAt.delete(p);
  if (heightsChanged) keepAnchor = true;
  if (pendingRestore && initialized && count > 0) restoreScroll();
  else scheduleRender();
}

function requestValue(n: number): Promise<string | null> {
  const cached = values.get(n);
  if (cached !== undefined) return Promise.resolve(cached);
  return new Promise((resolve) => {
    const waiters = valueWaiters.get(n);
    if (waiters) {
      waiters.push(resolve);
      return;
    }
    valueWaiters.set(n, [resolve]);
    post({ type: 'getTerm', n });
    window.setTimeout(() => settleValue(n, null), 15000);
  });
}

function settleValue(n: number, value: string | null): void {
  const waiters = valueWaiters.get(n);
  valueWaiters.delete(n);
  for (const w of waiters ?? []) w(value);
}

function onTerm(n: number, value: string | null): void {
  if (typeof value === 'string') {
    if (learnDigits(n, value.length)) keepAnchor = true;
    values.delete(n);
    values.set(n, value);
    while (values.size > MAX_VALUES) values.delete(values.keys().next().value as number);
    missing.delete(n);
  } else if (valueWaiters.has(n)) {
    missing.add(n);
  }
  settleValue(n, value);
  if (expanded.has(n)) scheduleRender();
}

function setCount(next: number): void {
  if (next === count) return;
  count = next;
  missing.clear();
  ui.toolbar.hidden = count === 0;
  ui.jump.placeholder = count > 0 ? `1–${count}` : '';
  updateButtons();
}

// ------------------------------------------------------------------------------------------------
// The job cell
// ------------------------------------------------------------------------------------------------

let announced: { state: JobState; decile: number } | undefined;

function announce(text: string): void {
  // Clearing first makes a repeated text be read again.
  ui.announcer.textContent = '';
  window.setTimeout(() => (ui.announcer.textContent = text), 50);
}

function pct(v: JobView): number {
  return v.target > 0 ? Math.min(100, Math.floor((100 * v.done) / v.target)) : 0;
}

function setJob(v: JobView, hostNow: number): void {
  const previous = job;
  job = v;
  jobReceivedAt = Date.now();
  if (Number.isFinite(hostNow)) clockSkew = hostNow - jobReceivedAt;
  milestones(previous, v);
  renderJob();
}

function milestones(previous: JobView | undefined, v: JobView): void {
  const decile = Math.floor(pct(v) / 10);
  if (!announced || !previous) {
    announced = { state: v.state, decile };
    return;
  }
  const counts = `${fmtInt(v.done)} of ${fmtInt(v.target)} terms`;
  if (v.state !== announced.state) {
    switch (v.state) {
      case 'running':
        announce(v.done > 0 ? `Computation resumed at ${counts}.` : `Computation started: ${fmtInt(v.target)} terms.`);
        break;
      case 'paused':
        announce(`Paused at ${counts}.`);
        break;
      case 'cancelled':
        announce(`Cancelled at ${counts}.`);
        break;
      case 'done':
        announce(`Done: ${fmtInt(v.done)} terms computed.`);
        break;
      case 'error':
        announce(`Error: ${v.message ?? 'the job failed'}. ${failureAdvice(v.failureCode)}`.trim());
        break;
      case 'readonly':
        announce('Another window or process is computing this job; shown read-only.');
        break;
      case 'none':
        announce('No job.');
        break;
    }
    announced = { state: v.state, decile };
    return;
  }
  if (v.state === 'running' && decile > announced.decile && decile < 10) announce(`${decile * 10}% — ${counts}.`);
  announced.decile = decile;
}

function renderJob(): void {
  const v = job;
  if (!v) return;
  const none = v.state === 'none' && count === 0;
  ui.empty.hidden = !none;
  ui.cell.hidden = none;
  ui.toolbar.hidden = count === 0;
  ui.scroller.hidden = none;
  ui.state.textContent = STATE_TEXT[v.state];
  ui.state.dataset.state = v.state;
  ui.counts.textContent = v.target > 0 ? `${fmtInt(v.done)} / ${fmtInt(v.target)} terms` : `${fmtInt(v.done)} terms`;
  const p = pct(v);
  ui.progress.setAttribute('aria-valuemax', String(v.target));
  ui.progress.setAttribute('aria-valuenow', String(Math.min(v.done, v.target)));
  ui.progress.setAttribute('aria-valuetext', `${fmtInt(v.done)} of ${fmtInt(v.target)} terms (${p}%)`);
  ui.progress.dataset.state = v.state;
  ui.fill.style.transform = `scaleX(${v.target > 0 ? Math.min(1, v.done / v.target) : 0})`;
  // Animate changes, not the first paint.
  if (!ui.progress.classList.contains('animate')) requestAnimationFrame(() => ui.progress.classList.add('animate'));
  const fmtRate = (r: number) => `${r < 10 ? r.toFixed(1) : Math.round(r)} terms/s`;
  // A finished job: its average rate, and what it took (compute time summed over its runs) as the message.
  const took = v.state === 'done' && v.elapsedMs > 0 ? formatTook(v.elapsedMs, v.runs ?? 0, v.done) : '';
  ui.rate.textContent =
    v.state === 'running' && v.termsPerSecond > 0 ? fmtRate(v.termsPerSecond) : took && v.done > 0 ? fmtRate(v.done / (v.elapsedMs / 1000)) : '—';
  const hasMessage = ((v.state === 'error' || v.state === 'readonly') && !!v.message) || took !== '';
  ui.message.hidden = !hasMessage;
  ui.message.textContent = took ? `Finished: ${took}.` : hasMessage ? v.message! : '';
  ui.message.dataset.kind = v.state;
  tick();
  updateButtons();
  scheduleRender();
}

/** Elapsed, ETA and checkpoint age advance locally between updates. */
function tick(): void {
  const v = job;
  if (!v) return;
  const since = Date.now() - jobReceivedAt;
  const running = v.state === 'running';
  ui.elapsed.textContent = v.elapsedMs > 0 || running ? fmtDuration((v.elapsedMs + (running ? since : 0)) / 1000) : '—';
  ui.eta.textContent = v.state === 'done' ? 'done' : running && v.etaSeconds !== null ? fmtDuration(Math.max(0, v.etaSeconds - since / 1000)) : '—';
  ui.checkpoint.textContent = v.lastCheckpointAt !== null ? `${fmtDuration((Date.now() + clockSkew - v.lastCheckpointAt) / 1000)} ago` : '—';
}

function updateButtons(): void {
  const s = job?.state ?? 'none';
  const enable: [HTMLButtonElement, boolean][] = [
    [ui.pause, s === 'running'],
    [ui.resume, s === 'paused' || s === 'cancelled' || s === 'error'],
    [ui.cancel, s === 'running' || s === 'paused'],
    [ui.extend, s !== 'none' && s !== 'readonly'],
    [ui.export, count > 0],
  ];
  const focused = document.activeElement;
  let lostFocus = false;
  for (const [b, on] of enable) {
    if (b.disabled === !on) continue;
    if (!on && focused === b) lostFocus = true;
    b.disabled = !on;
  }
  if (lostFocus) (enable.find(([b, on]) => on && b !== focused)?.[0] ?? ui.scroller).focus();
}

// ------------------------------------------------------------------------------------------------
// Interaction
// ------------------------------------------------------------------------------------------------

function toggle(n: number, open = !expanded.has(n)): void {
  if (n < 1 || n > count || open === expanded.has(n)) return;
  if (open) {
    if (expanded.size >= MAX_EXPANDED) {
      announce(`At most ${MAX_EXPANDED} rows can be expanded.`);
      return;
    }
    expanded.add(n);
    const digits = digitsOf(n);
    if (digits !== undefined) expandedDigits.set(n, digits);
    void requestValue(n);
  } else {
    expanded.delete(n);
    expandedDigits.delete(n);
  }
  updateExpandedSorted();
  // Keep the toggled row where it is on screen; when opening, scroll the new detail into view if it fits.
  if (n < firstVisibleN || (n === firstVisibleN && anchor.offset > 0)) keepAnchor = true;
  else if (open) {
    const rowsViewport = Math.max(ROW_H, viewportH - theadH);
    const y = top(n);
    const bottom = y + rowHeight(n);
    const st = ui.scroller.scrollTop;
    if (bottom > st + rowsViewport) wantScrollTop = Math.min(y, bottom - rowsViewport);
  }
  renderNow();
  saveState(true);
}

function digitsLabel(n: number, value: string): string {
  return `T(${n}) (${fmtInt(value.length)} digit${value.length === 1 ? '' : 's'})`;
}

async function copy(n: number): Promise<void> {
  if (n < 1 || n > count) return;
  const value = await requestValue(n);
  if (value === null) {
    announce(`T(${n}) is not available.`);
    return;
  }
  try {
    await navigator.clipboard.writeText(value);
    announce(`Copied ${digitsLabel(n, value)}.`);
  } catch {
    post({ type: 'copy', n }); // the host copies and answers with 'copied'
  }
}

function rowFromEvent(e: Event): number | undefined {
  const t = e.target;
  if (!(t instanceof Element)) return undefined;
  const tr = t.closest<HTMLElement>('tr.row, tr.detail');
  const n = Number(tr?.dataset.n ?? tr?.dataset.detailFor);
  return Number.isInteger(n) && n >= 1 ? n : undefined;
}

/** Scrolls so row n is visible (`top`: at the top), renders, and focuses it. */
function focusRow(n: number, align: 'nearest' | 'top' = 'nearest'): void {
  if (count === 0) return;
  n = Math.min(count, Math.max(1, n));
  focusN = n;
  const rowsViewport = Math.max(ROW_H, viewportH - theadH);
  const y = top(n);
  const st = ui.scroller.scrollTop;
  if (align === 'top' || y < st) wantScrollTop = y;
  else if (y + ROW_H > st + rowsViewport) wantScrollTop = y + ROW_H - rowsViewport;
  renderNow();
  rendered.get(n)?.tr.focus({ preventScroll: true });
}

function onTableKey(e: KeyboardEvent): void {
  const t = e.target as HTMLElement;
  const onRow = t instanceof HTMLTableRowElement && t.classList.contains('row');
  if (!onRow && t !== ui.scroller) return;
  const n = onRow ? Number(t.dataset.n) : focusN;
  if (!Number.isInteger(n) || count === 0) return;
  const pageRows = Math.max(1, Math.floor((viewportH - theadH) / ROW_H) - 1);
  const mod = e.ctrlKey || e.metaKey;
  let handled = true;
  switch (e.key) {
    case 'ArrowDown':
      focusRow(n + 1);
      break;
    case 'ArrowUp':
      focusRow(n - 1);
      break;
    case 'PageDown':
      focusRow(n + pageRows);
      break;
    case 'PageUp':
      focusRow(n - pageRows);
      break;
    case 'Home':
      focusRow(1);
      break;
    case 'End':
      focusRow(count);
      break;
    case 'Enter':
    case ' ':
      toggle(n);
      focusRow(n);
      break;
    case 'ArrowRight':
      toggle(n, true);
      focusRow(n);
      break;
    case 'ArrowLeft':
      toggle(n, false);
      focusRow(n);
      break;
    case 'c':
    case 'C':
      if (e.altKey || e.shiftKey || (mod && (window.getSelection()?.toString() ?? '') !== '')) {
        handled = false;
        break;
      }
      void copy(n);
      break;
    default:
      handled = false;
  }
  if (handled) {
    e.preventDefault();
    e.stopPropagation();
  }
}

function jump(): void {
  const text = ui.jump.value.trim();
  const setHint = (hint: string, invalid: boolean) => {
    ui.jumpHint.textContent = hint;
    ui.jump.setAttribute('aria-invalid', String(invalid));
    if (hint) announce(hint);
  };
  if (count === 0) {
    setHint('No terms yet.', false);
    return;
  }
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1) {
    setHint(`Type a whole number from 1 to ${fmtInt(count)}.`, true);
    return;
  }
  let n = Number(text);
  if (n > count) {
    setHint(`T(${fmtInt(n)}) is not computed yet; showing T(${fmtInt(count)}).`, false);
    n = count;
  } else {
    setHint('', false);
  }
  // The hint may have wrapped the toolbar onto another line (or unwrapped it), resizing the rows' viewport
  // before the ResizeObserver tells: measure now, or the target row may end up below the bottom edge.
  measure();
  focusRow(n, 'top');
}

function wireEvents(): void {
  const command = (c: Extract<FromWebview, { type: 'command' }>['command']) => () => post({ type: 'command', command: c });
  ui.pause.addEventListener('click', command('pause'));
  ui.resume.addEventListener('click', command('resume'));
  ui.cancel.addEventListener('click', command('cancel'));
  ui.extend.addEventListener('click', command('compute'));
  ui.export.addEventListener('click', command('export'));
  ui.compute.addEventListener('click', command('compute'));

  ui.jump.value = jumpValue;
  ui.jump.addEventListener('input', () => {
    jumpValue = ui.jump.value.slice(0, 20);
    saveState();
  });
  ui.jump.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      jump();
    }
  });
  ui.jumpGo.addEventListener('click', jump);

  ui.scroller.addEventListener('scroll', scheduleRender, { passive: true });
  for (const type of ['wheel', 'pointerdown', 'keydown'] as const) {
    ui.scroller.addEventListener(type, () => (restoreTarget = undefined), { passive: true, capture: true });
  }
  ui.scroller.addEventListener('keydown', onTableKey);
  ui.tbody.addEventListener('click', (e) => {
    const n = rowFromEvent(e);
    if (n === undefined) return;
    const action = (e.target as Element).closest<HTMLElement>('[data-action]')?.dataset.action;
    if (action === 'toggle') {
      toggle(n);
      focusRow(n);
    } else if (action === 'copy') void copy(n);
    else if ((e.target as Element).closest('tr.row')) focusRow(n);
  });
  ui.tbody.addEventListener('dblclick', (e) => {
    const n = rowFromEvent(e);
    if (n !== undefined && (e.target as Element).closest('tr.row') && !(e.target as Element).closest('[data-action]')) toggle(n);
  });
  ui.tbody.addEventListener('focusin', (e) => {
    const t = e.target;
    if (!(t instanceof HTMLTableRowElement) || !t.classList.contains('row')) return;
    const n = Number(t.dataset.n);
    if (!Number.isInteger(n) || n === focusN) return;
    const old = rendered.get(focusN);
    if (old && old.tr !== t) old.tr.tabIndex = -1;
    t.tabIndex = 0;
    focusN = n;
  });
  // VS Code's own Copy command (Ctrl/Cmd+C routed by the workbench) copies the focused row's value.
  document.addEventListener('copy', (e) => {
    const t = document.activeElement;
    if (!(t instanceof HTMLTableRowElement) || !t.classList.contains('row')) return;
    if ((window.getSelection()?.toString() ?? '') !== '') return;
    const n = Number(t.dataset.n);
    const value = values.get(n);
    if (value !== undefined && e.clipboardData) {
      e.clipboardData.setData('text/plain', value);
      e.preventDefault();
      announce(`Copied ${digitsLabel(n, value)}.`);
    } else {
      void copy(n);
    }
  });

  new ResizeObserver(() => {
    const w = viewportW;
    measure();
    if (w !== viewportW && expanded.size > 0) keepAnchor = true;
    scheduleRender();
  }).observe(ui.scroller);

  window.addEventListener('message', (e: MessageEvent<unknown>) => {
    try {
      onMessage(e.data);
    } catch (err) {
      console.error('terms view: bad message', err);
    }
  });

  // The view's document is destroyed when it is hidden (no retained context): save on the way out too.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') saveState(true);
  });
  window.addEventListener('pagehide', () => saveState(true));

  window.setInterval(() => {
    if (document.visibilityState === 'visible') tick();
  }, 1000);
}

function onMessage(data: unknown): void {
  if (typeof data !== 'object' || data === null) return;
  const msg = data as ToWebview;
  switch (msg.type) {
    case 'init':
      initialized = true;
      setCount(msg.count);
      setJob(msg.job, msg.now);
      restoreScroll();
      break;
    case 'job':
      setJob(msg.job, msg.now);
      break;
    case 'count':
      if (msg.count > count) {
        setCount(msg.count);
        renderJob();
        if (pendingRestore && initialized) restoreScroll();
        else scheduleRender();
      }
      break;
    case 'rows':
      onRows(msg);
      break;
    case 'term':
      onTerm(msg.n, msg.value);
      break;
    case 'copied':
      if (msg.ok) {
        const v = values.get(msg.n);
        announce(v ? `Copied ${digitsLabel(msg.n, v)}.` : `Copied T(${msg.n}).`);
      } else announce(`Could not copy T(${msg.n}).`);
      break;
    case 'reset':
      pages.clear();
      inflight.clear();
      shortAt.clear();
      values.clear();
      missing.clear();
      expanded.clear();
      expandedDigits.clear();
      restoreTarget = undefined;
      updateExpandedSorted();
      setCount(0);
      pendingRestore = undefined;
      focusN = 1;
      wantScrollTop = 0;
      renderJob();
      renderNow();
      saveState(true);
      break;
  }
}

function restoreScroll(): void {
  const r = pendingRestore;
  if (!r || count === 0) {
    // With no rows yet (store still opening), restore when the first count arrives.
    renderNow();
    return;
  }
  pendingRestore = undefined;
  const n = Math.min(count, r.firstVisibleN);
  restoreTarget = { scrollTop: r.scrollTop, n, until: Date.now() + 2000 };
  focusN = Math.min(count, Math.max(1, focusN));
  renderNow();
}

// ------------------------------------------------------------------------------------------------
// Start: ask for the job and, in the same breath, for the rows the restored position shows.
// ------------------------------------------------------------------------------------------------

readSavedState();
measure();
wireEvents();
post({ type: 'ready' });
{
  const first = firstVisibleN;
  const lastGuess = first + Math.ceil((window.innerHeight || 600) / ROW_H);
  for (let p = pageOf(first); p <= pageOf(lastGuess); p++) {
    inflight.set(p, Date.now());
    post({ type: 'getRows', from: p * PAGE + 1, to: p * PAGE + PAGE });
  }
  watchForLostRequests();
}
