// What each target has, and whether a preset's hardware needs map onto it.
// Every target answers before the run: the simulated kernel from its own
// machine, the virtual lab from the hardware list it will boot (--hw), this
// machine from /proc/asound. A need maps to the card of the name the steps
// use when that card can do what is asked, else to another card that can (the
// steps are then rewritten to use it); a need nothing maps to is a refusal
// that names what is missing, the virtual hardware that has it, and the
// preset variants that run on this target instead.
import type { DeviceList } from '../devices/types.js';
import { DEFAULT_HW, HW_NAMES, type HwName } from '../vlab/hw.js';
import { type CardKind, type CardNeed, type HardwareNeeds, type StreamDir, cardNeedText, needsOf, sequencerNeedText } from '../vocabulary/hardware.js';
import type { Scenario, Step } from '../vocabulary/scenario.js';
import { simDeviceList } from '../sim/devices.js';
import { localDeviceList } from './local-devices.js';

export interface CardOffer {
  id: string;
  kinds: CardKind[];
  /** Substreams per direction (a direction the card lacks is absent). */
  streams: Partial<Record<StreamDir, number>>;
  /** Control names; undefined when the target cannot tell before the run (then they are not checked). */
  controls?: string[];
}

export interface Inventory {
  target: string;
  /** "the simulated kernel", "this virtual lab (--hw dummy,seq-dummy)". */
  label: string;
  cards: CardOffer[];
  /** Kernel clients' names and port names, when the sequencer is there. */
  sequencer?: string[];
}

// The virtual lab's hardware as the guest shows it (measured with
// `stresslab devices --target vm` and amixer in the guest, Debian 6.1), so a
// preset can be refused before a guest boots; vm.vm.test.ts compares it with
// what a booted guest lists, card by card. A new --hw needs its entry here.
const DUMMY_CONTROLS = ['Master Volume', 'Master Capture Switch', 'Synth Volume', 'Synth Capture Switch', 'Line Volume', 'Line Capture Switch', 'Mic Volume', 'Mic Capture Switch', 'CD Volume', 'CD Capture Switch', 'External I/O Box'];
const VM_CARDS: Record<string, CardOffer | null> = {
  dummy: { id: 'Dummy', kinds: ['pcm'], streams: { playback: 8, capture: 8 }, controls: DUMMY_CONTROLS },
  aloop: { id: 'Loopback', kinds: ['pcm', 'loopback'], streams: { playback: 8, capture: 8 }, controls: ['PCM Notify', 'PCM Rate Shift 100000', 'PCM Slave Active', 'PCM Slave Channels', 'PCM Slave Format', 'PCM Slave Rate'] },
  'seq-dummy': null,
  ac97: {
    id: 'I82801AAICH',
    kinds: ['pcm'],
    streams: { playback: 1, capture: 1 },
    controls: ['Master Playback Switch', 'Master Playback Volume', 'PCM Playback Switch', 'PCM Playback Volume', 'Capture Source', 'Capture Switch', 'Capture Volume', '3D Control Sigmatel - Depth', 'Playback Channel Map'],
  },
  'usb-audio': { id: 'Audio', kinds: ['pcm', 'usb'], streams: { playback: 1 }, controls: ['Audio Output Volume Control Playback Switch', 'Audio Output Volume Control Playback Volume', 'Playback Channel Map'] },
  hda: { id: 'Intel', kinds: ['pcm'], streams: { playback: 1, capture: 1 }, controls: ['Master Playback Switch', 'Master Playback Volume', 'Capture Switch', 'Capture Volume', 'Line Out Phantom Jack', 'Line Phantom Jack', 'Playback Channel Map', 'Capture Channel Map'] },
  // The StressDPCM test driver (native-bridge/kernel/snd-soc-stresslab-dpcm): offered once the lab has `--hw dpcm`.
  dpcm: { id: 'StressDPCM', kinds: ['pcm', 'soc-dpcm'], streams: { playback: 1 }, controls: ['Speaker Switch', 'Headphone Switch'] },
};
const VM_SEQUENCER = ['System', 'Timer', 'Announce', 'Midi Through', 'Midi Through Port-0'];

/** The virtual lab's hardware names, with the dpcm test card when this build's lab has it. */
function vmHwNames(): string[] {
  return [...HW_NAMES];
}

