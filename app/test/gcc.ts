// Compiling a reproducer in tests: the flags a kernel developer is told to
// use, plus -Wextra, warnings as errors. Tests that need gcc skip with this
// message when it is missing.
import { spawnSync } from 'node:child_process';

export const GCC_MISSING = 'gcc is not installed: C reproducers cannot be compiled here (sudo apt-get install gcc)';

export function haveGcc(): boolean {
  return spawnSync('gcc', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Compiles `src` to `out`; throws with the compiler's messages on failure. */
export function gcc(src: string, out: string, extra: string[] = []): void {
  const r = spawnSync('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-pthread', src, '-o', out, ...extra], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gcc ${src} failed:\n${r.stderr.slice(0, 4000)}`);
}
