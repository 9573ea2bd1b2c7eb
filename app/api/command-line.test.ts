// "Repeat it": the command shown with a run, in the app and the report, runs
// the same run again. For the virtual lab it is made from the run's kernel
// record, and the shell and the CLI's own parser read it back to the boot
// options the run was started with.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunContext, RunHeader } from '../events/types.js';
import { PresetLibrary, defaultPresetDir } from '../engine/presets.js';
import { flag, opt, parseArgs } from '../cli/args.js';
import { parseProfileArg, RUN_OPTIONS } from '../cli/commands/run.js';
import { guestOptions } from '../cli/commands/vm.js';
import type { Io } from '../cli/command.js';
import { guestKernel } from '../targets/context.js';
import { shippedPatch, vmProfilePatches } from '../targets/profiles.js';
import { hwModuleDirs } from '../vlab/boot.js';
import type { Guest, KernelSpec, Overlay } from '../vlab/index.js';
import type { HwName } from '../vlab/hw.js';
import { readPatch } from '../vlab/patches.js';
import { cliCommand, shellWord } from './command-line.js';

const tmp = mkdtempSync(join(tmpdir(), 'command-line-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const io: Io = { out: () => {}, err: () => {}, isTTY: false, cwd: tmp, env: {} };

function header(target: 'sim' | 'vm', profile: string[], seed = 7, preset = 'seq-pool-resize'): RunHeader {
  const scenario = new PresetLibrary().load(preset).scenario;
  return { kind: 'run', format: 1, preset, scenario, target, profile, seed, strategy: 'pct', depth: 3, duration: scenario.duration, tool: 'test' };
}

function patchFile(name: string, file = 'sound/core/seq/seq_fifo.c'): string {
  const dir = join(tmp, 'my patches');
  mkdirSync(dir, { recursive: true });
  const p = join(dir, name);
  writeFileSync(p, `--- a/${file}\n+++ b/${file}\n@@ -1,1 +1,1 @@\n-a\n+b\n`);
  return p;
}

/**
 * The kernel record a virtual-lab run leaves (app/targets/context.ts
 * guestKernel) for a guest booted from `req`: the overlay as buildOverlay
 * returns it (the patches as read, the directories asked for), memory
 * debugging as bootGuest sets it.
 */
function bootedRecord(req: { kernel: Partial<KernelSpec>; patches?: string[]; rebuild?: string[]; extra?: string[]; memoryDebug?: boolean; hw: HwName[] }): RunContext {
  const patches = (req.patches ?? []).map(readPatch);
  const extra = [...(req.extra ?? []), ...hwModuleDirs(req.hw)].map((dir) => ({ dir, sha256: 'e'.repeat(64) }));
  const overlay: Overlay | undefined =
    patches.length || req.rebuild?.length || extra.length
      ? {
          key: 'k1',
          dir: '/cache/overlays/k1',
          release: '6.1.0-54-amd64',
          sourceVersion: '6.1.190-1',
          upstream: '6.1.190',
          dirs: [...new Set([...(req.rebuild ?? []), 'sound/core/seq'])],
          ...(req.rebuild?.length ? { askedDirs: req.rebuild } : {}),
          patches: patches.map((p) => ({ name: p.name, file: p.file, sha256: p.sha256 })),
          extra,
          modules: [],
          headers: 'cache',
          buildMs: 1,
          cached: false,
        }
      : undefined;
  const guest = {
    kernel: { release: '6.1.0-54-amd64', image: '/cache/vmlinux', imageKind: 'elf', origin: 'distro', package: 'linux-image-6.1.0-54-amd64', sourceVersion: '6.1.190-1', ...req.kernel },
    hw: req.hw,
    overlay,
    memoryDebug: req.memoryDebug === false ? { on: [], unavailable: ['all: turned off for this run'] } : { on: ['slub_debug=FZPU,kmalloc-*', 'init_on_free=1'], unavailable: [] },
    taintAtBoot: { value: 12288, letters: 'OE', flags: [] },
  } as unknown as Guest;
  return { kernel: guestKernel(guest), machine: { emulator: 'qemu', accel: 'tcg', cpus: 2, memory_mb: 512, hardware: [...req.hw] }, cards: [] };
}

/** The words sh makes of the command line (quotes, the trailing comment), stresslab's arguments after "run". */
function shellArgs(command: string): string[] {
  const r = spawnSync('sh', ['-c', `stresslab() { printf '%s\\0' "$@"; }; ${command}`], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const words = r.stdout.split('\0').slice(0, -1);
  expect(words[0]).toBe('run');
  return words.slice(1);
}

describe('the command that repeats a virtual-lab run', () => {
  it('names the kernel version, the patch and memory debugging off, from what the run recorded', () => {
    const patch = patchFile('fifo.patch');
    const ctx = bootedRecord({ kernel: {}, patches: [patch], memoryDebug: false, hw: ['seq-dummy'] });
    expect(cliCommand(header('vm', []), ctx)).toBe(`stresslab run seq-pool-resize --target vm --seed 7 --hw seq-dummy --kernel-version 6.1.0-54 --kernel-patch '${patch}' --no-mem-debug`);
    // memory debugging on (the default) and no overlay: nothing to add
    expect(cliCommand(header('vm', []), bootedRecord({ kernel: {}, hw: ['seq-dummy'] }))).toBe('stresslab run seq-pool-resize --target vm --seed 7 --hw seq-dummy --kernel-version 6.1.0-54');
  });

  it('reads back through sh and the CLI parser to the options the run was started with', () => {
    const a = patchFile("it's a.patch");
    const b = patchFile('b.patch', 'sound/core/timer.c');
    const driver = join(tmp, 'my driver');
    mkdirSync(driver, { recursive: true });
    writeFileSync(join(driver, 'Kbuild'), 'obj-m += x.o\n');
    const hw: HwName[] = ['seq-dummy', 'dpcm'];
    // started with: --profile seq-fifo-stale-cell --kernel-patch A --kernel-patch B --rebuild sound/core --extra-modules DRIVER --no-mem-debug --hw seq-dummy,dpcm --kernel-version 6.1.0-54 --duration 3s --seed 9
    const profile = parseProfileArg('seq-fifo-stale-cell');
    const fromProfile = vmProfilePatches(profile, defaultPresetDir());
    const ctx = bootedRecord({ kernel: {}, patches: [...fromProfile, a, b], rebuild: ['sound/core'], extra: [driver], memoryDebug: false, hw });
    const h = { ...header('vm', profile, 9), duration: 3e9 };
    const command = cliCommand(h, ctx);
    const p = parseArgs(shellArgs(command), RUN_OPTIONS);
    expect(p.positionals).toEqual(['seq-pool-resize']);
    expect([opt(p, 'target'), opt(p, 'seed'), opt(p, 'duration'), opt(p, 'kernel-version')]).toEqual(['vm', '9', '3s', '6.1.0-54']);
    expect(parseProfileArg(opt(p, 'profile'))).toEqual(profile);
    expect(flag(p, 'no-mem-debug')).toBe(true);
    const boot = guestOptions(p, io);
    const { log: _log, ...rest } = boot;
    expect(rest).toEqual({ hw, kernelVersion: '6.1.0-54', memoryDebug: false, overlay: { patches: [a, b], dirs: ['sound/core'], extraModuleDirs: [driver] } });
    // the profile's patch first, as `stresslab run` puts it in: the same patches in the same order
    expect([...vmProfilePatches(parseProfileArg(opt(p, 'profile')), defaultPresetDir()), ...boot.overlay!.patches!].map((f) => readPatch(f).sha256)).toEqual(ctx.kernel!.overlay!.patches.map((x) => x.sha256));
    // the driver of --hw dpcm comes with the hardware, not as --extra-modules
    expect(command).not.toContain('snd-soc-stresslab-dpcm');
    expect(command).not.toContain('#');
  });

  it("boots the user's own kernel from the paths the run recorded", () => {
    const ctx = bootedRecord({ kernel: { origin: 'user', release: '6.9.0-kasan', package: undefined, sourceVersion: undefined, given: { kernel: '/home/me/linux/arch/x86/boot/bzImage', modules: '/home/me/mods' } }, hw: ['dummy'] });
    const p = parseArgs(shellArgs(cliCommand(header('vm', []), ctx)), RUN_OPTIONS);
    expect([opt(p, 'kernel'), opt(p, 'modules'), opt(p, 'kernel-version')]).toEqual(['/home/me/linux/arch/x86/boot/bzImage', '/home/me/mods', undefined]);
  });

  it('says what a run recorded before patch paths were kept does not tell, with placeholders no one can take for a path', () => {
    const shipped = join(defaultPresetDir(), 'patches', 'seq-fifo-stale-cell.patch');
    const sha = readPatch(shipped).sha256;
    const ctx: RunContext = {
      kernel: {
        release: '6.1.0-54-amd64',
        origin: 'distro',
        package: 'linux-image-6.1.0-54-amd64',
        memory_debug: { on: ['init_on_free=1'], unavailable: [] },
        overlay: { key: 'k', release: '6.1.0-54-amd64', source_version: '6.1.190-1', upstream: '6.1.190', rebuilt: ['sound/core', 'sound/core/seq'], patches: [{ name: 'seq-fifo-stale-cell.patch', sha256: sha }, { name: 'mine.patch', sha256: 'a'.repeat(64) }], extra_module_dirs: [], modules: ['snd_seq'] },
      },
    };
    const c = cliCommand(header('vm', []), ctx, { shippedPatch: (n, s) => shippedPatch(n, s, defaultPresetDir()) });
    expect(c).toContain(`--kernel-patch ${shipped} --kernel-patch '<mine.patch: path not recorded>'`);
    expect(c).toMatch(/ {2}# the run recorded mine\.patch \(sha256 aaaaaaaaaaaaaaaa…\) by name and hash only, not where the file is: put its path in place of the <…>; the overlay rebuilt sound\/core, sound\/core\/seq; which of those were asked for with --rebuild/);
    // sh takes the comment as a comment, and the placeholder as one argument no file system has
    const words = shellArgs(c);
    expect(words).toContain('<mine.patch: path not recorded>');
    expect(words.some((w) => w.includes('#'))).toBe(false);
    // without a library to look in (the app), the shipped patch too is a placeholder
    expect(cliCommand(header('vm', []), ctx)).toContain("--kernel-patch '<seq-fifo-stale-cell.patch: path not recorded>'");
    // a shipped name with other content is not the shipped patch
    expect(shippedPatch('seq-fifo-stale-cell.patch', 'b'.repeat(64), defaultPresetDir())).toBeUndefined();
    expect(readFileSync(shipped, 'utf8')).toContain('sound/');
  });

  it('says so when the guest never booted and the run recorded no kernel', () => {
    expect(cliCommand(header('vm', []), { machine: undefined })).toBe('stresslab run seq-pool-resize --target vm --seed 7  # the guest never booted, so the run recorded no kernel: add the --kernel-version, --kernel-patch and --no-mem-debug it was started with');
  });

  it('on the simulator names the profile as before', () => {
    expect(cliCommand(header('sim', ['seq-fifo-stale-cell']), null)).toBe('stresslab run seq-pool-resize --profile seq-fifo-stale-cell --seed 7');
    expect(shellWord("a b'c")).toBe(`'a b'\\''c'`);
  });
});
