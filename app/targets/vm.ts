// The native agent inside the virtual lab: a throwaway QEMU guest with a real
// kernel and real sound drivers. The agent binary is the host's own (the
// guest sees the host's root read-only) and talks the agent protocol over
// the guest's process channel; the kernel log comes from the guest itself,
// so a panic that kills the agent is still seen; USB unplug goes through QMP.
import { spawnSync } from 'node:child_process';
import type { DeviceList } from '../devices/types.js';
import type { RunEvent } from '../events/types.js';
import { bootGuest, type BootOptions, type BootStage, decodeTaint, type ExecHandle, type Guest, type GuestDown, GuestDownError, type KmsgRecord, prepareBoot, type PreparedBoot, VlabInputError } from '../vlab/index.js';
import type { TargetContext } from '../events/types.js';
import { guestContext, guestKernel } from './context.js';
import { agentUnavailable, ensureAgent } from './agent/binary.js';
import { RUNF } from './agent/protocol.js';
import { runOnAgent, type KernelLogFeed } from './agent/runner.js';
import { type AgentChannel, AgentSession, type DeviceRequest, parseDeviceJson } from './agent/session.js';
import { consoleAfter, KlogAligner, parseConsoleLine } from './kmsg.js';
import { type KernelContext, NO_SETTINGS, type RunOutcome, type RunRequest, type RunSettings, type Target, TargetError, TargetInputError } from './target.js';
import { placementOf } from '../vocabulary/placement.js';
import { programSteps } from '../program/resolve.js';
import { LibrarySession, childUnavailable, runLibraryLane } from '../applane/session.js';
import { execChildInGuest } from '../applane/guest.js';

/** Makes boot options ready to boot (the kernel fetched, the overlay built): prepareBoot, or a test's stand-in. */
export type PrepareBoot = (opts: BootOptions & { signal: AbortSignal; log: (line: string) => void }) => Promise<PreparedBoot>;

export interface VmTargetOptions {
  /**
   * Boot options for the guest this target starts on first use. Options not
   * prepared yet (no resolvedKernel) are prepared then, inside the run: the
   * kernel download and the overlay build are its first boot stage, and a
   * stop ends them.
   */
  boot?: BootOptions;
  /** How unprepared boot options are prepared (default prepareBoot). */
  prepare?: PrepareBoot;
  /** Use this running guest instead (the caller shuts it down). */
  guest?: Guest;
  agentPath?: string;
  /** Heartbeat silence after which the agent counts as dead (emulated guests are slow to schedule). */
  silenceMs?: number;
  /** The kernel profile the boot's module overlay puts in (its patches are in `boot`): recorded as the run's profile. */
  profile?: string[];
}

/** A guest process as the agent's byte channel. */
export function execChannel(h: ExecHandle): AgentChannel {
  let stderr = '';
  h.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-4096);
  });
  h.stdin.on('error', () => {});
  return {
    write: (b) => {
      if (!h.stdin.destroyed) h.stdin.write(b);
    },
    onData: (cb) => h.stdout.on('data', cb),
    onClose: (cb) =>
      void h.exit.then(
        (st) => cb(`${st.signal ? `killed by ${st.signal}` : `exit code ${st.code}`}${stderr.trim() ? ` (stderr: ${stderr.trim().split('\n').slice(-3).join(' | ')})` : ''}`),
        (e: Error) => cb(e instanceof GuestDownError ? `the guest went down: ${e.message}` : e.message),
      ),
    kill: () => {
      try {
        h.kill('SIGKILL');
      } catch {
        /* the guest is gone already */
      }
    },
  };
}

const guestPaths = new WeakMap<Guest, Map<string, string>>();
const STOPPED_BOOTING: RunOutcome = { status: 'stopped', elapsed: 0, reason: 'stopped while the guest booted' };
const STOPPED_PREPARING: RunOutcome = { status: 'stopped', elapsed: 0, reason: 'stopped while the kernel was prepared (downloaded, or its module overlay built)' };
/** Read once per guest: the kernel and cards do not change under a running guest. */
const guestContexts = new WeakMap<Guest, TargetContext>();
/** How long the agent may take to exit after its run before the guest is given up. */
const AGENT_EXIT_MS = 15_000;

/**
 * The agent's path as the guest sees it: normally its own path (the guest runs
 * on this machine's root, /tmp included); a guest whose init could not overlay
 * the host's /tmp still reaches the raw host root at /run/vlab/host.
 */
