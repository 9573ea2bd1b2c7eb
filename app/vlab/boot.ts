// bootGuest(): from a hardware list to a ready guest. Resolves the kernel
// (cached distribution kernel or the user's), builds the initramfs, picks the
// accelerator, starts QEMU owned by this process, and waits until guestd says
// the modules are loaded and the cards are there.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join, resolve as resolvePath } from 'node:path';
import { TargetError } from '../errors.js';
import { type AccelChoice, chooseAccel } from './accel.js';
import { GuestDownError, VlabInputError } from './errors.js';
import { Guest } from './guest.js';
import { guestdBinary } from './guestd-build.js';
import { DEFAULT_HW, HW, type HwName, parseHwList } from './hw.js';
import { buildInitramfs, findStaticBusybox, initramfsModules } from './initramfs.js';
import { distroKernel, type KernelSpec } from './kernel-cache.js';
import { distroKernelByVersion, resolveKernelVersion, withSourceVersion } from './kernel-select.js';
import { type KernelArchive, kernelArchive } from './archive.js';
import { requireHeaders, requireSource } from './kbuild-cache.js';
import { memoryDebugFeatures, memoryDebugPlan } from './memory-debug.js';
import { buildOverlay, hashTree, type Overlay } from './overlay.js';
import { readPatch } from './patches.js';
import { projectRoot } from './paths.js';
import { taintFromBootReport } from './taint.js';
import { spawnOwned } from './lifecycle.js';
import { cacheRoot } from './paths.js';
import { guestCmdline, qemuArgs } from './qemu-args.js';
import { Qmp } from './qmp.js';
import { makeGuestDir, sweepStaleGuestDirs } from './tmpdir.js';
import { planModules } from './module-plan.js';
import { moduleName } from './modules.js';
import { requireTool } from './tools.js';
import { throwIfAborted } from './exec-host.js';
import { userKernel } from './user-kernel.js';

/** What to rebuild into a module overlay (overlay.ts) for the booted kernel. */
export interface OverlaySpec {
  /** Unified diffs against the kernel source root, every file under sound/. */
  patches?: string[];
  /** Sound directories to rebuild (default: those the patches touch). */
  dirs?: string[];
  /** Out-of-tree module directories (Kbuild dirs) built against the same headers. */
  extraModuleDirs?: string[];
}

export interface BootOptions {
  /** Virtual sound hardware; default DEFAULT_HW. */
  hw?: HwName[] | string;
  /** A kernel image of your own (bzImage, or a vmlinux with PVH); default: the distribution kernel. */
  kernel?: string;
  /** Modules for `kernel` (a modules_install root or /lib/modules/<release> dir). */
  modules?: string;
  /** A Debian kernel by name (6.1.0-54, 6.12.110+deb12, linux-image-...): fetched and cached on first use. */
  kernelVersion?: string;
  /** The kernel, already resolved (prepareBoot): skips resolving it again. */
  resolvedKernel?: KernelSpec;
  /** Sound modules rebuilt from the kernel's own source: built (buildOverlay) or to build. */
  overlay?: Overlay | OverlaySpec;
  /**
   * Boot options that make memory errors visible without KASAN
   * (slub_debug=FZPU, init_on_free=1, KFENCE sampling where the kernel has it).
   * Default on; off for speed runs.
   */
  memoryDebug?: boolean;
  memoryMb?: number;
  /** vCPUs. Two by default: races need two CPUs to be real. */
  cpus?: number;
  accel?: AccelChoice;
  /**
   * Ends the boot: QEMU is shut down; a kernel still being downloaded or an
   * overlay still being built (prepareBoot) is stopped too, its tools killed.
   */
  signal?: AbortSignal;
  /** How long boot may take before it counts as failed. */
  bootTimeoutMs?: number;
  /** Heartbeat silence after which the guest counts as hung. */
  hangTimeoutMs?: number;
  /** The kernel's hung-task detector threshold in the guest, seconds. */
  hungTaskSecs?: number;
  /** Extra kernel command line items. */
  cmdline?: string[];
  /** Progress lines (kernel download, KVM probe). */
  log?: (line: string) => void;
  /** Called with the guest as soon as QEMU runs, before it is ready (to watch the boot's kernel log). */
  onStart?: (g: Guest) => void;
  /** Each stage of the boot as it begins (the app and the CLI show it while the guest boots). */
  progress?: (stage: BootStage, text: string) => void;
}

