#!/usr/bin/env node
// The application lane against the raw-ioctl agent, in one guest:
//  1. round-trip latency through snd-aloop, measured by both lanes one after
//     the other in the same guest: the agent (pcm.write of the MLS burst,
//     pcm.read correlating for it) and PortAudio (pa.write pattern impulse,
//     pa.read), same burst, same correlation, same card;
//  2. open/start/close cycles per second on snd-dummy: PortAudio (pa.open,
//     pa.start, pa.close: the library's whole probe, configure, start and
//     close) against the same stream life through the agent (pcm.open,
//     hw_params, sw_params, prepare, a buffer of silence as PortAudio's
//     SilenceBuffer writes before START, with the start threshold out of reach
//     so START starts it, start, close), alternating, several rounds.
//   node bench/applane-lanes.mjs [rounds, default 3]   (PARTS=latency or PARTS=cycles for one part; PA_FPB=frames per buffer of PortAudio's streams, default 1024)
// Needs a built tree (node scripts/build.js) and the addons (scripts/setup.d/35-applane.sh).
import { loadavg } from 'node:os';
import { bootGuest } from '../dist/app/vlab/index.js';
import { VmTarget } from '../dist/app/targets/vm.js';
import { startRun } from '../dist/app/engine/run.js';
import { parsePreset } from '../dist/app/vocabulary/preset-file.js';

const rounds = Number(process.argv[2] ?? 3);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const ms = (ns) => (ns / 1e6).toFixed(1);
const sc = (yaml) => parsePreset(yaml, 'bench.yaml').scenario;

async function run(target, scenario, duration) {
  const h = startRun({ scenario, target, seed: 1, journalSync: false, duration });
  const events = [];
  h.subscribe((e) => events.push(e));
  const summary = await h.done;
  return { summary, events };
}

const agentLatency = sc(`
name: bench-latency-agent
setup:
  - pcm.open: { handle: out, card: Loopback, device: 0, subdevice: 0 }
  - pcm.hw_params: { handle: out, rate: 48000, channels: 2, period_size: 256, periods: 4 }
  - pcm.sw_params: { handle: out, stop_threshold: boundary }
  - pcm.prepare: out
  - pcm.open: { handle: in, card: Loopback, device: 1, subdevice: 0, stream: capture }
  - pcm.hw_params: { handle: in, rate: 48000, channels: 2, period_size: 256, periods: 4 }
  - pcm.sw_params: { handle: in, stop_threshold: boundary }
  - pcm.prepare: in
  - pcm.start: in
lanes:
  - name: play
    loop:
      - pcm.write: { handle: out, periods: 1, pattern: impulse }
  - name: rec
    loop:
      - pcm.read: { handle: in, periods: 1 }
teardown:
  - pcm.close: out
  - pcm.close: in
`);

// 256 frames (the agent's period) starve under TCG on a loaded host: PortAudio's stream gets 1024 unless told
const PA_FPB = Number(process.env.PA_FPB ?? 1024);
const paLatency = sc(`
name: bench-latency-portaudio
setup:
  - pa.open: { handle: out, device: "hw:Loopback,0", channels: 2, format: S16_LE, rate: 48000, frames_per_buffer: ${PA_FPB} }
  - pa.open: { handle: in, device: "hw:Loopback,1", direction: capture, channels: 2, format: S16_LE, rate: 48000, frames_per_buffer: ${PA_FPB} }
  - pa.start: in
  - pa.start: out
lanes:
  - name: play
    loop:
      - pa.write: { handle: out, periods: 1, pattern: impulse }
  - name: rec
    loop:
      - pa.read: { handle: in, periods: 1 }
teardown:
  - pa.close: out
  - pa.close: in
expect:
  hang_timeout: 30s
`);

const paCycles = (n) =>
  sc(`
name: bench-cycles-portaudio
iterations: ${n}
lanes:
  - name: c
    loop:
      - pa.open: { handle: s, device: "hw:Dummy,0", channels: 2, format: S16_LE, rate: 48000, frames_per_buffer: 256 }
      - pa.start: s
      - pa.close: s
expect:
  hang_timeout: 30s
`);

