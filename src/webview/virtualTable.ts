// The virtualized table of T(n): renders only the rows in and near the viewport (between two spacer rows), in
// requestAnimationFrame, keeps the first visible row in place when heights change above it, and brings the
// saved scroll position and expanded rows back after hide/show or a reload.
import { format } from '../common/format';
import { byId } from './dom';
import type { Announcer } from './announcer';
import { MAX_EXPANDED, ROW_H, type Layout } from './layout';
import type { RowCache } from './rowCache';
import type { DetailEl, RowEl, RowElements } from './rows';
import type { ViewText } from './viewConfig';
import type { UiState } from './vscodeApi';

/** Rows rendered beyond each edge of the viewport. */
const OVERSCAN = 6;
/** How long a restored position waits for the heights of the expanded rows above it. */
const RESTORE_WAIT_MS = 2000;

export interface VirtualTableDeps {
  text: ViewText;
  cache: RowCache;
  layout: Layout;
  rows: RowElements;
  announcer: Announcer;
  /** Saves the UI state (now, or soon). */
  saveState: (now?: boolean) => void;
  /** Whether "terms appear here" may show while there are no rows (the job is known and exists). */
  emptyHintAllowed: () => boolean;
}

export class VirtualTable {
  readonly scroller = byId('scroller');
  private readonly table = byId<HTMLTableElement>('terms');
  private readonly tbody = byId<HTMLTableSectionElement>('rows');
  private readonly spacerTop = byId<HTMLTableRowElement>('spacer-top');
  private readonly spacerBottom = byId<HTMLTableRowElement>('spacer-bottom');
  private readonly tableEmpty = byId('table-empty');

  private readonly rendered = new Map<number, RowEl>();
  private readonly renderedDetails = new Map<number, DetailEl>();
  private frame: number | undefined;
  private firstRowsMarked = false;
  /** Set when row heights may have changed above the viewport: keep the first visible row in place. */
  private keepAnchor = false;
  private anchor = { n: 1, offset: 0 };
  /** A scroll position to apply in the next render (row space). */
  private wantScrollTop: number | undefined;
  /** The row that takes the focus (tabindex 0). */
  private focusN = 1;
  private firstVisible = 1;
  /** A saved position waiting for the first rows. */
  private pendingRestore: { scrollTop: number; firstVisibleN: number } | undefined;
  /** After a restore: the saved position, applied exactly once the heights of the expanded rows above are known. */
  private restoreTarget: { scrollTop: number; n: number; until: number } | undefined;

  private readonly text: ViewText;
  private readonly cache: RowCache;
  private readonly layout: Layout;
  private readonly rows: RowElements;
  private readonly announcer: Announcer;
  private readonly saveState: (now?: boolean) => void;
  private readonly emptyHintAllowed: () => boolean;

  constructor(deps: VirtualTableDeps) {
    this.text = deps.text;
    this.cache = deps.cache;
    this.layout = deps.layout;
    this.rows = deps.rows;
    this.announcer = deps.announcer;
    this.saveState = deps.saveState;
    this.emptyHintAllowed = deps.emptyHintAllowed;
  }

  /** Listens to scrolling and resizing. */
  wire(): void {
    this.scroller.addEventListener('scroll', () => this.scheduleRender(), { passive: true });
    // The user moves: a restore still waiting for heights gives way.
    for (const type of ['wheel', 'pointerdown', 'keydown'] as const) {
      this.scroller.addEventListener(type, () => (this.restoreTarget = undefined), { passive: true, capture: true });
    }
    new ResizeObserver(() => {
      const w = this.layout.width;
      this.layout.measure();
      if (w !== this.layout.width && this.layout.expandedCount > 0) this.keepAnchor = true;
      this.scheduleRender();
    }).observe(this.scroller);
  }

  /** The first row in the viewport. */
  get firstVisibleN(): number {
    return this.firstVisible;
  }

  /** The row that has (or gets) the keyboard focus. */
  get focusedN(): number {
    return this.focusN;
  }

  get hasPendingRestore(): boolean {
    return this.pendingRestore !== undefined;
  }

  /** The table's part of the saved UI state. */
  state(): Omit<UiState, 'jumpValue'> {
    return { scrollTop: Math.round(this.scroller.scrollTop), firstVisibleN: this.firstVisible, expanded: this.layout.expandedRows.slice(0, MAX_EXPANDED) };
  }

