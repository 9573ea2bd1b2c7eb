// The QEMU command line and the guest kernel command line for one guest.
// Pure functions, so what a guest is made of can be read and tested without booting.
import { VlabInputError } from './errors.js';
import { HW, type HwName } from './hw.js';

export interface QemuPlan {
  kernelImage: string;
  initrd: string;
  cmdline: string;
  memoryMb: number;
  cpus: number;
  accel: 'kvm' | 'tcg';
  sockets: { console: string; control: string; qmp: string };
  hw: HwName[];
  name: string;
}

export function qemuArgs(p: QemuPlan): string[] {
  const audio = p.hw.some((h) => HW[h].qemuArgs.some((a) => a.includes('audiodev=vlabsnd')));
  return [
    '-name', p.name,
    '-machine', 'pc',
    // Several vCPUs under TCG run on several host threads only with thread=multi.
    '-accel', p.accel === 'kvm' ? 'kvm' : `tcg${p.cpus > 1 ? ',thread=multi' : ''}`,
    ...(p.accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-m', String(p.memoryMb),
    '-smp', String(p.cpus),
    '-nodefaults', '-no-user-config',
    '-display', 'none', '-vga', 'none',
    // No NIC: no iPXE option ROM to wait for, and nothing in the guest needs a network.
    '-net', 'none',
    // A guest reboot (the kernel's panic=-1 after a panic) ends QEMU instead of booting again.
    '-no-reboot',
    '-kernel', p.kernelImage,
    '-initrd', p.initrd,
    '-append', p.cmdline,
    '-chardev', `socket,id=con,path=${p.sockets.console}`,
    '-serial', 'chardev:con',
    '-chardev', `socket,id=ctl,path=${p.sockets.control}`,
    '-device', 'virtio-serial-pci,id=vser',
    '-device', 'virtserialport,chardev=ctl,name=vlab.ctl',
    '-chardev', `socket,id=qmp,path=${p.sockets.qmp}`,
    '-mon', 'chardev=qmp,mode=control',
    // The host's root, read-only; the guest writes to a tmpfs overlay on top of it.
    '-fsdev', 'local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap',
    '-device', 'virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot',
    ...(audio ? ['-audiodev', 'none,id=vlabsnd'] : []),
    ...p.hw.flatMap((h) => HW[h].qemuArgs),
  ];
}

export interface CmdlinePlan {
  hungTaskSecs: number;
  /** Options of built-in drivers (module.option=value). */
  moduleParams?: string[];
  extra?: string[];
}

/** x86 COMMAND_LINE_SIZE. */
const MAX_CMDLINE = 2048;

export function guestCmdline(p: CmdlinePlan): string {
  const parts = [
    'console=ttyS0',
    // The console shows only errors while booting (fast); an oops or panic turns it verbose by itself.
    'quiet',
    // Reboot right after a panic: with -no-reboot QEMU then exits, and the panic text is complete on the console.
    'panic=-1',
    // Under emulation on a busy host the IO-APIC timer check at boot can miss its
    // window and panic ("IO-APIC + timer doesn't work!"; seen with CPU hogs beside
    // the guest); the timer works, the check is what fails.
    'no_timer_check',
    'printk.devkmsg=on',
    `sysctl.kernel.hung_task_timeout_secs=${p.hungTaskSecs}`,
    ...(p.moduleParams ?? []),
    ...(p.extra ?? []),
  ];
  for (const part of parts) {
    if (/[\s"]/.test(part)) throw new VlabInputError(`kernel command line item cannot contain spaces or quotes: ${JSON.stringify(part)}`);
  }
  const line = parts.join(' ');
  if (line.length >= MAX_CMDLINE) throw new VlabInputError(`kernel command line too long (${line.length} bytes, limit ${MAX_CMDLINE - 1})`);
  return line;
}
