// Text formats for exported terms. Pure: turns terms into chunks of text, streaming-friendly.
import type { Term } from './engine';

export const FORMATS = ['bfile', 'csv', 'json', 'txt'] as const;
export type ExportFormat = (typeof FORMATS)[number];

export function isExportFormat(v: unknown): v is ExportFormat {
  return typeof v === 'string' && (FORMATS as readonly string[]).includes(v);
}

export const FORMAT_LABELS: Record<ExportFormat, { label: string; extension: string; description: string }> = {
  bfile: { label: 'OEIS b-file', extension: 'txt', description: 'lines "n T(n)", as on oeis.org/A000182/b000182.txt' },
  csv: { label: 'CSV', extension: 'csv', description: 'n,digits,value with a header row' },
  json: { label: 'JSON', extension: 'json', description: 'an array of {n, digits, value} with values as strings' },
  txt: { label: 'Plain list', extension: 'txt', description: 'one value per line' },
};

export function header(format: ExportFormat): string {
  return format === 'csv' ? 'n,digits,value\n' : format === 'json' ? '[' : '';
}

/**
 * A term's line is linePrefix + its digits + lineSuffix, so an exporter can copy stored digits as bytes
 * without making a string of them.
 */
export function linePrefix(format: ExportFormat, n: number, length: number, first: boolean): string {
  switch (format) {
    case 'bfile':
      return `${n} `;
    case 'csv':
      return `${n},${length},`;
    case 'json':
      return `${first ? '\n' : ',\n'}  {"n":${n},"digits":${length},"value":"`;
    case 'txt':
      return '';
  }
}

export function lineSuffix(format: ExportFormat): string {
  return format === 'json' ? '"}' : '\n';
}

export function line(format: ExportFormat, term: Term, first: boolean): string {
  return linePrefix(format, term.n, term.digits.length, first) + term.digits + lineSuffix(format);
}

export function footer(format: ExportFormat, empty: boolean): string {
  return format === 'json' ? (empty ? ']\n' : '\n]\n') : '';
}