  /** Takes a saved state at start-up: expanded rows now, the position once rows are there (restoreScroll). */
  applySaved(saved: UiState): void {
    this.layout.restoreExpanded(saved.expanded);
    this.pendingRestore = { scrollTop: saved.scrollTop, firstVisibleN: saved.firstVisibleN };
    this.firstVisible = saved.firstVisibleN;
    this.focusN = saved.firstVisibleN;
  }

  /** Goes to the saved position (when there is one and rows are there). */
  restoreScroll(): void {
    const r = this.pendingRestore;
    const count = this.cache.count;
    if (!r || count === 0) {
      // With no rows yet (store still opening), restore when the first count arrives.
      this.renderNow();
      return;
    }
    this.pendingRestore = undefined;
    const n = Math.min(count, r.firstVisibleN);
    this.restoreTarget = { scrollTop: r.scrollTop, n, until: Date.now() + RESTORE_WAIT_MS };
    this.focusN = Math.min(count, Math.max(1, this.focusN));
    this.renderNow();
  }

  /** The stored terms were replaced: no expanded rows, no position to restore, back to the top. */
  reset(): void {
    this.layout.collapseAll();
    this.restoreTarget = undefined;
    this.pendingRestore = undefined;
    this.focusN = 1;
    this.wantScrollTop = 0;
  }

  /** Heights changed above the viewport, maybe: keep the first visible row where it is in the next render. */
  keepPosition(): void {
    this.keepAnchor = true;
  }

  /** A row got the focus (by click or Tab): it becomes the one row in the tab order. */
  onRowFocus(tr: HTMLTableRowElement, n: number): void {
    if (n === this.focusN) return;
    const old = this.rendered.get(this.focusN);
    if (old && old.tr !== tr) old.tr.tabIndex = -1;
    tr.tabIndex = 0;
    this.focusN = n;
  }

  /** Expands or collapses row n (toggles by default). */
  toggle(n: number, open = !this.layout.isExpanded(n)): void {
    const layout = this.layout;
    if (n < 1 || n > this.cache.count || open === layout.isExpanded(n)) return;
    if (open) {
      if (layout.expandedCount >= MAX_EXPANDED) {
        this.announcer.say(format(this.text.s.expandLimit, this.text.nf.plain(MAX_EXPANDED)));
        return;
      }
      layout.expand(n);
      void this.cache.requestValue(n);
    } else {
      layout.collapse(n);
    }
    // Keep the toggled row where it is on screen; when opening, scroll the new detail into view if it fits.
    if (n < this.firstVisible || (n === this.firstVisible && this.anchor.offset > 0)) this.keepAnchor = true;
    else if (open) {
      const rowsViewport = layout.rowsViewport;
      const y = layout.top(n);
      const bottom = y + layout.rowHeight(n);
      const st = this.scroller.scrollTop;
      if (bottom > st + rowsViewport) this.wantScrollTop = Math.min(y, bottom - rowsViewport);
    }
    this.renderNow();
    this.saveState(true);
  }

  /** Scrolls so row n is visible (`top`: at the top), renders, and focuses it. */
  focusRow(n: number, align: 'nearest' | 'top' = 'nearest'): void {
    const count = this.cache.count;
    if (count === 0) return;
    n = Math.min(count, Math.max(1, n));
    this.focusN = n;
    const rowsViewport = this.layout.rowsViewport;
    const y = this.layout.top(n);
    const st = this.scroller.scrollTop;
    if (align === 'top' || y < st) this.wantScrollTop = y;
    else if (y + ROW_H > st + rowsViewport) this.wantScrollTop = y + ROW_H - rowsViewport;
    this.renderNow();
    this.rendered.get(n)?.tr.focus({ preventScroll: true });
  }

  scheduleRender(): void {
    if (this.frame === undefined) this.frame = requestAnimationFrame(() => this.render());
  }

  renderNow(): void {
    if (this.frame !== undefined) cancelAnimationFrame(this.frame);
    this.render();
  }

