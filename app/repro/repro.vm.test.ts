// A C reproducer reproduces in the virtual lab what the lab found: for each
// family whose bug a kernel the lab can boot has (real-kernels.ts,
// REAL_KERNEL_BUGS[family].vm: an old Debian kernel package, or today's
// kernel with a historic-bug module patch loaded through the lab's own module
// overlay), the reproducer of a failing simulated run and the reproducer of a
// failing run of the agent in that guest, compiled with -Wall -Werror and run
// there, reproduce the finding: the reproducer says so itself, or the lab's
// kernel-log detector finds it in the guest's log (a crash in interrupt
// context takes the whole guest down before any process can speak; then the
// panic text on the console is the evidence). On the stock kernel (no patch,
// or today's package) the same file runs its budget and nothing is found.
// Families without a kernel, or whose patch does not reproduce in the guest
// yet, are listed as skipped with the reason.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AnalysisContext } from '../analysis/context.js';
import { KlogDetector } from '../analysis/detectors/klog.js';
import type { Finding } from '../events/types.js';
import { bootGuest, type BootOptions, cacheRoot, type Guest, type GuestDown, type KmsgRecord, normalizeKernelName, prepareBoot, toKlogEvent } from '../vlab/index.js';
import { projectRoot } from '../vlab/paths.js';
import { parseConsoleLine } from '../targets/kmsg.js';
import { PresetLibrary } from '../engine/presets.js';
import { startRun } from '../engine/run.js';
import { hardwareFor } from '../targets/hardware.js';
import { SimTarget } from '../targets/sim/sim-target.js';
import { VmTarget } from '../targets/vm.js';
import type { Scenario } from '../vocabulary/scenario.js';
import { GCC_MISSING, gcc, haveGcc } from '../test/gcc.js';
import { loadRun } from './run-files.js';
import { reproFile, reproFromRun } from './source.js';
import { REAL_KERNEL_BUGS, type RealKernelBug } from './real-kernels.js';

const dir = mkdtempSync(join(tmpdir(), 'stresslab-repro-vm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const log = (l: string) => process.stderr.write(l + '\n');
// A loaded host can delay an emulated guest's timer calibration until the kernel gives up on it.
const cmdline = ['no_timer_check'];
const SEED = 1;

/** The Debian kernel package a version names, when it is in the virtual lab's kernel cache. */
function cached(version: string): boolean {
  const d = join(cacheRoot(), 'kernels', `linux-image-${normalizeKernelName(version)}-amd64`);
  return ['vmlinuz', 'vmlinux'].some((f) => existsSync(join(d, f))) && existsSync(join(d, 'modules'));
}

type VmPlan = NonNullable<RealKernelBug['vm']>;

/** Boot options of the kernel with the bug: the package, or the patched kernel through the lab's module overlay. */
function buggyBoot(vm: VmPlan): BootOptions {
  // oops=panic, as the lab's own vm runs boot: an oops in process context would leave the reproducer's other threads stuck in the kernel
  return {
    ...(vm.package ? { kernelVersion: vm.package } : { kernelVersion: vm.kernel! }),
    ...(vm.patch ? { overlay: { patches: [join(projectRoot(), vm.patch)] } } : {}),
    ...(vm.hw ? { hw: vm.hw } : {}),
    cmdline: [...cmdline, 'oops=panic'],
    log,
  };
}

/** The stock kernel: for a patch, the same kernel without it; for a package, today's distribution kernel. */
function stockBoot(vm: VmPlan): BootOptions {
  return { ...(vm.patch ? { kernelVersion: vm.kernel! } : {}), ...(vm.hw ? { hw: vm.hw } : {}), cmdline, log };
}

/** Findings a reproducer recognises on its own, by its REPRODUCED line. */
const OWN_VERDICT: Record<string, RegExp> = { hang: /REPRODUCED: hang: /, 'torn-hw-params': /REPRODUCED: torn HW_PARAMS / };

interface Outcome {
  /** The reproducer told the expected finding, or the guest's kernel log holds it. */
  reproduced: boolean;
  verdict: string;
  output: string;
  code: number | null;
  /** What the lab's kernel-log detector found in the guest's log while the reproducer ran. */
  klog: Finding[];
  down?: GuestDown;
}

/** The guest's kernel log since `since`, read by the lab's own detector; after a crash, the panic text from the console too. */
function klogFindings(sc: Scenario, guest: Guest, since: number, down?: GuestDown): Finding[] {
  const recs: { level: number; tsUs: number; text: string }[] = guest.klogSince(since).map((r: KmsgRecord) => ({ level: r.level, tsUs: r.tsUs, text: r.text }));
  if (down) {
    const last = recs.at(-1)?.tsUs ?? -1;
    const seen = new Set(recs.map((r) => r.text));
    for (const line of (guest.consoleTail(4000) || down.text || '').split('\n')) {
      const c = parseConsoleLine(line);
      if (c && (c.usec > last || (c.usec === last && !seen.has(c.text)))) recs.push({ level: c.level, tsUs: c.usec, text: c.text });
    }
  }
  const detector = new KlogDetector(new AnalysisContext(sc));
  const out: Finding[] = [];
  let t = 0;
  for (const r of recs) out.push(...(detector.feed(toKlogEvent({ seq: 0, level: r.level, tsUs: r.tsUs, text: r.text }, (t += 1000))) ?? []));
  out.push(...detector.finish());
  return out;
}

/**
 * Runs a compiled reproducer in the guest and reads its verdict. A thread stuck
 * in the kernel keeps the process from exiting, so the verdict line ends the
 * wait, not the exit; a kernel crash ends it too.
 */
async function runInGuest(sc: Scenario, bug: RealKernelBug, guest: Guest, bin: string, seconds: number): Promise<Outcome> {
  const since = await guest.checkpoint();
  let down: GuestDown | undefined;
  const wentDown = new Promise<null>((r) => guest.once('down', (d: GuestDown) => ((down = d), r(null))));
  const h = guest.exec(bin, ['-d', String(seconds), ...(bug.vm?.reproArgs ?? [])]);
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
  let timer: NodeJS.Timeout | undefined;
  const first = await Promise.race([verdict, exited.then(() => null), wentDown, new Promise<null>((r) => (timer = setTimeout(() => r(null), (seconds + 120) * 1000)))]);
  clearTimeout(timer);
  // the channel can break before the console's panic text has been read: give the crash report time to arrive
  if (first === null && !down) await Promise.race([wentDown, new Promise<null>((r) => (timer = setTimeout(() => r(null), 15_000)))]);
  clearTimeout(timer);
  const v = first ?? (/verdict: (.*)/.exec(output)?.[1] ?? (down ? `(none: the guest went down: ${down.title ?? down.message})` : '(no verdict)'));
  const code = await Promise.race([exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), 3000)))]);
  clearTimeout(timer);
  if (!down && guest.alive) await guest.checkpoint().catch(() => undefined); // the last records of the run are in
  const klog = klogFindings(sc, guest, since, down);
  // The same finding, not just any: a torn readback or a hang the reproducer tells itself; a kernel report (which may stop the reproducer at its first line, or the whole guest) by its type as the lab classifies it.
  const own = OWN_VERDICT[bug.expect];
  const types = [bug.expect, ...(bug.vm?.alsoSeen ?? [])];
  const reproduced = (own ? own.test(output) : false) || klog.some((f) => types.includes(f.type));
  return { reproduced, verdict: v, output, code, klog, ...(down ? { down } : {}) };
}

