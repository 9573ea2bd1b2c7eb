// The application lane's child process: runs a library program (pa.*, midi.*
// with sleep, jitter, barrier and device detach/attach) and streams the lab's
// events back. Lanes are async loops on this thread; every call into a
// library happens in the handle's own process (handle-host.ts), so this
// thread never blocks: it always answers the host, times every call, reports
// a call that outlives its bound as a hung lane (with the blocked process's
// task state and wait channel), and at the end interrupts, then abandons,
// what does not come back — the agent's semantics (native-bridge/PROTOCOL.md).
// Wire protocol: ../protocol.ts, native-bridge/applane/PROTOCOL.md.
import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ActionEvent, RunEvent } from '../../events/types.js';
import { Rng } from '../../sim/kernel/rng.js';
import { resolveStep } from '../../program/resolve.js';
import { ERRNO } from '../../vocabulary/errno.js';
import { APPLANE_PROTO, LineDecoder, encodeMessage, type ChildMessage, type HostMessage } from '../protocol.js';
import { LIBRARY_PROGRAM_FORMAT, type LibraryLane, type LibraryProgram, type LibraryStep } from '../program.js';
import type { HostReply, HostRequest } from './handle-host.js';
import { loadMidi, loadPortAudio } from './addons.js';
import { unwrap14 } from './midi-codec.js';
import { TOOL } from '../../version.js';

const here = dirname(fileURLToPath(import.meta.url));
const hrnow = () => Number(process.hrtime.bigint());

// ---------- output on fd 3 ----------

const out = (() => {
  try {
    return createWriteStream('', { fd: 3 });
  } catch {
    process.stderr.write('applane: file descriptor 3 (the protocol channel) is not open; start me with 3>&1 1>&2 (see native-bridge/applane/README.md)\n');
    process.exit(2);
  }
})();
out.on('error', () => process.exit(3));

function send(m: ChildMessage): void {
  out.write(encodeMessage(m));
}

let pending: RunEvent[] = [];
function emit(e: RunEvent): void {
  pending.push(e);
  if (pending.length >= 512) flush();
}
function flush(): void {
  if (!pending.length) return;
  const batch = pending;
  pending = [];
  send({ type: 'events', events: batch });
}
setInterval(flush, 20).unref();

// ---------- handle hosts ----------

