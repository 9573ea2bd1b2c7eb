// JUnit XML for CI systems: one test case per run (or per suite phase);
// findings are the failures, with their messages and kernel log text.
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

function failure(f: Finding): string {
  const body = [f.message, ...(f.klog ?? [])].join('\n');
  return `<failure type="${esc(f.type)}" message="${esc(`[${f.severity}] ${f.type}: ${f.message}`)}">${esc(body)}</failure>`;
}

export function junitXml(s: RunSummary): string {
  const cases = s.phases
    ? s.phases.map((p) => ({ name: `${p.name} (${p.profile.join(',')})`, secs: p.elapsed / 1e9, findings: s.findings.filter((f) => p.findings.includes(f.id)) }))
    : [{ name: `${s.preset} (${s.profile.join(',')})`, secs: s.elapsed_ns / 1e9, findings: s.findings }];
  const failures = cases.filter((c) => c.findings.length).length;
  const errors = s.status === 'error' ? 1 : 0;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="stresslab" tests="${cases.length}" failures="${failures}" errors="${errors}">`,
    `  <testsuite name="${esc(`${s.preset} on ${s.target}, seed ${s.seed}`)}" tests="${cases.length}" failures="${failures}" errors="${errors}" time="${(s.wall_ms / 1000).toFixed(3)}">`,
  ];
  for (const c of cases) {
    lines.push(`    <testcase classname="stresslab.${esc(s.target)}" name="${esc(c.name)}" time="${c.secs.toFixed(6)}">`);
    for (const f of c.findings) lines.push(`      ${failure(f)}`);
    lines.push('    </testcase>');
  }
  if (errors) lines.push(`    <error message="${esc(s.reason ?? 'target failed')}"/>`);
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}
