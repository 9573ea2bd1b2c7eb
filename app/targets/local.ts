// This machine's sound cards through the native agent. Nothing that can hang
// runs in this process: the agent is a child process, watched by its
// heartbeat and killed when it stops answering.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { DeviceList } from '../devices/types.js';
import { type RunOutcome, type RunRequest, type Target, TargetError } from './target.js';
import { agentUnavailable, ensureAgent } from './agent/binary.js';
import { spawnAgent } from './agent/process.js';
import { RUNF } from './agent/protocol.js';
import { runOnAgent, type KernelLogFeed } from './agent/runner.js';
import { AgentSession, parseDeviceJson } from './agent/session.js';
import { KlogAligner, KmsgReader } from './kmsg.js';
import { localContext } from './context.js';
import { placementOf } from '../vocabulary/placement.js';
import { programSteps } from '../program/resolve.js';
import { LibrarySession, childUnavailable, runLibraryLane, spawnLocalChild } from '../applane/session.js';

export interface LocalTargetOptions {
  /** Use this agent binary instead of building native-bridge/. */
  agentPath?: string;
  /**
   * device.detach may unbind the card's driver through sysfs. This removes a
   * real device from a real machine, so it is off unless asked for explicitly.
   */
  allowUnbind?: boolean;
  kmsgPath?: string;
}

export class LocalTarget implements Target {
  readonly id = 'local' as const;
  readonly label = 'this machine (native agent)';

  constructor(private readonly opts: LocalTargetOptions = {}) {}

  async available(): Promise<{ ok: boolean; why?: string }> {
    if (!existsSync('/dev/snd')) return { ok: false, why: 'this machine has no /dev/snd (no ALSA sound devices)' };
    const why = agentUnavailable(this.opts.agentPath);
    return why ? { ok: false, why } : { ok: true };
  }

  async listDevices(): Promise<DeviceList> {
    const bin = ensureAgent({ path: this.opts.agentPath });
    const r = spawnSync(bin, ['--list'], { encoding: 'utf8', timeout: 30000 });
    if (r.error || r.status !== 0) throw new TargetError(`the agent could not list devices: ${r.error?.message ?? r.stderr.trim()}`);
    return parseDeviceJson(r.stdout, 'local');
  }

  async run(req: RunRequest): Promise<RunOutcome> {
    req.emit({ kind: 'context', t: 0, context: localContext() });
    if (placementOf(programSteps(req.program)) === 'library') return this.runLibrary(req);
    const bin = ensureAgent({ path: this.opts.agentPath });
    const child = spawnAgent(bin);
    const session = new AgentSession(child);
    const klog = this.kernelLog(req);
    try {
      const { outcome } = await runOnAgent(session, req, { flags: this.opts.allowUnbind ? RUNF.ALLOW_UNBIND : 0, klog });
      return outcome;
    } catch (e) {
      if (e instanceof TargetError) throw e;
      throw new TargetError(`the native agent failed: ${(e as Error).message}`);
    } finally {
      session.quit();
      const t = setTimeout(() => child.kill(), 3000);
      await child.exited;
      clearTimeout(t);
    }
  }

  /** pa.* and midi.* presets: the application lane's child process (native-bridge/applane/). */
  private async runLibrary(req: RunRequest): Promise<RunOutcome> {
    const why = childUnavailable();
    if (why) throw new TargetError(why);
    const session = new LibrarySession(spawnLocalChild());
    const klog = this.kernelLog(req);
    try {
      return await runLibraryLane(session, req, { onStarted: (t0) => klog.start(t0) });
    } finally {
      klog.stop();
      session.quit();
      const t = setTimeout(() => session.kill(), 3000);
      await session.whenClosed();
      clearTimeout(t);
    }
  }

  private kernelLog(req: RunRequest): KernelLogFeed {
    const opened = KmsgReader.open(this.opts.kmsgPath);
    if (!opened.ok) {
      req.emit({ kind: 'note', t: 0, level: 'warn', text: `${opened.why}; kernel oopses, warnings and hung-task reports will not be seen` });
      return { start() {}, stop() {} };
    }
    const reader = opened.reader;
    const align = new KlogAligner('host');
    let started = false;
    let timer: NodeJS.Timeout | undefined;
    let startedAt = 0;
    const pump = () => {
      for (const r of reader.poll()) for (const e of align.push(r)) req.emit(e);
      // without root the agent cannot write its clock lines: do not wait for them
      if (Date.now() - startedAt > 1000) for (const e of align.flush()) req.emit(e);
    };
    return {
      start(at) {
        align.start(at);
        started = true;
        startedAt = Date.now();
        pump();
        timer = setInterval(pump, 100);
      },
      stop() {
        if (timer) clearInterval(timer);
        if (started) {
          pump();
          for (const e of align.flush()) req.emit(e);
        }
        reader.close();
      },
    };
  }
}

export function createLocalTarget(opts: LocalTargetOptions = {}): Target {
  return new LocalTarget(opts);
}
