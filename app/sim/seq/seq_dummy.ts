// snd-seq-dummy: kernel client 14 "Midi Through", one port that sends every
// event it receives on to its subscribers.
import type { Kernel } from '../kernel/kernel.js';
import type { KGen } from '../kernel/task.js';
import type { SeqEvent } from './seq_memory.js';
import { CAP_READ, CAP_SUBS_READ, CAP_SUBS_WRITE, CAP_WRITE, type SeqCore, SeqPort, SUBSCRIBERS, kernelClient, snd_seq_deliver_event } from './seq_clientmgr.js';

export function createMidiThrough(core: SeqCore): void {
  const c = kernelClient(core, 14, 'Midi Through');
  const port = new SeqPort(c, 0, 'Midi Through Port-0', CAP_READ | CAP_WRITE | CAP_SUBS_READ | CAP_SUBS_WRITE, function* dummy_input(k: Kernel, ev: SeqEvent, hop: number): KGen<number> {
    yield 'dummy_input: forwarding to subscribers';
    return yield* snd_seq_deliver_event(k, core, { ...ev, source: { client: 14, port: 0 }, dest: { client: SUBSCRIBERS, port: 0 } }, hop + 1);
  });
  c.ports.push(port);
}
