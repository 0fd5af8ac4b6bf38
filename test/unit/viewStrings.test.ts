// The Terms view speaks the editor's language: every text its script shows is a ViewStrings field that the host
// fills with vscode.l10n.t('English text'); the script and the shared code it bundles hold no words of their own;
// the view's HTML holds no words outside vscode.l10n.t; numbers go through NumberFormat (the editor's locale).
// Read from the sources with the TypeScript compiler: plain Node, no vscode.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as ts from 'typescript';
import { ROOT, l10nObject, l10nTexts, literals, parse, program, projectFiles, src, type Literal } from './sourceText';

/** The interfaces whose fields ViewStrings is made of (it extends the others). */
const TEXT_INTERFACES = new Set(['ViewStrings', 'TookTexts', 'DurationTexts']);

/**
 * Literals that read as words for people: a capitalized word among others ("Copy all digits"), or words ending a
 * sentence ("No job.", "Loading…"). Not markup (the SVG icons), key names ("ArrowDown"), classes or selectors.
 */
function looksLikeText(text: string): boolean {
  const t = text.trim();
  if (t.startsWith('<')) return false;
  const sentence = /\s/.test(t) && /(^|[\s(])[A-Z][a-z]{1,}\b/.test(t);
  const ending = /[A-Za-z][)\]]*[.…!?:]$/.test(t) && !/^[\w-]+(\.[\w-]+)+$/.test(t);
  return sentence || ending;
}

/** Fragments of the English texts (split at placeholders) distinctive enough to search for in the script. */
function fragments(english: readonly string[]): string[] {
  const out = new Set<string>();
  for (const e of english) {
    for (const part of e.split(/\{\d+\}/)) {
      const f = part.trim();
      if (f.length >= 2 && /[A-Za-z]/.test(f) && (/[A-Z\s]/.test(f) || /[.…:!?]$/.test(f))) out.add(f);
    }
  }
  return [...out];
}

/** Literals of `files` that are user text: they read as such, or hold a fragment of the host's English texts. */
function wordsIn(files: readonly ts.SourceFile[], english: readonly string[]): string[] {
  const frags = fragments(english);
  const found: string[] = [];
  const check = (l: Literal) => {
    const frag = frags.find((f) => l.text.includes(f));
    if (looksLikeText(l.text) || frag) found.push(`${l.where}: ${JSON.stringify(l.text)}${frag ? ` (holds "${frag}")` : ''}`);
  };
  for (const f of files) literals(f).forEach(check);
  return found;
}

