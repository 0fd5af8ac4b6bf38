// What the user does in the table: keys on rows, click and double-click, copy (button, key, the workbench's
// Copy command), and "Jump to n".
import { format } from '../common/format';
import type { FromWebview } from '../common/protocol';
import type { Announcer } from './announcer';
import { byId } from './dom';
import type { Layout } from './layout';
import type { RowCache } from './rowCache';
import type { ViewText } from './viewConfig';
import type { VirtualTable } from './virtualTable';
import { MAX_JUMP_TEXT } from './vscodeApi';

export interface InteractionDeps {
  text: ViewText;
  cache: RowCache;
  layout: Layout;
  table: VirtualTable;
  announcer: Announcer;
  post: (msg: FromWebview) => void;
  saveState: (now?: boolean) => void;
}

export class Interaction {
  readonly toolbar = byId('table-toolbar');
  private readonly jumpBox = byId<HTMLInputElement>('jump');
  private readonly jumpGo = byId<HTMLButtonElement>('btn-jump');
  private readonly jumpHint = byId('jump-hint');
  private readonly tbody = byId<HTMLTableSectionElement>('rows');
  /** The jump box's text (saved with the UI state). */
  private jumpText = '';

  constructor(private readonly deps: InteractionDeps) {}

  get jumpValue(): string {
    return this.jumpText;
  }

  /** The jump box's text of a saved state. */
  set jumpValue(text: string) {
    this.jumpText = text;
  }

