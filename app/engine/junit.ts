// JUnit XML for CI systems: one test case per check (the run itself, each
// threshold the preset sets, each detector), grouped in one test suite per
// run or per suite phase. A failed check carries its findings' messages and
// kernel log; a check with nothing to evaluate is <skipped> with the reason.
import type { CheckResult } from '../analysis/checks.js';
import type { Finding } from '../events/types.js';
import type { RunSummary } from './run.js';

function esc(s: string): string {
  // XML 1.0 forbids most control characters even escaped; kernel logs can carry them.
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

function failure(c: CheckResult, findings: Finding[]): string {
  const type = findings[0]?.type ?? c.id;
  const body = findings.length ? findings.map((f) => [`[${f.severity}] ${f.type} at ${(f.t / 1e9).toFixed(6)} s: ${f.message}`, ...(f.klog ?? [])].join('\n')).join('\n\n') : c.message;
  return `<failure type="${esc(type)}" message="${esc(c.message)}">${esc(body)}</failure>`;
}

function testcase(s: RunSummary, c: CheckResult, time: number): string[] {
  // Finding ids are unique in a run, suite phases included.
  const findings = c.findings.map((id) => s.findings.find((f) => f.id === id)).filter((f): f is Finding => !!f);
  const head = `    <testcase classname="stresslab.${esc(s.target)}.${esc(c.phase ?? s.preset)}" name="${esc(c.id)}" time="${time.toFixed(6)}">`;
  const body =
    c.status === 'fail'
      ? [`      ${failure(c, findings)}`]
      : c.status === 'skip'
        ? [`      <skipped message="${esc(c.message)}"/>`]
        : c.status === 'error'
          ? [`      <error message="${esc(c.message)}"/>`]
          : [`      <system-out>${esc(c.message)}</system-out>`];
  return [head, ...body, '    </testcase>'];
}

function properties(s: RunSummary): string[] {
  const ctx = s.context;
  const props: [string, string | number | undefined][] = [
    ['preset', s.preset],
    ['target', s.target],
    ['seed', s.seed],
    ['profile', s.profile.join(',') || 'none (real kernel)'],
    ['verdict', s.verdict],
    ['kernel', ctx?.kernel ? `${ctx.kernel.release} (${ctx.kernel.origin})` : undefined],
    ['accel', ctx?.machine?.accel],
    ['cards', ctx?.cards?.map((c) => `${c.index}:${c.id} (${c.driver})`).join(', ')],
    ['host', ctx?.host ? `${ctx.host.hostname} ${ctx.host.kernel} ${ctx.host.arch}, ${ctx.host.cpus} cpus` : undefined],
  ];
  return ['    <properties>', ...props.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => `      <property name="${k}" value="${esc(String(v))}"/>`), '    </properties>'];
}

export function junitXml(s: RunSummary): string {
  const checks = s.checks ?? [];
  // One test suite per phase (suites) or one for the run; the run check goes with the first.
  const groups = new Map<string, { name: string; secs: number; checks: CheckResult[] }>();
  const runName = `${s.preset} on ${s.target}, seed ${s.seed}`;
  for (const c of checks) {
    const key = c.phase ?? '';
    let g = groups.get(key);
    if (!g) {
      const ph = c.phase ? s.phases?.find((p) => p.name === c.phase) : undefined;
      groups.set(key, (g = { name: c.phase ? `${c.phase} (phase of ${runName})` : runName, secs: ph ? ph.elapsed / 1e9 : s.elapsed_ns / 1e9, checks: [] }));
    }
    g.checks.push(c);
  }
  const count = (cs: CheckResult[], st: CheckResult['status']) => cs.filter((c) => c.status === st).length;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="stresslab" tests="${checks.length}" failures="${count(checks, 'fail')}" errors="${count(checks, 'error')}" skipped="${count(checks, 'skip')}" time="${(s.wall_ms / 1000).toFixed(3)}">`,
  ];
  for (const g of groups.values()) {
    lines.push(`  <testsuite name="${esc(g.name)}" tests="${g.checks.length}" failures="${count(g.checks, 'fail')}" errors="${count(g.checks, 'error')}" skipped="${count(g.checks, 'skip')}" time="${g.secs.toFixed(6)}">`);
    lines.push(...properties(s));
    for (const c of g.checks) lines.push(...testcase(s, c, c.kind === 'run' ? s.elapsed_ns / 1e9 : 0));
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}