/**
 * Up to the plan's attempts while the finding has not shown (a crash is an
 * answer): in the same guest while it is up, or each in a newly booted one
 * when the plan says so. Returns the outcome and the guest now in use.
 */
async function attemptInGuest(sc: Scenario, bug: RealKernelBug, guest: Guest, bin: string, boot: BootOptions): Promise<{ o: Outcome; guest: Guest }> {
  const plan = bug.vm!;
  let o = await runInGuest(sc, bug, guest, bin, plan.seconds);
  for (let i = 1; i < (plan.attempts ?? 1) && !o.reproduced; i++) {
    if (plan.freshGuest) {
      await guest.shutdown();
      guest = await bootGuest(boot);
    } else if (!guest.alive) break;
    log(`attempt ${i} did not show it (${describeOutcome(o)}); again${plan.freshGuest ? ' in a fresh guest' : ''}`);
    o = await runInGuest(sc, bug, guest, bin, plan.seconds);
  }
  return { o, guest };
}

function describeOutcome(o: Outcome): string {
  return `${o.verdict}; kernel log: ${o.klog.map((f) => `${f.type} (${f.signature ?? f.message})`).join(', ') || 'nothing'}${o.down ? `; guest down: ${o.down.reason}` : ''}`;
}

interface Built {
  bin: string;
  finding: Finding;
}

/** A failing run on `target` (journal in a run directory), its reproducer written from the journal and compiled with -Wall -Werror. */
async function failingRunFile(name: string, sc: Scenario, bug: RealKernelBug, target: SimTarget | VmTarget, renew?: () => Promise<VmTarget>): Promise<Built> {
  const vm = target instanceof VmTarget;
  const types = [bug.expect, ...(vm ? (bug.vm?.alsoSeen ?? []) : [])];
  let outDir = '';
  let summary;
  let f: Finding | undefined;
  // in the guest a run gets the reproducers' budget, and the plan's attempts (seeds 1, 2, …): a real race is a matter of chance
  // (each in a newly booted guest when the plan says so: `renew`)
  for (let seed = SEED; seed < SEED + (vm ? (bug.vm!.attempts ?? 1) : 1) && !f; seed++) {
    if (seed > SEED && renew) target = await renew();
    outDir = join(dir, `${name}-run-${seed}`);
    summary = await startRun({ scenario: sc, target, seed, outDir, ...(vm ? { duration: bug.vm!.seconds * 1e9 } : {}) }).done;
    f = summary.findings.find((x) => types.includes(x.type));
    if (!f) log(`${name}: seed ${seed} found ${summary.findings.map((x) => x.type).join(', ') || 'nothing'}`);
  }
  expect(f, `${name}: the lab's run found ${bug.expect} (it found ${summary!.findings.map((x) => x.type).join(', ') || 'nothing'})`).toBeDefined();
  const file = reproFile(reproFromRun(await loadRun(join(outDir, 'journal.jsonl')), f!.id));
  const src = join(dir, `${name}.c`);
  writeFileSync(src, file.text);
  const bin = join(dir, name);
  gcc(src, bin);
  return { bin, finding: f! };
}

