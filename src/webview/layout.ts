// Geometry of the table: fixed-height rows, plus a detail row under each expanded row whose height is computed
// from the value's digit count and the available width (so no measuring feedback loop is needed). Owns which
// rows are expanded, since their heights are the layout.
import type { RowCache } from './rowCache';

// Kept in sync with media/terms.css through CSS variables (see setCssVariables).
export const ROW_H = 22;
const LINE_H = 18;
export const DETAIL_BAR_H = 26;
export const DETAIL_PAD_Y = 4; // top and bottom padding of the detail cell
const DETAIL_PAD_X = 8;
const BOX_PAD_Y = 4;
const BOX_PAD_X = 6;
const BOX_MAX_H = 240;

/** Most rows expanded at once. */
export const MAX_EXPANDED = 200;

export class Layout {
  private readonly expanded = new Set<number>();
  private expandedSorted: number[] = [];
  /** Digit counts of expanded rows (their detail heights), kept while the row is expanded, whatever the caches evict. */
  private readonly expandedDigits = new Map<number, number>();

  // Measurements.
  private viewportH = 0;
  private viewportW = 0;
  private theadH = ROW_H;
  private charW = 7.8;
  /** Characters that fit in the T(n) column, and digits shown at each end of a value that does not fit. */
  private valueCharsFit = 25;
  private endDigitsShown = 12;

  constructor(
    private readonly cache: RowCache,
    private readonly scroller: HTMLElement,
    private readonly thead: HTMLElement,
  ) {
    const root = document.documentElement.style;
    root.setProperty('--row-h', `${ROW_H}px`);
    root.setProperty('--line-h', `${LINE_H}px`);
    root.setProperty('--detail-bar-h', `${DETAIL_BAR_H}px`);
  }

  /** Measures the viewport, the header and the width of a digit. */
  measure(): void {
    this.viewportH = this.scroller.clientHeight;
    this.viewportW = this.scroller.clientWidth;
    this.theadH = this.thead.getBoundingClientRect().height || ROW_H;
    const probe = document.createElement('span');
    probe.className = 'probe';
    probe.textContent = '0'.repeat(100);
    document.body.append(probe);
    const w = probe.getBoundingClientRect().width / 100;
    probe.remove();
    if (w > 0) this.charW = w;
    const th = this.thead.querySelector('th.c-value');
    const colW = th ? th.getBoundingClientRect().width - 12 - 20 : 0; // padding, room for the copy button
    if (colW > 0) {
      this.valueCharsFit = Math.max(7, Math.floor(colW / this.charW));
      this.endDigitsShown = Math.max(3, Math.min(12, Math.floor((this.valueCharsFit - 1) / 2)));
    }
  }

  get width(): number {
    return this.viewportW;
  }

  /** Height of the rows' part of the viewport (below the sticky header). */
  get rowsViewport(): number {
    return Math.max(ROW_H, this.viewportH - this.theadH);
  }

  /** Rows a PageUp/PageDown moves by. */
  get pageRows(): number {
    return Math.max(1, Math.floor((this.viewportH - this.theadH) / ROW_H) - 1);
  }

  /** Characters that fit in the T(n) column. */
  get valueChars(): number {
    return this.valueCharsFit;
  }

  /** Digits shown at each end of a value that does not fit. */
  get endDigits(): number {
    return this.endDigitsShown;
  }

  // ----------------------------------------------------------------------------------------------
  // Expanded rows
  // ----------------------------------------------------------------------------------------------

  isExpanded(n: number): boolean {
    return this.expanded.has(n);
  }

  get expandedCount(): number {
    return this.expanded.size;
  }

  /** Expanded rows, ascending. */
  get expandedRows(): readonly number[] {
    return this.expandedSorted;
  }

  expand(n: number): void {
    this.expanded.add(n);
    const digits = this.digitsOf(n);
    if (digits !== undefined) this.expandedDigits.set(n, digits);
    this.sort();
  }

  collapse(n: number): void {
    this.expanded.delete(n);
    this.expandedDigits.delete(n);
    this.sort();
  }

  /** Expands the rows of a saved state (their heights are learnt as their rows arrive). */
  restoreExpanded(rows: readonly number[]): void {
    for (const n of rows) this.expanded.add(n);
    this.sort();
  }

  collapseAll(): void {
    this.expanded.clear();
    this.expandedDigits.clear();
    this.sort();
  }

  private sort(): void {
    this.expandedSorted = [...this.expanded].sort((a, b) => a - b);
  }

  /** Expanded stored rows whose digit count (height) is not known yet. */
  *withoutDigits(): Iterable<number> {
    const count = this.cache.count;
    for (const e of this.expandedSorted) {
      if (e > count) break;
      if (this.digitsOf(e) === undefined) yield e;
    }
  }

  digitsOf(n: number): number | undefined {
    return this.expandedDigits.get(n) ?? this.cache.value(n)?.length ?? this.cache.summary(n)?.digits;
  }

  /** Records the digit count of an expanded row; true when it was not known before (its height changed). */
  learnDigits(n: number, digits: number): boolean {
    if (!this.expanded.has(n) || this.expandedDigits.get(n) === digits) return false;
    const known = this.digitsOf(n) === digits;
    this.expandedDigits.set(n, digits);
    return !known;
  }

  // ----------------------------------------------------------------------------------------------
  // Heights and offsets (row space: 0 = top of the first row)
  // ----------------------------------------------------------------------------------------------

  private boxHeight(n: number): number {
    const digits = this.digitsOf(n);
    if (digits === undefined) return BOX_MAX_H;
    const inner = Math.max(this.charW, this.viewportW - 2 * DETAIL_PAD_X - 2 * BOX_PAD_X - 2);
    const perLine = Math.max(1, Math.floor(inner / this.charW));
    const lines = Math.ceil(digits / perLine) + (digits > perLine ? 1 : 0);
    return Math.min(BOX_MAX_H, lines * LINE_H + 2 * BOX_PAD_Y + 2);
  }

  detailHeight(n: number): number {
    return 2 * DETAIL_PAD_Y + DETAIL_BAR_H + this.boxHeight(n);
  }

  /** Top of row n; top(count + 1) is the total height. */
  top(n: number): number {
    const count = this.cache.count;
    let y = (n - 1) * ROW_H;
    for (const e of this.expandedSorted) {
      if (e >= n || e > count) break;
      y += this.detailHeight(e);
    }
    return y;
  }

  rowHeight(n: number): number {
    return ROW_H + (this.expanded.has(n) ? this.detailHeight(n) : 0);
  }

  /** The row (with its detail) covering offset y, clamped to 1..count. */
  rowAt(y: number): number {
    const count = this.cache.count;
    if (count === 0) return 1;
    let extra = 0;
    for (const e of this.expandedSorted) {
      if (e > count) break;
      const eTop = (e - 1) * ROW_H + extra;
      if (y < eTop) break;
      const h = this.detailHeight(e);
      if (y < eTop + ROW_H + h) return e;
      extra += h;
    }
    return Math.min(count, Math.max(1, Math.floor((y - extra) / ROW_H) + 1));
  }
}
