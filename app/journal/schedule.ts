// A recorded schedule read out of a journal as the replay consumes it: the
// `sched` lines are found and decoded one decision at a time, so a replay of
// a journal of any size holds one line in memory. Other lines are not parsed
// here (the replay compares them as text afterwards); each sched line is
// checked before its decisions are trusted.
import { ScheduleReader, type ScheduleSource } from '../sim/kernel/strategy.js';
import { JournalError, RawLines } from './reader.js';
import { checkEvent, LineError } from './lines.js';

const SCHED_PREFIX = '{"kind":"sched"';

export class JournalSchedule implements ScheduleSource {
  private readonly lines: RawLines;
  private readonly reader: ScheduleReader;
  /** Sched lines read so far. */
  pieces = 0;

  constructor(path: string) {
    this.lines = new RawLines(path);
    this.lines.next(); // the header, checked by whoever opened the replay
    this.reader = new ScheduleReader(() => this.more());
  }

  get stall(): number {
    return this.reader.stall;
  }

  next(): number {
    return this.reader.next();
  }

  /** Decisions handed out so far. */
  get count(): number {
    return this.reader.count;
  }

  private more(): string | undefined {
    for (let line = this.lines.next(); line !== undefined; line = this.lines.next()) {
      if (!line.startsWith(SCHED_PREFIX)) continue;
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        if (this.lines.last) return undefined; // a torn last line: the record ends before it
        throw new JournalError(`${this.lines.path}:${this.lines.lineNo}: not a JSON line`);
      }
      try {
        const e = checkEvent(v);
        if (e.kind !== 'sched') continue;
        this.pieces++;
        return e.decisions;
      } catch (err) {
        if (err instanceof LineError) throw new JournalError(`${this.lines.path}:${this.lines.lineNo}: ${err.message}`);
        throw err;
      }
    }
    return undefined;
  }

  close(): void {
    this.lines.close();
  }
}
