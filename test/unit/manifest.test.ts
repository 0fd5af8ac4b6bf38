// The extension manifest (package.json contributions) and how it ties to the code and the package.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
interface MenuEntry {
  command: string;
  when?: string;
  group?: string;
}
interface Setting {
  type: string;
  default: unknown;
  scope?: string;
  description?: string;
  markdownDescription?: string;
  minimum?: number;
  maximum?: number;
}
/** The fields of package.json this test reads (what it asserts of them is below). */
interface Manifest {
  publisher: string;
  name: string;
  main: string;
  icon: string;
  homepage: string;
  engines: { vscode: string };
  extensionKind: string[];
  activationEvents: string[];
  categories: string[];
  bugs: { url: string };
  galleryBanner: { color: string; theme: string };
  capabilities: {
    untrustedWorkspaces: { supported: string; restrictedConfigurations: string[]; description: string };
    virtualWorkspaces: { supported: string; description: string };
  };
  contributes: {
    commands: { command: string; title: string; category: string; icon: string }[];
    menus: Record<string, MenuEntry[]>;
    viewsContainers: { activitybar: { id: string; title: string; icon: string }[] };
    views: Record<string, { id: string; type: string; name: string }[]>;
    configuration: { properties: Record<string, Setting> };
  };
}

// User-visible strings are %key% placeholders (manifestL10n.test.ts checks them): these tests read their English.
const nls = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.nls.json'), 'utf8')) as Record<string, string>;
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'), (_key, v: unknown) =>
  typeof v === 'string' && /^%[^%\s]+%$/.test(v) && typeof nls[v.slice(1, -1)] === 'string' ? nls[v.slice(1, -1)] : v,
) as Manifest;
const contributes = pkg.contributes;
const COMMANDS = [
  'compute', 'pause', 'resume', 'cancel', 'showTerms', 'export', 'showLog', 'takeOver',
  'verifyBfile', 'manageStoredJobs', 'copyTerm', 'copyBfileLine', 'exportFrom',
].map((c) => `tangentNumbers.${c}`);
// https://code.visualstudio.com/api/references/extension-manifest (categories)
const KNOWN_CATEGORIES = [
  'AI', 'Azure', 'Chat', 'Data Science', 'Debuggers', 'Education', 'Extension Packs', 'Formatters', 'Keymaps',
  'Language Packs', 'Linters', 'Machine Learning', 'Notebooks', 'Other', 'Programming Languages', 'SCM Providers',
  'Snippets', 'Testing', 'Themes', 'Visualization',
];

