// Runs `stresslab` commands inside the test process, capturing what they print.
import type { Command, Io } from '../cli/command.js';
import { runCli } from '../cli/main.js';

export async function runCommands(commands: Command[], argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t), isTTY: false, cwd: '/', env: {} };
  const code = await runCli(argv, commands, io);
  return { code, out, err };
}
