// A guest's devices, listed like `aplay -l` and `aconnect -l`, from the guest's
// own /proc/asound (read in one guest process, parsed on the host).
import { deviceListFromProc, PROC_ASOUND_GLOBS, splitTailDump } from '../devices/proc-asound.js';
import type { DeviceList } from '../devices/types.js';
import type { Guest } from './guest.js';

// One process for all files (tail prints each with a "==> name <==" header):
// every exec in the guest costs a program load over 9p.
const DUMP = `cd /proc/asound 2>/dev/null || exit 0
tail -n +1 ${PROC_ASOUND_GLOBS.join(' ')} 2>/dev/null
exit 0`;

export async function listGuestDevices(guest: Guest): Promise<DeviceList> {
  const r = await guest.run('/bin/sh', ['-c', DUMP], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`listing the guest's devices failed (${r.timedOut ? 'timed out' : `exit ${r.code ?? r.signal}`}): ${r.stderr.trim()}`);
  const notes: string[] = [];
  const list = deviceListFromProc('vm', splitTailDump(r.stdout), notes);
  return list;
}
