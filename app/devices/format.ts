// Text listings in the exact layouts of `aplay -l` and `aconnect -l`, so people
// and scripts used to those tools read the lab's output without relearning.
import type { DeviceList, PcmInfo } from './types.js';

export function formatPcmList(list: DeviceList, stream: 'playback' | 'capture'): string {
  const out: string[] = [`**** List of ${stream.toUpperCase()} Hardware Devices ****`];
  for (const p of list.pcms.filter((x) => x.stream === stream).sort(byCardDevice)) {
    out.push(`card ${p.card}: ${p.cardId} [${p.cardName}], device ${p.device}: ${p.id} [${p.name}]`);
    out.push(`  Subdevices: ${p.subdevicesAvail}/${p.subdevices}`);
    for (let i = 0; i < p.subdevices; i++) out.push(`  Subdevice #${i}: ${p.subdeviceNames[i] ?? `subdevice #${i}`}`);
  }
  return out.join('\n') + '\n';
}

export function formatSeqList(list: DeviceList): string {
  const out: string[] = [];
  for (const c of [...list.seqClients].sort((a, b) => a.client - b.client)) {
    const card = c.card !== undefined ? `, card=${c.card}` : '';
    out.push(`client ${c.client}: '${c.name}' [type=${c.type}${card}]`);
    for (const p of c.ports) {
      out.push(`  ${String(p.port).padStart(3)} '${p.name.padEnd(16)}'`);
      if (p.connectedTo.length) out.push(`\tConnecting To: ${p.connectedTo.join(', ')}`);
      if (p.connectedFrom.length) out.push(`\tConnected From: ${p.connectedFrom.join(', ')}`);
    }
  }
  return out.join('\n') + (out.length ? '\n' : '');
}

export function formatDeviceList(list: DeviceList): string {
  const parts = [formatPcmList(list, 'playback'), formatPcmList(list, 'capture'), '**** Sequencer clients and ports ****\n' + formatSeqList(list)];
  if (list.notes.length) parts.push(list.notes.map((n) => `note: ${n}`).join('\n') + '\n');
  return parts.join('\n');
}

function byCardDevice(a: PcmInfo, b: PcmInfo): number {
  return a.card - b.card || a.device - b.device;
}
