#!/usr/bin/env node
// Renderer under a steady event stream: the real UI (dist/renderer) in
// Debian's chromium, served by the real headless server code, watching a live
// run whose events arrive at a fixed rate for a fixed time. The events are
// real: recorded from simulator runs (the demo suite and a QA soak, so acts,
// metrics, kernel-log reports and findings all appear) and replayed in order
// with time running on, paced to the requested rate in 20 batches a second,
// exactly as a worker delivers them. Measured through CDP:
//   - main-thread work per frame (trace: top-level tasks between frames),
//   - frame intervals (requestAnimationFrame in the page),
//   - JS heap over the run and after a forced GC at the end.
//   node bench/renderer-stream.js [--rate 10000] [--seconds 60] [--out bench/out/renderer.json]
// Needs `npm run build` first. Results: bench/renderer.md.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startRun } from '../dist/app/engine/run.js';
import { PresetLibrary } from '../dist/app/engine/presets.js';
import { SimTarget } from '../dist/app/targets/sim/sim-target.js';
import { LabService } from '../dist/main/service/lab-service.js';
import { startServer } from '../dist/main/server/http-server.js';
import { rendererDir } from '../dist/main/paths.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const RATE = Number(arg('rate', '10000'));
const SECONDS = Number(arg('seconds', '60'));
const OUT = arg('out', join(root, 'bench', 'out', `renderer-${RATE}.json`));
const TICK_MS = 50;
const CHROMIUM = process.env.STRESSLAB_CHROMIUM ?? '/usr/bin/chromium';

const work = mkdtempSync(join(tmpdir(), 'stresslab-bench-'));
const log = (t) => process.stderr.write(`bench: ${t}\n`);

// 1. Real events, recorded from the simulator.
async function record(preset, duration) {
  const lib = new PresetLibrary();
  const dir = join(work, `rec-${preset}`);
  await startRun({ scenario: lib.load(preset).scenario, target: new SimTarget({ profile: ['fixed'] }), seed: 1, ...(duration ? { duration } : {}), outDir: dir, journalSync: false, loadScenario: (n) => lib.load(n).scenario }).done;
  const lines = readFileSync(join(dir, 'journal.jsonl'), 'utf8').split('\n').filter(Boolean);
  return { header: lines[0], events: lines.slice(1).filter((l) => !l.startsWith('{"kind":"end"')).map((l) => JSON.parse(l)) };
}
log('recording events from the simulator (demo, qa-soak)…');
const demo = await record('demo');
const soak = await record('qa-soak', 30e9);
const recorded = [...demo.events, ...soak.events.map((e) => ({ ...e, t: e.t + demo.events.at(-1).t }))];
const span = recorded.reduce((m, e) => Math.max(m, e.t), 0) + 1;
log(`${recorded.length} recorded events (${demo.events.length} demo, ${soak.events.length} soak)`);

/** Event i of the endless replay: the recording looped, time running on. */
function eventAt(i) {
  const k = Math.floor(i / recorded.length);
  const e = recorded[i % recorded.length];
  if (!k) return JSON.stringify(e);
  const shifted = { ...e, t: e.t + k * span };
  if (shifted.kind === 'finding') shifted.finding = { ...e.finding, t: e.finding.t + k * span };
  return JSON.stringify(shifted);
}

// 2. The real server, with one run whose events are paced.
const runsDir = join(work, 'runs');
const RUN_ID = '2026-01-01T00-00-00_bench_sim';
mkdirSync(join(runsDir, RUN_ID), { recursive: true });
writeFileSync(join(runsDir, RUN_ID, 'journal.jsonl'), demo.header + '\n');
const service = new LabService({ mode: 'browser', runsDir, userPresetDir: join(work, 'presets'), builtinPresetDir: join(root, 'presets') });
const pacer = { sent: 0, started: 0, timer: null };
const paced = {
  call(method, params, client) {
    if (method === 'runs.subscribe' && params.runId === RUN_ID) {
      const sub = 's-bench';
      pacer.started = Date.now();
      pacer.timer = setInterval(() => {
        const due = Math.min(RATE * SECONDS, Math.floor(((Date.now() - pacer.started) / 1000) * RATE));
        if (due <= pacer.sent) return;
        const lines = [];
        for (let i = pacer.sent; i < due; i++) lines.push(eventAt(i));
        client.pushEvents(sub, RUN_ID, pacer.sent, lines);
        pacer.sent = due;
        if (due >= RATE * SECONDS) clearInterval(pacer.timer);
      }, TICK_MS);
      return Promise.resolve({ sub, header: JSON.parse(demo.header), live: true });
    }
    return service.call(method, params, client);
  },
  detach: (c) => service.detach(c),
};
const server = await startServer({ host: '127.0.0.1', port: 0, staticDir: rendererDir, service: paced, log: () => {} });

