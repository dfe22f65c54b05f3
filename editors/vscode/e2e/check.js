// End-to-end check of the VS Code extension in a real VS Code: code-server (VS Code in the
// browser) with the packaged .vsix installed, driven by headless Chromium through puppeteer-core.
// Not part of CI (it needs code-server, which takes minutes to install); run it before changing
// the extension:
//
//   editors/vscode/e2e/install.sh                       # once: code-server, puppeteer, chromium
//   node editors/vscode/e2e/check.js [path/to/repolens] [--screenshot FILE.png]
//
// It opens a small Python project, waits for the extension's status-bar item to report the index
// built, checks the outline (Go to Symbol in Editor) and workspace symbols come from repolens,
// runs "repolens: Ask about this repository" and checks the answer preview cites the file, and
// checks a repolens diagnostic appears in the Problems panel.
'use strict';

const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const home = process.env.E2E_HOME || '/tmp/repolens-vscode-e2e';
const requireE2e = require('module').createRequire(path.join(home, 'package.json'));
const puppeteer = requireE2e('puppeteer-core');

const repo = path.resolve(__dirname, '..', '..', '..');
const args = process.argv.slice(2);
const screenshotAt = args.indexOf('--screenshot');
const screenshot = screenshotAt >= 0 ? path.resolve(args.splice(screenshotAt, 2)[1]) : undefined;
const server = path.resolve(args[0] || path.join(repo, 'target', 'release', 'repolens'));
const vsix = path.join(repo, 'editors', 'vscode', 'repolens.vsix');
const codeServer = path.join(home, 'node_modules', '.bin', 'code-server');

function fail(message) {
  throw new Error(message);
}

function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function fixture() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repolens-vscode-'));
  const proj = path.join(dir, 'proj');
  fs.mkdirSync(path.join(proj, 'pkg'), { recursive: true });
  fs.mkdirSync(path.join(proj, 'tests'));
  fs.writeFileSync(path.join(proj, 'pkg', '__init__.py'), 'from .shapes import Circle\n');
  fs.writeFileSync(
    path.join(proj, 'pkg', 'shapes.py'),
    [
      'class Shape:',
      '    def area(self):',
      '        raise NotImplementedError',
      '',
      '',
      'class Circle(Shape):',
      '    def __init__(self, radius):',
      '        self.radius = radius',
      '',
      '    def area(self):',
      '        return 3.14159 * self.radius ** 2',
      '',
      '',
      'def total_area(shapes, seen=[]):',
      '    """Sum the areas of shapes."""',
      '    if shapes == None:',
      '        return 0',
      '    return sum(s.area() for s in shapes)',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(proj, 'tests', 'test_shapes.py'),
    'from pkg.shapes import Circle\n\n\ndef test_area():\n    assert Circle(1).area() > 3\n',
  );
  const git = (...a) => execFileSync('git', a, { cwd: proj, stdio: 'ignore' });
  git('init', '-q');
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'init');
  const userData = path.join(dir, 'user-data');
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.writeFileSync(
    path.join(userData, 'User', 'settings.json'),
    JSON.stringify({
      'repolens.path': server,
      'workbench.startupEditor': 'none',
      'security.workspace.trust.enabled': false,
      'workbench.colorTheme': 'Default Light Modern',
      'telemetry.telemetryLevel': 'off',
    }),
  );
  return { dir, proj, userData, extensions: path.join(dir, 'extensions') };
}

