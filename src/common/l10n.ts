// Localization of modules that also run outside the extension host (in plain-Node unit tests): they take
// the translator as a parameter named `l10n` and call `l10n.t('English {0}', …)`, so `npm run l10n` (which
// reads the `import type … from 'vscode'` and the `l10n.t` calls) exports their messages with the rest. The
// extension host passes `vscode.l10n`; elsewhere `english` formats the message.
import type * as vscode from 'vscode';
import { fillPlaceholders, type ByteTexts } from './format';

/** What a message needs of `vscode.l10n`. */
export type L10n = Pick<typeof vscode.l10n, 't'>;

type Args = Array<string | number | boolean> | Record<string, unknown>;

/** What `vscode.l10n.t` returns when no translation is loaded (VS Code in English). */
export const english: L10n = {
  t(first: string | { message: string; args?: Args }, ...rest: unknown[]): string {
    if (typeof first !== 'string') return fillPlaceholders(first.message, first.args ?? {});
    // Either the arguments themselves, or a single record of named ones (as vscode.l10n.t).
    const args = rest.length === 1 && typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as Args) : (rest as Args);
    return fillPlaceholders(first, args);
  },
};

/** The templates of sizes on disk, in the language of `l10n`. */
export function byteTexts(l10n: L10n = english): ByteTexts {
  return { bytes: l10n.t('{0} B'), kilobytes: l10n.t('{0} KB'), megabytes: l10n.t('{0} MB'), gigabytes: l10n.t('{0} GB') };
}
