// Errors the virtual lab raises. Bad input (an unknown hardware name, a kernel
// path that is not a kernel) is the caller's to fix and maps to a usage error;
// everything else is a target failure (TargetError, CLI exit code 3).
import { TargetError } from '../errors.js';

export class VlabInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VlabInputError';
  }
}

/** What ended a guest. */
export interface GuestDown {
  reason: 'shutdown' | 'panic' | 'hang' | 'exit' | 'boot-failed';
  message: string;
  /** Kernel text that explains it (panic/oops output, or the last console lines). */
  text?: string;
  /** For panics: the first line of the crash report. */
  title?: string;
}

/** The guest is gone (crashed, hung, shut down) while something still waited on it. */
export class GuestDownError extends TargetError {
  constructor(readonly down: GuestDown) {
    super(`guest ${down.reason === 'shutdown' ? 'was shut down' : down.reason === 'panic' ? 'kernel crashed' : down.reason === 'hang' ? 'hung' : 'went away'}: ${down.message}`);
    this.name = 'GuestDownError';
  }
}
