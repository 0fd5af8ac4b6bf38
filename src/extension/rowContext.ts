// The Terms view's row context (data-vscode-context of a row) and the b-file line; no vscode here.
import { TERMS_MAX_N, isIntegerIn, isRecord } from '../common/protocol';

/** n of a row context, or undefined for anything else. */
export function rowIndex(ctx: unknown): number | undefined {
  return isRecord(ctx) && ctx.webviewSection === 'row' && isIntegerIn(ctx.n, 1, TERMS_MAX_N) ? ctx.n : undefined;
}

/** "n T(n)": one line of an OEIS b-file. */
export function bfileLine(n: number, digits: string): string {
  return `${n} ${digits}`;
}
