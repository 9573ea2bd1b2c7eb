// The vocabulary's reference, generated from the schemas that validate
// presets (scenario.ts, ops.ts) and the defaults the program compiler writes
// in (app/program/defaults.ts): `stresslab ops` and `ops --json` list it,
// `stresslab ops --markdown` writes docs/vocabulary.md, and vocabulary.test.ts
// fails when the checked-in page differs from what the code says. Every key a
// schema accepts must have a line in DESCRIPTIONS below (the test checks),
// so a new key cannot land undocumented.
import { OPS, STEP_MODIFIERS, isModifier, type OpSpec } from '../vocabulary/ops.js';
import { PRESET_SCHEMAS, DEFAULT_HANG_TIMEOUT, RACE_FAMILIES } from '../vocabulary/scenario.js';
import { REQUIRES_SCHEMA } from '../vocabulary/hardware.js';
import type { Schema } from '../vocabulary/schema.js';
import { formatDuration } from '../vocabulary/duration.js';
import { opDefaults, type ArgDefault } from '../program/defaults.js';
import { simBugSwitches } from '../targets/sim/options.js';

export interface ArgDoc {
  name: string;
  required: boolean;
  /** What the validator accepts: type and range. */
  type: string;
  /** What the program writes in when the preset leaves it out. */
  default?: unknown;
  note?: string;
}

export interface OpDoc {
  name: string;
  family: string;
  summary: string;
  /** The ALSA call it maps to. */
  kernel: string;
  /** `op: value` fills this argument. */
  shorthand?: string;
  opens?: string;
  uses?: string;
  args: ArgDoc[];
  /** Arguments that may not appear together. */
  exclusive?: string[][];
}

export function opDoc(o: OpSpec): OpDoc {
  const f = o.args.fields!;
  const defaults = opDefaults(o.name);
  const arg = (name: string, s: Schema<unknown>, required: boolean): ArgDoc => {
    const d: ArgDefault | undefined = defaults[name];
    return { name, required, type: s.expected, ...(d?.value !== undefined ? { default: d.value } : {}), ...(d?.note ? { note: d.note } : {}) };
  };
  return {
    name: o.name,
    family: o.family,
    summary: o.summary,
    kernel: o.kernel,
    ...(o.shorthand ? { shorthand: o.shorthand } : {}),
    ...(o.opens ? { opens: o.opens } : {}),
    ...(o.uses ? { uses: o.uses } : {}),
    args: [...Object.entries(f.required).map(([k, s]) => arg(k, s, true)), ...Object.entries(f.optional).filter(([k]) => !isModifier(k)).map(([k, s]) => arg(k, s, false))],
    ...(o.exclusive ? { exclusive: o.exclusive } : {}),
  };
}

export function opDocs(): OpDoc[] {
  return OPS.map(opDoc);
}

