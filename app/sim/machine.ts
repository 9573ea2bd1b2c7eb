// Builds a simulated machine: the kernel, the sound core with its three
// cards (Dummy, an ASoC DPCM card, a hot-pluggable USB-style card), the
// sequencer with Midi Through, and khungtaskd.
import { Kernel, type KlogSink } from './kernel/kernel.js';
import { khungtaskd } from './kernel/khungtaskd.js';
import { AddressSpace, useAddressSpace } from './kernel/memory.js';
import { Rng } from './kernel/rng.js';
import { PctStrategy, RandomStrategy, ReplayStrategy, ScheduleReader, type ScheduleSource, type Strategy } from './kernel/strategy.js';
import { SndCore } from './core/sndcore.js';
import { controlInfo } from './core/control.js';
import { createDummyCard } from './drivers/dummy.js';
import { createSimSocCard } from './drivers/simsoc.js';
import { createSimUsbCard } from './drivers/simusb.js';
import { SeqCore, kernelClient, SeqPort, CAP_READ, CAP_SUBS_READ } from './seq/seq_clientmgr.js';
import type { SeqOracle } from './seq/seq_fifo.js';
import { createMidiThrough } from './seq/seq_dummy.js';
import type { BugSwitch } from './profiles.js';
import type { DeviceList } from '../devices/types.js';

export interface MachineOptions {
  seed: number;
  bugs: ReadonlySet<BugSwitch>;
  strategy: 'pct' | 'random' | 'replay';
  depth?: number;
  /** Recorded decisions to follow (strategy 'replay'). */
  replay?: ScheduleSource;
  /** The strategy that made the record: it shadows the replay and takes over where the record ends. */
  replayOf?: 'pct' | 'random';
  quantum?: number;
  klog?: KlogSink;
  oracle?: SeqOracle;
}

export interface Machine {
  k: Kernel;
  snd: SndCore;
  seq: SeqCore;
  addrs: AddressSpace;
  strategy: Strategy;
}

export const DEFAULT_QUANTUM = 1000;
/** Cost of one kernel step between preemption points, ns (seeded uniform). */
export const STEP_COST: [number, number] = [30, 300];

export function buildMachine(o: MachineOptions): Machine {
  const addrs = new AddressSpace();
  useAddressSpace(addrs);
  const schedRng = new Rng(o.seed, 1);
  const env = new Rng(o.seed, 2);
  // The strategy needs the task list, which exists once the kernel does.
  let k!: Kernel;
  const own = (kind: 'pct' | 'random'): Strategy => (kind === 'random' ? new RandomStrategy(schedRng) : new PctStrategy(schedRng, o.depth ?? 3));
  const strategy: Strategy = o.strategy === 'replay' ? new ReplayStrategy(o.replay ?? ScheduleReader.of(''), own(o.replayOf ?? 'pct')) : own(o.strategy);
  k = new Kernel({ bugs: o.bugs, strategy, env, quantum: o.quantum ?? DEFAULT_QUANTUM, stepCost: STEP_COST, klog: o.klog ?? (() => {}) });
  const snd = new SndCore();
  k.snd = snd;
  const seq = new SeqCore(o.oracle ?? { discarded() {} });
  snd.seq = seq;
  createDummyCard(k, 0);
  createSimSocCard(k, 1);
  createSimUsbCard(k, 2);
  const system = kernelClient(seq, 0, 'System');
  system.ports.push(new SeqPort(system, 0, 'Timer', CAP_READ | CAP_SUBS_READ), new SeqPort(system, 1, 'Announce', CAP_READ | CAP_SUBS_READ));
  createMidiThrough(seq);
  k.sched.spawn('khungtaskd', 'kthread', khungtaskd(k));
  return { k, snd, seq, addrs, strategy };
}

/** Cards, PCMs, sequencer clients and controls of a machine, as `stresslab devices` lists them. */
export function machineDevices(m: Machine): DeviceList {
  const cards = m.snd.cards.filter((c) => c !== null);
  return {
    target: 'sim',
    cards: cards.map((c) => ({ index: c.number, id: c.id, driver: c.driver, name: c.shortname, longname: c.longname })),
    pcms: cards.flatMap((c) =>
      c.pcms.flatMap((p) =>
        ([0, 1] as const)
          .filter((st) => p.streams[st].length > 0)
          .map((st) => ({
            card: c.number,
            cardId: c.id,
            cardName: c.shortname,
            device: p.device,
            id: p.id,
            name: p.name,
            stream: st === 0 ? ('playback' as const) : ('capture' as const),
            subdevices: p.streams[st].length,
            subdevicesAvail: p.streams[st].filter((s) => s.ref_count === 0).length,
            subdeviceNames: p.streams[st].map((s) => s.name),
          })),
      ),
    ),
    seqClients: m.seq.info(),
    controls: cards.flatMap((c) => controlInfo(c)),
    notes: [],
  };
}
