// The Terms view's script (browser, no Node): the job cell and a virtualized table of T(n). This file only wires
// the parts together and starts them; each part owns its state:
//   viewConfig   the texts and language the host wrote into the HTML (the script has no words of its own)
//   vscodeApi    messages to the host, and the UI state VS Code keeps across hide/show and reloads
//   rowCache     the stored count, pages of row summaries and full values (LRU), requests in flight
//   layout       row heights and offsets, expanded rows        rows          row elements (pooled, filled)
//   virtualTable rendering, scroll anchor, restore             jobCell       the job's cell and its buttons
//   interaction  keys, click, copy, jump                       messages      messages from the host
import { Announcer } from './announcer';
import { byId } from './dom';
import { Interaction } from './interaction';
import { JobCell } from './jobCell';
import { Layout, ROW_H } from './layout';
import { HostMessages } from './messages';
import { RowCache } from './rowCache';
import { RowElements } from './rows';
import { readViewConfig } from './viewConfig';
import { VirtualTable } from './virtualTable';
import { VsCodeApi } from './vscodeApi';

const text = readViewConfig();
const api = new VsCodeApi();
const post = api.post.bind(api);
const saveState = (now?: boolean) => api.save(now);
const announcer = new Announcer(byId('announcer'));

// A lost request renders again, which asks anew (the table is made just below, before any request goes out).
const cache = new RowCache(post, () => table.scheduleRender());
const layout = new Layout(cache, byId('scroller'), byId('terms').querySelector('thead')!);
const rows = new RowElements(text, cache, layout);
const table: VirtualTable = new VirtualTable({
  text,
  cache,
  layout,
  rows,
  announcer,
  saveState,
  emptyHintAllowed: () => messages.isInitialized && jobCell.state !== 'none',
});
const interaction = new Interaction({ text, cache, layout, table, announcer, post, saveState });
const jobCell = new JobCell({
  text,
  announcer,
  post,
  count: () => cache.count,
  scroller: table.scroller,
  toolbar: interaction.toolbar,
  renderTable: () => table.scheduleRender(),
});
const messages = new HostMessages({ cache, layout, table, jobCell, interaction, saveState });

const saved = api.savedState();
if (saved) {
  table.applySaved(saved);
  interaction.jumpValue = saved.jumpValue;
}
api.setStateSource(() => ({ ...table.state(), jumpValue: interaction.jumpValue }));

layout.measure();
jobCell.wire();
table.wire();
interaction.wire();
messages.listen();
// The view's document is destroyed when it is hidden (no retained context): save on the way out too.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden') saveState(true);
});
window.addEventListener('pagehide', () => saveState(true));

// Start: ask for the job and, in the same breath, for the rows the restored position shows.
post({ type: 'ready' });
const first = table.firstVisibleN;
cache.prefetch(first, first + Math.ceil((window.innerHeight || 600) / ROW_H));
