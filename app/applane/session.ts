// The lab's side of the application lane: starts the child (on this machine,
// or inside the virtual lab's guest), sends it the library program, turns its
// messages into the engine's events and outcome. Like the agent's session it
// never blocks on the child: a silent child is killed after its heartbeat
// stops, a stop that does not finish is cut short, and the caller always gets
// an answer (native-bridge/applane/PROTOCOL.md, "Semantics").
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RunEvent } from '../events/types.js';
import { type RunOutcome, type RunRequest, TargetError } from '../targets/target.js';
import { repoRoot } from '../targets/agent/binary.js';
import type { DeviceRequest, DeviceRequestHandler } from '../targets/agent/session.js';
import { APPLANE_PROTO, LineDecoder, encodeMessage, type AddonStatus, type ChildMessage, type HostMessage } from './protocol.js';
import { LibraryProgramError, libraryProgram, type LibraryProgram } from './program.js';

/** Byte streams to a running child: its stdin, its protocol channel (fd 3) and its stderr. */
export interface ChildChannel {
  write(s: string): void;
  onProtocol(cb: (b: Buffer) => void): void;
  onStderr(cb: (b: Buffer) => void): void;
  /** Called once when the child is gone. */
  onClose(cb: (why: string) => void): void;
  kill(): void;
}

/** The compiled child (dist/app/applane/child/main.js): the lab runs from dist, the child too. */
export function childScript(root = repoRoot()): string {
  return join(root, 'dist', 'app', 'applane', 'child', 'main.js');
}

export function childUnavailable(root?: string): string | undefined {
  const s = childScript(root);
  return existsSync(s) ? undefined : `the application lane is not built (${s} is missing): run node scripts/build.js`;
}

/**
 * The command line that starts the child with its protocol on fd 3 and the
 * libraries' own stdout folded into stderr, for a process channel that only
 * has stdin, stdout and stderr (the virtual lab's guest).
 */
export function childCommand(node: string, script: string): { cmd: string; args: string[] } {
  return { cmd: '/bin/sh', args: ['-c', 'exec "$0" "$1" 3>&1 1>&2', node, script] };
}

/** This machine: a child process whose fd 3 is a pipe of its own. */
export function spawnLocalChild(script = childScript()): ChildChannel {
  // Its own process group, as the agent's: Ctrl-C at a terminal reaches the lab, which stops
  // the run; the child still ends with the lab (its input closes).
  const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], cwd: repoRoot(), detached: true });
  const proto = child.stdio[3] as NodeJS.ReadableStream;
  let closeCbs: ((why: string) => void)[] = [];
  let err = '';
  const stderrCbs: ((b: Buffer) => void)[] = [];
  const onErr = (b: Buffer) => {
    err = (err + b.toString('utf8')).slice(-4096);
    for (const cb of stderrCbs) cb(b);
  };
  child.stderr.on('data', onErr);
  child.stdout.on('data', onErr);
  child.stdin.on('error', () => {});
  child.on('close', (code, signal) => {
    const why = signal ? `killed by ${signal}` : `exit code ${code}`;
    for (const cb of closeCbs) cb(why + (err.trim() ? ` (stderr: ${err.trim().split('\n').slice(-3).join(' | ')})` : ''));
    closeCbs = [];
  });
  child.on('error', (e) => {
    for (const cb of closeCbs) cb(e.message);
    closeCbs = [];
  });
  return {
    write: (s) => {
      if (child.stdin.writable) child.stdin.write(s);
    },
    onProtocol: (cb) => proto.on('data', cb),
    onStderr: (cb) => stderrCbs.push(cb),
    onClose: (cb) => closeCbs.push(cb),
    kill: () => child.kill('SIGKILL'),
  };
}

export interface ChildHello {
  proto: number;
  version: string;
  pid: number;
  node: string;
  kernel: string;
  addons: { naudiodon: AddonStatus; midi: AddonStatus };
}

export interface LibraryRunOptions {
  onDeviceRequest?: DeviceRequestHandler;
  /** Heartbeat silence after which the child counts as dead. */
  silenceMs?: number;
  /** Called with the child's run-start CLOCK_MONOTONIC (ns), to align the kernel log. */
  onStarted?(t0: number): void;
}

export interface LibraryRunResult {
  status: RunOutcome['status'];
  reason?: string;
  elapsed: number;
  hung: number;
  abandoned: number;
  ops: number;
  t0: number;
}

