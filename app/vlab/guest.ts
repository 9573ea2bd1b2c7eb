// A running guest: a QEMU process, its serial console, the control channel to
// guestd and the QMP monitor. It turns what they say into one story: records
// of the kernel log, kernel trouble reports, and exactly one "down" event
// (shut down, kernel panic, hang, or QEMU gone) after which everything still
// waiting on the guest fails with GuestDownError instead of waiting forever.
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFileSync, rmSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import { type ExecHandle, type ExecOptions, type ExitStatus, ControlChannel } from './channel.js';
import { type KernelTrouble, splitTimestamp, TroubleCollector } from './crash.js';
import { type GuestDown, GuestDownError } from './errors.js';
import { devArg, hotplugDevice, type HwName } from './hw.js';
import { KmsgBook, type KmsgRecord, parseKmsgRecord } from './kmsg.js';
import type { KernelSpec } from './kernel-cache.js';
import type { Overlay } from './overlay.js';
import { F, u32 } from './protocol.js';
import type { Taint } from './taint.js';
import type { Qmp } from './qmp.js';

export interface Heartbeat {
  seq: number;
  uptimeMs: number;
  memTotalKb: number;
  memAvailableKb: number;
  procs: number;
}

export interface RunOptions extends ExecOptions {
  /** Bytes for the program's stdin (then closed). Without it stdin is closed at once. */
  input?: string | Buffer;
  /** Kill the program (SIGKILL) after this long; the result then has timedOut. */
  timeoutMs?: number;
}

export interface RunResult extends ExitStatus {
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface GuestEvents {
  /** One /dev/kmsg record, from the first line of boot on. */
  klog: [KmsgRecord];
  /** A complete non-fatal kernel report (oops, BUG, WARNING, hung task...) from the kernel log. */
  trouble: [KernelTrouble];
  /** One line of the serial console (kernel messages of level < 4 and all of a panic). */
  console: [string];
  heartbeat: [Heartbeat];
  down: [GuestDown];
}

export interface GuestParts {
  name: string;
  hw: HwName[];
  kernel: KernelSpec;
  accel: 'kvm' | 'tcg';
  cpus: number;
  memoryMb: number;
  child: ChildProcess;
  servers: Server[];
  tmpDir: string;
  hangTimeoutMs: number;
  heartbeatMs: number;
  overlay?: Overlay;
  memoryDebug?: MemoryDebugState;
}

/** Which memory-debugging boot options the guest got, and what its kernel could not do. */
export interface MemoryDebugState {
  on: string[];
  unavailable: string[];
}

const QUIET_CLOSE_MS = 400;
const CONSOLE_KEEP = 3000;

export class Guest extends EventEmitter<GuestEvents> {
  readonly name: string;
  readonly hw: readonly HwName[];
  readonly kernel: KernelSpec;
  readonly accel: 'kvm' | 'tcg';
  readonly cpus: number;
  readonly memoryMb: number;
  /** Resolves once, with why the guest ended. Never rejects. */
  readonly ended: Promise<GuestDown>;
  /** Milliseconds from bootGuest() to the guest being ready (set by boot). */
  readyMs = 0;
  /** What the guest's /init did, with guest uptimes: modules loaded, cards that appeared (raw report lines). */
  bootReport: string[] = [];
  /** The module overlay loaded in place of stock modules, if any. */
  readonly overlay: Overlay | undefined;
  readonly memoryDebug: MemoryDebugState;
  /** /proc/sys/kernel/tainted once the modules were loaded (set by boot). */
  taintAtBoot: Taint | undefined;

  private readonly child: ChildProcess;
  private readonly servers: Server[];
  private readonly tmpDir: string;
  private channel: ControlChannel | undefined;
  private qmp: Qmp | undefined;
  private consoleSock: Socket | undefined;
  private consoleLines: string[] = [];
  private consolePartial = '';
  private consoleCollector: TroubleCollector;
  private consoleReports: KernelTrouble[] = [];
  private fatalLine: string | undefined;
  private kmsgCollector: TroubleCollector;
  private kmsgQuiet: NodeJS.Timeout | undefined;
  private readonly book = new KmsgBook();
  private readonly reports: KernelTrouble[] = [];
  private resolveEnded!: (d: GuestDown) => void;
  private downInfo: GuestDown | undefined;
  private shutdownRequested = false;
  private qemuStderr = '';
  private qemuExited = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private lastPongAt = 0;
  private lastTickAt = 0;
  private pingSeq = 0;
  private lastHeartbeat: Heartbeat | undefined;
  private checkpointWaiters = new Map<number, (seq: number) => void>();
  private nextCheckpoint = 1;
  private unplugged = new Set<string>();
  private helloWaiter: ((report: string) => void) | undefined;
  private readonly hangTimeoutMs: number;
  private readonly heartbeatMs: number;