/** One line per key the preset format accepts, by section ("preset", "lane", "expect", "expect.thresholds", "sim", "suite", "step"). */
export const DESCRIPTIONS: Record<string, Record<string, string>> = {
  preset: {
    name: 'The preset\'s name: runs, journals and reports are named after it.',
    description: 'What the scenario does and why, for people.',
    family: `The race family it belongs to (${RACE_FAMILIES.join(', ')}); reproducers and minimisation say it.`,
    duration: 'The budget: virtual time on the simulated kernel, wall-clock time on a real one (`--duration` overrides).',
    iterations: 'Loop iterations for every lane that does not name its own; without it, lanes loop until the budget ends.',
    recover: 'Transfers recover from xruns and suspends as alsa-lib\'s snd_pcm_recover() does (default true); race presets say false, their schedules are the point. A step\'s own `recover` wins.',
    setup: 'Steps run once, in order, before the lanes start (opening handles, hw_params).',
    lanes: 'The threads: each runs its loop over and over (see Lanes).',
    teardown: 'Steps run once after every lane has stopped, even when the run was stopped early.',
    expect: 'What the scenario tolerates and when a run fails (see expect).',
    sim: 'Settings only the simulated kernel reads (see sim).',
    suite: 'Instead of lanes: other presets run one after another, each with its own profile (see suite).',
    journal: 'Bounds on the run journal\'s size: max_size, and sample_after (repetitive events sampled past it).',
    requires: 'The hardware the preset needs: every target maps it onto its cards or refuses the run before it starts (see requires).',
    variant_of: 'The preset this one adapts to other hardware (same family): listed under it, offered when a target cannot run it.',
  },
  requires: {
    cards: 'The cards the steps use, each with what it must be able to do (see requires.cards).',
    sequencer: 'The steps use the ALSA sequencer: true, or {ports: [...]} naming kernel clients\' ports they connect to ("Midi Through").',
  },
  'requires.cards': {
    card: 'The card id the steps use (`card: X`, PortAudio\'s `hw:X,N`); a target may map it onto a card of another name that can do it all.',
    kind: 'What the card must be able to do: pcm (any PCM card), loopback (snd-aloop), soc-dpcm (an ASoC card with a DPCM front end and routing controls), usb (USB audio that can be unplugged while open).',
    streams: 'The stream directions the steps open on it.',
    subdevices: 'Substreams of one direction the steps use at once.',
    controls: 'Control element names the steps write or read.',
  },
  lane: {
    name: 'The lane\'s name (a thread). Replicated lanes are named name.0, name.1, …',
    loop: 'The steps it runs, in order, every iteration (see Steps and Operations).',
    replicas: 'Run this many copies of the lane, each with its own generator stream (its index): "sender" with replicas 2 is sender.0 and sender.1.',
    iterations: 'This lane\'s own iteration count (wins over the preset\'s).',
  },
  expect: {
    errnos: 'Per op, errno names that are part of the race and not findings (a step\'s own `expect` adds to them).',
    hang_timeout: `How long one call may take before the lane counts as hung (default ${formatDuration(DEFAULT_HANG_TIMEOUT)}; a step's own \`timeout\` wins).`,
    thresholds: 'Limits on measured metrics; going past one is a finding (see expect.thresholds).',
    stop_on: 'When a run stops early: at its first critical finding (critical, the default), at its first finding of any kind (first), or never.',
    klog_ignore: 'Regular expressions: kernel log reports matching one are not findings (a known warning of the device, say).',
    conformance: 'What a conformance sweep (pcm.sweep) requires of each configuration: rate_tolerance (percent, default 0.01), rate_error (frames RMS, default 10), jitter (largest wake-up deviation; not judged by default).',
  },
  'expect.thresholds': {
    xruns: 'At most this many xruns in the run.',
    latency_p99: 'Stream latency: the delay STATUS reports for every running stream (frames between the application and the converter), 99th percentile.',
    ioctl_p99: 'Duration of each ioctl op (transfers and drain excepted), 99th percentile.',
    wakeup_late_p99: 'How late the period wake-up comes, 99th percentile.',
    glitches: 'Application lane: at most this many glitches in a looped-back sine.',
    midi_latency_p99: 'Application lane: MIDI send-to-receive latency, 99th percentile.',
    xrun_time_lost: 'Time the streams stood still between an xrun and being ready again (xrun recovery), summed over the run.',
  },
  sim: {
    bug_profile: 'The simulated kernel\'s bug switches that show this scenario\'s historic bug (the demo and the app\'s "bug on" use them; `--profile` chooses for a run).',
    strategy: 'How the simulated scheduler orders tasks that run at the same moment: pct (default) or random.',
    depth: 'PCT bug depth d (default 3): d-1 priority change points per episode.',
    quantum: 'Width of "the same moment on different CPUs" (default 1us).',
    cards: 'Stand-ins: a card id the preset names (written for the virtual lab or a machine) mapped to the simulated machine\'s card that plays its part ("Audio": "SimUSB"). Only the simulator reads it.',
  },
  suite: {
    preset: 'A preset by name.',
    profile: 'The simulated kernel profile for this phase.',
    duration: 'This phase\'s budget (default: the preset\'s own).',
  },
  step: {
    expect: 'Errno names this step may answer without that being a finding, or "any".',
    timeout: 'This step\'s hang bound (wins over expect.hang_timeout).',
    label: 'A name for the step, shown in events and reproducers.',
  },
};