// 3. The browser, the page, the probes.
const profile = mkdtempSync(join(tmpdir(), 'stresslab-bench-chromium-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  viewport: { width: 1440, height: 1000 },
});
const page = ctx.pages()[0] ?? (await ctx.newPage());
const cdp = await ctx.newCDPSession(page);
await cdp.send('Performance.enable');
await page.goto(server.openUrl);
await page.waitForSelector('button[role=radio][aria-checked=true]');
await page.click('button[role=tab]:has-text("History")');
await page.evaluate(() => {
  // Frame intervals as the page sees them.
  const w = window;
  w.__frames = [];
  w.__stresslabProbe = { redraws: [], byKey: new Map() };
  const tick = (t) => {
    w.__frames.push(t);
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
});

const heap = [];
const sampleHeap = async (label) => {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
  heap.push({ s: +((Date.now() - pacer.started) / 1000).toFixed(1), label, used: m.JSHeapUsedSize, total: m.JSHeapTotalSize, nodes: m.Nodes, taskS: m.TaskDuration, scriptS: m.ScriptDuration, layoutS: m.LayoutDuration, styleS: m.RecalcStyleDuration });
};

log(`streaming ${RATE} events/s for ${SECONDS} s…`);
await page.click(`tr[data-run="${RUN_ID}"]`);
await page.waitForFunction(() => Number(document.querySelector('[data-chart="ops"]')?.getAttribute('data-points') ?? 0) > 0);
const frameMark = await page.evaluate(() => window.__frames.length);
await sampleHeap('start');

// Trace the middle third of the run for per-frame main-thread work.
const traceFrom = SECONDS / 3;
const traceTo = (2 * SECONDS) / 3;
let trace = [];
const tracingDone = new Promise((resolve) => cdp.on('Tracing.tracingComplete', resolve));
cdp.on('Tracing.dataCollected', (e) => (trace = trace.concat(e.value)));
const heapTimer = setInterval(() => void sampleHeap('run'), 5000);
await new Promise((r) => setTimeout(r, traceFrom * 1000));
const profiling = process.argv.includes('--profile');
if (profiling) {
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.start');
}
await cdp.send('Tracing.start', { categories: 'toplevel,devtools.timeline,disabled-by-default-devtools.timeline.frame', transferMode: 'ReportEvents' });
await new Promise((r) => setTimeout(r, (traceTo - traceFrom) * 1000));
await cdp.send('Tracing.end');
if (profiling) {
  // Where the page's JavaScript time goes (self time per function), for finding what to make cheaper.
  const { profile: prof } = await cdp.send('Profiler.stop');
  const self = new Map();
  const dt = new Map();
  prof.samples.forEach((id, i) => dt.set(id, (dt.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
  for (const n of prof.nodes) {
    const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`;
    self.set(k, (self.get(k) ?? 0) + (dt.get(n.id) ?? 0));
  }
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 25);
  for (const [k, us] of top) log(`profile: ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
}
await tracingDone;
await new Promise((r) => setTimeout(r, Math.max(0, SECONDS * 1000 - (Date.now() - pacer.started)) + 1000));
clearInterval(heapTimer);
await sampleHeap('end');
await cdp.send('HeapProfiler.enable');
await cdp.send('HeapProfiler.collectGarbage');
await sampleHeap('end, after GC');
const shown = await page.textContent('[data-testid=event-count]');
const frames = await page.evaluate((from) => window.__frames.slice(from), frameMark);
const redraws = await page.evaluate(() => window.__stresslabProbe.redraws);
const byChart = await page.evaluate(() => Array.from(window.__stresslabProbe.byKey, ([k, v]) => [k.chart, v]));
await page.screenshot({ path: join(dirname(OUT), `renderer-${RATE}.png`) });

// 4. Numbers.
const q = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] : 0;
};
const stats = (xs) => ({ n: xs.length, p50: +q(xs, 0.5).toFixed(2), p95: +q(xs, 0.95).toFixed(2), p99: +q(xs, 0.99).toFixed(2), max: +Math.max(...xs).toFixed(2) });

const intervals = frames.slice(1).map((t, i) => t - frames[i]);
// Main-thread work per frame from the trace.
const names = new Map();
for (const e of trace) if (e.ph === 'M' && e.name === 'thread_name') names.set(`${e.pid}:${e.tid}`, e.args.name);
const pageMain = (() => {
  const counts = new Map();
  for (const e of trace) if (names.get(`${e.pid}:${e.tid}`) === 'CrRendererMain' && e.name === 'BeginMainThreadFrame') counts.set(`${e.pid}:${e.tid}`, (counts.get(`${e.pid}:${e.tid}`) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
})();
const onMain = trace.filter((e) => `${e.pid}:${e.tid}` === pageMain);
const frameStarts = onMain.filter((e) => e.name === 'BeginMainThreadFrame').map((e) => e.ts).sort((a, b) => a - b);
const tasks = onMain.filter((e) => e.ph === 'X' && (e.name === 'ThreadControllerImpl::RunTask' || e.name === 'RunTask')).map((e) => [e.ts, e.ts + e.dur]);
const work_ms = [];
for (let i = 0; i + 1 < frameStarts.length; i++) {
  const a = frameStarts[i];
  const b = frameStarts[i + 1];
  let busy = 0;
  for (const [s, e] of tasks) if (e > a && s < b) busy += Math.min(e, b) - Math.max(s, a);
  work_ms.push(busy / 1000);
}
const longTasks = tasks.filter(([s, e]) => e - s > 50_000).length;
// What the main thread spent the traced window on (inclusive times of the timeline's own events).
const byName = new Map();
for (const e of onMain) if (e.ph === 'X' && e.dur && !/RunTask/.test(e.name)) byName.set(e.name, (byName.get(e.name) ?? 0) + e.dur);
const breakdown = Object.fromEntries([...byName].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, v]) => [k, +(v / 1000).toFixed(1)]));
const run = heap.filter((h) => h.label === 'run');
const result = {
  when: new Date().toISOString(),
  machine: { cpus: (await import('node:os')).cpus().length, chromium: (await ctx.browser()?.version()) ?? 'chromium' },
  rate: RATE,
  seconds: SECONDS,
  events_sent: pacer.sent,
  events_shown_by_ui: Number(String(shown).replace(/,/g, '')),
  frame_work_ms: stats(work_ms),
  traced_window_s: [traceFrom, traceTo],
  long_tasks_over_50ms_in_window: longTasks,
  main_thread_ms_in_window_by_event: breakdown,
  frame_interval_ms: stats(intervals),
  chart_redraw_ms: stats(redraws),
  chart_redraw_ms_by_chart: Object.fromEntries(byChart.map(([k, v]) => [k, stats(v)])),
  frames_over_25ms: intervals.filter((x) => x > 25).length,
  heap_mb: heap.map((h) => ({ s: h.s, label: h.label, used: +(h.used / 1048576).toFixed(1), total: +(h.total / 1048576).toFixed(1), dom_nodes: h.nodes })),
  heap_used_mb_during_run: { min: +(Math.min(...run.map((h) => h.used)) / 1048576).toFixed(1), max: +(Math.max(...run.map((h) => h.used)) / 1048576).toFixed(1) },
  main_thread_busy_fraction: +((heap.at(-2).taskS - heap[0].taskS) / ((heap.at(-2).s - heap[0].s) || 1)).toFixed(3),
};
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify(result, null, 2) + '\n');
console.log(JSON.stringify(result, null, 2));

await ctx.close();
await server.close();
await service.close();
rmSync(profile, { recursive: true, force: true });
rmSync(work, { recursive: true, force: true });
