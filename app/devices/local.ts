// This machine's sound devices, from /proc/asound (see proc-asound.ts), with
// notes when the lab could list but not use them (/dev/snd missing or not
// accessible to this user).
import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deviceListFromProc, type ProcFiles } from './proc-asound.js';
import type { DeviceList } from './types.js';

function read(p: string): string | undefined {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

function list(p: string): string[] {
  try {
    return readdirSync(p);
  } catch {
    return [];
  }
}

/** Reads the same files as PROC_ASOUND_GLOBS, from a directory laid out like /proc/asound. */
export function readProcAsound(base = '/proc/asound'): ProcFiles {
  const files: ProcFiles = new Map();
  const put = (rel: string) => {
    const t = read(join(base, rel));
    if (t !== undefined) files.set(rel, t);
  };
  put('cards');
  put('pcm');
  put('seq/clients');
  for (const card of list(base).filter((n) => /^card\d+$/.test(n))) {
    for (const pcm of list(join(base, card)).filter((n) => /^pcm\d+[pc]$/.test(n))) {
      put(`${card}/${pcm}/info`);
      for (const sub of list(join(base, card, pcm)).filter((n) => /^sub\d+$/.test(n))) put(`${card}/${pcm}/${sub}/info`);
    }
  }
  return files;
}

export function localDeviceList(opts: { procAsound?: string; devSnd?: string } = {}): DeviceList {
  const devSnd = opts.devSnd ?? '/dev/snd';
  const notes: string[] = [];
  if (!existsSync(devSnd)) {
    notes.push(`no ${devSnd}: this machine exposes no sound devices (a container or VM without sound); try --target vm or --target sim`);
  } else {
    const nodes = list(devSnd);
    const denied = nodes.filter((n) => {
      try {
        accessSync(join(devSnd, n), constants.R_OK | constants.W_OK);
        return false;
      } catch {
        return true;
      }
    });
    if (nodes.length && denied.length === nodes.length) notes.push(`${devSnd} exists but this user cannot open its devices (add the user to the "audio" group)`);
  }
  return deviceListFromProc('local', readProcAsound(opts.procAsound), notes);
}
