// The application lane's wire protocol: newline-delimited JSON, host → child
// on the child's stdin, child → host on file descriptor 3. Not stdout: the
// libraries print there (naudiodon's printf of every stream it opens, RtMidi's
// and alsa-lib's messages on stderr), and a stray line must never be taken
// for (or tear) a message. native-bridge/applane/PROTOCOL.md is the reference.
import type { RunEvent } from '../events/types.js';
import type { LibraryProgram } from './program.js';

export const APPLANE_PROTO = 1;

export type HostMessage =
  | { type: 'hello' }
  | { type: 'run'; program: LibraryProgram }
  | { type: 'stop' }
  | { type: 'reply'; id: number; result: number }
  | { type: 'ping'; token: string }
  | { type: 'quit' };

export interface AddonStatus {
  ok: boolean;
  /** Why it cannot be loaded (not built, a library missing), when not ok. */
  why?: string;
  version?: string;
}

export type ChildMessage =
  | { type: 'hello'; proto: number; version: string; pid: number; node: string; kernel: string; addons: { naudiodon: AddonStatus; midi: AddonStatus } }
  | { type: 'started'; t0: number; pid: number; seed: number }
  | { type: 'events'; events: RunEvent[] }
  | { type: 'request'; id: number; kind: 'detach' | 'attach'; card: number; cardId: string; driver: string }
  | { type: 'heartbeat'; t: number; ops: number; lanes: number }
  | { type: 'pong'; token: string }
  | { type: 'done'; status: 'completed' | 'stopped'; elapsed: number; hung: number; abandoned: number; ops: number }
  | { type: 'error'; code: 'bad-input' | 'bad-program' | 'busy' | 'addon'; message: string };

/** Splits a byte stream into lines and parses each; a line that is not JSON is reported, never thrown. */
export class LineDecoder<T> {
  private buf = '';

  constructor(
    private readonly onMessage: (m: T) => void,
    private readonly onGarbage: (line: string, why: string) => void,
  ) {}

  push(chunk: Buffer | string): void {
    this.buf += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let i: number;
    while ((i = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 1);
      if (!line.trim()) continue;
      let m: unknown;
      try {
        m = JSON.parse(line);
      } catch (e) {
        this.onGarbage(line.slice(0, 200), (e as Error).message);
        continue;
      }
      if (typeof m !== 'object' || m === null || typeof (m as { type?: unknown }).type !== 'string') {
        this.onGarbage(line.slice(0, 200), 'not a message (no "type")');
        continue;
      }
      this.onMessage(m as T);
    }
  }

  /** Whatever is left when the stream ends: a torn last line. */
  end(): void {
    if (this.buf.trim()) this.onGarbage(this.buf.slice(0, 200), 'truncated (no newline before the end of the stream)');
    this.buf = '';
  }
}

export function encodeMessage(m: HostMessage | ChildMessage): string {
  return JSON.stringify(m) + '\n';
}
