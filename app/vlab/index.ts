// The virtual lab: a throwaway QEMU guest running a real Linux kernel with real
// ALSA drivers and virtual sound hardware. See README.md in this directory.
export { bootGuest, resolveKernel, type BootOptions, type BootStage } from './boot.js';
export { Guest, type GuestEvents, type Heartbeat, type RunOptions, type RunResult } from './guest.js';
export { type ExecHandle, type ExecOptions, type ExitStatus, ExecError, DEFAULT_ENV } from './channel.js';
export { type KmsgRecord, toKlogEvent, formatKmsg, parseKmsgRecord } from './kmsg.js';
export { type KernelTrouble, type TroubleKind, TroubleCollector, troubleStart } from './crash.js';
export { type GuestDown, GuestDownError, VlabInputError } from './errors.js';
export { DEFAULT_HW, HW, HW_NAMES, type HwName, type HwSpec, parseHwList } from './hw.js';
export { type KernelSpec } from './kernel-cache.js';
export { listGuestDevices } from './devices.js';
export { cacheRoot } from './paths.js';
