// This machine's sound devices, from /proc/asound (see proc-asound.ts), with
// notes when the lab could list but not use them (/dev/snd missing or not
// accessible to this user). The file access comes in through HostFiles so
// this module stays free of Node APIs, like the rest of app/devices; the Node
// implementation is app/targets/local-devices.ts.
import { deviceListFromProc, type ProcFiles } from './proc-asound.js';
import type { DeviceList } from './types.js';

export interface HostFiles {
  /** File contents, or undefined when it cannot be read. */
  read(path: string): string | undefined;
  /** Directory entries, or [] when it cannot be listed. */
  list(path: string): string[];
  exists(path: string): boolean;
  /** Can this user open it for reading and writing? */
  openable(path: string): boolean;
}

function join(a: string, b: string): string {
  return a.endsWith('/') ? a + b : `${a}/${b}`;
}

/** Reads the same files as PROC_ASOUND_GLOBS, from a directory laid out like /proc/asound. */
export function readProcAsound(fs: HostFiles, base = '/proc/asound'): ProcFiles {
  const files: ProcFiles = new Map();
  const put = (rel: string) => {
    const t = fs.read(join(base, rel));
    if (t !== undefined) files.set(rel, t);
  };
  put('cards');
  put('pcm');
  put('seq/clients');
  for (const card of fs.list(base).filter((n) => /^card\d+$/.test(n))) {
    for (const pcm of fs.list(join(base, card)).filter((n) => /^pcm\d+[pc]$/.test(n))) {
      put(`${card}/${pcm}/info`);
      for (const sub of fs.list(join(base, `${card}/${pcm}`)).filter((n) => /^sub\d+$/.test(n))) put(`${card}/${pcm}/${sub}/info`);
    }
  }
  return files;
}

export function localDeviceList(fs: HostFiles, opts: { procAsound?: string; devSnd?: string } = {}): DeviceList {
  const devSnd = opts.devSnd ?? '/dev/snd';
  const notes: string[] = [];
  if (!fs.exists(devSnd)) {
    notes.push(`no ${devSnd}: this machine exposes no sound devices (a container or VM without sound); try --target vm or --target sim`);
  } else {
    const nodes = fs.list(devSnd);
    if (nodes.length && nodes.every((n) => !fs.openable(join(devSnd, n)))) {
      notes.push(`${devSnd} exists but this user cannot open its devices (add the user to the "audio" group)`);
    }
  }
  return deviceListFromProc('local', readProcAsound(fs, opts.procAsound), notes);
}
