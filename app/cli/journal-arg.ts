// A journal named on the command line. A missing or damaged one is a problem
// with what the user typed (exit 2, the reader's message), not a crash.
import { type Journal, JournalError, readJournal } from '../journal/reader.js';
import { UsageError } from './args.js';

export function readJournalArg(path: string): Journal {
  try {
    return readJournal(path);
  } catch (e) {
    if (e instanceof JournalError) throw new UsageError(e.message);
    throw e;
  }
}