export class LibrarySession {
  private readonly decoder: LineDecoder<ChildMessage>;
  private handler?: (m: ChildMessage | { type: 'closed'; why: string }) => void;
  private helloWaiters: ((h: ChildHello) => void)[] = [];
  private closed?: string;
  private closedCbs: (() => void)[] = [];
  private lastHeard = Date.now();
  hello?: ChildHello;
  readonly garbage: string[] = [];

  constructor(private readonly ch: ChildChannel) {
    this.decoder = new LineDecoder<ChildMessage>(
      (m) => this.onMessage(m),
      (line, why) => this.garbage.push(`${why}: ${line}`),
    );
    ch.onProtocol((b) => {
      this.lastHeard = Date.now();
      this.decoder.push(b);
    });
    ch.onClose((why) => {
      this.closed = why;
      this.decoder.end();
      for (const cb of this.closedCbs.splice(0)) cb();
      this.handler?.({ type: 'closed', why });
    });
  }

  private onMessage(m: ChildMessage): void {
    this.lastHeard = Date.now();
    if (m.type === 'hello') {
      const { type: _t, ...h } = m;
      this.hello = h;
      for (const w of this.helloWaiters.splice(0)) w(h);
      return;
    }
    this.handler?.(m);
  }

  send(m: HostMessage): void {
    if (!this.closed) this.ch.write(encodeMessage(m));
  }

  async start(timeoutMs = 30_000): Promise<ChildHello> {
    if (this.hello) return this.hello;
    if (this.closed) throw new TargetError(`the application lane exited at start: ${this.closed}`);
    return new Promise<ChildHello>((resolve, reject) => {
      const timer = setTimeout(() => reject(new TargetError(`the application lane did not start within ${timeoutMs / 1000} s`)), timeoutMs);
      this.helloWaiters.push((h) => {
        clearTimeout(timer);
        resolve(h);
      });
      this.handler = (m) => {
        if (m.type === 'closed') {
          clearTimeout(timer);
          reject(new TargetError(`the application lane exited at start: ${m.why}`));
        }
      };
    });
  }

  quit(): void {
    this.send({ type: 'quit' });
  }

  /** Resolves when the child is gone. */
  whenClosed(): Promise<void> {
    return this.closed !== undefined ? Promise.resolve() : new Promise((r) => this.closedCbs.push(r));
  }

  kill(): void {
    this.ch.kill();
  }

