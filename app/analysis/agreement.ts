// Simulation and reality side by side: one preset run with one historic bug
// on two targets (the simulated kernel's bug profile, the real kernel with the
// same bug patched back in), and whether the two found the same thing: the
// finding type, the kernel function the report blames, and the lanes the
// interleaving involved. The step-by-step comparison (oracle.ts) says whether
// the two kernels answered the same; this says whether they broke the same way.
import { FINDING_TYPES, type Finding } from '../events/types.js';

/** Findings that say the kernel broke, as opposed to thresholds and errnos a preset did not expect. */
const KERNEL_FINDINGS = new Set<string>(FINDING_TYPES.filter((t) => !t.endsWith('-threshold') && t !== 'unexpected-errno'));
const SEVERITY_RANK: Record<string, number> = { critical: 0, error: 1, warning: 2, info: 3 };

export interface FindingDigest {
  type: string;
  /** The kernel function the report blames, without offsets ("dpcm_be_dai_trigger"). */
  function?: string;
  /** Lanes the interleaving (or what was in flight) involved; "irq" for the period interrupt. */
  lanes: string[];
  message: string;
  t: number;
}

export type Verdict = 'agree' | 'partly' | 'disagree' | 'both-quiet';

export interface Agreement {
  labels: { a: string; b: string };
  /** The finding each side is judged by (its first kernel finding, most severe first), or none. */
  a?: FindingDigest;
  b?: FindingDigest;
  /** Kernel finding types each side reported, with counts. */
  types: { a: Record<string, number>; b: Record<string, number> };
  checks: { what: 'type' | 'function' | 'lanes'; result: 'same' | 'different' | 'unknown'; a: string; b: string }[];
  verdict: Verdict;
  /** One sentence. */
  text: string;
}

/** "dpcm_be_dai_trigger+0x11d/0x451" → "dpcm_be_dai_trigger". */
export function functionName(f: unknown): string | undefined {
  if (typeof f !== 'string' || !f) return undefined;
  return f.replace(/\.(?:isra|constprop|part|cold)\.\d+/g, '').replace(/\+0x[0-9a-f]+(?:\/0x[0-9a-f]+)?$/i, '').trim() || undefined;
}

export function digest(f: Finding): FindingDigest {
  const ev = (f.evidence ?? {}) as { function?: unknown; stack?: unknown; lanes?: unknown };
  const fn = functionName(ev.function) ?? (Array.isArray(ev.stack) ? ev.stack.map(functionName).find((s) => s && !/^(schedule|__schedule|schedule_timeout\w*|io_schedule\w*)$/.test(s)) : undefined);
  const lanes = new Set<string>();
  if (f.lane) lanes.add(f.lane);
  if (Array.isArray(ev.lanes)) for (const l of ev.lanes) if (typeof l === 'string') lanes.add(l);
  for (const x of f.inflight ?? []) lanes.add(x.lane);
  for (const s of f.interleaving ?? []) lanes.add(s.ctx === 'irq' ? 'irq' : s.task);
  // A real kernel's report says it ran in the interrupt by its <IRQ> frame.
  if ((f.klog ?? []).some((l) => /<IRQ>|in_interrupt|hardirq/.test(l))) lanes.add('irq');
  for (const l of [...lanes]) if (/^(khungtaskd|kworker|ksoftirqd)/.test(l)) lanes.delete(l);
  return { type: f.type, ...(fn ? { function: fn } : {}), lanes: [...lanes].sort(), message: f.message, t: f.t };
}

/** The finding a side is judged by: kernel findings first, then by severity, then the earliest. */
export function primary(findings: readonly Finding[]): Finding | undefined {
  return findings
    .filter((f) => KERNEL_FINDINGS.has(f.type)).sort((x, y) => (SEVERITY_RANK[x.severity] ?? 9) - (SEVERITY_RANK[y.severity] ?? 9) || x.t - y.t)[0];
}

function counts(findings: readonly Finding[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of findings) if (KERNEL_FINDINGS.has(f.type)) out[f.type] = (out[f.type] ?? 0) + 1;
  return out;
}

export function compareFindings(a: readonly Finding[], b: readonly Finding[], labels: { a: string; b: string }): Agreement {
  const pa = primary(a);
  const pb = primary(b);
  const types = { a: counts(a), b: counts(b) };
  const base = { labels, types, ...(pa ? { a: digest(pa) } : {}), ...(pb ? { b: digest(pb) } : {}) };
  if (!pa && !pb) return { ...base, checks: [], verdict: 'both-quiet', text: `neither ${labels.a} nor ${labels.b} found a kernel bug` };
  if (!pa || !pb) {
    const found = (pa ? base.a : base.b)!;
    return { ...base, checks: [{ what: 'type', result: 'different', a: base.a?.type ?? 'none', b: base.b?.type ?? 'none' }], verdict: 'disagree', text: `only ${pa ? labels.a : labels.b} found the bug (${found.type}${found.function ? ` in ${found.function}` : ''}); ${pa ? labels.b : labels.a} found no kernel bug` };
  }
  const da = base.a!;
  const db = base.b!;
  // The same bug may be reported under a second type on one side too (an oops beside a NULL dereference): a type either side reported counts.
  const typeSame = da.type === db.type || Boolean(types.a[db.type]) || Boolean(types.b[da.type]);
  const fnResult = !da.function || !db.function ? 'unknown' : da.function === db.function ? 'same' : 'different';
  const shared = da.lanes.filter((l) => db.lanes.includes(l));
  const lanesResult = !da.lanes.length || !db.lanes.length ? 'unknown' : shared.length === da.lanes.length && shared.length === db.lanes.length ? 'same' : shared.length ? 'same' : 'different';
  const checks: Agreement['checks'] = [
    { what: 'type', result: typeSame ? 'same' : 'different', a: da.type, b: db.type },
    { what: 'function', result: fnResult, a: da.function ?? '?', b: db.function ?? '?' },
    { what: 'lanes', result: lanesResult, a: da.lanes.join(', ') || '?', b: db.lanes.join(', ') || '?' },
  ];
  const verdict: Verdict = !typeSame ? 'disagree' : fnResult !== 'different' && lanesResult !== 'different' ? 'agree' : 'partly';
  const words = checks.map((c) => `${c.what} ${c.result === 'same' ? (c.what === 'lanes' && c.a !== c.b ? `overlap (${shared.join(', ')})` : `same (${c.a})`) : c.result === 'unknown' ? `unknown (${c.a} / ${c.b})` : `differ (${c.a} / ${c.b})`}`);
  return { ...base, checks, verdict, text: `${verdict === 'agree' ? 'agree' : verdict === 'partly' ? 'partly agree' : 'disagree'}: ${words.join('; ')}` };
}

export function agreementText(g: Agreement): string {
  const side = (label: string, d: FindingDigest | undefined) => `  ${label}: ${d ? `${d.type}${d.function ? ` in ${d.function}` : ''}${d.lanes.length ? ` [lanes ${d.lanes.join(', ')}]` : ''} — ${d.message.split('\n')[0]!.slice(0, 160)}` : 'no kernel bug found'}`;
  return [`simulation and reality: ${g.text}`, side(g.labels.a, g.a), side(g.labels.b, g.b)].join('\n') + '\n';
}