async function agentInGuest(g: Guest, bin: string): Promise<string> {
  let m = guestPaths.get(g);
  if (!m) guestPaths.set(g, (m = new Map()));
  const known = m.get(bin);
  if (known) return known;
  for (const p of [bin, `/run/vlab/host${bin}`]) {
    const r = await g.run('test', ['-x', p], { timeoutMs: 30_000 });
    if (r.code === 0) {
      m.set(bin, p);
      return p;
    }
  }
  throw new TargetError(`the agent binary ${bin} is not visible inside the guest (neither at its own path nor under /run/vlab/host)`);
}

export class VmTarget implements Target {
  readonly id = 'vm' as const;
  readonly label = 'virtual lab (real kernel in QEMU, native agent)';
  private guest?: Guest;
  private booting?: Promise<Guest>;
  /** Stops a boot in progress when the target is disposed (QEMU must not outlive the thread that reaps it). */
  private readonly bootAbort = new AbortController();
  private readonly own: boolean;
  private lastKernel?: KernelContext;
  /** The boot options once prepared (a guest booted again after a crash does not prepare again). */
  private prepared?: BootOptions;
  /** Where the boot in progress is: preparing the kernel, or booting it. */
  private stage: 'preparing' | 'booting' = 'booting';

  constructor(private readonly opts: VmTargetOptions = {}) {
    if (opts.guest) this.guest = opts.guest;
    this.own = !opts.guest;
  }

  /** A run with a historic bug patched in records that profile; otherwise a real kernel records none. */
  settings(): RunSettings {
    return this.opts.profile?.length ? { ...NO_SETTINGS, profile: [...this.opts.profile] } : NO_SETTINGS;
  }

  async available(): Promise<{ ok: boolean; why?: string }> {
    const q = spawnSync('qemu-system-x86_64', ['--version'], { stdio: 'ignore' });
    if (q.error || q.status !== 0) return { ok: false, why: 'qemu-system-x86_64 is not installed (node scripts/setup.js installs it)' };
    const why = agentUnavailable(this.opts.agentPath);
    return why ? { ok: false, why } : { ok: true };
  }

  /** The guest, booted on first use and again if it went down (a crashed kernel is not reused). */
  async ready(progress?: (stage: BootStage, text: string) => void): Promise<Guest> {
    if (this.guest?.alive) return this.guest;
    if (!this.own) throw new TargetError('the virtual-lab guest given to this target is not running');
    // Bad boot options (an unknown piece of hardware, a missing kernel) are the
    // target's to report, with their own message, not an internal error.
    // oops=panic: an oops in process context kills only the faulting thread,
    // and a lock it held leaves the run's other threads in the kernel for
    // good (the agent can then neither finish nor exit). A panic ends the
    // guest at once, with the report on the console, where the run reads it.
    this.booting ??= this.prepareAndBoot(progress)
      .catch((e: unknown) => {
        // bad input found only now (a patch that does not apply): the run's input, not the lab, failed
        throw e instanceof VlabInputError ? new TargetInputError(`virtual lab: ${e.message}`) : e;
      })
      .finally(() => (this.booting = undefined));
    this.guest = await this.booting;
    return this.guest;
  }

  private async prepareAndBoot(progress?: (stage: BootStage, text: string) => void): Promise<Guest> {
    const boot = this.prepared ?? this.opts.boot ?? {};
    const signal = this.bootAbort.signal;
    let ready: BootOptions = boot;
    if (!boot.resolvedKernel) {
      this.stage = 'preparing';
      progress?.('kernel', boot.kernel ? `checking the kernel ${boot.kernel}` : `preparing ${boot.kernelVersion ? `the Debian kernel ${boot.kernelVersion}` : 'the distribution kernel'}${boot.overlay ? ' and its module overlay' : ''}`);
      const log = (line: string) => {
        boot.log?.(line);
        progress?.('kernel', line.replace(/^vlab: /, ''));
      };
      const { log: _l, signal: _s, ...prepared } = await (this.opts.prepare ?? prepareBoot)({ ...boot, signal, log });
      ready = this.prepared = { ...prepared, ...(boot.log ? { log: boot.log } : {}) };
    }
    this.stage = 'booting';
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new TargetError('stopped while the kernel was prepared');
    return bootGuest({ ...ready, cmdline: [...(ready.cmdline ?? []), 'oops=panic'], signal, ...(progress ? { progress } : {}) });
  }

