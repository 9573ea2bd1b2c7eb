// A QMP (QEMU Machine Protocol) client over an already connected socket:
// JSON objects one per line, a greeting, capability negotiation, then
// commands matched to replies by id, and asynchronous events.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export class QmpError extends Error {
  constructor(readonly command: string, readonly qmpClass: string, desc: string) {
    super(`QMP ${command}: ${desc}`);
    this.name = 'QmpError';
  }
}

interface Pending {
  command: string;
  resolve(v: unknown): void;
  reject(e: Error): void;
}

export class Qmp extends EventEmitter<{ event: [QmpEvent]; close: [] }> {
  private buf = '';
  private nextId = 1;
  private pending = new Map<string, Pending>();
  private closed = false;
  private greeted: Promise<void>;

  constructor(private readonly sock: Socket) {
    super();
    let onGreeting!: () => void;
    this.greeted = new Promise((r) => (onGreeting = r));
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl).trim();
        this.buf = this.buf.slice(nl + 1);
        if (!line) continue;
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        if ('QMP' in msg) onGreeting();
        else if ('event' in msg) this.emit('event', msg as unknown as QmpEvent);
        else if (typeof msg.id === 'string' && this.pending.has(msg.id)) {
          const p = this.pending.get(msg.id)!;
          this.pending.delete(msg.id);
          if ('error' in msg) {
            const err = msg.error as { class?: string; desc?: string };
            p.reject(new QmpError(p.command, err.class ?? 'GenericError', err.desc ?? 'failed'));
          } else p.resolve(msg.return);
        }
      }
    });
    const onClose = () => {
      if (this.closed) return;
      this.closed = true;
      for (const p of this.pending.values()) p.reject(new Error(`QMP connection closed during ${p.command}`));
      this.pending.clear();
      this.emit('close');
    };
    sock.on('close', onClose);
    sock.on('error', onClose);
  }

  /** Waits for the greeting and leaves negotiation mode. */
  async init(): Promise<void> {
    await this.greeted;
    await this.execute('qmp_capabilities');
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`QMP connection closed; cannot run ${command}`));
    const id = `c${this.nextId++}`;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject });
      this.sock.write(JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id }) + '\n');
    });
  }

  /** Resolves with the first event that matches, or rejects after timeoutMs. */
  waitEvent(match: (e: QmpEvent) => boolean, timeoutMs: number, what: string): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      const onEvent = (e: QmpEvent) => {
        if (!match(e)) return;
        cleanup();
        resolve(e);
      };
      const onClose = () => {
        cleanup();
        reject(new Error(`QMP connection closed while waiting for ${what}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off('event', onEvent);
        this.off('close', onClose);
      };
      this.on('event', onEvent);
      this.on('close', onClose);
    });
  }

  close(): void {
    this.sock.destroy();
  }
}
