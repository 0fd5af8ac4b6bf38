// Page object for the "Terms" webview view in the real workbench (outer tests). Reads what the view shows
// from its DOM (src/webview/: rows.ts, virtualTable.ts, interaction.ts): rows `tr.row[data-n]`, detail rows `tr[data-detail-for] .full`,
// `#scroller`, `#jump` + `#btn-jump`, `#job-state`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Frame, FrameLocator } from 'playwright-core';
import type { VSCodeSession } from './codeServer';

export const VIEW_TITLE = 'Terms';

export interface RowInfo {
  n: number;
  /** Digit count as shown (formatted, e.g. "18,886"). */
  digits: string;
  head: string;
  tail: string;
  /** The ellipsis between head and tail is shown (the value is abbreviated). */
  abbreviated: boolean;
  loading: boolean;
  expanded: boolean;
  /** The row lies (at least half) inside the scroller's viewport, below the sticky header cells. */
  visible: boolean;
}

export interface ViewState {
  scrollTop: number;
  scrollMax: number;
  /** n of the first row at least half visible. */
  firstVisible: number;
  lastVisible: number;
  /** n of the detail rows shown, in DOM order. */
  details: number[];
}

export interface BigReference {
  n: number;
  digits: number;
  head: string;
  tail: string;
  sha256: string;
}

export function bigReferences(fixtures: string): BigReference[] {
  return (JSON.parse(fs.readFileSync(path.join(fixtures, 'reference-terms.json'), 'utf8')) as { terms: BigReference[] }).terms;
}

const fmtInt = (n: number) => n.toLocaleString('en-US');

export class TermsView {
  /** `title`: the view's header as shown, which is translated in another display language. */
  constructor(private readonly session: VSCodeSession, private readonly title = VIEW_TITLE) {}

  /** Frame locator of the view's content (auto-waiting, follows re-creation of the webview). */
  get frame(): FrameLocator {
    return this.session.webviewFrame(this.title);
  }

  /** The view's host frame (VS Code's webview index.html) and content frame, as Frames (for evaluate). */
  async frames(timeoutMs = 30_000): Promise<{ host: Frame; inner: Frame }> {
    const hostEl = this.session.page.locator(`vscode-webview=${this.title}`).first();
    await hostEl.waitFor({ state: 'attached', timeout: timeoutMs });
    const host = await (await hostEl.elementHandle()).contentFrame();
    if (!host) throw new Error('the Terms webview has no host frame');
    const innerEl = host.locator('#active-frame');
    await innerEl.waitFor({ state: 'attached', timeout: timeoutMs });
    const inner = await (await innerEl.elementHandle()).contentFrame();
    if (!inner) throw new Error('the Terms webview has no content frame');
    await inner.waitForFunction(() => !!document.getElementById('scroller'), undefined, { timeout: timeoutMs });
    return { host, inner };
  }

  async inner(): Promise<Frame> {
    return (await this.frames()).inner;
  }

  /** Opens the view through the command palette and waits for its first rows with data. */
  async open(): Promise<void> {
    await this.session.runCommand('Tangent Numbers: Show Terms');
    await this.waitForRows();
  }

  /** Whether a Terms webview is shown at all. */
  async isShown(): Promise<boolean> {
    return (await this.session.page.locator(`vscode-webview=${this.title}`).count()) > 0;
  }

  /** Waits until every row in the viewport shows its data (no placeholder) and the rendering settled. */
  async waitForRows(timeoutMs = 30_000): Promise<void> {
    const inner = await this.frames(timeoutMs).then((f) => f.inner);
    await inner.waitForFunction(
      () => {
        const sc = document.getElementById('scroller');
        const th = document.querySelector('#terms th');
        if (!sc || !th || sc.hidden) return false;
        // The header cells are sticky: rows under them are hidden.
        const top = Math.max(sc.getBoundingClientRect().top, th.getBoundingClientRect().bottom);
        const bottom = sc.getBoundingClientRect().bottom;
        const rows = Array.from(document.querySelectorAll<HTMLElement>('tr.row[data-n]')).filter((r) => {
          const b = r.getBoundingClientRect();
          return b.bottom > top + 1 && b.top < bottom - 1;
        });
        return rows.length > 0 && rows.every((r) => !r.classList.contains('loading'));
      },
      undefined,
      { timeout: timeoutMs, polling: 50 },
    );
    await settle(inner);
  }

  async rows(): Promise<RowInfo[]> {
    const inner = await this.inner();
    return inner.evaluate(() => {
      const sc = document.getElementById('scroller')!;
      const top = Math.max(sc.getBoundingClientRect().top, document.querySelector('#terms th')!.getBoundingClientRect().bottom);
      const bottom = sc.getBoundingClientRect().bottom;
      return Array.from(document.querySelectorAll<HTMLElement>('tr.row[data-n]')).map((r) => {
        const b = r.getBoundingClientRect();
        const visibleH = Math.min(b.bottom, bottom) - Math.max(b.top, top);
        const ell = r.querySelector<HTMLElement>('.ell')!;
        return {
          n: Number(r.dataset.n),
          digits: r.querySelector('.c-digits')!.textContent ?? '',
          head: r.querySelector('.head')!.textContent ?? '',
          tail: r.querySelector('.tail')!.textContent ?? '',
          abbreviated: !ell.hidden,
          loading: r.classList.contains('loading'),
          expanded: r.getAttribute('aria-expanded') === 'true',
          visible: visibleH >= b.height / 2,
        };
      });
    });
  }

  async visibleRows(): Promise<RowInfo[]> {
    return (await this.rows()).filter((r) => r.visible);
  }