  wire(): void {
    const { table } = this.deps;
    this.jumpBox.value = this.jumpText;
    this.jumpBox.addEventListener('input', () => {
      this.jumpText = this.jumpBox.value.slice(0, MAX_JUMP_TEXT);
      this.deps.saveState();
    });
    this.jumpBox.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        this.jump();
      }
    });
    this.jumpGo.addEventListener('click', () => this.jump());

    table.scroller.addEventListener('keydown', (e) => this.onTableKey(e));
    this.tbody.addEventListener('click', (e) => {
      const n = rowFromEvent(e);
      if (n === undefined) return;
      const action = (e.target as Element).closest<HTMLElement>('[data-action]')?.dataset.action;
      if (action === 'toggle') {
        table.toggle(n);
        table.focusRow(n);
      } else if (action === 'copy') void this.copy(n);
      else if ((e.target as Element).closest('tr.row')) table.focusRow(n);
    });
    this.tbody.addEventListener('dblclick', (e) => {
      const n = rowFromEvent(e);
      if (n !== undefined && (e.target as Element).closest('tr.row') && !(e.target as Element).closest('[data-action]')) table.toggle(n);
    });
    this.tbody.addEventListener('focusin', (e) => {
      const t = e.target;
      if (!(t instanceof HTMLTableRowElement) || !t.classList.contains('row')) return;
      const n = Number(t.dataset.n);
      if (Number.isInteger(n)) table.onRowFocus(t, n);
    });
    // VS Code's own Copy command (Ctrl/Cmd+C routed by the workbench) copies the focused row's value.
    document.addEventListener('copy', (e) => {
      const t = document.activeElement;
      if (!(t instanceof HTMLTableRowElement) || !t.classList.contains('row')) return;
      if ((window.getSelection()?.toString() ?? '') !== '') return;
      const n = Number(t.dataset.n);
      const value = this.deps.cache.value(n);
      if (value !== undefined && e.clipboardData) {
        e.clipboardData.setData('text/plain', value);
        e.preventDefault();
        this.deps.announcer.say(this.copiedText(n, value));
      } else {
        void this.copy(n);
      }
    });
  }

  /** The stored count changed: the toolbar shows with rows, and the jump box says the range. */
  onCount(count: number): void {
    this.toolbar.hidden = count === 0;
    this.jumpBox.placeholder = count > 0 ? format(this.deps.text.s.jumpPlaceholder, this.deps.text.nf.plain(count)) : '';
  }

  /** The host's answer to a `copy` it did for the view. */
  onCopied(n: number, ok: boolean): void {
    const { s, nf } = this.deps.text;
    const value = this.deps.cache.value(n);
    this.deps.announcer.say(ok ? (value ? this.copiedText(n, value) : format(s.copiedTerm, nf.plain(n))) : format(s.copyFailed, nf.plain(n)));
  }

  private copiedText(n: number, value: string): string {
    const { s, nf } = this.deps.text;
    return value.length === 1 ? format(s.copiedOneDigit, nf.plain(n)) : format(s.copiedDigits, nf.plain(n), nf.int(value.length));
  }

  private async copy(n: number): Promise<void> {
    const { cache, announcer, text } = this.deps;
    if (n < 1 || n > cache.count) return;
    const value = await cache.requestValue(n);
    if (value === null) {
      announcer.say(format(text.s.termUnavailable, text.nf.plain(n)));
      return;
    }
    try {
      await navigator.clipboard.writeText(value);
      announcer.say(this.copiedText(n, value));
    } catch {
      this.deps.post({ type: 'copy', n }); // the host copies and answers with 'copied'
    }
  }

  private onTableKey(e: KeyboardEvent): void {
    const { cache, layout, table } = this.deps;
    const t = e.target as HTMLElement;
    const onRow = t instanceof HTMLTableRowElement && t.classList.contains('row');
    if (!onRow && t !== table.scroller) return;
    const n = onRow ? Number(t.dataset.n) : table.focusedN;
    const count = cache.count;
    if (!Number.isInteger(n) || count === 0) return;
    const pageRows = layout.pageRows;
    const mod = e.ctrlKey || e.metaKey;
    let handled = true;
    switch (e.key) {
      case 'ArrowDown':
        table.focusRow(n + 1);
        break;
      case 'ArrowUp':
        table.focusRow(n - 1);
        break;
      case 'PageDown':
        table.focusRow(n + pageRows);
        break;
      case 'PageUp':
        table.focusRow(n - pageRows);
        break;
      case 'Home':
        table.focusRow(1);
        break;
      case 'End':
        table.focusRow(count);
        break;
      case 'Enter':
      case ' ':
        table.toggle(n);
        table.focusRow(n);
        break;
      case 'ArrowRight':
        table.toggle(n, true);
        table.focusRow(n);
        break;
      case 'ArrowLeft':
        table.toggle(n, false);
        table.focusRow(n);
        break;
      case 'c':
      case 'C':
        if (e.altKey || e.shiftKey || (mod && (window.getSelection()?.toString() ?? '') !== '')) {
          handled = false;
          break;
        }
        void this.copy(n);
        break;
      default:
        handled = false;
    }
    if (handled) {
      e.preventDefault();
      e.stopPropagation();
    }
  }

  private jump(): void {
    const { cache, layout, table, announcer, text } = this.deps;
    const { s, nf } = text;
    const input = this.jumpBox.value.trim();
    const setHint = (hint: string, invalid: boolean) => {
      this.jumpHint.textContent = hint;
      this.jumpBox.setAttribute('aria-invalid', String(invalid));
      if (hint) announcer.say(hint);
    };
    const count = cache.count;
    if (count === 0) {
      setHint(s.jumpNoTerms, false);
      return;
    }
    if (!/^\d{1,9}$/.test(input) || Number(input) < 1) {
      setHint(format(s.jumpInvalid, nf.int(count)), true);
      return;
    }
    let n = Number(input);
    if (n > count) {
      setHint(format(s.jumpBeyond, nf.int(n), nf.int(count)), false);
      n = count;
    } else {
      setHint('', false);
    }
    // The hint may have wrapped the toolbar onto another line (or unwrapped it), resizing the rows' viewport
    // before the ResizeObserver tells: measure now, or the target row may end up below the bottom edge.
    layout.measure();
    table.focusRow(n, 'top');
  }
}

/** The term index of the row (or detail row) an event happened in. */
function rowFromEvent(e: Event): number | undefined {
  const t = e.target;
  if (!(t instanceof Element)) return undefined;
  const tr = t.closest<HTMLElement>('tr.row, tr.detail');
  const n = Number(tr?.dataset.n ?? tr?.dataset.detailFor);
  return Number.isInteger(n) && n >= 1 ? n : undefined;
}
