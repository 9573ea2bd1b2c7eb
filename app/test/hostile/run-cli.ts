// Runs the real `stresslab` binary as a user would, with a wall-clock bound:
// a case that does not end within it is killed and reported as such. Used by
// the hostile corpus, the fuzz test and the signal tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { BIN } from '../build-first.js';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
  /** Killed at the bound: the case did not end by itself. */
  timedOut: boolean;
  ms: number;
}

export interface CliOptions {
  boundMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  nodeArgs?: string[];
  /** Run this script with node instead of the stresslab binary. */
  script?: string;
}

export function runCli(args: string[], o: CliOptions = {}): Promise<CliResult> {
  return startCli(args, o).done;
}

/** Starts the binary; `done` resolves when it has ended (or was killed at the bound). */
export function startCli(args: string[], o: CliOptions = {}): { child: ChildProcess; done: Promise<CliResult> } {
  let child!: ChildProcess;
  const done = new Promise<CliResult>((resolve) => {
    const t0 = Date.now();
    child = spawn(process.execPath, [...(o.nodeArgs ?? []), o.script ?? BIN, ...args], { cwd: o.cwd ?? process.cwd(), env: { ...process.env, STRESSLAB_NO_AUTOBUILD: '1', ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-200_000)));
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-200_000)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.boundMs ?? 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, err, timedOut, ms: Date.now() - t0 });
    });
  });
  return { child, done };
}

/** Runs jobs with at most `n` at a time (the machine has two cores). */
export async function pool<T, R>(items: T[], n: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

/** A Node or V8 stack trace line ("    at f (/x/y.js:1:2)"): never shown to a user. */
export const STACK_LINE = /^\s+at .+(:\d+:\d+\)?|\(native\)|<anonymous>\)?)$/m;

/** What a user must never see: a stack trace, a raw JavaScript error, an internal error. */
export function userFacingProblems(r: CliResult): string[] {
  const text = `${r.out}\n${r.err}`;
  const p: string[] = [];
  if (STACK_LINE.test(text)) p.push('a stack trace');
  if (/\b(TypeError|ReferenceError|RangeError|SyntaxError: Unexpected|Cannot read properties of)/.test(text)) p.push('a raw JavaScript error');
  if (/: internal error: /.test(text)) p.push('an internal error');
  if (r.timedOut) p.push('it did not end within its bound');
  return p;
}
