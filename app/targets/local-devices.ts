// Node access to this machine's /proc/asound and /dev/snd for the pure
// listing in app/devices/local.ts.
import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { type HostFiles, localDeviceList as listFrom } from '../devices/local.js';
import type { DeviceList } from '../devices/types.js';

export const nodeHostFiles: HostFiles = {
  read(p) {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return undefined;
    }
  },
  list(p) {
    try {
      return readdirSync(p);
    } catch {
      return [];
    }
  },
  exists: (p) => existsSync(p),
  openable(p) {
    try {
      accessSync(p, constants.R_OK | constants.W_OK);
      return true;
    } catch {
      return false;
    }
  },
};

export function localDeviceList(opts: { procAsound?: string; devSnd?: string } = {}): DeviceList {
  return listFrom(nodeHostFiles, opts);
}
