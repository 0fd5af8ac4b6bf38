// The pure formatting shared by the host and the Terms view (src/common/format.ts), with the English templates the
// host really passes to vscode.l10n.t (read from src/extension/format.ts), against values worked out by hand.
import * as assert from 'node:assert/strict';
import { byteTexts } from '../../src/common/l10n';
import { NO_VALUE, NumberFormat, format, formatBytes, formatDuration, formatRate, formatTook, percent } from '../../src/common/format';
import { englishTookTexts } from './sourceText';

describe('format(): {0}-style placeholders, as vscode.l10n.t fills them', () => {
  it('fills each placeholder with its argument, numbers as given, in any order and more than once', () => {
    assert.equal(format('{0} / {1} terms', '500', '1,000'), '500 / 1,000 terms');
    assert.equal(format('T({1}) then T({0}), T({1}) again', 7, 12), 'T(12) then T(7), T(12) again');
    assert.equal(format('{0}% — {1} of {2} terms.', 40, '400', '1,000'), '40% — 400 of 1,000 terms.');
    assert.equal(format('{10}:{0}', ...Array.from({ length: 11 }, (_, i) => `a${i}`)), 'a10:a0');
  });

  it('leaves a placeholder without an argument, text without placeholders, and braces that are no placeholder', () => {
    assert.equal(format('took {0}, {2}', '4.0s'), 'took 4.0s, {2}');
    assert.equal(format('No terms yet.'), 'No terms yet.');
    assert.equal(format('{x} {} {-1} {0', 'a'), '{x} {} {-1} {0');
  });

  it('fills in one pass: an argument holding "{1}" or "$&" stays as it is', () => {
    assert.equal(format('{0} and {1}', '{1}', 'b'), '{1} and b');
    assert.equal(format('[{0}]', '$& $1 $$'), '[$& $1 $$]');
    assert.equal(format('{0}', ''), '');
  });
});

describe('NumberFormat: numbers in the editor\'s language', () => {
  it('English: grouped counts, plain indexes, one and two decimals', () => {
    const en = new NumberFormat('en');
    assert.equal(en.int(18886), '18,886');
    assert.equal(en.int(26181), '26,181');
    assert.equal(en.int(999), '999');
    assert.equal(en.int(1_000_000), '1,000,000');
    assert.equal(en.plain(3000), '3000');
    assert.equal(en.fixed1(7.5), '7.5');
    assert.equal(en.fixed1(4), '4.0');
    assert.equal(en.fixed1(9.96), '10.0');
    assert.equal(en.fixed1(1739.43), '1739.4');
    assert.equal(en.fixed2(1.25), '1.25');
  });

  it('German groups with "." and writes "," for the decimal mark; French groups with a narrow no-break space', () => {
    const de = new NumberFormat('de');
    assert.equal(de.int(18886), '18.886');
    assert.equal(de.plain(3000), '3000');
    assert.equal(de.fixed1(7.5), '7,5');
    assert.equal(new NumberFormat('fr').int(18886), '18\u202f886');
  });

  it('takes VS Code\'s lower-case region tags, and falls back to English for a malformed tag', () => {
    assert.equal(new NumberFormat('zh-cn').locale, 'zh-CN');
    assert.equal(new NumberFormat('pt-br').int(18886), '18.886');
    const bad = new NumberFormat('not a locale!');
    assert.equal(bad.locale, 'en');
    assert.equal(bad.int(18886), '18,886');
  });
});