/** The keys of each documented section, from the schemas themselves. */
export function schemaKeys(): Record<string, Record<string, Schema<unknown>>> {
  const fields = (s: Schema<unknown> | undefined) => ({ ...(s?.fields?.required ?? {}), ...(s?.fields?.optional ?? {}) });
  const top = fields(PRESET_SCHEMAS.preset);
  const ex = fields(PRESET_SCHEMAS.expect);
  return {
    preset: top,
    lane: fields(PRESET_SCHEMAS.lane),
    expect: ex,
    'expect.thresholds': fields(ex.thresholds),
    sim: fields(top.sim),
    suite: fields(top.suite?.item),
    requires: fields(REQUIRES_SCHEMA),
    'requires.cards': fields(REQUIRES_SCHEMA.fields?.optional.cards?.item),
    step: STEP_MODIFIERS as Record<string, Schema<unknown>>,
  };
}

const PRESET_DEFAULTS: Record<string, Record<string, string>> = {
  preset: { duration: '10s', iterations: 'until the budget ends', description: '""' },
  lane: { replicas: '1', iterations: "the preset's" },
  expect: { hang_timeout: formatDuration(DEFAULT_HANG_TIMEOUT), stop_on: 'critical', errnos: 'none', klog_ignore: 'none' },
  sim: { strategy: 'pct', depth: '3', quantum: '1us' },
};

