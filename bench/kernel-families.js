#!/usr/bin/env node
// The five race families on a real kernel, over many seeds (issue 9, "What
// must be shown"): each family's preset in the virtual lab with its
// historic-bug patch built into a module overlay (the bug must be found: the
// simulated profile's finding type, in 9 of 10 seeds or better) and with
// today's stock modules (never a finding). Seed-major order (seed 1 of every
// family both ways, then seed 2...), so a run cut short still covers every
// family evenly.
//
//   node scripts/build.js && node bench/kernel-families.js [--seeds 10] [--from 1]
//        [--only 000,004] [--ways patched,stock] [--duration D] [--out DIR]
//
// Budget: each preset's own duration (3-6 s of run time after boot) unless
// --duration; a guest boots per run (15-45 s under load). One line per run
// goes to DIR/runs.jsonl as it finishes; DIR/table.md is rewritten after
// every run (rates per family and way). bench/RESULTS.md has the figures.
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { KERNEL_FAMILIES, familyPatch } = await import(pathToFileURL(join(root, 'dist', 'app', 'targets', 'kernel-families.js')).href);
const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const seeds = Number(arg('seeds', '10'));
const from = Number(arg('from', '1'));
const only = arg('only', '');
const ways = arg('ways', 'patched,stock').split(',');
const duration = arg('duration', '');
const out = arg('out', join(root, 'runs', `kernel-families-${new Date().toISOString().replace(/[:.]/g, '-')}`));
mkdirSync(out, { recursive: true });
const families = KERNEL_FAMILIES.filter((f) => !only || only.split(',').includes(f.seed) || only.split(',').includes(f.profile));

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
}

function runOnce(fam, way, seed) {
  const dir = join(out, `${fam.seed}-${way}-${seed}`);
  const t0 = Date.now();
  const r = spawnSync(
    process.execPath,
    [join(root, 'bin', 'stresslab.js'), 'run', fam.preset, '--target', 'vm', '--hw', fam.hw, '--seed', String(seed), '--out', dir, '--quiet',
      ...(duration ? ['--duration', duration] : []), ...(way === 'patched' ? ['--kernel-patch', join(root, familyPatch(fam))] : [])],
    { cwd: root, encoding: 'utf8', timeout: 900_000, env: { ...process.env, STRESSLAB_NO_AUTOBUILD: '1' } },
  );
  const wall = (Date.now() - t0) / 1000;
  let s;
  try {
    s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
  } catch {
    return { family: fam.seed, profile: fam.profile, way, seed, code: r.status, wall, error: (r.stderr || r.stdout || String(r.error ?? '')).trim().split('\n').slice(-3).join(' | ') };
  }
  const hit = s.findings.find((f) => f.type === fam.finding);
  return {
    family: fam.seed,
    profile: fam.profile,
    way,
    seed,
    code: r.status,
    wall,
    status: s.status,
    verdict: s.verdict,
    findings: s.findings.map((f) => f.type),
    found: !!hit,
    foundAt: hit ? hit.t / 1e9 : undefined,
    foundWhat: hit?.message,
    kernelText: hit ? fam.kernelText(hit).length > 0 : undefined,
    covered: s.elapsed_ns / 1e9,
    budget: s.budget_ns / 1e9,
    other: s.findings.filter((f) => f.type !== fam.finding).map((f) => `${f.type}: ${f.message}`.slice(0, 160)),
  };
}

const rows = [];
function table() {
  const lines = ['| family | profile | way | runs | bug found (same type as the profile) | any finding | median time to find (s) | median wall per run (s) | errors |', '|---|---|---|---|---|---|---|---|---|'];
  for (const fam of families)
    for (const way of ways) {
      const rs = rows.filter((x) => x.family === fam.seed && x.way === way);
      if (!rs.length) continue;
      const ok = rs.filter((x) => !x.error);
      const found = ok.filter((x) => x.found);
      lines.push(`| ${fam.seed} | ${fam.profile} | ${way} | ${rs.length} | ${found.length}/${ok.length} | ${ok.filter((x) => x.findings.length).length}/${ok.length} | ${found.length ? median(found.map((x) => x.foundAt)).toFixed(2) : '-'} | ${median(rs.map((x) => x.wall)).toFixed(0)} | ${rs.length - ok.length} |`);
    }
  return lines.join('\n') + '\n';
}

for (let seed = from; seed < from + seeds; seed++)
  for (const fam of families)
    for (const way of ways) {
      const row = runOnce(fam, way, seed);
      rows.push(row);
      appendFileSync(join(out, 'runs.jsonl'), JSON.stringify(row) + '\n');
      const what = row.error ? `ERROR ${row.error}` : `${row.verdict} ${row.status} found=${row.found}${row.found ? ` at ${row.foundAt.toFixed(2)}s` : ''} findings=[${row.findings.join(',')}] covered=${row.covered.toFixed(2)}/${row.budget}s`;
      console.log(`${fam.seed} ${fam.profile} ${way} seed ${seed}: ${what} (wall ${row.wall.toFixed(0)} s)`);
      writeFileSync(join(out, 'table.md'), table());
    }
console.log('\n' + table());
console.log(`runs: ${join(out, 'runs.jsonl')}`);
