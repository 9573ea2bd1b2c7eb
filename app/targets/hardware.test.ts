// One preset, every target: a preset's hardware needs are validated like every
// other field (all problems in one pass), implied by its steps when it states
// none, and mapped onto each target's cards or refused before the run with
// what is missing, where it is, and which variant runs instead.
import { describe, expect, it } from 'vitest';
import { checkPreset } from '../vocabulary/preset-file.js';
import { impliedNeeds, needsOf } from '../vocabulary/hardware.js';
import { PresetLibrary } from '../engine/presets.js';
import { HardwareRefusal, bindCards, checkHardware, hardwareFor, inventoryFor, inventoryFromDevices, vmInventory } from './hardware.js';
import { simDeviceList } from '../sim/devices.js';
import { allSteps, type Scenario } from '../vocabulary/scenario.js';
import type { DeviceList } from '../devices/types.js';

const lib = new PresetLibrary();
const sc = (name: string) => lib.load(name).scenario;
const problems = (text: string) => checkPreset(text, 'x.yaml').problems.map((p) => `${p.line}:${p.path}: ${p.message}`);

const BASE = `name: t
lanes:
  - name: a
    loop:
      - pcm.open: { handle: p, card: SimSoC, stream: playback, subdevice: 1 }
      - ctl.write: { card: SimSoC, name: Speaker Switch, value: true }
      - seq.open: { handle: s }
      - pcm.close: p
      - seq.close: s
`;

describe('requires: in a preset', () => {
  it('a valid requires parses into needs', () => {
    const r = checkPreset(BASE + `requires:\n  cards:\n    - { card: SimSoC, kind: soc-dpcm, streams: [playback], subdevices: 2, controls: [Speaker Switch] }\n  sequencer: true\n`, 'x.yaml');
    expect(r.problems).toEqual([]);
    expect(r.scenario!.requires).toEqual({ cards: [{ card: 'SimSoC', kind: 'soc-dpcm', streams: ['playback'], subdevices: 2, controls: ['Speaker Switch'] }], sequencer: { ports: [] } });
  });

  it('every mistake is reported in one pass, with its line and path', () => {
    const p = problems(
      BASE +
        `requires:
  cards:
    - { card: SimSoc, kind: soc-dpmc, streams: [playbak] }
    - { card: Dummy, kind: pcm, colour: red }
  sequencr: true
`,
    );
    expect(p.join('\n')).toMatch(/requires\.cards\[0\]\.kind: expected a kind of card, one of "pcm", "loopback", "soc-dpcm", "usb", got "soc-dpmc" \(did you mean "soc-dpcm"\?\)/);
    expect(p.join('\n')).toMatch(/requires\.cards\[0\]\.streams\[0\]: expected a stream direction/);
    expect(p.join('\n')).toMatch(/requires\.cards\[1\]\.colour: unknown key "colour"/);
    expect(p.join('\n')).toMatch(/requires\.sequencr: unknown key "sequencr" \(did you mean "sequencer"\?\)/);
    expect(p.length).toBeGreaterThanOrEqual(4);
    expect(p.every((x) => !x.startsWith('undefined'))).toBe(true);
  });

  it('requires must cover what the steps use: cards, streams, substreams, controls, the sequencer', () => {
    const p = problems(BASE + `requires:\n  cards:\n    - { card: SimSoc, kind: soc-dpcm, streams: [capture] }\n`).join('\n');
    expect(p).toMatch(/the steps use card "SimSoC", which requires.cards does not list \(did you mean "SimSoc"\?\)/);
    expect(p).toMatch(/the steps use the sequencer/);
    const q = problems(BASE + `requires:\n  cards:\n    - { card: SimSoC, kind: soc-dpcm, streams: [capture] }\n  sequencer: true\n`).join('\n');
    expect(q).toMatch(/the steps open a playback stream on "SimSoC", which its streams do not list/);
    expect(q).toMatch(/the steps use 2 substreams of "SimSoC" at once/);
    expect(q).toMatch(/the steps use control "Speaker Switch" of "SimSoC", which its controls do not list/);
  });

  it('variant_of is checked, and a suite takes neither field', () => {
    expect(problems(BASE.replace('name: t', 'name: t\nvariant_of: t')).join()).toMatch(/variant_of: a preset cannot be a variant of itself/);
    expect(problems(BASE.replace('name: t', 'name: t\nvariant_of: Not A Name')).join()).toMatch(/variant_of: expected the name of the preset this one is a variant of/);
    expect(problems(`name: s\nsuite: [{ preset: demo }]\nrequires: { sequencer: true }\n`).join()).toMatch(/a suite preset runs other presets and cannot have "requires"/);
  });

  it('without requires, the needs are what the steps name', () => {
    const s = checkPreset(BASE, 'x.yaml').scenario!;
    expect(needsOf(s)).toEqual({ cards: [{ card: 'SimSoC', kind: 'pcm', streams: ['playback'], subdevices: 2, controls: ['Speaker Switch'] }], sequencer: { ports: [] } });
    // PortAudio device strings and RtMidi ports name hardware too
    expect(impliedNeeds(allSteps(sc('stream-rapid-cycle'))).cards.map((c) => c.card)).toEqual(['Dummy', 'Loopback']);
    expect(impliedNeeds(allSteps(sc('midi-flood'))).sequencer).toEqual({ ports: ['Midi Through'] });
  });

  it('every built-in preset states its hardware, and every variant names a preset of its family', () => {
    const all = lib.scenarios();
    expect(all.length).toBe(lib.files().length);
    for (const { name, scenario } of all) {
      if (scenario.suite) continue;
      expect(scenario.requires, name).toBeDefined();
      if (scenario.variantOf) {
        const base = all.find((p) => p.name === scenario.variantOf);
        expect(base, `${name}: variant_of ${scenario.variantOf}`).toBeDefined();
        expect(base!.scenario.family, name).toBe(scenario.family);
      }
    }
    expect(all.filter((p) => p.scenario.variantOf).map((p) => p.name).sort()).toEqual(expect.arrayContaining(['detach-while-open-usb', 'dpcm-route-change-ac97', 'stop-close-race-vm']));
  });
});

