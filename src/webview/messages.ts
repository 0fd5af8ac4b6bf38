// Messages from the extension host (ToWebview), each handed to the part it concerns.
import type { ToWebview } from '../common/protocol';
import type { Interaction } from './interaction';
import type { JobCell } from './jobCell';
import type { Layout } from './layout';
import type { RowCache } from './rowCache';
import type { VirtualTable } from './virtualTable';

export interface HostMessagesDeps {
  cache: RowCache;
  layout: Layout;
  table: VirtualTable;
  jobCell: JobCell;
  interaction: Interaction;
  saveState: (now?: boolean) => void;
}

export class HostMessages {
  /** The host answered `ready` (the job and the count are known). */
  private initialized = false;

  constructor(private readonly deps: HostMessagesDeps) {}

  get isInitialized(): boolean {
    return this.initialized;
  }

  /** Listens to the host; a message that cannot be handled is logged to the webview's console and dropped. */
  listen(): void {
    window.addEventListener('message', (e: MessageEvent<unknown>) => {
      try {
        this.handle(e.data);
      } catch (err) {
        console.error('terms view: bad message', err);
      }
    });
  }

  handle(data: unknown): void {
    if (typeof data !== 'object' || data === null) return;
    const { cache, layout, table, jobCell, interaction } = this.deps;
    const msg = data as ToWebview;
    switch (msg.type) {
      case 'init':
        this.initialized = true;
        this.setCount(msg.count);
        jobCell.setJob(msg.job, msg.now, msg.advice);
        table.restoreScroll();
        break;
      case 'job':
        jobCell.setJob(msg.job, msg.now, msg.advice);
        break;
      case 'count':
        if (msg.count > cache.count) {
          this.setCount(msg.count);
          jobCell.render();
          if (table.hasPendingRestore && this.initialized) table.restoreScroll();
          else table.scheduleRender();
        }
        break;
      case 'rows': {
        const { rows, countChanged } = cache.onRows(msg);
        let heightsChanged = false;
        for (const row of rows) if (layout.learnDigits(row.n, row.digits)) heightsChanged = true;
        if (countChanged) this.countChanged();
        if (heightsChanged) table.keepPosition();
        if (table.hasPendingRestore && this.initialized && cache.count > 0) table.restoreScroll();
        else table.scheduleRender();
        break;
      }
      case 'term':
        // The digit count is learnt before the value is cached: a height known from the row's summary is no change.
        if (typeof msg.value === 'string' && layout.learnDigits(msg.n, msg.value.length)) table.keepPosition();
        cache.onTerm(msg.n, msg.value);
        if (layout.isExpanded(msg.n)) table.scheduleRender();
        break;
      case 'copied':
        interaction.onCopied(msg.n, msg.ok);
        break;
      case 'reset':
        cache.clear();
        table.reset();
        this.setCount(0);
        jobCell.render();
        table.renderNow();
        this.deps.saveState(true);
        break;
    }
  }

  private setCount(count: number): void {
    if (this.deps.cache.setCount(count)) this.countChanged();
  }

  /** What follows from a new count outside the table (which reads it as it renders). */
  private countChanged(): void {
    this.deps.interaction.onCount(this.deps.cache.count);
    this.deps.jobCell.updateButtons();
  }
}
