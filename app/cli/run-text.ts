// What `stresslab run` and `replay` print: the live status line while a run
// goes (boot progress first on the virtual lab, then time against the budget,
// operations, xruns, findings) and the closing report. Every number comes from
// the run tally (app/api/tally.ts), so it is the number summary.json, the app
// and the HTML report show.
import { join } from 'node:path';
import { checkTally } from '../analysis/checks.js';
import { formatCount } from '../api/tally.js';
import { type ConformanceRow, rowVerdict } from '../api/conformance.js';
import type { RunContext } from '../events/types.js';
import type { RunHandle, RunSummary } from '../engine/run.js';
import type { Io } from './command.js';

export function formatNs(ns: number): string {
  return ns >= 1e9 ? `${(ns / 1e9).toFixed(3)}s` : ns >= 1e6 ? `${(ns / 1e6).toFixed(3)}ms` : `${(ns / 1e3).toFixed(1)}us`;
}

/** "real kernel 6.1.0-28-amd64 (distro), QEMU TCG, 2 cpus" or "simulated kernel, profile fixed". */
export function ranOn(target: string, profile: string[], ctx?: RunContext): string {
  if (target === 'sim') return `simulated kernel, profile ${profile.join(',') || 'fixed'}`;
  const k = ctx?.kernel;
  const parts = [k ? `kernel ${k.release} (${k.origin === 'distro' ? 'distribution package' : k.origin === 'user' ? 'your build' : k.origin})` : 'real kernel'];
  if (ctx?.machine) parts.push(`QEMU ${ctx.machine.accel.toUpperCase()}${ctx.machine.accel === 'tcg' ? ' (software emulation)' : ''}`);
  return parts.join(', ');
}

const MARK = { pass: '✓', fail: '✗', skip: '–', error: '!' } as const;

/** `summaryPath`: where summary.json really went (a full disk may have sent it elsewhere), null when nowhere. */
export function reportText(s: RunSummary, outDir?: string, summaryPath?: string | null): string {
  const c = s.counts;
  const lines = [`${s.verdict.toUpperCase()}: ${s.preset} on ${s.target} (${ranOn(s.target, s.profile, s.context)}; seed ${s.seed}) — ${s.status}, ${formatNs(s.elapsed_ns)} of ${formatNs(s.budget_ns)} budget${s.target === 'sim' ? ' (virtual time)' : ''} in ${(s.wall_ms / 1000).toFixed(1)}s`];
  if (s.context?.cards?.length) lines.push(`  cards: ${s.context.cards.map((x) => `${x.index} ${x.id} (${x.driver})`).join(', ')}${s.context.alsa_version ? `; ${s.context.alsa_version}` : ''}`);
  if (c) {
    const rate = s.elapsed_ns > 0 ? (c.operations / s.elapsed_ns) * 1e9 : 0;
    const perStream = c.streams.filter((x) => x.xruns).map((x) => `${x.stream} ${formatCount(x.xruns)}`);
    const recovered = c.recovered || c.recover_failed ? `, ${formatCount(c.recovered)} recovered${c.recover_failed ? ` (${formatCount(c.recover_failed)} failed to)` : ''} with ${formatNs(c.time_lost_ns)} lost` : '';
    lines.push(`  ${formatCount(c.operations)} operations (${formatCount(c.failed)} failed), ${formatCount(rate)} ops/s, ${formatCount(c.xruns)} xruns${perStream.length ? ` (${perStream.join(', ')})` : ''}${recovered}`);
  }
  // the conformance table summary.json carries (app/api/conformance.ts judged it)
  const conf = (s.metrics as { conformance?: { streams: ConformanceRow[] } } | undefined)?.conformance?.streams;
  if (conf?.length) {
    lines.push('  conformance (passed / configurations):');
    for (const r of conf) {
      const v = rowVerdict(r);
      lines.push(`    ${v === 'pass' ? '✓' : v === 'fail' ? '✗' : '–'} ${r.device} ${r.card_id ?? ''} ${r.stream}: ${formatCount(r.passed)} / ${formatCount(r.configurations)}${r.worst_deviation_pct !== undefined ? `, worst rate ${r.worst_deviation_pct > 0 ? '+' : ''}${r.worst_deviation_pct} %` : ''}`);
    }
  }
  if (s.checks?.length) {
    const n = checkTally(s.checks);
    lines.push(`  checks: ${n.pass} passed, ${n.fail} failed, ${n.skip} not evaluated${n.error ? `, ${n.error} could not run` : ''}`);
    for (const k of s.checks) if (k.status !== 'pass') lines.push(`    ${MARK[k.status]} ${k.phase ? `${k.phase}: ` : ''}${k.id}: ${k.message}`);
  }
  for (const f of s.findings) lines.push(`  [${f.severity}] ${f.type} at ${formatNs(f.t)}: ${f.message}`);
  if (s.reason && s.status === 'error') lines.push(`  error: ${s.reason}`);
  else if (s.reason && s.status === 'stopped') lines.push(`  stopped: ${s.reason}`);
  if (s.journal_state?.sampled_away) lines.push(`  journal sampled: ${formatCount(s.journal_state.sampled_away)} repetitive events left out (${s.journal_state.keep} kept past the size bound)${s.journal_state.full ? '; the journal filled up' : ''}`);
  if (outDir) lines.push(`  journal: ${join(outDir, 'journal.jsonl')}`, `  summary: ${summaryPath === undefined ? join(outDir, 'summary.json') : (summaryPath ?? 'not written (see above)')}`);
  return lines.join('\n') + '\n';
}

/** The live status line: boot progress, then elapsed against the budget, ops/s, xruns, findings. */
export function statusLine(io: Io, h: RunHandle): () => void {
  let progress: { text: string; wall: number } | null = null;
  let running = false;
  const unsub = h.subscribe((e) => {
    if (e.kind === 'progress') progress = { text: e.text, wall: Date.now() };
    else if (e.kind === 'act') running = true;
    // Not a terminal (CI logs): boot stages as lines, the rest in the closing report.
    if (e.kind === 'progress' && !io.isTTY) io.err(`  ${e.text} (${(e.wall_ms / 1000).toFixed(1)} s)\n`);
  });
  if (!io.isTTY) return unsub;
  const budget = h.spec.duration ?? h.spec.scenario.duration;
  const t0 = Date.now();
  let lastOps = 0;
  let lastT = t0;
  const timer = setInterval(() => {
    const now = Date.now();
    const wall = `${((now - t0) / 1000).toFixed(1)}s`;
    if (!running && progress) {
      io.err(`\r\x1b[K  ${wall}  ${progress.text}…`);
      return;
    }
    const ops = h.tally.operations;
    const rate = ((ops - lastOps) * 1000) / Math.max(1, now - lastT);
    lastOps = ops;
    lastT = now;
    io.err(`\r\x1b[K  ${wall}  t=${formatNs(h.lastT)} of ${formatNs(budget)}  ${formatCount(ops)} ops  ${formatCount(rate)} ops/s  xruns ${formatCount(h.tally.xruns)}  findings ${formatCount(h.findings.length)}`);
  }, 250);
  return () => {
    clearInterval(timer);
    unsub();
    io.err('\r\x1b[K');
  };
}