  private render(): void {
    this.frame = undefined;
    const { cache, layout, rows } = this;
    const count = cache.count;
    this.tableEmpty.hidden = count > 0 || !this.emptyHintAllowed();
    this.table.setAttribute('aria-rowcount', String(count + 1));

    if (this.restoreTarget && Date.now() > this.restoreTarget.until) this.restoreTarget = undefined; // heights never came: keep what we have
    if (this.restoreTarget) {
      const { n, scrollTop: saved } = this.restoreTarget;
      if (layout.expandedRows.every((e) => e >= n || e > count || layout.digitsOf(e) !== undefined)) {
        // Every height above is known: the saved offset is exact unless the width changed.
        const y = layout.top(n);
        this.wantScrollTop = saved >= y && saved < y + layout.rowHeight(n) ? saved : y;
        this.restoreTarget = undefined;
      } else if (this.wantScrollTop === undefined) {
        this.keepAnchor = true;
        this.anchor = { n, offset: 0 };
      }
    }

    let scrollTop: number;
    if (this.wantScrollTop !== undefined) scrollTop = this.wantScrollTop;
    else if (this.keepAnchor) scrollTop = layout.top(this.anchor.n) + Math.min(this.anchor.offset, layout.rowHeight(this.anchor.n) - 1);
    else scrollTop = this.scroller.scrollTop;
    const total = count > 0 ? layout.top(count + 1) : 0;
    const rowsViewport = layout.rowsViewport;
    scrollTop = Math.max(0, Math.min(scrollTop, total - rowsViewport));

    let start = 1;
    let end = 0;
    if (count > 0) {
      const first = layout.rowAt(scrollTop);
      const last = layout.rowAt(scrollTop + rowsViewport - 1);
      start = Math.max(1, first - OVERSCAN);
      end = Math.min(count, last + OVERSCAN);
      this.firstVisible = first;
      this.anchor = { n: first, offset: scrollTop - layout.top(first) };
    }

    // Spacers.
    const topH = count > 0 ? layout.top(start) : 0;
    const bottomH = count > 0 ? total - layout.top(end + 1) : 0;
    setSpacer(this.spacerTop, topH);
    setSpacer(this.spacerBottom, bottomH);

    // Release rows and details that left the range.
    const active = document.activeElement;
    for (const [n, r] of this.rendered) {
      if (n >= start && n <= end) continue;
      if (active === r.tr) this.scroller.focus({ preventScroll: true });
      this.rendered.delete(n);
      rows.releaseRow(r);
    }
    for (const [n, d] of this.renderedDetails) {
      if (n >= start && n <= end && layout.isExpanded(n)) continue;
      if (active && d.tr.contains(active)) this.scroller.focus({ preventScroll: true });
      this.renderedDetails.delete(n);
      rows.releaseDetail(d);
    }

    // Fill and order the rows in range.
    const tabN = this.focusN >= start && this.focusN <= end ? this.focusN : Math.min(end, Math.max(start, this.firstVisible));
    let cursor: ChildNode | null = this.spacerTop.nextSibling;
    const place = (node: HTMLTableRowElement) => {
      if (node === cursor) cursor = cursor.nextSibling;
      else this.tbody.insertBefore(node, cursor);
    };
    for (let n = start; n <= end; n++) {
      let r = this.rendered.get(n);
      if (!r) {
        r = rows.row();
        this.rendered.set(n, r);
      }
      rows.fillRow(r, n);
      const tab = n === tabN ? 0 : -1;
      if (r.tr.tabIndex !== tab) r.tr.tabIndex = tab;
      place(r.tr);
      if (layout.isExpanded(n)) {
        let d = this.renderedDetails.get(n);
        if (!d) {
          d = rows.detail();
          this.renderedDetails.set(n, d);
        }
        rows.fillDetail(d, n);
        r.tr.setAttribute('aria-controls', d.tr.id);
        place(d.tr);
      } else {
        r.tr.removeAttribute('aria-controls');
      }
    }
    while (cursor && cursor !== this.spacerBottom) {
      const next: ChildNode | null = cursor.nextSibling;
      cursor.remove();
      cursor = next;
    }

    if (this.wantScrollTop !== undefined || this.keepAnchor) {
      if (Math.abs(this.scroller.scrollTop - scrollTop) >= 1) this.scroller.scrollTop = scrollTop;
      this.wantScrollTop = undefined;
      this.keepAnchor = false;
    }

    if (!this.firstRowsMarked && count > 0 && cache.summary(start)) {
      this.firstRowsMarked = true;
      performance.mark('tangentNumbers.terms.firstRows'); // for performance tests: first real rows on screen
    }
    cache.touch(start, end);
    if (count > 0) cache.request(start, end, layout.withoutDigits());
    this.saveState();
  }
}

function setSpacer(tr: HTMLTableRowElement, h: number): void {
  const td = tr.firstElementChild as HTMLElement;
  const px = `${h}px`;
  if (td.style.height !== px) td.style.height = px;
  const hide = h <= 0;
  if (tr.hidden !== hide) tr.hidden = hide;
}