class HandleHost {
  readonly proc: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: HostReply) => void; reject: (e: Error) => void }>();
  private stderrBuf = '';
  private readonly markers = new Map<string, (lines: string[]) => void>();
  private linesSinceMarker: string[] = [];
  exited?: string;
  readonly ready: Promise<void>;

  constructor(
    readonly name: string,
    private readonly onLibraryText: (host: string, line: string) => void,
  ) {
    this.proc = fork(join(here, 'handle-host.js'), [], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, UV_THREADPOOL_SIZE: '16' },
      cwd: runTmp(),
    });
    this.ready = new Promise((res, rej) => {
      const onMsg = (m: unknown) => {
        if (typeof m === 'object' && m !== null && 'ready' in m) {
          this.proc.off('message', onMsg);
          res();
        }
      };
      this.proc.on('message', onMsg);
      this.proc.once('exit', () => rej(new Error(this.exited ?? 'exited')));
    });
    this.ready.catch(() => {});
    this.proc.on('message', (m: HostReply) => {
      if (typeof m !== 'object' || m === null || !('id' in m)) return;
      const w = this.waiting.get(m.id);
      if (w) {
        this.waiting.delete(m.id);
        w.resolve(m);
      }
    });
    const lines = (chunk: Buffer) => {
      this.stderrBuf += chunk.toString('utf8');
      let i: number;
      while ((i = this.stderrBuf.indexOf('\n')) >= 0) {
        const line = this.stderrBuf.slice(0, i).trim();
        this.stderrBuf = this.stderrBuf.slice(i + 1);
        if (!line) continue;
        const done = this.markers.get(line);
        if (done) {
          this.markers.delete(line);
          done(this.linesSinceMarker);
          this.linesSinceMarker = [];
          continue;
        }
        this.linesSinceMarker.push(line);
        if (this.linesSinceMarker.length > 200) this.linesSinceMarker.shift();
        this.onLibraryText(this.name, line);
      }
    };
    this.proc.stdout!.on('data', lines);
    this.proc.stderr!.on('data', lines);
    this.proc.on('exit', (code, sig) => {
      this.exited = sig ? `killed by ${sig}` : `exit code ${code}`;
      for (const w of this.waiting.values()) w.reject(new Error(`the handle's process ended (${this.exited})`));
      this.waiting.clear();
      for (const m of this.markers.values()) m([]);
      this.markers.clear();
    });
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  /** One call; `withText` also collects what the library printed during it. */
  async call(req: Omit<HostRequest, 'id' | 'marker'>, withText = false): Promise<{ reply: HostReply; text: string[] }> {
    if (this.exited) throw new Error(`the handle's process ended (${this.exited})`);
    await this.ready;
    const id = this.nextId++;
    const marker = withText ? `@@stresslab-applane-marker-${id}-${this.pid}@@` : undefined;
    const textP = marker
      ? new Promise<string[]>((res) => {
          const timer = setTimeout(() => {
            this.markers.delete(marker);
            res([]);
          }, 1000);
          this.markers.set(marker, (l) => {
            clearTimeout(timer);
            res(l);
          });
        })
      : Promise.resolve([]);
    const reply = await new Promise<HostReply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.proc.send({ ...req, id, ...(marker ? { marker } : {}) } satisfies HostRequest);
    });
    return { reply, text: await textP };
  }

  interrupt(): void {
    if (!this.exited && this.proc.connected) this.proc.send({ type: 'interrupt' });
  }

  async exit(graceMs: number): Promise<boolean> {
    if (this.exited) return true;
    if (this.proc.connected) this.proc.send({ type: 'exit' });
    const gone = await Promise.race([new Promise<boolean>((r) => this.proc.once('exit', () => r(true))), new Promise<boolean>((r) => setTimeout(() => r(false), graceMs))]);
    if (!gone) this.proc.kill('SIGKILL');
    return gone;
  }
}

let tmp: string | undefined;
function runTmp(): string {
  if (!tmp) {
    tmp = mkdtempSync(join(process.env.STRESSLAB_APPLANE_TMP ?? tmpdir(), 'stresslab-applane-'));
    process.env.STRESSLAB_APPLANE_TMP = tmp;
  }
  return tmp;
}

/** Task state, wait channel and stack of a blocked handle process's threads (the kernel side of a hang). */
function taskReport(pid: number): { taskState?: string; wchan?: string; stack?: string[] } {
  try {
    const tasks: { tid: string; state: string; wchan: string }[] = [];
    for (const tid of readdirSafe(`/proc/${pid}/task`)) {
      const st = /State:\s*(.+)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))?.[1] ?? '?';
      let wchan = '';
      try {
        wchan = readFileSync(`/proc/${pid}/task/${tid}/wchan`, 'utf8');
      } catch {
        /* not readable */
      }
      tasks.push({ tid, state: st, wchan });
    }
    const d = tasks.find((t) => t.state.startsWith('D')) ?? tasks.find((t) => t.wchan && t.wchan !== '0' && !/^(do_epoll_wait|futex|ep_poll|hrtimer_nanosleep)/.test(t.wchan)) ?? tasks[0];
    if (!d) return {};
    let stack: string[] | undefined;
    try {
      stack = readFileSync(`/proc/${pid}/task/${d.tid}/stack`, 'utf8').trim().split('\n');
    } catch {
      /* root only */
    }
    return { taskState: d.state, ...(d.wchan ? { wchan: d.wchan } : {}), ...(stack ? { stack } : {}) };
  } catch {
    return {};
  }
}

function readdirSafe(p: string): string[] {
  try {
    return readdirSync(p);
  } catch {
    return [];
  }
}

// ---------- the run ----------

interface Inflight {
  lane: string;
  op: string;
  since: number;
  timeout: number;
  host?: HandleHost;
  reported: boolean;
  handle?: string;
}

