// The extension in another display language, in a real workbench: code-server started with --locale qps-ploc
// (VS Code's pseudo-locale) and a minimal local language pack for it, the extension packaged with pseudo
// translations made at test time (@vscode/l10n-dev generate-pseudo; the repository's l10n/ is left alone).
// Every expected text is read from those generated files, none is guessed: the palette title (package.nls),
// the input box, the status bar item and the Terms view (l10n bundle). The terms are checked against the OEIS b-file.
//
// Why a language pack: VS Code resolves the display language through <userDataDir>/languagepacks.json; without
// an entry for the locale it falls back to English (resolvedLanguage 'en'), and then neither the workbench nor
// the extension host (vscode.env.language, vscode.l10n, package.nls.<lang>.json) switches.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, VSCodeSession } from '../harness/codeServer';
import { poll, referenceBfile500, storedBfile } from '../harness/references';
import { extensionLogLines, packageVsix, paletteRows, sessionPerTest, stateDirOf, waitForActivation, waitForQuickInputTitle, waitForStatus } from '../harness/tangentSession';
import { TermsView, rowProblems } from '../harness/termsViewPage';

const LOCALE = 'qps-ploc';
const COUNT = 200;
const L10N_DEV = path.join(REPO_ROOT, 'node_modules', '@vscode', 'l10n-dev', 'dist', 'cli.js');
const VSCE = path.join(REPO_ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
const PACK = { publisher: 'tangent-numbers-test', name: 'pseudo-language-pack', version: '0.0.1' };

type Texts = Record<string, string>;

function node(args: string[], cwd: string, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`node ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve(`${stdout}${stderr}`);
    });
  });
}

function readTexts(file: string): Texts {
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string | { message: string }>;
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, typeof v === 'string' ? v : v.message]));
}

/** The pseudo translations of the current bundle and package.nls.json, generated in `dir` (generate-pseudo
 *  has no output option: it writes <name>.qps-ploc.json next to each input, so the inputs are copied first). */
async function generatePseudo(dir: string): Promise<{ bundleFile: string; nlsFile: string; bundle: Texts; nls: Texts }> {
  fs.copyFileSync(path.join(REPO_ROOT, 'l10n', 'bundle.l10n.json'), path.join(dir, 'bundle.l10n.json'));
  fs.copyFileSync(path.join(REPO_ROOT, 'package.nls.json'), path.join(dir, 'package.nls.json'));
  await node([L10N_DEV, 'generate-pseudo', '--language', LOCALE, 'bundle.l10n.json', 'package.nls.json'], dir);
  const bundleFile = path.join(dir, `bundle.l10n.${LOCALE}.json`);
  const nlsFile = path.join(dir, `package.nls.${LOCALE}.json`);
  return { bundleFile, nlsFile, bundle: readTexts(bundleFile), nls: readTexts(nlsFile) };
}

/** A minimal language pack extension for LOCALE (no translations of VS Code's own texts), as a .vsix. */
async function packageLanguagePack(dir: string): Promise<string> {
  const src = path.join(dir, 'pack');
  fs.mkdirSync(path.join(src, 'translations'), { recursive: true });
  fs.writeFileSync(path.join(src, 'package.json'), JSON.stringify({
    ...PACK,
    displayName: 'Pseudo Language Pack (test)',
    description: `The ${LOCALE} display language, for tests`,
    license: 'MIT',
    engines: { vscode: '^1.90.0' },
    categories: ['Language Packs'],
    contributes: {
      localizations: [{
        languageId: LOCALE, languageName: 'Pseudo', localizedLanguageName: 'Pseudo',
        translations: [{ id: 'vscode', path: './translations/main.i18n.json' }],
      }],
    },
  }, null, 2));
  fs.writeFileSync(path.join(src, 'translations', 'main.i18n.json'), JSON.stringify({ version: '1.0.0', contents: {} }));
  fs.writeFileSync(path.join(src, 'README.md'), '# Pseudo language pack for tests\n');
  const vsix = path.join(dir, 'pseudo-language-pack.vsix');
  await node([VSCE, 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '-o', vsix], src);
  return vsix;
}

/**
 * Registers the installed language pack in <userDataDir>/languagepacks.json, the entry VS Code's
 * LanguagePacksCache writes (vs/platform/languagePacks/node/languagePacks.ts). The running server writes it
 * after an install through its own extension management; code-server's `--install-extension` CLI does not
 * (its language pack service is created lazily there, so the post-install hook never runs).
 */
function registerLanguagePack(extensionsDir: string, userDataDir: string): void {
  const id = `${PACK.publisher}.${PACK.name}`;
  const installed = JSON.parse(fs.readFileSync(path.join(extensionsDir, 'extensions.json'), 'utf8')) as { identifier: { id: string }; version: string; relativeLocation: string }[];
  const entry = installed.find((e) => e.identifier.id === id);
  if (!entry) throw new Error(`${id} is not in ${extensionsDir}/extensions.json`);
  const translations = path.join(extensionsDir, entry.relativeLocation, 'translations', 'main.i18n.json');
  if (!fs.existsSync(translations)) throw new Error(`the language pack has no ${translations}`);
  // The cache's hash: md5 over the packs' (uuid or id) + version; it names the translation cache folder.
  const hash = crypto.createHash('md5').update(id).update(entry.version).digest('hex');
  fs.mkdirSync(userDataDir, { recursive: true });
  fs.writeFileSync(path.join(userDataDir, 'languagepacks.json'), JSON.stringify({
    [LOCALE]: { hash, extensions: [{ extensionIdentifier: { id }, version: entry.version }], translations: { vscode: translations }, label: 'Pseudo' },
  }));
}

/** Fills {0}, {1}, … as vscode.l10n.t does. */
function fill(template: string, ...args: (string | number)[]): string {
  return template.replace(/\{(\d+)\}/g, (m, i: string) => (args[Number(i)] === undefined ? m : String(args[Number(i)])));
}

/** The translation of `english` in `texts`; fails when the key is missing or was not translated. */
function translated(texts: Texts, english: string, key = english): string {
  const t = texts[key];
  assert.ok(t !== undefined, `no translation for "${key}"`);
  assert.notEqual(t, english, `"${key}" is not pseudo-localized`);
  return t;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe(`Localization (code-server, display language ${LOCALE})`, function () {
  this.timeout(240_000);
  const { tempDir, use } = sessionPerTest('localization');

  it('shows the pseudo-localized palette title, input box, status bar item and Terms view, and computes T(1..200) exactly', async function () {
    const t0 = Date.now();
    const pseudo = await generatePseudo(tempDir('tangent-ploc-'));
    const [vsix, packVsix] = await Promise.all([
      packageVsix(tempDir('tangent-vsix-'), undefined, {
        [`l10n/bundle.l10n.${LOCALE}.json`]: pseudo.bundleFile,
        [`package.nls.${LOCALE}.json`]: pseudo.nlsFile,
      }),
      packageLanguagePack(tempDir('tangent-langpack-')),
    ]);
    const extensionsDir = tempDir('tangent-exts-');
    const userDataDir = tempDir('tangent-user-');
    assert.match(await VSCodeSession.installVsix(vsix, extensionsDir), /successfully installed/i);
    assert.match(await VSCodeSession.installVsix(packVsix, extensionsDir), /successfully installed/i);
    registerLanguagePack(extensionsDir, userDataDir);
    const tPrepared = Date.now();

    const { bundle, nls } = pseudo;
    const category = translated(nls, 'Tangent Numbers', 'command.category');
    const computeTitle = `${category}: ${translated(nls, 'Compute…', 'command.compute.title')}`;
    const showTermsTitle = `${category}: ${translated(nls, 'Show Terms', 'command.showTerms.title')}`;

    const s = use(await VSCodeSession.start({
      workspace: tempDir('tangent-ws-'), extensionsDir, userDataDir, locale: LOCALE, label: 'localization',
      settings: { 'tangentNumbers.statusBar.keepAfterDone': true },
    }));
    await waitForActivation(s);
    assert.ok(!s.serverLogs.some((l) => /Loading development extension/.test(l)), 'the installed copy runs, no development extension');
    // The workbench resolved the locale (without the languagepacks.json entry it loads the default English
    // messages and this is undefined, even with --locale).
    const workbenchLanguage = await s.page.evaluate(() => (globalThis as { _VSCODE_NLS_LANGUAGE?: string })._VSCODE_NLS_LANGUAGE);
    assert.equal(workbenchLanguage, LOCALE, 'the workbench runs in the pseudo display language');

    // The palette: the command's row is labelled with the pseudo title; VS Code adds the English title below it
    // as the command's alias (the second label of the same row), so English typed into the palette finds it too.
    const palette = await paletteRows(s, 'Tangent Numbers: Compute', (rows) => rows.some((r) => r[0] === computeTitle), `a palette row "${computeTitle}"`);
    const row = palette.find((r) => r[0] === computeTitle);
    assert.ok(row, `the palette shows "${computeTitle}" for the English query (rows: ${JSON.stringify(palette)})`);
    assert.deepEqual(row.slice(1), ['Tangent Numbers: Compute…'], 'the English title appears only as the alias');
    assert.ok(!palette.some((r) => r[0] === 'Tangent Numbers: Compute…'), `no row is labelled in English (rows: ${JSON.stringify(palette)})`);

    // The input box: title and prompt.
    await s.runCommand(computeTitle);
    const inputTitle = translated(bundle, 'Tangent Numbers: Compute');
    await waitForQuickInputTitle(s, new RegExp(`^${escapeRegExp(inputTitle)}$`));
    const promptTemplate = translated(bundle, 'How many terms T(1..N)? A whole number from 1 to {0}.');
    const prompt = (await s.page.locator('.quick-input-widget .quick-input-message').first().innerText()).trim();
    // VS Code appends its own "(Press 'Enter' to confirm or 'Escape' to cancel)": the language pack has no texts.
    assert.match(prompt, new RegExp(`^${escapeRegExp(promptTemplate).replace('\\{0\\}', '\\d+')} \\(.*\\)$`), `the prompt is pseudo-localized: "${prompt}"`);
    await s.typeIntoQuickInput(String(COUNT), { submit: true });
    await poll(async () => !(await s.quickInputVisible()), 'the input box to close after Enter', 10_000, 50);

    // The status bar item: text and spoken label.
    const doneText = fill(translated(bundle, 'T {0} · done'), COUNT);
    const status = await waitForStatus(s, new RegExp(`^${escapeRegExp(doneText)}$`), 90_000);
    assert.equal(status.ariaLabel, fill(translated(bundle, 'Tangent numbers done: {0} terms'), COUNT));
    const tComputed = Date.now();

    // The stored terms are the OEIS ones.
    const reference = referenceBfile500().toString('latin1').split('\n').slice(0, COUNT).map((l) => l + '\n').join('');
    assert.equal(storedBfile(stateDirOf(s)).toString('latin1'), reference, `the stored T(1..${COUNT}) equal the first ${COUNT} lines of OEIS b000182.txt`);

    // The Terms view, under its pseudo title: header, job cell and toolbar texts, and rows with the right values.
    await s.runCommand(showTermsTitle);
    const view = new TermsView(s, translated(nls, 'Terms', 'views.terms.name'));
    await view.waitForRows();
    const inner = await view.inner();
    const shown = await inner.evaluate(() => {
      const text = (sel: string) => document.querySelector(sel)?.textContent?.trim() ?? null;
      const config = JSON.parse(document.getElementById('view-config')?.textContent ?? '{}') as { locale?: string };
      return {
        headers: Array.from(document.querySelectorAll('#terms thead th')).map((th) => th.textContent?.trim() ?? ''),
        state: text('#job-state'), counts: text('#job-counts'), jump: text('#table-toolbar label'), go: text('#btn-jump'),
        pause: text('#btn-pause'), exportLabel: text('#btn-export'), stats: Array.from(document.querySelectorAll('.stats dt')).map((d) => d.textContent?.trim() ?? ''),
        configLocale: config.locale ?? null,
        intlLocale: config.locale ? new Intl.NumberFormat(config.locale).resolvedOptions().locale : null,
      };
    });
    assert.deepEqual(shown.headers, ['n', 'digits', 'T(n)'].map((e) => translated(bundle, e)));
    assert.equal(shown.state, translated(bundle, 'Done'));
    assert.equal(shown.counts, fill(translated(bundle, '{0} / {1} terms'), COUNT, COUNT));
    assert.equal(shown.jump, translated(bundle, 'Jump to n'));
    assert.equal(shown.go, translated(bundle, 'Go'));
    assert.equal(shown.pause, translated(bundle, 'Pause'));
    assert.equal(shown.exportLabel, translated(bundle, 'Export…'));
    assert.deepEqual(shown.stats, ['Rate', 'Elapsed', 'ETA', 'Checkpoint'].map((e) => translated(bundle, e)));
    assert.equal(shown.configLocale, LOCALE, 'the view is told the display language (vscode.env.language)');
    const values = new Map(reference.trim().split('\n').map((l) => { const [n, v] = l.split(' '); return [Number(n), v]; }));
    const rows = await view.visibleRows();
    assert.ok(rows.length >= 5, `the view shows rows (${rows.length})`);
    assert.deepEqual(rows.flatMap((r) => rowProblems(r, values.get(r.n)!)), []);
    assert.ok(!extensionLogLines(s).some((l) => /\[error\]/.test(l)), 'no error in the extension log');

    console.log(`    view locale ${shown.configLocale} → Intl.NumberFormat resolves to ${shown.intlLocale}`);
    console.log(`    prepare ${tPrepared - t0} ms, start ${s.timings.workbenchReadyMs} ms (listening ${s.timings.serverListeningMs} ms), ` +
      `start→${COUNT} terms ${tComputed - tPrepared} ms, total ${Date.now() - t0} ms`);
  });
});
