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
