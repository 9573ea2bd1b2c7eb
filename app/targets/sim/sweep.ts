// pcm.sweep on the simulated kernel: rule "conformance sweep" of
// app/program/README.md, with the same system calls the agent's sweep.c
// makes (open, HW_REFINE per value, then per configuration HW_PARAMS,
// SW_PARAMS, PREPARE, WRITEI/READI + STATUS, DROP, close). What to run comes
// from app/program/sweep.ts; pass or fail is the analysis's business.
import { ERRNO, errnoName } from '../../vocabulary/errno.js';
import type { PcmFormat } from '../../vocabulary/ops.js';
import type { ConformanceEvent } from '../../events/types.js';
import type { HwParams } from '../../events/op-data.js';
import type { KGen } from '../../sim/kernel/task.js';
import { type Req, type SimFile, sysClose, sysIoctl } from '../../sim/core/file.js';
import type { SndCard } from '../../sim/core/card.js';
import { snd_pcm_open } from '../../sim/pcm/pcm_file.js';
import type { RefineOut } from '../../sim/pcm/pcm_native.js';
import { Stream, type SndPcm, type SndPcmSubstream } from '../../sim/pcm/pcm_types.js';
import { SWEEP_FORMATS, SWEEP_MAX_CHANNELS, SWEEP_PERIODS, SWEEP_PERIODS_PER_BUFFER, SWEEP_RATES, type SweepConfig, fitRate, sweepDefaults, sweepPlan, wakeJitter } from '../../program/sweep.js';
import type { Args, OpContext, OpResult } from './ops.js';

const E = ERRNO;
type StreamName = 'playback' | 'capture';

function* ioctl(c: OpContext, f: SimFile, cmd: string, arg?: unknown): KGen<{ ret: number; out: Record<string, unknown> }> {
  const r: Req = { cmd, arg, out: {} };
  const ret = yield* sysIoctl(c.k, f, r);
  return { ret, out: r.out! };
}

function* openStream(c: OpContext, pcm: SndPcm, stream: StreamName): KGen<{ err: number; file?: SimFile; sub?: SndPcmSubstream }> {
  const path = `/dev/snd/pcmC${pcm.card.number}D${pcm.device}${stream === 'playback' ? 'p' : 'c'}`;
  // O_NONBLOCK, so a busy device answers EBUSY instead of waiting; then blocking transfers (fcntl)
  const o = yield* snd_pcm_open(c.k, pcm, stream === 'playback' ? Stream.PLAYBACK : Stream.CAPTURE, -1, true, path);
  if (!o.file) return { err: o.err };
  const sub = (o.file.priv as { substream: SndPcmSubstream }).substream;
  o.file.nonblock = false;
  sub.nonblock = false;
  return { err: 0, file: o.file, sub };
}

const ACCESS = { access: 'rw_interleaved' as const };

/** What the stream offers, HW_REFINE by HW_REFINE (README.md, rule "conformance sweep"). */
function* probe(c: OpContext, f: SimFile): KGen<{ ret: number; offer?: { formats: PcmFormat[]; channels: number[]; rates: number[]; periods: number[] } }> {
  const any = yield* ioctl(c, f, 'hw_refine', ACCESS);
  if (any.ret < 0) return { ret: any.ret };
  const space = any.out.ranges as RefineOut;
  const formats = SWEEP_FORMATS.filter((x) => space.formats.includes(x));
  const channels: number[] = [];
  for (let ch = space.channels.min; ch <= Math.min(space.channels.max, SWEEP_MAX_CHANNELS); ch++) if ((yield* ioctl(c, f, 'hw_refine', { ...ACCESS, channels: ch })).ret === 0) channels.push(ch);
  const rates: number[] = [];
  for (const r of SWEEP_RATES) if (r >= space.rate.min && r <= space.rate.max && (yield* ioctl(c, f, 'hw_refine', { ...ACCESS, rate: r })).ret === 0) rates.push(r);
  if (!formats.length || !channels.length || !rates.length) return { ret: -E.EINVAL };
  const d = sweepDefaults({ formats, channels, rates, periods: [] });
  const periods: number[] = [];
  for (const p of SWEEP_PERIODS)
    if (p >= space.period_size.min && p <= space.period_size.max && (yield* ioctl(c, f, 'hw_refine', { ...ACCESS, ...d, period_size: p })).ret === 0) periods.push(p);
  if (!periods.length) {
    // no power of two fits: the smallest period the defaults allow
    const r = yield* ioctl(c, f, 'hw_refine', { ...ACCESS, ...d });
    if (r.ret < 0) return { ret: r.ret };
    periods.push((r.out.ranges as RefineOut).period_size.min);
  }
  return { ret: 0, offer: { formats, channels, rates, periods } };
}

