// One conversation with a running agent over a byte channel (a local child
// process's stdio, or a process inside the virtual lab's guest). It never
// blocks on the agent: a silent agent is detected by its missing heartbeat,
// a stuck stop by a deadline, and in both cases the agent is killed and the
// run reported as such, so the caller always gets an answer.
import type { RunEvent } from '../../events/types.js';
import type { DeviceList } from '../../devices/types.js';
import { type EncodedProgram } from './program.js';
import { E, FrameDecoder, MSG, REPLY_DO_IT_YOURSELF, REQ, encodeFrame, fieldsPayload, messageFields, numOf, strOf, type Frame } from './protocol.js';
import { type AgentStats, type LatencySample, RecordDecoder } from './records.js';

/** A bidirectional byte stream to an agent process. */
export interface AgentChannel {
  write(b: Buffer): void;
  onData(cb: (b: Buffer) => void): void;
  /** Called once when the agent's output ends (process exit, guest gone). */
  onClose(cb: (why: string) => void): void;
  /** Ends the agent for good (SIGKILL, or the guest-side equivalent). */
  kill(): void;
}

export interface AgentHello {
  proto: number;
  version: string;
  pid: number;
  uid: number;
  kernel: string;
  machine: string;
}

export interface DeviceRequest {
  kind: 'detach' | 'attach';
  card: number;
  cardId: string;
  driver: string;
}

/** 0 when done, a negative errno on failure, or 'agent' to let the agent unbind through sysfs itself. */
export type DeviceRequestHandler = (r: DeviceRequest) => Promise<number | 'agent'>;

export interface SessionRunOptions {
  emit(e: RunEvent): void;
  signal: AbortSignal;
  onDeviceRequest?: DeviceRequestHandler;
  /** The agent is declared unresponsive after this much silence (it sends a heartbeat every 200 ms). */
  silenceMs?: number;
  /** How long a stop may take before the agent is killed. */
  stopGraceMs?: number;
  /** Called with the agent's run-start CLOCK_MONOTONIC time (ns), to align kernel-log timestamps. */
  onStarted?(t0: number): void;
  /** Events carry the request each step issued (ActionEvent.req). */
  reportRequests?: boolean;
}

export interface SessionRunResult {
  status: 'completed' | 'stopped' | 'crashed';
  reason?: string;
  elapsed: number;
  hung: number;
  abandoned: number;
  /** Operations the agent ran (its own count, from DONE). */
  ops: number;
  /** Agent CLOCK_MONOTONIC ns at run start. */
  t0: number;
  latency: LatencySample[];
  stats?: AgentStats;
  /** Malformed input the host saw from the agent (should stay empty). */
  protocolErrors: string[];
}

export class AgentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgentError';
  }
}

type Waiter = { types: number[]; resolve: (f: Frame) => void; reject: (e: Error) => void };

export class AgentSession {
  private readonly decoder: FrameDecoder;
  private waiters: Waiter[] = [];
  private closed?: string;
  private lastFrameAt = Date.now();
  private runHandler?: (f: Frame) => void;
  /** Errors the agent reported about our input, outside a run. */
  readonly agentErrors: { code: number; message: string }[] = [];
  /** Framing problems in what the agent sent. */
  readonly framingErrors: string[] = [];
  hello?: AgentHello;

  constructor(private readonly ch: AgentChannel) {
    this.decoder = new FrameDecoder(
      (f) => this.onFrame(f),
      (e) => this.framingErrors.push(e.message),
    );
    ch.onData((b) => {
      this.lastFrameAt = Date.now();
      this.decoder.push(b);
    });
    ch.onClose((why) => {
      this.closed = why;
      this.decoder.end();
      for (const w of this.waiters) w.reject(new AgentError(`agent exited: ${why}`));
      this.waiters = [];
      this.runHandler?.({ type: -1, payload: Buffer.from(why) });
    });
  }

  get isClosed(): boolean {
    return this.closed !== undefined;
  }

