// Device listings from the files ALSA publishes under /proc/asound, which say
// what `aplay -l` and `aconnect -l` say without opening any device (so listing
// never disturbs a stream under test, and works where /dev/snd is not ours).
// The parser takes the files' contents keyed by path below /proc/asound, so
// this machine (local.ts) and a guest (app/vlab/devices.ts) share it.
import type { CardInfo, DeviceList, PcmInfo, SeqClientInfo, SeqPortInfo } from './types.js';

/** Files to read, as shell globs below /proc/asound. */
export const PROC_ASOUND_GLOBS = ['cards', 'pcm', 'seq/clients', 'card*/pcm*/info', 'card*/pcm*/sub*/info'];

export type ProcFiles = Map<string, string>;

/** " 0 [Dummy          ]: Dummy - Dummy\n                      Dummy 1" */
export function parseCards(text: string): CardInfo[] {
  const cards: CardInfo[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*(\d+) \[(.+?)\s*\]: (.*?) - (.*)$/.exec(lines[i]!);
    if (!m) continue;
    const next = lines[i + 1];
    const longname = next !== undefined && /^\s{5,}\S/.test(next) ? next.trim() : m[4]!;
    cards.push({ index: Number(m[1]), id: m[2]!, driver: m[3]!, name: m[4]!, longname });
  }
  return cards;
}

/** A pcm*\/info or sub*\/info file: "key: value" lines. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const c = line.indexOf(':');
    if (c > 0) out[line.slice(0, c).trim()] = line.slice(c + 1).trim();
  }
  return out;
}

export function parsePcms(files: ProcFiles, cards: CardInfo[]): PcmInfo[] {
  const pcms: PcmInfo[] = [];
  for (const [path, text] of files) {
    const m = /^card(\d+)\/pcm(\d+)([pc])\/info$/.exec(path);
    if (!m) continue;
    const info = parseInfo(text);
    const card = Number(m[1]);
    const device = Number(m[2]);
    const dir = m[3]!;
    const count = Number(info.subdevices_count ?? '1');
    const names: string[] = [];
    for (let s = 0; s < count; s++) {
      const sub = files.get(`card${card}/pcm${device}${dir}/sub${s}/info`);
      names.push((sub && parseInfo(sub).subname) || `subdevice #${s}`);
    }
    const c = cards.find((x) => x.index === card);
    pcms.push({
      card,
      cardId: c?.id ?? `card${card}`,
      cardName: c?.name ?? '',
      device,
      id: info.id ?? '',
      name: info.name ?? '',
      stream: dir === 'p' ? 'playback' : 'capture',
      subdevices: count,
      subdevicesAvail: Number(info.subdevices_avail ?? count),
      subdeviceNames: names,
    });
  }
  return pcms.sort((a, b) => a.card - b.card || a.device - b.device || a.stream.localeCompare(b.stream));
}

/**
 * /proc/asound/seq/clients (sound/core/seq/seq_clientmgr.c):
 *   Client  14 : "Midi Through" [Kernel]
 *     Port   0 : "Midi Through Port-0" (RWe-)
 *       Connecting To: 128:0
 *       Connected From: 129:0[real:0]
 */
export function parseSeqClients(text: string): SeqClientInfo[] {
  const clients: SeqClientInfo[] = [];
  let client: SeqClientInfo | undefined;
  let port: SeqPortInfo | undefined;
  for (const line of text.split('\n')) {
    let m = /^Client\s+(\d+) : "(.*)" \[(\w+)/.exec(line);
    if (m) {
      client = { client: Number(m[1]), name: m[2]!, type: /^kernel$/i.test(m[3]!) ? 'kernel' : 'user', ports: [] };
      clients.push(client);
      port = undefined;
      continue;
    }
    m = /^\s+Port\s+(\d+) : "(.*)" \((.)(.)(.)(.)\)/.exec(line);
    if (m && client) {
      const [r, w, , x] = [m[3]!, m[4]!, m[5]!, m[6]!];
      const caps: string[] = [];
      if (r !== '-') caps.push('read');
      if (r === 'R') caps.push('subs_read');
      if (w !== '-') caps.push('write');
      if (w === 'W') caps.push('subs_write');
      if (x === 'X') caps.push('duplex');
      port = { port: Number(m[1]), name: m[2]!, caps, connectedTo: [], connectedFrom: [] };
      client.ports.push(port);
      continue;
    }
    m = /^\s+(Connecting To|Connected From): (.*)$/.exec(line);
    if (m && port) {
      const addrs = m[2]!.split(',').map((a) => a.trim().replace(/\[.*\]$/, '')).filter(Boolean);
      (m[1] === 'Connecting To' ? port.connectedTo : port.connectedFrom).push(...addrs);
    }
  }
  return clients;
}

export function deviceListFromProc(target: string, files: ProcFiles, notes: string[] = []): DeviceList {
  const cardsText = files.get('cards');
  const cards = cardsText ? parseCards(cardsText) : [];
  const seqText = files.get('seq/clients');
  const list: DeviceList = {
    target,
    cards,
    pcms: parsePcms(files, cards),
    seqClients: seqText ? parseSeqClients(seqText) : [],
    notes: [...notes],
  };
  if (cardsText === undefined) list.notes.push('no /proc/asound: ALSA is not loaded (no sound cards, no snd module)');
  else if (cards.length === 0) list.notes.push('ALSA is loaded but there are no sound cards');
  if (seqText === undefined && cardsText !== undefined) list.notes.push('no sequencer (/proc/asound/seq/clients missing: snd-seq is not loaded)');
  return list;
}

/** Splits `tail -n +1 FILE...` output ("==> path <==" headers, a blank line between files). */
export function splitTailDump(dump: string): ProcFiles {
  const files: ProcFiles = new Map();
  const re = /^==> (.+) <==\n/gm;
  const heads = [...dump.matchAll(re)];
  heads.forEach((m, i) => {
    const start = m.index! + m[0].length;
    const end = i + 1 < heads.length ? heads[i + 1]!.index! : dump.length;
    let body = dump.slice(start, end);
    // tail separates files with one blank line
    if (i + 1 < heads.length && body.endsWith('\n\n')) body = body.slice(0, -1);
    files.set(m[1]!, body);
  });
  return files;
}
