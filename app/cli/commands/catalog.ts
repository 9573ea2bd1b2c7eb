// Listing what the lab knows: presets, kernel profiles, the op vocabulary,
// and validating preset files.
import { UsageError, flag, parseArgs } from '../args.js';
import { type Command, EXIT } from '../command.js';
import { type PresetInfo, PresetLibrary, defaultPresetDir } from '../../engine/presets.js';
import { type ProfileWhere, profilePlaces, whereText } from '../../targets/profiles.js';
import { opDocs, opsText, vocabularyMarkdown } from '../../reference/vocabulary.js';
import { PresetError } from '../../vocabulary/preset-file.js';

/** A command that prints a listing, as text or (with --json) as data. */
function listing(name: string, summary: string, data: () => unknown, text: (data: never) => string): Command {
  return {
    name,
    summary,
    usage: `${name} [--json]`,
    options: [{ name: 'json', help: 'machine-readable output' }],
    async run(argv, io) {
      const p = parseArgs(argv, this.options);
      const d = data();
      io.out(flag(p, 'json') ? JSON.stringify(d, null, 2) + '\n' : text(d as never));
      return EXIT.ok;
    },
  };
}

export const presetsCommand = listing('presets', 'List the preset library: each family with its variants and the hardware they need', () => new PresetLibrary().list(), (list: ReturnType<PresetLibrary['list']>) => presetListText(list));

/** Presets in library order, each variant right under the preset it adapts; a second line says what hardware each needs. */
export function presetListText(list: PresetInfo[]): string {
  const w = Math.max(...list.map((x) => x.name.length + (x.variantOf ? 2 : 0)), 4);
  const byBase = new Map<string, PresetInfo[]>();
  for (const x of list) if (x.variantOf && list.some((b) => b.name === x.variantOf)) byBase.set(x.variantOf, [...(byBase.get(x.variantOf) ?? []), x]);
  const kindOf = (x: PresetInfo) => (x.suite ? 'suite' : x.variantOf ? `variant of ${x.variantOf}` : (x.family ?? ''));
  const kw = Math.max(...list.map((x) => kindOf(x).length), 20);
  const line = (x: PresetInfo, indent: string) => {
    const first = x.error ? `INVALID: ${x.error.split('\n')[0]}` : (x.description.split(/(?<=\.)\s/)[0] ?? '');
    return `${(indent + x.name).padEnd(w)}  ${kindOf(x).padEnd(kw)}  ${first}\n${x.needs ? `${' '.repeat(w + 2)}  needs: ${x.needs}\n` : ''}`;
  };
  let out = '';
  for (const x of list) {
    if (x.variantOf && byBase.has(x.variantOf)) continue;
    out += line(x, '');
    for (const v of byBase.get(x.name) ?? []) out += line(v, '  ');
  }
  return out;
}

export const profilesCommand = listing(
  'profiles',
  'List kernel profiles (historic bugs) and where each applies: the simulated kernel\'s switch, the virtual lab\'s patch',
  () => Object.fromEntries(profilePlaces(defaultPresetDir(), process.cwd()).map(({ name, ...rest }) => [name, rest])),
  (all: Record<string, Omit<ProfileWhere, 'name'>>) =>
    Object.entries(all)
      .map(([name, b]) => `${name.padEnd(24)} ${b.seed ? `seed ${b.seed}, finding ${b.finding}: ` : ''}${b.summary}\n${' '.repeat(25)}${whereText({ name, ...b })}\n`)
      .join('') + 'Bug switches combine: --profile a,b. On --target vm a profile is its patch built into a module overlay of the booted kernel (as --kernel-patch does).\n',
);

export const opsCommand: Command = {
  name: 'ops',
  summary: 'List the operations scenarios are written in, with every argument, its range and default',
  usage: 'ops [--json | --markdown]',
  options: [
    { name: 'json', help: 'machine-readable output' },
    { name: 'markdown', help: 'the whole preset and operation reference, as docs/vocabulary.md holds it' },
  ],
  async run(argv, io) {
    const p = parseArgs(argv, this.options);
    if (flag(p, 'json') && flag(p, 'markdown')) throw new UsageError('--json and --markdown: choose one');
    io.out(flag(p, 'markdown') ? vocabularyMarkdown() : flag(p, 'json') ? JSON.stringify(opDocs(), null, 2) + '\n' : opsText());
    return EXIT.ok;
  },
};

export const validateCommand: Command = {
  name: 'validate',
  summary: 'Check preset files and report every problem',
  usage: 'validate <preset file or name>...',
  options: [],
  async run(argv, io) {
    const p = parseArgs(argv, []);
    if (!p.positionals.length) throw new UsageError('name at least one preset');
    const lib = new PresetLibrary();
    let bad = 0;
    for (const ref of p.positionals) {
      try {
        const { scenario } = lib.load(ref);
        io.out(`ok: ${ref} (${scenario.name}, ${scenario.suite ? `suite of ${scenario.suite.length}` : `${scenario.lanes.length} lanes`})\n`);
      } catch (e) {
        if (!(e instanceof PresetError)) throw e;
        bad++;
        io.err(e.message + '\n');
      }
    }
    return bad ? EXIT.usage : EXIT.ok;
  },
};
