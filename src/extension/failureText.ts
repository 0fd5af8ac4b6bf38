// The one-line text of a job failure: says only what is true for its failure code, and what to do about it.
// No vscode at run time here (unit-tested in plain Node): the host passes vscode.l10n as `l10n` (see
// src/common/l10n.ts), and sends the advice to the Terms view with the job.
import type * as vscode from 'vscode';
import { english } from '../common/l10n';

/** What the user is told after the failure's own message (code: a StoreError code, OUT_OF_MEMORY, or none). */
export function failureAdvice(code: string | undefined, l10n: Pick<typeof vscode.l10n, 't'> = english): string {
  switch (code) {
    case 'NO_SPACE':
      return l10n.t('Free some disk space, then Retry; the terms stored so far are kept.');
    case 'READ_ONLY':
      return l10n.t('The state directory cannot be written: make it writable (or copy the state directory somewhere writable), then Retry.');
    case 'IO_ERROR':
      return l10n.t('The disk reported an error: check it and copy the state directory somewhere safe before you Retry.');
    case 'CORRUPT':
      return l10n.t('Part of the stored state is damaged: copy the state directory somewhere safe before you Retry (a retry sets the damaged part aside and computes it again).');
    case 'OUT_OF_MEMORY':
      return l10n.t('Raise the setting tangentNumbers.workerMemoryLimitMb (or lower the count), then Retry; the stored terms are intact.');
    case 'LOCKED':
      return l10n.t('Another process writes this job; the stored terms are intact.');
    case undefined:
    case '':
      return '';
    default:
      return l10n.t('The stored terms are intact.');
  }
}

/** "Tangent Numbers: <message>. <advice>" (the message's own final period is not doubled). */
export function failureText(message: string, code: string | undefined, l10n: Pick<typeof vscode.l10n, 't'> = english): string {
  const advice = failureAdvice(code, l10n);
  const m = message.replace(/[.\s]+$/, '');
  return advice ? l10n.t('Tangent Numbers: {0}. {1}', m, advice) : l10n.t('Tangent Numbers: {0}.', m);
}
