#!/usr/bin/env bash
# Installs what the end-to-end check needs under $E2E_HOME (default /tmp/repolens-vscode-e2e):
# code-server (VS Code in the browser, from npm), puppeteer-core, and Debian's Chromium.
# code-server's own postinstall downloads ripgrep from GitHub; where GitHub is unreachable (as on
# machines that only reach package registries) its dependencies are installed step by step here
# with Debian's ripgrep in place of the download.
set -euo pipefail
home=${E2E_HOME:-/tmp/repolens-vscode-e2e}
mkdir -p "$home" && cd "$home"
command -v chromium >/dev/null || apt-get install -y -q chromium
command -v rg >/dev/null || apt-get install -y -q ripgrep
# Headers for code-server's native modules (kerberos, native-keymap).
dpkg -s libkrb5-dev libx11-dev libxkbfile-dev >/dev/null 2>&1 ||
  apt-get install -y -q libkrb5-dev libx11-dev libxkbfile-dev pkg-config
[ -f package.json ] || npm init -y >/dev/null
npm install --ignore-scripts code-server@4.100.3 puppeteer-core@24 >/dev/null
npm rebuild argon2 >/dev/null
cd node_modules/code-server/lib/vscode
npm install --omit=dev --ignore-scripts >/dev/null
mkdir -p node_modules/@vscode/ripgrep/bin && cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
npm rebuild @vscode/spdlog kerberos native-watchdog @vscode/deviceid >/dev/null
(cd node_modules/node-pty && npx --yes node-gyp rebuild >/dev/null)
ln -sfn node_modules node_modules.asar
(cd bin/remote-cli && ln -sfn code-linux.sh code-server)
(cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
(cd extensions && npm install --omit=dev --ignore-scripts >/dev/null)
"$home/node_modules/.bin/code-server" --version
