// Reads the user-visible texts out of the sources with the TypeScript compiler (no vscode needed): the English
// texts the host passes to vscode.l10n.t, and every string literal of the Terms view's script.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import type { TookTexts } from '../../src/common/format';

export const ROOT = path.resolve(__dirname, '../../..');
export const src = (rel: string): string => path.join(ROOT, 'src', rel);

/** A program over the given entry files (and everything they import), with the project's compiler options. */
export function program(entries: string[]): ts.Program {
  const configFile = path.join(ROOT, 'tsconfig.json');
  const { config } = ts.readConfigFile(configFile, (f) => ts.sys.readFile(f)) as { config: unknown };
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, ROOT);
  return ts.createProgram(entries, { ...options, noEmit: true });
}

/** The source files of the project (not node_modules, not .d.ts) in a program, by path relative to ROOT. */
export function projectFiles(p: ts.Program): ts.SourceFile[] {
  return p.getSourceFiles().filter((f) => !f.isDeclarationFile && !path.relative(ROOT, f.fileName).startsWith('node_modules'));
}

const isL10nT = (e: ts.Expression): boolean =>
  ts.isPropertyAccessExpression(e) &&
  e.name.text === 't' &&
  ts.isPropertyAccessExpression(e.expression) &&
  e.expression.name.text === 'l10n' &&
  ts.isIdentifier(e.expression.expression) &&
  e.expression.expression.text === 'vscode';

/** The English text of a `vscode.l10n.t('…')` call (its first argument, a plain literal), else undefined. */
export function l10nLiteral(node: ts.Node): string | undefined {
  if (!ts.isCallExpression(node) || !isL10nT(node.expression)) return undefined;
  const first = node.arguments[0];
  return first && (ts.isStringLiteral(first) || ts.isNoSubstitutionTemplateLiteral(first)) ? first.text : undefined;
}

/** Every `vscode.l10n.t('…')` English text in a file or a part of one, in order. */
export function l10nTexts(root: ts.Node): string[] {
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    const text = l10nLiteral(node);
    if (text !== undefined) out.push(text);
    ts.forEachChild(node, visit);
  };
  visit(root);
  return out;
}

function topLevelFunctions(files: readonly ts.SourceFile[]): Map<string, ts.FunctionDeclaration> {
  const fns = new Map<string, ts.FunctionDeclaration>();
  for (const f of files) for (const s of f.statements) if (ts.isFunctionDeclaration(s) && s.name) fns.set(s.name.text, s);
  return fns;
}

/**
 * The fields of the object literal that top-level function `name` returns, each with its English text: a field
 * must be a `vscode.l10n.t('…')` call on a literal; a spread must be a call of another such function in `files`.
 * Anything else is reported in `problems`.
 */
export function l10nObject(files: readonly ts.SourceFile[], name: string): { texts: Record<string, string>; problems: string[] } {
  const fns = topLevelFunctions(files);
  const texts: Record<string, string> = {};
  const problems: string[] = [];
  const collect = (fnName: string): void => {
    const fn = fns.get(fnName);
    const ret = fn?.body?.statements.find(ts.isReturnStatement)?.expression;
    if (!ret || !ts.isObjectLiteralExpression(ret)) {
      problems.push(`${fnName}() does not return an object literal`);
      return;
    }
    for (const prop of ret.properties) {
      if (ts.isSpreadAssignment(prop) && ts.isCallExpression(prop.expression) && ts.isIdentifier(prop.expression.expression)) {
        collect(prop.expression.expression.text);
      } else if (ts.isPropertyAssignment(prop) && ts.isIdentifier(prop.name)) {
        const text = l10nLiteral(prop.initializer);
        if (text === undefined) problems.push(`${fnName}(): ${prop.name.text} is not vscode.l10n.t('…') on a literal`);
        else if (prop.name.text in texts) problems.push(`${fnName}(): ${prop.name.text} is set twice`);
        else texts[prop.name.text] = text;
      } else {
        problems.push(`${fnName}(): unexpected ${ts.SyntaxKind[prop.kind]} "${prop.getText()}"`);
      }
    }
  };
  collect(name);
  return { texts, problems };
}

/** A file of the project, parsed (syntax only). */
export function parse(rel: string): ts.SourceFile {
  return ts.createSourceFile(rel, fs.readFileSync(src(rel), 'utf8'), ts.ScriptTarget.ES2022, true);
}

/** The host's English TookTexts (src/extension/format.ts): the l10n keys, which are what an English editor shows. */
export function englishTookTexts(): TookTexts {
  const { texts, problems } = l10nObject([parse('extension/format.ts')], 'tookTexts');
  assert.deepEqual(problems, [], 'tookTexts() is made of vscode.l10n.t calls on literals');
  return texts as unknown as TookTexts;
}

/** A string literal or the literal text of a template part, where it is in the code. */
export interface Literal {
  text: string;
  where: string;
}

/** Where a literal is no user text: module names, literal types, and the arguments of errors, logs and marks. */
function isExempt(node: ts.Node): boolean {
  for (let n: ts.Node = node; n.parent; n = n.parent) {
    const p = n.parent;
    if (ts.isImportDeclaration(p) || ts.isExportDeclaration(p) || ts.isLiteralTypeNode(p)) return true;
    if (ts.isNewExpression(p) && ts.isIdentifier(p.expression) && p.expression.text === 'Error') return true;
    if (ts.isCallExpression(p) && ts.isPropertyAccessExpression(p.expression) && ts.isIdentifier(p.expression.expression)) {
      const object = p.expression.expression.text;
      if (object === 'console' || (object === 'performance' && p.expression.name.text === 'mark')) return true;
    }
    if (ts.isStatement(p) || ts.isClassElement(p)) return false;
  }
  return false;
}

/** Every string literal and template text of a file that could reach the user (see isExempt). */
export function literals(file: ts.SourceFile): Literal[] {
  const out: Literal[] = [];
  const add = (node: ts.Node, text: string): void => {
    if (text === '' || isExempt(node)) return;
    const { line } = file.getLineAndCharacterOfPosition(node.getStart(file));
    out.push({ text, where: `${path.relative(ROOT, file.fileName)}:${line + 1}` });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) add(node, node.text);
    else if (ts.isTemplateExpression(node)) {
      add(node.head, node.head.text);
      for (const span of node.templateSpans) add(span.literal, span.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}