describe('manifest (package.json)', () => {
  it('identity, engine, entry point and kind', () => {
    assert.equal(`${pkg.publisher}.${pkg.name}`, 'tangent-numbers.tangent-numbers');
    assert.match(pkg.engines.vscode, /^\^1\.\d+\.\d+$/);
    assert.equal(pkg.main, './dist/extension.js');
    assert.deepEqual(pkg.extensionKind, ['workspace'], 'runs where the files are (worker threads, fs)');
    assert.deepEqual(pkg.activationEvents, ['onStartupFinished'], 'activates after start-up to resume a job, never on "*"');
    assert.ok(fs.existsSync(path.join(ROOT, pkg.icon)), `icon ${pkg.icon} exists`);
  });

  it('declares Restricted Mode and virtual workspaces truthfully, and the Marketplace page fields', () => {
    // It reads no workspace file: enabled in Restricted Mode, where a workspace may not set the threads or their memory.
    assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
    assert.deepEqual([...pkg.capabilities.untrustedWorkspaces.restrictedConfigurations].sort(), ['tangentNumbers.threads', 'tangentNumbers.workerMemoryLimitMb']);
    assert.match(pkg.capabilities.untrustedWorkspaces.description, /Restricted Mode/);
    assert.equal(pkg.capabilities.virtualWorkspaces.supported, 'limited');
    assert.match(pkg.capabilities.virtualWorkspaces.description, /Export writes only to files on the machine/);
    assert.match(pkg.homepage, /^https:\/\//);
    assert.match(pkg.bugs.url, /^https:\/\/.*\/issues$/);
    assert.match(pkg.galleryBanner.color, /^#[0-9a-f]{6}$/i);
    assert.ok(['dark', 'light'].includes(pkg.galleryBanner.theme));
  });

  it('every setting has a scope; what a repository must not choose for this machine is machine-scoped', () => {
    const props = contributes.configuration.properties as Record<string, { scope?: string }>;
    const allowed = ['application', 'machine', 'machine-overridable', 'window', 'resource', 'language-overridable'];
    for (const [key, p] of Object.entries(props)) assert.ok(p.scope && allowed.includes(p.scope), `${key} has a scope`);
    for (const key of ['tangentNumbers.threads', 'tangentNumbers.workerMemoryLimitMb']) {
      assert.ok(['machine', 'machine-overridable', 'application'].includes(props[key].scope!), `${key} cannot come from a workspace's settings`);
    }
  });

  it('categories are known marketplace categories', () => {
    assert.deepEqual(pkg.categories, ['Other', 'Data Science']);
    for (const c of pkg.categories) assert.ok(KNOWN_CATEGORIES.includes(c), `unknown category ${c}`);
  });

  it('contributes exactly its commands, all in the "Tangent Numbers" category, registered by the code', () => {
    const ids = contributes.commands.map((c) => c.command);
    assert.deepEqual([...ids].sort(), [...COMMANDS].sort());
    const source = fs.readFileSync(path.join(ROOT, 'src', 'extension', 'extension.ts'), 'utf8');
    for (const c of contributes.commands) {
      assert.equal(c.category, 'Tangent Numbers', `${c.command} category`);
      assert.ok(typeof c.title === 'string' && c.title.length > 0, `${c.command} title`);
      assert.match(c.icon, /^\$\([a-z-]+\)$/, `${c.command} icon is a codicon`);
      assert.ok(source.includes(`registerCommand('${c.command}'`), `${c.command} is registered in extension.ts`);
    }
    // Commands that ask for more input end with an ellipsis (VS Code UX guideline).
    const title = (id: string) => contributes.commands.find((c) => c.command === id)?.title;
    assert.equal(title('tangentNumbers.compute'), 'Compute…');
    assert.equal(title('tangentNumbers.export'), 'Export…');
    assert.equal(title('tangentNumbers.verifyBfile'), 'Verify b-file…');
  });

  it('palette and view menus follow the job state through the tangentNumbers.jobState context key', () => {
    const when = (menu: MenuEntry[], id: string) => menu.find((m) => m.command === id)?.when;
    const palette = contributes.menus.commandPalette;
    assert.equal(when(palette, 'tangentNumbers.pause'), 'tangentNumbers.jobState == running');
    assert.equal(when(palette, 'tangentNumbers.resume'), 'tangentNumbers.jobState == paused || tangentNumbers.jobState == cancelled || tangentNumbers.jobState == error');
    assert.equal(when(palette, 'tangentNumbers.cancel'), 'tangentNumbers.jobState == running || tangentNumbers.jobState == paused');
    assert.equal(when(palette, 'tangentNumbers.export'), 'tangentNumbers.jobState && tangentNumbers.jobState != none');
    assert.equal(when(palette, 'tangentNumbers.compute'), undefined, 'Compute is always available');
    for (const m of [...palette, ...contributes.menus['view/title']]) {
      assert.ok(COMMANDS.includes(m.command), `menu entry for unknown command ${m.command}`);
    }
    for (const m of contributes.menus['view/title']) {
      assert.match(m.when ?? '', /^view == tangentNumbers\.terms\b/, `view/title entry ${m.command} is scoped to the terms view`);
      assert.match(m.group ?? '', /^navigation@\d+$/);
    }
    const controller = fs.readFileSync(path.join(ROOT, 'src', 'extension', 'jobController.ts'), 'utf8');
    assert.ok(controller.includes(`'setContext', 'tangentNumbers.jobState'`), 'the controller sets the context key the when clauses use');
  });

  it('the row context menu of the Terms view: Copy T(n), Copy as b-file line, Export from here, hidden from the palette', () => {
    const ROW = ['tangentNumbers.copyTerm', 'tangentNumbers.copyBfileLine', 'tangentNumbers.exportFrom'];
    const menu = contributes.menus['webview/context'] as { command: string; when: string; group: string }[];
    assert.deepEqual(menu.map((m) => m.command), ROW);
    for (const m of menu) assert.equal(m.when, "webviewId == 'tangentNumbers.terms' && webviewSection == 'row'", `${m.command} shows on rows only`);
    for (const id of ROW) {
      const p = contributes.menus.commandPalette.find((m) => m.command === id);
      assert.equal(p?.when, 'false', `${id} is hidden from the command palette (it needs a row)`);
    }
    // The rows carry the context the when clauses test.
    const dir = path.join(ROOT, 'src', 'webview');
    const webview = fs.readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n');
    assert.ok(webview.includes("webviewSection: 'row', n, preventDefaultContextMenuItems: true"), 'rows carry data-vscode-context');
  });

  it('contributes the Tangent Numbers view container with the Terms webview view', () => {
    const containers = contributes.viewsContainers.activitybar;
    assert.equal(containers.length, 1);
    assert.equal(containers[0].id, 'tangentNumbers');
    assert.equal(containers[0].title, 'Tangent Numbers');
    assert.ok(fs.existsSync(path.join(ROOT, containers[0].icon)), `view container icon ${containers[0].icon} exists`);
    const views = contributes.views.tangentNumbers;
    assert.equal(views.length, 1);
    assert.equal(views[0].id, 'tangentNumbers.terms');
    assert.equal(views[0].type, 'webview');
    assert.equal(views[0].name, 'Terms');
  });

  it('contributes the settings with defaults inside their bounds', () => {
    const props = contributes.configuration.properties;
    const expected: Record<string, { type: string; default: unknown }> = {
      'tangentNumbers.defaultCount': { type: 'integer', default: 1000 },
      'tangentNumbers.checkpointIntervalSeconds': { type: 'integer', default: 5 },
      'tangentNumbers.resumeOnStartup': { type: 'boolean', default: true },
      'tangentNumbers.workerMemoryLimitMb': { type: 'integer', default: 1024 },
      'tangentNumbers.threads': { type: 'integer', default: 0 },
      'tangentNumbers.statusBar.keepAfterDone': { type: 'boolean', default: false },
    };
    assert.deepEqual(Object.keys(props).sort(), Object.keys(expected).sort());
    for (const [key, e] of Object.entries(expected)) {
      assert.equal(props[key].type, e.type, `${key} type`);
      assert.equal(props[key].default, e.default, `${key} default`);
      assert.ok(props[key].description || props[key].markdownDescription, `${key} is described`);
      const { minimum, maximum, default: d } = props[key];
      if (e.type === 'integer') assert.ok(typeof d === 'number' && minimum !== undefined && maximum !== undefined && minimum <= d && d <= maximum, `${key} default within bounds`);
    }
    assert.equal(props['tangentNumbers.defaultCount'].maximum, 20000, 'the same bound the input box enforces');
  });

  it('.vscodeignore ships the bundles the extension loads (extension, both workers, webview)', () => {
    const ignore = fs.readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const f of ['dist/extension.js', 'dist/jobWorker.js', 'dist/blockWorker.js', 'dist/webview.js', 'media/**', 'package.json']) {
      assert.ok(ignore.includes(`!${f}`), `.vscodeignore must keep ${f}`);
    }
  });
});
