// Finds user-visible text written as a literal instead of through l10n.t: starting at every place a user reads
// text (the sinks below), it follows the value back through the TypeScript program — local and module
// variables and their assignments, parameters to the arguments of every call of their function, return values
// of called functions, ?: / ?? / || / +, array and object literals, element access — and reports every string
// or template literal with words in it that gets there without being the message of an l10n.t call.
// Used by manifestL10n.test.ts (which also feeds it snippets that must and must not be flagged).
import * as path from 'node:path';
import * as ts from 'typescript';

/** Where text reaches the user. Host: src/extension; view: src/webview (the DOM). */
export const SINKS = {
  /** Host calls whose arguments are shown: index list, or 'all'. */
  hostCalls: {
    showInformationMessage: 'all', // message, its buttons (strings or MessageItem titles), options.detail
    showWarningMessage: 'all',
    showErrorMessage: 'all',
    setStatusBarMessage: [0],
    showQuickPick: [0], // its items (strings or QuickPickItems)
    appendMarkdown: [0], // MarkdownString: the status bar tooltip
    appendText: [0],
  } as Record<string, 'all' | number[]>,
  /** Host constructors whose arguments are shown. */
  hostConstructors: { MarkdownString: [0] } as Record<string, 'all' | number[]>,
  /** Host object-literal properties shown by VS Code: input box, quick pick, progress and dialog options,
   *  QuickPickItem, QuickInputButton, MessageItem, AccessibilityInformation, progress.report({ message }),
   *  and this extension's own JobView / JobNotice / JobFailure messages. */
  hostFields: ['title', 'prompt', 'placeHolder', 'placeholder', 'label', 'description', 'detail', 'tooltip', 'saveLabel', 'openLabel', 'message', 'validationMessage'],
  /** Host property assignments shown: StatusBarItem (text, tooltip, name, accessibilityInformation), QuickPick
   *  and InputBox (title, placeholder, prompt, validationMessage …). */
  hostAssignments: ['text', 'tooltip', 'name', 'accessibilityInformation', 'title', 'placeholder', 'prompt', 'description', 'detail', 'label', 'validationMessage', 'message'],
  /** Host object-literal properties whose keys are shown: the save and open dialogs' file type filters. */
  hostKeyFields: ['filters'],
  /** Host functions whose return values are shown: an input box's validation message. */
  hostReturns: ['validateInput'],
  /** Host property assignments of HTML (a webview's page): its text and its text attributes are shown. */
  hostHtmlAssignments: ['html'],
  /** View: DOM properties assigned text. */
  viewAssignments: ['textContent', 'innerText', 'title', 'placeholder', 'alt', 'ariaLabel', 'ariaDescription', 'ariaValueText', 'ariaRoleDescription', 'ariaPlaceholder'],
  /** View: setAttribute(name, text) for these attributes (and, in HTML, these attributes' values). */
  viewAttributes: ['aria-label', 'aria-description', 'aria-valuetext', 'aria-roledescription', 'aria-placeholder', 'title', 'placeholder', 'alt'],
  /** View: DOM properties assigned HTML. */
  viewHtmlAssignments: ['innerHTML', 'outerHTML'],
  /** View: calls whose argument at this index is HTML. */
  viewHtmlCalls: { insertAdjacentHTML: 1 } as Record<string, number>,
};

export type Side = 'host' | 'view';

export interface Finding {
  /** Where the literal is (path relative to the scanned root). */
  file: string;
  line: number;
  /** The literal as written. */
  text: string;
  /** What it reaches, and where. */
  sink: string;
}

/** Whether a literal says something in words: codicons ($(name), $(name~spin)), digits, punctuation,
 *  symbols and spaces alone do not. */
export function isVerbal(text: string): boolean {
  return /\p{L}/u.test(text.replace(/\$\([a-z0-9-]+(?:~[a-z]+)?\)/gi, ''));
}

/** Where a substitution that follows the HTML `before` lands: in text (which may be HTML), in the value of an
 *  attribute a user reads ('attribute': plain text), or elsewhere inside a tag ('markup': never shown). */