class Run {
  readonly t0 = hrnow();
  private stopping = false;
  /** Lanes run until here: the budget starts when setup is done (opening a stream under emulation takes seconds). */
  private deadline: number;
  private readonly hosts = new Map<string, HandleHost>();
  private probeHost?: HandleHost;
  private readonly inflight = new Map<string, Inflight>();
  private readonly barriers = new Map<string, { waiting: (() => void)[]; generation: number }>();
  private readonly sleepers = new Set<() => void>();
  private readonly requests = new Map<number, (r: number) => void>();
  private nextRequest = 1;
  ops = 0;
  hung = 0;
  lanesAlive = 0;
  /** The latency probe: at most one burst in flight, as in the agent. */
  private probe: { state: 'idle' } | { state: 'sent'; at: number; handle: string } = { state: 'idle' };
  /** MIDI: stream ids, next numbers, send times and the receiver's unwrap state. */
  private readonly sids = new Map<string, number>();
  private readonly sidNames: string[] = [];
  private readonly nextNumber = new Map<string, number>();
  private readonly sendTimes = new Map<string, Map<number, number>>();
  private readonly lastReceived = new Map<string, number>();
  private readonly xruns = new Map<string, number>();
  private readonly libraryText = new Map<string, number>();

  constructor(readonly p: LibraryProgram) {
    this.deadline = this.t0 + p.duration;
  }

