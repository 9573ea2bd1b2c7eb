#!/usr/bin/env node
// Replaying, reporting and comparing a 1 GB journal in bounded memory.
// Makes a real simulator journal of about the given size (stop-close-race on
// today's kernel writes ~4.65 MB per virtual second; its analysis keeps no
// per-event state, so what grows with the journal is only what the readers
// keep), then runs each reader
// as its own process, as a user would, twice: with Node's default heap and
// with the heap capped at 64 MB (a reader holding the file could not work
// there). Reports wall time and peak RSS per reader; RSS is the process's
// whole resident memory (code, buffers, heap).
//   node bench/journal-1g.js [MB, default 1024] [dir, default $TMPDIR/stresslab-journal-1g]
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'stresslab.js');
const mb = Number(process.argv[2] ?? 1024);
const dir = process.argv[3] ?? join(tmpdir(), 'stresslab-journal-1g');
mkdirSync(dir, { recursive: true });
const journal = join(dir, 'run', 'journal.jsonl');

/** Runs the CLI under /usr/bin/time; resolves with wall seconds, peak RSS (MB) and the exit code. */
function measure(args, nodeArgs = []) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', '%M', process.execPath, ...nodeArgs, bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, STRESSLAB_NO_AUTOBUILD: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      const rssKb = Number(err.trim().split('\n').pop());
      resolve({ code, wall_s: +(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1), rss_mb: Math.round(rssKb / 1024), out: out.trim().split('\n').slice(-2).join(' | ') });
    });
  });
}

if (!existsSync(journal) || statSync(journal).size < mb * 1e6 * 0.9) {
  const seconds = (mb / 4.65).toFixed(1);
  process.stderr.write(`making a ~${mb} MB journal: stop-close-race, ${seconds} s of virtual time...\n`);
  const r = await measure(['run', 'stop-close-race', '--duration', `${seconds}s`, '--out', join(dir, 'run'), '--quiet']);
  process.stderr.write(`  ${JSON.stringify(r)}\n`);
}
const size = statSync(journal).size;
const results = { journal_mb: Math.round(size / 1e6), operations: null, readers: {} };
for (const [label, nodeArgs] of [['default heap', []], ['heap capped at 64 MB', ['--max-old-space-size=64']]]) {
  const tag = nodeArgs.length ? 'capped' : 'default';
  const rows = {};
  process.stderr.write(`${label}: replay...\n`);
  rows.replay = await measure(['replay', journal, '--out', join(dir, `replay-${tag}`)], nodeArgs);
  process.stderr.write(`${label}: report...\n`);
  rows.report = await measure(['report', journal, '--out', join(dir, `report-${tag}.html`)], nodeArgs);
  process.stderr.write(`${label}: compare (the run against its replay)...\n`);
  rows.compare = await measure(['compare', journal, join(dir, `replay-${tag}`, 'journal.jsonl')], nodeArgs);
  results.readers[label] = rows;
}
results.operations = JSON.parse(readFileSync(join(dir, 'run', 'summary.json'), 'utf8')).metrics.actions;
console.log(JSON.stringify(results, null, 2));