export function htmlSlot(before: string): 'text' | 'attribute' | 'markup' {
  const open = before.lastIndexOf('<');
  if (open < 0 || open < before.lastIndexOf('>')) return 'text';
  const attribute = /([\w-]+)\s*=\s*["']?[^"'\s>]*$/.exec(before.slice(open));
  return attribute && SINKS.viewAttributes.includes(attribute[1].toLowerCase()) ? 'attribute' : 'markup';
}

/** Whether HTML says something in words: its text outside tags (script and style excluded), or the value of an
 *  attribute a user reads (title, alt, placeholder, aria-label …). Markup, ids, classes and paths do not count. */
export function htmlHasWords(html: string): boolean {
  const attributes = new RegExp(`\\s(?:${SINKS.viewAttributes.join('|')})\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, 'gi');
  const values = [...html.matchAll(attributes)].map((m) => m[1] ?? m[2]);
  const text = html
    .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(?:[a-z]+|#\d+|#x[0-9a-f]+);/gi, ' ');
  return [...values, text].some(isVerbal);
}

/** `l10n.t(…)` or `vscode.l10n.t(…)` (any object named l10n, the name the export tool looks for). */
function isL10nT(call: ts.CallExpression): boolean {
  const callee = call.expression;
  if (!ts.isPropertyAccessExpression(callee) || callee.name.text !== 't') return false;
  const obj = callee.expression;
  return (ts.isIdentifier(obj) && obj.text === 'l10n') || (ts.isPropertyAccessExpression(obj) && obj.name.text === 'l10n');
}

/** A literal l10n.t can export: a plain string, or { message: '…', comment } (no substitutions). */
function isExportableMessage(e: ts.Expression | undefined): boolean {
  if (!e) return false;
  if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) return true;
  if (ts.isObjectLiteralExpression(e)) {
    const m = e.properties.find((p) => p.name && ts.isIdentifier(p.name) && p.name.text === 'message');
    return !!m && ts.isPropertyAssignment(m) && (ts.isStringLiteral(m.initializer) || ts.isNoSubstitutionTemplateLiteral(m.initializer));
  }
  return false;
}

function calleeName(e: ts.LeftHandSideExpression): string | undefined {
  if (ts.isIdentifier(e)) return e.text;
  if (ts.isPropertyAccessExpression(e)) return e.name.text;
  return undefined;
}

function propertyName(name: ts.PropertyName): string | undefined {
  return ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name) ? name.text : undefined;
}

type FunctionLike = ts.FunctionDeclaration | ts.MethodDeclaration | ts.FunctionExpression | ts.ArrowFunction | ts.GetAccessorDeclaration;

/** The values a function returns (its own return statements, not those of functions nested in it). */
function returnedValues(f: FunctionLike): ts.Expression[] {
  if (!f.body) return [];
  if (!ts.isBlock(f.body)) return [f.body];
  const out: ts.Expression[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isReturnStatement(n)) {
      if (n.expression) out.push(n.expression);
    } else if (!ts.isFunctionLike(n)) ts.forEachChild(n, visit);
  };
  ts.forEachChild(f.body, visit);
  return out;
}

function isFunctionLikeWithBody(n: ts.Node): n is FunctionLike {
  return (ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isFunctionExpression(n) || ts.isArrowFunction(n) || ts.isGetAccessorDeclaration(n)) && !!n.body;
}

/**
 * Scans `files` of `program` (each with its side) and returns the literals that reach a sink, in file order.
 * `root` makes the reported paths relative.
 */
export function findUserStringLiterals(program: ts.Program, files: { fileName: string; side: Side }[], root: string): Finding[] {
  const checker = program.getTypeChecker();
  const sources = program.getSourceFiles().filter((f) => !f.isDeclarationFile && !f.fileName.includes('/node_modules/'));
  const rel = (f: ts.SourceFile) => path.relative(root, f.fileName).split(path.sep).join('/');
  const where = (n: ts.Node) => {
    const f = n.getSourceFile();
    return `${rel(f)}:${f.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
  };

  const resolve = (n: ts.Node): ts.Symbol | undefined => {
    let s = ts.isShorthandPropertyAssignment(n.parent) && n.parent.name === n ? checker.getShorthandAssignmentValueSymbol(n.parent) : checker.getSymbolAtLocation(n);
    if (s && s.flags & ts.SymbolFlags.Alias) s = checker.getAliasedSymbol(s);
    return s;
  };

  // Every assignment to a variable, and every call of a function, in the program's own sources.
  const assignments = new Map<ts.Symbol, ts.Expression[]>();
  const calls = new Map<ts.Symbol, ts.CallExpression[]>();
  const push = <K, V>(m: Map<K, V[]>, k: K, v: V) => (m.get(k) ?? m.set(k, []).get(k)!).push(v);
  for (const sf of sources) {
    const visit = (n: ts.Node): void => {
      if (ts.isBinaryExpression(n) && ts.isIdentifier(n.left) && (n.operatorToken.kind === ts.SyntaxKind.EqualsToken || n.operatorToken.kind === ts.SyntaxKind.PlusEqualsToken)) {
        const s = resolve(n.left);
        if (s) push(assignments, s, n.right);
      }
      if (ts.isCallExpression(n)) {
        const c = n.expression;
        const s = ts.isIdentifier(c) ? resolve(c) : ts.isPropertyAccessExpression(c) ? resolve(c.name) : undefined;
        if (s) push(calls, s, n);
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }

  const found = new Map<ts.Node, Finding>();
  const report = (lit: ts.Node, sink: string) => {
    if (found.has(lit)) return;
    const f = lit.getSourceFile();
    found.set(lit, { file: rel(f), line: f.getLineAndCharacterOfPosition(lit.getStart()).line + 1, text: lit.getText(), sink });
  };
  const seen = new Set<string>();

  /** The symbol of a function-like node (a declaration's name, or the variable / property it is assigned to). */
  const functionSymbol = (f: ts.SignatureDeclaration): ts.Symbol | undefined => {
    if ((ts.isFunctionDeclaration(f) || ts.isMethodDeclaration(f)) && f.name) return resolve(f.name);
    const p = f.parent;
    if ((ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) && p.name && !ts.isArrayBindingPattern(p.name) && !ts.isObjectBindingPattern(p.name)) {
      return resolve(p.name);
    }
    return undefined;
  };

  /**
   * Follows `e` back to the literals it may hold. `elements`: e is indexed (x[k]), so all its values count;
   * `html`: e is HTML, whose markup is not text.
   */
  const flow = (e: ts.Expression, sink: string, elements = false, html = false): void => {
    const key = `${e.getSourceFile().fileName}:${e.pos}:${e.end}:${e.kind}:${elements}:${html}`;
    if (seen.has(key)) return;
    seen.add(key);
    const hasWords = html ? htmlHasWords : isVerbal;
    if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) {
      if (hasWords(e.text)) report(e, sink);
    } else if (ts.isTemplateExpression(e)) {
      // The static text with each interpolation as one non-letter (a tag split by one is still a tag).
      if (hasWords([e.head.text, ...e.templateSpans.map((s) => s.literal.text)].join('\u0001'))) report(e, sink);
      let before = e.head.text;
      for (const s of e.templateSpans) {
        const at = html ? htmlSlot(before) : 'text';
        // Inside a tag only a text attribute's value is read; ids, classes, URIs and the like are not.
        if (at !== 'markup') flow(s.expression, sink, false, html && at === 'text');
        before += `\u0001${s.literal.text}`;
      }
    } else if (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isNonNullExpression(e) || ts.isTypeAssertionExpression(e) || ts.isSatisfiesExpression(e)) {
      flow(e.expression, sink, elements, html);
    } else if (ts.isConditionalExpression(e)) {
      flow(e.whenTrue, sink, elements, html);
      flow(e.whenFalse, sink, elements, html);
    } else if (ts.isBinaryExpression(e)) {
      const op = e.operatorToken.kind;
      if (op === ts.SyntaxKind.PlusToken || op === ts.SyntaxKind.QuestionQuestionToken || op === ts.SyntaxKind.BarBarToken) flow(e.left, sink, elements, html);
      if ([ts.SyntaxKind.PlusToken, ts.SyntaxKind.QuestionQuestionToken, ts.SyntaxKind.BarBarToken, ts.SyntaxKind.AmpersandAmpersandToken, ts.SyntaxKind.CommaToken, ts.SyntaxKind.EqualsToken].includes(op)) {
        flow(e.right, sink, elements, html);
      }
    } else if (ts.isArrayLiteralExpression(e)) {
      for (const x of e.elements) flow(ts.isSpreadElement(x) ? x.expression : x, sink, false, html);
    } else if (ts.isSpreadElement(e)) {
      flow(e.expression, sink, elements, html);
    } else if (ts.isObjectLiteralExpression(e)) {
      // Indexed: every value is a candidate; passed whole: only the fields VS Code shows.
      for (const p of e.properties) {
        const name = p.name ? propertyName(p.name) : undefined;
        if (!elements && !(name && SINKS.hostFields.includes(name))) continue;
        if (ts.isPropertyAssignment(p)) flow(p.initializer, sink, false, html && elements);
        else if (ts.isShorthandPropertyAssignment(p)) flow(p.name, sink, false, html && elements);
        else if (ts.isSpreadAssignment(p)) flow(p.expression, sink, elements, html);
      }
    } else if (ts.isElementAccessExpression(e)) {
      flow(e.expression, sink, true, html);
    } else if (ts.isCallExpression(e)) {
      if (isL10nT(e)) {
        // Its message is exported; a further argument with words would be an English fragment in a translation.
        for (const a of e.arguments.slice(1)) flow(a, `${sink}, as an argument of l10n.t at ${where(e)}`);
        return;
      }
      const c = e.expression;
      const s = ts.isIdentifier(c) ? resolve(c) : ts.isPropertyAccessExpression(c) ? resolve(c.name) : undefined;
      for (const d of s?.declarations ?? []) {
        const f = ts.isVariableDeclaration(d) || ts.isPropertyAssignment(d) || ts.isPropertyDeclaration(d) ? d.initializer : d;
        if (f && isFunctionLikeWithBody(f) && !f.getSourceFile().isDeclarationFile) for (const r of returnedValues(f)) flow(r, sink, false, html);
      }
    } else if (ts.isIdentifier(e) || ts.isPropertyAccessExpression(e)) {
      const s = resolve(ts.isIdentifier(e) ? e : e.name);
      for (const d of s?.declarations ?? []) {
        if (d.getSourceFile().isDeclarationFile) continue;
        if ((ts.isVariableDeclaration(d) || ts.isPropertyAssignment(d) || ts.isPropertyDeclaration(d)) && d.initializer) flow(d.initializer, sink, elements, html);
        else if (ts.isGetAccessorDeclaration(d)) for (const r of returnedValues(d)) flow(r, sink, elements, html);
        else if (ts.isParameter(d)) {
          if (d.initializer) flow(d.initializer, sink, elements, html);
          const fn = d.parent;
          const index = fn.parameters.indexOf(d);
          const fs = functionSymbol(fn);
          for (const call of (fs && calls.get(fs)) ?? []) {
            const args = d.dotDotDotToken ? call.arguments.slice(index) : call.arguments.slice(index, index + 1);
            for (const a of args) flow(ts.isSpreadElement(a) ? a.expression : a, sink, elements, html);
          }
        }
      }
      for (const a of (s && assignments.get(s)) ?? []) flow(a, sink, elements, html);
    }
  };

  const flowArgs = (args: readonly ts.Expression[], which: 'all' | number[], sink: string) => {
    args.forEach((a, i) => {
      if (which === 'all' || which.includes(i)) flow(ts.isSpreadElement(a) ? a.expression : a, sink);
    });
  };

  const problems: Finding[] = [];
  for (const { fileName, side } of files) {
    const sf = program.getSourceFile(fileName);
    if (!sf) throw new Error(`${fileName} is not in the program`);
    const visit = (n: ts.Node): void => {
      if (ts.isCallExpression(n) && isL10nT(n) && !isExportableMessage(n.arguments[0])) {
        // The export tool cannot see such a message: it would never be translated.
        problems.push({ file: rel(sf), line: sf.getLineAndCharacterOfPosition(n.getStart()).line + 1, text: n.getText(), sink: 'l10n.t with a message that is not a plain literal' });
      }
      if (side === 'host') {
        if (ts.isCallExpression(n) && !isL10nT(n)) {
          const name = calleeName(n.expression);
          if (name && Object.hasOwn(SINKS.hostCalls, name)) flowArgs(n.arguments, SINKS.hostCalls[name], `${name}(…) at ${where(n)}`);
        } else if (ts.isNewExpression(n)) {
          const name = calleeName(n.expression);
          if (name && Object.hasOwn(SINKS.hostConstructors, name) && n.arguments) flowArgs(n.arguments, SINKS.hostConstructors[name], `new ${name}(…) at ${where(n)}`);
        } else if (ts.isPropertyAssignment(n) || ts.isShorthandPropertyAssignment(n) || ts.isMethodDeclaration(n)) {
          const name = propertyName(n.name);
          if (name && SINKS.hostReturns.includes(name)) {
            const f = ts.isPropertyAssignment(n) ? n.initializer : n;
            if (isFunctionLikeWithBody(f)) for (const r of returnedValues(f)) flow(r, `${name} at ${where(n)}`);
          } else if (name && SINKS.hostFields.includes(name) && ts.isObjectLiteralElementLike(n) && ts.isObjectLiteralExpression(n.parent)) {
            flow(ts.isPropertyAssignment(n) ? n.initializer : (n.name as ts.Identifier), `${name}: at ${where(n)}`);
          } else if (name && SINKS.hostKeyFields.includes(name) && ts.isPropertyAssignment(n) && ts.isObjectLiteralExpression(n.initializer)) {
            for (const p of n.initializer.properties) {
              if (!p.name) continue;
              if (ts.isComputedPropertyName(p.name)) flow(p.name.expression, `a ${name} key at ${where(p)}`);
              else if (isVerbal(propertyName(p.name) ?? '')) report(p.name, `a ${name} key at ${where(p)}`);
            }
          }
        } else if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isPropertyAccessExpression(n.left)) {
          const name = n.left.name.text;
          if (SINKS.hostAssignments.includes(name)) flow(n.right, `.${name} = at ${where(n)}`);
          else if (SINKS.hostHtmlAssignments.includes(name)) flow(n.right, `.${name} = (HTML) at ${where(n)}`, false, true);
        }
      } else {
        if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isPropertyAccessExpression(n.left)) {
          const name = n.left.name.text;
          if (SINKS.viewAssignments.includes(name)) flow(n.right, `.${name} = at ${where(n)}`);
          else if (SINKS.viewHtmlAssignments.includes(name)) flow(n.right, `.${name} = (HTML) at ${where(n)}`, false, true);
        } else if (ts.isCallExpression(n)) {
          const name = calleeName(n.expression);
          const attr = n.arguments[0];
          if (name === 'setAttribute' && n.arguments.length === 2 && ts.isStringLiteral(attr) && SINKS.viewAttributes.includes(attr.text)) {
            flow(n.arguments[1], `setAttribute('${attr.text}', …) at ${where(n)}`);
          } else if (name && Object.hasOwn(SINKS.viewHtmlCalls, name)) {
            const html = n.arguments[SINKS.viewHtmlCalls[name]];
            if (html) flow(html, `${name}(…) (HTML) at ${where(n)}`, false, true);
          }
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  const order = (a: Finding, b: Finding) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line);
  return [...found.values(), ...problems].sort(order);
}

/** A program of in-memory files (no lib, no imports resolved): enough for the detector's own tests. */
export function snippetProgram(files: Record<string, string>): ts.Program {
  const options: ts.CompilerOptions = { noLib: true, noResolve: true, target: ts.ScriptTarget.ES2022, types: [] };
  const host = ts.createCompilerHost(options);
  host.getSourceFile = (name, version) => (name in files ? ts.createSourceFile(name, files[name], version, true) : undefined);
  host.fileExists = (name) => name in files;
  host.readFile = (name) => files[name];
  return ts.createProgram(Object.keys(files), options, host);
}

