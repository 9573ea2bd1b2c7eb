// A local agent process as an AgentChannel.
import { spawn } from 'node:child_process';
import type { AgentChannel } from './session.js';

export interface SpawnedAgent extends AgentChannel {
  pid: number;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnAgent(bin: string, args: string[] = []): SpawnedAgent {
  // Its own process group: Ctrl-C at a terminal reaches the lab, which stops the run through
  // the protocol, not the agent itself (a killed agent would read as a crashed target). It
  // still ends with the lab: its input closes and it exits.
  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    err = (err + d).slice(-8192);
  });
  // a dead agent must surface as onClose, never as an unhandled EPIPE
  child.stdin.on('error', () => {});
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
    child.on('error', () => resolve({ code: null, signal: null }));
  });
  let closeCbs: ((why: string) => void)[] = [];
  void exited.then(({ code, signal }) => {
    const why = signal ? `killed by ${signal}` : `exit code ${code}`;
    const tail = err.trim() ? ` (stderr: ${err.trim().split('\n').slice(-3).join(' | ')})` : '';
    for (const cb of closeCbs) cb(why + tail);
    closeCbs = [];
  });
  return {
    pid: child.pid ?? -1,
    write: (b) => {
      if (child.stdin.writable) child.stdin.write(b);
    },
    onData: (cb) => child.stdout.on('data', cb),
    onClose: (cb) => closeCbs.push(cb),
    kill: () => {
      child.kill('SIGKILL');
    },
    stderr: () => err,
    exited,
  };
}
