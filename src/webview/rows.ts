// The table's row elements: a row per term and a detail row under an expanded one, reused as the view scrolls
// (a pool of each), and filled from the caches. Every text comes from ViewStrings.
import { format } from '../common/format';
import { el } from './dom';
import { DETAIL_BAR_H, DETAIL_PAD_Y, type Layout } from './layout';
import type { RowCache } from './rowCache';
import type { ViewText } from './viewConfig';

const CHEVRON = '<svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true"><path fill="currentColor" d="M6 4l4 4-4 4-.7-.7L8.6 8 5.3 4.7z"/></svg>';
const COPY_ICON =
  '<svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true"><path fill="currentColor" d="M4 4V2.5A1.5 1.5 0 0 1 5.5 1h7A1.5 1.5 0 0 1 14 2.5v7a1.5 1.5 0 0 1-1.5 1.5H11v1.5A1.5 1.5 0 0 1 9.5 14h-7A1.5 1.5 0 0 1 1 12.5v-7A1.5 1.5 0 0 1 2.5 4zm1 0h4.5A1.5 1.5 0 0 1 11 5.5V10h1.5a.5.5 0 0 0 .5-.5v-7a.5.5 0 0 0-.5-.5h-7a.5.5 0 0 0-.5.5zM2.5 5a.5.5 0 0 0-.5.5v7a.5.5 0 0 0 .5.5h7a.5.5 0 0 0 .5-.5v-7a.5.5 0 0 0-.5-.5z"/></svg>';
/** Between the two ends of a long value, and in place of the digits of a row not loaded yet. */
const ELLIPSIS = '…';

export interface RowEl {
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

export interface DetailEl {
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

export class RowElements {
  private readonly rowPool: RowEl[] = [];
  private readonly detailPool: DetailEl[] = [];

  constructor(
    private readonly text: ViewText,
    private readonly cache: RowCache,
    private readonly layout: Layout,
  ) {}

  /** A row element from the pool, or a new one. */
  row(): RowEl {
    return this.rowPool.pop() ?? this.createRow();
  }

  detail(): DetailEl {
    return this.detailPool.pop() ?? this.createDetail();
  }

  /** Takes back a row element that left the rendered range. */
  releaseRow(r: RowEl): void {
    r.tr.remove();
    this.rowPool.push(r);
  }

  releaseDetail(d: DetailEl): void {
    d.tr.remove();
    this.detailPool.push(d);
  }

  private createRow(): RowEl {
    const tr = el('tr', 'row');
    tr.tabIndex = -1;
    const cn = el('td', 'c-n');
    const twisty = el('button', 'twisty');
    twisty.type = 'button';
    twisty.tabIndex = -1;
    twisty.dataset.action = 'toggle';
    twisty.setAttribute('aria-hidden', 'true');
    twisty.title = this.text.s.rowToggleTitle;
    twisty.innerHTML = CHEVRON;
    const nText = el('span', 'n');
    cn.append(twisty, nText);
    const cd = el('td', 'c-digits');
    const cv = el('td', 'c-value');
    const value = el('span', 'value');
    const head = el('span', 'head');
    const ell = el('span', 'ell', ELLIPSIS);
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

  private createDetail(): DetailEl {
    const { s } = this.text;
    const tr = el('tr', 'detail');
    const td = el('td', 'detail-cell');
    td.colSpan = 3;
    const bar = el('div', 'detail-bar');
    const title = el('span', 'detail-title');
    const copy = el('button', 'btn secondary small', s.detailCopy);
    copy.type = 'button';
    copy.dataset.action = 'copy';
    const collapse = el('button', 'btn secondary small', s.detailCollapse);
    collapse.type = 'button';
    collapse.dataset.action = 'toggle';
    bar.append(title, copy, collapse);
    const box = el('div', 'full');
    box.tabIndex = 0;
    td.append(bar, box);
    tr.append(td);
    return { tr, td, title, copy, collapse, box, n: 0, shown: 'none', height: -1 };
  }

  /** Shows row n in r (a no-op when r already shows it as it is). */
  fillRow(r: RowEl, n: number): void {
    const { s, nf } = this.text;
    const summary = this.cache.summary(n);
    const open = this.layout.isExpanded(n);
    const endDigits = this.layout.endDigits;
    const sig = `${summary ? 's' : 'p'}${open ? 'o' : 'c'}${endDigits}`;
    if (r.n === n && r.sig === sig) return;
    if (r.n !== n) {
      r.tr.dataset.n = String(n);
      // The row's context menu (package.json "webview/context": Copy T(n), Copy as b-file line, Export from here).
      r.tr.dataset.vscodeContext = JSON.stringify({ webviewSection: 'row', n, preventDefaultContextMenuItems: true });
      r.tr.setAttribute('aria-rowindex', String(n + 1));
      r.nText.textContent = nf.plain(n);
      r.copy.title = format(s.rowCopyTitle, nf.plain(n));
    }
    r.n = n;
    r.sig = sig;
    r.tr.setAttribute('aria-expanded', String(open));
    r.tr.classList.toggle('expanded', open);
    if (summary) {
      r.tr.classList.remove('loading');
      r.digits.textContent = nf.int(summary.digits);
      // Short values come whole (tail ''); show them whole when they fit, else both ends.
      const whole = summary.tail === '' && summary.head.length <= this.layout.valueChars;
      r.head.textContent = whole ? summary.head : summary.head.slice(0, endDigits);
      r.tail.textContent = whole ? '' : (summary.tail || summary.head).slice(-endDigits);
      r.ell.hidden = whole;
    } else {
      r.tr.classList.add('loading');
      r.digits.textContent = '';
      r.head.textContent = ELLIPSIS;
      r.tail.textContent = '';
      r.ell.hidden = true;
    }
  }

  /** Shows T(n) in full in d, or that it is loading (and asks for it) or missing. */
  fillDetail(d: DetailEl, n: number): void {
    const { s, nf } = this.text;
    const value = this.cache.value(n);
    const digits = this.layout.digitsOf(n);
    const index = nf.plain(n);
    if (d.n !== n) {
      d.tr.dataset.detailFor = String(n);
      d.tr.id = `detail-${n}`;
      d.copy.title = format(s.detailCopyTitle, index);
      d.box.setAttribute('aria-label', format(s.detailValueLabel, index));
      d.shown = 'none';
    }
    d.n = n;
    d.title.textContent =
      digits === undefined ? format(s.detailTitle, index) : digits === 1 ? format(s.detailTitleOneDigit, index) : format(s.detailTitleDigits, index, nf.int(digits));
    const h = this.layout.detailHeight(n);
    if (d.height !== h) {
      d.height = h;
      d.td.style.height = `${h}px`;
      d.box.style.height = `${h - 2 * DETAIL_PAD_Y - DETAIL_BAR_H}px`;
    }
    const want = value !== undefined ? 'value' : this.cache.isMissing(n) ? 'missing' : 'loading';
    if (d.shown !== want) {
      d.shown = want;
      d.box.classList.toggle('pending', want !== 'value');
      d.box.textContent = value ?? (want === 'missing' ? s.detailMissing : s.detailLoading);
      d.box.scrollTop = 0;
    }
    if (value === undefined && want === 'loading') void this.cache.requestValue(n);
  }
}
