// Starts a real VS Code (code-server, installed by `npm run install:vscode`) with this extension
// installed from the freshly packaged .vsix and a workspace folder open, then prints the URL.
// Open it in a browser, press F1 and run "Tangent Numbers: Compute…". Ctrl+C stops the server.
// Environment: PORT (default 8080), WORKSPACE (default ~/tangent-numbers-workspace).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.join(repo, '.vscode-test/code-server/node_modules/code-server/out/node/entry.js');
if (!fs.existsSync(entry)) {
  console.error('code-server is not installed: run `npm run install:vscode` first.');
  process.exit(1);
}
const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));
const vsix = path.join(repo, `${pkg.name}-${pkg.version}.vsix`);
if (!fs.existsSync(vsix)) {
  console.error(`${vsix} is missing: run \`npm run package\` first.`);
  process.exit(1);
}
const port = Number(process.env.PORT || 8080);
const home = path.join(repo, '.vscode-test/run');
const workspace = path.resolve(process.env.WORKSPACE || path.join(os.homedir(), 'tangent-numbers-workspace'));
fs.mkdirSync(workspace, { recursive: true });
fs.mkdirSync(home, { recursive: true });
fs.writeFileSync(path.join(home, 'config.yaml'), 'auth: none\ncert: false\n');
const env = {
  ...process.env,
  EXTENSIONS_GALLERY: '{}', // no marketplace look-ups on a closed network
  XDG_CONFIG_HOME: path.join(home, 'xdg-config'),
  XDG_DATA_HOME: path.join(home, 'xdg-data'),
  XDG_CACHE_HOME: path.join(home, 'xdg-cache'),
};
const common = ['--config', path.join(home, 'config.yaml'), '--user-data-dir', path.join(home, 'user-data'), '--extensions-dir', path.join(home, 'extensions')];

const install = spawnSync(process.execPath, [entry, ...common, '--install-extension', vsix, '--force'], { env, stdio: 'inherit' });
if (install.status !== 0) process.exit(install.status ?? 1);

const server = spawn(
  process.execPath,
  [entry, ...common, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override'],
  { env, stdio: ['ignore', 'pipe', 'inherit'] },
);
server.stdout.on('data', (d) => {
  process.stdout.write(d);
  if (/HTTP server listening/.test(String(d))) {
    console.log(`\nVS Code with Tangent Numbers is ready:\n  http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}\n` +
      'Press F1 and run "Tangent Numbers: Compute…". Ctrl+C stops the server.\n');
  }
});
const stop = () => server.kill('SIGTERM');
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
server.on('exit', (code) => process.exit(code ?? 0));