  rel(ns: number): number {
    return ns - this.t0;
  }

  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    for (const w of this.sleepers) w();
    for (const b of this.barriers.values()) for (const w of b.waiting.splice(0)) w();
    for (const h of this.hosts.values()) h.interrupt();
  }

  reply(id: number, result: number): void {
    this.requests.get(id)?.(result);
    this.requests.delete(id);
  }

  private onLibraryText = (host: string, line: string) => {
    // alsa-lib and PortAudio print the same lines at every probe: each distinct one is reported once
    const key = line.replace(/\d+/g, '#');
    const n = (this.libraryText.get(key) ?? 0) + 1;
    this.libraryText.set(key, n);
    if (n === 1 && this.libraryText.size <= 12) emit({ kind: 'note', t: this.rel(hrnow()), level: 'info', text: `library output (${host}): ${line.slice(0, 300)}` });
  };

  private host(name: string): HandleHost {
    let h = this.hosts.get(name);
    if (!h || h.exited) this.hosts.set(name, (h = new HandleHost(name, this.onLibraryText)));
    return h;
  }

  private probeProcess(): HandleHost {
    if (!this.probeHost || this.probeHost.exited) this.probeHost = new HandleHost('#probe', this.onLibraryText);
    return this.probeHost;
  }

  async execute(): Promise<ChildMessage & { type: 'done' }> {
    const watchdog = setInterval(() => this.watch(), 100);
    const hb = setInterval(() => send({ type: 'heartbeat', t: this.rel(hrnow()), ops: this.ops, lanes: this.lanesAlive }), 200);
    let abandoned = 0;
    try {
      await this.lane(this.p.setup);
      this.deadline = hrnow() + this.p.duration;
      const lanes = this.p.lanes.map((l) => this.lane(l));
      const budget = setTimeout(() => this.stop(), Math.max(0, this.p.duration / 1e6));
      // lanes that do not come back within the grace after a stop are abandoned
      const all = Promise.all(lanes);
      const stopped = new Promise<void>((res) => {
        const check = setInterval(() => {
          if (this.stopping) {
            clearInterval(check);
            res();
          }
        }, 20);
        void all.then(() => clearInterval(check));
      });
      await Promise.race([all, stopped]);
      if (this.stopping) {
        const grace = Math.max(this.p.hangTimeout / 1e6, 2000);
        const done = await Promise.race([all.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), grace))]);
        if (!done) {
          for (const [lane, f] of this.inflight) {
            abandoned++;
            emit({ kind: 'lane', t: this.rel(hrnow()), lane, state: 'abandoned', detail: `${f.op} did not return within ${grace} ms of the stop`, ...(f.host ? taskReport(f.host.pid) : {}) });
            f.host?.proc.kill('SIGKILL');
          }
        }
      }
      clearTimeout(budget);
      const wasStopped = this.stopping && hrnow() < this.deadline;
      this.stopping = false;
      if (!abandoned) await this.lane(this.p.teardown);
      this.stopping = wasStopped;
    } finally {
      clearInterval(watchdog);
      clearInterval(hb);
      await Promise.all([...this.hosts.values(), ...(this.probeHost ? [this.probeHost] : [])].map((h) => h.exit(1500)));
    }
    const elapsed = this.rel(hrnow());
    return { type: 'done', status: this.stopping ? 'stopped' : 'completed', elapsed, hung: this.hung, abandoned, ops: this.ops };
  }

  private watch(): void {
    const t = hrnow();
    for (const [lane, f] of this.inflight) {
      if (f.reported || t - f.since <= f.timeout) continue;
      f.reported = true;
      this.hung++;
      emit({ kind: 'lane', t: this.rel(t), lane, state: 'hung', detail: `${f.op}${f.handle ? ` on ${f.handle}` : ''} has not returned after ${((t - f.since) / 1e9).toFixed(1)} s`, ...(f.host ? taskReport(f.host.pid) : {}) });
    }
  }

  private async lane(l: LibraryLane): Promise<void> {
    if (!l.steps.length) return;
    const rng = new Rng(this.p.seed, l.rngStream);
    const fixedIter = l.role === 'setup' ? -1 : l.role === 'teardown' ? -2 : null;
    const maxIter = l.iterations ?? Infinity;
    this.lanesAlive++;
    emit({ kind: 'lane', t: this.rel(hrnow()), lane: l.name, state: 'start' });
    try {
      for (let it = 0; it < maxIter; it++) {
        if (l.role === 'lane' && (this.stopping || hrnow() >= this.deadline)) break;
        for (let i = 0; i < l.steps.length; i++) {
          if (l.role === 'lane' && this.stopping) break;
          await this.step(l, i, l.steps[i]!, fixedIter ?? it, rng);
        }
      }
    } catch (e) {
      emit({ kind: 'lane', t: this.rel(hrnow()), lane: l.name, state: 'died', detail: (e as Error).message });
      return;
    } finally {
      this.lanesAlive--;
    }
    emit({ kind: 'lane', t: this.rel(hrnow()), lane: l.name, state: 'end' });
  }

  private async step(l: LibraryLane, index: number, s: LibraryStep, iter: number, rng: Rng): Promise<void> {
    // the program's arguments for this execution (app/program/resolve.ts), the handle by name as the ops read it
    const resolved = resolveStep(s, iter, rng);
    const handle = s.handle >= 0 ? this.p.handles[s.handle]!.name : undefined;
    const values: Record<string, unknown> = handle ? { ...resolved, handle } : resolved;
    const inf: Inflight = { lane: l.name, op: s.op, since: hrnow(), timeout: s.timeout, reported: false, ...(handle ? { handle } : {}) };
    this.inflight.set(l.name, inf);
    let r: { t: number; dur: number; ret: number; errno?: string; data?: Record<string, unknown> };
    try {
      r = await this.run(l, s, values, inf);
    } finally {
      this.inflight.delete(l.name);
    }
    this.ops++;
    const e: ActionEvent = {
      kind: 'act',
      t: this.rel(r.t),
      dur: r.dur,
      lane: l.name,
      iter,
      step: index,
      op: s.op,
      ...(handle ? { handle } : {}),
      ...(s.recordArgs ? { args: resolved } : {}),
      ret: r.ret,
      ...(r.errno ? { errno: r.errno } : {}),
      ...(r.data ? { data: r.data } : {}),
    };
    emit(e);
  }

  private async run(l: LibraryLane, s: LibraryStep, a: Record<string, unknown>, inf: Inflight): Promise<{ t: number; dur: number; ret: number; errno?: string; data?: Record<string, unknown> }> {
    const t = hrnow();
    switch (s.op) {
      case 'sleep':
        return { t, ...(await this.sleep(a.for as number)) };
      case 'jitter': {
        // drawn with the step's arguments, like any range (app/program/README.md)
        const ns = a.for as number;
        const r = await this.sleep(ns);
        return { t, ...r, data: { slept: ns } };
      }
      case 'barrier':
        return { t, ...(await this.barrier(a.name as string)) };
      case 'device.detach':
      case 'device.attach':
        return { t, ...(await this.device(s.op === 'device.detach' ? 'detach' : 'attach', a.card as number | string)) };
    }
    const hostless = s.op === 'pa.devices' || s.op === 'midi.ports';
    const h = hostless ? this.probeProcess() : this.host(a.handle as string);
    inf.host = h;
    const req: Omit<HostRequest, 'id' | 'marker'> = { op: s.op, args: a };
    const src = `${l.name}/${a.handle as string}`;
    if (s.op === 'pa.write' && a.pattern === 'impulse') {
      const p = this.probe;
      if (p.state === 'idle' || hrnow() - p.at > 1e9) req.probe = true;
    }
    if (s.op === 'pa.read' && this.probe.state === 'sent') req.scan = true;
    if (s.op === 'midi.send') {
      let sid = this.sids.get(src);
      if (sid === undefined) {
        sid = this.sidNames.length;
        this.sids.set(src, sid);
        this.sidNames.push(src);
      }
      req.sid = sid;
      req.args = { ...a, first: this.nextNumber.get(src) ?? 0 };
    }
    let reply: HostReply;
    let text: string[] = [];
    try {
      ({ reply, text } = await h.call(req, s.op.startsWith('midi.')));
    } catch (err) {
      // the handle's process died under the call (a library crash): the handle is gone, the lane goes on
      emit({ kind: 'note', t: this.rel(hrnow()), level: 'error', text: `${s.op} on ${String(a.handle ?? '')}: ${(err as Error).message}` });
      return { t, dur: hrnow() - t, ret: -ERRNO.EIO!, errno: 'EIO', data: { error: (err as Error).message, died: true } };
    }
    const data: Record<string, unknown> = { ...(reply.data ?? {}) };
    let ret = reply.ret;
    let errno = reply.errno;
    const end = reply.t + reply.dur;
    if (s.op === 'pa.write' && req.probe && ret >= 0) this.probe = { state: 'sent', at: end, handle: String(a.handle) };
    if (reply.xrun) {
      const k = String(a.handle);
      const n = (this.xruns.get(k) ?? 0) + 1;
      this.xruns.set(k, n);
      emit({ kind: 'metric', t: this.rel(end), name: 'xruns', value: n, handle: k, lane: l.name });
    }
    if (reply.burst && this.probe.state === 'sent') {
      const lat = end - this.probe.at;
      emit({ kind: 'metric', t: this.rel(end), name: 'latency', value: lat, handle: String(a.handle), lane: l.name, confidence: Math.round(reply.burst.confidence * 1000) / 1000 });
      data.latency = { ns: lat, confidence: reply.burst.confidence, from: this.probe.handle };
      this.probe = { state: 'idle' };
    }
    if (reply.glitches?.length) {
      const rate = 48000;
      const frames = Math.max(1, ret);
      // a read returns the newest frames: frame i of it arrived (frames − i)/rate before the return
      const list = reply.glitches.map((g) => ({ t: this.rel(end - Math.round(((frames - g.at) / ((data.rate as number | undefined) ?? rate)) * 1e9)), frames_before_end: frames - g.at, length: g.length, depth: g.depth }));
      for (const g of list) emit({ kind: 'metric', t: Math.max(0, g.t), name: 'glitch', value: g.length, handle: String(a.handle), lane: l.name });
      data.glitches = list;
    }
    if (s.op === 'midi.send' && reply.sendTimes) {
      const first = req.args.first as number;
      this.nextNumber.set(src, first + reply.sendTimes.length);
      let m = this.sendTimes.get(src);
      if (!m) this.sendTimes.set(src, (m = new Map()));
      reply.sendTimes.forEach((ts, k) => m!.set(first + k, ts));
      // RtMidi's sendMessage returns nothing: a refused message only shows as its warning on stderr
      const failed = text.filter((x) => /error sending MIDI message|MidiOutAlsa::sendMessage/.test(x)).length;
      Object.assign(data, { src, first, sent: reply.sendTimes.length, dest: 'midi' });
      if (failed) {
        data.send_errors = failed;
        ret = -ERRNO.EAGAIN!;
        errno = 'EAGAIN';
      }
    }
    if (s.op === 'midi.receive' && reply.received) {
      const events: [string, number][] = [];
      const lat: number[] = [];
      for (const [sid, n14, wrapped, tArr] of reply.received) {
        const name = this.sidNames[sid] ?? `sid${sid}`;
        const n = wrapped ? unwrap14(n14, this.lastReceived.get(name) ?? -1) : n14;
        this.lastReceived.set(name, Math.max(n, this.lastReceived.get(name) ?? -1));
        events.push([name, n]);
        const sent = this.sendTimes.get(name)?.get(n);
        if (sent !== undefined) {
          lat.push(tArr - sent);
          this.sendTimes.get(name)!.delete(n);
        }
      }
      data.events = events;
      data.foreign = reply.foreign ?? 0;
      if (lat.length) {
        lat.sort((x, y) => x - y);
        const mean = lat.reduce((x, y) => x + y, 0) / lat.length;
        const sd = Math.sqrt(lat.reduce((x, y) => x + (y - mean) ** 2, 0) / lat.length);
        data.latency = { n: lat.length, p50: lat[lat.length >> 1], max: lat[lat.length - 1], jitter: Math.round(sd) };
        emit({ kind: 'metric', t: this.rel(end), name: 'midi_latency', value: lat[lat.length >> 1]!, handle: String(a.handle), lane: l.name });
        emit({ kind: 'metric', t: this.rel(end), name: 'midi_jitter', value: Math.round(sd), handle: String(a.handle), lane: l.name });
      }
    }
    if (this.stopping && errno === undefined && ret < 0) errno = 'EINTR';
    return { t: reply.t, dur: reply.dur, ret, ...(errno ? { errno } : {}), ...(Object.keys(data).length ? { data } : {}) };
  }

  private sleep(ns: number): Promise<{ dur: number; ret: number; errno?: string }> {
    const t = hrnow();
    if (this.stopping) return Promise.resolve({ dur: 0, ret: -ERRNO.EINTR!, errno: 'EINTR' });
    return new Promise((res) => {
      let woke: () => void = () => {};
      const timer = setTimeout(() => woke(), Math.max(0, ns / 1e6));
      woke = () => {
        clearTimeout(timer);
        this.sleepers.delete(woke);
        const dur = hrnow() - t;
        res(dur + 1e6 < ns ? { dur, ret: -ERRNO.EINTR!, errno: 'EINTR' } : { dur, ret: 0 });
      };
      this.sleepers.add(woke);
    });
  }

  private barrier(name: string): Promise<{ dur: number; ret: number; errno?: string; data?: Record<string, unknown> }> {
    const t = hrnow();
    const parties = this.p.barriers.find((b) => b.name === name)?.parties ?? 1;
    let b = this.barriers.get(name);
    if (!b) this.barriers.set(name, (b = { waiting: [], generation: 0 }));
    const bar = b;
    if (this.stopping) return Promise.resolve({ dur: 0, ret: -ERRNO.EINTR!, errno: 'EINTR' });
    return new Promise((res) => {
      const gen = bar.generation;
      bar.waiting.push(() => res(this.stopping && bar.generation === gen ? { dur: hrnow() - t, ret: -ERRNO.EINTR!, errno: 'EINTR' } : { dur: hrnow() - t, ret: 0, data: { generation: gen } }));
      if (bar.waiting.length >= parties) {
        bar.generation++;
        for (const w of bar.waiting.splice(0)) w();
      }
    });
  }

  private async device(kind: 'detach' | 'attach', ref: number | string): Promise<{ dur: number; ret: number; errno?: string; data?: Record<string, unknown> }> {
    const t = hrnow();
    const card = cardInfo(ref);
    if (!card && kind === 'detach') return { dur: hrnow() - t, ret: -ERRNO.ENODEV!, errno: 'ENODEV', data: { error: `no card ${String(ref)}` } };
    const id = this.nextRequest++;
    const result = await new Promise<number>((res) => {
      this.requests.set(id, res);
      send({ type: 'request', id, kind, card: card?.index ?? (typeof ref === 'number' ? ref : -1), cardId: card?.id ?? String(ref), driver: card?.driver ?? '' });
    });
    if (result === 0) {
      // the host acted: wait until the card is gone (or back), as the agent does
      const until = hrnow() + 10e9;
      while (hrnow() < until && (kind === 'detach' ? cardInfo(ref) !== undefined : cardInfo(ref) === undefined)) await new Promise((r) => setTimeout(r, 20));
    }
    const errno = result < 0 ? (Object.entries(ERRNO).find(([, v]) => v === -result)?.[0] ?? 'EIO') : result === 1 ? 'EPERM' : undefined;
    return { dur: hrnow() - t, ret: result === 1 ? -ERRNO.EPERM! : result, ...(errno ? { errno } : {}), ...(card ? { data: { card: card.index } } : {}) };
  }
}

