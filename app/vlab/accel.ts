// KVM or software emulation (TCG). /dev/kvm existing is not enough: on some
// hosts (nested virtualisation) a KVM guest hangs in its firmware. So KVM is
// used only after a probe boot under KVM reached userspace, and the verdict is
// remembered per host boot, QEMU build and kernel.
import { accessSync, constants, mkdirSync, readFileSync, renameSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildCpio } from './cpio.js';
import { spawnOwned } from './lifecycle.js';
import { makeGuestDir } from './tmpdir.js';
import type { KernelSpec } from './kernel-cache.js';

export type AccelChoice = 'auto' | 'kvm' | 'tcg';

const PROBE_TIMEOUT_MS = 8000;

export async function chooseAccel(opts: { requested: AccelChoice; kernel: KernelSpec; qemu: string; busybox: string; cacheRoot: string; log: (l: string) => void }): Promise<'kvm' | 'tcg'> {
  if (opts.requested !== 'auto') return opts.requested;
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return 'tcg';
  }
  const key = probeKey(opts.qemu, opts.kernel);
  const memo = join(opts.cacheRoot, 'accel.json');
  // One verdict per kernel (a kernel matrix boots several in turn); an older
  // file held a single {key, kvm}.
  let verdicts: Record<string, boolean> = {};
  try {
    const m = JSON.parse(readFileSync(memo, 'utf8')) as { key?: string; kvm?: boolean; verdicts?: Record<string, boolean> };
    verdicts = m.verdicts ?? (m.key !== undefined ? { [m.key]: !!m.kvm } : {});
    if (key in verdicts) return verdicts[key] ? 'kvm' : 'tcg';
  } catch {
    // probe below
  }
  opts.log('vlab: probing whether KVM boots on this host (once per host boot)');
  const kvm = await probeKvm(opts.qemu, opts.kernel, opts.busybox);
  opts.log(`vlab: KVM ${kvm ? 'works' : 'does not boot here; using software emulation (TCG)'}`);
  mkdirSync(opts.cacheRoot, { recursive: true });
  const bootId = key.split('|')[0];
  const kept = Object.fromEntries(Object.entries(verdicts).filter(([k]) => k.split('|')[0] === bootId));
  const tmp = `${memo}.${process.pid}`;
  writeFileSync(tmp, JSON.stringify({ verdicts: { ...kept, [key]: kvm } }) + '\n');
  renameSync(tmp, memo);
  return kvm ? 'kvm' : 'tcg';
}

function probeKey(qemu: string, kernel: KernelSpec): string {
  let boot = '';
  try {
    boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    // no boot id: the verdict then lasts until QEMU or the kernel changes
  }
  const q = statSync(qemu);
  return [boot, `${q.size}:${q.mtimeMs}`, kernel.release].join('|');
}

function probeKvm(qemu: string, kernel: KernelSpec, busybox: string): Promise<boolean> {
  const dir = makeGuestDir();
  const initrd = join(dir, 'probe.cpio');
  writeFileSync(
    initrd,
    buildCpio([
      { path: 'bin', type: 'dir', perm: 0o755 },
      { path: 'dev', type: 'dir', perm: 0o755 },
      { path: 'dev/console', type: 'chardev', perm: 0o600, major: 5, minor: 1 },
      { path: 'bin/busybox', type: 'file', perm: 0o755, data: readFileSync(busybox) },
      { path: 'init', type: 'file', perm: 0o755, data: Buffer.from('#!/bin/busybox sh\necho VLAB-KVM-OK\n/bin/busybox poweroff -f\n') },
    ]),
  );
  return new Promise((resolve) => {
    const child = spawnOwned(
      qemu,
      ['-accel', 'kvm', '-cpu', 'host', '-m', '256', '-nodefaults', '-no-user-config', '-display', 'none', '-vga', 'none', '-net', 'none', '-no-reboot',
        '-serial', 'stdio', '-kernel', kernel.image, '-initrd', initrd, '-append', 'console=ttyS0 quiet panic=-1'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), PROBE_TIMEOUT_MS);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (out.includes('VLAB-KVM-OK')) finish(true);
    });
    child.on('exit', () => finish(out.includes('VLAB-KVM-OK')));
    child.on('error', () => finish(false));
  });
}
