// Module overlays for real: sound modules rebuilt from Debian's source of the
// booted kernel's exact version, with a patch, cached, loaded in place of the
// stock ones; a patch that does not fit the real source refused by hunk; and
// an out-of-tree module directory (the lab's fault module) built against the
// same headers, whose double free SLUB reports and the classifier calls a
// use-after-free with the kernel's own text.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalysisContext } from '../analysis/context.js';
import { KlogDetector } from '../analysis/detectors/klog.js';
import type { Finding } from '../events/types.js';
import { scenario } from '../test/sim-harness.js';
import { bootGuest, buildOverlay, type Guest, OverlayInputError, resolveKernel, toKlogEvent } from './index.js';
import { kernelSource } from './kbuild-cache.js';
import type { KernelSpec } from './kernel-cache.js';
import { cacheRoot, projectRoot } from './paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'vlab-overlay-vm-'));
let kernel: KernelSpec;
let patchFile: string;

/** A patch made against the kernel's own source: snd-seq says it is the rebuilt one when it loads. */
async function markerPatch(k: KernelSpec): Promise<string> {
  const src = await kernelSource(cacheRoot(), k.sourceVersion!);
  const a = join(tmp, 'a');
  const b = join(tmp, 'b');
  for (const d of [a, b]) cpSync(join(src.root, 'sound', 'core', 'seq', 'seq.c'), join(d, 'sound', 'core', 'seq', 'seq.c'), { recursive: true });
  const file = join(b, 'sound', 'core', 'seq', 'seq.c');
  const text = readFileSync(file, 'utf8');
  const patched = text.replace(/(static int __init alsa_seq_init\(void\)\n\{\n)/, '$1\tpr_info("lab overlay: snd-seq rebuilt from source\\n");\n');
  expect(patched).not.toBe(text);
  writeFileSync(file, patched);
  let diff = '';
  try {
    execFileSync('diff', ['-u', 'a/sound/core/seq/seq.c', 'b/sound/core/seq/seq.c'], { cwd: tmp, encoding: 'utf8' });
  } catch (e) {
    diff = (e as { stdout: string }).stdout; // diff exits 1 when the files differ
  }
  const p = join(tmp, 'marker.patch');
  writeFileSync(p, diff);
  return p;
}

beforeAll(async () => {
  kernel = await resolveKernel({ log: (l) => process.stderr.write(l + '\n') });
  patchFile = await markerPatch(kernel);
}, 900_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('module overlays in the virtual lab', { timeout: 900_000 }, () => {
  it('rebuilds sound/core/seq with a patch, caches it, and the guest loads it instead of the stock module', async () => {
    const req = { release: kernel.release, sourceVersion: kernel.sourceVersion!, patches: [patchFile], log: (l: string) => process.stderr.write(l + '\n') };
    const ov = await buildOverlay(req);
    expect(ov.dirs).toEqual(['sound/core/seq']);
    expect(ov.modules.map((m) => m.name)).toEqual(expect.arrayContaining(['snd_seq', 'snd_seq_dummy']));
    expect(ov.patches).toEqual([{ name: 'marker.patch', file: patchFile, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    const again = await buildOverlay(req);
    expect([again.cached, again.key]).toEqual([true, ov.key]);

    let g: Guest | undefined;
    try {
      g = await bootGuest({ hw: 'seq-dummy', resolvedKernel: kernel, overlay: ov });
      expect(g.klog().map((r) => r.text)).toContain('lab overlay: snd-seq rebuilt from source');
      expect(g.taintAtBoot?.letters).toBe('OE');
      expect((await g.run('cat', ['/sys/module/snd_seq/taint'])).stdout.trim()).toBe('OE');
      // modprobe finds the rebuilt file where the stock one was (the sequencer still works through it)
      const dep = await g.run('sh', ['-c', 'modprobe --show-depends snd-seq-dummy | tail -1; test -e /proc/asound/seq/clients && echo seq-ok']);
      expect(dep.stdout).toMatch(/snd-seq-dummy\.ko[\s\S]*seq-ok/);
    } finally {
      await g?.shutdown();
    }
  });

  it("refuses a patch that does not fit the kernel's real source, naming its file and hunk", async () => {
    const bad = join(tmp, 'stale.patch');
    writeFileSync(bad, readFileSync(patchFile, 'utf8').replace(/^ static int __init alsa_seq_init\(void\)$/m, ' static int __init alsa_seq_init_OLD(void)'));
    const err = await buildOverlay({ release: kernel.release, sourceVersion: kernel.sourceVersion!, patches: [bad] }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(OverlayInputError);
    expect((err as Error).message).toMatch(new RegExp(`kernel patch ${bad} does not apply to linux-source-6\\.\\d+ ${kernel.sourceVersion!.replace(/[.+~]/g, '\\$&')}:\\n  sound/core/seq/seq\\.c: hunk #1 \\(@@ [-+\\d, ]+ @@.*\\) FAILED at line \\d+`));
  });

  it('builds an extra module directory against the headers; its double free is a use-after-free finding with SLUB\'s own text', async () => {
    let g: Guest | undefined;
    try {
      g = await bootGuest({ hw: 'dummy', resolvedKernel: kernel, overlay: { extraModuleDirs: [join(projectRoot(), 'native-bridge', 'vlab', 'faults')] } });
      expect(g.memoryDebug.on[0]).toMatch(/^slub_debug=FZPU/);
      const ko = g.overlay!.modules.find((m) => m.name === 'lab_faults')!.file;
      const detector = new KlogDetector(new AnalysisContext(scenario({ lanes: [{ name: 'a', loop: [{ sleep: '1ms' }] }] })));
      const findings: Finding[] = [];
      const cp = await g.checkpoint();
      expect((await g.run('insmod', [ko, 'fault=double-free'])).code).toBe(0);
      await new Promise((r) => setTimeout(r, 2000));
      await g.checkpoint();
      let t = 0;
      for (const rec of g.klogSince(cp)) findings.push(...(detector.feed(toKlogEvent(rec, (t += 1000))) ?? []));
      findings.push(...detector.finish());
      expect(findings.map((f) => [f.type, f.message])).toEqual([['use-after-free', expect.stringMatching(/^SLUB: Object already free in kmalloc-128 \(double free\) \(in lab_/)]]);
      expect(findings[0]!.klog!.join('\n')).toMatch(/^BUG kmalloc-128 \(Tainted: .*\): Object already free$/m);
      const taint = (await g.run('cat', ['/proc/sys/kernel/tainted'])).stdout.trim();
      expect(Number(taint) & 32).toBe(32); // B: SLUB found a bad object
    } finally {
      await g?.shutdown();
    }
  });
});
