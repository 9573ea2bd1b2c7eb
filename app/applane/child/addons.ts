// Finding and loading the two native addons the application lane drives.
// They are optional dependencies built by the project's setup step
// (scripts/setup.d/35-applane.sh): a machine without them still runs every
// other lane, and this module says exactly what is missing.
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AddonStatus } from '../protocol.js';

const req = createRequire(import.meta.url);

function packageDir(name: string): string | undefined {
  try {
    return dirname(req.resolve(`${name}/package.json`));
  } catch {
    return undefined;
  }
}

function version(dir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

const BUILD_HINT = 'node scripts/setup.js applane builds it (needs g++, make, python3 and Node headers; midi also needs libasound2-dev)';

/** Why loading failed, in words that name the missing piece. */
function explainLoadError(name: string, e: Error): string {
  const m = e.message;
  const lib = /lib[\w+.-]+\.so[\w.]*/.exec(m)?.[0];
  if (lib === 'libasound.so.2') return `${name} cannot load: libasound.so.2 is missing (install libasound2)`;
  if (lib === 'libportaudio.so.2') return `${name} cannot load its bundled libportaudio.so.2 (the addon's RUNPATH points into the folder it was built in; rebuild it here: ${BUILD_HINT})`;
  if (lib) return `${name} cannot load: ${lib} is missing (${m.split('\n')[0]})`;
  if (/NODE_MODULE_VERSION|was compiled against a different Node/.test(m)) return `${name} was built for another Node.js version; rebuild it: ${BUILD_HINT}`;
  return `${name} cannot load: ${m.split('\n')[0]}`;
}

export interface PortAudioAddon {
  getDevices(): { id: number; name: string; maxInputChannels: number; maxOutputChannels: number; defaultSampleRate: number; hostAPIName: string }[];
  getHostAPIs(): { defaultHostAPI: number; HostAPIs: { id: number; name: string; type: string; deviceCount: number; defaultInput: number; defaultOutput: number }[] };
  create(options: Record<string, unknown>): PaStreamAddon;
}

/** naudiodon's AudioIO object (src/AudioIO.cc): each method is one call into PortAudio. */
export interface PaStreamAddon {
  start(): void;
  write(chunk: Buffer): Promise<string | undefined>;
  read(bytes: number): Promise<{ buf?: Buffer; finished?: boolean; err?: string }>;
  quit(how: 'WAIT' | 'ABORT'): Promise<void>;
}

export interface MidiAddon {
  Input: new () => MidiInput;
  Output: new () => MidiOutput;
}

interface MidiPortApi {
  getPortCount(): number;
  getPortName(i: number): string;
  openPort(i: number): void;
  openVirtualPort(name: string): void;
  closePort(): void;
  isPortOpen(): boolean;
}
export interface MidiInput extends MidiPortApi {
  ignoreTypes(sysex: boolean, timing: boolean, sensing: boolean): void;
  on(ev: 'message', cb: (delta: number, msg: number[]) => void): void;
  removeAllListeners(): void;
}
export interface MidiOutput extends MidiPortApi {
  sendMessage(msg: number[]): void;
}

/**
 * naudiodon's addon itself (build/Release/naudiodon.node), not its index.js:
 * each lab op is then exactly one addon call, with no Node stream buffering
 * in between, and index.js's segfault-handler (which writes crash.log into
 * the current directory) is registered by the handle host itself, pointed at
 * a temporary directory.
 */
export function loadPortAudio(): { addon?: PortAudioAddon; status: AddonStatus } {
  const dir = packageDir('naudiodon');
  if (!dir) return { status: { ok: false, why: 'naudiodon is not installed (an optional dependency: npm install)' } };
  const v = version(dir);
  const bin = join(dir, 'build', 'Release', 'naudiodon.node');
  if (!existsSync(bin)) return { status: { ok: false, why: `naudiodon ${v ?? ''} is installed but not built; ${BUILD_HINT}`, ...(v ? { version: v } : {}) } };
  try {
    return { addon: req(bin) as PortAudioAddon, status: { ok: true, ...(v ? { version: v } : {}) } };
  } catch (e) {
    return { status: { ok: false, why: explainLoadError('naudiodon', e as Error), ...(v ? { version: v } : {}) } };
  }
}

export function loadMidi(): { addon?: MidiAddon; status: AddonStatus } {
  const dir = packageDir('midi');
  if (!dir) return { status: { ok: false, why: 'midi is not installed (an optional dependency: npm install)' } };
  const v = version(dir);
  if (!existsSync(join(dir, 'build', 'Release', 'midi.node'))) return { status: { ok: false, why: `midi ${v ?? ''} is installed but not built; ${BUILD_HINT}`, ...(v ? { version: v } : {}) } };
  try {
    return { addon: req('midi') as MidiAddon, status: { ok: true, ...(v ? { version: v } : {}) } };
  } catch (e) {
    return { status: { ok: false, why: explainLoadError('midi', e as Error), ...(v ? { version: v } : {}) } };
  }
}

/** segfault-handler, if built: a native crash in a library then leaves a stack trace on stderr. */
export function registerSegfaultHandler(file: string): boolean {
  const dir = packageDir('segfault-handler');
  if (!dir || !existsSync(join(dir, 'build', 'Release', 'segfault-handler.node'))) return false;
  try {
    (req('segfault-handler') as { registerHandler(f: string): void }).registerHandler(file);
    return true;
  } catch {
    return false;
  }
}
