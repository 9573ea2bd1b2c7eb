// The window's options, kept apart from main.ts so a test can check them
// without starting Electron. Every switch here is a security decision.
import type { BrowserWindowConstructorOptions, WebPreferences } from 'electron';

export const APP_ORIGIN = 'app://lab';
export const APP_URL = `${APP_ORIGIN}/index.html`;

export function webPreferences(preload: string): WebPreferences {
  return {
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
    disableBlinkFeatures: 'Auxclick',
  };
}

export function windowOptions(preload: string, icon?: string): BrowserWindowConstructorOptions {
  return {
    width: 1440,
    height: 920,
    minWidth: 1024,
    minHeight: 640,
    title: 'Audio Stress Lab',
    backgroundColor: '#0d1117',
    show: false,
    ...(icon ? { icon } : {}),
    webPreferences: webPreferences(preload),
  };
}
