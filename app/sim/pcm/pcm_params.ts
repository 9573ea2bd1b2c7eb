// Hardware parameter refinement, a reduced form of snd_pcm_hw_refine(): the
// driver's snd_pcm_hardware becomes masks and intervals (as in
// snd_pcm_hw_constraints_complete), the core's rules tie frame size, period
// and buffer together, and everything is narrowed to a fixpoint. Choosing
// follows snd_pcm_hw_params_choose(): first access, first format, min
// channels, min rate, min period time, max buffer size.
import { FORMAT_BITS, type PcmFormat } from '../../vocabulary/ops.js';
import type { HwParams, Interval } from '../../events/op-data.js';
import { INFO_INTERLEAVED, INFO_MMAP, INFO_NONINTERLEAVED, type SndPcmHardware } from './pcm_types.js';

export type Access = HwParams['access'];
/** SNDRV_PCM_ACCESS_* order: MMAP_INTERLEAVED=0 ... RW_INTERLEAVED=3, RW_NONINTERLEAVED=4. */
const ACCESS_ORDER: Access[] = ['mmap_interleaved', 'rw_interleaved', 'rw_noninterleaved'];

export interface ParamSpace {
  access: Access[];
  formats: PcmFormat[];
  channels: Interval;
  rate: Interval;
  period_size: Interval;
  periods: Interval;
  buffer_size: Interval;
  period_bytes: Interval;
  buffer_bytes: Interval;
}

/**
 * What the caller asks for; unset means "anything". The lab's raw ops ask
 * for single values; alsa-lib (the application lane's mirror) narrows with
 * sets and intervals, as its hw_params functions do.
 */
export interface ParamRequest {
  access?: Access | Access[];
  format?: PcmFormat | PcmFormat[];
  channels?: number | Interval;
  rate?: number | Interval;
  period_size?: number | Interval;
  periods?: number | Interval;
  buffer_size?: number | Interval;
}

const FULL: Interval = { min: 0, max: Number.MAX_SAFE_INTEGER };

function fix(v: number | Interval | undefined): Interval {
  return v === undefined ? { ...FULL } : typeof v === 'number' ? { min: v, max: v } : { ...v };
}

function allowed<T>(want: T | T[] | undefined, have: readonly T[]): T[] {
  if (want === undefined) return [...have];
  const set = Array.isArray(want) ? want : [want];
  return have.filter((x) => set.includes(x));
}

function intersect(a: Interval, b: Interval): boolean {
  const min = Math.max(a.min, b.min);
  const max = Math.min(a.max, b.max);
  const changed = min !== a.min || max !== a.max;
  a.min = min;
  a.max = max;
  return changed;
}

function empty(i: Interval): boolean {
  return i.min > i.max;
}

/** The space a driver's hardware allows, intersected with the request. */
export function initialSpace(hw: SndPcmHardware, req: ParamRequest): ParamSpace | undefined {
  const access: Access[] = [];
  if (hw.info & INFO_INTERLEAVED) {
    if (hw.info & INFO_MMAP) access.push('mmap_interleaved');
    access.push('rw_interleaved');
  }
  if (hw.info & INFO_NONINTERLEAVED) access.push('rw_noninterleaved');
  const space: ParamSpace = {
    access: allowed(req.access, access).sort((a, b) => ACCESS_ORDER.indexOf(a) - ACCESS_ORDER.indexOf(b)),
    formats: allowed(req.format, hw.formats).sort((a, b) => FORMAT_BITS[a].index - FORMAT_BITS[b].index),
    channels: { min: hw.channels_min, max: hw.channels_max },
    rate: { min: hw.rate_min, max: hw.rate_max },
    period_size: { min: 1, max: FULL.max },
    periods: { min: hw.periods_min, max: hw.periods_max },
    buffer_size: { min: 1, max: FULL.max },
    period_bytes: { min: hw.period_bytes_min, max: hw.period_bytes_max },
    buffer_bytes: { min: hw.period_bytes_min, max: hw.buffer_bytes_max },
  };
  if (!space.access.length || !space.formats.length) return undefined;
  intersect(space.channels, fix(req.channels));
  intersect(space.rate, fix(req.rate));
  if (hw.rates) {
    // discrete rates: the interval shrinks to the listed rates inside it
    const inside = hw.rates.filter((r) => r >= space.rate.min && r <= space.rate.max);
    if (!inside.length) return undefined;
    space.rate = { min: Math.min(...inside), max: Math.max(...inside) };
  }
  intersect(space.period_size, fix(req.period_size));
  intersect(space.periods, fix(req.periods));
  intersect(space.buffer_size, fix(req.buffer_size));
  return space;
}