  async listDevices(): Promise<DeviceList> {
    const bin = ensureAgent({ path: this.opts.agentPath });
    const g = await this.ready();
    const r = await g.run(await agentInGuest(g, bin), ['--list'], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new TargetError(`the agent could not list the guest's devices: ${r.timedOut ? 'timed out' : r.stderr.trim() || `exit ${r.code ?? r.signal}`}`);
    return parseDeviceJson(r.stdout, 'vm');
  }

  /**
   * The guest for a run, booted if need be with its stages reported as
   * progress events, and what it runs on as a context event; null when the
   * run was stopped while the guest booted.
   */
  private async guestFor(req: RunRequest, starting: string): Promise<Guest | null> {
    const t0 = Date.now();
    const progress = (stage: string, text: string) => req.emit({ kind: 'progress', t: 0, stage, text, wall_ms: Date.now() - t0 });
    if (this.guest?.alive) progress('ready', 'the guest is already running');
    else if (req.signal.aborted) return null; // stopped before it began: nothing to boot
    let g: Guest;
    // A stop while the kernel is prepared or the guest boots ends that (this
    // target is not reused after a stop), and the run at once: it does not
    // wait for a download or build to notice.
    let stopped!: () => void;
    const stop = new Promise<never>((_, reject) => (stopped = () => reject(new TargetError('stopped'))));
    stop.catch(() => undefined);
    const stopBoot = () => {
      this.bootAbort.abort(new TargetError(this.stage === 'preparing' ? 'stopped while the kernel was prepared' : 'stopped while the guest booted'));
      stopped();
    };
    req.signal.addEventListener('abort', stopBoot);
    try {
      g = await Promise.race([this.ready(progress), stop]);
    } catch (e) {
      if (req.signal.aborted && this.bootAbort.signal.aborted) return null;
      throw e;
    } finally {
      req.signal.removeEventListener('abort', stopBoot);
    }
    if (req.signal.aborted) return null;
    let ctx = guestContexts.get(g);
    if (!ctx) guestContexts.set(g, (ctx = await guestContext(g)));
    req.emit({ kind: 'context', t: 0, context: ctx });
    progress('agent', starting);
    return g;
  }

  async run(req: RunRequest): Promise<RunOutcome> {
    if (placementOf(programSteps(req.program)) === 'library') return this.runLibrary(req);
    const bin = ensureAgent({ path: this.opts.agentPath });
    const g = await this.guestFor(req, 'starting the agent in the guest');
    if (!g) return this.stoppedOutcome();
    const latest = latestEvent(req);
    req = latest.req;
    const path = await agentInGuest(g, bin);
    const klog = await guestKernelLog(g, req.emit);
    let h: ExecHandle;
    try {
      h = g.exec(path, []);
    } catch (e) {
      klog.stop();
      throw new TargetError(`cannot start the agent in the guest: ${(e as Error).message}`);
    }
    const session = new AgentSession(execChannel(h));
    let down: GuestDown | undefined;
    const onDown = (d: GuestDown) => (down = d);
    g.on('down', onDown);
    try {
      const { outcome } = await runOnAgent(session, req, {
        // The guest is thrown away after use: unbinding a driver there harms nothing.
        flags: RUNF.HOST_DEVICES | RUNF.ALLOW_UNBIND,
        onDeviceRequest: (r) => this.device(g, r, req.emit),
        klog,
        silenceMs: this.opts.silenceMs ?? 15_000,
      });
      if (outcome.status === 'crashed' && !down) down = await downSoon(g);
      if (down) {
        klog.panic(down);
        return { status: 'crashed', reason: describeDown(down), elapsed: Math.max(outcome.elapsed, latest.t()) };
      }
      return outcome;
    } catch (e) {
      down ??= e instanceof GuestDownError ? e.down : await downSoon(g);
      if (down) {
        klog.panic(down);
        return { status: 'crashed', reason: describeDown(down), elapsed: latest.t() };
      }
      if (e instanceof TargetError) throw e;
      throw new TargetError(`the native agent failed in the guest: ${(e as Error).message}`);
    } finally {
      g.off('down', onDown);
      session.quit();
      const t = setTimeout(() => session.kill(), 3000);
      const exited = await Promise.race([h.exit.then(() => true, () => true), new Promise<false>((res) => setTimeout(() => res(false), AGENT_EXIT_MS).unref())]);
      clearTimeout(t);
      // An oops in process context kills the faulting thread where it stands;
      // a lock it held keeps the other lanes in the kernel (D state) for good,
      // and the agent can then never exit. This guest is of no further use.
      if (!exited && g.alive && this.own) {
        req.emit({ kind: 'note', t: 0, level: 'warn', text: `the agent did not exit within ${AGENT_EXIT_MS / 1000} s of the run's end (threads stuck in the kernel); the guest is shut down` });
        await g.shutdown().catch(() => undefined);
      }
      this.lastKernel = await kernelContextOf(g);
    }
  }

  kernelContext(): KernelContext | undefined {
    return this.lastKernel;
  }

  /** A run stopped before its guest was ready: while the kernel was prepared, or while the guest booted. */
  private stoppedOutcome(): RunOutcome {
    return this.stage === 'preparing' ? STOPPED_PREPARING : STOPPED_BOOTING;
  }

  /** pa.* and midi.* presets: the application lane's child inside the guest (native-bridge/applane/). */
  private async runLibrary(req: RunRequest): Promise<RunOutcome> {
    const why = childUnavailable();
    if (why) throw new TargetError(why);
    const g = await this.guestFor(req, 'starting the application lane in the guest');
    if (!g) return this.stoppedOutcome();
    const latest = latestEvent(req);
    req = latest.req;
    const klog = await guestKernelLog(g, req.emit);
    let started: Awaited<ReturnType<typeof execChildInGuest>>;
    try {
      started = await execChildInGuest(g);
    } catch (e) {
      klog.stop();
      throw e instanceof TargetError ? e : new TargetError(`cannot start the application lane in the guest: ${(e as Error).message}`);
    }
    const session = new LibrarySession(started.channel);
    let down: GuestDown | undefined;
    const onDown = (d: GuestDown) => (down = d);
    g.on('down', onDown);
    try {
      const outcome = await runLibraryLane(session, req, {
        onDeviceRequest: (r) => this.device(g, r, req.emit),
        onStarted: (t0) => klog.start(t0),
        silenceMs: this.opts.silenceMs ?? 15_000,
      });
      if (outcome.status === 'crashed' && !down) down = await downSoon(g);
      if (down) {
        klog.panic(down);
        return { status: 'crashed', reason: describeDown(down), elapsed: Math.max(outcome.elapsed, latest.t()) };
      }
      return outcome;
    } catch (e) {
      down ??= e instanceof GuestDownError ? e.down : undefined;
      if (down) {
        klog.panic(down);
        return { status: 'crashed', reason: describeDown(down), elapsed: latest.t() };
      }
      throw e;
    } finally {
      klog.stop();
      g.off('down', onDown);
      session.quit();
      const t = setTimeout(() => session.kill(), 3000);
      await started.handle.exit.catch(() => undefined);
      clearTimeout(t);
      this.lastKernel = await kernelContextOf(g);
    }
  }

  /** USB sound goes out and back through QMP; other cards are unbound by the agent in the guest. */
  private async device(g: Guest, r: DeviceRequest, emit: (e: RunEvent) => void): Promise<number | 'agent'> {
    if (r.driver !== 'snd-usb-audio' || !g.hw.includes('usb-audio')) return 'agent';
    try {
      if (r.kind === 'detach') await g.unplug('usbsnd');
      else await g.replug('usbsnd');
      return 0;
    } catch (e) {
      const msg = (e as Error).message;
      // already out: the card is gone (ENODEV); already in: nothing to attach (EBUSY, as the simulator says)
      if (/already unplugged/.test(msg)) return -19;
      if (/is plugged in/.test(msg)) return -16;
      emit({ kind: 'note', t: 0, level: 'warn', text: `QMP ${r.kind} of the USB audio device failed: ${msg}` });
      return -5;
    }
  }

  async dispose(): Promise<void> {
    if (this.booting) {
      this.bootAbort.abort(new TargetError(`the virtual lab was shut down while ${this.stage === 'preparing' ? 'the kernel was prepared' : 'the guest booted'}`));
      await this.booting.catch(() => undefined);
    }
    if (this.own && this.guest) await this.guest.shutdown();
    this.guest = undefined;
  }
}

/** The guest's kernel at the end of a run, for the run's kernel record: the taint is read again when the guest is still up. */
async function kernelContextOf(g: Guest): Promise<KernelContext> {
  let end: KernelContext['taint_at_end'];
  if (g.alive) {
    // bounded from here too: in a guest whose kernel oopsed, even a new process may never start
    const r = await Promise.race([g.run('cat', ['/proc/sys/kernel/tainted'], { timeoutMs: 10_000 }).catch(() => undefined), new Promise<undefined>((res) => setTimeout(() => res(undefined), 12_000).unref())]);
    if (r?.code === 0 && /^\d+\s*$/.test(r.stdout)) end = decodeTaint(Number(r.stdout));
  }
  return { ...guestKernel(g), ...(end ? { taint_at_end: end } : {}) };
}

/**
 * The run-relative time of the latest event a run emitted (its actions, and
 * the kernel's report of the crash): what a run that crashed covered, as the
 * agent never sent the elapsed time of a run the guest died under.
 */
function latestEvent(req: RunRequest): { req: RunRequest; t: () => number } {
  let last = 0;
  const emit = (e: RunEvent) => {
    if (Number.isFinite(e.t) && e.t > last) last = e.t;
    req.emit(e);
  };
  return { req: { ...req, emit }, t: () => last };
}

/** When the agent vanished, the guest may be on its way down (a panic): wait briefly to know. */
async function downSoon(g: Guest): Promise<GuestDown | undefined> {
  if (!g.alive) return g.ended;
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([g.ended, new Promise<undefined>((res) => (timer = setTimeout(() => res(undefined), 5000)))]);
  clearTimeout(timer);
  return r;
}

function describeDown(d: GuestDown): string {
  return d.reason === 'panic' ? `the guest kernel crashed: ${d.title ?? d.message}` : d.reason === 'hang' ? `the guest stopped responding: ${d.message}` : `the guest went away: ${d.message}`;
}

/**
 * The guest's kernel log from a checkpoint taken before the agent starts,
 * on the agent's clock (both are the guest's CLOCK_MONOTONIC). Records that
 * arrive before the agent reports its start are held until it does. If the
 * kernel dies, the panic text from the console (which outlives the log
 * channel) is added after the last record the log delivered.
 */
async function guestKernelLog(g: Guest, emit: (e: RunEvent) => void): Promise<KernelLogFeed & { panic(d: GuestDown): void }> {
  const since = await g.checkpoint();
  const align = new KlogAligner('guest');
  let started = false;
  let lastUs = -1;
  const held: KmsgRecord[] = [];
  /** Texts of the records stamped lastUs. */
  const atLast = new Set<string>();
  const out = (r: { level: number; tsUs: number; text: string }) => {
    if (r.tsUs > lastUs) atLast.clear();
    if (r.tsUs >= lastUs) atLast.add(r.text);
    lastUs = Math.max(lastUs, r.tsUs);
    for (const e of align.push({ level: r.level, usec: r.tsUs, text: r.text })) emit(e);
  };
  let flushTimer: NodeJS.Timeout | undefined;
  const onRec = (r: KmsgRecord) => {
    if (r.seq <= since) return;
    if (!started) held.push(r);
    else out(r);
  };
  for (const r of g.klogSince(since)) onRec(r);
  g.on('klog', onRec);
  return {
    start(at) {
      align.start(at);
      started = true;
      for (const r of held.splice(0)) out(r);
      // the agent writes its first clock line at once; if none comes, map as is
      flushTimer = setTimeout(() => {
        for (const e of align.flush()) emit(e);
      }, 2000);
    },
    stop() {
      g.off('klog', onRec);
      clearTimeout(flushTimer);
      for (const r of held.splice(0)) out(r);
      for (const e of align.flush()) emit(e);
    },
    /**
     * The end of a panic is only on the console: add what the log channel did
     * not deliver. The console's own lines carry the kernel's timestamps
     * (GuestDown.text has them stripped), so they are read from there.
     */
    panic(d) {
      // An oops stamps all its lines with one time, so the cut is by the
      // channel's last record (and, at its time, the texts it delivered).
      for (const c of consoleAfter(g.consoleTail(4000) || d.text || '', lastUs, new Set(atLast))) out({ level: c.level, tsUs: c.usec, text: c.text });
    },
  };
}

export function createVmTarget(opts: VmTargetOptions = {}): Target {
  return new VmTarget(opts);
}
