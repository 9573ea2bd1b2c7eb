import type { OptionSpec } from './args.js';

/**
 * Exit codes shared by every command; each means one thing.
 *   0  pass (no findings)
 *   1  findings (or, for compare, divergences)
 *   2  bad input or usage: options, presets, journals, an unusable --out or --junit
 *   3  the target failed (could not start, died, or did not end within its wall-clock limit)
 *   4  the run could not be recorded: the disk holding --out filled up or failed mid-run
 *      (the journal is readable up to the failure; the summary says where it went)
 *  70  internal error: a bug in stresslab (STRESSLAB_DEBUG=1 shows the stack)
 * 130  interrupted by SIGINT, SIGTERM or SIGHUP (journal and summary written)
 */
export const EXIT = { ok: 0, findings: 1, usage: 2, target: 3, recording: 4, internal: 70, interrupted: 130 } as const;

/** The exit-status lines every help text ends with. */
export const EXIT_HELP = 'Exit status: 0 pass, 1 findings, 2 bad input or usage, 3 target failure, 4 the run could not be recorded (disk full), 70 internal error, 130 interrupted.';

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
