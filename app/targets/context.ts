// What a run ran on, as each target finds it: the kernel (release, where it
// came from), the machine (emulated or not), and the cards with their drivers
// as /proc/asound lists them. Emitted once per run as a `context` event, so
// the journal keeps it even when the kernel dies mid-run; the engine adds the
// host and puts it in summary.json.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { release, version } from 'node:os';
import type { KernelRecord, TargetContext } from '../events/types.js';
import { parseCards } from '../devices/proc-asound.js';
import { KERNEL_RELEASE } from '../sim/kernel/reports.js';
import { simDeviceList } from '../sim/devices.js';
import { type Guest, overlaySummary, upstreamOf } from '../vlab/index.js';
import { hwModuleDirMap } from '../vlab/boot.js';

/** "Advanced Linux Sound Architecture Driver Version k6.1.0-28-amd64." → "k6.1.0-28-amd64" */
export function parseAlsaVersion(text: string): string | undefined {
  const m = /Driver Version\s+(\S+?)\.?\s*$/m.exec(text);
  return m?.[1];
}

/** /proc/asound/modules: " 0 snd_dummy" per card. */
export function parseAsoundModules(text: string): { card: number; module: string }[] {
  const out: { card: number; module: string }[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+(\S+)\s*$/.exec(line);
    if (m) out.push({ card: Number(m[1]), module: m[2]! });
  }
  return out;
}

/** The pieces of /proc/asound a context needs, from wherever they were read. */
export function asoundContext(files: { version?: string; cards?: string; modules?: string }): Pick<TargetContext, 'cards' | 'alsa_version' | 'modules'> {
  const alsa = files.version ? parseAlsaVersion(files.version) : undefined;
  const modules = files.modules ? parseAsoundModules(files.modules) : [];
  return { cards: files.cards ? parseCards(files.cards) : [], ...(alsa ? { alsa_version: alsa } : {}), ...(modules.length ? { modules } : {}) };
}

export function simContext(): TargetContext {
  const list = simDeviceList();
  return { kernel: { release: KERNEL_RELEASE, origin: 'simulated' }, cards: list.cards };
}

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** This machine's kernel and cards (the local target). */
export function localContext(): TargetContext {
  return { kernel: { release: release(), origin: 'host', version: version() }, ...asoundContext({ version: readOr('/proc/asound/version'), cards: readOr('/proc/asound/cards'), modules: readOr('/proc/asound/modules') }) };
}

let qemuVersion: string | null | undefined;
function qemuVersionOnce(): string | undefined {
  if (qemuVersion === undefined) {
    const r = spawnSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8', timeout: 10_000 });
    qemuVersion = r.status === 0 ? (/version\s+(\S+)/.exec(r.stdout)?.[1] ?? null) : null;
  }
  return qemuVersion ?? undefined;
}

const SEP = '--stresslab--';

/**
 * What the lab knows of a guest's kernel from booting it: where it came from,
 * the module overlay loaded, memory debugging, the taint after boot. In the
 * context event from the start (a journal without summary.json keeps it), and
 * the run's kernel record (app/api/kernel-record.ts).
 */
export function guestKernel(g: Guest): KernelRecord {
  const k = g.kernel;
  return {
    release: k.release,
    origin: k.origin,
    ...(k.package ? { package: k.package } : {}),
    ...(k.sourceVersion ? { source_version: k.sourceVersion, upstream: upstreamOf(k.sourceVersion) } : {}),
    ...(k.given ? { image_path: k.given.kernel, ...(k.given.modules ? { modules_path: k.given.modules } : {}) } : {}),
    memory_debug: { on: [...g.memoryDebug.on], unavailable: [...g.memoryDebug.unavailable] },
    ...(g.overlay ? { overlay: overlaySummary(g.overlay, hwModuleDirMap(g.hw)) } : {}),
    ...(g.taintAtBoot ? { taint_at_boot: g.taintAtBoot } : {}),
  };
}

/** The guest's kernel as it says itself, its cards and drivers, and how QEMU runs it. */
export async function guestContext(g: Guest): Promise<TargetContext> {
  const script = `uname -r; uname -v; echo ${SEP}; cat /proc/asound/version; echo ${SEP}; cat /proc/asound/cards; echo ${SEP}; cat /proc/asound/modules 2>/dev/null`;
  const r = await g.run('sh', ['-c', script], { timeoutMs: 30_000 }).catch(() => null);
  const [uname = '', ver, cards, modules] = r && r.code === 0 ? r.stdout.split(`${SEP}\n`) : [];
  const [rel, kver] = uname.split('\n');
  const qemu = qemuVersionOnce();
  return {
    kernel: { ...guestKernel(g), release: rel?.trim() || g.kernel.release, ...(kver?.trim() ? { version: kver.trim() } : {}) },
    machine: { emulator: 'qemu', accel: g.accel, ...(qemu ? { qemu } : {}), cpus: g.cpus, memory_mb: g.memoryMb, hardware: [...g.hw] },
    ...asoundContext({ ...(ver ? { version: ver } : {}), ...(cards ? { cards } : {}), ...(modules ? { modules } : {}) }),
  };
}