describe('percent, durations, rates, what a job took, sizes', () => {
  const en = new NumberFormat('en');
  const t = englishTookTexts();

  it('percent is rounded down and capped at 100; 0 without a target', () => {
    assert.equal(percent(0, 0), 0);
    assert.equal(percent(5, 0), 0);
    assert.equal(percent(1, 3), 33);
    assert.equal(percent(2, 3), 66);
    assert.equal(percent(999, 1000), 99);
    assert.equal(percent(1000, 1000), 100);
    assert.equal(percent(1200, 1000), 100);
  });

  it('durations: whole seconds, then minutes and seconds, then hours and minutes; unknown is a dash', () => {
    assert.equal(formatDuration(null, t, en), NO_VALUE);
    assert.equal(formatDuration(Number.NaN, t, en), NO_VALUE);
    assert.equal(formatDuration(Number.POSITIVE_INFINITY, t, en), NO_VALUE);
    assert.equal(formatDuration(-5, t, en), '0s');
    assert.equal(formatDuration(0, t, en), '0s');
    assert.equal(formatDuration(59.4, t, en), '59s');
    assert.equal(formatDuration(59.5, t, en), '1m 0s'); // rounds to 60 s
    assert.equal(formatDuration(80, t, en), '1m 20s');
    assert.equal(formatDuration(3599, t, en), '59m 59s');
    assert.equal(formatDuration(3600, t, en), '1h 0m');
    assert.equal(formatDuration(2 * 3600 + 5 * 60 + 59, t, en), '2h 5m'); // seconds dropped, not rounded
    assert.equal(formatDuration(100 * 3600, t, en), '100h 0m');
  });

  it('rates: one decimal below 10 terms/s, whole and not grouped above', () => {
    assert.equal(formatRate(7.5, t.rate, en), '7.5 terms/s');
    assert.equal(formatRate(0.04, t.rate, en), '0.0 terms/s');
    assert.equal(formatRate(9.96, t.rate, en), '10.0 terms/s');
    assert.equal(formatRate(10, t.rate, en), '10 terms/s');
    assert.equal(formatRate(1739.5, t.rate, en), '1740 terms/s');
    assert.equal(formatRate(12345.2, t.rate, en), '12345 terms/s');
  });

  it('what a finished job took: every combination of runs (none, one, several) and rate (none, some)', () => {
    // 80 s for 3360 terms: 42 terms/s. 4 s for 30: 7.5 terms/s. Below 10 s the time has tenths.
    assert.equal(formatTook(80_000, 3, 3360, t, en), 'took 1m 20s over 3 runs, 42 terms/s');
    assert.equal(formatTook(80_000, 3, 0, t, en), 'took 1m 20s over 3 runs');
    assert.equal(formatTook(4_000, 1, 30, t, en), 'took 4.0s over 1 run, 7.5 terms/s');
    assert.equal(formatTook(12_000, 1, 0, t, en), 'took 12s over 1 run');
    assert.equal(formatTook(5_000, 0, 10, t, en), 'took 5.0s, 2.0 terms/s');
    assert.equal(formatTook(61_000, 0, 0, t, en), 'took 1m 1s');
    // 0.23 s for 400 terms: 1739.1… terms/s.
    assert.equal(formatTook(230, 2, 400, t, en), 'took 0.2s over 2 runs, 1739 terms/s');
    // No compute time: no rate (not a division by zero).
    assert.equal(formatTook(0, 1, 100, t, en), 'took 0.0s over 1 run');
  });

  it('what a job took, with German numbers (the templates stay as given)', () => {
    assert.equal(formatTook(4_000, 1, 30, t, new NumberFormat('de')), 'took 4,0s over 1 run, 7,5 terms/s');
    assert.equal(formatTook(12_345_000, 1200, 123_450, t, new NumberFormat('de')), 'took 3h 25m over 1200 runs, 10 terms/s');
  });

  it('sizes in B, KB, MB and GB (binary multiples), with the templates and numbers of the language', () => {
    const en = new NumberFormat('en');
    const units = byteTexts(); // English, as vscode.l10n gives them with no translation loaded
    assert.equal(formatBytes(0, units, en), '0 B');
    assert.equal(formatBytes(1023, units, en), '1023 B');
    assert.equal(formatBytes(1024, units, en), '1.0 KB');
    assert.equal(formatBytes(1536, units, en), '1.5 KB');
    assert.equal(formatBytes(3 * 1024 * 1024 + 200 * 1024, units, en), '3.2 MB'); // 3.1953… MB
    assert.equal(formatBytes(1.25 * 1024 ** 3, units, en), '1.25 GB');
    assert.equal(formatBytes(1536, units, new NumberFormat('de')), '1,5 KB');
    const french = { bytes: '{0} o', kilobytes: '{0} Ko', megabytes: '{0} Mo', gigabytes: '{0} Go' };
    assert.equal(formatBytes(3 * 1024 * 1024 + 200 * 1024, french, new NumberFormat('fr')), '3,2 Mo');
  });
});
