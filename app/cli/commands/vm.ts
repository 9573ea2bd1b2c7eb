// `stresslab vm`: the virtual lab from the command line.
//   vm exec [--hw LIST] [--kernel PATH [--modules DIR]] -- CMD ARGS...
//     boots a fresh guest, runs CMD in it with its output streamed, prints the
//     kernel log lines logged while it ran (prefixed), exits with CMD's status.
//   vm prepare
//     fetches and caches the kernel, builds the guest daemon, probes KVM, so
//     that later boots (and CI test runs) start at once.
import { flag, intOpt, opt, type OptionSpec, type Parsed, parseArgs, UsageError } from '../args.js';
import { type Command, EXIT, type Io } from '../command.js';
import {
  bootGuest,
  type BootOptions,
  ExecError,
  formatKmsg,
  formatTaint,
  type Guest,
  GuestDownError,
  HW_NAMES,
  isKernelList,
  type KmsgRecord,
  type OverlaySpec,
  parseHwList,
  prepareBoot,
  type PreparedBoot,
  SOUND_DIRS,
  VlabInputError,
} from '../../vlab/index.js';
import { guestdBinary } from '../../vlab/guestd-build.js';
import { cacheRoot } from '../../vlab/paths.js';
import { chooseAccel } from '../../vlab/accel.js';
import { findStaticBusybox } from '../../vlab/initramfs.js';
import { requireTool } from '../../vlab/tools.js';
import { constants as osConstants } from 'node:os';
import { existsSync } from 'node:fs';

export const GUEST_OPTIONS: OptionSpec[] = [
  { name: 'hw', value: true, repeat: true, valueName: 'LIST', help: `virtual sound hardware, comma-separated: ${HW_NAMES.join(', ')}, default (the default set)` },
  { name: 'kernel-version', value: true, valueName: 'V', help: 'a Debian kernel by name (6.1.0-54, 6.12.117+deb12, see "stresslab kernels"), fetched and cached on first use; run also takes A,B,C or A..B (a kernel matrix)' },
  { name: 'kernel-patch', value: true, repeat: true, valueName: 'FILE', help: 'rebuild the sound modules this unified diff touches (paths under sound/) from the kernel\'s own Debian source and load them instead of the stock ones (repeatable)' },
  { name: 'rebuild', value: true, repeat: true, valueName: 'DIRS', help: `sound directories to rebuild into the module overlay, comma-separated (${SOUND_DIRS.join(', ')}); default: those the patches touch` },
  { name: 'extra-modules', value: true, repeat: true, valueName: 'DIR', help: 'an out-of-tree module directory (Kbuild) to build against the kernel and load with the overlay (repeatable)' },
  { name: 'no-mem-debug', help: 'boot without slub_debug, init_on_free and KFENCE (faster; memory errors then go unseen)' },
  { name: 'kernel', value: true, valueName: 'PATH', help: 'boot this kernel (bzImage, or vmlinux with PVH) instead of the distribution kernel' },
  { name: 'modules', value: true, valueName: 'DIR', help: 'modules for --kernel (INSTALL_MOD_PATH root or /lib/modules/<release>)' },
  { name: 'memory', value: true, valueName: 'MB', help: 'guest memory (default 512)' },
  { name: 'cpus', value: true, valueName: 'N', help: 'guest vCPUs (default 2)' },
  { name: 'accel', value: true, valueName: 'auto|kvm|tcg', help: 'KVM or software emulation (default auto: KVM only if a probe boot works)' },
];

/** The guest flags mean nothing to other targets: say so rather than ignore them. */
export function refuseGuestFlags(p: Parsed, target: string): void {
  const given = GUEST_OPTIONS.map((o) => o.name).filter((n) => p.options.has(n));
  if (target !== 'vm' && given.length) throw new UsageError(`--${given[0]} only applies to --target vm`);
}

/**
 * Boot options from the shared guest flags; bad values are usage errors,
 * paths that do not exist included, before anything boots (a run starts its
 * guest only once the engine is under way).
 */
