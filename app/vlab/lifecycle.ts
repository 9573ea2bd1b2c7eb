// Starting QEMU so that it can never outlive the lab. Three layers:
//  1. setpriv --pdeathsig KILL: the kernel kills QEMU when the thread that
//     started it dies, even by kill -9 (nothing in this process runs then).
//  2. an exit hook that kills every QEMU this process still owns, for normal
//     exits and for hosts without setpriv.
//  3. temp dirs carry the owner's pid; the next boot removes orphaned ones
//     (tmpdir.ts), since a killed process cannot clean up after itself.
// Caveat of 1: the death signal follows the *thread* that spawned QEMU, so a
// guest booted from a worker thread dies with that worker.
import { type ChildProcess, spawn, type SpawnOptions } from 'node:child_process';
import { findTool } from './tools.js';

const live = new Set<ChildProcess>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const c of live) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

export function spawnOwned(cmd: string, args: string[], opts: SpawnOptions): ChildProcess {
  hookExit();
  const setpriv = findTool('setpriv');
  // Its own process group, so Ctrl-C at a terminal reaches only the lab, which stops the run
  // and shuts the guest down; the death signal still ties QEMU to the lab.
  const o = { ...opts, detached: true };
  const child = setpriv ? spawn(setpriv, ['--pdeathsig', 'KILL', '--', cmd, ...args], o) : spawn(cmd, args, o);
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.once('error', () => live.delete(child));
  return child;
}

/** Pids of QEMU processes this process still owns (for diagnostics and tests). */
export function ownedPids(): number[] {
  return [...live].map((c) => c.pid).filter((p): p is number => p !== undefined);
}
