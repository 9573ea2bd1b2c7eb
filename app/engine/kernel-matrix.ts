// A kernel matrix: one preset run once per kernel (stresslab run --target vm
// --kernel-version A,B,C or A..B, or the app's matrix run), ending in one
// row per kernel: verdict, finding types, the function the first finding
// names, time covered. Consecutive kernels whose verdicts differ are where a
// distribution update fixed (or brought) the bug.
import type { Finding, Verdict } from '../events/types.js';
import type { RunSummary } from './run.js';
import type { RunCounts } from '../api/tally.js';
import { kernelOf } from '../api/kernel-record.js';

export interface MatrixKernel {
  /** What the user typed for it: 6.1.0-54 */
  version: string;
  package?: string;
  source_version?: string;
  upstream?: string;
}

export interface MatrixRow extends MatrixKernel {
  verdict: Verdict;
  /** The run's status (completed, crashed, error...) */
  status: string;
  finding_types: string[];
  findings: number;
  /** The function the first (most severe) finding names: where the kernel says the bug is. */
  signature?: string;
  elapsed_ns: number;
  wall_ms: number;
  /** The run's directory (relative to the matrix's), or the app's run id. */
  run?: string;
  reason?: string;
  /** Overlay key, when the kernel ran with rebuilt modules. */
  overlay?: string;
  /** The run's numbers (app/api/tally.ts): the same operations, xruns and kernel-log lines its summary and report show. */
  counts?: RunCounts;
}

export interface KernelMatrix {
  kind: 'kernel-matrix';
  preset: string;
  seed: number;
  kernels: string[];
  rows: MatrixRow[];
  created: string;
}

const SEVERITY = { critical: 0, error: 1, warning: 2 } as const;

/** "snd_seq_pool_done+0x9a/0x130 [snd_seq]" → "snd_seq_pool_done". */
export function bareFunction(s: string): string {
  return s.trim().replace(/^\[<[0-9a-f]+>\]\s*/, '').replace(/\s*\[[\w-]+\]$/, '').replace(/\+0x[0-9a-f]+(?:\/0x[0-9a-f]+)?$/, '');
}

/** The kernel function a finding names: its report's function, else the hung lane's wait channel or top stack frame. */
export function signatureOf(f: Finding): string | undefined {
  const ev = (f.evidence ?? {}) as { function?: unknown; wchan?: unknown; stack?: unknown };
  if (typeof ev.function === 'string' && ev.function) return bareFunction(ev.function);
  if (typeof ev.wchan === 'string' && ev.wchan && ev.wchan !== '0') return bareFunction(ev.wchan);
  if (Array.isArray(ev.stack) && typeof ev.stack[0] === 'string') return bareFunction(ev.stack[0]);
  return undefined;
}

export function mostSevere(findings: Finding[]): Finding | undefined {
  return [...findings].sort((a, b) => SEVERITY[a.severity] - SEVERITY[b.severity] || a.t - b.t)[0];
}

export function matrixRow(k: MatrixKernel, s: RunSummary, run?: string): MatrixRow {
  const types: string[] = [];
  for (const f of s.findings) if (!types.includes(f.type)) types.push(f.type);
  const first = mostSevere(s.findings);
  const sig = first && signatureOf(first);
  const kernel = kernelOf(s);
  const overlay = kernel?.overlay?.key;
  return {
    ...k,
    ...(kernel?.source_version && !k.source_version ? { source_version: kernel.source_version } : {}),
    verdict: s.verdict,
    status: s.status,
    finding_types: types,
    findings: s.findings.length,
    ...(sig ? { signature: sig } : {}),
    elapsed_ns: s.elapsed_ns,
    wall_ms: s.wall_ms,
    ...(run ? { run } : {}),
    ...(s.reason && s.status === 'error' ? { reason: s.reason } : {}),
    ...(overlay ? { overlay } : {}),
    ...(s.counts ? { counts: s.counts } : {}),
  };
}

