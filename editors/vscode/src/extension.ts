// repolens for VS Code: starts the repolens language server for Python files, passes the
// settings as initializationOptions (and answers workspace/configuration with them), and adds
// commands to ask about the repository, fix with a tested patch and show risk, plus a status-bar
// item that follows indexing.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
  TransportKind,
} from 'vscode-languageclient/node';

let client: LanguageClient | undefined;
let statusItem: vscode.StatusBarItem | undefined;
let statusTimer: NodeJS.Timeout | undefined;

interface Citation {
  uri: string;
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
  symbol?: string | null;
  snippet?: string;
}

interface AskResult {
  answer: string;
  citations: Citation[];
  mode: string;
  unverified?: unknown[];
}

/** The settings the server reads, in its initializationOptions shape. */
function serverSettings(): Record<string, unknown> {
  const config = vscode.workspace.getConfiguration('repolens');
  const settings: Record<string, unknown> = {
    risk: {
      topPercent: config.get<number>('risk.topPercent'),
      severity: config.get<string>('risk.severity'),
    },
  };
  const baseUrl = config.get<string>('llm.baseUrl');
  if (baseUrl) {
    settings.llm = {
      baseUrl,
      model: config.get<string>('llm.model') || undefined,
      apiKeyEnv: config.get<string>('llm.apiKeyEnv') || undefined,
    };
  }
  return settings;
}

/** The configured executable, else `repolens` found on PATH; undefined when neither exists. */
function findServer(): string | undefined {
  const configured = vscode.workspace.getConfiguration('repolens').get<string>('path');
  if (configured) {
    return fs.existsSync(configured) ? configured : undefined;
  }
  const exe = process.platform === 'win32' ? 'repolens.exe' : 'repolens';
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const candidate = path.join(dir, exe);
    if (dir && fs.existsSync(candidate)) {
      return candidate;
    }
  }
  return undefined;
}

async function startClient(context: vscode.ExtensionContext): Promise<void> {
  const command = findServer();
  if (!command) {
    const choice = await vscode.window.showErrorMessage(
      'repolens: the `repolens` executable was not found. Install it with `cargo install --path .` from the repolens repository, or set `repolens.path`.',
      'Open settings',
    );
    if (choice === 'Open settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'repolens.path');
    }
    return;
  }
  // The client appends `--stdio` for the stdio transport; the server accepts it.
  const serverOptions: ServerOptions = { command, args: ['serve'], transport: TransportKind.stdio };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'python' },
      { scheme: 'untitled', language: 'python' },
    ],
    initializationOptions: serverSettings(),
    synchronize: { configurationSection: 'repolens' },
    middleware: {
      workspace: {
        configuration: (params, token, next) => {
          const items = params.items.map((item) => (item.section === 'repolens' ? serverSettings() : null));
          return items.some((i) => i !== null) ? items : next(params, token);
        },
      },
    },
  };
  client = new LanguageClient('repolens', 'repolens', serverOptions, clientOptions);
  client.onDidChangeState((e) => {
    if (e.newState === State.Running) {
      refreshStatus();
    }
  });
  await client.start();
  context.subscriptions.push({ dispose: () => client?.stop() });
}

/** The status-bar item: indexing progress until the index is built, then a quiet check mark. */
async function refreshStatus(): Promise<void> {
  if (!statusItem || !client || client.state !== State.Running) {
    return;
  }
  try {
    const status: any = await client.sendRequest('repolens/status');
    const built = status.phases && typeof status.phases.searchMs === 'number';
    if (!status.indexReady) {
      statusItem.text = '$(sync~spin) repolens: indexing';
    } else if (!built) {
      statusItem.text = `$(sync~spin) repolens: ${status.files || ''} files, building`;
    } else {
      statusItem.text = '$(check) repolens';
    }
    statusItem.tooltip = `${status.files} files, ${status.symbols} symbols, graph ${status.graph?.nodes} nodes\nClick for details`;
    statusItem.show();
    scheduleStatus(built ? 30000 : 1000);
  } catch {
    scheduleStatus(5000);
  }
}

function scheduleStatus(ms: number): void {
  if (statusTimer) {
    clearTimeout(statusTimer);
  }
  statusTimer = setTimeout(refreshStatus, ms);
}