  private onFrame(f: Frame): void {
    this.lastFrameAt = Date.now();
    if (f.type === MSG.A_HELLO) {
      const m = messageFields(f.payload);
      this.hello = {
        proto: numOf(m.get(1)) ?? 0,
        version: strOf(m.get(2)) ?? '?',
        pid: numOf(m.get(3)) ?? 0,
        uid: numOf(m.get(5)) ?? -1,
        kernel: strOf(m.get(6)) ?? '?',
        machine: strOf(m.get(7)) ?? '?',
      };
    }
    if (f.type === MSG.A_ERROR && !this.runHandler) {
      const m = messageFields(f.payload);
      this.agentErrors.push({ code: numOf(m.get(1)) ?? 0, message: strOf(m.get(2)) ?? '' });
    }
    const i = this.waiters.findIndex((w) => w.types.includes(f.type));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w!.resolve(f);
      return;
    }
    this.runHandler?.(f);
  }

  send(type: number, payload?: Uint8Array): void {
    if (this.closed) throw new AgentError(`agent exited: ${this.closed}`);
    this.ch.write(encodeFrame(type, payload));
  }

  /** Raw bytes, for the garbage-input tests. */
  sendRaw(b: Buffer): void {
    this.ch.write(b);
  }

  waitFor(types: number[], timeoutMs: number): Promise<Frame> {
    if (this.closed) return Promise.reject(new AgentError(`agent exited: ${this.closed}`));
    return new Promise<Frame>((resolve, reject) => {
      const w: Waiter = {
        types,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new AgentError(`no answer from the agent within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  async start(timeoutMs = 15000): Promise<AgentHello> {
    if (this.hello) return this.hello;
    await this.waitFor([MSG.A_HELLO], timeoutMs);
    return this.hello!;
  }

  async ping(timeoutMs = 5000): Promise<number> {
    const t = process.hrtime.bigint();
    const token = Buffer.from(String(t));
    const p = this.waitFor([MSG.A_PONG], timeoutMs);
    try {
      this.send(MSG.PING, token);
    } catch (e) {
      p.catch(() => {});
      throw e;
    }
    await p;
    return Number(process.hrtime.bigint() - t) / 1e6;
  }

  async listDevices(target: string, timeoutMs = 15000): Promise<DeviceList> {
    const p = this.waitFor([MSG.A_DEVICES], timeoutMs);
    try {
      this.send(MSG.LIST);
    } catch (e) {
      p.catch(() => {});
      throw e;
    }
    const f = await p;
    return parseDeviceJson(f.payload.toString('utf8'), target);
  }

  quit(): void {
    if (!this.closed) {
      try {
        this.send(MSG.QUIT);
      } catch {
        /* already gone */
      }
    }
  }

  kill(): void {
    this.ch.kill();
  }

  run(program: EncodedProgram, o: SessionRunOptions): Promise<SessionRunResult> {
    if (this.runHandler) return Promise.reject(new AgentError('a run is already active on this agent'));
    const rec = new RecordDecoder(program.layout, Boolean(o.reportRequests));
    const silenceMs = o.silenceMs ?? 5000;
    const stopGraceMs = o.stopGraceMs ?? 10000;
    const result: SessionRunResult = { status: 'completed', elapsed: 0, hung: 0, abandoned: 0, ops: 0, t0: 0, latency: [], protocolErrors: [] };
    let started = false;
    let stopAskedAt = 0;
    let framingSeen = this.framingErrors.length;
    return new Promise<SessionRunResult>((resolve, reject) => {
      let finished = false;
      const finish = (status: SessionRunResult['status'], reason?: string) => {
        if (finished) return;
        finished = true;
        clearInterval(tick);
        o.signal.removeEventListener('abort', onAbort);
        this.runHandler = undefined;
        result.status = status;
        if (reason) result.reason = reason;
        if (result.latency.length) o.emit(latencyNote(result));
        resolve(result);
      };
      const fail = (e: Error) => {
        if (finished) return;
        finished = true;
        clearInterval(tick);
        o.signal.removeEventListener('abort', onAbort);
        this.runHandler = undefined;
        reject(e);
      };
      const onAbort = () => {
        if (!stopAskedAt) {
          stopAskedAt = Date.now();
          try {
            this.send(MSG.STOP);
          } catch {
            /* closed: the close handler reports it */
          }
        }
      };
      const tick = setInterval(() => {
        const now = Date.now();
        this.decoder.checkStall(now, 1000);
        if (this.framingErrors.length > framingSeen) {
          for (const m of this.framingErrors.slice(framingSeen)) {
            result.protocolErrors.push(m);
            o.emit({ kind: 'note', t: 0, level: 'error', text: `garbled output from the agent: ${m}` });
          }
          framingSeen = this.framingErrors.length;
        }
        if (now - this.lastFrameAt > silenceMs) {
          const why = `the agent sent nothing for ${((now - this.lastFrameAt) / 1000).toFixed(1)} s (heartbeat every 0.2 s); killed`;
          o.emit({ kind: 'note', t: 0, level: 'error', text: why });
          this.kill();
          finish('crashed', why);
        } else if (stopAskedAt && now - stopAskedAt > stopGraceMs) {
          const why = `the agent did not finish within ${stopGraceMs} ms of being asked to stop; killed`;
          o.emit({ kind: 'note', t: 0, level: 'error', text: why });
          this.kill();
          finish('stopped', why);
        }
      }, 100);
      this.runHandler = (f) => {
        if (f.type === -1) {
          if (!started) fail(new AgentError(`agent exited before the run started: ${f.payload.toString()}`));
          else finish('crashed', `agent exited during the run: ${f.payload.toString()}`);
          return;
        }
        switch (f.type) {
          case MSG.A_STARTED: {
            const m = messageFields(f.payload);
            result.t0 = numOf(m.get(1)) ?? 0;
            started = true;
            o.onStarted?.(result.t0);
            return;
          }
          case MSG.A_EVENTS: {
            const b = rec.decode(f.payload);
            for (const e of b.events) o.emit(e);
            for (const l of b.latency) result.latency.push(l);
            if (b.stats) result.stats = b.stats;
            for (const m of b.errors) {
              result.protocolErrors.push(m);
              o.emit({ kind: 'note', t: 0, level: 'error', text: `agent event record: ${m}` });
            }
            return;
          }
          case MSG.A_ERROR: {
            const m = messageFields(f.payload);
            const code = numOf(m.get(1)) ?? 0;
            const text = strOf(m.get(2)) ?? '';
            if (!started && (code === E.BAD_PROGRAM || code === E.BUSY)) {
              fail(new AgentError(`the agent refused the run: ${text}`));
              return;
            }
            o.emit({ kind: 'note', t: 0, level: 'error', text: `agent: ${text}` });
            return;
          }
          case MSG.A_REQUEST: {
            const m = messageFields(f.payload);
            const id = numOf(m.get(1)) ?? 0;
            const req: DeviceRequest = {
              kind: numOf(m.get(2)) === REQ.ATTACH ? 'attach' : 'detach',
              card: numOf(m.get(3)) ?? -1,
              cardId: strOf(m.get(4)) ?? '',
              driver: strOf(m.get(5)) ?? '',
            };
            const reply = (code: number) => {
              try {
                this.send(MSG.REPLY, fieldsPayload([[1, { t: 'int', v: id }], [2, { t: 'int', v: code }]]));
              } catch {
                /* agent gone */
              }
            };
            if (!o.onDeviceRequest) reply(REPLY_DO_IT_YOURSELF);
            else
              o.onDeviceRequest(req).then(
                (c) => reply(c === 'agent' ? REPLY_DO_IT_YOURSELF : c),
                (e: Error) => {
                  o.emit({ kind: 'note', t: 0, level: 'error', text: `device ${req.kind} of card ${req.card} failed on the host: ${e.message}` });
                  reply(-5);
                },
              );
            return;
          }
          case MSG.A_DONE: {
            const m = messageFields(f.payload);
            result.elapsed = numOf(m.get(2)) ?? 0;
            result.hung = numOf(m.get(3)) ?? 0;
            result.abandoned = numOf(m.get(4)) ?? 0;
            result.ops = numOf(m.get(5)) ?? 0;
            const stopped = numOf(m.get(1)) === 1;
            if (result.abandoned) {
              // a thread stuck in the kernel keeps this agent from ever running again
              this.kill();
              finish(stopped ? 'stopped' : 'completed', `${result.abandoned} lane(s) never returned from the kernel; the agent was killed`);
            } else finish(stopped ? 'stopped' : 'completed', stopped ? 'stopped on request' : undefined);
            return;
          }
        }
      };
      o.signal.addEventListener('abort', onAbort);
      try {
        this.send(MSG.RUN, program.payload);
      } catch (e) {
        fail(e as Error);
        return;
      }
      if (o.signal.aborted) onAbort();
    });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
}

function latencyNote(r: SessionRunResult): RunEvent {
  const v = r.latency.map((l) => l.value);
  const c = r.latency.map((l) => l.confidence);
  return {
    kind: 'note',
    t: r.latency[r.latency.length - 1]!.t,
    level: 'info',
    text: `round-trip latency: ${r.latency.length} probe(s), median ${(median(v) / 1e6).toFixed(3)} ms (min ${(Math.min(...v) / 1e6).toFixed(3)}, max ${(Math.max(...v) / 1e6).toFixed(3)}), correlation confidence median ${median(c).toFixed(3)} (min ${Math.min(...c).toFixed(3)})`,
  };
}

export function parseDeviceJson(text: string, target: string): DeviceList {
  const j = JSON.parse(text) as Omit<DeviceList, 'target'>;
  return { target, cards: j.cards ?? [], pcms: j.pcms ?? [], seqClients: j.seqClients ?? [], ...(j.controls ? { controls: j.controls } : {}), notes: j.notes ?? [] };
}
