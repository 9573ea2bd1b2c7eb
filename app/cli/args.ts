// Minimal argument parsing: --flag, --key value, --key=value, and "--" to end
// options. Unknown options are errors, so a typo never silently runs the wrong test.
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  name: string;
  /** Takes a value. */
  value?: boolean;
  repeat?: boolean;
  help: string;
  valueName?: string;
}

export interface Parsed {
  positionals: string[];
  options: Map<string, string[]>;
  rest: string[];
}

export function parseArgs(argv: string[], specs: OptionSpec[]): Parsed {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const options = new Map<string, string[]>();
  const positionals: string[] = [];
  let rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      rest = argv.slice(i + 1);
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = a.slice(2, eq > 0 ? eq : undefined);
      const spec = byName.get(name);
      if (!spec) throw new UsageError(`unknown option --${name}`);
      let val = 'true';
      if (spec.value) {
        if (eq > 0) val = a.slice(eq + 1);
        else {
          const next = argv[++i];
          if (next === undefined) throw new UsageError(`--${name} needs a value (${spec.valueName ?? 'value'})`);
          val = next;
        }
      } else if (eq > 0) throw new UsageError(`--${name} takes no value`);
      const prev = options.get(name);
      if (prev && !spec.repeat) throw new UsageError(`--${name} given twice`);
      options.set(name, [...(prev ?? []), val]);
    } else positionals.push(a);
  }
  return { positionals, options, rest };
}

export function opt(p: Parsed, name: string): string | undefined {
  return p.options.get(name)?.[0];
}

export function flag(p: Parsed, name: string): boolean {
  return p.options.has(name);
}

export function intOpt(p: Parsed, name: string, min: number, max: number): number | undefined {
  const v = opt(p, name);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw new UsageError(`--${name} must be an integer, got "${v}"`);
  const n = Number(v);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}
