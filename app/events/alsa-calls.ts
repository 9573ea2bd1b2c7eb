// The ALSA calls a library op made, as a library action's event carries them
// (`data.calls`): a real run records them by tracing the library's process
// (app/applane/child/calltrace.ts), the simulated kernel's mirror of the
// libraries by making them (app/targets/sim/library/). Both write the same
// text, so the oracle (app/analysis/library-calls.ts) compares them directly.
//
// One call is "<node> <call>[=<errno>]":
//   node  ctl:<card id> | pcm:<card id>,<device><p|c> | seq | timer
//   call  open, close, read, write, poll, or an ioctl without its prefix
//         (SNDRV_PCM_IOCTL_HW_REFINE → HW_REFINE)
// Card ids, not numbers, so a card numbered differently on the two sides is
// still the same card. A run of identical calls is written once with "×N".

export interface AlsaCall {
  node: string;
  call: string;
  /** The errno name when the call failed. */
  errno?: string;
}

const IOCTL_PREFIX = /^SNDRV_(?:PCM|CTL|SEQ|TIMER|RAWMIDI)_IOCTL_/;

/**
 * strace's name of an ioctl request as the lab writes it. strace prints the
 * sound ioctls by name; the few it prints as _IOC(...) are named here from
 * <sound/asound.h> and <sound/asequencer.h> (type, number).
 */
export function normaliseIoctl(req: string): string {
  if (IOCTL_PREFIX.test(req)) return req.replace(IOCTL_PREFIX, '');
  const m = /_IOC\([^,]*,\s*0x([0-9a-f]+),\s*0x([0-9a-f]+)/.exec(req);
  if (m) return RAW_IOCTLS[`${m[1]}:${m[2]}`] ?? `ioctl ${m[1]}:${m[2]}`;
  return req;
}

/** (type, nr) → name, for requests strace does not name. */
const RAW_IOCTLS: Record<string, string> = {
  '41:0': 'PVERSION',
  '41:1': 'INFO',
  '41:2': 'TSTAMP',
  '41:3': 'TTSTAMP',
  '41:4': 'USER_PVERSION',
  '41:10': 'HW_REFINE',
  '41:11': 'HW_PARAMS',
  '41:12': 'HW_FREE',
  '41:13': 'SW_PARAMS',
  '41:20': 'STATUS',
  '41:21': 'DELAY',
  '41:22': 'HWSYNC',
  '41:23': 'SYNC_PTR',
  '41:24': 'STATUS_EXT',
  '41:32': 'CHANNEL_INFO',
  '41:40': 'PREPARE',
  '41:41': 'RESET',
  '41:42': 'START',
  '41:43': 'DROP',
  '41:44': 'DRAIN',
  '41:45': 'PAUSE',
  '55:0': 'PVERSION',
  '55:1': 'CARD_INFO',
  '55:30': 'PCM_NEXT_DEVICE',
  '55:31': 'PCM_INFO',
  '55:32': 'PCM_PREFER_SUBDEVICE',
  '53:0': 'PVERSION',
  '53:1': 'CLIENT_ID',
  '53:3': 'RUNNING_MODE',
  '53:4': 'USER_PVERSION',
  '53:10': 'GET_CLIENT_INFO',
  '53:11': 'SET_CLIENT_INFO',
  '53:20': 'CREATE_PORT',
  '53:21': 'DELETE_PORT',
  '53:22': 'GET_PORT_INFO',
  '53:30': 'SUBSCRIBE_PORT',
  '53:31': 'UNSUBSCRIBE_PORT',
  '53:32': 'CREATE_QUEUE',
  '53:33': 'DELETE_QUEUE',
  '53:42': 'SET_QUEUE_TEMPO',
  '53:4b': 'GET_CLIENT_POOL',
  '53:4c': 'SET_CLIENT_POOL',
  '53:51': 'QUERY_NEXT_CLIENT',
  '53:52': 'QUERY_NEXT_PORT',
};

export function callText(c: AlsaCall): string {
  return `${c.node} ${c.call}${c.errno ? `=${c.errno}` : ''}`;
}

/** Calls as the journal stores them: texts, consecutive repeats folded ("pcm:Dummy,0p HW_REFINE×16"). */
export function encodeCalls(calls: readonly AlsaCall[]): string[] {
  const out: string[] = [];
  let last = '';
  let n = 0;
  const push = () => {
    if (n) out.push(n > 1 ? `${last}×${n}` : last);
  };
  for (const c of calls) {
    const t = callText(c);
    if (t === last) n++;
    else {
      push();
      last = t;
      n = 1;
    }
  }
  push();
  return out;
}

/** The other way: one entry per call. */
export function decodeCalls(texts: readonly string[]): AlsaCall[] {
  const out: AlsaCall[] = [];
  for (const t of texts) {
    const m = /^(\S+) ([^=×\s]+)(?:=(E[A-Z0-9]+))?(?:×(\d+))?$/.exec(t);
    if (!m) continue;
    const c: AlsaCall = { node: m[1]!, call: m[2]!, ...(m[3] ? { errno: m[3] } : {}) };
    for (let i = Number(m[4] ?? 1); i > 0; i--) out.push({ ...c });
  }
  return out;
}