const agentCycles = (n) =>
  sc(`
name: bench-cycles-agent
iterations: ${n}
lanes:
  - name: c
    loop:
      - pcm.open: { handle: s, card: Dummy }
      - pcm.hw_params: { handle: s, rate: 48000, channels: 2, period_size: 256, periods: 4 }
      - pcm.sw_params: { handle: s, start_threshold: boundary }
      - pcm.prepare: s
      - pcm.write: { handle: s, periods: 4 }
      - pcm.start: s
      - pcm.close: s
`);

/** Cycles per second of the lane: completed closes over the span from the first op's start to the last close's end. */
function cycleRate(events, closeOp) {
  const acts = events.filter((e) => e.kind === 'act' && e.lane === 'c');
  const closes = acts.filter((e) => e.op === closeOp && e.ret >= 0);
  if (!closes.length) return { n: 0, rate: NaN, errors: acts.filter((e) => e.ret < 0).length };
  const span = closes.at(-1).t + closes.at(-1).dur - acts[0].t;
  return { n: closes.length, rate: closes.length / (span / 1e9), errors: acts.filter((e) => e.ret < 0).length };
}

const latencies = (events) => events.filter((e) => e.kind === 'metric' && e.name === 'latency');

const t0 = Date.now();
const guest = await bootGuest({ hw: 'dummy,aloop' });
const target = new VmTarget({ guest });
process.stderr.write(`guest up in ${((Date.now() - t0) / 1000).toFixed(0)} s, load ${loadavg()[0].toFixed(1)}\n`);
try {
  const parts = (process.env.PARTS ?? 'latency,cycles').split(',');
  // 1. latency, both lanes, same guest
  if (parts.includes('latency')) {
  const lat = { agent: [], pa: [] };
  for (let r = 0; r < rounds; r++) {
    const a = await run(target, agentLatency, 3e9);
    const p = await run(target, paLatency, 15e9);
    const la = latencies(a.events);
    const lp = latencies(p.events);
    lat.agent.push(...la);
    lat.pa.push(...lp);
    console.log(`latency round ${r + 1} (load ${loadavg()[0].toFixed(1)}): agent ${la.length} bursts, median ${ms(median(la.map((e) => e.value)))} ms, confidence ${median(la.map((e) => e.confidence ?? 0))}; PortAudio ${lp.length} bursts, median ${ms(median(lp.map((e) => e.value)))} ms, confidence ${median(lp.map((e) => e.confidence ?? 0))}; xruns agent ${a.summary.metrics.xruns.total}, PortAudio ${p.summary.metrics.xruns.total}`);
  }
  const la = lat.agent.map((e) => e.value);
  const lp = lat.pa.map((e) => e.value);
  // a burst is found by a read that began before the write carrying it returned (naudiodon's write resolves late): a negative figure says so
  console.log(`LATENCY agent n=${la.length} median ${ms(median(la))} ms min ${ms(Math.min(...la))} max ${ms(Math.max(...la))}; PortAudio n=${lp.length} median ${ms(median(lp))} ms min ${ms(Math.min(...lp))} max ${ms(Math.max(...lp))}; PortAudio − agent (medians) ${ms(median(lp) - median(la))} ms`);

  }
  // 2. open/start/close cycles, alternating
  if (parts.includes('cycles')) {
  const ratios = [];
  for (let r = 0; r < rounds; r++) {
    const p = cycleRate((await run(target, paCycles(8), 300e9)).events, 'pa.close');
    const a = cycleRate((await run(target, agentCycles(400), 60e9)).events, 'pcm.close');
    ratios.push(p.rate / a.rate);
    console.log(`cycles round ${r + 1} (load ${loadavg()[0].toFixed(1)}): PortAudio ${p.n} cycles, ${p.rate.toFixed(2)}/s (${p.errors} errors); agent ${a.n} cycles, ${a.rate.toFixed(1)}/s (${a.errors} errors); PortAudio/agent ${(p.rate / a.rate).toFixed(4)}`);
  }
  console.log(`CYCLES PortAudio/agent median ratio ${median(ratios).toFixed(4)} (1 : ${(1 / median(ratios)).toFixed(0)})`);
  }
} finally {
  await guest.shutdown();
}
