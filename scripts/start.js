#!/usr/bin/env node
// `npm start`: the lab in its Electron window, on the simulated kernel.
// npm install does not run Electron's own download (.npmrc ignore-scripts),
// so the binary is fetched here on first use. Where that is impossible (no
// network, no display, a missing system library) this says why and serves
// the same UI to a browser instead, printing the URL to open.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const say = (t) => process.stderr.write(`stresslab start: ${t}\n`);

function newest(dir) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function build() {
  const stamp = join(root, 'dist', '.buildstamp');
  const built = existsSync(stamp) && existsSync(join(root, 'dist', 'renderer', 'index.html')) ? statSync(stamp).mtimeMs : 0;
  if (built >= Math.max(...['app', 'main', 'renderer'].map((d) => newest(join(root, d))))) return;
  say('building (TypeScript, user interface)…');
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build.js')], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    say('the build failed; see above');
    process.exit(1);
  }
}

/** The Electron executable, or why there is none. */
function electronBinary() {
  const pkg = join(root, 'node_modules', 'electron');
  if (!existsSync(join(pkg, 'package.json'))) return { why: 'the electron package is not installed (npm install without dev dependencies?)' };
  const locate = () => {
    const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
    const name = existsSync(join(pkg, 'path.txt')) ? readFileSync(join(pkg, 'path.txt'), 'utf8').trim() : 'electron';
    const p = override ? join(override, name) : join(pkg, 'dist', name);
    return existsSync(p) ? p : null;
  };
  const found = locate();
  if (found) return { path: found };
  if (process.env.STRESSLAB_NO_ELECTRON_DOWNLOAD) return { why: 'the Electron binary is not downloaded and STRESSLAB_NO_ELECTRON_DOWNLOAD is set' };
  say('fetching the Electron binary (first start only)…');
  const r = spawnSync(process.execPath, [join(pkg, 'install.js')], { cwd: pkg, stdio: ['ignore', 'inherit', 'inherit'], timeout: 10 * 60_000 });
  const after = locate();
  if (after) return { path: after };
  return { why: `the Electron binary could not be downloaded (${r.error ? r.error.message : `install.js exited with ${r.status}`}); this machine may have no access to github.com` };
}

function serveInBrowser(reason) {
  say(`${reason}.`);
  say('serving the lab to your browser instead; open the URL below.');
  const child = spawn(process.execPath, [join(root, 'bin', 'stresslab.js'), 'serve', ...args], { cwd: process.cwd(), stdio: 'inherit' });
  const forward = (sig) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('exit', (code) => process.exit(code ?? 0));
}

build();
if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
  serveInBrowser('there is no display (neither DISPLAY nor WAYLAND_DISPLAY is set), so no window can open');
} else {
  const bin = electronBinary();
  if (!bin.path) serveInBrowser(bin.why);
  else {
    const extra = [];
    if (process.getuid?.() === 0) {
      // Chromium refuses to start as root with its OS sandbox; the page stays isolated
      // (context isolation, no Node), but run the lab as a normal user when you can.
      say('warning: running as root, so Chromium\'s OS sandbox is off (--no-sandbox); run as a normal user when you can');
      extra.push('--no-sandbox');
    }
    const cwd = process.cwd();
    const started = Date.now();
    let log = '';
    const child = spawn(bin.path, [root, ...extra, '--runs', join(cwd, 'runs'), '--user-presets', join(cwd, 'user-presets')], { cwd, stdio: ['ignore', 'inherit', 'pipe'] });
    child.stderr.on('data', (d) => {
      log += d;
      process.stderr.write(d);
    });
    child.on('error', (e) => serveInBrowser(`Electron could not start (${e.message})`));
    child.on('exit', (code, signal) => {
      // A window that dies at once (a missing system library, no GPU/display access) is a failed start, not a closed window.
      if (code && Date.now() - started < 10_000) serveInBrowser(`Electron exited at once with status ${code}${/error while loading shared libraries: (\S+)/.exec(log)?.[1] ? ` (missing ${/error while loading shared libraries: (\S+)/.exec(log)[1]})` : ''}`);
      else process.exit(code ?? (signal ? 1 : 0));
    });
  }
}