  run(program: LibraryProgram, emit: (e: RunEvent) => void, signal: AbortSignal, o: LibraryRunOptions & { stopGraceMs: number }): Promise<LibraryRunResult> {
    const silenceMs = o.silenceMs ?? 5000;
    const result: LibraryRunResult = { status: 'completed', elapsed: 0, hung: 0, abandoned: 0, ops: 0, t0: 0 };
    let stopAskedAt = 0;
    let started = false;
    return new Promise<LibraryRunResult>((resolve, reject) => {
      let finished = false;
      const end = (status: RunOutcome['status'], reason?: string) => {
        if (finished) return;
        finished = true;
        clearInterval(tick);
        signal.removeEventListener('abort', onAbort);
        this.handler = undefined;
        result.status = status;
        if (reason) result.reason = reason;
        resolve(result);
      };
      const fail = (e: Error) => {
        if (finished) return;
        finished = true;
        clearInterval(tick);
        signal.removeEventListener('abort', onAbort);
        this.handler = undefined;
        reject(e);
      };
      const onAbort = () => {
        if (!stopAskedAt) {
          stopAskedAt = Date.now();
          this.send({ type: 'stop' });
        }
      };
      const tick = setInterval(() => {
        const now = Date.now();
        for (const g of this.garbage.splice(0)) emit({ kind: 'note', t: 0, level: 'error', text: `garbled output from the application lane: ${g}` });
        if (now - this.lastHeard > silenceMs) {
          const why = `the application lane sent nothing for ${((now - this.lastHeard) / 1000).toFixed(1)} s (heartbeat every 0.2 s); killed`;
          emit({ kind: 'note', t: 0, level: 'error', text: why });
          this.kill();
          end('crashed', why);
        } else if (stopAskedAt && now - stopAskedAt > o.stopGraceMs) {
          const why = `the application lane did not finish within ${o.stopGraceMs} ms of being asked to stop; killed`;
          emit({ kind: 'note', t: 0, level: 'error', text: why });
          this.kill();
          end('stopped', why);
        }
      }, 100);
      this.handler = (m) => {
        switch (m.type) {
          case 'closed':
            if (!started) fail(new TargetError(`the application lane exited before the run started: ${m.why}`));
            else end('crashed', `the application lane exited during the run: ${m.why}`);
            return;
          case 'started':
            started = true;
            result.t0 = m.t0;
            o.onStarted?.(m.t0);
            return;
          case 'events':
            for (const e of m.events) emit(e);
            return;
          case 'error':
            if (!started && (m.code === 'bad-program' || m.code === 'busy')) fail(new TargetError(`the application lane refused the run: ${m.message}`));
            else emit({ kind: 'note', t: 0, level: 'error', text: `application lane: ${m.message}` });
            return;
          case 'request': {
            const r: DeviceRequest = { kind: m.kind, card: m.card, cardId: m.cardId, driver: m.driver };
            const reply = (result: number) => this.send({ type: 'reply', id: m.id, result });
            if (!o.onDeviceRequest) reply(1);
            else
              o.onDeviceRequest(r).then(
                (c) => reply(c === 'agent' ? 1 : c),
                (e: Error) => {
                  emit({ kind: 'note', t: 0, level: 'error', text: `device ${r.kind} of card ${r.card} failed on the host: ${e.message}` });
                  reply(-5);
                },
              );
            return;
          }
          case 'done':
            Object.assign(result, { elapsed: m.elapsed, hung: m.hung, abandoned: m.abandoned, ops: m.ops });
            if (m.abandoned) {
              this.kill();
              end(m.status, `${m.abandoned} lane(s) never returned from a library call; the application lane was killed`);
            } else end(m.status, m.status === 'stopped' ? 'stopped on request' : undefined);
            return;
        }
      };
      signal.addEventListener('abort', onAbort);
      this.send({ type: 'run', program });
      if (signal.aborted) onAbort();
    });
  }
}

/** What a library program needs that the child lacks, in words (an addon not built, no sequencer). */
export function missingAddons(program: LibraryProgram, h: ChildHello): string | undefined {
  const ops = [program.setup, ...program.lanes, program.teardown].flatMap((l) => l.steps.map((s) => s.op));
  const need: string[] = [];
  if (ops.some((o) => o.startsWith('pa.')) && !h.addons.naudiodon.ok) need.push(h.addons.naudiodon.why ?? 'naudiodon is not available');
  if (ops.some((o) => o.startsWith('midi.')) && !h.addons.midi.ok) need.push(h.addons.midi.why ?? 'midi is not available');
  return need.length ? need.join('; ') : undefined;
}

/** Compiles, starts and runs a library scenario on a child: the local and virtual-lab targets share this. */
export async function runLibraryLane(session: LibrarySession, req: RunRequest, o: LibraryRunOptions): Promise<RunOutcome> {
  let program: LibraryProgram;
  try {
    program = libraryProgram(req.program);
  } catch (e) {
    if (e instanceof LibraryProgramError) throw new TargetError(`the application lane cannot run this scenario: ${e.message}`);
    throw e;
  }
  const hello = await session.start();
  if (hello.proto !== APPLANE_PROTO) throw new TargetError(`the application lane speaks protocol ${hello.proto}, the lab ${APPLANE_PROTO}`, 'rebuild: node scripts/build.js');
  const missing = missingAddons(program, hello);
  if (missing) throw new TargetError(`the application lane cannot run ${program.name}: ${missing}`, 'node scripts/setup.js applane');
  req.emit({
    kind: 'note',
    t: 0,
    level: 'info',
    text: `application lane ${hello.version} (pid ${hello.pid}, Node ${hello.node}) on Linux ${hello.kernel}: naudiodon ${hello.addons.naudiodon.ok ? (hello.addons.naudiodon.version ?? 'ok') : 'unavailable'}, midi ${hello.addons.midi.ok ? (hello.addons.midi.version ?? 'ok') : 'unavailable'}`,
  });
  const r = await session.run(program, req.emit, req.signal, { ...o, stopGraceMs: Math.max(5000, (program.hangTimeout * 2) / 1e6 + 3000) });
  const outcome: RunOutcome = { status: r.status, elapsed: r.elapsed };
  if (r.reason) outcome.reason = r.reason;
  return outcome;
}
