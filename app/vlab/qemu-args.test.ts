import { describe, expect, it } from 'vitest';
import { VlabInputError } from './errors.js';
import { guestCmdline, qemuArgs } from './qemu-args.js';

const base = {
  kernelImage: '/k/vmlinux',
  initrd: '/t/initramfs.cpio',
  cmdline: 'console=ttyS0',
  memoryMb: 512,
  cpus: 2,
  accel: 'tcg' as const,
  sockets: { console: '/t/con', control: '/t/ctl', qmp: '/t/qmp' },
  name: 'vlab-test',
};

function pairs(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));
}

describe('QEMU command line', () => {
  it('has the host root read-only, the control port, QMP and no network', () => {
    const a = qemuArgs({ ...base, hw: ['dummy'] });
    expect(pairs(a, '-fsdev')[0]).toMatch(/^local,.*path=\/,.*readonly=on/);
    expect(pairs(a, '-device')).toContain('virtserialport,chardev=ctl,name=vlab.ctl');
    expect(pairs(a, '-mon')).toEqual(['chardev=qmp,mode=control']);
    expect(a).toContain('-no-reboot');
    expect(pairs(a, '-net')).toEqual(['none']);
    expect(pairs(a, '-accel')).toEqual(['tcg,thread=multi']);
    expect(pairs(a, '-audiodev')).toEqual([]); // snd-dummy needs no emulated device
  });

  it('adds emulated devices and one audio backend for the hardware that needs them', () => {
    const a = qemuArgs({ ...base, hw: ['ac97', 'usb-audio', 'hda'], accel: 'kvm', cpus: 1 });
    expect(pairs(a, '-audiodev')).toEqual(['none,id=vlabsnd']);
    expect(pairs(a, '-device')).toEqual(expect.arrayContaining(['AC97,id=ac97,audiodev=vlabsnd', 'qemu-xhci,id=xhci', 'usb-audio,id=usbsnd,bus=xhci.0,audiodev=vlabsnd', 'intel-hda,id=hda']));
    expect(pairs(a, '-accel')).toEqual(['kvm']);
  });

  it('builds a kernel command line that panics straight into a QEMU exit', () => {
    const c = guestCmdline({ hungTaskSecs: 20, moduleParams: ['snd_dummy.index=0'] });
    expect(c.split(' ')).toEqual(expect.arrayContaining(['console=ttyS0', 'panic=-1', 'no_timer_check', 'sysctl.kernel.hung_task_timeout_secs=20', 'snd_dummy.index=0']));
    expect(() => guestCmdline({ hungTaskSecs: 20, extra: ['a b'] })).toThrow(VlabInputError);
    expect(() => guestCmdline({ hungTaskSecs: 20, extra: ['x'.repeat(3000)] })).toThrow(/too long/);
  });
});
