// The Electron main process: one sandboxed window on the lab. Thin on
// purpose: the lab's work runs in worker threads (main/workers) and child
// processes (the agent), so this thread only routes messages and never
// waits on a kernel.
import { app, BrowserWindow, Menu, session, type Session } from 'electron';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultPresetDir } from '../../app/engine/presets.js';
import { LabService } from '../service/lab-service.js';
import { rendererDir } from '../paths.js';
import { bindIpc } from './ipc.js';
import { registerAppScheme, serveRenderer } from './protocol.js';
import { APP_ORIGIN, APP_URL, createMainWindow } from './window.js';

const here = fileURLToPath(new URL('.', import.meta.url));

/** `--runs DIR` / `--user-presets DIR` (npm start passes the repository's, so the CLI and the window share a history). */
function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** DevTools belong to development (npm start); a packaged app never opens them. */
const DEV_TOOLS = !app.isPackaged;

function harden(s: Session): void {
  // Nothing but our own bundle (and blobs it makes for downloads) is ever loaded.
  const allowed = DEV_TOOLS ? /^(app:\/\/lab\/|blob:app:\/\/lab\/|data:|devtools:)/ : /^(app:\/\/lab\/|blob:app:\/\/lab\/|data:)/;
  s.webRequest.onBeforeRequest((details, cb) => {
    cb({ cancel: !allowed.test(details.url) });
  });
  s.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
  s.setPermissionCheckHandler(() => false);
  s.setDevicePermissionHandler(() => false);
}

registerAppScheme();
app.enableSandbox();

app.on('web-contents-created', (_e, contents) => {
  contents.on('will-navigate', (ev, url) => {
    if (!url.startsWith(`${APP_ORIGIN}/`)) ev.preventDefault();
  });
  contents.on('will-redirect', (ev, url) => {
    if (!url.startsWith(`${APP_ORIGIN}/`)) ev.preventDefault();
  });
  contents.on('will-attach-webview', (ev) => ev.preventDefault());
  // The lab opens no windows and follows no links out of itself.
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
});

if (!app.requestSingleInstanceLock()) app.quit();

let service: LabService | null = null;

async function createWindow(): Promise<void> {
  const icon = join(here, '..', '..', '..', 'main', 'assets', 'icon.png');
  const win = createMainWindow(join(here, 'preload.cjs'), existsSync(icon) ? icon : undefined, DEV_TOOLS);
  if (!DEV_TOOLS) win.webContents.on('devtools-opened', () => win.webContents.closeDevTools());
  win.once('ready-to-show', () => win.show());
  await win.loadURL(APP_URL);
}

app.whenReady().then(async () => {
  // The packaged app ships the agent as an extra resource.
  const packagedAgent = join(process.resourcesPath, 'agent', 'stresslab-agent');
  if (!process.env.STRESSLAB_AGENT && existsSync(packagedAgent)) process.env.STRESSLAB_AGENT = packagedAgent;
  harden(session.defaultSession);
  serveRenderer(rendererDir);
  service = new LabService({
    mode: 'electron',
    runsDir: resolve(arg('runs') ?? join(app.getPath('userData'), 'runs')),
    userPresetDir: resolve(arg('user-presets') ?? join(app.getPath('userData'), 'presets')),
    builtinPresetDir: defaultPresetDir(),
  });
  bindIpc(service);
  if (process.platform === 'linux') Menu.setApplicationMenu(null);
  await createWindow();
  app.on('second-instance', () => BrowserWindow.getAllWindows()[0]?.focus());
});

let quitting = false;
app.on('window-all-closed', () => {
  if (quitting) return;
  quitting = true;
  // Live runs are aborted; their journals keep what was flushed.
  void (service?.close() ?? Promise.resolve()).finally(() => app.quit());
});
