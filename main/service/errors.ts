// Turning whatever a call threw into the API's error shape. Known lab errors
// keep their message (it names the file, field or target); anything else is
// an internal error, logged here and reported without a stack trace.
import type { ApiErrorBody } from '../../app/api/types.js';
import { ApiError } from '../../app/api/validate.js';
import { PresetError } from '../../app/vocabulary/preset-file.js';
import { JournalError } from '../../app/journal/reader.js';
import { TargetError } from '../../app/targets/target.js';
import { OutPathError } from '../../app/journal/out-path.js';
import { QueryCancelled } from '../workers/journal-tasks.js';

export function errorBody(e: unknown, log: (text: string) => void = (t) => process.stderr.write(t)): ApiErrorBody {
  if (e instanceof ApiError) return e.body();
  if (e instanceof PresetError) return { code: 'bad-request', message: e.message };
  if (e instanceof JournalError) return { code: 'bad-request', message: e.message };
  if (e instanceof TargetError) return { code: 'unavailable', message: e.hint ? `${e.message} (hint: ${e.hint})` : e.message };
  // Nobody is waiting for this answer any more: not an error of the lab's.
  if (e instanceof QueryCancelled) return { code: 'unavailable', message: e.message };
  if (e instanceof OutPathError) return { code: 'bad-request', message: e.message };
  const msg = e instanceof Error ? e.message : String(e);
  log(`stresslab: internal error: ${e instanceof Error && e.stack ? e.stack : msg}\n`);
  return { code: 'internal', message: `internal error: ${msg}` };
}