export function vmInventory(hw: readonly string[] = DEFAULT_HW): Inventory {
  return {
    target: 'vm',
    label: `the virtual lab with --hw ${hw.join(',')}`,
    cards: hw.map((h) => VM_CARDS[h]).filter((c): c is CardOffer => Boolean(c)),
    ...(hw.includes('seq-dummy') ? { sequencer: VM_SEQUENCER } : {}),
  };
}

/** Cards of a device listing (the simulated machine's, this machine's /proc/asound). */
export function inventoryFromDevices(list: DeviceList, label: string): Inventory {
  const cards: CardOffer[] = list.cards.map((c) => {
    const pcms = list.pcms.filter((p) => p.card === c.index);
    const streams: Partial<Record<StreamDir, number>> = {};
    for (const p of pcms) streams[p.stream] = Math.max(streams[p.stream] ?? 0, p.subdevices);
    const kinds: CardKind[] = pcms.length ? ['pcm'] : [];
    if (c.driver === 'USB-Audio') kinds.push('usb');
    if (c.driver === 'Loopback') kinds.push('loopback');
    // ASoC names a DPCM front end's PCM "<link> (*)" (soc-pcm.c soc_new_pcm)
    if (pcms.some((p) => /\(\*\)\s*$/.test(p.id) || /\(\*\)\s*$/.test(p.name))) kinds.push('soc-dpcm');
    const ctls = list.controls?.filter((x) => x.card === c.index).map((x) => x.name);
    return { id: c.id, kinds, streams, ...(list.controls ? { controls: ctls ?? [] } : {}) };
  });
  const seq = list.seqClients.flatMap((c) => [c.name, ...c.ports.map((p) => p.name)]);
  return { target: list.target, label, cards, ...(list.seqClients.length ? { sequencer: seq } : {}) };
}

export interface HardwareMatch {
  /** Steps' card id → the target's card id, for needs mapped to a card of another name. */
  binding: Record<string, string>;
  /** What could not be mapped, one line per need. */
  missing: string[];
  /** What was mapped to another card, or could not be checked. */
  notes: string[];
}

function lacks(need: CardNeed, c: CardOffer): string | null {
  if (!c.kinds.includes(need.kind)) return `is ${c.kinds.includes('usb') ? 'a USB card' : c.kinds.filter((k) => k !== 'pcm')[0] ?? 'a plain PCM card'}, not ${need.kind}`;
  for (const d of need.streams) {
    const n = c.streams[d];
    if (!n) return `has no ${d} stream`;
    if (need.subdevices && n < need.subdevices) return `has ${n} ${d} substream${n > 1 ? 's' : ''}, ${need.subdevices} are used at once`;
  }
  if (c.controls) {
    const gone = need.controls.filter((n) => !c.controls!.includes(n));
    if (gone.length) return `has no control ${gone.map((n) => `"${n}"`).join(', ')}`;
  }
  return null;
}

export function matchNeeds(needs: HardwareNeeds, inv: Inventory): HardwareMatch {
  const binding: Record<string, string> = {};
  const missing: string[] = [];
  const notes: string[] = [];
  const taken = new Set<string>();
  for (const need of needs.cards) {
    const same = inv.cards.find((c) => c.id === need.card);
    const sameWhy = same ? lacks(need, same) : 'absent';
    let chosen = same && !sameWhy ? same : undefined;
    if (!chosen) chosen = inv.cards.find((c) => c.id !== need.card && !taken.has(c.id) && !needs.cards.some((n) => n.card === c.id) && !lacks(need, c));
    if (!chosen) {
      const kin = inv.cards.filter((c) => c.id !== need.card && c.kinds.includes(need.kind) && !needs.cards.some((n) => n.card === c.id));
      const why = same
        ? `card ${same.id} here ${sameWhy}`
        : kin.length
          ? `no card of that name, and ${kin.slice(0, 3).map((c) => `the ${need.kind} card ${c.id} ${lacks(need, c) ?? 'is used for another card'}`).join('; ')}`
          : need.kind === 'pcm'
            ? 'no card of that name, and no other card with what it needs'
            : `no ${need.kind} card`;
      missing.push(`${cardNeedText(need)}: ${why}`);
      continue;
    }
    taken.add(chosen.id);
    if (chosen.id !== need.card) {
      binding[need.card] = chosen.id;
      notes.push(`card "${need.card}" is mapped to ${inv.label.startsWith('the') ? '' : 'card '}${chosen.id} (${need.kind})`);
    }
    if (!chosen.controls && need.controls.length) notes.push(`the controls of ${chosen.id} are not known before the run and were not checked: ${need.controls.join(', ')}`);
  }
  if (needs.sequencer) {
    if (!inv.sequencer) missing.push(`${sequencerNeedText(needs.sequencer)}: no sequencer`);
    else {
      const gone = needs.sequencer.ports.filter((p) => !inv.sequencer!.some((n) => n.includes(p)));
      if (gone.length) missing.push(`${sequencerNeedText(needs.sequencer)}: no port ${gone.map((p) => `"${p}"`).join(', ')}`);
    }
  }
  return { binding, missing, notes };
}

