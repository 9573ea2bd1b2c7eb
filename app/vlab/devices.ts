// A guest's devices, listed like `aplay -l` and `aconnect -l`, from the guest's
// own /proc/asound (read in one guest process, parsed on the host).
import { deviceListFromProc, PROC_ASOUND_GLOBS, splitFileDump } from '../devices/proc-asound.js';
import type { DeviceList } from '../devices/types.js';
import type { Guest } from './guest.js';

const DUMP = `cd /proc/asound 2>/dev/null || exit 0
for f in ${PROC_ASOUND_GLOBS.join(' ')}; do
  [ -f "$f" ] && { printf '@@@FILE %s\\n' "$f"; cat "$f"; }
done
exit 0`;

export async function listGuestDevices(guest: Guest): Promise<DeviceList> {
  const r = await guest.run('/bin/sh', ['-c', DUMP], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`listing the guest's devices failed (${r.timedOut ? 'timed out' : `exit ${r.code ?? r.signal}`}): ${r.stderr.trim()}`);
  const notes: string[] = [];
  const list = deviceListFromProc('vm', splitFileDump(r.stdout), notes);
  return list;
}