/** A card by index or id, from /proc/asound (what the agent's device.c reads). */
function cardInfo(ref: number | string): { index: number; id: string; driver: string } | undefined {
  try {
    const cards = readFileSync('/proc/asound/cards', 'utf8');
    for (const m of cards.matchAll(/^\s*(\d+)\s+\[(\S+)\s*\]:\s*(\S+)/gm)) {
      const index = Number(m[1]);
      const id = m[2]!;
      if (ref === index || ref === id) {
        let driver = m[3]!;
        try {
          driver = readlinkSync(`/sys/class/sound/card${index}/device/driver`).split('/').pop() ?? driver;
        } catch {
          /* keep the name /proc gives */
        }
        return { index, id, driver };
      }
    }
  } catch {
    /* no /proc/asound */
  }
  return undefined;
}

// ---------- the protocol loop ----------

let run: Run | undefined;
let busy = false;

function hello(): void {
  const p = loadPortAudio().status;
  const m = loadMidi().status;
  send({ type: 'hello', proto: APPLANE_PROTO, version: TOOL, pid: process.pid, node: process.version, kernel: release(), addons: { naudiodon: p, midi: m } });
}

function check(p: LibraryProgram): string | undefined {
  if (typeof p !== 'object' || p === null) return 'no program';
  if (p.format !== LIBRARY_PROGRAM_FORMAT) return `program format ${String(p.format)}, this child reads ${LIBRARY_PROGRAM_FORMAT}`;
  if (!Array.isArray(p.lanes) || !p.setup || !p.teardown) return 'the program has no lanes';
  if (!(p.duration > 0)) return 'the program has no budget';
  return undefined;
}

