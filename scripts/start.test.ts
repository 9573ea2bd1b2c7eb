// `npm start` where no Electron window can open: it says why and serves the
// same UI to a browser, printing the URL (with its token) to open.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');

function start(env: NodeJS.ProcessEnv): Promise<{ out: string; err: string }> {
  const cwd = mkdtempSync(join(tmpdir(), 'stresslab-start-'));
  const child = spawn(process.execPath, [join(root, 'scripts', 'start.js'), '--port', '0'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  let served = false;
  return new Promise((res, rej) => {
    child.stdout.on('data', () => {
      if (!served && /\?token=\S+/.test(out)) {
        served = true;
        child.once('exit', () => {
          rmSync(cwd, { recursive: true, force: true });
          res({ out, err });
        });
        child.kill('SIGTERM');
      }
    });
    child.once('exit', (code) => !served && rej(new Error(`npm start exited (${code}) without serving:\n${err}\n${out}`)));
  });
}

const baseEnv = () => {
  const env = { ...process.env };
  delete env.DISPLAY;
  delete env.WAYLAND_DISPLAY;
  return env;
};

describe('npm start without a window', () => {
  it('with no display, says so and serves the UI to a browser', async () => {
    const { out, err } = await start(baseEnv());
    expect(err).toMatch(/there is no display/);
    expect(err).toMatch(/serving the lab to your browser instead/);
    expect(out).toMatch(/Open this URL[^\n]*\n\s+http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+/);
  }, 120_000);

  const hasBinary = existsSync(join(root, 'node_modules', 'electron', 'dist'));
  it.skipIf(hasBinary)('with a display but no Electron binary (and no download allowed), says so and serves the UI', async () => {
    const { out, err } = await start({ ...baseEnv(), DISPLAY: ':99', STRESSLAB_NO_ELECTRON_DOWNLOAD: '1' });
    expect(err).toMatch(/Electron binary is not downloaded/);
    expect(out).toMatch(/\?token=/);
  }, 120_000);
});