/** Narrow until nothing changes. Returns false when the space is empty (-EINVAL). */
export function refine(s: ParamSpace): boolean {
  for (let round = 0; round < 64; round++) {
    const bits = s.formats.map((f) => FORMAT_BITS[f].physical);
    const fbMin = (Math.min(...bits) * s.channels.min) / 8;
    const fbMax = (Math.max(...bits) * s.channels.max) / 8;
    if (!(fbMin > 0)) return false;
    let changed = false;
    changed = intersect(s.period_bytes, { min: Math.ceil(s.period_size.min * fbMin), max: Math.floor(s.period_size.max * fbMax) }) || changed;
    changed = intersect(s.period_size, { min: Math.ceil(s.period_bytes.min / fbMax), max: Math.floor(s.period_bytes.max / fbMin) }) || changed;
    changed = intersect(s.buffer_bytes, { min: Math.ceil(s.buffer_size.min * fbMin), max: Math.floor(s.buffer_size.max * fbMax) }) || changed;
    changed = intersect(s.buffer_size, { min: Math.ceil(s.buffer_bytes.min / fbMax), max: Math.floor(s.buffer_bytes.max / fbMin) }) || changed;
    changed = intersect(s.buffer_size, { min: s.period_size.min * s.periods.min, max: s.period_size.max * s.periods.max }) || changed;
    changed = intersect(s.periods, { min: Math.ceil(s.buffer_size.min / s.period_size.max), max: Math.floor(s.buffer_size.max / s.period_size.min) }) || changed;
    changed = intersect(s.period_size, { min: Math.ceil(s.buffer_size.min / s.periods.max), max: Math.floor(s.buffer_size.max / s.periods.min) }) || changed;
    for (const i of [s.channels, s.rate, s.period_size, s.periods, s.buffer_size, s.period_bytes, s.buffer_bytes]) if (empty(i)) return false;
    if (!changed) return true;
  }
  return true;
}

function clone(s: ParamSpace): ParamSpace {
  return {
    access: s.access.slice(),
    formats: s.formats.slice(),
    channels: { ...s.channels },
    rate: { ...s.rate },
    period_size: { ...s.period_size },
    periods: { ...s.periods },
    buffer_size: { ...s.buffer_size },
    period_bytes: { ...s.period_bytes },
    buffer_bytes: { ...s.buffer_bytes },
  };
}

/** snd_pcm_hw_params_choose() on a refined space; undefined if nothing fits. */
export function choose(s: ParamSpace): HwParams | undefined {
  // Usual case: the caller fixed everything (as alsa-lib does before HW_PARAMS).
  if (
    s.channels.min === s.channels.max &&
    s.rate.min === s.rate.max &&
    s.period_size.min === s.period_size.max &&
    s.periods.min === s.periods.max &&
    s.buffer_size.min === s.buffer_size.max &&
    s.buffer_size.min === s.period_size.min * s.periods.min
  )
    return { access: s.access[0]!, format: s.formats[0]!, channels: s.channels.min, rate: s.rate.min, period_size: s.period_size.min, periods: s.periods.min, buffer_size: s.buffer_size.min };
  const t = clone(s);
  t.access = t.access.slice(0, 1);
  t.formats = t.formats.slice(0, 1);
  t.channels.max = t.channels.min;
  t.rate.max = t.rate.min;
  if (!refine(t)) return undefined;
  // Min period time at a fixed rate is the min period size; buffer then as large as allowed.
  for (let ps = t.period_size.min; ps <= t.period_size.max; ps++) {
    const c = clone(t);
    c.period_size = { min: ps, max: ps };
    if (!refine(c)) continue;
    const periods = Math.min(c.periods.max, Math.floor(c.buffer_size.max / ps));
    for (let p = periods; p >= c.periods.min; p--) {
      const d = clone(c);
      d.periods = { min: p, max: p };
      d.buffer_size = { min: ps * p, max: ps * p };
      if (refine(d)) {
        return { access: d.access[0]!, format: d.formats[0]!, channels: d.channels.min, rate: d.rate.min, period_size: ps, periods: p, buffer_size: ps * p };
      }
    }
    if (ps - t.period_size.min > 4096) break;
  }
  return undefined;
}

export function frameBytes(format: PcmFormat, channels: number): number {
  return (FORMAT_BITS[format].physical * channels) / 8;
}
