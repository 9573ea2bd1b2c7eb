// Control elements (sound/core/control.c): element read/write through the
// control device, under card->controls_rwsem. A driver's put callback may
// do real work while the rwsem is held for write (ASoC routing does).
import { ERRNO } from '../../vocabulary/errno.js';
import type { Kernel } from '../kernel/kernel.js';
import { downRead, downWrite, upRead, upWrite } from '../kernel/sync.js';
import type { KGen } from '../kernel/task.js';
import { type SndCard, type SndDevice, snd_card_file_add, snd_card_file_remove } from './card.js';
import { type FileOps, type Req, SimFile } from './file.js';
import type { ControlInfo } from '../../devices/types.js';

const E = ERRNO;
/** SNDRV_CTL_VERSION of Linux 6.1 (2.0.8). */
const SNDRV_CTL_VERSION = (2 << 16) | (0 << 8) | 8;

export type CtlValue = number | boolean;

export interface KcontrolDef {
  name: string;
  index?: number;
  type: 'BOOLEAN' | 'INTEGER' | 'ENUMERATED';
  count: number;
  items?: string[];
  min?: number;
  max?: number;
  init: CtlValue[];
  /** Returns 1 if the value changed, 0 if not, or -errno. Runs with controls_rwsem held for write. */
  put?: (k: Kernel, kc: SndKcontrol, values: CtlValue[]) => KGen<number>;
}

export class SndKcontrol {
  value: CtlValue[];
  constructor(
    readonly card: SndCard,
    readonly numid: number,
    readonly def: KcontrolDef,
  ) {
    this.value = [...def.init];
  }
}

export function addControl(card: SndCard, def: KcontrolDef): SndKcontrol {
  const kc = new SndKcontrol(card, card.controls.length + 1, def);
  card.controls.push(kc);
  return kc;
}

function find(card: SndCard, name: string, index: number): SndKcontrol | undefined {
  return card.controls.find((c) => c.def.name === name && (c.def.index ?? 0) === index);
}

/** Turn a lab value (number, boolean or enum item name) into element values. */
function toValues(kc: SndKcontrol, v: unknown): CtlValue[] | undefined {
  const d = kc.def;
  let one: CtlValue;
  if (d.type === 'ENUMERATED') {
    const idx = typeof v === 'string' ? (d.items ?? []).indexOf(v) : typeof v === 'number' ? v : -1;
    if (idx < 0 || idx >= (d.items?.length ?? 0)) return undefined;
    one = idx;
  } else if (d.type === 'BOOLEAN') {
    if (typeof v !== 'boolean' && v !== 0 && v !== 1) return undefined;
    one = Boolean(v);
  } else {
    if (typeof v !== 'number') return undefined;
    one = v;
  }
  return new Array<CtlValue>(d.count).fill(one);
}

export interface CtlWriteArg {
  name: string;
  index: number;
  value: unknown;
}

function* snd_ctl_elem_write(k: Kernel, card: SndCard, a: CtlWriteArg, out: Record<string, unknown>): KGen<number> {
  const stack = ['snd_ctl_elem_write', 'snd_ctl_elem_write_user', 'snd_ctl_ioctl'];
  yield* downWrite(k, card.controls_rwsem, 'snd_ctl_elem_write: down_write(&card->controls_rwsem)', stack);
  const kc = find(card, a.name, a.index);
  let r: number;
  if (!kc) r = -E.ENOENT;
  else {
    const values = toValues(kc, a.value);
    if (!values) r = -E.EINVAL;
    else if (kc.def.put) r = yield* kc.def.put(k, kc, values);
    else {
      r = values.some((v, i) => v !== kc.value[i]) ? 1 : 0;
      kc.value = values;
    }
    out.changed = r > 0;
    out.value = a.value;
  }
  upWrite(k, card.controls_rwsem);
  return r < 0 ? r : 0;
}

function* snd_ctl_elem_read(k: Kernel, card: SndCard, a: { name: string; index: number }, out: Record<string, unknown>): KGen<number> {
  yield* downRead(k, card.controls_rwsem, 'snd_ctl_elem_read: down_read(&card->controls_rwsem)', ['snd_ctl_elem_read', 'snd_ctl_ioctl']);
  const kc = find(card, a.name, a.index);
  if (kc) out.value = kc.value.map((v) => (kc.def.type === 'ENUMERATED' ? (kc.def.items?.[v as number] ?? v) : v));
  upRead(k, card.controls_rwsem);
  return kc ? 0 : -E.ENOENT;
}

