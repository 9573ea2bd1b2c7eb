// How guests end: a kernel panic, a frozen machine, and the lab itself being
// killed. Each needs a guest of its own (the smallest hardware set boots fastest).
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bootGuest, GuestDownError } from './index.js';
import { distroKernel, validateEntry } from './kernel-cache.js';
import { cacheRoot, projectRoot } from './paths.js';
import { guestTmpBase, sweepStaleGuestDirs } from './tmpdir.js';

function pidGone(pid: number): boolean {
  try {
    // A zombie still has /proc/<pid>; it is gone for our purposes when it is not running.
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

async function until(what: string, cond: () => boolean, limitMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function childrenOf(ppid: number): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const m = /^\d+ \((.*)\) \S+ (\d+)/.exec(stat);
      if (m && Number(m[2]) === ppid) out.push({ pid: Number(d), comm: m[1]! });
    } catch {
      // raced with an exit
    }
  }
  return out;
}

describe('virtual lab lifecycle', { timeout: 300_000 }, () => {
  it('reports a guest that panics as a kernel crash, with its text', async () => {
    const g = await bootGuest({ hw: ['dummy'] });
    const qemu = g.qemuPid!;
    const crash = g.run('sh', ['-c', 'echo c > /proc/sysrq-trigger']);
    const err = await crash.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GuestDownError);
    const down = await g.ended;
    expect(down.reason).toBe('panic');
    expect(down.title).toBe('Kernel panic - not syncing: sysrq triggered crash');
    expect(down.text).toMatch(/Call Trace:[\s\S]*sysrq_handle_crash/);
    expect((err as GuestDownError).down).toBe(down);
    expect(pidGone(qemu)).toBe(true);
    await expect(g.checkpoint()).rejects.toBeInstanceOf(GuestDownError);
  });

  it('reports a frozen guest as hung instead of waiting on it', async () => {
    const g = await bootGuest({ hw: ['dummy'], hangTimeoutMs: 3000 });
    const sleeper = g.exec('sleep', ['1000']);
    await sleeper.pid;
    // Stop every vCPU: the guest is alive to QEMU but does nothing, like a hard lockup.
    await g.qmpExecute('stop');
    const down = await g.ended;
    expect(down.reason).toBe('hang');
    expect(down.message).toMatch(/no heartbeat from the guest for \d+ s \(QEMU status: paused\)/);
    await expect(sleeper.exit).rejects.toBeInstanceOf(GuestDownError);
  });

  it('leaves no QEMU behind when the lab process is killed with SIGKILL', async () => {
    const cli = spawn(process.execPath, [join(projectRoot(), 'bin', 'stresslab.js'), 'vm', 'exec', '--hw', 'dummy', '--', 'sleep', '1000'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    cli.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await until('the guest to be ready', () => /vm: guest ready/.test(err) || cli.exitCode !== null, 300_000);
    expect(err).toMatch(/vm: guest ready/);
    const qemu = childrenOf(cli.pid!).find((c) => c.comm.startsWith('qemu-system'));
    expect(qemu, `children of ${cli.pid}: ${JSON.stringify(childrenOf(cli.pid!))}`).toBeDefined();
    const dir = readdirSync(guestTmpBase()).find((n) => n.startsWith(`stresslab-vlab-${cli.pid}-`));
    expect(dir).toBeDefined();

    const reaped = new Promise((r) => cli.once('exit', r));
    cli.kill('SIGKILL');
    await until('QEMU to die with its owner', () => pidGone(qemu!.pid));
    await reaped;
    // The killed process could not remove its temp dir; the next boot's sweep does.
    sweepStaleGuestDirs();
    expect(existsSync(join(guestTmpBase(), dir!))).toBe(false);
  });

  it('rebuilds a damaged kernel cache instead of booting from it', async () => {
    const good = await distroKernel(cacheRoot());
    const entry = join(good.image, '..');
    const copy = mkdtempSync(join(tmpdir(), 'vlab-cache-copy-'));
    try {
      const dest = join(copy, 'kernels', good.package!);
      cpSync(entry, dest, { recursive: true });
      cpSync(join(cacheRoot(), 'kernels', 'resolved.json'), join(copy, 'kernels', 'resolved.json'));
      const module = join(dest, 'modules', readFileSync(join(dest, 'modules', 'modules.dep'), 'utf8').split(':')[0]!);
      truncateSync(module, 10);
      expect(validateEntry(dest)).toMatch(/bytes, manifest says/);
      const lines: string[] = [];
      const k = await distroKernel(copy, (l) => lines.push(l));
      expect(lines.join('\n')).toMatch(/is unusable .* rebuilding/);
      expect(validateEntry(dest)).toBeUndefined();
      expect(k.release).toBe(good.release);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
