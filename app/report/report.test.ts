// The exported report of a real demo run: one file, no script, nothing
// fetched, the findings with their interleavings, the charts, and the
// summary embedded as JSON that parses back to summary.json.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPreset } from '../test/sim-harness.js';
import type { RunSummary } from '../engine/run.js';
import type { KernelRecord } from '../events/types.js';
import { readSummaryFile } from '../journal/summary-file.js';
import { summaryFromJournalFile } from '../engine/summary-from-journal.js';
import { interleavingTable, reportFromJournal } from './report.js';

let dir: string;
let summary: RunSummary;
let html: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stresslab-report-'));
  summary = await runPreset('demo', ['fixed'], 1, { outDir: dir });
  html = await reportFromJournal(join(dir, 'journal.jsonl'), summary, 'demo-run');
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('HTML report', () => {
  it('is self-contained: no script runs, nothing is fetched', () => {
    expect(html).toMatch(/^<!doctype html>/);
    const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
    expect(scripts).toEqual([' type="application/json" id="stresslab-summary"']);
    expect(html).not.toMatch(/\b(src|href)="(https?:)?\/\//);
    expect(html).toContain(`default-src 'none'`);
  });

  it('embeds the JSON summary exactly', () => {
    const m = /<script type="application\/json" id="stresslab-summary">([\s\S]*?)<\/script>/.exec(html)!;
    expect(JSON.parse(m[1]!)).toEqual(JSON.parse(JSON.stringify(summary)));
  });

  it('shows the verdict, every finding, its interleaving and its kernel log', () => {
    expect(html).toContain('class="verdict v-fail">FAIL<');
    for (const f of summary.findings) expect(html).toContain(f.message.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;').slice(0, 60));
    const uaf = summary.findings.find((f) => f.type === 'use-after-free')!;
    expect(uaf.interleaving?.length).toBeGreaterThan(0);
    expect(html).toContain('class="il"');
    expect(html).toContain('BUG: KASAN: slab-use-after-free');
  });

  it('draws the five charts as inline SVG with data in them', () => {
    const svgs = [...html.matchAll(/<svg [^>]*aria-label="([^"]+)"/g)].map((m) => m[1]);
    expect(svgs).toEqual(['Operations per second', 'Xruns', 'ioctl latency', 'Latency distribution', 'Kernel log']);
    expect(html).toMatch(/<path d="M[\d.]+,[\d.]+L/);
    expect(html).toMatch(/<circle cx=/);
  });

  it('escapes what the kernel and the preset say', () => {
    const t = interleavingTable([{ t: 0, task: '<img src=x>', ctx: 'user', at: '</script><script>alert(1)</script>' }]);
    expect(t).not.toContain('<script>');
    expect(t).toContain('&lt;/script&gt;');
    expect(t).toContain('&lt;img src=x&gt;');
  });

  it("shows the oracle's divergences when the run had one, and nothing about it otherwise", async () => {
    expect(html).not.toContain('<h2>Oracle');
    const oracle = {
      against: 'sim (profile fixed)', compared: 6, divergences: 1, rare: 1, report: 'oracle.json', journal: 'oracle/journal.jsonl',
      not_comparable: ['app setup#0 pcm.open on ac97: the model has no such device'],
      items: [
        { kind: 'result', significant: true, chance: 0, message: 'small loop#4 pcm.readback on pcm: the vm answered <torn>' },
        { kind: 'outcome', significant: false, chance: 0.37, message: 'mixer loop#0 ctl.write: the vm returned ENODEV 1 of 1650 times' },
      ],
    };
    const withOracle = await reportFromJournal(join(dir, 'journal.jsonl'), { ...summary, oracle }, 'demo-run');
    expect(withOracle).toContain('<h2>Oracle: 1 divergence(s) against sim (profile fixed)</h2>');
    expect(withOracle).toContain('the vm answered &lt;torn&gt;');
    expect(withOracle).toMatch(/rare outcome<\/td><td class="n">0\.37/);
    expect(withOracle).toContain('not compared</td><td></td><td>app setup#0 pcm.open on ac97');
  });

  const vmKernel: KernelRecord = {
    release: '6.1.0-54-amd64',
    origin: 'distro',
    version: '#1 SMP PREEMPT_DYNAMIC Debian 6.1.190-1',
    package: 'linux-image-6.1.0-54-amd64',
    source_version: '6.1.190-1',
    upstream: '6.1.190',
    memory_debug: { on: ['slub_debug=FZPU,kmalloc-*', 'init_on_free=1'], unavailable: ['KFENCE (the kernel has no CONFIG_KFENCE)'] },
    overlay: { key: 'abc123', release: '6.1.0-54-amd64', source_version: '6.1.190-1', upstream: '6.1.190', rebuilt: ['sound/core/seq'], patches: [{ name: 'seq-fifo-stale-cell.patch', sha256: 'f'.repeat(64) }], extra_module_dirs: [], modules: ['snd_seq', 'snd_seq_dummy'] },
    taint_at_boot: { value: 12288, letters: 'OE', flags: [{ letter: 'O', meaning: 'out-of-tree module loaded' }, { letter: 'E', meaning: 'unsigned module loaded' }] },
    taint_at_end: { value: 12800, letters: 'OEW', flags: [{ letter: 'W', meaning: 'kernel issued warning' }] },
  };

  function kernelPart(page: string): string {
    return page.slice(page.indexOf('<tr><th>kernel</th>'), page.indexOf('<tr><th>seed / strategy</th>'));
  }

  it('names the real kernel a virtual-lab run ran on from its one kernel record: version, module overlay with patch hashes, taint, memory debugging', async () => {
    const page = await reportFromJournal(join(dir, 'journal.jsonl'), { ...summary, context: { ...summary.context, kernel: vmKernel } }, 'vm-run');
    expect(page).toContain('<tr><th>kernel</th><td>6.1.0-54-amd64 (distribution kernel, linux-image-6.1.0-54-amd64), Debian source 6.1.190-1, upstream 6.1.190 <small>#1 SMP PREEMPT_DYNAMIC Debian 6.1.190-1</small></td></tr>');
    expect(page).toContain(`<code>seq-fifo-stale-cell.patch</code> sha256 <code>${'f'.repeat(64)}</code>`);
    expect(page).toContain('rebuilt sound/core/seq from linux-source 6.1.190-1');
    expect(page).toContain('after boot: OE (12288): O out-of-tree module loaded, E unsigned module loaded<br>after the run: OEW (12800): W kernel issued warning');
    expect(page).toContain('slub_debug=FZPU,kmalloc-* init_on_free=1');
    expect(html).not.toContain('<th>kernel taint</th>');
    expect(html).not.toContain('<th>memory debugging</th>');
    expect(page.match(/<th>kernel<\/th>/g)).toHaveLength(1);
    expect(html.match(/<th>kernel<\/th>/g)).toHaveLength(1);
  });

  it('renders a summary written before the kernel had one record (its `kernel` beside the context) the same, directly and read back from disk', async () => {
    const { version: _v, taint_at_end: _t, ...rest } = vmKernel;
    // what the engine wrote then: the context event's short kernel, and the vm target's record beside it
    const legacy = { ...summary, context: { ...summary.context, kernel: { release: vmKernel.release, origin: 'distro', version: vmKernel.version, package: vmKernel.package } }, kernel: { ...rest, taint_at_end: vmKernel.taint_at_end } };
    const current = await reportFromJournal(join(dir, 'journal.jsonl'), { ...summary, context: { ...summary.context, kernel: vmKernel } }, 'vm-run');
    const direct = await reportFromJournal(join(dir, 'journal.jsonl'), legacy as unknown as RunSummary, 'vm-run');
    expect(kernelPart(direct)).toBe(kernelPart(current));
    // the summary embedded is the file as it was written
    expect(JSON.parse(/<script type="application\/json" id="stresslab-summary">([\s\S]*?)<\/script>/.exec(direct)![1]!)).toHaveProperty('kernel');
    const old = join(dir, 'legacy');
    mkdirSync(old, { recursive: true });
    writeFileSync(join(old, 'summary.json'), JSON.stringify(legacy));
    const back = readSummaryFile(join(old, 'summary.json')).summary!;
    expect(back).not.toHaveProperty('kernel');
    expect(back.context?.kernel).toEqual(vmKernel);
    expect(kernelPart(await reportFromJournal(join(dir, 'journal.jsonl'), back, 'vm-run'))).toBe(kernelPart(current));
  });

  it('shows the kernel record of a journal without summary.json (the context event carries what the boot knew)', async () => {
    const { taint_at_end: _t, ...atBoot } = vmKernel;
    const j = join(dir, 'vm-journal');
    mkdirSync(j, { recursive: true });
    const lines = readFileSync(join(dir, 'journal.jsonl'), 'utf8').split('\n').filter(Boolean);
    const ctx = lines.findIndex((l) => JSON.parse(l).kind === 'context');
    lines[ctx] = JSON.stringify({ kind: 'context', t: 0, context: { ...JSON.parse(lines[ctx]!).context, kernel: atBoot } });
    writeFileSync(join(j, 'journal.jsonl'), lines.slice(0, -1).join('\n') + '\n');
    const page = await reportFromJournal(join(j, 'journal.jsonl'), null, 'vm-run');
    expect(page).toContain(`<code>seq-fifo-stale-cell.patch</code> sha256 <code>${'f'.repeat(64)}</code>`);
    expect(page).toContain('<tr><th>kernel taint</th><td>after boot: OE (12288)');
    expect((await summaryFromJournalFile(join(j, 'journal.jsonl'))).context?.kernel).toEqual(atBoot);
  });
});
