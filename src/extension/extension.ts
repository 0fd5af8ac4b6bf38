// Entry point: wires the controller, the status bar, the terms view and the commands. No work here.
import * as vscode from 'vscode';
import type { JobView } from '../common/protocol';
import { VIEW_ID, computeCommand, exportCommand, type ComputeArgs, type ExportArgs } from './commands';
import { failureText } from './failureText';
import { JobController } from './jobController';
import { manageStoredJobsCommand, type ManageArgs } from './storedJobs';
import { copyBfileLineCommand, copyTermCommand, exportFromCommand } from './rowCommands';
import { getSettings } from './settings';
import { JobStatusBar } from './statusBar';
import { TermsViewProvider } from './termsView';
import { verifyBfileCommand, type VerifyArgs } from './verifyCommand';

/** What the extension exports (used by its integration tests and by other extensions). */
export interface TangentNumbersApi {
  readonly job: JobView;
  readonly onDidChange: vscode.Event<JobView>;
  readonly stateDir: string;
}

export function activate(context: vscode.ExtensionContext): TangentNumbersApi {
  const log = vscode.window.createOutputChannel('Tangent Numbers', { log: true });
  // Workspace storage keeps one job per folder; with no folder open, fall back to global storage.
  const storage = context.storageUri ?? context.globalStorageUri;
  const controller = new JobController(storage, vscode.Uri.joinPath(context.extensionUri, 'dist').fsPath, log);
  const statusBar = new JobStatusBar(controller.onDidChange, controller.current, () => getSettings().statusBarKeepAfterDone);
  const termsView = new TermsViewProvider(context.extensionUri, controller, log);

  context.subscriptions.push(
    log,
    controller,
    statusBar,
    termsView,
    vscode.window.registerWebviewViewProvider(VIEW_ID, termsView, { webviewOptions: { retainContextWhenHidden: false } }),
    vscode.commands.registerCommand('tangentNumbers.compute', (args?: ComputeArgs) => computeCommand(controller, args)),
    vscode.commands.registerCommand('tangentNumbers.pause', () => controller.pause()),
    vscode.commands.registerCommand('tangentNumbers.resume', () => controller.resume()),
    vscode.commands.registerCommand('tangentNumbers.cancel', () => controller.cancel()),
    vscode.commands.registerCommand('tangentNumbers.takeOver', () => controller.takeOver()),
    vscode.commands.registerCommand('tangentNumbers.showTerms', () => vscode.commands.executeCommand(`${VIEW_ID}.focus`)),
    vscode.commands.registerCommand('tangentNumbers.export', (args?: ExportArgs) => exportCommand(controller, args)),
    vscode.commands.registerCommand('tangentNumbers.showLog', () => log.show()),
    vscode.commands.registerCommand('tangentNumbers.verifyBfile', (args?: VerifyArgs | vscode.Uri) => verifyBfileCommand(args)),
    vscode.commands.registerCommand('tangentNumbers.manageStoredJobs', (args?: ManageArgs) => manageStoredJobsCommand(controller, log, args)),
    // The Terms view's row context menu (webview/context): the argument is the row's data-vscode-context.
    vscode.commands.registerCommand('tangentNumbers.copyTerm', (ctx?: unknown) => copyTermCommand(controller, ctx)),
    vscode.commands.registerCommand('tangentNumbers.copyBfileLine', (ctx?: unknown) => copyBfileLineCommand(controller, ctx)),
    vscode.commands.registerCommand('tangentNumbers.exportFrom', (ctx?: unknown) => exportFromCommand(controller, ctx)),
    // Every failure (also a Retry that fails again) says what happened, what is true of the stored terms for
    // its kind of failure and what to do, and offers Retry.
    controller.onDidFail(({ message, code }) => {
      const retry = vscode.l10n.t('Retry');
      const showLog = vscode.l10n.t('Show Log');
      void vscode.window.showErrorMessage(failureText(message, code, vscode.l10n), retry, showLog).then((a) => {
        // Through the controller's queue like every command: Retry racing Resume starts one job.
        if (a === retry) void controller.retry();
        else if (a === showLog) log.show();
      });
    }),
    // Resumes and take-overs say so (with Pause); a read-only job says who writes it and offers Take Over;
    // a writer that is gone while the job stays paused says so too. Every button goes through the queue.
    controller.onDidNotice((n) => {
      const pause = vscode.l10n.t('Pause');
      const resume = vscode.l10n.t('Resume');
      const takeOver = vscode.l10n.t('Take Over');
      const show = vscode.l10n.t('Show');
      const showLog = vscode.l10n.t('Show Log');
      const buttons = { resumed: [pause, show], tookOver: [pause, show], readonly: [takeOver, showLog], released: [resume, show] }[n.kind];
      void vscode.window.showInformationMessage(n.message, ...buttons).then((a) => {
        if (a === pause) void controller.pause();
        else if (a === resume) void controller.resume();
        else if (a === takeOver) void controller.takeOver();
        else if (a === show) void vscode.commands.executeCommand('tangentNumbers.showTerms');
        else if (a === showLog) log.show();
      });
    }),
  );

  log.info(`storage: ${controller.root}${context.storageUri ? '' : ' (no folder open: global storage)'}`);
  // A resumed job is announced through onDidNotice once its worker has opened the state.
  void controller.initialize(getSettings().resumeOnStartup);

  return {
    get job() {
      return controller.current;
    },
    onDidChange: controller.onDidChange,
    stateDir: controller.stateDir,
  };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions; state is already durable.
}