/** Renders an answer as Markdown with citation links that open the file at the line. */
function answerMarkdown(question: string, result: AskResult): string {
  const lines = [`# ${question}`, '', result.answer, ''];
  if (result.citations.length > 0) {
    lines.push('## Sources', '');
    result.citations.forEach((c, i) => {
      const file = vscode.Uri.parse(c.uri);
      const line = c.range.start.line + 1;
      const target = file.with({ fragment: `L${line}` }).toString();
      const label = `${vscode.workspace.asRelativePath(file)}:${line}`;
      lines.push(`${i + 1}. [${label}](${target})${c.symbol ? ` \`${c.symbol}\`` : ''}`);
    });
  }
  lines.push('', `_mode: ${result.mode}_`);
  return lines.join('\n');
}

async function askQuestion(): Promise<void> {
  if (!client) {
    return void vscode.window.showWarningMessage('repolens is not running.');
  }
  const question = await vscode.window.showInputBox({ prompt: 'Ask about this repository', ignoreFocusOut: true });
  if (!question) {
    return;
  }
  const editor = vscode.window.activeTextEditor;
  const params: Record<string, unknown> = { question };
  if (editor && editor.document.languageId === 'python') {
    params.textDocument = { uri: editor.document.uri.toString() };
    params.position = editor.selection.active;
  }
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'repolens: thinking…', cancellable: true },
    (_, token) => client!.sendRequest<AskResult>('repolens/ask', params, token),
  );
  const file = path.join(os.tmpdir(), `repolens-answer-${Date.now()}.md`);
  fs.writeFileSync(file, answerMarkdown(question, result));
  await vscode.commands.executeCommand('markdown.showPreview', vscode.Uri.file(file));
}

async function fixWithTestedPatch(): Promise<void> {
  // The server offers "Fix with tested patch…" as a quick fix on its diagnostics.
  await vscode.commands.executeCommand('editor.action.codeAction', { kind: 'quickfix', apply: 'ifSingle' });
}

async function showRisk(): Promise<void> {
  const items: (vscode.QuickPickItem & { uri: vscode.Uri; range: vscode.Range })[] = [];
  for (const [uri, diagnostics] of vscode.languages.getDiagnostics()) {
    for (const d of diagnostics) {
      if (d.source === 'repolens') {
        const code = typeof d.code === 'object' ? String(d.code.value) : String(d.code ?? '');
        items.push({
          label: `${vscode.workspace.asRelativePath(uri)}:${d.range.start.line + 1}`,
          description: code,
          detail: d.message,
          uri,
          range: d.range,
        });
      }
    }
  }
  if (items.length === 0) {
    return void vscode.window.showInformationMessage('repolens: no risk or smell diagnostics in open files.');
  }
  const picked = await vscode.window.showQuickPick(items, { matchOnDetail: true, title: 'repolens: risky code' });
  if (picked) {
    await vscode.window.showTextDocument(picked.uri, { selection: picked.range });
  }
}

async function showStatus(): Promise<void> {
  if (!client) {
    return void vscode.window.showWarningMessage('repolens is not running.');
  }
  const status = await client.sendRequest('repolens/status');
  const doc = await vscode.workspace.openTextDocument({ language: 'json', content: JSON.stringify(status, null, 2) });
  await vscode.window.showTextDocument(doc);
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  statusItem = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 10);
  statusItem.command = 'repolens.showStatus';
  statusItem.text = '$(sync~spin) repolens';
  context.subscriptions.push(
    statusItem,
    vscode.commands.registerCommand('repolens.askQuestion', askQuestion),
    vscode.commands.registerCommand('repolens.fixWithTestedPatch', fixWithTestedPatch),
    vscode.commands.registerCommand('repolens.showRisk', showRisk),
    vscode.commands.registerCommand('repolens.showStatus', showStatus),
    vscode.commands.registerCommand('repolens.restartServer', async () => {
      await client?.stop();
      client = undefined;
      await startClient(context);
    }),
  );
  await startClient(context);
}

export async function deactivate(): Promise<void> {
  if (statusTimer) {
    clearTimeout(statusTimer);
  }
  await client?.stop();
}
