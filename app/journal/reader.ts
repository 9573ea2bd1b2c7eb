// Reading a journal back. A torn last line (the writer was killed mid-write)
// is expected and tolerated; damage anywhere else is reported with its line.
import { readFileSync } from 'node:fs';
import type { JournalLine, RunHeader, RunTrailer, RunEvent } from '../events/types.js';

export class JournalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JournalError';
  }
}

export interface Journal {
  header: RunHeader;
  events: RunEvent[];
  trailer: RunTrailer | null;
  /** The last line was cut short (the writer died mid-line). */
  truncated: boolean;
}

export function parseJournal(text: string, file = 'journal'): Journal {
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  let truncated = false;
  const parsed: JournalLine[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    try {
      parsed.push(JSON.parse(l) as JournalLine);
    } catch {
      if (i === lines.length - 1 && !text.endsWith('\n')) {
        truncated = true;
        break;
      }
      throw new JournalError(`${file}:${i + 1}: not a JSON line: ${l.slice(0, 60)}`);
    }
  }
  const header = parsed[0];
  if (!header || header.kind !== 'run') throw new JournalError(`${file}: does not start with a run header (is this a stresslab journal?)`);
  const last = parsed[parsed.length - 1];
  const trailer = last && last.kind === 'end' ? (last as RunTrailer) : null;
  const events = parsed.slice(1, trailer ? -1 : undefined) as RunEvent[];
  return { header: header as RunHeader, events, trailer, truncated };
}

export function readJournal(path: string): Journal {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new JournalError(`cannot read journal ${path}: ${(e as Error).message}`);
  }
  return parseJournal(text, path);
}
