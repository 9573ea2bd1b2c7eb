// What hardware a preset needs, as the preset states it (`requires:`) and as
// its steps imply it. Targets map these needs to the devices they have (or
// refuse before the run: app/targets/hardware.ts); this module only says what
// a need is, checks it like every other preset field, and reads the needs a
// preset's steps imply, so a preset without `requires:` is still checked by
// the cards and sequencer it names.
import { type Issue, type Path, bool, closest, int, list, obj, oneOf, str } from './schema.js';
import type { Scenario, Step } from './scenario.js';

/**
 * Kinds of card a preset can ask for. A kind says what the card can do that
 * the scenario depends on, not which driver it is: a target maps it to a card
 * it has.
 */
export const CARD_KINDS = ['pcm', 'loopback', 'soc-dpcm', 'usb'] as const;
export type CardKind = (typeof CARD_KINDS)[number];

export const CARD_KIND_TEXT: Record<CardKind, string> = {
  pcm: 'any card with PCM streams',
  loopback: 'a loopback card: what one substream plays, its peer captures (snd-aloop)',
  'soc-dpcm': 'an ASoC card with a DPCM front end, back ends and routing controls that connect them (soc-pcm.c)',
  usb: 'a USB audio card that can be unplugged while its files are open (snd-usb-audio, hot-plug)',
};

export type StreamDir = 'playback' | 'capture';

export interface CardNeed {
  /** The card id the preset's steps use (card: X, hw:X,N). */
  card: string;
  kind: CardKind;
  /** Streams the steps open on it. */
  streams: StreamDir[];
  /** Substreams of one direction the steps use at once (subdevice: N). */
  subdevices?: number;
  /** Control element names the steps write or read. */
  controls: string[];
}

export interface SequencerNeed {
  /** Kernel clients' ports the steps connect to by name ("Midi Through"). */
  ports: string[];
}

export interface HardwareNeeds {
  cards: CardNeed[];
  sequencer?: SequencerNeed;
}

const cardId = str({ pattern: /^[A-Za-z0-9_ -]{1,32}$/, expected: 'a card id (as in /proc/asound/cards)' });
const streamS = oneOf(['playback', 'capture'] as const, 'a stream direction, one of');
const cardNeedS = obj(
  { card: cardId, kind: oneOf(CARD_KINDS, 'a kind of card, one of') },
  { streams: list(streamS, { min: 1, max: 2 }), subdevices: int({ min: 1, max: 32 }), controls: list(str({ maxLength: 44, expected: 'a control name' }), { max: 64 }) },
  'a card the preset needs',
);
const seqS = obj({}, { ports: list(str({ maxLength: 63, expected: 'a port name' }), { max: 16 }) }, 'what the preset needs of the sequencer');

export const REQUIRES_EXPECTED = 'a map with optional keys cards (a list of {card, kind, streams, subdevices, controls}), sequencer (true or {ports})';
export const REQUIRES_SCHEMA = obj({}, { cards: list(cardNeedS, { max: 8 }), sequencer: { expected: 'true, or a map with optional key ports', check: (v: unknown, path: Path, issues: Issue[]) => (v === true || v === false ? bool.check(v, path, issues) : seqS.check(v, path, issues)) } }, 'hardware needs');

/** `requires:` of a preset file; undefined (with issues) when it does not validate. */
export function checkRequires(raw: unknown, path: Path, issues: Issue[]): HardwareNeeds | undefined {
  const r = REQUIRES_SCHEMA.check(raw, path, issues);
  if (!r) return undefined;
  const cards: CardNeed[] = [];
  const seen = new Set<string>();
  (r.cards ?? []).forEach((c, i) => {
    if (seen.has(c.card)) issues.push({ path: [...path, 'cards', i, 'card'], message: `card "${c.card}" is listed twice` });
    seen.add(c.card);
    cards.push({ card: c.card, kind: c.kind, streams: c.streams ? [...new Set(c.streams)] : [], ...(c.subdevices ? { subdevices: c.subdevices } : {}), controls: c.controls ?? [] });
  });
  const s = r.sequencer;
  return { cards, ...(s === true ? { sequencer: { ports: [] } } : s && typeof s === 'object' ? { sequencer: { ports: s.ports ?? [] } } : {}) };
}

/** A card named by a step: `card: X` (pcm.open, ctl.*, device.*) or a PortAudio device `hw:X,N`. */
function cardsOf(s: Step): string[] {
  const out: string[] = [];
  // pcm.sweep's card "all" names no card: it covers whatever PCM devices the target has
  if (typeof s.args.card === 'string' && !(s.op === 'pcm.sweep' && s.args.card === 'all')) out.push(s.args.card);
  if (s.op === 'pa.open') for (const d of varyingValues(s.args.device)) {
    const m = /^(?:plug)?hw:(?:CARD=)?([A-Za-z0-9_-]+)/.exec(d);
    if (m && !/^\d+$/.test(m[1]!)) out.push(m[1]!);
  }
  return out;
}

function varyingValues(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (v && typeof v === 'object' && (v as { kind?: string }).kind === 'list') return ((v as { values: unknown[] }).values).filter((x): x is string => typeof x === 'string');
  return [];
}

const usesSequencer = (s: Step) => s.op.startsWith('seq.') || s.op.startsWith('midi.');

/**
 * What the steps themselves need: every card they name (a PCM card, with
 * the streams, substreams and controls used on it) and the sequencer.
 */
