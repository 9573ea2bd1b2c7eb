// One set of numbers: a finished run's counts as summary.json has them, as the
// app computes them from the journal (RunSeries, what the run view and charts
// show), as the HTML report prints them and as the CLI prints them, must be
// the same numbers. Shared by the simulator's unit test and the virtual lab's.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { RunSeries } from '../api/series.js';
import { formatCount } from '../api/tally.js';
import type { RunSummary } from '../engine/run.js';
import { parseJournal } from '../journal/reader.js';
import { buildReport } from '../report/report.js';
import { reportText } from '../cli/run-text.js';

export function expectOneSetOfNumbers(dir: string): RunSummary {
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;
  const c = summary.counts!;
  expect(c, 'summary.json has counts').toBeDefined();
  const journal = parseJournal(readFileSync(join(dir, 'journal.jsonl'), 'utf8'));

  // The app: the run view folds the journal's events into a RunSeries.
  const series = new RunSeries();
  series.feed(journal.events);
  expect(series.tally.counts()).toEqual(c);
  expect(series.events).toBe(c.events);
  expect(series.actions).toBe(c.operations);
  expect(series.errors).toBe(c.failed);
  expect(series.xrunsTotal).toBe(c.xruns);
  expect(series.timeline().xruns.reduce((a, b) => a + b, 0)).toBe(c.xruns);
  expect(series.findings.length).toBe(c.findings);
  expect(c.streams.reduce((a, s) => a + s.xruns, 0)).toBe(c.xruns);
  expect(c.devices.reduce((a, d) => a + d.xruns, 0)).toBe(c.xruns);

  // summary.json's own metrics (one preset: one phase) and findings.
  if (!summary.phases) {
    const m = summary.metrics as { actions: number; failed: number; xruns: { total: number; by_handle: Record<string, number> } };
    expect(m.actions).toBe(c.operations);
    expect(m.failed).toBe(c.failed);
    expect(m.xruns.total).toBe(c.xruns);
    expect(m.xruns.by_handle).toEqual(Object.fromEntries(c.streams.map((s) => [s.stream, s.xruns])));
  }
  expect(summary.findings.length).toBe(c.findings);
  for (const f of summary.findings.filter((x) => x.type === 'xrun-threshold')) expect(f.message.startsWith(`${formatCount(c.xruns)} xrun(s)`), f.message).toBe(true);

  // The HTML report.
  const reportSeries = new RunSeries();
  reportSeries.feed(journal.events);
  const html = buildReport({ journal, series: reportSeries, summary, runId: 'numbers' });
  // xruns may be followed by their recoveries ("(<b>N</b> recovered, 1.2ms lost)")
  expect(html).toContain(`<b>${formatCount(c.operations)}</b> operations, <b>${formatCount(c.failed)}</b> failed, <b>${formatCount(c.xruns)}</b> xruns`);
  expect(html).toContain(`<b>${formatCount(c.findings)}</b> findings`);
  if (c.recovered) expect(html).toContain(`(<b>${formatCount(c.recovered)}</b> recovered`);
  for (const s of c.streams) expect(html).toMatch(new RegExp(`<tr><td>${s.stream.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}</td>.*?<td class="n">${formatCount(s.operations)}</td><td class="n">${formatCount(s.failed)}</td><td class="n">${formatCount(s.xruns)}</td>`));

  // The CLI's closing report.
  const text = reportText(summary);
  expect(text).toContain(`${formatCount(c.operations)} operations (${formatCount(c.failed)} failed)`);
  expect(text).toContain(`${formatCount(c.xruns)} xruns`);
  for (const s of c.streams.filter((x) => x.xruns)) expect(text).toContain(`${s.stream} ${formatCount(s.xruns)}`);
  return summary;
}
