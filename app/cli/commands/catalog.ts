// Listing what the lab knows: presets, kernel profiles, the op vocabulary,
// and validating preset files.
import { UsageError, flag, parseArgs } from '../args.js';
import { type Command, EXIT } from '../command.js';
import { PresetLibrary } from '../../engine/presets.js';
import { BUG_SWITCHES } from '../../sim/profiles.js';
import { OPS } from '../../vocabulary/ops.js';
import { PresetError } from '../../vocabulary/preset-file.js';

export const presetsCommand: Command = {
  name: 'presets',
  summary: 'List the preset library',
  usage: 'presets [--json]',
  options: [{ name: 'json', help: 'machine-readable output' }],
  async run(argv, io) {
    const p = parseArgs(argv, this.options);
    const list = new PresetLibrary().list();
    if (flag(p, 'json')) {
      io.out(JSON.stringify(list, null, 2) + '\n');
      return EXIT.ok;
    }
    const w = Math.max(...list.map((x) => x.name.length), 4);
    for (const x of list) {
      const first = x.error ? `INVALID: ${x.error.split('\n')[0]}` : (x.description.split(/(?<=\.)\s/)[0] ?? '');
      io.out(`${x.name.padEnd(w)}  ${(x.suite ? 'suite' : (x.family ?? '')).padEnd(20)}  ${first}\n`);
    }
    return EXIT.ok;
  },
};

export const profilesCommand: Command = {
  name: 'profiles',
  summary: 'List simulated kernel profiles (bug switches)',
  usage: 'profiles [--json]',
  options: [{ name: 'json', help: 'machine-readable output' }],
  async run(argv, io) {
    const p = parseArgs(argv, this.options);
    if (flag(p, 'json')) {
      io.out(JSON.stringify({ fixed: "today's kernel, no historic bugs", ...BUG_SWITCHES }, null, 2) + '\n');
      return EXIT.ok;
    }
    io.out(`fixed                    today's kernel with every fix (the default)\n`);
    for (const [name, b] of Object.entries(BUG_SWITCHES)) io.out(`${name.padEnd(24)} seed ${b.seed}, finding ${b.finding}: ${b.summary}\n`);
    io.out('Bug switches combine: --profile a,b\n');
    return EXIT.ok;
  },
};

export const opsCommand: Command = {
  name: 'ops',
  summary: 'List the operations scenarios are written in',
  usage: 'ops [--json]',
  options: [{ name: 'json', help: 'machine-readable output' }],
  async run(argv, io) {
    const p = parseArgs(argv, this.options);
    if (flag(p, 'json')) {
      io.out(JSON.stringify(OPS.map((o) => ({ name: o.name, family: o.family, summary: o.summary, kernel: o.kernel, args: o.args.expected })), null, 2) + '\n');
      return EXIT.ok;
    }
    for (const o of OPS) io.out(`${o.name.padEnd(20)} ${o.summary} [${o.kernel}]\n`);
    io.out('Every step may also carry expect: [ERRNO...], timeout: <time>, label: <text>.\n');
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
