#!/usr/bin/env bash
# Installs what the integration tests (npm run test:vscode) need on a fresh Debian 12 machine, as root:
#   - Debian packages: chromium (the window), fonts-liberation, ripgrep (seeds @vscode/ripgrep), libkrb5-dev
#     (code-server's `kerberos` native module builds against it)
#   - code-server 4.100.3 (= VS Code 1.100.3 with a real Node extension host) in .vscode-test/code-server/,
#     a folder with its own package.json so it stays out of the extension's own dependencies.
# Idempotent: each step is skipped when its result is already there.
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
# Pinned by code-server 4.100.3 (lib/vscode/npm-shrinkwrap.json -> @vscode/ripgrep, its lib/postinstall.js).
VSCODE_RIPGREP_VERSION=1.15.11
RIPGREP_TAG=v13.0.0-10

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$REPO/.vscode-test/code-server"
ENTRY="$DEST/node_modules/code-server/out/node/entry.js"
VSCODE_MODULES="$DEST/node_modules/code-server/lib/vscode/node_modules"

log() { printf '[install-vscode] %s\n' "$*"; }
die() { printf '[install-vscode] ERROR: %s\n' "$*" >&2; exit 1; }

# code-server writes ~/.config/code-server/config.yaml and ~/.local/share/code-server unless told otherwise.
export XDG_CONFIG_HOME="$REPO/.vscode-test/xdg/config" XDG_DATA_HOME="$REPO/.vscode-test/xdg/data" \
  XDG_CACHE_HOME="$REPO/.vscode-test/xdg/cache"

# --- 1. Debian packages -------------------------------------------------------------------------
APT_PACKAGES=(chromium fonts-liberation ripgrep libkrb5-dev)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# node-gyp (node-pty, @vscode/spdlog, kerberos, ... are built from source) needs a C/C++ toolchain.
command -v make >/dev/null && command -v g++ >/dev/null && command -v python3 >/dev/null \
  || missing+=(build-essential python3)
if ((${#missing[@]})); then
  [ "$(id -u)" = 0 ] || die "need root to apt-get install: ${missing[*]}"
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
else
  log "Debian packages already installed: ${APT_PACKAGES[*]}"
fi
command -v rg >/dev/null || die "ripgrep (rg) missing after apt-get install"
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || die "chromium not found at ${CHROMIUM_PATH:-/usr/bin/chromium}"

# --- 2. code-server -----------------------------------------------------------------------------
# First run also logs "Wrote default config file": pick the line that starts with a version number.
installed_version() { [ -f "$ENTRY" ] && node "$ENTRY" --version 2>/dev/null | awk '/^[0-9]+\.[0-9]+\.[0-9]+ /{print $1; exit}' || true; }

if [ "$(installed_version)" = "$CODE_SERVER_VERSION" ]; then
  log "code-server $CODE_SERVER_VERSION already installed in $DEST"
else
  # @vscode/ripgrep's postinstall downloads rg from GitHub (unreachable here). It first looks in its
  # download cache, $TMPDIR/vscode-ripgrep-cache-<pkg version>/ripgrep-<tag>-<target>.tar.gz: seed it
  # with Debian's rg (13.0.0, the same release).
  case "$(uname -m)" in
    x86_64) RG_TARGET=x86_64-unknown-linux-musl ;;
    aarch64) RG_TARGET=aarch64-unknown-linux-musl ;;
    *) die "no ripgrep target known for $(uname -m); see @vscode/ripgrep's lib/postinstall.js" ;;
  esac
  tmp="${TMPDIR:-/tmp}"
  cache="$tmp/vscode-ripgrep-cache-$VSCODE_RIPGREP_VERSION"
  tarball="$cache/ripgrep-$RIPGREP_TAG-$RG_TARGET.tar.gz"
  if [ ! -s "$tarball" ]; then
    log "seeding $tarball with $(command -v rg)"
    pack="$(mktemp -d)"
    cp "$(command -v rg)" "$pack/rg"
    mkdir -p "$cache"
    tar czf "$tarball.part" -C "$pack" rg && mv "$tarball.part" "$tarball"
    rm -rf "$pack"
  fi

  mkdir -p "$DEST"
  # npm 11 runs dependency install scripts not covered by allowScripts with a warning only; approve the two
  # direct ones. (The nested `npm install` that code-server's postinstall runs in lib/vscode cannot be
  # approved from here: under strict-allow-scripts it fails, which the checks below report.)
  cat >"$DEST/package.json" <<JSON
{
  "name": "vscode-test-code-server",
  "private": true,
  "description": "code-server for the integration tests, installed by scripts/install-vscode.sh",
  "dependencies": { "code-server": "$CODE_SERVER_VERSION" },
  "allowScripts": { "code-server": true, "argon2": true }
}
JSON
  log "npm install code-server@$CODE_SERVER_VERSION into $DEST (native modules build: ~1-3 min)"
  # unsafe_perm: code-server's postinstall refuses to run as root without it (npm 11 no longer knows the
  # option but still passes it to the script's env). yes: node-pty's install runs `npx node-gyp`, which
  # is cancelled when npm's `yes` is false (as ~/.npmrc sets on this machine).
  npmlog="$DEST/npm-install.log"
  set +e
  (cd "$DEST" && npm_config_unsafe_perm=true npm_config_yes=true npm install --no-audit --no-fund 2>&1) | tee "$npmlog"
  rc=${PIPESTATUS[0]}
  set -e
  [ "$rc" = 0 ] || die "npm install code-server failed (exit $rc), log: $npmlog"
fi

# --- 3. verify ------------------------------------------------------------------------------------
v="$(installed_version)"
[ "$v" = "$CODE_SERVER_VERSION" ] || die "code-server --version printed '${v:-nothing}', expected $CODE_SERVER_VERSION ($ENTRY)"
log "code-server --version: $v"

# Native modules are built by dependency install scripts. npm 11 warns they are "not yet covered by
# allowScripts"; if a later npm enforces that, they do not run and the server fails at runtime.
bad=0
for f in node-pty/build/Release/pty.node @vscode/spdlog/build/Release/spdlog.node \
         kerberos/build/Release/kerberos.node native-watchdog/build/Release/watchdog.node; do
  if [ -f "$VSCODE_MODULES/$f" ]; then log "native module ok: $f"
  else log "native module MISSING: $VSCODE_MODULES/$f"; bad=1; fi
done
rg_bin="$VSCODE_MODULES/@vscode/ripgrep/bin/rg"
if [ -x "$rg_bin" ]; then rgv="$("$rg_bin" --version)"; log "ripgrep ok: ${rgv%%$'\n'*}"
else log "ripgrep MISSING: $rg_bin"; bad=1; fi
if [ "$bad" = 1 ]; then
  if [ -f "${npmlog:-}" ] && grep -qi 'allowScripts' "$npmlog"; then
    log "npm reported install scripts 'not yet covered by allowScripts' - they probably did not run:"
    grep -i 'allowScripts' "$npmlog" | head -5
  fi
  die "code-server's native modules were not built; delete $DEST and re-run (check that install scripts run)"
fi
log "done: CODE_SERVER_ENTRY=$ENTRY"
