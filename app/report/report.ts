// A run's report as one self-contained HTML file: verdict, charts, findings
// with their interleavings and kernel log, and the JSON summary embedded, so
// it can be attached to a bug or archived by CI and read anywhere, offline.
import type { Agreement } from '../analysis/agreement.js';
import { readJournal, type JournalInfo } from '../journal/reader.js';
import type { CheckResult, Finding, InterleavingStep, RunContext, RunEvent, RunSummary } from '../api/types.js';
import type { KernelRecord, KernelTaint } from '../events/types.js';
import { withKernelRecord } from '../api/kernel-record.js';
import { RunSeries, formatCount, formatNs, levelColour, severityColour, LEVEL_NAMES } from '../api/series.js';
import type { RunCounts } from '../api/tally.js';
import { cliCommand } from '../api/command-line.js';
import { shippedPatch } from '../targets/profiles.js';
import { defaultPresetDir } from '../engine/presets.js';
import { ANCHOR_CRITERIA, type ConformanceCriteria, conformanceTable, rowVerdict } from '../api/conformance.js';
import { esc, histogramChart, klogChart, timeChart } from './svg.js';
import { signatureOf } from '../analysis/signature.js';

export interface ReportInput {
  /** What the journal holds; its events went into `series`. */
  journal: JournalInfo;
  series: RunSeries;
  /** The target's context event from the journal, for a run without summary.json. */
  journalContext?: Partial<RunContext>;
  summary: RunSummary | null;
  runId: string;
}

/** Reads a journal of any size into a report's series (constant memory: see api/series.ts), every line checked. */
export async function reportFromJournal(path: string, summary: RunSummary | null, runId: string, signal?: { cancelled: boolean }): Promise<string> {
  const series = new RunSeries();
  const batch: RunEvent[] = [];
  let from = 0;
  let context: Partial<RunContext> | undefined;
  const journal = await readJournal(
    path,
    (e) => {
      if (e.kind === 'context' && !context) context = e.context;
      batch.push(e);
      if (batch.length >= 4096) {
        series.feed(batch, from);
        from += batch.length;
        batch.length = 0;
      }
    },
    signal ? { signal } : {},
  );
  series.feed(batch, from);
  return buildReport({ journal, series, ...(context ? { journalContext: context } : {}), summary, runId });
}

const W = 880;
const H = 220;
const MAX_LOG_LINES = 3_000;

