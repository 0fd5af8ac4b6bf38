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

// The item buttons, made for each run of the command: no translated text is computed at module load.
interface Buttons {
  open: vscode.QuickInputButton;
  export: vscode.QuickInputButton;
  delete: vscode.QuickInputButton;
}

function makeButtons(): Buttons {
  return {
    open: { iconPath: new vscode.ThemeIcon('folder-opened'), tooltip: vscode.l10n.t('Open Folder') },
    export: { iconPath: new vscode.ThemeIcon('export'), tooltip: vscode.l10n.t('Export from it') },
    delete: { iconPath: new vscode.ThemeIcon('trash'), tooltip: vscode.l10n.t('Delete') },
  };
}

function toPick(j: StoredJob, b: Buttons): JobPick {
  return {
    label: j.current ? `$(database) ${vscode.l10n.t('Current job')}` : `$(archive) ${vscode.l10n.t('Archived {0}', formatLocalTime(j.date))}`,
    description: storedJobDetail(j, vscode.l10n, vscode.env.language),
    detail: j.current ? j.dir : path.basename(j.dir),
    buttons: j.current ? [b.open, b.export] : [b.open, b.export, b.delete],
    job: j,
  };
}

/** The first QuickPick: a job (item) and, through an item button, its action; undefined when dismissed. */
function pickJob(jobs: StoredJob[]): Promise<{ job: StoredJob; action?: Action } | undefined> {
  return new Promise((resolve) => {
    const buttons = makeButtons();
    const qp = vscode.window.createQuickPick<JobPick>();
    qp.title = vscode.l10n.t('Tangent Numbers: Stored Jobs');
    qp.placeholder = vscode.l10n.t('Choose a job (or use its buttons: Open Folder, Export, Delete)');
    qp.items = jobs.map((j) => toPick(j, buttons));
    let result: { job: StoredJob; action?: Action } | undefined;
    qp.onDidTriggerItemButton((e) => {
      const action: Action = e.button === buttons.open ? 'open' : e.button === buttons.export ? 'export' : 'delete';
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
    { label: `$(folder-opened) ${vscode.l10n.t('Open Folder')}`, action: 'open' },
    {
      label: `$(export) ${vscode.l10n.t('Export…')}`,
      description: job.terms === 0 ? vscode.l10n.t('it holds no terms') : job.terms === 1 ? vscode.l10n.t('from its {0} term', job.terms) : vscode.l10n.t('from its {0} terms', job.terms),
      action: 'export',
    },
  ];
  if (!job.current) items.push({ label: `$(trash) ${vscode.l10n.t('Delete')}`, description: vscode.l10n.t('free {0}', formatBytes(job.bytes)), action: 'delete' });
  const pick = await vscode.window.showQuickPick(items, {
    title: job.current ? vscode.l10n.t('Tangent Numbers: current job') : vscode.l10n.t('Tangent Numbers: {0}', path.basename(job.dir)),
  });
  return pick?.action;
}

/** Deletes an archive after a modal confirmation naming its size; never the current job's state. */
export async function deleteArchive(controller: JobController, job: StoredJob, log: vscode.LogOutputChannel, confirmed = false): Promise<boolean> {
  const stateDir = path.resolve(controller.stateDir);
  const dir = path.resolve(job.dir);
  // Only a direct archive-* child of this workspace's state directory, never the state itself.
  if (job.current || path.dirname(dir) !== stateDir || !path.basename(dir).startsWith('archive-')) {
    void vscode.window.showWarningMessage(vscode.l10n.t('Tangent Numbers: only archives of earlier jobs can be deleted here, not the current job.'));
    return false;
  }
  if (!confirmed) {
    const del = vscode.l10n.t('Delete');
    const answer = await vscode.window.showWarningMessage(
      job.terms === 1
        ? vscode.l10n.t('Delete the archived job {0} ({1} term, {2})? This cannot be undone.', path.basename(dir), job.terms, formatBytes(job.bytes))
        : vscode.l10n.t('Delete the archived job {0} ({1} terms, {2})? This cannot be undone.', path.basename(dir), job.terms, formatBytes(job.bytes)),
      { modal: true },
      del,
    );
    if (answer !== del) return false;
  }
  await fs.promises.rm(dir, { recursive: true, force: true });
  log.info(`deleted the archived job ${dir} (${job.terms} terms, ${job.bytes} bytes)`);
  void vscode.window.showInformationMessage(vscode.l10n.t('Tangent Numbers: deleted {0} (freed {1}).', path.basename(dir), formatBytes(job.bytes)));
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
    void vscode.window.showInformationMessage(vscode.l10n.t('Tangent Numbers: no job is stored in this workspace yet.'));
    return jobs;
  }
  let chosen: { job: StoredJob; action?: Action } | undefined;
  if (typeof args?.job === 'string') {
    const job = jobs.find((j) => (args.job === 'current' ? j.current : path.basename(j.dir) === args.job));
    if (!job) {
      void vscode.window.showErrorMessage(vscode.l10n.t('Tangent Numbers: no stored job "{0}".', args.job));
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