export function guestOptions(p: Parsed, io: Io, opts: { matrix?: boolean } = {}): BootOptions {
  const accel = opt(p, 'accel');
  if (accel !== undefined && accel !== 'auto' && accel !== 'kvm' && accel !== 'tcg') throw new UsageError(`--accel must be auto, kvm or tcg, got "${accel}"`);
  // Without --accel, bootGuest's default applies (STRESSLAB_VLAB_ACCEL, else auto).
  const o: BootOptions = { ...(accel ? { accel } : {}), log: (l) => io.err(l + '\n') };
  try {
    const hw = p.options.get('hw');
    if (hw) o.hw = parseHwList(hw);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const kernel = opt(p, 'kernel');
  if (kernel) {
    if (!existsSync(kernel)) throw new UsageError(`kernel image not found or unreadable: ${kernel} (no such file or directory)`);
    o.kernel = kernel;
  }
  const version = opt(p, 'kernel-version');
  if (version !== undefined) {
    if (kernel) throw new UsageError('--kernel (your own build) and --kernel-version (a Debian kernel) exclude each other');
    if (!version.trim()) throw new UsageError('--kernel-version needs a version, e.g. 6.1.0-54 (see "stresslab kernels")');
    if (isKernelList(version) && !opts.matrix) throw new UsageError(`--kernel-version ${version} names several kernels; only "stresslab run" takes a kernel matrix`);
    o.kernelVersion = version;
  }
  const overlay: OverlaySpec = {};
  const patches = p.options.get('kernel-patch');
  if (patches) {
    for (const f of patches) if (!existsSync(f)) throw new UsageError(`kernel patch not found: ${f}`);
    overlay.patches = patches;
  }
  const dirs = p.options.get('rebuild')?.flatMap((v) => v.split(',')).map((d) => d.trim()).filter(Boolean);
  if (dirs?.length) overlay.dirs = dirs;
  const extra = p.options.get('extra-modules');
  if (extra) {
    for (const d of extra) if (!existsSync(d)) throw new UsageError(`extra module directory not found: ${d}`);
    overlay.extraModuleDirs = extra;
  }
  if (Object.keys(overlay).length) {
    if (kernel) throw new UsageError('module overlays (--kernel-patch, --rebuild, --extra-modules) are built from Debian\'s source for a Debian kernel; with --kernel, build your modules with your kernel');
    o.overlay = overlay;
  }
  if (flag(p, 'no-mem-debug')) o.memoryDebug = false;
  const modules = opt(p, 'modules');
  if (modules) {
    if (!kernel) throw new UsageError('--modules goes with --kernel (the distribution kernel brings its own modules)');
    if (!existsSync(modules)) throw new UsageError(`modules directory not found: ${modules}`);
    o.modules = modules;
  }
  const mem = intOpt(p, 'memory', 128, 16384);
  if (mem !== undefined) o.memoryMb = mem;
  const cpus = intOpt(p, 'cpus', 1, 8);
  if (cpus !== undefined) o.cpus = cpus;
  return o;
}

/** The virtual lab's input errors (a bad hardware name, kernel, patch) as usage errors: exit 2. */
async function asUsage<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof VlabInputError) throw new UsageError(e.message);
    throw e;
  }
}

/** Boots, turning input errors into usage errors (exit 2). */
export function bootForCli(o: BootOptions): Promise<Guest> {
  return asUsage(bootGuest(o));
}

/**
 * Resolves the kernel and builds the module overlay before anything runs, so
 * an unknown version, a patch that does not apply or one outside sound/ is
 * exit 2 with its reason, not a failed run.
 */
export function prepareForCli(o: BootOptions): Promise<PreparedBoot> {
  return asUsage(prepareBoot(o));
}

/** One line per fact about the booted kernel: release, source, overlay, taint, memory debugging. */
export function kernelLines(g: Guest): string[] {
  const k = g.kernel;
  const lines = [`kernel ${k.release}${k.sourceVersion ? ` (Debian ${k.sourceVersion})` : ''}${k.origin === 'user' ? ' (your build)' : ''}`];
  if (g.overlay) {
    const o = g.overlay;
    lines.push(`overlay ${o.key}: ${o.dirs.concat(o.extra.map((e) => e.dir)).join(', ')} rebuilt from ${o.sourceVersion}${o.patches.length ? `, patches ${o.patches.map((x) => `${x.name} (sha256 ${x.sha256.slice(0, 12)})`).join(', ')}` : ''}`);
  }
  if (g.taintAtBoot) lines.push(`taint ${formatTaint(g.taintAtBoot)}`);
  lines.push(`memory debugging: ${g.memoryDebug.on.join(' ') || 'off'}${g.memoryDebug.unavailable.length ? ` (not available: ${g.memoryDebug.unavailable.join('; ')})` : ''}`);
  return lines;
}

const EXEC_OPTIONS: OptionSpec[] = [
  ...GUEST_OPTIONS,
  { name: 'boot-log', help: 'also print the kernel log of the boot itself' },
  { name: 'no-klog', help: 'do not print the kernel log' },
  { name: 'stdin', help: "forward this process's stdin to CMD (default: CMD's stdin is empty)" },
  { name: 'cwd', value: true, valueName: 'DIR', help: 'working directory of CMD in the guest (default: the current directory)' },
];