export function buildReport({ journal, series, journalContext, summary: given, runId }: ReportInput): string {
  const h = journal.header;
  // one kernel record, also for a summary written before there was one (embedded below as it was written)
  const summary = given ? withKernelRecord(given) : null;
  const tl = series.timeline();
  const verdict = summary?.verdict ?? (journal.trailer ? journal.trailer.verdict : 'incomplete');
  const findings = summary?.findings ?? series.findings;
  const elapsed = summary?.elapsed_ns ?? series.lastT;
  const timeLabel = h.target === 'sim' ? 'virtual time' : 'time';

  const charts = [
    timeChart({ width: W, height: H, title: 'Operations per second', xLabel: timeLabel, yLabel: 'ops/s' }, tl.x, [{ label: 'ops/s', colour: '#3e9ee8', values: tl.opsPerS }], tl.bucketS),
    timeChart({ width: W, height: H, title: 'Xruns', xLabel: timeLabel, yLabel: 'xruns per bucket' }, tl.x, [{ label: 'xruns', colour: '#e5484d', values: tl.xruns, bars: true }], tl.bucketS),
    timeChart(
      { width: W, height: H, title: 'ioctl latency', xLabel: timeLabel, yLabel: 'us' },
      tl.x,
      [
        { label: 'max', colour: '#f76b15', values: tl.ioctlMaxUs },
        { label: 'mean', colour: '#3e9ee8', values: tl.ioctlMeanUs },
      ],
      tl.bucketS,
    ),
    histogramChart({ width: W, height: H, title: 'Latency distribution', xLabel: 'latency (log scale)', yLabel: 'samples' }, [
      { label: `stream latency (delay, ${series.latency.count})`, colour: '#8e4ec6', bins: series.latency.points() },
      ...(series.roundTrip.count ? [{ label: `round trip (${series.roundTrip.count})`, colour: '#e5484d', bins: series.roundTrip.points() }] : []),
      { label: `ioctl duration (${series.ioctl.count})`, colour: '#3e9ee8', bins: series.ioctl.points() },
    ]),
    klogChart({ width: W, height: H, title: 'Kernel log', xLabel: timeLabel, yLabel: 'level' }, series.klog.map((l) => ({ t: l.t, level: l.level, colour: levelColour(l.level) })), elapsed),
  ];

  // The operations table from the tally too: a suite's summary keeps metrics per phase.
  const opsRows = [...series.tally.ops]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([op, s]) => `<tr><td>${esc(op)}</td><td class="n">${formatCount(s.count)}</td><td>${esc(Object.entries(s.errors).map(([e, n]) => `${e} ×${formatCount(n)}`).join(', ') || '—')}</td><td class="n">${formatNs(s.dur.quantile(0.5))}</td><td class="n">${formatNs(s.dur.quantile(0.99))}</td><td class="n">${formatNs(s.dur.max)}</td></tr>`)
    .join('');
  // Counted by the same tally that wrote summary.json's counts, from the same events.
  const counts: RunCounts = series.tally.counts();
  const context: RunContext | Partial<RunContext> | undefined = summary?.context ?? journalContext;
  const budget = summary?.budget_ns ?? h.duration;

  const phases = series.phases.length
    ? `<h2>Phases</h2><table><tr><th>phase</th><th>profile</th><th>starts at</th><th>status</th><th>findings</th></tr>${series.phases
        .map((p, i) => {
          const ps = summary?.phases?.[i];
          return `<tr><td>${esc(p.name)}</td><td>${esc(p.profile.join(', '))}</td><td class="n">${formatNs(p.t)}</td><td>${esc(ps?.status ?? '')}</td><td>${esc(ps?.findings.join(', ') ?? '')}</td></tr>`;
        })
        .join('')}</table>`
    : '';

  const logLines = series.klog.filter((l) => l.level <= 4).slice(0, MAX_LOG_LINES);
  const log = logLines.length
    ? `<h2>Kernel log (warnings and worse${logLines.length === MAX_LOG_LINES ? `, first ${MAX_LOG_LINES}` : ''})</h2><pre class="log">${logLines
        .map((l) => `<span style="color:${levelColour(l.level)}">[${formatNs(l.t).padStart(11)}] &lt;${LEVEL_NAMES[l.level] ?? l.level}&gt; ${esc(l.text)}</span>`)
        .join('\n')}</pre>`
    : '';

  const summaryJson = JSON.stringify(given ?? { state: 'incomplete', preset: h.preset, target: h.target, profile: h.profile, seed: h.seed, findings }, null, 2);

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="${esc(h.tool)}">
<title>${esc(`${verdict.toUpperCase()} · ${h.preset} on ${h.target} · Audio Stress Lab`)}</title>
<style>${CSS}</style></head>
<body>
<header><h1>Audio Stress Lab report</h1>
<p class="verdict v-${esc(verdict)}">${esc(verdict.toUpperCase())}</p>
<table class="kv">
<tr><th>run</th><td>${esc(runId)}</td></tr>
<tr><th>preset</th><td>${esc(h.preset)}${h.scenario.family ? ` (${esc(h.scenario.family)})` : ''}</td></tr>
<tr><th>target</th><td>${esc(h.target)}</td></tr>
${h.target === 'sim' ? `<tr><th>kernel profile</th><td>${esc(h.scenario.suite ? 'per phase (suite)' : h.profile.join(', '))}</td></tr>` : ''}
${contextRows(context)}
<tr><th>seed / strategy</th><td>${h.seed} / ${esc(h.strategy)}</td></tr>
<tr><th>status</th><td>${esc(summary ? `${summary.status}${summary.reason ? ` — ${summary.reason}` : ''}` : journal.truncated ? 'journal cut short (the writer died mid-line)' : 'no summary (the run did not finish)')}</td></tr>
<tr><th>covered</th><td>${formatNs(elapsed)} of ${formatNs(budget)} budget${h.target === 'sim' ? ' (virtual time)' : ''}${summary ? ` in ${(summary.wall_ms / 1000).toFixed(1)} s of wall time` : ''}</td></tr>
<tr><th>counts</th><td id="counts">${formatCount(counts.events)} events: <b>${formatCount(counts.operations)}</b> operations, <b>${formatCount(counts.failed)}</b> failed, <b>${formatCount(counts.xruns)}</b> xruns${counts.recovered || counts.recover_failed ? ` (<b>${formatCount(counts.recovered)}</b> recovered${counts.recover_failed ? `, ${formatCount(counts.recover_failed)} failed to recover` : ''}, ${formatNs(counts.time_lost_ns)} lost)` : ''}, <b>${formatCount(counts.findings)}</b> findings, ${formatCount(counts.klog_lines)} kernel log lines</td></tr>
${journal.keep > 1 || journal.full ? `<tr><th>journal</th><td>${journal.keep > 1 ? `sampled past its size bound: down to 1 in ${formatCount(journal.keep)} successful operations kept, each standing for the ones left out (counts are exact; charts place them at the kept lines)` : ''}${journal.full ? `${journal.keep > 1 ? '; ' : ''}it filled up before the run ended: later events are in summary.json's counts only` : ''}</td></tr>` : ''}
${!journal.trailer ? `<tr><th>journal end</th><td>${journal.truncated ? 'cut inside a line' : 'cut at a line boundary'}: the run's closing line is missing (a crash, a kill, a full disk); everything up to the cut is shown</td></tr>` : ''}
<tr><th>repeat it</th><td><code>${esc(cliCommand(h, context, { shippedPatch: (name, sha) => shippedPatch(name, sha, defaultPresetDir()) }))}</code></td></tr>
</table>
<p class="desc">${esc(h.scenario.description.trim())}</p></header>
<h2>Findings (${formatCount(findings.length)})</h2>
${findings.length ? `<div class="scroll"><table><tr><th>severity</th><th>finding</th><th>at</th><th>what</th><th>signature</th></tr>${findings.map((f, i) => `<tr><td><span class="sev" style="background:${severityColour(f.severity)}">${esc(f.severity)}</span></td><td><a href="#f${i}">${esc(f.id)}</a></td><td class="n">${formatNs(f.t)}</td><td>${esc(f.message.length > 140 ? f.message.slice(0, 140) + '…' : f.message)}</td><td class="sig">${esc(f.signature ?? signatureOf(f))}</td></tr>`).join('')}</table></div>` : '<p>No findings.</p>'}
${checksHtml(summary?.checks)}
<h2>Charts</h2>
<div class="charts">${charts.join('\n')}</div>
${phases}
${oracleHtml(summary?.oracle)}
${findings.length ? `<h2>Finding details</h2>\n${findings.map(findingHtml).join('\n')}` : ''}
${conformanceHtml(series.tally.conformance, h.scenario.expect?.conformance ?? ANCHOR_CRITERIA)}
${streamsHtml(counts)}
${opsRows ? `<h2>Operations</h2><div class="scroll"><table><tr><th>op</th><th>count</th><th>errors</th><th>p50</th><th>p99</th><th>max</th></tr>${opsRows}</table></div>` : ''}
${log}
<h2>Summary (JSON)</h2>
<details><summary>summary.json</summary><pre>${esc(summaryJson)}</pre></details>
<script type="application/json" id="stresslab-summary">${summaryJson.replace(/</g, '\\u003c')}</script>
<footer>${esc(h.tool)} · generated ${new Date().toISOString()}</footer>
</body></html>
`;
}

function contextRows(c: Partial<RunContext> | undefined): string {
  if (!c) return '';
  const rows: string[] = [];
  if (c.kernel) rows.push(kernelRows(c.kernel));
  if (c.machine) rows.push(`<tr><th>machine</th><td>QEMU${c.machine.qemu ? ` ${esc(c.machine.qemu)}` : ''}, ${c.machine.accel === 'tcg' ? 'TCG (software emulation)' : 'KVM'}, ${c.machine.cpus} vCPU, ${formatCount(c.machine.memory_mb)} MB; virtual hardware ${esc(c.machine.hardware.join(', '))}</td></tr>`);
  if (c.cards?.length) rows.push(`<tr><th>cards</th><td>${c.cards.map((x) => `${x.index} <b>${esc(x.id)}</b> ${esc(x.driver)} — ${esc(x.longname)}${c.modules?.find((m) => m.card === x.index) ? ` (${esc(c.modules.find((m) => m.card === x.index)!.module)})` : ''}`).join('<br>')}${c.alsa_version ? `<br><small>ALSA driver version ${esc(c.alsa_version)}</small>` : ''}</td></tr>`);
  if (c.host) rows.push(`<tr><th>host</th><td>${esc(c.host.hostname)}: ${esc(c.host.os ?? 'Linux')}, kernel ${esc(c.host.kernel)}, ${esc(c.host.arch)}, ${c.host.cpus} CPUs; Node ${esc(c.host.node)}</td></tr>`);
  return rows.join('\n');
}

const CHECK_LABEL = { pass: 'passed', fail: 'failed', skip: 'not evaluated', error: 'could not run' } as const;

function checksHtml(checks: CheckResult[] | undefined): string {
  if (!checks?.length) return '';
  const fmt = (c: CheckResult, v: number | undefined) => (v === undefined ? '' : c.id === 'threshold.xruns' ? formatCount(v) : formatNs(v));
  return `<h2>Checks</h2><table id="checks"><tr><th>check</th><th>result</th><th>measured</th><th>limit</th><th>what it says</th></tr>${checks
    .map((c) => `<tr class="c-${c.status}"><td>${esc(c.phase ? `${c.phase} · ` : '')}${esc(c.id)}</td><td><span class="st st-${c.status}">${CHECK_LABEL[c.status]}</span></td><td class="n">${fmt(c, c.value)}</td><td class="n">${fmt(c, c.limit)}</td><td>${esc(c.message)}</td></tr>`)
    .join('')}</table>`;
}

function streamsHtml(c: RunCounts): string {
  if (!c.streams.length) return '';
  const streams = c.streams
    .map(
      (r) =>
        `<tr><td>${esc(r.stream)}</td><td>${esc(r.device ?? '—')}${r.direction ? ` ${r.direction}` : ''}</td><td class="n">${r.rate ? `${formatCount(r.rate)} Hz` : '—'}</td><td class="n">${formatCount(r.operations)}</td><td class="n">${formatCount(r.failed)}</td><td class="n">${formatCount(r.xruns)}</td><td class="n">${formatCount(r.recovered)}${r.time_lost_ns ? ` (${formatNs(r.time_lost_ns)} lost)` : ''}</td><td class="n">${r.delay_samples ? `${formatNs(r.delay_p50_ns ?? 0)} / ${formatNs(r.delay_p99_ns ?? 0)}` : 'no samples'}</td><td class="n">${r.latency_samples ? `${formatNs(r.latency_p50_ns ?? 0)} / ${formatNs(r.latency_p99_ns ?? 0)}` : '—'}</td><td class="n">${r.hw_ptr_hz !== undefined ? `${formatCount(r.hw_ptr_hz)} Hz${r.hw_ptr_ratio !== undefined ? ` (×${r.hw_ptr_ratio.toFixed(4)})` : ''}` : 'no samples'}</td></tr>`,
    )
    .join('');
  const devices = c.devices.map((d) => `<tr><td>${esc(d.device)}${d.card_name ? ` (${esc(d.card_name)})` : ''}</td><td>${esc(d.streams.join(', '))}</td><td class="n">${formatCount(d.operations)}</td><td class="n">${formatCount(d.failed)}</td><td class="n">${formatCount(d.xruns)}</td><td class="n">${formatCount(d.recovered)}</td></tr>`).join('');
  return `<h2>Streams</h2><table id="streams"><tr><th>stream</th><th>device</th><th>rate</th><th>operations</th><th>failed</th><th>xruns</th><th>recovered</th><th>stream latency p50 / p99</th><th>round trip p50 / p99</th><th>hw_ptr rate</th></tr>${streams}</table>
<h2>Devices</h2><table id="devices"><tr><th>PCM device</th><th>streams</th><th>operations</th><th>failed</th><th>xruns</th><th>recovered</th></tr>${devices}</table>`;
}

/** The conformance sweep: one row per PCM stream, what it offered and what passed. */
function conformanceHtml(events: Parameters<typeof conformanceTable>[0], criteria: ConformanceCriteria): string {
  if (!events.length) return '';
  const rows = conformanceTable(events, criteria);
  const body = rows
    .map((r) => {
      const v = rowVerdict(r);
      const st = v === 'pass' ? 'pass' : v === 'fail' ? 'fail' : 'skip';
      return `<tr class="c-${st}"><td>${esc(r.device)}${r.card_id ? ` (${esc(r.card_id)})` : ''}</td><td>${r.stream}</td><td><span class="st st-${st}">${v === 'skip' ? 'not judged' : v === 'pass' ? 'passed' : 'failed'}</span></td><td class="n">${formatCount(r.passed)} / ${formatCount(r.configurations)}</td><td class="n">${formatCount(r.failed)}</td><td class="n">${formatCount(r.not_offered + r.busy + r.not_measured)}</td><td>${esc(r.formats.join(' '))}</td><td>${esc(r.rates.map((x) => formatCount(x)).join(' '))}</td><td>${esc(r.channels.join(' '))}</td><td>${esc(r.period_sizes.map((x) => formatCount(x)).join(' '))}</td><td class="n">${r.worst_deviation_pct !== undefined ? `${r.worst_deviation_pct > 0 ? '+' : ''}${r.worst_deviation_pct} %` : '—'}</td><td class="n">${r.worst_jitter_ns !== undefined ? formatNs(r.worst_jitter_ns) : '—'}</td><td class="n">${formatCount(r.xruns)}</td></tr>${
        r.failures.length ? `<tr><td colspan="13"><small>${r.failures.map((f) => esc(f)).join('<br>')}</small></td></tr>` : ''
      }`;
    })
    .join('');
  return `<h2>Conformance</h2><p>Each configuration the stream offered, opened and run briefly; rate measured from hw_ptr against the granted rate (tolerance ${criteria.rateTolerancePct} %, rate error ${criteria.rateError} frames RMS${criteria.jitter !== undefined ? `, wake-up jitter ${formatNs(criteria.jitter)}` : ''}).</p>
<table id="conformance"><tr><th>PCM</th><th>stream</th><th>result</th><th>passed</th><th>failed</th><th>not judged</th><th>formats</th><th>rates (Hz)</th><th>channels</th><th>period sizes</th><th>worst rate deviation</th><th>worst wake-up jitter</th><th>xruns</th></tr>${body}</table>`;
}

function taintText(t: KernelTaint | undefined): string {
  if (!t) return 'unknown';
  return t.value === 0 ? 'not tainted' : `${t.letters} (${t.value}): ${t.flags.map((f) => `${f.letter} ${f.meaning}`).join(', ')}`;
}

/**
 * The kernel a run ran on, from its one record: release and where it came
 * from; on the virtual lab also its Debian source, memory debugging, module
 * overlay (patches and their hashes) and taint.
 */
function kernelRows(k: KernelRecord): string {
  const origin = k.origin === 'distro' ? `distribution kernel${k.package ? `, ${k.package}` : ''}` : k.origin === 'user' ? `your build${k.image_path ? ` ${k.image_path}` : ''}` : k.origin;
  const source = k.source_version ? `, Debian source ${k.source_version}${k.upstream ? `, upstream ${k.upstream}` : ''}` : '';
  const rows = [`<tr><th>kernel</th><td>${esc(k.release)} (${esc(origin)})${esc(source)}${k.version ? ` <small>${esc(k.version)}</small>` : ''}</td></tr>`];
  // the virtual lab's part: a real kernel it booted
  if (!k.memory_debug) return rows.join('\n');
  rows.push(`<tr><th>memory debugging</th><td>${esc(k.memory_debug.on.join(' ') || 'off')}${k.memory_debug.unavailable.length ? ` <small>(not available: ${esc(k.memory_debug.unavailable.join('; '))})</small>` : ''}</td></tr>`);
  const o = k.overlay;
  if (o) {
    rows.push(
      `<tr><th>module overlay</th><td>${esc(o.key)}: rebuilt ${esc([...o.rebuilt, ...o.extra_module_dirs.map((e) => `${e.dir} (sha256 ${e.sha256})`)].join(', '))} from linux-source ${esc(o.source_version)}` +
        `${o.patches.length ? `<br>patches: ${o.patches.map((p) => `<code>${esc(p.name)}</code> sha256 <code>${esc(p.sha256)}</code>`).join('<br>')}` : '<br>no patches'}` +
        `<br>modules loaded instead of the stock ones: ${esc(o.modules.join(', '))}</td></tr>`,
    );
  }
  rows.push(`<tr><th>kernel taint</th><td>after boot: ${esc(taintText(k.taint_at_boot))}${k.taint_at_end ? `<br>after the run: ${esc(taintText(k.taint_at_end))}` : ''}</td></tr>`);
  return rows.join('\n');
}

/** The oracle's verdict on the run (--oracle): the same scenario on the fixed model, compared. */
function oracleHtml(o: RunSummary['oracle']): string {
  if (!o) return '';
  const items = [...o.not_comparable.map((n) => `<tr><td>not compared</td><td></td><td>${esc(n)}</td></tr>`), ...o.items.map((d) => `<tr><td>${d.significant ? `<b>${esc(d.kind)}</b>` : `rare ${esc(d.kind)}`}</td><td class="n">${d.significant ? '' : d.chance.toFixed(2)}</td><td>${esc(d.message)}</td></tr>`)];
  return `<h2>Oracle: ${formatCount(o.divergences)} divergence(s) against ${esc(o.against)}</h2>
<p>${formatCount(o.compared)} step(s) compared${o.rare ? `, ${formatCount(o.rare)} rare difference(s) timing alone could explain` : ''}; the full comparison is <code>${esc(o.report)}</code> next to the journal.</p>
${items.length ? `<table><tr><th>kind</th><th>chance</th><th>what</th></tr>${items.join('')}</table>` : ''}
${o.agreement ? agreementHtml(o.agreement) : ''}`;
}

/** The same historic bug on the real kernel and on the model: both findings, and whether they agree. */
function agreementHtml(g: Agreement): string {
  const cell = (d: Agreement['a']) => (d ? `<b>${esc(d.type)}</b>${d.function ? ` in <code>${esc(d.function)}</code>` : ''}<br><small>${esc(d.message.split('\n')[0]!)}</small>` : 'no kernel bug found');
  const rows = g.checks.map((c) => `<tr><td>${esc(c.what)}</td><td>${esc(c.a)}</td><td>${esc(c.b)}</td><td>${c.result === 'same' ? 'same' : c.result === 'unknown' ? 'unknown' : '<b>differ</b>'}</td></tr>`).join('');
  return `<h2 id="agreement">Simulation and reality: ${g.verdict === 'agree' ? 'they agree' : g.verdict === 'partly' ? 'they partly agree' : g.verdict === 'both-quiet' ? 'neither found the bug' : 'they disagree'}</h2>
<p>${esc(g.text)}</p>
<table><tr><th></th><th>${esc(g.labels.a)}</th><th>${esc(g.labels.b)}</th></tr><tr><td>finding</td><td>${cell(g.a)}</td><td>${cell(g.b)}</td></tr></table>
${rows ? `<table><tr><th>compared</th><th>${esc(g.labels.a)}</th><th>${esc(g.labels.b)}</th><th></th></tr>${rows}</table>` : ''}`;
}

function findingHtml(f: Finding, index: number): string {
  const inflight = f.inflight?.length
    ? `<h4>In flight</h4><ul>${f.inflight.map((a) => `<li>${esc(a.lane)}: ${esc(a.op)}${a.handle ? ` (${esc(a.handle)})` : ''} since ${formatNs(a.since)}</li>`).join('')}</ul>`
    : '';
  return `<section class="finding" id="f${index}">
<h3><span class="sev" style="background:${severityColour(f.severity)}">${esc(f.severity)}</span> ${esc(f.type)} <small>${esc(f.id)} at ${formatNs(f.t)}${f.lane ? ` · lane ${esc(f.lane)}` : ''}${f.op ? ` · ${esc(f.op)}` : ''}</small></h3>
<p>${esc(f.message)}</p>
<p class="sig">signature: ${esc(f.signature ?? signatureOf(f))}</p>
${inflight}
${f.interleaving?.length ? interleavingHtml(f.interleaving, f.involved ?? []) : ''}
${f.klog?.length ? `<h4>Kernel log</h4><pre class="log">${esc(f.klog.join('\n'))}</pre>` : ''}
</section>`;
}

/**
 * The interleaving of a finding: the steps of the tasks it involves first (the
 * faulting one's column leftmost), every task's steps one click away. The
 * report runs no script, so the filter is two tables, the full one folded.
 */
export function interleavingHtml(steps: InterleavingStep[], involved: string[]): string {
  const mine = steps.filter((s) => involved.includes(s.task));
  if (!involved.length || mine.length === steps.length || !mine.length) return `<h4>Interleaving (${steps.length} steps)</h4>${interleavingTable(steps, involved)}`;
  return `<h4>Interleaving, involved tasks only (${esc(involved.join(', '))}): ${mine.length} of ${steps.length} steps</h4>${interleavingTable(mine, involved)}
<details><summary>all tasks: ${steps.length} steps</summary>${interleavingTable(steps, involved)}</details>`;
}

/** One column per task (lane, interrupt, kernel thread), involved tasks first, one row per scheduling step; it scrolls inside its box. */
export function interleavingTable(steps: InterleavingStep[], involved: string[] = []): string {
  const tasks: string[] = involved.filter((t) => steps.some((s) => s.task === t));
  for (const s of steps) if (!tasks.includes(s.task)) tasks.push(s.task);
  const ctx = new Map(steps.map((s) => [s.task, s.ctx]));
  const t0 = steps[0]?.t ?? 0;
  const role = (t: string) => (involved[0] === t ? ' · faulting' : involved.includes(t) ? ' · involved' : '');
  const head = `<tr><th>+time</th>${tasks.map((t) => `<th class="ctx-${ctx.get(t)}">${esc(t)}<br><small>${esc((ctx.get(t) ?? '') + role(t))}</small></th>`).join('')}</tr>`;
  const rows = steps.map((s) => `<tr><td class="n">${formatNs(s.t - t0)}</td>${tasks.map((t) => (t === s.task ? `<td class="step ctx-${s.ctx}">${esc(s.at)}</td>` : '<td></td>')).join('')}</tr>`).join('');
  return `<div class="scroll il-box"><table class="il">${head}${rows}</table></div>`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:960px;color:#1f2328;background:#fff;padding:0 16px}
h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}h3{font-size:15px;margin:8px 0}h4{font-size:13px;margin:10px 0 4px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f6f8fa}
.kv th{width:140px}.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.verdict{display:inline-block;font-weight:700;padding:2px 12px;border-radius:4px;color:#fff;background:#57606a}.v-pass{background:#1a7f37}.v-fail{background:#cf222e}.v-error{background:#bc4c00}.v-aborted{background:#6e7781}
.desc{color:#57606a}.sev{color:#fff;border-radius:3px;padding:1px 6px;font-size:12px}
.finding{border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;margin:10px 0}
pre{background:#f6f8fa;padding:8px;overflow-x:auto;font:12px/1.4 ui-monospace,monospace}pre.log{background:#0d1117;color:#c9d1d9}
.scroll{overflow:auto;max-width:100%}.il-box{max-height:480px;border:1px solid #d0d7de}.il{border:0}.il th{position:sticky;top:0}.il td,.il th{font:12px ui-monospace,monospace;white-space:nowrap}.sig{font:12px ui-monospace,monospace;color:#57606a;overflow-wrap:anywhere}
.finding{min-width:0;overflow:hidden}.il td.step{background:#ddf4ff}.il td.ctx-irq{background:#ffebe9}.il td.ctx-kthread{background:#fff8c5}
.chart{display:block;margin:8px 0;font:11px system-ui,sans-serif}.chart .g{stroke:#eaeef2}.chart .a{stroke:#8c959f}.chart text{fill:#57606a}.chart .t{font-weight:600;fill:#1f2328}
footer{margin-top:32px;color:#8c959f;font-size:12px}
.st{border-radius:3px;padding:1px 6px;font-size:12px;color:#fff;background:#57606a}.st-pass{background:#1a7f37}.st-fail,.st-error{background:#cf222e}.st-skip{background:#6e7781}`;
