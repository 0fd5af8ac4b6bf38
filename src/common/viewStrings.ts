// The texts of the Terms view's script, and how they reach it. The view holds no words of its own: the host fills
// every field with vscode.l10n.t('English text') (the English text is the l10n key) and writes them, with the
// editor's language, into the view's HTML as a JSON data block (src/extension/termsView.ts). Templates keep their
// {0}-style placeholders; the view fills them with format() from ./format and writes numbers with NumberFormat.
// The static texts of the view's HTML skeleton (headers, buttons, labels) are filled in by the host directly.
import type { TookTexts } from './format';

/** Id of the `<script type="application/json">` element that holds the ViewConfig. */
export const VIEW_CONFIG_ELEMENT_ID = 'view-config';

export interface ViewConfig {
  /** The editor's display language (vscode.env.language), for numbers. */
  locale: string;
  strings: ViewStrings;
}

/** Comments give the English text; {0}, {1}, … are filled by the view. */
export interface ViewStrings extends TookTexts {
  // The job cell.
  /** The job state's name (the cell's badge): "No job", "Running", "Paused", "Cancelled", "Done", "Error", "Read-only". */
  stateNone: string;
  stateRunning: string;
  statePaused: string;
  stateCancelled: string;
  stateDone: string;
  stateError: string;
  stateReadonly: string;
  /** "{0} / {1} terms" (done, target). */
  countsOfTarget: string;
  /** "{0} terms" (done, when there is no target). */
  countsDone: string;
  /** The progress bar's spoken value: "{0} of {1} terms ({2}%)". */
  progressValue: string;
  /** "Finished: {0}." ({0}: the took text). */
  finished: string;
  /** The ETA of a finished job: "done". */
  etaDone: string;
  /** The last checkpoint's age: "{0} ago". */
  checkpointAgo: string;

  // Announcements for screen readers (the job cell).
  /** "Computation started: {0} terms." */
  announceStarted: string;
  /** "Computation resumed at {0} of {1} terms." */
  announceResumed: string;
  /** "Paused at {0} of {1} terms." */
  announcePaused: string;
  /** "Cancelled at {0} of {1} terms." */
  announceCancelled: string;
  /** "Done: {0} terms computed." */
  announceDone: string;
  /** "Error: {0}. {1}" ({0}: the failure, {1}: what to do about it, maybe empty). */
  announceError: string;
  /** What failed when the host says nothing: "the job failed". */
  announceErrorUnknown: string;
  /** "Another window or process is computing this job; shown read-only." */
  announceReadonly: string;
  /** "No job." */
  announceNone: string;
  /** Every tenth while running: "{0}% — {1} of {2} terms." */
  announceProgress: string;

  // The table's rows.
  /** The row's expand button: "Expand or collapse (Enter)". */
  rowToggleTitle: string;
  /** The row's copy button: "Copy T({0}) (c)". */
  rowCopyTitle: string;
  /** The detail row's buttons: "Copy", "Collapse". */
  detailCopy: string;
  detailCollapse: string;
  /** "Copy all digits of T({0})". */
  detailCopyTitle: string;
  /** The full value's box: "All digits of T({0})". */
  detailValueLabel: string;
  /** The detail's title while the digit count is unknown: "T({0})". */
  detailTitle: string;
  /** "T({0}) · 1 digit". */
  detailTitleOneDigit: string;
  /** "T({0}) · {1} digits". */
  detailTitleDigits: string;
  /** "Loading…" */
  detailLoading: string;
  /** "This term is not stored." */
  detailMissing: string;
  /** "At most {0} rows can be expanded." */
  expandLimit: string;

  // Copy and jump.
  /** "Copied T({0}) (1 digit)." */
  copiedOneDigit: string;
  /** "Copied T({0}) ({1} digits)." */
  copiedDigits: string;
  /** The host copied a value the view had not loaded: "Copied T({0})." */
  copiedTerm: string;
  /** "Could not copy T({0})." */
  copyFailed: string;
  /** "T({0}) is not available." */
  termUnavailable: string;
  /** "No terms yet." */
  jumpNoTerms: string;
  /** "Type a whole number from 1 to {0}." */
  jumpInvalid: string;
  /** "T({0}) is not computed yet; showing T({1})." */
  jumpBeyond: string;
  /** The jump box's placeholder: "1–{0}". */
  jumpPlaceholder: string;
}
