// Running host helper programs (apt-get, dpkg-deb, depmod, make, cc) with
// their failure text kept, so a failed step says what the tool said; and
// stoppable: preparing a kernel (a download, an overlay build) takes minutes,
// and a run stopped meanwhile must not leave apt-get, make or a gcc of its
// behind. A tool may start children of its own (apt-get its download methods,
// make its compilers, bash its pipeline), so on abort the whole tree goes.
import { type ChildProcess, type ExecFileOptions, execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { TargetError } from '../errors.js';

export interface HostRunResult {
  stdout: string;
  stderr: string;
}

/** What an aborted step throws: the signal's reason when it is an error, else an AbortError. */
export function abortError(signal: AbortSignal | undefined): Error {
  if (signal?.reason instanceof Error) return signal.reason;
  const e = new Error(typeof signal?.reason === 'string' ? signal.reason : 'aborted');
  e.name = 'AbortError';
  return e;
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/** Every process below `root` (children, theirs, ...), from /proc. */
export function descendants(root: number): number[] {
  const kids = new Map<number, number[]>();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${n}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = kids.get(ppid);
    if (list) list.push(Number(n));
    else kids.set(ppid, [Number(n)]);
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length) {
    for (const k of kids.get(todo.pop()!) ?? []) {
      out.push(k);
      todo.push(k);
    }
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

/**
 * Kills a process and everything below it. The tree is stopped first, top
 * down and until nothing new turns up, so no member forks a child that is
 * missed while the others are collected; then all of it is killed.
 */
export function killTree(pid: number): void {
  const seen = new Set<number>([pid]);
  signal(pid, 'SIGSTOP');
  for (let round = 0; round < 5; round++) {
    const fresh = descendants(pid).filter((p) => !seen.has(p));
    if (!fresh.length) break;
    for (const p of fresh) {
      seen.add(p);
      signal(p, 'SIGSTOP');
    }
  }
  for (const p of seen) signal(p, 'SIGKILL');
}

/**
 * execFile, ended with its whole process tree when `signal` aborts (the
 * callback then gets the abort error). The child keeps the lab's process
 * group, so Ctrl-C at a terminal still reaches it as before.
 */
export function execHost(
  cmd: string,
  args: string[],
  opts: ExecFileOptions & { signal?: AbortSignal },
  done: (err: Error | null, stdout: string, stderr: string) => void,
): ChildProcess | undefined {
  const { signal: abort, ...rest } = opts;
  if (abort?.aborted) {
    done(abortError(abort), '', '');
    return undefined;
  }
  let aborted = false;
  const onAbort = () => {
    aborted = true;
    if (child.pid !== undefined) killTree(child.pid);
  };
  const child = execFile(cmd, args, { maxBuffer: 64 << 20, ...rest, encoding: 'utf8' }, (err, stdout, stderr) => {
    abort?.removeEventListener('abort', onAbort);
    done(aborted ? abortError(abort) : err, String(stdout), String(stderr));
  });
  abort?.addEventListener('abort', onAbort, { once: true });
  return child;
}

export function runHost(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; what: string; hint?: string; signal?: AbortSignal }): Promise<HostRunResult> {
  return new Promise((resolve, reject) => {
    execHost(cmd, args, { ...(opts.cwd ? { cwd: opts.cwd } : {}), ...(opts.env ? { env: opts.env } : {}), ...(opts.signal ? { signal: opts.signal } : {}) }, (err, stdout, stderr) => {
      if (err && opts.signal?.aborted) reject(err);
      else if (err) {
        const detail = (stderr || err.message).trim().split('\n').slice(-6).join('\n');
        reject(new TargetError(`${opts.what} failed (${cmd} ${args.join(' ')}):\n${detail}`, opts.hint));
      } else resolve({ stdout, stderr });
    });
  });
}