  constructor(parts: GuestParts) {
    super();
    this.name = parts.name;
    this.hw = parts.hw;
    this.kernel = parts.kernel;
    this.accel = parts.accel;
    this.cpus = parts.cpus;
    this.memoryMb = parts.memoryMb;
    this.overlay = parts.overlay;
    this.memoryDebug = parts.memoryDebug ?? { on: [], unavailable: [] };
    this.child = parts.child;
    this.servers = parts.servers;
    this.tmpDir = parts.tmpDir;
    this.hangTimeoutMs = parts.hangTimeoutMs;
    this.heartbeatMs = parts.heartbeatMs;
    this.ended = new Promise((r) => (this.resolveEnded = r));
    this.consoleCollector = new TroubleCollector((t) => this.consoleReports.push(t));
    this.kmsgCollector = new TroubleCollector((t) => {
      this.reports.push(t);
      this.emit('trouble', t);
    });
    this.child.stderr?.on('data', (d: Buffer) => {
      this.qemuStderr = (this.qemuStderr + d.toString('utf8')).slice(-8192);
    });
    this.child.once('exit', (code, signal) => void this.onQemuExit(code, signal));
    this.child.once('error', (e) => {
      this.qemuStderr += `cannot start QEMU: ${e.message}`;
      void this.onQemuExit(null, null);
    });
  }

  /** QEMU's pid (what must not outlive the lab). */
  get qemuPid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.downInfo === undefined;
  }

  // ---- wiring, called by boot ----

  attachConsole(sock: Socket): void {
    this.consoleSock = sock;
    sock.on('data', (d: Buffer) => this.onConsole(d.toString('utf8')));
    sock.on('error', () => {});
  }

  attachChannel(sock: Socket): void {
    const ch = new ControlChannel(sock);
    this.channel = ch;
    ch.on('hello', (report) => {
      const w = this.helloWaiter;
      this.helloWaiter = undefined;
      w?.(report);
    });
    ch.on('kmsg', (raw) => this.onKmsg(raw));
    ch.on('pong', (info) => this.onPong(info as unknown as Heartbeat));
    ch.on('checkpoint', (token, seq) => {
      const w = this.checkpointWaiters.get(token);
      this.checkpointWaiters.delete(token);
      w?.(seq);
    });
    ch.on('error', (e) => this.goDown({ reason: 'exit', message: `control channel broke: ${e.message}`, text: this.consoleTail(40) }));
  }

  attachQmp(qmp: Qmp): void {
    this.qmp = qmp;
  }

