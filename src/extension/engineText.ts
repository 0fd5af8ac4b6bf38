// The engine's English texts that the host shows (the CLI keeps the English of src/engine), in the user's
// language. No vscode at run time: the host passes vscode.l10n as `l10n`, and the unit tests check that with
// `english` (src/common/l10n.ts) each text is exactly the engine's.
import type * as vscode from 'vscode';
import type { BfileVerdict } from '../engine/bfileVerifier';
import { MAX_COUNT } from '../engine/engine';
import type { ExportFormat } from '../engine/formats';

type L10n = Pick<typeof vscode.l10n, 't'>;

/** Why `input` is not a count: validateCount's reason. Only for an input validateCount rejects. */
export function countProblem(input: string, l10n: L10n): string {
  return /^\d+$/.test(input.trim()) ? l10n.t('must be between 1 and {0}', MAX_COUNT) : l10n.t('not a whole number');
}

/** An export format as the quick pick and the save dialog's filter name it (FORMAT_LABELS). */
export function exportFormatText(f: ExportFormat, l10n: L10n): { label: string; description: string } {
  switch (f) {
    case 'bfile':
      return { label: l10n.t('OEIS b-file'), description: l10n.t('lines "n T(n)", as on oeis.org/A000182/b000182.txt') };
    case 'csv':
      return { label: l10n.t('CSV'), description: l10n.t('n,digits,value with a header row') };
    case 'json':
      return { label: l10n.t('JSON'), description: l10n.t('an array of {n, digits, value} with values as strings') };
    case 'txt':
      return { label: l10n.t('Plain list'), description: l10n.t('one value per line') };
  }
}

/** "Tangent Numbers: " + describeVerdict + "." (the checker's own reasons stay English). */
export function verdictText(file: string, v: BfileVerdict, l10n: L10n): string {
  switch (v.kind) {
    case 'verified':
      return l10n.t('Tangent Numbers: {0}: all {1} terms of A000182 verified (T(1..{1})).', file, v.terms);
    case 'wrong':
      return l10n.t('Tangent Numbers: {0}:{1}: term {2} is wrong ({3}).', file, v.line, v.n, v.reason);
    case 'missing':
      return l10n.t('Tangent Numbers: {0}:{1}: term {2} is missing (the line holds term {3}).', file, v.line, v.n, v.found);
    case 'order':
      return v.laterLine
        ? l10n.t('Tangent Numbers: {0}:{1}: expected term {2}, found term {3} (term {2} is on line {4}).', file, v.line, v.n, v.found, v.laterLine)
        : l10n.t('Tangent Numbers: {0}:{1}: expected term {2}, found term {3}.', file, v.line, v.n, v.found);
    case 'malformed':
      return l10n.t('Tangent Numbers: {0}:{1}: not a b-file of A000182: {2}.', file, v.line, v.reason);
    case 'cancelled':
      return l10n.t('Tangent Numbers: {0}: verification cancelled after {1} terms (T(1..{1}) are right).', file, v.terms);
  }
}
