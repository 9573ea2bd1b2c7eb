import { describe, expect, it } from 'vitest';
import { formatKmsg, KmsgBook, parseKmsgRecord, toKlogEvent } from './kmsg.js';

describe('/dev/kmsg records', () => {
  it('parses level, sequence, timestamp, escapes and device properties', () => {
    const r = parseKmsgRecord('6,406,10782474,-;usb 1-1: USB disconnect, device number 2\n SUBSYSTEM=usb\n DEVICE=c189:1\n')!;
    expect(r).toMatchObject({ seq: 406, level: 6, facility: 0, tsUs: 10782474, text: 'usb 1-1: USB disconnect, device number 2', cont: false });
    expect(r.dict).toEqual({ SUBSYSTEM: 'usb', DEVICE: 'c189:1' });
    const u = parseKmsgRecord('12,5,1000,c;tab\\x09here\\x5c\n')!;
    expect(u).toMatchObject({ level: 4, facility: 1, text: 'tab\there\\', cont: true });
    expect(parseKmsgRecord('garbage')).toBeUndefined();
  });

  it('formats like dmesg and converts to the lab event shape', () => {
    const r = parseKmsgRecord('3,1,1234567,-;oops\n')!;
    expect(formatKmsg(r)).toBe('[    1.234567] oops');
    expect(toKlogEvent(r, 42)).toEqual({ kind: 'klog', t: 42, level: 3, text: 'oops', ktime: 1234567, source: 'guest' });
  });

  it('keeps records after a checkpoint and stays bounded', () => {
    const b = new KmsgBook(100);
    for (let i = 0; i < 250; i++) b.add({ seq: i, level: 6, facility: 0, tsUs: i, text: `m${i}`, cont: false });
    expect(b.since(245).map((r) => r.seq)).toEqual([246, 247, 248, 249]);
    expect(b.since(249)).toEqual([]);
    expect(b.all().length).toBeLessThanOrEqual(100);
    expect(b.forgotten).toBeGreaterThan(0);
    expect(b.lastSeq).toBe(249);
  });
});
