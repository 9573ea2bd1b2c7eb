// A C reproducer reproduces in the virtual lab what the lab found: for each
// family whose bug a real kernel the lab can boot still has
// (real-kernels.ts, REAL_KERNEL_BUGS[family].vm), the reproducer of a
// failing simulated run and the reproducer of a failing run of the agent in
// a guest, compiled with -Wall -Werror and run in a guest booted with that
// kernel, report the finding themselves; on today's stock kernel (the fix
// in) the same reproducer runs its budget and reports nothing. Families
// without a kernel yet are listed as skipped, naming what they need (the
// hook for kpatch's module patches: fill in `vm` in real-kernels.ts).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bootGuest, cacheRoot, type Guest } from '../vlab/index.js';
import { PresetLibrary } from '../engine/presets.js';
import { startRun } from '../engine/run.js';
import { SimTarget } from '../targets/sim/sim-target.js';
import { VmTarget } from '../targets/vm.js';
import { GCC_MISSING, gcc, haveGcc } from '../test/gcc.js';
import { loadRun } from './run-files.js';
import { reproFile, reproFromRun } from './source.js';
import { REAL_KERNEL_BUGS } from './real-kernels.js';

const dir = mkdtempSync(join(tmpdir(), 'stresslab-repro-vm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const log = (l: string) => process.stderr.write(l + '\n');
// A loaded host can delay an emulated guest's timer calibration until the kernel gives up on it.
const cmdline = ['no_timer_check'];

/** A Debian kernel package unpacked in the virtual lab's kernel cache. */
function cachedKernel(pkg: string): { kernel: string; modules: string } | undefined {
  const d = join(cacheRoot(), 'kernels', pkg);
  const kernel = ['vmlinuz', 'vmlinux'].map((f) => join(d, f)).find(existsSync);
  return kernel && existsSync(join(d, 'modules')) ? { kernel, modules: join(d, 'modules') } : undefined;
}

interface Outcome {
  reproduced: boolean;
  verdict: string;
  output: string;
  code: number | null;
}

/**
 * Runs a compiled reproducer in the guest and reads its verdict. A thread stuck
 * in the kernel keeps the process from exiting, so the verdict line ends the
 * wait, not the exit.
 */
async function runInGuest(guest: Guest, bin: string, seconds: number): Promise<Outcome> {
  const h = guest.exec(bin, ['-d', String(seconds)]);
  let output = '';
  h.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
  const verdict = new Promise<string>((resolve) => {
    h.stdout.on('data', (d: Buffer) => {
      output += d.toString('utf8');
      const m = /verdict: (.*)/.exec(output);
      if (m) resolve(m[1]!);
    });
  });
  const exited = h.exit.then((s) => s.code).catch(() => null);
  const first = await Promise.race([verdict, exited.then(() => null), new Promise<null>((r) => setTimeout(() => r(null), (seconds + 120) * 1000))]);
  const v = first ?? (/verdict: (.*)/.exec(output)?.[1] ?? '(no verdict)');
  const code = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 3000))]);
  return { reproduced: /^REPRODUCED/.test(v), verdict: v, output, code };
}

async function failingRunFile(name: string, target: 'sim' | Guest, family: string, seed: number): Promise<{ c: string; signature?: string; findingType?: string }> {
  const lib = new PresetLibrary();
  const bug = REAL_KERNEL_BUGS[family]!;
  const sc = lib.load(bug.vm?.preset ?? family).scenario;
  const outDir = join(dir, `${name}-run`);
  const t = target === 'sim' ? new SimTarget({ profile: [bug.profile] }) : new VmTarget({ guest: target });
  const summary = await startRun({ scenario: sc, target: t, seed, outDir, ...(target === 'sim' ? {} : { duration: 30e9 }) }).done;
  const f = summary.findings.find((x) => x.type === bug.expect);
  expect(f, `${name}: the lab's run found ${bug.expect} (it found ${summary.findings.map((x) => x.type).join(', ') || 'nothing'})`).toBeDefined();
  const file = reproFile(reproFromRun(await loadRun(join(outDir, 'journal.jsonl')), f!.id));
  const src = join(dir, `${name}.c`);
  writeFileSync(src, file.text);
  const bin = join(dir, name);
  gcc(src, bin);
  return { c: bin, ...(f?.signature ? { signature: f.signature } : {}), findingType: f?.type };
}

describe('C reproducers in the virtual lab', { timeout: 1_800_000 }, () => {
  for (const [family, bug] of Object.entries(REAL_KERNEL_BUGS)) {
    const k = bug.vm?.package ? cachedKernel(bug.vm.package) : undefined;
    const why = !haveGcc()
      ? GCC_MISSING
      : !bug.vm
        ? `no kernel with the ${bug.profile} bug is wired up yet (real-kernels.ts: add the module patch or package that has it)`
        : !k
          ? `${bug.vm.package} is not in the kernel cache (${join(cacheRoot(), 'kernels')}); fetch it with the virtual lab's kernel versions (stresslab kernels)`
          : '';
    it.skipIf(Boolean(why))(`${family}: reproduces ${bug.expect} on ${bug.vm?.package ?? 'a kernel with the bug'}, passes on the stock kernel${why ? ` (skipped: ${why})` : ''}`, async () => {
      const seconds = bug.vm!.seconds;
      const fromSim = await failingRunFile(`${family}-sim`, 'sim', family, 1);
      // the kernel with the bug: the reproducer of the simulated run, and of the agent's run there
      let guest = await bootGuest({ kernel: k!.kernel, modules: k!.modules, cmdline, log });
      let fromVm: Awaited<ReturnType<typeof failingRunFile>>;
      try {
        const a = await runInGuest(guest, fromSim.c, seconds);
        log(`${family}: reproducer of the simulated run on ${guest.kernel.release}: ${a.verdict}\n${a.output.slice(0, 3000)}`);
        expect(a.reproduced, a.output.slice(-3000)).toBe(true);
        if (bug.expect === 'hang') expect(a.output).toMatch(/REPRODUCED: hang: lane \S+ has been inside/);
        fromVm = await failingRunFile(`${family}-vm`, guest, family, 1);
        expect(fromVm.signature, 'the same bug has the same signature on the simulated and the real kernel').toBe(fromSim.signature);
        const b = await runInGuest(guest, fromVm.c, seconds);
        log(`${family}: reproducer of the virtual-lab run: ${b.verdict}`);
        expect(b.reproduced, b.output.slice(-3000)).toBe(true);
      } finally {
        await guest.shutdown();
      }
      // today's stock kernel has the fix: the same file runs its budget quietly
      guest = await bootGuest({ cmdline, log });
      try {
        const c = await runInGuest(guest, fromSim.c, Math.min(15, seconds));
        log(`${family}: on ${guest.kernel.release}: ${c.verdict}`);
        expect(c.reproduced, c.output.slice(-3000)).toBe(false);
        expect(c.code).toBe(0);
        expect(c.verdict).toMatch(/nothing user space can see/);
      } finally {
        await guest.shutdown();
      }
    });
  }
});
