// The window and its options, written out as one literal so that both a
// reader and a static checker (electronegativity) see every switch. Each one
// is a security decision; main/electron/security.test.ts holds them in place.
import { BrowserWindow } from 'electron';

export const APP_ORIGIN = 'app://lab';
export const APP_URL = `${APP_ORIGIN}/index.html`;

/** `devTools`: only for a development build (npm start); a packaged app has none. */
export function createMainWindow(preload: string, icon: string | undefined, devTools: boolean): BrowserWindow {
  return new BrowserWindow({
    width: 1440,
    height: 920,
    minWidth: 1024,
    minHeight: 640,
    title: 'Audio Stress Lab',
    backgroundColor: '#0d1117',
    show: false,
    ...(icon ? { icon } : {}),
    webPreferences: {
      preload,
      // The page gets only the preload's bridge: no Node, no Electron, its own JS world.
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
      // Middle-click would open links in new windows, around the window-open handler.
      disableBlinkFeatures: 'Auxclick',
      devTools,
    },
  });
}
