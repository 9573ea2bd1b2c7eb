// A run under the command line's control: Ctrl-C (SIGINT), SIGTERM and
// SIGHUP stop it cleanly — the target is asked to stop, the journal is
// flushed and summary.json written — and a second signal stops it at once,
// without waiting for the target. Either way the command exits 130.
import type { RunHandle, RunSummary } from '../engine/run.js';
import { EXIT, type Io } from './command.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface Supervision {
  /** The signal that interrupted the run, if one did. */
  readonly signal: NodeJS.Signals | null;
  /** A second signal stopped the run without waiting for the target. */
  readonly forced: boolean;
  /** Removes the signal handlers. */
  dispose(): void;
}

export function supervise(h: RunHandle, io: Io): Supervision {
  let signal: NodeJS.Signals | null = null;
  let forced = false;
  let notice: NodeJS.Timeout | undefined;
  const on = (sig: NodeJS.Signals) => {
    if (!signal) {
      signal = sig;
      io.err(`\nstresslab: ${sig}: stopping the run; the journal and summary will be written (${sig} again stops it at once)\n`);
      h.abort(`interrupted by ${sig}`);
      notice = setTimeout(() => io.err(`stresslab: still waiting for the target to stop (${sig} again stops without waiting)\n`), 1000);
      notice.unref();
    } else if (!forced) {
      forced = true;
      clearTimeout(notice);
      h.abortNow(`stopped at once by a second signal (${sig}) while the target was still stopping`);
      io.err('stresslab: stopped without waiting for the target; journal and summary written\n');
    } else process.exit(EXIT.interrupted);
  };
  for (const sig of SIGNALS) process.on(sig, on);
  return {
    get signal() {
      return signal;
    },
    get forced() {
      return forced;
    },
    dispose() {
      clearTimeout(notice);
      for (const sig of SIGNALS) process.off(sig, on);
    },
  };
}

/** The run's exit status: interruption first, then a run that could not be recorded, a bug, a target failure, findings. */
export function runExitCode(s: RunSummary, interrupted: boolean): number {
  if (interrupted) return EXIT.interrupted;
  if (s.failure === 'recording') return EXIT.recording;
  if (s.failure === 'internal') return EXIT.internal;
  if (s.failure === 'input') return EXIT.usage;
  if (s.status === 'error') return EXIT.target;
  return s.findings.length ? EXIT.findings : EXIT.ok;
}