/** Virtual hardware (not yet in `hw`) that would satisfy each missing need: "--hw usb-audio". */
function vmHints(needs: HardwareNeeds, hw: readonly string[]): string[] {
  const names = vmHwNames().filter((h) => !hw.includes(h));
  const out = new Set<string>();
  for (const need of needs.cards) {
    if (!matchNeeds({ cards: [need] }, vmInventory(hw)).missing.length) continue;
    const h = names.find((n) => VM_CARDS[n] && !lacks(need, VM_CARDS[n]!));
    if (h) out.add(h);
  }
  if (needs.sequencer && !hw.includes('seq-dummy')) out.add('seq-dummy');
  return [...out];
}

export interface VariantInfo {
  name: string;
  scenario: Scenario;
}

export interface HardwareCheck {
  ok: boolean;
  binding: Record<string, string>;
  notes: string[];
  /** The refusal, several lines, when !ok. */
  refusal?: string;
}

/**
 * Can `scenario` run on this inventory? `related` are the presets of its
 * family (its variants, the preset it is a variant of): those that would run
 * here are offered in the refusal. `hw` is the virtual lab's hardware list
 * (vm only), to name the --hw that has what is missing.
 */
export function checkHardware(scenario: Scenario, inv: Inventory, o: { related?: VariantInfo[]; hw?: readonly string[] } = {}): HardwareCheck {
  if (scenario.suite) return { ok: true, binding: {}, notes: [] };
  const needs = needsOf(scenario);
  const m = matchNeeds(needs, inv);
  if (!m.missing.length) {
    // Mapped onto cards of other names: a variant written for this hardware may drive it better.
    const exact = Object.keys(m.binding).length ? (o.related ?? []).filter((v) => v.name !== scenario.name && v.scenario.variantOf === (scenario.variantOf ?? scenario.name) && (() => { const x = matchNeeds(needsOf(v.scenario), inv); return !x.missing.length && !Object.keys(x.binding).length; })()) : [];
    return { ok: true, binding: m.binding, notes: [...m.notes, ...exact.map((v) => `variant ${v.name} is written for this hardware (stresslab run ${v.name} --target ${inv.target})`)] };
  }
  const lines = [`${scenario.name} needs hardware that ${inv.label} does not have:`, ...m.missing.map((x) => `  ${x}`)];
  if (inv.target === 'vm') {
    const hints = vmHints(needs, o.hw ?? DEFAULT_HW);
    if (hints.length) lines.push(`  the virtual lab has it with --hw ${[...(o.hw ?? DEFAULT_HW), ...hints].join(',')}`);
  } else {
    const vm = matchNeeds(needs, vmInventory(vmHwNames()));
    if (!vm.missing.length) lines.push(`  the virtual lab has it: --target vm${vmHints(needs, DEFAULT_HW).length ? ` --hw ${[...DEFAULT_HW, ...vmHints(needs, DEFAULT_HW)].join(',')}` : ''}`);
  }
  // Those that run on this hardware as written first, then those mapped onto it.
  const fits = (o.related ?? [])
    .map((v) => ({ ...v, m: matchNeeds(needsOf(v.scenario), inv) }))
    .filter((v) => v.name !== scenario.name && !v.m.missing.length)
    .sort((x, y) => Object.keys(x.m.binding).length - Object.keys(y.m.binding).length);
  if (fits.length) lines.push(`  ${fits.length > 1 ? 'variants that run' : 'a variant that runs'} on ${inv.target}: ${fits.map((v) => v.name).join(', ')} (stresslab run ${fits[0]!.name} --target ${inv.target})`);
  else if (inv.target === 'vm') {
    const elsewhere = (o.related ?? []).filter((v) => v.name !== scenario.name).map((v) => ({ v, hw: vmHints(needsOf(v.scenario), o.hw ?? DEFAULT_HW) })).filter((x) => x.hw.length && !matchNeeds(needsOf(x.v.scenario), vmInventory([...(o.hw ?? DEFAULT_HW), ...x.hw])).missing.length);
    for (const x of elsewhere) lines.push(`  variant ${x.v.name} runs with --hw ${[...(o.hw ?? DEFAULT_HW), ...x.hw].join(',')}`);
  }
  return { ok: false, binding: m.binding, notes: m.notes, refusal: lines.join('\n') };
}