/** Boots a guest (or reuses one still up): a crash in interrupt context takes the guest down with it. */
async function up(guest: Guest | undefined, opts: BootOptions): Promise<Guest> {
  if (guest?.alive) return guest;
  return bootGuest(opts);
}

describe('C reproducers in the virtual lab', { timeout: 2_400_000 }, () => {
  for (const [family, bug] of Object.entries(REAL_KERNEL_BUGS)) {
    const vm = bug.vm;
    const version = vm?.package ?? vm?.kernel;
    const why = !haveGcc()
      ? GCC_MISSING
      : !vm
        ? `no kernel with the ${bug.profile} bug is wired up yet (real-kernels.ts: add the module patch or package that has it)`
        : vm.skip
          ? vm.skip
          : !version || !cached(version)
            ? `${version ?? 'its kernel'} is not in the kernel cache (${join(cacheRoot(), 'kernels')}); fetch it with the virtual lab's kernel versions (stresslab kernels)`
            : '';
    const where = vm?.patch ? `${vm.kernel} with ${vm.patch}` : (vm?.package ?? 'a kernel with the bug');
    it.skipIf(Boolean(why))(`${family}: reproduces ${bug.expect} on ${where}, nothing on the stock kernel${why ? ` (skipped: ${why})` : ''}`, async () => {
      const plan = vm!;
      const lib = new PresetLibrary();
      const vmSc = lib.load(plan.preset ?? family).scenario;
      // the variant on the simulator's own cards, as `stresslab run VARIANT --target sim` binds them (its reproducer maps them back with reproArgs)
      const simSc = plan.simRunsVariant ? hardwareFor(vmSc, 'sim').scenario : lib.load(family).scenario;
      const fromSim = await failingRunFile(`${family}-sim`, simSc, bug, new SimTarget({ profile: [bug.profile] }));
      // Built (or found in the cache) before the first boot, so a patch that does not apply fails here with its hunk.
      const buggy = await prepareBoot(buggyBoot(plan));
      let guest: Guest | undefined;
      let fromVm: Built;
      try {
        // the reproducer of the simulated run, on the kernel with the bug
        guest = await up(guest, buggy);
        const sa = await attemptInGuest(simSc, bug, guest, fromSim.bin, buggy);
        guest = sa.guest;
        const a = sa.o;
        log(`${family}: reproducer of the simulated run on ${guest.kernel.release}${plan.patch ? ` + ${plan.patch}` : ''}: ${describeOutcome(a)}\n${a.output.slice(0, 3000)}`);
        expect(a.reproduced, a.output.slice(-3000)).toBe(true);
        if (bug.expect === 'hang') expect(a.output).toMatch(/REPRODUCED: hang: lane \S+ has been inside/);

        // the agent's run there (the real-hardware variant where the simulator's preset does not fit the guest), and its reproducer
        guest = await up(guest, buggy);
        const renew = async () => {
          await guest?.shutdown();
          guest = await bootGuest(buggy);
          return new VmTarget({ guest });
        };
        fromVm = await failingRunFile(`${family}-vm`, vmSc, bug, new VmTarget({ guest }), plan.freshGuest ? renew : undefined);
        log(`${family}: signatures: simulated ${fromSim.finding.signature}, virtual lab ${fromVm.finding.signature}`);
        guest = await up(guest, buggy);
        const sb = await attemptInGuest(vmSc, bug, guest, fromVm.bin, buggy);
        guest = sb.guest;
        const b = sb.o;
        log(`${family}: reproducer of the virtual-lab run: ${describeOutcome(b)}\n${b.output.slice(0, 2000)}`);
        expect(b.reproduced, b.output.slice(-3000)).toBe(true);
      } finally {
        await guest?.shutdown();
      }
      // the stock kernel: the same files run their budget and nothing is found
      guest = await bootGuest(stockBoot(plan));
      try {
        for (const [what, bin, sc] of [['simulated', fromSim.bin, simSc], ['virtual-lab', fromVm.bin, vmSc]] as const) {
          const c = await runInGuest(sc, bug, guest, bin, Math.min(15, plan.seconds));
          log(`${family}: reproducer of the ${what} run on stock ${guest.kernel.release}: ${describeOutcome(c)}`);
          expect(c.reproduced, c.output.slice(-3000)).toBe(false);
          expect(c.klog.filter((f) => f.severity === 'critical'), describeOutcome(c)).toEqual([]);
          expect(c.code).toBe(0);
          expect(c.verdict).toMatch(/nothing user space can see/);
        }
      } finally {
        await guest.shutdown();
      }
    });
  }
});