interface Where {
  card: SndCard;
  pcm: SndPcm;
  stream: StreamName;
}

function event(c: OpContext, w: Where, cfg: Omit<SweepConfig, 'vary'> & { vary: string }, rest: Partial<ConformanceEvent>): ConformanceEvent {
  return {
    kind: 'conformance',
    t: c.k.now,
    lane: c.lane,
    card: w.card.number,
    card_id: w.card.id,
    device: w.pcm.device,
    stream: w.stream,
    vary: cfg.vary,
    format: cfg.format,
    channels: cfg.channels,
    rate: cfg.rate,
    period_size: cfg.period_size,
    ret: 0,
    ...rest,
  };
}

/** One configuration: open, configure, run for `forNs` while fitting hw_ptr against time, stop, close. */
function* runConfig(c: OpContext, w: Where, cfg: SweepConfig, forNs: number): KGen<ConformanceEvent> {
  const k = c.k;
  const fail = (stage: ConformanceEvent['stage'], ret: number, more: Partial<ConformanceEvent> = {}) => event(c, w, cfg, { ret, errno: errnoName(ret), stage, ...more });
  const o = yield* openStream(c, w.pcm, w.stream);
  if (!o.file) return fail('open', o.err);
  const f = o.file;
  try {
    const req = { ...ACCESS, format: cfg.format, channels: cfg.channels, rate: cfg.rate, period_size: cfg.period_size };
    const offered = yield* ioctl(c, f, 'hw_refine', req);
    if (offered.ret < 0) return fail('refine', offered.ret);
    const withPeriods = yield* ioctl(c, f, 'hw_refine', { ...req, periods: SWEEP_PERIODS_PER_BUFFER });
    const hp = yield* ioctl(c, f, 'hw_params', withPeriods.ret === 0 ? { ...req, periods: SWEEP_PERIODS_PER_BUFFER } : req);
    if (hp.ret < 0) return fail('hw_params', hp.ret);
    const p = hp.out.params as HwParams;
    const granted = { rate: p.rate, period_size: p.period_size, buffer_size: p.buffer_size, channels: p.channels, format: p.format };
    const playback = w.stream === 'playback';
    const sw = yield* ioctl(c, f, 'sw_params', { avail_min: p.period_size, start_threshold: playback ? p.buffer_size : 1, stop_threshold: p.buffer_size });
    if (sw.ret < 0) return fail('sw_params', sw.ret, { granted });
    const points: [number, number][] = [];
    const intervals: number[] = [];
    let xruns = 0;
    // PREPARE, then a full buffer of silence starts playback; capture is started
    const begin = function* (): KGen<{ ret: number; stage: ConformanceEvent['stage'] }> {
      const pr = yield* ioctl(c, f, 'prepare');
      if (pr.ret < 0) return { ret: pr.ret, stage: 'prepare' };
      if (playback) {
        const r = yield* ioctl(c, f, 'writei', p.buffer_size);
        return { ret: r.ret < 0 ? r.ret : 0, stage: 'transfer' };
      }
      return { ret: (yield* ioctl(c, f, 'start')).ret, stage: 'start' };
    };
    let b = yield* begin();
    if (b.ret < 0) return fail(b.stage, b.ret, { granted });
    const t0 = k.now;
    let last = -1;
    const periodNs = (p.period_size * 1e9) / p.rate;
    let stage: ConformanceEvent['stage'] | undefined;
    let ret = 0;
    while (k.now - t0 < forNs) {
      const r = yield* ioctl(c, f, playback ? 'writei' : 'readi', p.period_size);
      const tr = k.now;
      if (r.ret === -E.EPIPE) {
        xruns++;
        points.length = 0;
        last = -1;
        b = yield* begin();
        if (b.ret < 0) {
          stage = b.stage;
          ret = b.ret;
          break;
        }
        continue;
      }
      if (r.ret < 0) {
        stage = 'transfer';
        ret = r.ret === -E.ERESTARTSYS ? -E.EINTR : r.ret;
        break;
      }
      if (last >= 0) intervals.push(tr - last);
      last = tr;
      const st = yield* ioctl(c, f, 'status');
      if (st.ret === 0 && st.out.state === 'RUNNING') points.push([st.out.tstamp as number, st.out.hw_ptr as number]);
    }
    const ran = k.now - t0;
    yield* ioctl(c, f, 'drop');
    const fit = fitRate(points);
    const jit = wakeJitter(intervals, periodNs);
    return event(c, w, cfg, {
      ret,
      ...(ret < 0 ? { errno: errnoName(ret), stage } : {}),
      granted,
      points: points.length,
      ...(fit ? { measured_rate: Math.round(fit.rate * 1000) / 1000, rate_error: Math.round(fit.error * 1000) / 1000, rate_se: Math.round(fit.se * 1000) / 1000 } : {}),
      wakeups: intervals.length,
      ...(jit ? { jitter_mean_ns: jit.mean, jitter_max_ns: jit.max } : {}),
      xruns,
      ran_ns: ran,
    });
  } finally {
    yield* sysClose(k, f);
  }
}