/**
 * The stages of a boot, in order. kernel: finding (or downloading and
 * unpacking) the kernel; tools: guestd and the accelerator; initramfs: this
 * boot's image; boot: QEMU runs the kernel; root: /init mounts the host's
 * root; drivers: the sound modules load; cards: waiting for every card to
 * appear; ready: guestd answers.
 */
export type BootStage = 'kernel' | 'tools' | 'initramfs' | 'boot' | 'root' | 'drivers' | 'cards' | 'ready';

/** /init's stage markers on the console (native-bridge/vlab/init.sh). */
const INIT_STAGES: Record<string, [BootStage, string]> = {
  stage1: ['root', 'mounting the host root'],
  root: ['drivers', 'loading the sound drivers'],
  loaded: ['cards', 'waiting for the sound cards'],
};

export async function resolveKernel(opts: Pick<BootOptions, 'kernel' | 'modules' | 'kernelVersion' | 'log' | 'signal'>): Promise<KernelSpec> {
  const root = cacheRoot();
  const signal = opts.signal;
  if (opts.kernel && opts.kernelVersion) throw new VlabInputError('--kernel (your own build) and --kernel-version (a Debian kernel) exclude each other');
  if (opts.kernel) return userKernel(root, opts.kernel, opts.modules, opts.log);
  if (opts.modules) throw new VlabInputError('--modules goes with --kernel (the distribution kernel brings its own)');
  if (opts.kernelVersion) return distroKernelByVersion(root, opts.kernelVersion, opts.log, signal);
  return withSourceVersion(root, await distroKernel(root, opts.log, undefined, signal), signal);
}

export function isBuiltOverlay(o: Overlay | OverlaySpec | undefined): o is Overlay {
  return !!o && 'key' in o && 'modules' in o;
}

/** Module directories the chosen hardware needs from an overlay (a test driver that is not in any kernel). */
export function hwModuleDirs(hw: readonly HwName[]): string[] {
  return [...hwModuleDirMap(hw).keys()];
}

/** The same, each with the hardware that needs it. */
export function hwModuleDirMap(hw: readonly HwName[]): Map<string, string> {
  return new Map(hw.flatMap((h) => (HW[h].overlayModuleDir ? [[resolvePath(projectRoot(), HW[h].overlayModuleDir!), h] as const] : [])));
}

/**
 * Before a kernel is downloaded for an overlay: does the archive have the
 * source and headers of exactly its version? (No: exit 2 naming what exists.)
 * When apt cannot be asked, the build finds out itself.
 */
async function overlayPossible(opts: BootOptions): Promise<void> {
  const root = cacheRoot();
  let archive: KernelArchive;
  try {
    archive = await kernelArchive(root, opts.signal);
  } catch {
    throwIfAborted(opts.signal);
    return;
  }
  const k = opts.kernelVersion ? await resolveKernelVersion(root, opts.kernelVersion, opts.signal) : archive.images.find((i) => i.package === archive.defaultPackage);
  if (!k) return;
  const spec = isBuiltOverlay(opts.overlay) ? undefined : opts.overlay;
  if (spec?.patches?.length || spec?.dirs?.length) requireSource(archive, k.sourceVersion);
  requireHeaders(archive, k.release, k.sourceVersion);
}

/** Boot options with the kernel resolved and the overlay built: what can fail on bad input, done before a run starts. */
export interface PreparedBoot extends BootOptions {
  resolvedKernel: KernelSpec;
  overlay?: Overlay;
}

/**
 * Resolves the kernel (downloading it if needed) and builds the module
 * overlay (or finds it cached), so that bad input (an unknown version, a patch
 * that does not apply) is reported before anything boots, and a run's boot
 * only boots. bootGuest() does the same for options not prepared.
 */
