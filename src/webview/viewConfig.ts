// The view's texts and language, as the host wrote them into the HTML (see src/common/viewStrings.ts).
import { NumberFormat } from '../common/format';
import { isRecord } from '../common/protocol';
import { VIEW_CONFIG_ELEMENT_ID, type ViewStrings } from '../common/viewStrings';

export interface ViewText {
  /** Every text the script writes (templates with {0}-style placeholders: fill them with format()). */
  s: ViewStrings;
  /** Numbers in the editor's language. */
  nf: NumberFormat;
}

/** Reads the JSON data block of the view's HTML; throws when it is missing or not texts. */
export function readViewConfig(): ViewText {
  const text = document.getElementById(VIEW_CONFIG_ELEMENT_ID)?.textContent ?? '';
  const config: unknown = text ? JSON.parse(text) : undefined;
  if (!isRecord(config) || typeof config.locale !== 'string' || !isRecord(config.strings) || !Object.values(config.strings).every((v) => typeof v === 'string')) {
    throw new Error(`#${VIEW_CONFIG_ELEMENT_ID} does not hold the view's texts`);
  }
  return { s: config.strings as unknown as ViewStrings, nf: new NumberFormat(config.locale) };
}
