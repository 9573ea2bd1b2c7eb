// Errors that cross layers. TargetError lives here, not with the targets, so
// that the virtual lab (app/vlab) and the targets that use it both raise it
// without the lab importing the targets (architecture.test.ts holds this).

/** The target could not do its job (missing tool, agent crashed at start). CLI exit code 3. */
export class TargetError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = 'TargetError';
  }
}

/**
 * The target was given settings it cannot use, found only once the run had
 * begun (a kernel patch that does not apply to the kernel being prepared):
 * bad input, CLI exit code 2, though it surfaced as the target's failure.
 */
export class TargetInputError extends TargetError {
  constructor(message: string, hint?: string) {
    super(message, hint);
    this.name = 'TargetInputError';
  }
}
