// Finding (and on first use, building) the native agent binary. The build is
// the project's own Makefile; without a C compiler the error says what to install.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TargetError } from '../target.js';

export function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(d, 'native-bridge')) && existsSync(join(d, 'package.json'))) return d;
    d = dirname(d);
  }
  throw new TargetError('cannot find the project root (native-bridge/ next to package.json)');
}

export function agentPaths(root = repoRoot()): { dir: string; bin: string } {
  const dir = join(root, 'native-bridge');
  return { dir, bin: join(dir, 'build', 'stresslab-agent') };
}

function newestSource(dir: string): number {
  let t = 0;
  for (const f of readdirSync(join(dir, 'agent'))) if (/\.[ch]$/.test(f)) t = Math.max(t, statSync(join(dir, 'agent', f)).mtimeMs);
  return Math.max(t, statSync(join(dir, 'Makefile')).mtimeMs);
}

/** Path of an up-to-date agent binary, building it when missing or older than its sources. */
export function ensureAgent(opts: { path?: string | undefined; root?: string } = {}): string {
  const env = opts.path ?? process.env.STRESSLAB_AGENT;
  if (env) {
    if (!existsSync(env)) throw new TargetError(`agent binary ${env} does not exist`);
    return env;
  }
  const { dir, bin } = agentPaths(opts.root);
  const stale = !existsSync(bin) || (existsSync(join(dir, 'agent')) && statSync(bin).mtimeMs < newestSource(dir));
  if (!stale) return bin;
  const cc = spawnSync('cc', ['--version'], { stdio: 'ignore' });
  if (cc.error || cc.status !== 0)
    throw new TargetError('the native agent is not built and no C compiler (cc) is installed', 'install gcc, make and libc6-dev (sudo apt-get install gcc make libc6-dev), or run "node scripts/setup.js"');
  // Several processes may want the agent at once (test files run in parallel):
  // one builds, the others wait for it, so make never runs twice on one tree.
  mkdirSync(join(dir, 'build'), { recursive: true });
  const lock = join(dir, 'build', '.build-lock');
  const until = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (Date.now() > until) throw new TargetError(`another build of the agent holds ${lock}; remove it if no build is running`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
  try {
    if (existsSync(bin) && statSync(bin).mtimeMs >= newestSource(dir)) return bin;
    const r = spawnSync('make', ['-s', '-C', dir], { encoding: 'utf8' });
    if (r.error) throw new TargetError(`cannot run make to build the agent: ${r.error.message}`, 'install make (sudo apt-get install make)');
    if (r.status !== 0) throw new TargetError(`building the native agent failed:\n${(r.stderr || r.stdout).trim()}`);
    return bin;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Why the agent cannot be had (no compiler, a missing binary), or undefined when it can: a target's availability. */
export function agentUnavailable(path?: string): string | undefined {
  try {
    ensureAgent({ path });
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
