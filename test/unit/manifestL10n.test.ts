// Localization: the manifest's %key% strings and package.nls.json, the l10n/ bundle exported from the sources,
// and no user-visible string in src/extension or src/webview written as a literal outside l10n.t.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';
import { english } from '../../src/common/l10n';
import { describeVerdict, type BfileVerdict } from '../../src/engine/bfileVerifier';
import { validateCount } from '../../src/engine/engine';
import { FORMATS, FORMAT_LABELS } from '../../src/engine/formats';
import { countProblem, exportFormatText, verdictText } from '../../src/extension/engineText';
import { storedJobDetail, type StoredJob } from '../../src/extension/storedJobsList';
import { program } from './sourceText';
import { findUserStringLiterals, snippetProgram, type Finding } from './userStrings';

const ROOT = path.resolve(__dirname, '../../..');
const readJson = (f: string): unknown => JSON.parse(fs.readFileSync(path.join(ROOT, f), 'utf8'));
/** The fields of package.json this test reads besides its strings. */
const pkg = readJson('package.json') as { l10n?: string; scripts: Record<string, string> };
const nls = readJson('package.nls.json') as Record<string, string>;

/** Every string of the manifest, with where it is ("contributes.commands[0].title"). */
function strings(v: unknown, at = ''): { at: string; value: string }[] {
  if (typeof v === 'string') return [{ at, value: v }];
  if (Array.isArray(v)) return v.flatMap((x, i) => strings(x, `${at}[${i}]`));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => strings(x, at ? `${at}.${k}` : k));
  return [];
}

/** The manifest fields a user reads (Extensions view, Marketplace, palette, views, Settings, trust dialogs). */
function isUserField(at: string): boolean {
  return (
    /^(displayName|description)$/.test(at) ||
    /^capabilities\.\w+\.description$/.test(at) ||
    /^contributes\.commands\[\d+\]\.(title|shortTitle|category)$/.test(at) ||
    /^contributes\.viewsContainers\.\w+\[\d+\]\.title$/.test(at) ||
    /^contributes\.views\.\w+\[\d+\]\.(name|contextualTitle)$/.test(at) ||
    /^contributes\.configuration\.title$/.test(at) ||
    /^contributes\.configuration\.properties\.[\w.]+\.(description|markdownDescription|deprecationMessage|markdownDeprecationMessage|enumDescriptions\[\d+\]|markdownEnumDescriptions\[\d+\])$/.test(at) ||
    /^contributes\.walkthroughs\b.*\.(title|description|altText)$/.test(at)
  );
}