/**
 * What can be known about boot options without downloading or building
 * anything (seconds: apt's lists, the patch files): an unknown hardware name or
 * kernel version, a patch outside sound/, no linux-source or headers of that
 * version in the archive. Throws VlabInputError for bad input. The app checks
 * this before a run starts, and prepares the rest inside the run, where a stop
 * ends it (app/targets/vm.ts).
 */
export async function checkBoot(opts: BootOptions): Promise<void> {
  const hw = opts.hw === undefined ? [...DEFAULT_HW] : parseHwList(opts.hw);
  const needDirs = hwModuleDirs(hw);
  if (opts.kernel && opts.kernelVersion) throw new VlabInputError('--kernel (your own build) and --kernel-version (a Debian kernel) exclude each other');
  if (opts.modules && !opts.kernel) throw new VlabInputError('--modules goes with --kernel (the distribution kernel brings its own)');
  // Patches are checked before anything is downloaded: one outside sound/ is refused at once.
  if (!isBuiltOverlay(opts.overlay)) for (const f of opts.overlay?.patches ?? []) readPatch(f);
  if (!opts.resolvedKernel && !opts.kernel && !isBuiltOverlay(opts.overlay) && (opts.overlay || needDirs.length)) await overlayPossible(opts);
  else if (!opts.resolvedKernel && opts.kernelVersion) await resolveKernelVersion(cacheRoot(), opts.kernelVersion, opts.signal);
}

