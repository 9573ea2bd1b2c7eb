// Listing what the lab knows: presets, kernel profiles, the op vocabulary,
// and validating preset files.
import { UsageError, flag, parseArgs } from '../args.js';
import { type Command, EXIT } from '../command.js';
import { PresetLibrary } from '../../engine/presets.js';
import { simProfiles } from '../../targets/sim/options.js';
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

export const presetsCommand = listing('presets', 'List the preset library', () => new PresetLibrary().list(), (list: ReturnType<PresetLibrary['list']>) => {
    const w = Math.max(...list.map((x) => x.name.length), 4);
    return list.map((x) => {
      const first = x.error ? `INVALID: ${x.error.split('\n')[0]}` : (x.description.split(/(?<=\.)\s/)[0] ?? '');
      return `${x.name.padEnd(w)}  ${(x.suite ? 'suite' : (x.family ?? '')).padEnd(20)}  ${first}\n`;
    }).join('');
});

export const profilesCommand = listing(
  'profiles',
  'List simulated kernel profiles (bug switches)',
  () => Object.fromEntries(simProfiles().map(({ name, ...rest }) => [name, rest])),
  (all: Record<string, { seed?: string; finding?: string; summary: string }>) =>
    Object.entries(all)
      .map(([name, b]) => `${name.padEnd(24)} ${b.seed ? `seed ${b.seed}, finding ${b.finding}: ` : ''}${b.summary}\n`)
      .join('') + 'Bug switches combine: --profile a,b\n',
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