/** TermsViewProvider.html(): its template with each ${…} as \0, and the English texts of its vscode.l10n.t calls. */
function htmlTemplate(file: ts.SourceFile): { html: string; texts: string[] } {
  let found: { html: string; texts: string[] } | undefined;
  const visit = (node: ts.Node): void => {
    if (ts.isMethodDeclaration(node) && node.name.getText(file) === 'html') {
      const ret = node.body?.statements.find(ts.isReturnStatement)?.expression;
      if (ret && ts.isTemplateExpression(ret)) found = { html: ret.head.text + ret.templateSpans.map((s) => `\0${s.literal.text}`).join(''), texts: l10nTexts(node) };
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  assert.ok(found, 'TermsViewProvider.html() returns a template literal');
  return found;
}

/** Words in an HTML template outside ${…}: in text between tags, and in attributes people read. */
function wordsInHtml(html: string): string[] {
  const found: string[] = [];
  const outside = (s: string) => s.replace(/\0/g, '');
  for (const m of html.matchAll(/>([^<]*)</g)) if (/[A-Za-z]/.test(outside(m[1]))) found.push(`text "${m[1].trim()}"`);
  for (const m of html.matchAll(/\b(aria-label|aria-valuetext|aria-description|title|placeholder|alt)="([^"]*)"/g)) {
    if (/[A-Za-z]/.test(outside(m[2]))) found.push(`${m[1]}="${m[2]}"`);
  }
  return found;
}

describe('Terms view texts (ViewStrings): from the host through vscode.l10n, in the editor\'s language', function () {
  this.timeout(120_000);
  let view: ts.Program;
  let viewFiles: ts.SourceFile[];
  let keys: string[];
  let host: { texts: Record<string, string>; problems: string[] };
  let htmlTexts: string[];
  let html: string;

  before(() => {
    // Everything the view's bundle is built from (esbuild.js: entry src/webview/main.ts), and the ViewStrings type.
    view = program([src('webview/main.ts'), src('common/viewStrings.ts')]);
    viewFiles = projectFiles(view);
    const checker = view.getTypeChecker();
    const viewStrings = view.getSourceFile(src('common/viewStrings.ts'))!;
    const decl = viewStrings.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === 'ViewStrings')!;
    keys = checker.getPropertiesOfType(checker.getTypeAtLocation(decl)).map((p) => p.name).sort();
    const termsView = parse('extension/termsView.ts');
    host = l10nObject([termsView, parse('extension/format.ts')], 'viewStrings');
    ({ html, texts: htmlTexts } = htmlTemplate(termsView));
  });

  it('the view is bundled from its parts and the shared pure code only (no host module)', () => {
    const rel = viewFiles.map((f) => path.relative(ROOT, f.fileName).replace(/\\/g, '/')).sort();
    assert.ok(rel.includes('src/webview/main.ts') && rel.includes('src/webview/virtualTable.ts') && rel.includes('src/common/format.ts'), rel.join(', '));
    assert.deepEqual(rel.filter((f) => !f.startsWith('src/webview/') && !f.startsWith('src/common/')), [], 'the view imports nothing from src/extension (or elsewhere)');
  });

  it('the host fills every ViewStrings field, each with vscode.l10n.t on its English text', () => {
    assert.ok(keys.length >= 50, `ViewStrings has ${keys.length} fields`);
    assert.deepEqual(host.problems, []);
    assert.deepEqual(Object.keys(host.texts).sort(), keys);
    for (const [key, text] of Object.entries(host.texts)) {
      assert.ok(text.trim() !== '' && /\S/.test(text), `${key} is empty`);
      assert.doesNotMatch(text, /\$\{|\{[^\d}]*\}/, `${key}: "${text}" has only {0}-style placeholders`);
    }
  });

  it('the view\'s script uses every ViewStrings field', () => {
    const checker = view.getTypeChecker();
    const used = new Set<string>();
    for (const f of viewFiles) {
      const visit = (node: ts.Node): void => {
        if (ts.isPropertyAccessExpression(node)) {
          const symbol = checker.getTypeAtLocation(node.expression).getSymbol();
          if (symbol && TEXT_INTERFACES.has(symbol.name)) used.add(node.name.text);
        }
        ts.forEachChild(node, visit);
      };
      visit(f);
    }
    assert.deepEqual(keys.filter((k) => !used.has(k)), [], 'fields the view never shows');
  });

  it('the view\'s script and the shared code it bundles hold no user-visible words', () => {
    const english = [...Object.values(host.texts), ...htmlTexts];
    assert.ok(english.length > keys.length, 'the HTML has texts of its own');
    assert.deepEqual(wordsIn(viewFiles, english), []);
  });

  it('the check above finds words where there are some (the checker is no blind spot)', () => {
    const sample = ts.createSourceFile(
      'sample.ts',
      [
        "el('button', 'btn secondary small', 'Copy');",
        'box.textContent = `Copied T(${n}) (${d} digits).`;',
        "state.textContent = 'Loading…';",
        "hint.textContent = 'No terms yet.';",
        "twisty.title = 'Expand or collapse (Enter)';",
        // Not words: classes, selectors, key names, markup, and the texts of errors and logs.
        "el('tr', 'row'); t.closest('tr.row, tr.detail'); if (e.key === 'ArrowDown') {}",
        "icon.innerHTML = '<svg viewBox=\"0 0 16 16\"><path d=\"M6 4l4 4-4 4-.7-.7L8.6 8 5.3 4.7z\"/></svg>';",
        "throw new Error(`#${id} is missing from the view's HTML`); console.error('terms view: bad message', err);",
      ].join('\n'),
      ts.ScriptTarget.ES2022,
      true,
    );
    const found = wordsIn([sample], ['Copy', 'Go']);
    assert.deepEqual(
      found.map((f) => f.replace(/^[^:]*:\d+: /, '')),
      ['"Copy" (holds "Copy")', '"Copied T("', '" digits)."', '"Loading…"', '"No terms yet."', '"Expand or collapse (Enter)"'],
    );
  });

  it('the view\'s HTML has no words outside vscode.l10n.t, and sends the texts and the language as JSON', () => {
    assert.deepEqual(wordsInHtml(html), []);
    assert.deepEqual(wordsInHtml('<p>Terms appear here</p><table aria-label="Tangent numbers"><th>\0</th>'), ['text "Terms appear here"', 'aria-label="Tangent numbers"']);
    for (const t of ['Rate', 'Elapsed', 'ETA', 'Checkpoint', 'Pause', 'Resume', 'Cancel', 'Extend…', 'Export…', 'Compute…', 'Jump to n', 'Go', 'Terms appear here as they finish.']) {
      assert.ok(htmlTexts.includes(t), `the HTML has "${t}" through vscode.l10n.t`);
    }
    assert.match(html, /<html lang="\0">/, 'the document\'s language is the editor\'s');
    assert.match(html, /<script type="application\/json" id="\0" nonce="\0">\0<\/script>/, 'the texts come as a JSON data block');
  });

  it('numbers in the view are written by NumberFormat (the editor\'s locale), never by toLocaleString or toFixed', () => {
    const calls: string[] = [];
    for (const f of viewFiles) {
      const visit = (node: ts.Node): void => {
        if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && ['toLocaleString', 'toFixed', 'toPrecision'].includes(node.expression.name.text)) {
          calls.push(`${path.relative(ROOT, f.fileName)}: ${node.getText(f)}`);
        }
        ts.forEachChild(node, visit);
      };
      visit(f);
    }
    assert.deepEqual(calls, []);
  });
});
