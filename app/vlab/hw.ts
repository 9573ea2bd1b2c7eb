// The virtual sound hardware a guest can have, chosen per run. Each entry says
// what QEMU emulates, which kernel modules drive it, and what must exist in
// the guest before the hardware counts as ready.
import { VlabInputError } from './errors.js';

export const HW_NAMES = ['dummy', 'aloop', 'seq-dummy', 'ac97', 'usb-audio', 'hda'] as const;
export type HwName = (typeof HW_NAMES)[number];

/** Everything that boots and plays under software emulation here: all of it. */
export const DEFAULT_HW: HwName[] = ['dummy', 'aloop', 'seq-dummy', 'ac97', 'usb-audio', 'hda'];

export interface ModuleLoad {
  name: string;
  /** modprobe options, "key=value" without spaces. */
  options?: string[];
}

/** A device that can be pulled out and put back while the guest runs (QMP device_del/device_add). */
export interface HotplugDevice {
  id: string;
  driver: string;
  props: Record<string, string>;
}

export interface HwSpec {
  name: HwName;
  summary: string;
  /** QEMU arguments; they may rely on the shared audio backend "vlabsnd". */
  qemuArgs: string[];
  modules: ModuleLoad[];
  /** The module that creates the card (gets index=N so card numbers follow the hardware list). */
  cardModule?: string;
  /** Guest paths whose existence means the hardware is ready. */
  waitFor: string[];
  /** ALSA card ids (/proc/asound/<id>) this hardware brings. */
  cardIds: string[];
  hotplug?: HotplugDevice;
  /**
   * Hardware whose driver is in no kernel (a test driver): the out-of-tree
   * module directory (a Kbuild dir, relative to the project root) that a
   * module overlay builds for the booted kernel; its modules are then planned
   * like stock ones (boot.ts prepareBoot, module-plan.ts).
   */
  overlayModuleDir?: string;
}

const USB_AUDIO: HotplugDevice = { id: 'usbsnd', driver: 'usb-audio', props: { bus: 'xhci.0', audiodev: 'vlabsnd' } };

export const HW: Record<HwName, HwSpec> = {
  dummy: {
    name: 'dummy',
    summary: 'snd-dummy: a PCM card with no hardware behind it, timed by hrtimers',
    qemuArgs: [],
    modules: [{ name: 'snd-dummy' }],
    cardModule: 'snd-dummy',
    waitFor: ['/proc/asound/Dummy'],
    cardIds: ['Dummy'],
  },
  aloop: {
    name: 'aloop',
    summary: 'snd-aloop: loopback card, what one substream plays another captures',
    qemuArgs: [],
    modules: [{ name: 'snd-aloop' }],
    cardModule: 'snd-aloop',
    waitFor: ['/proc/asound/Loopback'],
    cardIds: ['Loopback'],
  },
  'seq-dummy': {
    name: 'seq-dummy',
    summary: 'snd-seq-dummy: the sequencer with its "Midi Through" kernel client',
    qemuArgs: [],
    modules: [{ name: 'snd-seq-dummy' }],
    waitFor: ['/proc/asound/seq/clients', '/dev/snd/seq'],
    cardIds: [],
  },
  ac97: {
    name: 'ac97',
    summary: 'QEMU AC97 (Intel 82801AA) driven by snd-intel8x0: emulated DMA and interrupts',
    qemuArgs: ['-device', 'AC97,id=ac97,audiodev=vlabsnd'],
    // A fixed AC97 clock skips the driver's clock measurement, which is slow and
    // meaningless under emulation.
    modules: [{ name: 'snd-intel8x0', options: ['ac97_clock=48000'] }],
    cardModule: 'snd-intel8x0',
    waitFor: ['/proc/asound/I82801AAICH'],
    cardIds: ['I82801AAICH'],
  },
  'usb-audio': {
    name: 'usb-audio',
    summary: 'QEMU USB audio on an xHCI controller, driven by snd-usb-audio; can be unplugged live',
    qemuArgs: ['-device', 'qemu-xhci,id=xhci', '-device', devArg(USB_AUDIO)],
    modules: [{ name: 'xhci-pci' }, { name: 'snd-usb-audio' }],
    cardModule: 'snd-usb-audio',
    waitFor: ['/proc/asound/Audio'],
    cardIds: ['Audio'],
    hotplug: USB_AUDIO,
  },
  hda: {
    name: 'hda',
    summary: 'QEMU Intel HDA controller with a duplex codec (snd-hda-intel + the generic codec driver)',
    qemuArgs: ['-device', 'intel-hda,id=hda', '-device', 'hda-duplex,audiodev=vlabsnd'],
    // The codec driver must be there before the controller probes: the guest's
    // early /init has no modprobe for the kernel to request it with, and
    // without a codec driver the probe ends in "Cannot probe codecs, giving up".
    modules: [{ name: 'snd-hda-codec-generic' }, { name: 'snd-hda-intel' }],
    cardModule: 'snd-hda-intel',
    waitFor: ['/proc/asound/Intel'],
    cardIds: ['Intel'],
  },
};

export function devArg(d: HotplugDevice): string {
  return [d.driver, `id=${d.id}`, ...Object.entries(d.props).map(([k, v]) => `${k}=${v}`)].join(',');
}

/** Parses "dummy,aloop" (or a list of such); unknown names are a usage error naming the valid ones. */
export function parseHwList(values: string | string[]): HwName[] {
  const items = (Array.isArray(values) ? values : [values]).flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new VlabInputError(`empty hardware list; choose from: ${HW_NAMES.join(', ')}`);
  const out: HwName[] = [];
  for (const it of items) {
    if (it === 'default') {
      for (const d of DEFAULT_HW) if (!out.includes(d)) out.push(d);
      continue;
    }
    if (!(HW_NAMES as readonly string[]).includes(it)) throw new VlabInputError(`unknown virtual hardware "${it}"; choose from: ${HW_NAMES.join(', ')} (or "default")`);
    if (!out.includes(it as HwName)) out.push(it as HwName);
  }
  return out;
}

export function hotplugDevice(id: string, hw: HwName[]): HotplugDevice | undefined {
  for (const h of hw) if (HW[h].hotplug?.id === id) return HW[h].hotplug;
  return undefined;
}