/** A row for a kernel whose run could not start (download or overlay failed). */
export function errorRow(k: MatrixKernel, reason: string): MatrixRow {
  return { ...k, verdict: 'error', status: 'error', finding_types: [], findings: 0, elapsed_ns: 0, wall_ms: 0, reason };
}

/** "fail → pass between 6.1.0-54 (6.1.190-1) and 6.1.0-55 (6.1.192-1)": where consecutive kernels' verdicts differ. */
export function verdictChanges(rows: MatrixRow[]): string[] {
  const out: string[] = [];
  const name = (r: MatrixRow) => `${r.version}${r.source_version ? ` (${r.source_version})` : ''}`;
  for (let i = 1; i < rows.length; i++) {
    const a = rows[i - 1]!;
    const b = rows[i]!;
    if (a.verdict === 'error' || b.verdict === 'error' || a.verdict === b.verdict) continue;
    const what = a.verdict === 'fail' && b.verdict === 'pass' ? 'fixed' : a.verdict === 'pass' && b.verdict === 'fail' ? 'appears' : 'changes';
    out.push(`${a.verdict} → ${b.verdict} between ${name(a)} and ${name(b)}: the ${a.finding_types.concat(b.finding_types)[0] ?? 'finding'} ${what} there`);
  }
  return out;
}

function secs(ns: number): string {
  return `${(ns / 1e9).toFixed(1)}s`;
}

/** The table as the CLI prints it. */
export function matrixText(m: KernelMatrix): string {
  const head = ['kernel', 'source', 'verdict', 'findings', 'signature', 'covered', 'wall'];
  const rows = m.rows.map((r) => [
    r.version,
    r.source_version ?? '',
    r.verdict.toUpperCase(),
    r.finding_types.join(',') || (r.verdict === 'error' ? (r.reason ?? 'error').split('\n')[0]!.slice(0, 60) : '—'),
    r.signature ?? '',
    secs(r.elapsed_ns),
    `${(r.wall_ms / 1000).toFixed(1)}s`,
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  const changes = verdictChanges(m.rows);
  return [
    `kernel matrix: ${m.preset}, seed ${m.seed}, ${m.rows.length} kernel(s)`,
    line(head),
    ...rows.map(line),
    ...(changes.length ? ['', ...changes] : []),
  ].join('\n') + '\n';
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A self-contained HTML page with the table and links to each kernel's report. */
export function matrixHtml(m: KernelMatrix): string {
  const rows = m.rows
    .map(
      (r) =>
        `<tr class="v-${esc(r.verdict)}"><td>${esc(r.version)}</td><td>${esc(r.source_version ?? '')}</td><td>${esc(r.upstream ?? '')}</td><td><b>${esc(r.verdict.toUpperCase())}</b></td><td>${esc(r.finding_types.join(', ') || (r.reason ?? '—'))}</td><td><code>${esc(r.signature ?? '')}</code></td><td class="n">${secs(r.elapsed_ns)}</td><td>${r.run ? `<a href="${esc(r.run)}/report.html">${esc(r.run)}</a>` : ''}</td></tr>`,
    )
    .join('');
  const changes = verdictChanges(m.rows);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Kernel matrix · ${esc(m.preset)} · Audio Stress Lab</title>
<style>body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1000px;padding:0 16px}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left}th{background:#f6f8fa}.n{text-align:right}.v-fail td:nth-child(4){color:#cf222e}.v-pass td:nth-child(4){color:#1a7f37}.v-error td:nth-child(4){color:#bc4c00}</style></head>
<body><h1>Kernel matrix: ${esc(m.preset)}</h1>
<p>Seed ${m.seed}; ${m.rows.length} kernel(s); ${esc(m.created)}.</p>
<table><tr><th>kernel</th><th>Debian source</th><th>upstream</th><th>verdict</th><th>findings</th><th>signature</th><th>covered</th><th>run</th></tr>${rows}</table>
${changes.length ? `<h2>Where the verdict changes</h2><ul>${changes.map((c) => `<li>${esc(c)}</li>`).join('')}</ul>` : ''}
<script type="application/json" id="stresslab-matrix">${JSON.stringify(m).replace(/</g, '\\u003c')}</script>
</body></html>
`;
}
