// `stresslab kernels`: the Debian kernels the virtual lab can boot by name
// (--kernel-version), cached or installable, each with the Debian source
// version it was built from, its upstream version, and whether a module
// overlay can be built for it (linux-source of exactly that version and
// linux-headers in the archive).
import { flag, parseArgs, UsageError } from '../args.js';
import { type Command, EXIT } from '../command.js';
import { kernelListing } from '../../vlab/kernel-listing.js';

export function kernelsCommand(): Command {
  const options = [{ name: 'json', help: 'print the list as JSON' }];
  return {
    name: 'kernels',
    summary: 'list the Debian kernels the virtual lab can boot (--kernel-version) and build module overlays for',
    usage: 'kernels [--json]',
    options,
    async run(argv, io) {
      const p = parseArgs(argv, options);
      if (p.positionals.length) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
      const { kernels, note } = await kernelListing();
      if (flag(p, 'json')) {
        io.out(JSON.stringify({ kernels, ...(note ? { note } : {}) }, null, 2) + '\n');
        return EXIT.ok;
      }
      const head = ['KERNEL', 'DEBIAN SOURCE', 'UPSTREAM', 'CACHED', 'OVERLAYS', ''];
      const rows = kernels.map((k) => [
        k.version,
        k.source_version,
        k.upstream,
        k.cached ? 'yes' : k.installable ? 'no' : '',
        k.source && k.headers ? 'yes' : k.source ? 'no headers' : k.headers ? 'no source' : 'no',
        k.default ? "(today's)" : '',
      ]);
      const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd() + '\n';
      io.out(line(head) + rows.map(line).join(''));
      io.out(`\n--kernel-version takes any of these names (or A,B,C / A..B on "run" for a kernel matrix).\nOVERLAYS: linux-source and linux-headers of exactly that version exist, so --kernel-patch works.\n`);
      if (note) io.err(`kernels: ${note}\n`);
      return EXIT.ok;
    },
  };
}
