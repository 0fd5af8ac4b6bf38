// The webview's side of VS Code: typed messages to the host, and the UI state VS Code keeps for the view.
import { TERMS_MAX_N, type FromWebview } from '../common/protocol';
import { MAX_EXPANDED, ROW_H } from './layout';

interface WebviewApi {
  postMessage(msg: FromWebview): void;
  getState(): unknown;
  setState(state: UiState): void;
}
declare function acquireVsCodeApi(): WebviewApi;

/** What the view remembers across hide/show and reloads: UI state only, never term data. */
export interface UiState {
  scrollTop: number;
  firstVisibleN: number;
  expanded: number[];
  jumpValue: string;
}

/** Longest text kept from the jump box. */
export const MAX_JUMP_TEXT = 20;

export class VsCodeApi {
  /** acquireVsCodeApi may be called once per document. */
  private readonly api = acquireVsCodeApi();
  private saveTimer: number | undefined;
  private source: (() => UiState) | undefined;

  post(msg: FromWebview): void {
    this.api.postMessage(msg);
  }

  /** The state saved by an earlier document of this view, checked field by field; undefined when there is none. */
  savedState(): UiState | undefined {
    const s = this.api.getState();
    if (typeof s !== 'object' || s === null) return undefined;
    const st = s as Partial<Record<keyof UiState, unknown>>;
    const int = (v: unknown, min: number): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= TERMS_MAX_N * ROW_H * 2 ? v : undefined);
    const expanded: number[] = [];
    if (Array.isArray(st.expanded)) {
      for (const n of st.expanded.slice(0, MAX_EXPANDED)) if (int(n, 1) !== undefined && (n as number) <= TERMS_MAX_N) expanded.push(n as number);
    }
    return {
      scrollTop: int(st.scrollTop, 0) ?? 0,
      firstVisibleN: Math.min(TERMS_MAX_N, int(st.firstVisibleN, 1) ?? 1),
      expanded,
      jumpValue: typeof st.jumpValue === 'string' ? st.jumpValue.slice(0, MAX_JUMP_TEXT) : '',
    };
  }

  /** Where save() reads the current state from. */
  setStateSource(source: () => UiState): void {
    this.source = source;
  }

  /** Saves the UI state now, or (the default) at most once per 100 ms. */
  save(now = false): void {
    const save = () => {
      this.saveTimer = undefined;
      if (this.source) this.api.setState(this.source());
    };
    if (now) {
      if (this.saveTimer !== undefined) window.clearTimeout(this.saveTimer);
      save();
    } else if (this.saveTimer === undefined) {
      this.saveTimer = window.setTimeout(save, 100);
    }
  }
}
