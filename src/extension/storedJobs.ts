// "Manage Stored Jobs…": the current job and every archive a Start over left (state/archive-*), with what each
// holds and how much disk it takes; open its folder, export from it, or delete an archive. Everything is read
// with fs.promises and the store's async reader: the extension host never waits on the disk.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { exportCommand } from './commands';
import { formatLocalTime } from '../common/format';
import { formatBytes } from './format';
import type { JobController } from './jobController';
import { listStoredJobs, storedJobDetail, type StoredJob } from './storedJobsList';

type JobPick = vscode.QuickPickItem & { job: StoredJob };
type Action = 'open' | 'export' | 'delete';

const OPEN_BUTTON: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('folder-opened'), tooltip: 'Open Folder' };
const EXPORT_BUTTON: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('export'), tooltip: 'Export from it' };
const DELETE_BUTTON: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('trash'), tooltip: 'Delete' };

function toPick(j: StoredJob): JobPick {
  return {
    label: j.current ? '$(database) Current job' : `$(archive) Archived ${formatLocalTime(j.date)}`,
    description: storedJobDetail(j),
    detail: j.current ? j.dir : path.basename(j.dir),
    buttons: j.current ? [OPEN_BUTTON, EXPORT_BUTTON] : [OPEN_BUTTON, EXPORT_BUTTON, DELETE_BUTTON],
    job: j,
  };
}

/** The first QuickPick: a job (item) and, through an item button, its action; undefined when dismissed. */
function pickJob(jobs: StoredJob[]): Promise<{ job: StoredJob; action?: Action } | undefined> {
  return new Promise((resolve) => {
    const qp = vscode.window.createQuickPick<JobPick>();
    qp.title = 'Tangent Numbers: Stored Jobs';
    qp.placeholder = 'Choose a job (or use its buttons: Open Folder, Export, Delete)';
    qp.items = jobs.map(toPick);
    let result: { job: StoredJob; action?: Action } | undefined;
    qp.onDidTriggerItemButton((e) => {
      const action: Action = e.button === OPEN_BUTTON ? 'open' : e.button === EXPORT_BUTTON ? 'export' : 'delete';
      result = { job: e.item.job, action };
      qp.hide();
    });
    qp.onDidAccept(() => {
      const item = qp.selectedItems[0];
      if (item) result = { job: item.job };
      qp.hide();
    });
    qp.onDidHide(() => {
      qp.dispose();
      resolve(result);
    });
    qp.show();
  });
}

async function pickAction(job: StoredJob): Promise<Action | undefined> {
  const items: (vscode.QuickPickItem & { action: Action })[] = [
    { label: '$(folder-opened) Open Folder', action: 'open' },
    { label: '$(export) Export…', description: job.terms > 0 ? `from its ${job.terms} terms` : 'it holds no terms', action: 'export' },
  ];
  if (!job.current) items.push({ label: '$(trash) Delete', description: `free ${formatBytes(job.bytes)}`, action: 'delete' });
  const pick = await vscode.window.showQuickPick(items, { title: `Tangent Numbers: ${job.current ? 'current job' : path.basename(job.dir)}` });
  return pick?.action;
}

/** Deletes an archive after a modal confirmation naming its size; never the current job's state. */
export async function deleteArchive(controller: JobController, job: StoredJob, log: vscode.LogOutputChannel, confirmed = false): Promise<boolean> {
  const stateDir = path.resolve(controller.stateDir);
  const dir = path.resolve(job.dir);
  // Only a direct archive-* child of this workspace's state directory, never the state itself.
  if (job.current || path.dirname(dir) !== stateDir || !path.basename(dir).startsWith('archive-')) {
    void vscode.window.showWarningMessage('Tangent Numbers: only archives of earlier jobs can be deleted here, not the current job.');
    return false;
  }
  if (!confirmed) {
    const answer = await vscode.window.showWarningMessage(
      `Delete the archived job ${path.basename(dir)} (${job.terms} terms, ${formatBytes(job.bytes)})? This cannot be undone.`,
      { modal: true },
      'Delete',
    );
    if (answer !== 'Delete') return false;
  }
  await fs.promises.rm(dir, { recursive: true, force: true });
  log.info(`deleted the archived job ${dir} (${job.terms} terms, ${job.bytes} bytes)`);
  void vscode.window.showInformationMessage(`Tangent Numbers: deleted ${path.basename(dir)} (freed ${formatBytes(job.bytes)}).`);
  return true;
}

export interface ManageArgs {
  /** Programmatic use (tests, keybindings): the archive's folder name or 'current', and the action. */
  job?: unknown;
  action?: unknown;
  /** Skip the modal confirmation of a delete (programmatic use only). */
  confirmed?: unknown;
}

/** The command. Returns the listed jobs (for tests and callers that want them). */
export async function manageStoredJobsCommand(controller: JobController, log: vscode.LogOutputChannel, args?: ManageArgs): Promise<StoredJob[]> {
  const jobs = await listStoredJobs(controller.stateDir);
  if (args?.job === undefined && args?.action === 'list') return jobs;
  if (jobs.length === 0) {
    void vscode.window.showInformationMessage('Tangent Numbers: no job is stored in this workspace yet.');
    return jobs;
  }
  let chosen: { job: StoredJob; action?: Action } | undefined;
  if (typeof args?.job === 'string') {
    const job = jobs.find((j) => (args.job === 'current' ? j.current : path.basename(j.dir) === args.job));
    if (!job) {
      void vscode.window.showErrorMessage(`Tangent Numbers: no stored job "${args.job}".`);
      return jobs;
    }
    const action = args.action === 'open' || args.action === 'export' || args.action === 'delete' ? args.action : undefined;
    chosen = { job, action };
  } else {
    chosen = await pickJob(jobs);
  }
  if (!chosen) return jobs;
  const action = chosen.action ?? (await pickAction(chosen.job));
  const job = chosen.job;
  switch (action) {
    case 'open':
      // revealFileInOS needs a desktop; in a browser (code-server) opening the folder's URI is what works.
      await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(job.dir)).then(undefined, () => vscode.env.openExternal(vscode.Uri.file(job.dir)));
      break;
    case 'export':
      await exportCommand(controller, undefined, job.current ? undefined : job.dir);
      break;
    case 'delete':
      await deleteArchive(controller, job, log, args?.confirmed === true);
      break;
    default:
      break;
  }
  return jobs;
}