/** src/<dir>/**.ts, absolute. */
function sourcesUnder(dir: string): string[] {
  return (fs.readdirSync(path.join(ROOT, dir), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(ROOT, dir, f))
    .sort();
}

const show = (fs_: Finding[]) => fs_.map((f) => `  ${f.file}:${f.line}: ${f.text.length > 100 ? `${f.text.slice(0, 97)}...` : f.text}\n      reaches ${f.sink}`).join('\n');

describe('localization', () => {
  describe('manifest (package.json, package.nls.json)', () => {
    const all = strings(pkg);

    it('every user-visible manifest string is a %key%', () => {
      const user = all.filter((s) => isUserField(s.at));
      assert.ok(user.length >= 30, `found the manifest's user strings (${user.length})`);
      const literal = user.filter((s) => !/^%[^%\s]+%$/.test(s.value));
      assert.deepEqual(literal, [], `use %key% with the English in package.nls.json:\n${literal.map((s) => `  ${s.at}: ${s.value}`).join('\n')}`);
    });

    it('every %key% resolves in package.nls.json, and package.nls.json has no unused key', () => {
      const used = new Set(all.flatMap((s) => [...s.value.matchAll(/^%([^%\s]+)%$/g)].map((m) => m[1])));
      const missing = [...used].filter((k) => typeof nls[k] !== 'string' || nls[k].trim() === '');
      assert.deepEqual(missing, [], 'keys used in package.json without an English text in package.nls.json');
      const unused = Object.keys(nls).filter((k) => !used.has(k));
      assert.deepEqual(unused, [], 'keys of package.nls.json no manifest field uses');
    });

    it('names the l10n bundle folder, and the package ships it with package.nls.json', () => {
      assert.equal(pkg.l10n, './l10n');
      assert.ok(fs.existsSync(path.join(ROOT, 'l10n', 'bundle.l10n.json')), 'l10n/bundle.l10n.json exists');
      assert.match(pkg.scripts.l10n, /^vscode-l10n-dev export --outDir \.\/l10n \.\/src$/);
      const ignore = fs.readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8').split('\n').map((l) => l.trim());
      for (const f of ['l10n/**', 'package.nls.json']) assert.ok(ignore.includes(`!${f}`), `.vscodeignore must keep ${f}`);
    });
  });

  describe('bundle (l10n/bundle.l10n.json)', () => {
    it('is what `npm run l10n` exports from the sources now', function () {
      this.timeout(120_000);
      const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tangent-l10n-'));
      try {
        const cli = path.join(ROOT, 'node_modules', '@vscode', 'l10n-dev', 'dist', 'cli.js');
        execFileSync(process.execPath, [cli, 'export', '--outDir', out, './src'], { cwd: ROOT, stdio: 'pipe' });
        const fresh = JSON.parse(fs.readFileSync(path.join(out, 'bundle.l10n.json'), 'utf8')) as Record<string, unknown>;
        const committed = readJson('l10n/bundle.l10n.json') as Record<string, unknown>;
        const missing = Object.keys(fresh).filter((k) => !(k in committed));
        const stale = Object.keys(committed).filter((k) => !(k in fresh));
        assert.deepEqual({ missing, stale }, { missing: [], stale: [] }, 'l10n/bundle.l10n.json is out of date: run `npm run l10n` and commit it');
        for (const [k, v] of Object.entries(committed)) assert.equal(v, fresh[k], `the English of ${JSON.stringify(k)}`);
      } finally {
        fs.rmSync(out, { recursive: true, force: true });
      }
    });
  });

  describe('host texts outside the extension host', () => {
    it('english formats messages as vscode.l10n.t does with no translation loaded', () => {
      assert.equal(english.t('T {0}/{1}', 12, 4000), 'T 12/4000');
      assert.equal(english.t('{0} and {0}, {1}', 'a', true), 'a and a, true');
      assert.equal(english.t('an array of {n, digits, value}'), 'an array of {n, digits, value}', 'without arguments nothing is replaced');
      assert.equal(english.t('{2} is missing: {0}', 'x'), '{2} is missing: x', 'a placeholder without its argument stays');
      assert.equal(english.t('{name} at {n}', { name: 'T', n: 3 }), 'T at 3');
      assert.equal(english.t({ message: 'T({0})', args: [5], comment: 'a term' }), 'T(5)');
    });

    it("the host's texts of engine messages are, in English, exactly the engine's (the CLI's)", () => {
      for (const f of FORMATS) {
        assert.deepEqual(exportFormatText(f, english), { label: FORMAT_LABELS[f].label, description: FORMAT_LABELS[f].description }, f);
      }
      for (const input of ['abc', '1.5', '-3', '0', '20001', '99999999999999999999']) {
        const v = validateCount(input);
        assert.ok(!v.ok, input);
        assert.equal(countProblem(input, english), v.reason, input);
      }
      const file = '/tmp/b000182.txt';
      const verdicts: BfileVerdict[] = [
        { kind: 'verified', terms: 500, lines: 502, bytes: 123_456 },
        { kind: 'wrong', line: 323, n: 321, reason: 'it is 5 mod 67108859, the independent check says 7' },
        { kind: 'missing', line: 12, n: 10, found: 11 },
        { kind: 'order', line: 12, n: 10, found: 9 },
        { kind: 'order', line: 12, n: 10, found: 11, laterLine: 14 },
        { kind: 'malformed', line: 3, reason: 'binary data' },
        { kind: 'cancelled', terms: 42, lines: 44 },
      ];
      for (const v of verdicts) assert.equal(verdictText(file, v, english), `Tangent Numbers: ${describeVerdict(file, v)}.`, v.kind);
    });

    it("a stored job's numbers are written as in the language VS Code runs in, and 1 term is singular", () => {
      const job: StoredJob = { dir: '/state/archive-x', current: false, terms: 12345, target: 20000, bytes: 2048, date: 0 };
      assert.equal(storedJobDetail(job, english, 'en'), '12,345 terms of 20,000 · 2.0 KB');
      assert.equal(storedJobDetail(job, english, 'de'), '12.345 terms of 20.000 · 2,0 KB');
      assert.equal(storedJobDetail(job, english, 'not a language tag'), '12,345 terms of 20,000 · 2.0 KB', 'English for a tag Intl rejects');
      assert.equal(storedJobDetail({ ...job, terms: 1, target: undefined }, english, 'en'), '1 term · 2.0 KB');
      assert.equal(storedJobDetail({ ...job, problem: 'CORRUPT: bad header' }, english, 'en'), 'unreadable: CORRUPT: bad header · 2.0 KB');
    });
  });

  describe('no user string in src/ is a literal outside l10n.t', () => {
    let findings: Finding[] | undefined;
    const scan = (): Finding[] => {
      if (!findings) {
        const files = [...sourcesUnder('src/extension').map((f) => ({ fileName: f, side: 'host' as const })), ...sourcesUnder('src/webview').map((f) => ({ fileName: f, side: 'view' as const }))];
        findings = findUserStringLiterals(program(files.map((f) => f.fileName)), files, ROOT);
      }
      return findings;
    };

    it('the detector flags literals that reach what a user reads, and only those', () => {
      const host = `
        import * as vscode from 'vscode';
        function who(pid: number) { return \`pid \${pid} on this machine\`; }
        const BUTTONS = { retry: ['Retry', 'Show Log'], none: [] };
        export function run(n: number, kind: 'retry' | 'none', log: vscode.LogOutputChannel, msg: string) {
          void vscode.window.showErrorMessage(\`Failed at \${n}\`);
          void vscode.window.showInformationMessage(vscode.l10n.t('Done at {0}', n));
          void vscode.window.showInformationMessage(who(n), ...BUTTONS[kind]);
          const item = vscode.window.createStatusBarItem();
          let text: string;
          if (n > 1) text = 'Busy'; else text = \`$(check) \${vscode.l10n.t('idle')}\`;
          item.text = text;
          item.text = \`$(sync~spin) \${n} · \${n}%\`;
          const say = (m: string) => vscode.window.showWarningMessage(m);
          say('Careful');
          void vscode.window.showQuickPick([{ label: 'All terms', id: 'all' }], { title: vscode.l10n.t('Pick') });
          void vscode.window.showInputBox({ prompt: 'How many?', value: 'abc', validateInput: (t) => (t ? undefined : 'not a number') });
          void vscode.window.showSaveDialog({ filters: { 'Text files': ['txt'], [vscode.l10n.t('All')]: ['*'] } });
          void vscode.window.showInformationMessage(vscode.l10n.t('{0} is {1}', n, 'paused'));
          void vscode.window.showInformationMessage(vscode.l10n.t(msg));
          log.info('an English log line for bug reports');
          const panel = vscode.window.createWebviewPanel('id', vscode.l10n.t('Panel'), 1, {});
          panel.webview.html = \`<!DOCTYPE html><html lang="en"><head><title>\${vscode.l10n.t('Terms')}</title></head><body><p id="a" class="b">\${n}</p><img alt="A chart" src="\${n}"></body></html>\`;
          panel.webview.html = \`<section aria-label="\${vscode.l10n.t('Job')}"><script nonce="\${n}">const a = 'b';</script>&nbsp;</section>\`;
          const ID = 'view-config', TIP = 'A tip', BODY = 'Loading terms';
          panel.webview.html = \`<div id="\${ID}" title="\${TIP}"><span class=\${ID}>\${BODY}</span></div>\`;
          throw new Error('an error a test reads');
        }`;
      const view = `
        function el(tag: string, text?: string) { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; return e; }
        export function render(n: number, strings: { loading: string }) {
          const a = el('td', 'Loading…');
          a.setAttribute('aria-label', \`Row \${n}\`);
          a.setAttribute('aria-hidden', 'true');
          a.textContent = strings.loading;
          a.title = '—';
          a.innerHTML = '<svg viewBox="0 0 16 16" aria-hidden="true"><path fill="currentColor" d="M6 4l4 4-4 4z"/></svg>';
          a.insertAdjacentHTML('beforeend', '<b>Bold</b>');
          el('td', String(n));
        }`;
      const program = snippetProgram({ '/snippet/host.ts': host, '/snippet/view.ts': view });
      const got = findUserStringLiterals(program, [{ fileName: '/snippet/host.ts', side: 'host' }, { fileName: '/snippet/view.ts', side: 'view' }], '/snippet');
      assert.deepEqual(got.map((f) => `${f.file}: ${f.text}`), [
        'host.ts: `pid ${pid} on this machine`',
        "host.ts: 'Retry'",
        "host.ts: 'Show Log'",
        'host.ts: `Failed at ${n}`',
        "host.ts: 'Busy'",
        "host.ts: 'Careful'",
        "host.ts: 'All terms'",
        "host.ts: 'How many?'",
        "host.ts: 'not a number'",
        "host.ts: 'Text files'",
        "host.ts: 'paused'",
        'host.ts: vscode.l10n.t(msg)',
        'host.ts: `<!DOCTYPE html><html lang="en"><head><title>${vscode.l10n.t(\'Terms\')}</title></head><body><p id="a" class="b">${n}</p><img alt="A chart" src="${n}"></body></html>`',
        "host.ts: 'A tip'",
        "host.ts: 'Loading terms'",
        "view.ts: 'Loading…'",
        'view.ts: `Row ${n}`',
        "view.ts: '<b>Bold</b>'",
      ], show(got));
    });

    it("numbers in the host's messages are written in the editor's language: no toFixed or toLocaleString inside an l10n.t call", function () {
      this.timeout(120_000);
      const found: string[] = [];
      for (const file of sourcesUnder('src/extension')) {
        const sf = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
        const visit = (node: ts.Node, inL10n: boolean): void => {
          const call = ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) ? node.expression : undefined;
          if (inL10n && call && ['toFixed', 'toLocaleString', 'toPrecision'].includes(call.name.text)) {
            found.push(`${path.relative(ROOT, file)}:${sf.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${node.getText()}`);
          }
          const isT = call !== undefined && call.name.text === 't' && /(^|\.)l10n$/.test(call.expression.getText());
          ts.forEachChild(node, (child) => visit(child, inL10n || isT));
        };
        visit(sf, false);
      }
      assert.deepEqual(found, [], 'use hostNumbers() (src/extension/format.ts), which follows vscode.env.language');
    });

    it('src/extension and src/webview (and what they show of src/common): every user-visible text goes through vscode.l10n.t', function () {
      this.timeout(120_000);
      const found = scan();
      assert.equal(found.length, 0, `literals that reach the user without l10n.t (put them in vscode.l10n.t('…{0}…', args), then run \`npm run l10n\`):\n${show(found)}`);
    });
  });
});
