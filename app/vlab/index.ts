// The virtual lab: a throwaway QEMU guest running a real Linux kernel with real
// ALSA drivers and virtual sound hardware. See README.md in this directory.
export { bootGuest, checkBoot, prepareBoot, resolveKernel, type BootOptions, type BootStage, type OverlaySpec, type PreparedBoot } from './boot.js';
export { buildOverlay, overlaySummary, cachedOverlays, SOUND_DIRS, type Overlay, type OverlayModule, type OverlayRequest } from './overlay.js';
export { OverlayInputError, readPatch, type KernelPatch } from './patches.js';
export { decodeTaint, formatTaint, type Taint } from './taint.js';
export { type ArchiveKernel, type KernelArchive, hasHeaders, hasSource, isKernelList, normalizeKernelName } from './archive.js';
export { compareDebianVersions, upstreamOf } from './debian-version.js';
export { expandKernelVersions, knownKernels, resolveKernelVersion, type KnownKernels } from './kernel-select.js';
export { memoryDebugFeatures, memoryDebugPlan } from './memory-debug.js';
export { Guest, type GuestEvents, type Heartbeat, type MemoryDebugState, type RunOptions, type RunResult } from './guest.js';
export { type ExecHandle, type ExecOptions, type ExitStatus, ExecError, DEFAULT_ENV } from './channel.js';
export { type KmsgRecord, toKlogEvent, formatKmsg, parseKmsgRecord } from './kmsg.js';
export { type KernelTrouble, type TroubleKind, TroubleCollector, troubleStart } from './crash.js';
export { type GuestDown, GuestDownError, VlabInputError } from './errors.js';
export { DEFAULT_HW, HW, HW_NAMES, type HwName, type HwSpec, parseHwList } from './hw.js';
export { type KernelSpec } from './kernel-cache.js';
export { listGuestDevices } from './devices.js';
export { cacheRoot } from './paths.js';