function md(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Keys whose schema accepts any value at this level and checks it further down (steps, lanes, expect). */
const ACCEPTS: Record<string, Record<string, string>> = {
  preset: { setup: 'a list of steps', lanes: 'a list of lanes (1 to 64)', teardown: 'a list of steps', expect: 'a map (see expect)', requires: 'a map (see requires)' },
  lane: { loop: 'a list of steps (1 to 256)' },
};

function keyTable(section: string, keys: Record<string, Schema<unknown>>, required: Set<string>): string[] {
  const out = ['| key | accepts | default | what it does |', '|---|---|---|---|'];
  for (const [k, s] of Object.entries(keys)) {
    const d = PRESET_DEFAULTS[section]?.[k] ?? (required.has(k) ? '(required)' : '');
    out.push(`| \`${k}\` | ${md(ACCEPTS[section]?.[k] ?? s.expected)} | ${md(d)} | ${md(DESCRIPTIONS[section]?.[k] ?? '')} |`);
  }
  return out;
}

function show(v: unknown): string {
  return typeof v === 'string' ? `\`${v}\`` : `\`${JSON.stringify(v)}\``;
}

/** docs/vocabulary.md */
export function vocabularyMarkdown(): string {
  const keys = schemaKeys();
  const req = (s: Schema<unknown> | undefined) => new Set(Object.keys(s?.fields?.required ?? {}));
  const out: string[] = [
    '# The vocabulary: presets and operations',
    '',
    '<!-- Generated by `stresslab ops --markdown > docs/vocabulary.md` from app/vocabulary (the schemas',
    '     that validate presets) and app/program/defaults.ts (the defaults the program writes in).',
    '     app/reference/vocabulary.test.ts fails when this file and the code disagree. Do not edit. -->',
    '',
    'A preset is YAML (or JSON). It names the threads (lanes) that race, the operations each runs in a loop,',
    'and what counts as a failure. Before it runs it is compiled into a resolved program with every default',
    'written in (app/program/README.md): the values in the "default" columns below are the ones the program',
    'gets, on the simulated kernel and on a real one alike.',
    '',
    '## Preset',
    '',
    ...keyTable('preset', keys.preset!, req(PRESET_SCHEMAS.preset)),
    '',
    '## Lanes',
    '',
    'Each item of `lanes`:',
    '',
    ...keyTable('lane', keys.lane!, req(PRESET_SCHEMAS.lane)),
    '',
    '## Steps',
    '',
    'A step is one operation: `- op: { argument: value, ... }`, or `- op: value` for the argument the',
    'operation names as its shorthand (`- pcm.prepare: fe` is `- pcm.prepare: { handle: fe }`).',
    'Arguments marked "or a list" take a list, cycled by iteration (item `iteration mod n`; setup and teardown',
    'use item 0); those marked "{random: [min, max]}" take a range drawn afresh at every execution from the',
    'lane\'s own generator for the run\'s seed (the same draws on every target). Every step may also carry:',
    '',
    ...keyTable('step', keys.step!, new Set()),
    '',
    '## expect',
    '',
    ...keyTable('expect', keys.expect!, new Set()),
    '',
    '### expect.thresholds',
    '',
    ...keyTable('expect.thresholds', keys['expect.thresholds']!, new Set()),
    '',
    '## sim',
    '',
    ...keyTable('sim', keys.sim!, new Set()),
    '',
    'Bug switches (`sim.bug_profile`, `--profile`; they combine):',
    '',
    '| switch | seed report | finding | what it puts back |',
    '|---|---|---|---|',
    ...simBugSwitches().map((b) => `| \`${b.name}\` | ${b.seed} | ${b.finding} | ${md(b.summary)} |`),
    '',
    '## requires',
    '',
    'What hardware the preset needs (presets/README.md). Checked against the steps: a card, stream, control or the sequencer a step uses and `requires` leaves out is an error.',
    '',
    ...keyTable('requires', keys.requires!, new Set()),
    '',
    '### requires.cards',
    '',
    ...keyTable('requires.cards', keys['requires.cards']!, req(REQUIRES_SCHEMA.fields?.optional.cards?.item)),
    '',
    '## suite',
    '',
    'A suite preset has `suite` instead of setup, lanes and teardown; each item:',
    '',
    ...keyTable('suite', keys.suite!, req(keys.preset!.suite?.item)),
    '',
    '## Operations',
    '',
  ];
  for (const family of [...new Set(OPS.map((o) => o.family))]) {
    out.push(`### ${family}`, '');
    for (const o of opDocs().filter((x) => x.family === family)) {
      out.push(`#### \`${o.name}\`${o.shorthand ? ` (shorthand: ${o.shorthand})` : ''}`, '', `${o.summary}. Kernel: ${md(o.kernel)}.`, '');
      if (o.args.length) {
        out.push('| argument | accepts | default |', '|---|---|---|');
        for (const a of o.args) out.push(`| \`${a.name}\` | ${md(a.type)} | ${a.required ? '(required)' : [a.default !== undefined ? show(a.default) : '', a.note ?? ''].filter(Boolean).map(md).join(': ')} |`);
        out.push('');
      }
      if (o.exclusive) out.push(`Only one of: ${o.exclusive.map((g) => g.join(', ')).join('; ')}.`, '');
      if (o.family === 'pa' || o.family === 'midi') out.push('Defaults: the application lane\'s own (app/applane), not yet the program\'s.', '');
    }
  }
  return out.join('\n') + '\n';
}

/** `stresslab ops` as text. */
export function opsText(): string {
  const lines: string[] = [];
  for (const o of opDocs()) {
    lines.push(`${o.name.padEnd(20)} ${o.summary} [${o.kernel}]`);
    for (const a of o.args) {
      const d = a.required ? 'required' : a.default !== undefined ? `default ${typeof a.default === 'string' ? a.default : JSON.stringify(a.default)}${a.note ? ` (${a.note})` : ''}` : (a.note ?? '');
      lines.push(`    ${a.name.padEnd(16)} ${a.type}${d ? `; ${d}` : ''}`);
    }
  }
  lines.push('Every step may also carry expect: [ERRNO...], timeout: <time>, label: <text>. The full reference: docs/vocabulary.md.');
  return lines.join('\n') + '\n';
}
