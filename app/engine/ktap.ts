// KTAP version 1 (Documentation/dev-tools/ktap.rst), the format kselftest and
// KUnit print and KernelCI and LAVA parse: one result line per check (the run,
// each threshold, each detector), failures explained in diagnostic lines
// before their result, checks with nothing to evaluate as "# SKIP reason". A
// suite prints one subtest per phase.
import type { CheckResult } from '../analysis/checks.js';
import type { RunSummary } from './run.js';

/** A description may hold anything but "#" and line breaks. */
function name(s: string): string {
  return s.replace(/[#\r\n]/g, ' ').trim();
}

function diag(s: string): string[] {
  return s
    .split('\n')
    .map((l) => l.replace(/\r/g, '').trimEnd())
    .filter(Boolean)
    .map((l) => `# ${l}`);
}

function result(n: number, c: CheckResult, s: RunSummary): string[] {
  const lines: string[] = [];
  if (c.status === 'fail' || c.status === 'error') {
    lines.push(...diag(`${c.id}: ${c.message}`));
    for (const id of c.findings.slice(0, 20)) {
      const f = s.findings.find((x) => x.id === id);
      if (f) lines.push(...diag(`${f.id} [${f.severity}] at ${(f.t / 1e9).toFixed(6)} s: ${f.message}`));
    }
  }
  const directive = c.status === 'skip' ? ` # SKIP ${name(c.message)}` : c.status === 'error' ? ` # ERROR ${name(c.message)}` : '';
  lines.push(`${c.status === 'pass' || c.status === 'skip' ? 'ok' : 'not ok'} ${n} ${name(c.id)}${directive}`);
  return lines;
}

export function ktap(s: RunSummary): string {
  const checks = s.checks ?? [];
  const ctx = s.context;
  const out = ['KTAP version 1', ...diag(`stresslab ${s.preset} on ${s.target}, seed ${s.seed}${s.profile.length ? `, profile ${s.profile.join(',')}` : ''}`)];
  if (ctx?.kernel) out.push(...diag(`kernel ${ctx.kernel.release} (${ctx.kernel.origin})${ctx.machine ? `, ${ctx.machine.emulator} ${ctx.machine.accel}` : ''}`));
  const top = checks.filter((c) => !c.phase);
  const phases = [...new Set(checks.filter((c) => c.phase).map((c) => c.phase!))];
  out.push(`1..${top.length + phases.length}`);
  let n = 0;
  for (const c of top) out.push(...result(++n, c, s));
  for (const p of phases) {
    const mine = checks.filter((c) => c.phase === p);
    const sub = ['KTAP version 1', `# Subtest: ${name(p)}`, `1..${mine.length}`];
    mine.forEach((c, i) => sub.push(...result(i + 1, c, s)));
    out.push(...sub.map((l) => `  ${l}`));
    const bad = mine.some((c) => c.status === 'fail' || c.status === 'error');
    out.push(`${bad ? 'not ok' : 'ok'} ${++n} ${name(p)}`);
  }
  return out.join('\n') + '\n';
}
