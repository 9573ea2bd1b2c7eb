// `stresslab` entry point. Commands are registered in commands/index.ts; the
// Electron/serve front ends add their own from main/ (dependency points main -> app).
import { UsageError } from './args.js';
import { type Command, EXIT, EXIT_HELP, type Io } from './command.js';
import { PresetError } from '../vocabulary/preset-file.js';
import { TargetError } from '../targets/target.js';
import { OutPathError } from '../journal/out-path.js';
import { JournalError } from '../journal/reader.js';

export function nodeIo(): Io {
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    isTTY: Boolean(process.stdout.isTTY),
    cwd: process.cwd(),
    env: process.env,
  };
}

export function helpText(commands: Command[]): string {
  const w = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: stresslab <command> [options]',
    '',
    'Audio Stress Lab: stress-tests Linux sound stacks, on a simulated kernel or real ones.',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    'Run "stresslab <command> --help" for a command\'s options.',
    EXIT_HELP,
    '',
  ].join('\n');
}

export function commandHelp(c: Command): string {
  const w = Math.max(10, ...c.options.map((o) => o.name.length + (o.value ? (o.valueName ?? 'value').length + 1 : 0)));
  return [
    `usage: stresslab ${c.usage}`,
    '',
    c.summary,
    '',
    ...(c.options.length ? ['options:', ...c.options.map((o) => `  --${(o.name + (o.value ? ' ' + (o.valueName ?? 'value') : '')).padEnd(w)}  ${o.help}`), ''] : []),
  ].join('\n');
}

export async function runCli(argv: string[], commands: Command[], io: Io = nodeIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(helpText(commands));
    return name ? EXIT.ok : EXIT.usage;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    io.err(`stresslab: unknown command "${name}"\n\n${helpText(commands)}`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(commandHelp(cmd));
    return EXIT.ok;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`stresslab ${cmd.name}: ${e.message}\n(see "stresslab ${cmd.name} --help")\n`);
      return EXIT.usage;
    }
    if (e instanceof PresetError) {
      io.err(`stresslab ${cmd.name}: invalid preset:\n${e.message}\n`);
      return EXIT.usage;
    }
    if (e instanceof OutPathError || e instanceof JournalError) {
      io.err(`stresslab ${cmd.name}: ${e.message}\n`);
      return EXIT.usage;
    }
    if (e instanceof TargetError) {
      io.err(`stresslab ${cmd.name}: target failed: ${e.message}\n${e.hint ? `hint: ${e.hint}\n` : ''}`);
      return EXIT.target;
    }
    return internalError(io, `stresslab ${cmd.name}`, e);
  }
}

/** A bug in the lab: one line that says so, the trace only when asked for (STRESSLAB_DEBUG=1). */
export function internalError(io: Pick<Io, 'err' | 'env'>, who: string, e: unknown): number {
  const msg = e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e);
  io.err(`${who}: internal error: ${msg.split('\n')[0]}\n(this is a bug in stresslab; run with STRESSLAB_DEBUG=1 to see where)\n`);
  if (io.env.STRESSLAB_DEBUG && e instanceof Error && e.stack) io.err(`${e.stack}\n`);
  return EXIT.internal;
}