export async function prepareBoot(opts: BootOptions): Promise<PreparedBoot> {
  const hw = opts.hw === undefined ? [...DEFAULT_HW] : parseHwList(opts.hw);
  const needDirs = hwModuleDirs(hw);
  await checkBoot(opts);
  throwIfAborted(opts.signal);
  const kernel = opts.resolvedKernel ?? (await resolveKernel(opts));
  throwIfAborted(opts.signal);
  let overlay: Overlay | undefined;
  if (isBuiltOverlay(opts.overlay)) {
    overlay = opts.overlay;
    if (overlay.release !== kernel.release) throw new VlabInputError(`the module overlay was built for ${overlay.release}, not for ${kernel.release}`);
    // by content: an overlay from the cache may have been built from another checkout of the same directory
    const missing = needDirs.filter((d) => !overlay!.extra.some((e) => e.dir === d || e.sha256 === hashTree(d)));
    if (missing.length) throw new VlabInputError(`the chosen hardware needs modules from ${missing.join(', ')}, which this overlay does not have`);
  } else if (opts.overlay || needDirs.length) {
    const spec = opts.overlay ?? {};
    if (kernel.origin === 'user') throw new VlabInputError('module overlays are built from Debian\'s linux-source for a Debian kernel; with --kernel, build your modules with your kernel');
    overlay = await buildOverlay({
      release: kernel.release,
      sourceVersion: kernel.sourceVersion ?? '',
      ...(spec.patches ? { patches: spec.patches } : {}),
      ...(spec.dirs ? { dirs: spec.dirs } : {}),
      extraModuleDirs: [...new Set([...(spec.extraModuleDirs ?? []).map((d) => resolvePath(d)), ...needDirs])],
      ...(opts.log ? { log: opts.log } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  }
  const { overlay: _spec, ...rest } = opts;
  return { ...rest, hw, resolvedKernel: kernel, ...(overlay ? { overlay } : {}) };
}

function listenOn(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(path, () => resolve(s));
  });
}

function firstConnection(s: Server): Promise<Socket> {
  return new Promise((resolve) => s.once('connection', resolve));
}

function aborted(signal: AbortSignal | undefined): Error {
  return signal?.reason instanceof Error ? signal.reason : Object.assign(new Error('boot aborted'), { name: 'AbortError' });
}

export async function bootGuest(opts: BootOptions = {}): Promise<Guest> {
  const t0 = Date.now();
  const progress = opts.progress ?? (() => {});
  // Kernel-cache and KVM-probe lines say what is slow (a 70 MB download): the progress shows them too.
  const log = (line: string) => {
    opts.log?.(line);
    if (opts.progress) progress(/KVM/.test(line) ? 'tools' : 'kernel', line.replace(/^vlab: /, ''));
  };
  const hw = opts.hw === undefined ? [...DEFAULT_HW] : typeof opts.hw === 'string' ? parseHwList(opts.hw) : parseHwList(opts.hw);
  const memoryMb = opts.memoryMb ?? 512;
  const cpus = opts.cpus ?? 2;
  if (!Number.isInteger(memoryMb) || memoryMb < 128 || memoryMb > 16384) throw new VlabInputError(`memory must be 128..16384 MB, got ${memoryMb}`);
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > 8) throw new VlabInputError(`cpus must be 1..8, got ${cpus}`);
  if (opts.signal?.aborted) throw aborted(opts.signal);

  progress('kernel', opts.kernel ? `checking the kernel ${opts.kernel}` : opts.kernelVersion ? `finding the Debian kernel ${opts.kernelVersion}` : 'finding the distribution kernel');
  // A kernel the user names is checked first: a typo there is the likelier mistake.
  const userSpec = opts.resolvedKernel ?? (opts.kernel || opts.kernelVersion ? await resolveKernel({ ...opts, log }) : undefined);
  const qemu = requireTool('qemu-system-x86_64', 'emulate the guest machine');
  const busybox = findStaticBusybox();
  const root = cacheRoot();
  // prepareBoot() builds a module overlay not built yet (minutes the first time; cached after).
  const prepared = await prepareBoot({ ...opts, log, hw, resolvedKernel: userSpec ?? (await resolveKernel({ ...opts, log })) });
  const kernel = prepared.resolvedKernel;
  const overlay = prepared.overlay;
  progress('tools', `kernel ${kernel.release}; building guestd and choosing the accelerator`);
  const guestd = await guestdBinary(root);
  const accel = await chooseAccel({ requested: opts.accel ?? envAccel(), kernel, qemu, busybox, cacheRoot: root, log });
  if (opts.signal?.aborted) throw aborted(opts.signal);

  progress('initramfs', 'building the initramfs');
  sweepStaleGuestDirs();
  const dir = makeGuestDir();
  const initrd = join(dir, 'initramfs.cpio');
  const plan = planModules(kernel, hw, overlay);
  const memDebug = opts.memoryDebug === false ? { cmdline: [], unavailable: [] } : memoryDebugPlan(memoryDebugFeatures(kernel));
  const config = { release: kernel.release, modulesDir: kernel.modulesDir, waitFor: hw.flatMap((h) => HW[h].waitFor), waitSecs: 30, loadPlan: plan.lines, binds: plan.binds ?? [] };
  writeFileSync(initrd, buildInitramfs({ busybox, guestd, modules: initramfsModules(kernel), config }));
  const sockets = { console: join(dir, 'console.sock'), control: join(dir, 'ctl.sock'), qmp: join(dir, 'qmp.sock') };
  const servers = await Promise.all([listenOn(sockets.console), listenOn(sockets.control), listenOn(sockets.qmp)]);
  const [conServer, ctlServer, qmpServer] = servers as [Server, Server, Server];
  const conConn = firstConnection(conServer);
  const ctlConn = firstConnection(ctlServer);
  const qmpConn = firstConnection(qmpServer);

  const name = `vlab-${process.pid}-${randomBytes(3).toString('hex')}`;
  const cmdline = guestCmdline({ hungTaskSecs: opts.hungTaskSecs ?? 20, moduleParams: plan.cmdline, extra: [...memDebug.cmdline, ...(opts.cmdline ?? [])] });
  const args = qemuArgs({ kernelImage: kernel.image, initrd, cmdline, memoryMb, cpus, accel, sockets, hw, name });
  progress('boot', `booting kernel ${kernel.release} under ${accel === 'kvm' ? 'KVM' : 'TCG (software emulation)'}`);
  const child = spawnOwned(qemu, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const guest = new Guest({
    name,
    hw,
    kernel,
    accel,
    cpus,
    memoryMb,
    child,
    servers,
    tmpDir: dir,
    hangTimeoutMs: opts.hangTimeoutMs ?? 20_000,
    heartbeatMs: 1000,
    ...(overlay ? { overlay } : {}),
    memoryDebug: { on: memDebug.cmdline, unavailable: opts.memoryDebug === false ? ['all: turned off for this run'] : memDebug.unavailable },
  });
  if (opts.progress) {
    const onConsole = (line: string) => {
      const m = /^VLAB-STAGE: (\S+)/.exec(line);
      const st = m ? INIT_STAGES[m[1]!] : undefined;
      if (st) progress(st[0], st[1]);
      else if (m?.[1] === 'ready') guest.off('console', onConsole);
    };
    guest.on('console', onConsole);
  }
  opts.onStart?.(guest);

  const onAbort = () => void guest.shutdown();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    // QEMU connects to all three sockets while it starts; if it dies first, ended settles.
    const conns = Promise.all([conConn, ctlConn, qmpConn]);
    const first = await Promise.race([conns, guest.ended]);
    if (!Array.isArray(first)) throw new GuestDownError(first);
    const [con, ctl, qmpSock] = first;
    guest.attachConsole(con);
    guest.attachChannel(ctl);
    const qmp = new Qmp(qmpSock);
    guest.attachQmp(qmp);
    await Promise.race([qmp.init(), guest.ended.then((d) => Promise.reject(new GuestDownError(d)))]);

    const report = await guest.waitHello(opts.bootTimeoutMs ?? 120_000);
    guest.bootReport = report.split('\n').filter(Boolean);
    guest.taintAtBoot = taintFromBootReport(guest.bootReport);
    const problems = bootProblems(guest.bootReport, hw, kernel);
    if (problems.length) {
      await guest.shutdown();
      throw new TargetError(`the guest booted but its sound hardware is not ready:\n  ${problems.join('\n  ')}`, problemHint(kernel));
    }
    guest.startHeartbeat();
    guest.readyMs = Date.now() - t0;
    progress('ready', `guest ready in ${(guest.readyMs / 1000).toFixed(1)} s`);
    if (opts.signal?.aborted) throw aborted(opts.signal);
    return guest;
  } catch (e) {
    await guest.shutdown();
    if (opts.signal?.aborted) throw aborted(opts.signal);
    if (e instanceof GuestDownError && e.down.reason !== 'shutdown') {
      const d = e.down;
      throw new TargetError(`the guest failed to boot: ${d.message}${d.text ? `\n--- console ---\n${d.text}` : ''}`, problemHint(kernel));
    }
    throw e;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

function envAccel(): AccelChoice {
  const v = process.env.STRESSLAB_VLAB_ACCEL;
  return v === 'kvm' || v === 'tcg' ? v : 'auto';
}

/** Reads the guest /init's report: a module that did not load or a card that did not appear is a failed boot. */
export function bootProblems(report: string[], hw: HwName[], kernel: KernelSpec): string[] {
  const problems: string[] = [];
  for (const stamped of report) {
    const line = stamped.replace(/ @[\d.]+$/, '');
    const [what, subject, status, ...rest] = line.split(' ');
    if (what === 'error') problems.push(line.slice(6));
    if (what === 'mod' && status !== 'ok') {
      const owner = hw.find((h) => HW[h].modules.some((m) => moduleName(m.name) === subject));
      problems.push(`module ${subject}${owner ? ` (for ${owner})` : ''} did not load on kernel ${kernel.release}: ${rest.join(' ').trim()}`);
    }
    if (what === 'wait' && status !== 'ok') {
      const owner = hw.find((h) => HW[h].waitFor.includes(subject!));
      problems.push(`${subject}${owner ? ` (${owner})` : ''} did not appear in the guest`);
    }
  }
  if (!report.some((l) => /^ready( |$)/.test(l))) problems.push('the guest init did not finish (no "ready" in its boot report)');
  return problems;
}

function problemHint(kernel: KernelSpec): string | undefined {
  if (kernel.origin !== 'user') return undefined;
  if (!kernel.modulesDir) {
    return `no modules were found for ${kernel.release}: pass --modules DIR (the INSTALL_MOD_PATH of "make modules_install"), unless virtio-pci, virtio-console, 9p, overlayfs and the sound drivers are built in`;
  }
  return `check that kernel ${kernel.release} has the drivers the lab needs (virtio, 9p, overlayfs, the sound drivers), as modules in ${kernel.modulesDir} or built in`;
}
