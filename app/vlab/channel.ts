// Host end of the control channel: one socket (QEMU's chardev behind the
// guest's virtio-serial port "vlab.ctl") carrying many guest processes'
// streams, the kernel log and heartbeats, framed as in protocol.ts.
//
// Flow control runs both ways with byte credits, so one stalled stream never
// blocks the others and nothing buffers without bound: the host sends a
// process at most STDIN_WINDOW unread stdin bytes; guestd stops reading a
// process's output once the host has OUT_WINDOW unacknowledged bytes, and the
// host acknowledges as its consumer reads. stdout and stderr have separate
// credit, like two pipes: a caller that never reads stderr does not stall stdout.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { Readable, Writable } from 'node:stream';
import { encodeExec, encodeFrame, F, type Frame, FrameDecoder, STDIN_CHUNK, STDIN_WINDOW, u32 } from './protocol.js';

export interface ExitStatus {
  /** Exit code, or null when a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ExecOptions {
  /** Extra environment, on top of a minimal default (PATH, HOME, LANG, TERM). */
  env?: Record<string, string>;
  /** Replace the environment entirely instead. */
  replaceEnv?: boolean;
  /** Working directory in the guest (the host's paths are the guest's). Default "/". */
  cwd?: string;
}

/** A process running in the guest. */
export interface ExecHandle {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Guest pid once started; rejects (ExecError) when the program could not be started. */
  readonly pid: Promise<number>;
  /** Resolves when the process ended and all its output was delivered; rejects if the guest died first. */
  readonly exit: Promise<ExitStatus>;
  /** Signals the process's group in the guest. */
  kill(signal?: NodeJS.Signals | number): void;
}

export class ExecError extends Error {
  constructor(readonly argv: string[], detail: string) {
    super(`cannot run ${argv[0]} in the guest: ${detail}`);
    this.name = 'ExecError';
  }
}

export const DEFAULT_ENV: Record<string, string> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
  LANG: 'C.UTF-8',
  TERM: 'dumb',
};

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(osConstants.signals).map(([name, num]) => [num, name as NodeJS.Signals]),
);

function signalNumber(sig: NodeJS.Signals | number): number {
  if (typeof sig === 'number') return sig;
  const n = osConstants.signals[sig];
  if (n === undefined) throw new Error(`unknown signal ${sig}`);
  return n;
}

/** Output acknowledgements are batched: one ACK frame per this many bytes consumed. */
const ACK_BATCH = 64 * 1024;

class Proc implements ExecHandle {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly pid: Promise<number>;
  readonly exit: Promise<ExitStatus>;
  private resolvePid!: (pid: number) => void;
  private rejectPid!: (e: Error) => void;
  private resolveExit!: (s: ExitStatus) => void;
  private rejectExit!: (e: Error) => void;
  private credit = STDIN_WINDOW;
  private waitingWrite: { data: Buffer; cb: (e?: Error | null) => void } | undefined;
  private waitingFinal: ((e?: Error | null) => void) | undefined;
  /** Output bytes delivered but not yet acknowledged, [stdout, stderr]. */
  private owed = [0, 0];
  private ackScheduled = [false, false];
  private ended = false;

  constructor(
    readonly chan: number,
    private readonly ch: ControlChannel,
    readonly argv: string[],
  ) {
    this.pid = new Promise((res, rej) => ((this.resolvePid = res), (this.rejectPid = rej)));
    this.exit = new Promise((res, rej) => ((this.resolveExit = res), (this.rejectExit = rej)));
    // Callers often await only one of these; the other must not become an unhandled rejection.
    this.pid.catch(() => {});
    this.exit.catch(() => {});
    this.stdin = new Writable({
      highWaterMark: STDIN_CHUNK,
      write: (chunk: Buffer, _enc, cb) => this.writeStdin(chunk, cb),
      final: (cb) => {
        if (this.waitingWrite) this.waitingFinal = cb;
        else this.sendEof(cb);
      },
    });
    this.stdout = new Readable({ highWaterMark: 256 * 1024, read: () => this.ackOwed(0) });
    this.stderr = new Readable({ highWaterMark: 256 * 1024, read: () => this.ackOwed(1) });
  }

  kill(signal: NodeJS.Signals | number = 'SIGTERM'): void {
    if (!this.ended) this.ch.send(F.SIGNAL, this.chan, u32(signalNumber(signal)));
  }

  private writeStdin(chunk: Buffer, cb: (e?: Error | null) => void): void {
    if (this.ended) return cb(); // the process is gone; like a closed pipe nobody reads, the bytes are dropped
    let off = 0;
    const pump = () => {
      while (off < chunk.length && this.credit > 0 && !this.ended) {
        const n = Math.min(STDIN_CHUNK, this.credit, chunk.length - off);
        this.ch.send(F.STDIN, this.chan, chunk.subarray(off, off + n));
        this.credit -= n;
        off += n;
      }
      if (off >= chunk.length || this.ended) {
        this.waitingWrite = undefined;
        cb();
        if (this.waitingFinal) {
          const f = this.waitingFinal;
          this.waitingFinal = undefined;
          this.sendEof(f);
        }
      } else this.waitingWrite = { data: chunk, cb: () => pump() };
    };
    pump();
  }

  private sendEof(cb: (e?: Error | null) => void): void {
    if (!this.ended) this.ch.send(F.STDIN_EOF, this.chan);
    cb();
  }

