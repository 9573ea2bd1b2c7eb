// Where the virtual lab keeps things: a per-user cache (kernels, the compiled
// guest daemon, the acceleration probe result) and the guest tooling shipped in
// the repository (native-bridge/vlab).
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** $STRESSLAB_CACHE_DIR, else $XDG_CACHE_HOME/audio-stress-lab, else ~/.cache/audio-stress-lab. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STRESSLAB_CACHE_DIR) return env.STRESSLAB_CACHE_DIR;
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(env.HOME || homedir(), '.cache');
  return join(base, 'audio-stress-lab');
}

let root: string | undefined;

/** The repository (or installed package) root: this file runs from app/vlab or dist/app/vlab. */
export function projectRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'audio-stress-lab') return (root = dir);
      } catch {
        // not ours; keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the audio-stress-lab package root');
    dir = up;
  }
}

export function guestToolsDir(): string {
  return join(projectRoot(), 'native-bridge', 'vlab');
}