async function vmExec(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, EXEC_OPTIONS);
  if (p.positionals.length) throw new UsageError(`unexpected argument "${p.positionals[0]}"; put the command after "--"`);
  if (p.rest.length === 0) throw new UsageError('no command given; usage: stresslab vm exec [options] -- CMD [ARGS...]');
  const o = guestOptions(p, io);
  const showKlog = !flag(p, 'no-klog');
  const bootLog = flag(p, 'boot-log');
  const printRec = (r: KmsgRecord) => io.err(`klog: ${formatKmsg(r)}\n`);
  let bootEnd = -1;
  o.onStart = (g) => {
    if (showKlog && bootLog) g.on('klog', printRec);
  };
  const guest = await bootForCli(await prepareForCli(o));
  try {
    if (showKlog && !bootLog) {
      bootEnd = await guest.checkpoint();
      guest.on('klog', (r) => r.seq > bootEnd && printRec(r));
    }
    io.err(`vm: guest ready in ${(guest.readyMs / 1000).toFixed(1)} s (${guest.kernel.release}, ${guest.accel}, hw: ${guest.hw.join(',')})\n`);
    if (guest.overlay || guest.kernel.origin === 'distro') for (const l of kernelLines(guest)) io.err(`vm: ${l}\n`);
    const [cmd, ...args] = p.rest as [string, ...string[]];
    const h = guest.exec(cmd, args, { cwd: opt(p, 'cwd') ?? io.cwd });
    h.stdout.on('data', (d: Buffer) => io.out(d.toString('utf8')));
    h.stderr.on('data', (d: Buffer) => io.err(d.toString('utf8')));
    if (flag(p, 'stdin')) process.stdin.pipe(h.stdin);
    else h.stdin.end();
    // Ctrl-C and kill reach the command in the guest, which then ends the normal way.
    const forward = (sig: NodeJS.Signals) => h.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    try {
      const st = await h.exit;
      // Let the last kernel lines the command caused arrive before the guest goes.
      await guest.checkpoint().catch(() => undefined);
      if (st.code !== null) return st.code;
      return 128 + (osConstants.signals[st.signal!] ?? 0);
    } catch (e) {
      if (e instanceof GuestDownError) {
        io.err(`vm: ${e.message}\n${e.down.text ?? ''}`);
        return EXIT.target;
      }
      if (e instanceof ExecError) {
        // As a shell does for a command it cannot run.
        io.err(`vm: ${e.message}\n`);
        return 127;
      }
      throw e;
    } finally {
      process.stdin.unpipe(h.stdin);
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
    }
  } finally {
    await guest.shutdown();
  }
}

const PREPARE_OPTIONS = GUEST_OPTIONS.filter((s) => ['kernel', 'modules', 'kernel-version', 'kernel-patch', 'rebuild', 'extra-modules', 'hw'].includes(s.name));

async function vmPrepare(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, PREPARE_OPTIONS);
  const log = (l: string) => io.err(l + '\n');
  const prepared = await prepareForCli({ ...guestOptions(p, io), log });
  const k = prepared.resolvedKernel;
  const guestd = await guestdBinary(cacheRoot());
  const qemu = requireTool('qemu-system-x86_64', 'emulate the guest machine');
  const accel = await chooseAccel({ requested: 'auto', kernel: k, qemu, busybox: findStaticBusybox(), cacheRoot: cacheRoot(), log });
  const ov = prepared.overlay;
  io.out(
    `kernel ${k.release} (${k.origin}${k.package ? `, ${k.package}` : ''}${k.sourceVersion ? `, source ${k.sourceVersion}` : ''})\n  image   ${k.image} (${k.imageKind})\n  modules ${k.modulesDir ?? '(none: built-in only)'}\n` +
      (ov ? `overlay ${ov.key} (${ov.cached ? 'cached' : `built in ${(ov.buildMs / 1000).toFixed(1)} s`})\n  ${ov.dir}\n  modules ${ov.modules.map((m) => m.name).join(' ')}\n` : '') +
      `guestd ${guestd}\naccel  ${accel}\ncache  ${cacheRoot()}\n`,
  );
  return EXIT.ok;
}

export function vmCommand(): Command {
  return {
    name: 'vm',
    summary: 'virtual lab: run a command in a fresh guest with a real kernel and virtual sound hardware',
    usage: 'vm exec [--hw LIST] [--kernel-version V] [--kernel-patch FILE]... [--kernel PATH [--modules DIR]] -- CMD [ARGS...]\n       stresslab vm prepare [--kernel-version V] [--kernel-patch FILE]... [--kernel PATH [--modules DIR]]',
    options: EXEC_OPTIONS,
    async run(argv, io) {
      const [sub, ...rest] = argv;
      if (sub === 'exec') return vmExec(rest, io);
      if (sub === 'prepare') return vmPrepare(rest, io);
      throw new UsageError(sub ? `unknown vm subcommand "${sub}" (exec, prepare)` : 'missing subcommand: exec or prepare');
    },
  };
}