  /** Resolves with guestd's hello (the boot report), or rejects when the guest ends first. */
  waitHello(timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.helloWaiter = undefined;
        this.goDown({ reason: 'boot-failed', message: `the guest did not become ready within ${Math.round(timeoutMs / 1000)} s`, text: this.consoleTail(60) });
        reject(new GuestDownError(this.downInfo!));
      }, timeoutMs);
      this.helloWaiter = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
      void this.ended.then((d) => {
        clearTimeout(timer);
        if (this.helloWaiter) {
          this.helloWaiter = undefined;
          reject(new GuestDownError(d));
        }
      });
    });
  }

  startHeartbeat(): void {
    this.lastPongAt = this.lastTickAt = Date.now();
    this.heartbeatTimer = setInterval(() => this.tick(), this.heartbeatMs);
    this.heartbeatTimer.unref();
    this.tick();
  }

  // ---- processes ----

  /** Starts `cmd args` in the guest; see ExecHandle. The host's paths are valid in the guest. */
  exec(cmd: string, args: string[] = [], opts: ExecOptions = {}): ExecHandle {
    if (!this.channel) throw new Error('guest is not booted yet');
    return this.channel.exec([cmd, ...args], opts);
  }

  /** Runs a program to completion and collects its output (UTF-8). */
  async run(cmd: string, args: string[] = [], opts: RunOptions = {}): Promise<RunResult> {
    const h = this.exec(cmd, args, opts);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    h.stdout.on('data', (d: Buffer) => out.push(d));
    h.stderr.on('data', (d: Buffer) => err.push(d));
    h.stdin.end(opts.input ?? undefined);
    let timedOut = false;
    const timer =
      opts.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            h.kill('SIGKILL');
          }, opts.timeoutMs)
        : undefined;
    try {
      const st = await h.exit;
      return { ...st, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), timedOut };
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  // ---- kernel log ----

  /** Every record kept so far (bounded; see KmsgBook). */
  klog(): KmsgRecord[] {
    return this.book.all();
  }

  klogSince(checkpoint: number): KmsgRecord[] {
    return this.book.since(checkpoint);
  }

  /**
   * A checkpoint in the kernel log: every record logged before this call
   * returns has a sequence number <= the result, and is already in klog().
   */
  checkpoint(): Promise<number> {
    if (!this.alive || !this.channel) return Promise.reject(new GuestDownError(this.downInfo ?? { reason: 'exit', message: 'not running' }));
    const token = this.nextCheckpoint++;
    return new Promise((resolve, reject) => {
      this.checkpointWaiters.set(token, resolve);
      void this.ended.then((d) => {
        if (this.checkpointWaiters.delete(token)) reject(new GuestDownError(d));
      });
      this.channel!.send(F.CHECKPOINT, token);
    });
  }

  /** First record after `since` whose text matches; rejects after timeoutMs or when the guest ends. */
  waitForKlog(pattern: RegExp, opts: { since?: number; timeoutMs?: number } = {}): Promise<KmsgRecord> {
    const since = opts.since ?? -1;
    const hit = this.book.since(since).find((r) => pattern.test(r.text));
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const onRec = (r: KmsgRecord) => {
        if (r.seq > since && pattern.test(r.text)) {
          cleanup();
          resolve(r);
        }
      };
      const onDown = (d: GuestDown) => {
        cleanup();
        reject(new GuestDownError(d));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no kernel log line matching ${pattern} within ${opts.timeoutMs ?? 30_000} ms`));
      }, opts.timeoutMs ?? 30_000);
      const cleanup = () => {
        clearTimeout(timer);
        this.off('klog', onRec);
        this.off('down', onDown);
      };
      this.on('klog', onRec);
      this.on('down', onDown);
    });
  }

  /** Non-fatal kernel reports seen so far. */
  troubles(): KernelTrouble[] {
    return [...this.reports];
  }

  /** The last `n` console lines. */
  consoleTail(n = 50): string {
    return this.consoleLines.slice(-n).join('\n');
  }

  // ---- hot-plug ----

  /** Pulls a hot-pluggable device (e.g. "usbsnd") out of the running guest; resolves when QEMU has removed it. */
  async unplug(id: string, timeoutMs = 15_000): Promise<void> {
    const dev = hotplugDevice(id, [...this.hw]);
    if (!dev) throw new Error(`no hot-pluggable device "${id}" in this guest (hardware: ${this.hw.join(', ')})`);
    if (this.unplugged.has(id)) throw new Error(`device "${id}" is already unplugged`);
    const qmp = this.requireQmp();
    const deleted = qmp.waitEvent((e) => e.event === 'DEVICE_DELETED' && e.data?.device === id, timeoutMs, `DEVICE_DELETED for ${id}`);
    deleted.catch(() => {});
    await qmp.execute('device_del', { id });
    await deleted;
    this.unplugged.add(id);
  }

  /** Puts an unplugged device back, with the properties it was created with. */
  async replug(id: string): Promise<void> {
    const dev = hotplugDevice(id, [...this.hw]);
    if (!dev) throw new Error(`no hot-pluggable device "${id}" in this guest (hardware: ${this.hw.join(', ')})`);
    if (!this.unplugged.has(id)) throw new Error(`device "${id}" is plugged in; unplug it first`);
    await this.requireQmp().execute('device_add', { driver: dev.driver, id: dev.id, ...dev.props });
    this.unplugged.delete(id);
  }

  /** The QEMU device argument of a hot-pluggable device (for logs). */
  describeDevice(id: string): string | undefined {
    const d = hotplugDevice(id, [...this.hw]);
    return d && devArg(d);
  }

  /** Raw QMP access, for what this class does not wrap. */
  qmpExecute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    return this.requireQmp().execute<T>(command, args);
  }

  private requireQmp(): Qmp {
    if (!this.alive || !this.qmp) throw new GuestDownError(this.downInfo ?? { reason: 'exit', message: 'not running' });
    return this.qmp;
  }

  // ---- health ----

  /** Latest heartbeat (guest uptime and memory), if any. */
  get heartbeat(): Heartbeat | undefined {
    return this.lastHeartbeat;
  }

  /** QEMU's resident memory on the host, kB. */
  qemuRssKb(): number | undefined {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.child.pid}/status`, 'utf8'));
      return m ? Number(m[1]) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Stops the guest (its state is all in RAM, so there is nothing to save) and cleans up. */
  async shutdown(): Promise<GuestDown> {
    if (this.downInfo) return this.ended;
    this.shutdownRequested = true;
    this.child.kill('SIGTERM');
    const force = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    const d = await this.ended;
    clearTimeout(force);
    return d;
  }

  // ---- internals ----

  private onConsole(text: string): void {
    const lines = (this.consolePartial + text).split('\n');
    this.consolePartial = lines.pop() ?? '';
    for (const raw of lines) this.consoleLine(raw.replace(/\r$/, ''));
  }

  private consoleLine(line: string): void {
    this.consoleLines.push(line);
    if (this.consoleLines.length > CONSOLE_KEEP) this.consoleLines.splice(0, CONSOLE_KEEP / 10);
    if (line.startsWith('VLAB-FATAL: ') && !this.fatalLine) this.fatalLine = line.slice('VLAB-FATAL: '.length);
    const { ktimeUs, text } = splitTimestamp(line);
    this.consoleCollector.line(text, ktimeUs);
    this.emit('console', line);
  }

  private onKmsg(raw: string): void {
    const rec = parseKmsgRecord(raw);
    if (!rec) return;
    this.book.add(rec);
    this.emit('klog', rec);
    this.kmsgCollector.line(rec.text, rec.tsUs);
    if (this.kmsgCollector.inReport) {
      // A report has no end marker in some cases (hung task): it ends when the log goes quiet.
      if (this.kmsgQuiet) clearTimeout(this.kmsgQuiet);
      this.kmsgQuiet = setTimeout(() => this.kmsgCollector.close(), QUIET_CLOSE_MS);
      this.kmsgQuiet.unref();
    }
  }

  private onPong(hb: Heartbeat): void {
    this.lastPongAt = Date.now();
    this.lastHeartbeat = hb;
    this.emit('heartbeat', hb);
  }

  private tick(): void {
    const now = Date.now();
    // If this process itself was stalled (a long synchronous job, a stopped
    // debugger), the silence is ours, not the guest's: start counting afresh.
    if (now - this.lastTickAt > 3 * this.heartbeatMs) this.lastPongAt = now;
    this.lastTickAt = now;
    if (!this.alive) return;
    if (now - this.lastPongAt > this.hangTimeoutMs) {
      void this.declareHang(now - this.lastPongAt);
      return;
    }
    this.channel?.send(F.PING, 0, u32(++this.pingSeq));
  }

  private async declareHang(silentMs: number): Promise<void> {
    let status = 'unknown';
    try {
      const r = await Promise.race([
        this.qmp?.execute<{ status: string }>('query-status'),
        new Promise<undefined>((res) => setTimeout(() => res(undefined), 2000).unref()),
      ]);
      if (r) status = r.status;
    } catch {
      // QMP gone too
    }
    const panic = this.panicReport();
    if (panic) this.goDown({ reason: 'panic', message: panic.title, title: panic.title, text: panic.text });
    else
      this.goDown({
        reason: 'hang',
        message: `no heartbeat from the guest for ${Math.round(silentMs / 1000)} s (QEMU status: ${status})`,
        text: this.consoleTail(60),
      });
  }

  private panicReport(): KernelTrouble | undefined {
    const open = this.consoleCollector.peek();
    if (open?.kind === 'panic') return open;
    return [...this.consoleReports].reverse().find((r) => r.kind === 'panic');
  }

  private async onQemuExit(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (this.qemuExited) return;
    this.qemuExited = true;
    // The console may still hold the end of a panic: read it to the end first.
    if (this.consoleSock && !this.consoleSock.destroyed) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, 1500);
        this.consoleSock!.once('close', () => {
          clearTimeout(t);
          r();
        });
      });
    }
    if (this.consolePartial) this.consoleLine(this.consolePartial);
    this.consolePartial = '';
    if (this.shutdownRequested) return this.goDown({ reason: 'shutdown', message: 'shut down by the lab' });
    const panic = this.panicReport();
    if (panic) return this.goDown({ reason: 'panic', message: panic.title, title: panic.title, text: panic.text });
    if (this.fatalLine) return this.goDown({ reason: 'boot-failed', message: this.fatalLine, text: this.consoleTail(40) });
    const how = signal ? `killed by ${signal}` : `exit code ${code}`;
    const err = this.qemuStderr.trim();
    this.goDown({ reason: 'exit', message: `QEMU ended unexpectedly (${how})${err ? `: ${err.split('\n').slice(-3).join(' | ')}` : ''}`, text: this.consoleTail(40) });
  }

  private goDown(d: GuestDown): void {
    if (this.downInfo) return;
    this.downInfo = d;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.kmsgQuiet) clearTimeout(this.kmsgQuiet);
    this.kmsgCollector.close();
    this.channel?.down(new GuestDownError(d));
    if (!this.qemuExited) this.child.kill('SIGKILL');
    const cleanup = () => {
      this.qmp?.close();
      this.consoleSock?.destroy();
      for (const s of this.servers) s.close();
      rmSync(this.tmpDir, { recursive: true, force: true });
      this.emit('down', d);
      this.resolveEnded(d);
    };
    if (this.qemuExited) cleanup();
    else this.child.once('exit', cleanup);
  }
}
