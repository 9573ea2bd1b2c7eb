// What the end-to-end specs share: the real `stresslab serve` in a child
// process (as a user starts it), Debian's chromium driven by playwright-core,
// and a place for screenshots and downloads (e2e/artifacts/, not committed).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const repo = resolve(import.meta.dirname, '..');
export const CHROMIUM = process.env.STRESSLAB_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

export function artifacts(spec: string): string {
  const dir = join(repo, 'e2e', 'artifacts', spec);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** The renderer bundle the server will serve, rebuilt when its sources (or app/api) changed since. */
export function ensureRenderer(): void {
  const index = join(repo, 'dist', 'renderer', 'index.html');
  const built = existsSync(index) ? statSync(index).mtimeMs : 0;
  if (built >= Math.max(newest(join(repo, 'renderer')), newest(join(repo, 'app', 'api')))) return;
  const r = spawnSync(process.execPath, [join(repo, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'renderer/vite.config.ts', '--logLevel', 'warn'], { cwd: repo, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error('building the renderer failed (npm run build)');
}

export interface Served {
  base: string;
  openUrl: string;
  token: string;
  port: number;
  runsDir: string;
  presetsDir: string;
  output: () => string;
  stop(): Promise<void>;
}

/** `stresslab serve --port 0` with its own runs and presets directories; `env` adds to the server's environment. */
export async function serve(env: Record<string, string> = {}): Promise<Served> {
  ensureRenderer();
  const work = mkdtempSync(join(tmpdir(), 'stresslab-e2e-'));
  const runsDir = join(work, 'runs');
  const presetsDir = join(work, 'presets');
  const child: ChildProcess = spawn(process.execPath, [join(repo, 'bin', 'stresslab.js'), 'serve', '--port', '0', '--runs', runsDir, '--user-presets', presetsDir], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const openUrl = await new Promise<string>((res, rej) => {
    const check = () => {
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+)/.exec(out);
      if (m) res(m[1]!);
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => rej(new Error(`stresslab serve exited (${code}) before printing its URL:\n${out}`)));
  });
  const u = new URL(openUrl);
  return {
    base: `${u.origin}/`,
    openUrl,
    token: u.searchParams.get('token')!,
    port: Number(u.port),
    runsDir,
    presetsDir,
    output: () => out,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** A fresh chromium profile each time; `close()` ends the browser and removes the profile. */
export async function browser(downloads: string): Promise<BrowserContext & { dispose(): Promise<void> }> {
  if (!existsSync(CHROMIUM)) throw new Error(`chromium is not installed at ${CHROMIUM}: run "node scripts/setup.js" (as root it installs Debian's chromium) or set STRESSLAB_CHROMIUM`);
  const profile = mkdtempSync(join(tmpdir(), 'stresslab-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1440, height: 1000 },
    acceptDownloads: true,
    downloadsPath: downloads,
  });
  return Object.assign(ctx, {
    async dispose() {
      await ctx.close();
      rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  });
}