  async state(): Promise<ViewState> {
    const inner = await this.inner();
    return inner.evaluate(() => {
      const sc = document.getElementById('scroller')!;
      const top = Math.max(sc.getBoundingClientRect().top, document.querySelector('#terms th')!.getBoundingClientRect().bottom);
      const bottom = sc.getBoundingClientRect().bottom;
      const visible = Array.from(document.querySelectorAll<HTMLElement>('tr.row[data-n]'))
        .filter((r) => {
          const b = r.getBoundingClientRect();
          return Math.min(b.bottom, bottom) - Math.max(b.top, top) >= b.height / 2;
        })
        .map((r) => Number(r.dataset.n));
      return {
        scrollTop: sc.scrollTop,
        scrollMax: sc.scrollHeight - sc.clientHeight,
        firstVisible: visible[0] ?? 0,
        lastVisible: visible.at(-1) ?? 0,
        details: Array.from(document.querySelectorAll<HTMLElement>('tr[data-detail-for]')).map((d) => Number(d.dataset.detailFor)),
      };
    });
  }

  /** Types n into "Jump to n", presses Go and waits until row n is rendered with data. */
  async jumpTo(n: number): Promise<void> {
    await this.frame.locator('#jump').fill(String(n));
    await this.frame.locator('#btn-jump').click();
    await this.frame.locator(`tr.row[data-n="${n}"]:not(.loading)`).waitFor({ timeout: 30_000 });
    await this.waitForRows();
  }

  /** Expands row n (it must be rendered) and returns the full value the detail row shows. */
  async expand(n: number, timeoutMs = 30_000): Promise<string> {
    const row = this.frame.locator(`tr.row[data-n="${n}"]`);
    if ((await row.getAttribute('aria-expanded')) !== 'true') await row.locator('.twisty').click();
    return this.fullValue(n, timeoutMs);
  }

  async collapse(n: number): Promise<void> {
    const row = this.frame.locator(`tr.row[data-n="${n}"]`);
    if ((await row.getAttribute('aria-expanded')) === 'true') await row.locator('.twisty').click();
    await this.frame.locator(`tr[data-detail-for="${n}"]`).waitFor({ state: 'detached' });
  }

  /** Text of the full value in row n's detail, once loaded. */
  async fullValue(n: number, timeoutMs = 30_000): Promise<string> {
    const full = this.frame.locator(`tr[data-detail-for="${n}"] .full:not(.pending)`);
    await full.waitFor({ timeout: timeoutMs });
    return (await full.textContent()) ?? '';
  }

  /** Posts messages to the extension host exactly as the view's `acquireVsCodeApi().postMessage` does:
   *  from the content frame, through `__vscode_post_message__('onmessage', {message})` of its host frame
   *  (VS Code's webview pre/index.html). The content frame has no `window.parent` (VS Code deletes it), so
   *  the host frame is found from `window.top`. */
  async forgeMessages(messages: unknown[]): Promise<void> {
    const inner = await this.inner();
    const sent = await inner.evaluate((msgs) => {
      let host: (Window & { __vscode_post_message__?: (channel: string, data: unknown) => void }) | undefined;
      for (const w of Array.from({ length: window.top!.frames.length }, (_, i) => window.top!.frames[i])) {
        try {
          if (Array.from({ length: w.frames.length }, (_, i) => w.frames[i]).includes(window)) host = w;
        } catch {
          /* a cross-origin frame */
        }
      }
      if (typeof host?.__vscode_post_message__ !== 'function') throw new Error('no webview host frame with __vscode_post_message__');
      for (const message of msgs) host.__vscode_post_message__('onmessage', { message });
      return msgs.length;
    }, messages);
    if (sent !== messages.length) throw new Error(`sent ${sent} of ${messages.length} messages`);
  }
}

/** Two animation frames: the view renders in requestAnimationFrame. */
export async function settle(frame: Frame): Promise<void> {
  await frame.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
}

/** Checks a row against the reference value; returns a list of problems (empty when it matches). */
export function rowProblems(row: RowInfo, value: string): string[] {
  const p: string[] = [];
  if (row.loading) p.push(`T(${row.n}) still shows a placeholder`);
  if (row.digits !== fmtInt(value.length)) p.push(`T(${row.n}) digits "${row.digits}" ≠ ${fmtInt(value.length)}`);
  if (!row.abbreviated) {
    if (row.head !== value || row.tail !== '') p.push(`T(${row.n}) shown whole as "${row.head}${row.tail}" ≠ ${value}`);
  } else {
    if (row.head.length < 3 || !value.startsWith(row.head)) p.push(`T(${row.n}) head "${row.head}" is not a prefix of ${value.slice(0, 30)}…`);
    if (row.tail.length < 3 || !value.endsWith(row.tail)) p.push(`T(${row.n}) tail "${row.tail}" is not a suffix of …${value.slice(-30)}`);
    if (row.head.length + row.tail.length >= value.length) p.push(`T(${row.n}) is abbreviated although head and tail cover it`);
  }
  return p;
}

/** Checks a row of a big term against reference-terms.json (24-digit head and tail, digit count). */
export function bigRowProblems(row: RowInfo, ref: BigReference): string[] {
  const p: string[] = [];
  if (row.loading) p.push(`T(${row.n}) still shows a placeholder`);
  if (row.digits !== fmtInt(ref.digits)) p.push(`T(${row.n}) digits "${row.digits}" ≠ ${fmtInt(ref.digits)}`);
  if (!row.abbreviated) p.push(`T(${row.n}) is not abbreviated`);
  if (row.head.length < 3 || !ref.head.startsWith(row.head)) p.push(`T(${row.n}) head "${row.head}" is not a prefix of ${ref.head}`);
  if (row.tail.length < 3 || !ref.tail.endsWith(row.tail)) p.push(`T(${row.n}) tail "${row.tail}" is not a suffix of ${ref.tail}`);
  return p;
}