export function impliedNeeds(steps: readonly Step[]): HardwareNeeds {
  const cards = new Map<string, CardNeed>();
  const need = (card: string) => {
    let c = cards.get(card);
    if (!c) cards.set(card, (c = { card, kind: 'pcm', streams: [], controls: [] }));
    return c;
  };
  const subs = new Map<string, Set<number>>();
  for (const s of steps) {
    for (const card of cardsOf(s)) {
      const c = need(card);
      if (s.op === 'pcm.open') {
        const dir = (s.args.stream as StreamDir | undefined) ?? 'playback';
        if (!c.streams.includes(dir)) c.streams.push(dir);
        const sub = s.args.subdevice as number | undefined;
        if (sub !== undefined && sub >= 0) {
          const key = `${card}\u0000${dir}`;
          let set = subs.get(key);
          if (!set) subs.set(key, (set = new Set()));
          set.add(sub);
          c.subdevices = Math.max(c.subdevices ?? 0, Math.max(...set) + 1);
        }
      }
      if (s.op === 'pa.open') {
        const dir = (s.args.direction as StreamDir | undefined) ?? 'playback';
        if (!c.streams.includes(dir)) c.streams.push(dir);
      }
      if (s.op.startsWith('ctl.') && typeof s.args.name === 'string' && !c.controls.includes(s.args.name)) c.controls.push(s.args.name);
    }
  }
  const ports = new Set<string>();
  for (const s of steps) if (s.op === 'midi.open' && typeof s.args.port === 'string' && !/^\d+(:\d+)?$/.test(s.args.port)) ports.add(s.args.port);
  const seq = steps.some(usesSequencer);
  return { cards: [...cards.values()], ...(seq ? { sequencer: { ports: [...ports] } } : {}) };
}

/**
 * Cross-checks of a preset's `requires:` against its steps: a card, stream,
 * control or the sequencer that a step uses and `requires:` leaves out is a
 * mistake in the preset (a target would map the wrong thing).
 */
export function checkRequiresAgainstSteps(req: HardwareNeeds, steps: readonly Step[], issues: Issue[]): void {
  const implied = impliedNeeds(steps);
  const listed = req.cards.map((c) => c.card);
  implied.cards.forEach((u) => {
    const i = listed.indexOf(u.card);
    if (i < 0) {
      const near = closest(u.card, listed);
      issues.push({ path: ['requires', 'cards'], message: `the steps use card "${u.card}", which requires.cards does not list${near ? ` (did you mean "${near}"?)` : ''}` });
      return;
    }
    const c = req.cards[i]!;
    for (const d of u.streams) if (c.streams.length && !c.streams.includes(d)) issues.push({ path: ['requires', 'cards', i, 'streams'], message: `the steps open a ${d} stream on "${c.card}", which its streams do not list` });
    if (u.subdevices && (c.subdevices ?? 1) < u.subdevices) issues.push({ path: ['requires', 'cards', i, 'subdevices'], message: `the steps use ${u.subdevices} substreams of "${c.card}" at once (subdevice up to ${u.subdevices - 1}); subdevices says ${c.subdevices ?? 1}` });
    for (const n of u.controls) if (!c.controls.includes(n)) issues.push({ path: ['requires', 'cards', i, 'controls'], message: `the steps use control "${n}" of "${c.card}", which its controls do not list` });
  });
  if (implied.sequencer && !req.sequencer) issues.push({ path: ['requires'], message: 'the steps use the sequencer (seq.*, midi.*); add "sequencer: true" (or sequencer: {ports: [...]})' });
  if (implied.sequencer && req.sequencer) for (const p of implied.sequencer.ports) if (!req.sequencer.ports.includes(p)) issues.push({ path: ['requires', 'sequencer'], message: `the steps connect to port "${p}", which sequencer.ports does not list` });
}

/** A preset's needs: what it states, or else what its steps imply. */
export function needsOf(sc: Scenario): HardwareNeeds {
  if (sc.requires) return sc.requires;
  return impliedNeeds([...sc.setup, ...sc.lanes.flatMap((l) => l.steps), ...sc.teardown]);
}

/** One need in words, as listings and refusals print it: `card "SimSoC" (soc-dpcm; playback; controls Speaker Switch, Headphone Switch)`. */
export function cardNeedText(c: CardNeed): string {
  const parts = [c.kind, ...(c.streams.length ? [c.streams.join('+')] : []), ...(c.subdevices && c.subdevices > 1 ? [`${c.subdevices} substreams`] : []), ...(c.controls.length ? [`controls ${c.controls.map((n) => `"${n}"`).join(', ')}`] : [])];
  return `card "${c.card}" (${parts.join('; ')})`;
}

export function sequencerNeedText(s: SequencerNeed): string {
  return s.ports.length ? `the sequencer with port${s.ports.length > 1 ? 's' : ''} ${s.ports.map((p) => `"${p}"`).join(', ')}` : 'the sequencer';
}

/** Short form for listings: "soc-dpcm SimSoC, sequencer". */
export function needsSummary(n: HardwareNeeds): string {
  const parts = n.cards.map((c) => `${c.kind} ${c.card}`);
  if (n.sequencer) parts.push(n.sequencer.ports.length ? `sequencer (${n.sequencer.ports.join(', ')})` : 'sequencer');
  return parts.join(', ') || 'nothing';
}
