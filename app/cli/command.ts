import type { OptionSpec } from './args.js';

/** Exit codes shared by every command. */
export const EXIT = { ok: 0, findings: 1, usage: 2, target: 3 } as const;

export interface Io {
  out(text: string): void;
  err(text: string): void;
  isTTY: boolean;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: OptionSpec[];
  run(argv: string[], io: Io): Promise<number>;
}