/** pcm.sweep: every card (or one), every PCM device (or one), the streams asked for. */
export function* pcmSweep(c: OpContext, a: Args): KGen<OpResult> {
  const k = c.k;
  const cardRef = a.card as number | string;
  const cards: SndCard[] = [];
  if (cardRef === -1) {
    for (const card of k.snd.cards) if (card && !card.shutdown) cards.push(card);
  } else {
    const card = k.snd.byRef(cardRef);
    // rule "cards"
    if (!card) return { ret: typeof cardRef === 'string' ? -E.ENODEV : -E.ENOENT };
    cards.push(card);
  }
  const streams: StreamName[] = a.stream === 'both' ? ['playback', 'capture'] : [a.stream as StreamName];
  const forNs = a.for as number;
  const pairs = a.pairs === true;
  let swept = 0;
  let configs = 0;
  let matched = false;
  for (const card of cards)
    for (const pcm of [...card.pcms].sort((x, y) => x.device - y.device)) {
      if ((a.device as number) >= 0 && pcm.device !== a.device) continue;
      matched = true;
      for (const stream of streams) {
        if (!pcm.streams[stream === 'playback' ? 0 : 1].length) continue;
        if (c.stopping()) return { ret: configs, data: { streams: swept, configurations: configs, stopped: true } };
        c.progress();
        const w: Where = { card, pcm, stream };
        swept++;
        const o = yield* openStream(c, pcm, stream);
        if (!o.file) {
          c.emit(event(c, w, { vary: 'default', format: 'S16_LE', channels: 0, rate: 0, period_size: 0 }, { ret: o.err, errno: errnoName(o.err), stage: 'open' }));
          continue;
        }
        const pr = yield* probe(c, o.file);
        yield* sysClose(k, o.file);
        if (!pr.offer) {
          c.emit(event(c, w, { vary: 'default', format: 'S16_LE', channels: 0, rate: 0, period_size: 0 }, { ret: pr.ret, errno: errnoName(pr.ret), stage: 'refine' }));
          continue;
        }
        for (const cfg of sweepPlan(pr.offer, forNs, pairs)) {
          if (c.stopping()) return { ret: configs, data: { streams: swept, configurations: configs, stopped: true } };
          c.progress();
          const ev = yield* runConfig(c, w, cfg, forNs);
          configs++;
          c.emit(ev);
          if (ev.errno === 'EINTR') return { ret: configs, data: { streams: swept, configurations: configs, stopped: true } };
        }
      }
    }
  if ((a.device as number) >= 0 && !matched) return { ret: -E.ENOENT };
  return { ret: configs, data: { streams: swept, configurations: configs } };
}
