import type { DeviceList } from '../devices/types.js';
import { buildMachine, machineDevices } from './machine.js';

/** The simulated kernel's devices as a freshly booted machine has them. */
export function simDeviceList(): DeviceList {
  return machineDevices(buildMachine({ seed: 1, bugs: new Set(), strategy: 'pct' }));
}