describe('mapping needs onto a target', () => {
  const sim = inventoryFromDevices(simDeviceList(), 'the simulated kernel');
  const vm = vmInventory();

  it('the simulated kernel lists its cards by kind, with controls and the sequencer', () => {
    expect(sim.cards.map((c) => [c.id, c.kinds])).toEqual([
      ['Dummy', ['pcm']],
      ['SimSoC', ['pcm', 'soc-dpcm']],
      ['SimUSB', ['pcm', 'usb']],
      ['Loopback', ['pcm', 'loopback']],
    ]);
    expect(sim.cards[1]!.controls).toEqual(['Speaker Switch', 'Headphone Switch']);
    expect(sim.sequencer).toContain('Midi Through');
  });

  it('every built-in preset runs on the simulated kernel or is refused for hardware it lacks, never mapped onto a device that cannot do it', () => {
    const refused: string[] = [];
    for (const { name, scenario } of lib.scenarios()) {
      if (!checkHardware(scenario, sim).ok) refused.push(name);
    }
    // the sim-family presets all run (the simulated loopback card included); the virtual lab's variants written for cards the sim has no kind of are refused
    expect(refused.sort()).toEqual(['detach-while-open-usb', 'dpcm-route-change-ac97']);
  });

  it('dpcm-route-change on the virtual lab: refused, naming the SoC card and the AC97 variant (before: ten unexpected-errno findings)', () => {
    const r = checkHardware(sc('dpcm-route-change'), vm, { related: lib.related(sc('dpcm-route-change')) });
    expect(r.ok).toBe(false);
    expect(r.refusal).toMatch(/^dpcm-route-change needs hardware that the virtual lab with --hw dummy,aloop,seq-dummy,ac97,usb-audio,hda does not have:/);
    expect(r.refusal).toMatch(/card "SimSoC" \(soc-dpcm; playback; controls "Speaker Switch", "Headphone Switch"\): no soc-dpcm card/);
    expect(r.refusal).toMatch(/a variant that runs on vm: dpcm-route-change-ac97 \(stresslab run dpcm-route-change-ac97 --target vm\)/);
    // the StressDPCM test card has what it needs
    expect(r.refusal).toMatch(/the virtual lab has it with --hw dummy,aloop,seq-dummy,ac97,usb-audio,hda,dpcm/);
  });

  it('dpcm-route-change with --hw dpcm maps the SoC card onto StressDPCM, and names the variant written for it', () => {
    const r = checkHardware(sc('dpcm-route-change'), vmInventory(['dpcm']), { hw: ['dpcm'], related: lib.related(sc('dpcm-route-change')) });
    expect(r).toMatchObject({ ok: true, binding: { SimSoC: 'StressDPCM' } });
    expect(r.notes).toEqual(['card "SimSoC" is mapped to StressDPCM (soc-dpcm)', 'variant dpcm-route-change-stressdpcm is written for this hardware (stresslab run dpcm-route-change-stressdpcm --target vm)']);
  });

  it('detach-while-open on the virtual lab: the USB card there plays only and has other controls, so it is refused for the usb variant', () => {
    const r = checkHardware(sc('detach-while-open'), vm, { related: lib.related(sc('detach-while-open')) });
    expect(r.ok).toBe(false);
    expect(r.refusal).toMatch(/card "SimUSB" \(usb; playback\+capture; controls "PCM Playback Volume"\): no card of that name, and the usb card Audio has no capture stream/);
    expect(r.refusal).toMatch(/variants that run on vm: detach-while-open-dummy, detach-while-open-usb, detach-window \(stresslab run detach-while-open-dummy --target vm\)/);
  });

  it('a lab booted without the hardware names the --hw that has it', () => {
    const r = checkHardware(sc('detach-while-open-usb'), vmInventory(['dummy']), { hw: ['dummy'] });
    expect(r.ok).toBe(false);
    expect(r.refusal).toMatch(/card "Audio" \(usb; playback; controls "Audio Output Volume Control Playback Volume"\): no usb card/);
    expect(r.refusal).toMatch(/the virtual lab has it with --hw dummy,usb-audio/);
    const s = checkHardware(sc('seq-pool-resize'), vmInventory(['dummy']), { hw: ['dummy'] });
    expect(s.refusal).toMatch(/the sequencer: no sequencer/);
    expect(s.refusal).toMatch(/--hw dummy,seq-dummy/);
    const t = checkHardware(sc('stop-close-race'), vmInventory(['ac97']), { hw: ['ac97'] });
    expect(t.refusal).toMatch(/card "Dummy" \(pcm; playback; 4 substreams\): no card of that name, and the pcm card I82801AAICH has 1 playback substream, 4 are used at once/);
    expect(t.refusal).toMatch(/--hw ac97,dummy/);
  });

  it('a need maps to a card of another name that can do it all, and the steps are rewritten to use it', () => {
    const variant = sc('stop-close-race-vm');
    const renamed: Scenario = JSON.parse(JSON.stringify(variant).replaceAll('"Dummy"', '"MyCard"'));
    const r = checkHardware(renamed, sim);
    expect(r).toMatchObject({ ok: true, binding: { MyCard: 'Dummy' } });
    expect(r.notes[0]).toMatch(/card "MyCard" is mapped to Dummy \(pcm\)/);
    const bound = bindCards(renamed, r.binding);
    expect(new Set(allSteps(bound).map((s) => s.args.card).filter(Boolean))).toEqual(new Set(['Dummy']));
    expect(bound.requires!.cards[0]!.card).toBe('Dummy');
    // a PortAudio device string is rewritten too
    const pa = bindCards(sc('stream-disconnect'), { Audio: 'SimUSB' });
    expect(allSteps(pa).find((s) => s.op === 'pa.open')!.args.device).toEqual({ kind: 'list', values: ['hw:SimUSB,0'] });
  });

  it('every target: local maps what /proc/asound lists (a USB card by its driver, a DPCM front end by "(*)")', () => {
    const list: DeviceList = {
      target: 'local',
      cards: [{ index: 0, id: 'PCH', driver: 'HDA-Intel', name: 'HDA Intel PCH', longname: '' }, { index: 1, id: 'Headset', driver: 'USB-Audio', name: 'USB Headset', longname: '' }],
      pcms: [
        { card: 0, cardId: 'PCH', cardName: '', device: 0, id: 'ALC', name: 'ALC', stream: 'playback', subdevices: 1, subdevicesAvail: 1, subdeviceNames: [] },
        { card: 1, cardId: 'Headset', cardName: '', device: 0, id: 'USB Audio', name: 'USB Audio', stream: 'playback', subdevices: 1, subdevicesAvail: 1, subdeviceNames: [] },
        { card: 1, cardId: 'Headset', cardName: '', device: 0, id: 'USB Audio', name: 'USB Audio', stream: 'capture', subdevices: 1, subdevicesAvail: 1, subdeviceNames: [] },
      ],
      seqClients: [],
      notes: [],
    };
    const inv = inventoryFor('local', { local: () => list })!;
    expect(inv.cards.map((c) => c.kinds)).toEqual([['pcm'], ['pcm', 'usb']]);
    // no control list from /proc/asound: controls are named as not checked, not refused
    const r = checkHardware(sc('detach-while-open'), inv);
    expect(r).toMatchObject({ ok: true, binding: { SimUSB: 'Headset' } });
    expect(r.notes.join()).toMatch(/controls of Headset are not known before the run and were not checked: PCM Playback Volume/);
    expect(() => hardwareFor(sc('seq-pool-resize'), 'local', { local: () => list })).toThrow(HardwareRefusal);
    expect(() => hardwareFor(sc('seq-pool-resize'), 'local', { local: () => list })).toThrow(/seq-pool-resize needs hardware that this machine does not have:\n {2}the sequencer: no sequencer\n {2}the virtual lab has it: --target vm/);
  });

  it('a target the module does not know is not checked', () => {
    expect(inventoryFor('remote')).toBeNull();
    const s0 = sc('dpcm-route-change');
    expect(hardwareFor(s0, 'remote')).toEqual({ scenario: s0, notes: [] });
  });
});