async function main() {
  if (!fs.existsSync(server)) fail(`no repolens binary at ${server} (cargo build --release)`);
  if (!fs.existsSync(vsix)) fail(`no ${vsix} (cd editors/vscode && npm run package)`);
  const fx = fixture();
  const common = ['--user-data-dir', fx.userData, '--extensions-dir', fx.extensions];
  execFileSync(codeServer, [...common, '--install-extension', vsix], { stdio: 'inherit' });
  const port = await freePort();
  const cs = spawn(
    codeServer,
    [...common, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry',
      '--disable-workspace-trust', fx.proj],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let csLog = '';
  cs.stdout.on('data', (d) => (csLog += d));
  cs.stderr.on('data', (d) => (csLog += d));
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--window-size=1400,900'],
    defaultViewport: { width: 1400, height: 900 },
  });
  try {
    const page = await browser.newPage();
    for (let i = 0; ; i++) {
      try {
        await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(fx.proj)}`);
        break;
      } catch (e) {
        if (i > 60) fail(`code-server never answered: ${e}\n${csLog}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
    console.log('ok: VS Code (code-server) loaded the workspace');

    const statusText = async () =>
      page.$$eval('.statusbar-item', (items) => items.map((i) => i.textContent || '').join(' | '));
    const waitFor = async (what, predicate, timeout = 60000) => {
      const until = Date.now() + timeout;
      while (Date.now() < until) {
        if (await predicate()) return console.log(`ok: ${what}`);
        await new Promise((r) => setTimeout(r, 300));
      }
      fail(`${what}: timed out`);
    };
    const quickInputRows = () =>
      page.$$eval('.quick-input-widget .monaco-list-row', (rows) => rows.map((r) => r.textContent || ''));

    // Open pkg/shapes.py with Quick Open.
    await page.keyboard.down('Control');
    await page.keyboard.press('KeyP');
    await page.keyboard.up('Control');
    await page.waitForSelector('.quick-input-widget input', { visible: true });
    await page.keyboard.type('shapes.py');
    await waitFor('quick open lists shapes.py', async () => (await quickInputRows()).some((r) => r.includes('shapes.py')));
    await page.keyboard.press('Enter');
    await waitFor('the editor shows shapes.py', async () =>
      (await page.$$eval('.tab', (t) => t.map((x) => x.textContent))).some((t) => t.includes('shapes.py')));

    await waitFor('the status bar shows the repolens index built', async () => (await statusText()).includes('repolens') &&
      !(await statusText()).includes('indexing'), 120000);

    // Outline via Go to Symbol in Editor (Ctrl+Shift+O): served by repolens' documentSymbol.
    await page.keyboard.down('Control');
    await page.keyboard.down('Shift');
    await page.keyboard.press('KeyO');
    await page.keyboard.up('Shift');
    await page.keyboard.up('Control');
    await waitFor('Go to Symbol lists total_area and Circle', async () => {
      const rows = await quickInputRows();
      return rows.some((r) => r.includes('total_area')) && rows.some((r) => r.includes('Circle'));
    });
    await page.keyboard.press('Escape');

    // A repolens diagnostic (the mutable default argument, or `== None`) in the Problems panel.
    const problems = async () =>
      page.$$eval('.markers-panel .monaco-list-row', (rows) => rows.map((r) => r.textContent || ''));
    await page.keyboard.down('Control');
    await page.keyboard.down('Shift');
    await page.keyboard.press('KeyM');
    await page.keyboard.up('Shift');
    await page.keyboard.up('Control');
    let diagnostics = true;
    try {
      await waitFor('the Problems panel shows a repolens diagnostic', async () =>
        (await problems()).some((r) => r.includes('repolens')), 30000);
    } catch (e) {
      diagnostics = false;
      console.log(`not yet: ${e.message} (rows: ${JSON.stringify(await problems())})`);
    }

    // Ask through the command palette; the answer opens as a Markdown preview.
    await page.keyboard.press('F1');
    await page.waitForSelector('.quick-input-widget input', { visible: true });
    await page.keyboard.type('repolens: Ask about this repository');
    await waitFor('the command palette lists the ask command', async () =>
      (await quickInputRows()).some((r) => r.includes('Ask about this repository')));
    await page.keyboard.press('Enter');
    await new Promise((r) => setTimeout(r, 800));
    await page.keyboard.type('where is total_area defined?');
    await page.keyboard.press('Enter');
    await waitFor('the answer opens as a Markdown preview', async () =>
      (await page.$$eval('.tab', (t) => t.map((x) => x.textContent))).some((t) => t.includes('Preview')), 60000);
    // The preview's body lives in a webview iframe; find the frame that rendered the answer.
    await waitFor('the answer cites pkg/shapes.py', async () => {
      for (const frame of page.frames()) {
        const text = await frame.evaluate(() => document.body?.innerText || '').catch(() => '');
        if (text.includes('pkg/shapes.py') && text.includes('where is total_area defined?')) return true;
      }
      return false;
    }, 60000);
    if (screenshot) {
      await page.screenshot({ path: screenshot });
      console.log(`screenshot: ${screenshot}`);
    }
    console.log(diagnostics ? 'VS Code check passed' : 'VS Code check passed except diagnostics');
    if (!diagnostics) process.exitCode = 1;
  } finally {
    await browser.close();
    try {
      process.kill(-cs.pid, 'SIGTERM');
    } catch {}
    fs.rmSync(fx.dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`FAIL: ${e.message}`);
  process.exit(1);
});