  onFrame(f: Frame): void {
    switch (f.type) {
      case F.STARTED:
        this.resolvePid(f.payload.readUInt32LE(0));
        break;
      case F.EXEC_ERR: {
        const e = new ExecError(this.argv, f.payload.toString('utf8'));
        this.finish();
        this.rejectPid(e);
        this.rejectExit(e);
        break;
      }
      case F.STDOUT:
      case F.STDERR: {
        const which = f.type === F.STDOUT ? 0 : 1;
        const consumed = (which === 0 ? this.stdout : this.stderr).push(f.payload);
        this.owe(which, f.payload.length, consumed);
        break;
      }
      case F.ACK_IN:
        this.credit += f.payload.readUInt32LE(0);
        if (this.waitingWrite) this.waitingWrite.cb();
        break;
      case F.EXIT: {
        const raw = f.payload.readInt32LE(0);
        this.finish();
        const signal = raw < 0 ? (SIGNAL_NAMES.get(-raw) ?? (`SIG${-raw}` as NodeJS.Signals)) : null;
        this.resolveExit(raw >= 0 ? { code: raw, signal: null } : { code: null, signal });
        break;
      }
    }
  }

  private owe(which: 0 | 1, n: number, consumed: boolean): void {
    this.owed[which]! += n;
    if (!consumed) return; // acknowledged from read(), when the consumer catches up
    if (this.owed[which]! >= ACK_BATCH) this.ackOwed(which);
    else if (!this.ackScheduled[which]) {
      // Small writes (protocol lines) are acknowledged together, once per turn of the event loop.
      this.ackScheduled[which] = true;
      setImmediate(() => {
        this.ackScheduled[which] = false;
        this.ackOwed(which);
      });
    }
  }

  private ackOwed(which: 0 | 1): void {
    const n = this.owed[which]!;
    if (n > 0 && !this.ended) {
      this.ch.send(which === 0 ? F.ACK_OUT : F.ACK_ERR, this.chan, u32(n));
      this.owed[which] = 0;
    }
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.stdout.push(null);
    this.stderr.push(null);
    this.ch.release(this.chan);
    if (this.waitingWrite) this.waitingWrite.cb();
  }

  /** The guest is gone: fail what is still waiting. */
  abort(e: Error): void {
    if (this.ended) return;
    this.finish();
    this.rejectPid(e);
    this.rejectExit(e);
  }
}

export interface ChannelEvents {
  hello: [string];
  kmsg: [string];
  pong: [Record<string, number>];
  checkpoint: [number, number];
  log: [string];
  error: [Error];
  close: [];
}

export class ControlChannel extends EventEmitter<ChannelEvents> {
  private decoder = new FrameDecoder();
  private procs = new Map<number, Proc>();
  private nextChan = 1;
  private downError: Error | undefined;

  constructor(private readonly sock: Socket) {
    super();
    sock.setNoDelay?.(true);
    sock.on('data', (d: Buffer) => {
      let frames: Frame[];
      try {
        frames = this.decoder.push(d);
      } catch (e) {
        this.emit('error', e as Error);
        sock.destroy();
        return;
      }
      for (const f of frames) this.dispatch(f);
    });
    sock.on('close', () => this.emit('close'));
    sock.on('error', () => {}); // 'close' follows; the guest's owner decides what it means
  }

  send(type: number, chan: number, payload?: Uint8Array): void {
    if (this.downError || this.sock.destroyed) return;
    this.sock.write(encodeFrame(type, chan, payload));
  }

  exec(argv: string[], opts: ExecOptions = {}): ExecHandle {
    const chan = this.nextChan++;
    if (this.nextChan > 0xfffffff0) this.nextChan = 1;
    const proc = new Proc(chan, this, argv);
    if (this.downError) {
      proc.abort(this.downError);
      return proc;
    }
    const env = opts.replaceEnv ? { ...opts.env } : { ...DEFAULT_ENV, ...opts.env };
    let payload: Buffer;
    try {
      payload = encodeExec({ argv, env: Object.entries(env).map(([k, v]) => `${k}=${v}`), cwd: opts.cwd ?? '/' });
    } catch (e) {
      proc.abort(new ExecError(argv, (e as Error).message));
      return proc;
    }
    this.procs.set(chan, proc);
    this.send(F.EXEC, chan, payload);
    return proc;
  }

  release(chan: number): void {
    this.procs.delete(chan);
  }

  /** Fails every live process with `e` and stops sending. */
  down(e: Error): void {
    if (this.downError) return;
    this.downError = e;
    for (const p of [...this.procs.values()]) p.abort(e);
    this.procs.clear();
  }

  get liveProcesses(): number {
    return this.procs.size;
  }

  private dispatch(f: Frame): void {
    switch (f.type) {
      case F.HELLO:
        this.emit('hello', f.payload.toString('utf8'));
        return;
      case F.KMSG:
        this.emit('kmsg', f.payload.toString('utf8'));
        return;
      case F.PONG:
        try {
          this.emit('pong', JSON.parse(f.payload.toString('utf8')) as Record<string, number>);
        } catch {
          this.emit('pong', {});
        }
        return;
      case F.CHECKPOINT_DONE:
        this.emit('checkpoint', f.chan, Number(f.payload.toString('utf8')));
        return;
      case F.LOG:
        this.emit('log', f.payload.toString('utf8'));
        return;
    }
    this.procs.get(f.chan)?.onFrame(f);
  }
}