async function startRun(p: LibraryProgram): Promise<void> {
  const why = check(p);
  if (why) return send({ type: 'error', code: 'bad-program', message: why });
  if (busy) return send({ type: 'error', code: 'busy', message: 'a run is active' });
  busy = true;
  run = new Run(p);
  send({ type: 'started', t0: run.t0, pid: process.pid, seed: p.seed });
  const done = await run.execute();
  flush();
  send(done);
  run = undefined;
  busy = false;
}

function onMessage(m: HostMessage): void {
  switch (m.type) {
    case 'hello':
      return hello();
    case 'run':
      void startRun(m.program).catch((e: Error) => {
        flush();
        send({ type: 'error', code: 'bad-program', message: `the run failed: ${e.message}` });
        busy = false;
      });
      return;
    case 'stop':
      run?.stop();
      return;
    case 'reply':
      run?.reply(m.id, m.result);
      return;
    case 'ping':
      send({ type: 'pong', token: m.token });
      return;
    case 'quit':
      run?.stop();
      flush();
      out.end(() => {
        if (tmp && existsSync(tmp)) rmSync(tmp, { recursive: true, force: true });
        process.exit(0);
      });
      setTimeout(() => process.exit(0), 3000).unref();
      return;
  }
}

const input = new LineDecoder<HostMessage>(onMessage, (line, why) => send({ type: 'error', code: 'bad-input', message: `unreadable line (${why}): ${line}` }));
process.stdin.on('data', (b: Buffer) => input.push(b));
process.stdin.on('end', () => {
  input.end();
  run?.stop();
  setTimeout(() => process.exit(0), 3000).unref();
});
process.on('exit', () => {
  if (tmp && existsSync(tmp)) rmSync(tmp, { recursive: true, force: true });
});
hello();
