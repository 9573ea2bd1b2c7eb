// The sequencer against Linux semantics (seq_fifo.c, seq_memory.c,
// seq_clientmgr.c): FIFO order, pool exhaustion and overflow, resize
// discarding queued events, put-back on a failed copy, Midi Through.
import { describe, expect, it } from 'vitest';
import { once, scenario, simulate } from '../../test/sim-harness.js';
import { Analysis } from '../../analysis/analysis.js';
import type { SeqEvent } from './seq_memory.js';

const clients = [
  { 'seq.open': { handle: 'rx', name: 'receiver' } },
  { 'seq.create_port': { handle: 'rx', name: 'in' } },
  { 'seq.open': { handle: 'tx', name: 'sender' } },
  { 'seq.create_port': { handle: 'tx', name: 'out' } },
];

describe('sequencer (Linux semantics)', () => {
  it('delivers direct events in order and the reader gets them numbered', async () => {
    const r = await simulate(once(clients, [{ 'seq.send': { handle: 'tx', to: 'rx:0', count: 5 } }, { 'seq.read': { handle: 'rx', max: 16 } }]));
    const read = r.op('seq.read')[0]!;
    expect(read.ret).toBe(5);
    expect((read.data!.events as [string, number][]).map(([, n]) => n)).toEqual([0, 1, 2, 3, 4]);
    expect(r.op('seq.send')[0]!.data).toMatchObject({ src: 'app/tx', first: 0, sent: 5 });
  });

  it('a full input pool refuses with EAGAIN, and the receiver\'s next read reports the overflow with ENOSPC and loses the queue', async () => {
    const r = await simulate(once(clients, [
      { 'seq.set_client_pool': { handle: 'rx', input_pool: 4 } },
      { 'seq.send': { handle: 'tx', to: 'rx:0', count: 6, expect: ['EAGAIN'] } },
      { 'seq.get_client_pool': 'rx' },
      { 'seq.read': { handle: 'rx', max: 16, expect: ['ENOSPC'] } },
      { 'seq.read': { handle: 'rx', max: 16, block: false, expect: ['EAGAIN'] } },
    ]));
    const send = r.op('seq.send')[0]!;
    // write() accepts 4 and returns 4; the lab writes the rest again to learn why: EAGAIN.
    expect(send.errno).toBe('EAGAIN');
    expect(send.data).toMatchObject({ first: 0, sent: 4, refused: 4 });
    expect(r.op('seq.get_client_pool')[0]!.data).toMatchObject({ input_pool: 4, input_free: 0 });
    expect(r.op('seq.read').map((x) => x.errno)).toEqual(['ENOSPC', 'EAGAIN']);
  });

  it('SET_CLIENT_POOL discards what was queued, and the lab accounts for it exactly as the kernel did', async () => {
    const discarded: SeqEvent[] = [];
    const sc = once(clients, [
      { 'seq.send': { handle: 'tx', to: 'rx:0', count: 10 } },
      { 'seq.read': { handle: 'rx', max: 3 } },
      { 'seq.set_client_pool': { handle: 'rx', input_pool: 50 } },
      { 'seq.send': { handle: 'tx', to: 'rx:0', count: 2 } },
      { 'seq.read': { handle: 'rx', max: 16 } },
    ]);
    const r = await simulate(sc, { oracle: { discarded: (ev, why) => void (why === 'resize' && discarded.push(ev)) } });
    expect(discarded.map((e) => e.n)).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect((r.op('seq.read')[1]!.data!.events as [string, number][]).map(([, n]) => n)).toEqual([10, 11]);
    const a = new Analysis(sc);
    for (const e of r.events) a.feed(e);
    expect(a.finish(r.run.k.now)).toEqual([]);
    expect(a.seq.counts).toMatchObject({ sent: 12, received: 5, discarded_by_resize: 7, lost: 0 });
  });

  it('a read whose copy_to_user fails returns EFAULT and puts the event back for the next read', async () => {
    const r = await simulate(once(clients, [
      { 'seq.send': { handle: 'tx', to: 'rx:0', count: 2 } },
      { 'seq.read': { handle: 'rx', max: 1, fault: true, expect: ['EFAULT'] } },
      { 'seq.read': { handle: 'rx', max: 4 } },
    ]));
    const [bad, good] = r.op('seq.read');
    expect(bad!.errno).toBe('EFAULT');
    expect((good!.data!.events as [string, number][]).map(([, n]) => n)).toEqual([0, 1]);
  });

  it('a sysex event that does not fit the read buffer is put back with EAGAIN', async () => {
    const r = await simulate(once(clients, [
      { 'seq.send': { handle: 'tx', to: 'rx:0', type: 'sysex', size: 100 } },
      { 'seq.read': { handle: 'rx', max: 1, expect: ['EAGAIN'] } },
      { 'seq.read': { handle: 'rx', max: 8 } },
    ]));
    const [small, big] = r.op('seq.read');
    expect(small!.errno).toBe('EAGAIN');
    expect(big!.ret).toBe(1);
  });

  it('a blocking read sleeps until an event arrives', async () => {
    const sc = scenario({
      duration: '1s',
      setup: clients,
      lanes: [
        { name: 'reader', iterations: 1, loop: [{ 'seq.read': { handle: 'rx', max: 1 } }] },
        { name: 'writer', iterations: 1, loop: [{ sleep: '2ms' }, { 'seq.send': { handle: 'tx', to: 'rx:0' } }] },
      ],
    });
    const r = await simulate(sc);
    const read = r.op('seq.read')[0]!;
    expect(read.ret).toBe(1);
    expect(read.dur).toBeGreaterThanOrEqual(2e6);
  });

  it('Midi Through (client 14) forwards what it receives to its subscribers', async () => {
    const r = await simulate(once(clients, [
      { 'seq.subscribe': { handle: 'rx', sender: '14:0', dest: 'rx:0' } },
      { 'seq.send': { handle: 'tx', to: '14:0', count: 3 } },
      { 'seq.read': { handle: 'rx', max: 8 } },
      { 'seq.subscribe': { handle: 'rx', sender: '99:0', dest: 'rx:0', expect: ['EINVAL'] } },
    ]));
    expect(r.op('seq.read')[0]!.ret).toBe(3);
    expect(r.op('seq.subscribe').map((x) => x.errno ?? x.ret)).toEqual([0, 'EINVAL']);
  });

  it('sending to a client that does not exist is ENOENT', async () => {
    const r = await simulate(once(clients, [{ 'seq.send': { handle: 'tx', to: '150:0', expect: ['ENOENT'] } }]));
    expect(r.op('seq.send')[0]!.errno).toBe('ENOENT');
  });
});