/** The scenario with its steps (and needs) on the target's card names. */
export function bindCards(sc: Scenario, binding: Record<string, string>): Scenario {
  if (!Object.keys(binding).length) return sc;
  const step = (s: Step): Step => {
    const args = { ...s.args };
    if (typeof args.card === 'string' && binding[args.card]) args.card = binding[args.card];
    if (s.op === 'pa.open' && args.device) args.device = mapDevice(args.device, binding);
    return { ...s, args };
  };
  return {
    ...sc,
    setup: sc.setup.map(step),
    lanes: sc.lanes.map((l) => ({ ...l, steps: l.steps.map(step) })),
    teardown: sc.teardown.map(step),
    ...(sc.requires ? { requires: { ...sc.requires, cards: sc.requires.cards.map((c) => ({ ...c, card: binding[c.card] ?? c.card })) } } : {}),
  };
}

function mapDevice(v: unknown, binding: Record<string, string>): unknown {
  const one = (d: unknown) => (typeof d === 'string' ? d.replace(/^((?:plug)?hw:(?:CARD=)?)([A-Za-z0-9_-]+)/, (all, pre: string, id: string) => (binding[id] ? pre + binding[id] : all)) : d);
  if (v && typeof v === 'object' && (v as { kind?: string }).kind === 'list') return { ...(v as object), values: (v as { values: unknown[] }).values.map(one) };
  return one(v);
}

/** The vm hardware names, for callers that list them (the DPCM card appears here when the lab has it). */
export function vmHardwareOffers(): { hw: string; card: CardOffer | null }[] {
  return vmHwNames().map((hw) => ({ hw, card: VM_CARDS[hw] ?? null }));
}

export type { HwName };

/**
 * What a target has, known before it runs anything: null for a target this
 * module does not know (a registered test target), which is then not checked.
 */
export function inventoryFor(targetId: string, o: { hw?: readonly string[]; sim?: () => DeviceList; local?: () => DeviceList } = {}): Inventory | null {
  if (targetId === 'sim' || targetId === 'slow-boot') return inventoryFromDevices((o.sim ?? simDeviceList)(), 'the simulated kernel');
  if (targetId === 'vm') return vmInventory(o.hw ?? DEFAULT_HW);
  if (targetId === 'local') return inventoryFromDevices((o.local ?? localDeviceList)(), 'this machine');
  return null;
}

/**
 * The one check the CLI and the app make before a run: the scenario on the
 * target's card names, and notes on what was mapped; a HardwareRefusal (with
 * the text both print) when the target lacks something.
 */
export function hardwareFor(scenario: Scenario, targetId: string, o: { hw?: readonly string[]; related?: VariantInfo[]; sim?: () => DeviceList; local?: () => DeviceList } = {}): { scenario: Scenario; notes: string[] } {
  const inv = inventoryFor(targetId, o);
  if (!inv) return { scenario, notes: [] };
  const r = checkHardware(scenario, inv, o);
  if (!r.ok) throw new HardwareRefusal(r.refusal!);
  return { scenario: bindCards(scenario, r.binding), notes: r.notes };
}

/** A preset whose hardware the target lacks: a usage error (exit 2), refused before anything runs. */
export class HardwareRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HardwareRefusal';
  }
}