/** SNDRV_CTL_IOCTL_CARD_INFO: what snd_ctl_card_info() copies out. */
function snd_ctl_card_info(card: SndCard, out: Record<string, unknown>): number {
  Object.assign(out, { card: card.number, id: card.id, driver: card.driver, name: card.shortname, longname: card.longname });
  return 0;
}

export interface CtlPcmInfoArg {
  device: number;
  stream: 'playback' | 'capture';
  subdevice: number;
}

/**
 * The PCM part of the control device (snd_pcm_control_ioctl in pcm.c):
 * SNDRV_CTL_IOCTL_PCM_NEXT_DEVICE, PCM_INFO, PCM_PREFER_SUBDEVICE.
 */
function snd_pcm_control_ioctl(card: SndCard, f: SimFile, r: Req, out: Record<string, unknown>): number {
  switch (r.cmd) {
    case 'pcm_next_device': {
      const after = r.arg as number;
      const next = card.pcms.map((p) => p.device).filter((d) => d > after).sort((a, b) => a - b)[0];
      out.device = next ?? -1;
      return 0;
    }
    case 'pcm_info': {
      const a = r.arg as CtlPcmInfoArg;
      const pcm = card.pcms.find((p) => p.device === a.device);
      if (!pcm) return -E.ENXIO;
      const list = pcm.streams[a.stream === 'playback' ? 0 : 1];
      if (!list.length) return -E.ENOENT;
      if (a.subdevice >= list.length) return -E.ENXIO;
      Object.assign(out, { card: card.number, device: a.device, subdevice: a.subdevice, stream: a.stream, id: pcm.id, name: pcm.name, subdevices_count: list.length, subdevices_avail: list.filter((s) => s.ref_count === 0).length });
      return 0;
    }
    case 'pcm_prefer_subdevice':
      // remembered per control file; the lab's opens always ask for "any" (-1)
      (f as SimFile & { preferSubdevice?: number }).preferSubdevice = r.arg as number;
      return 0;
  }
  return -E.ENOTTY;
}

export const ctlFops: FileOps = {
  name: 'snd_ctl_f_ops',
  *ioctl(k, f, r: Req) {
    const card = f.card!;
    if (card.shutdown) return -E.ENODEV;
    const out = (r.out ??= {});
    switch (r.cmd) {
      case 'elem_write':
        return yield* snd_ctl_elem_write(k, card, r.arg as CtlWriteArg, out);
      case 'elem_read':
        return yield* snd_ctl_elem_read(k, card, r.arg as { name: string; index: number }, out);
      case 'pversion':
        out.version = SNDRV_CTL_VERSION;
        return 0;
      case 'card_info':
        return snd_ctl_card_info(card, out);
      case 'pcm_next_device':
      case 'pcm_info':
      case 'pcm_prefer_subdevice':
        return snd_pcm_control_ioctl(card, f, r, out);
    }
    return -E.ENOTTY;
  },
  *read() {
    return -E.EAGAIN;
  },
  *write() {
    return -E.EINVAL;
  },
  *release(k, f) {
    if (f.card) yield* snd_card_file_remove(k, f.card, f);
    return 0;
  },
};

export function* snd_ctl_open(k: Kernel, card: SndCard, path: string): KGen<{ err: number; file?: SimFile }> {
  const f = new SimFile(ctlFops, null, false, card, path);
  const err = yield* snd_card_file_add(k, card, f);
  return err < 0 ? { err } : { err: 0, file: f };
}

export function controlDevice(): SndDevice {
  return {
    kind: 'control',
    *disconnect() {},
    *free() {},
  };
}

export function controlInfo(card: SndCard): ControlInfo[] {
  return card.controls.map((c) => ({
    card: card.number,
    numid: c.numid,
    name: c.def.name,
    index: c.def.index ?? 0,
    type: c.def.type,
    count: c.def.count,
    ...(c.def.items ? { items: c.def.items } : {}),
    ...(c.def.min !== undefined ? { min: c.def.min } : {}),
    ...(c.def.max !== undefined ? { max: c.def.max } : {}),
    value: c.value.map((v) => (c.def.type === 'ENUMERATED' ? (c.def.items?.[v as number] ?? v) : v)),
  }));
}
