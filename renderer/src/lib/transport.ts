// How the renderer reaches the lab: the preload's IPC bridge in Electron, a
// WebSocket to the server that served the page in a browser. The rest of the
// renderer sees one interface and never asks which.
import type { PushMessage, ResponseMessage } from '../../../app/api/types.js';
import { checkServerMessage } from '../../../app/api/validate.js';

export type ConnectionState = 'connecting' | 'open' | 'closed';

export interface Transport {
  readonly kind: 'ipc' | 'websocket';
  request(method: string, params: unknown): Promise<ResponseMessage>;
  onPush(fn: (m: PushMessage) => void): void;
  /** Called with 'open' again after a reconnect, so live views resubscribe. */
  onState(fn: (s: ConnectionState) => void): void;
}

class IpcTransport implements Transport {
  readonly kind = 'ipc' as const;
  constructor(private readonly bridge: NonNullable<Window['stresslab']>) {}
  request(method: string, params: unknown): Promise<ResponseMessage> {
    return this.bridge.call(method, params);
  }
  onPush(fn: (m: PushMessage) => void): void {
    this.bridge.onPush((m) => {
      try {
        fn(checkServerMessage(m) as PushMessage);
      } catch (e) {
        console.error('ignored a malformed push', e);
      }
    });
  }
  onState(fn: (s: ConnectionState) => void): void {
    fn('open');
  }
}

class WsTransport implements Transport {
  readonly kind = 'websocket' as const;
  private ws: WebSocket | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, (r: ResponseMessage) => void>();
  private readonly pushFns: ((m: PushMessage) => void)[] = [];
  private readonly stateFns: ((s: ConnectionState) => void)[] = [];
  private queue: string[] = [];
  private retry = 0;

  constructor(private readonly url: string) {
    this.connect();
  }

  private setState(s: ConnectionState): void {
    for (const f of this.stateFns) f(s);
  }

  private connect(): void {
    this.setState('connecting');
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.retry = 0;
      for (const m of this.queue) ws.send(m);
      this.queue = [];
      this.setState('open');
    };
    ws.onmessage = (ev: MessageEvent<string>) => {
      let m: ResponseMessage | PushMessage;
      try {
        m = checkServerMessage(JSON.parse(ev.data));
      } catch (e) {
        console.error('ignored a malformed message from the server', e);
        return;
      }
      if (m.type === 'result') {
        if (m.id === null) {
          console.error('server refused a request:', m.ok ? m : m.error.message);
          return;
        }
        const done = this.pending.get(m.id);
        this.pending.delete(m.id);
        done?.(m);
      } else for (const f of this.pushFns) f(m);
    };
    ws.onclose = () => {
      this.ws = null;
      // Calls in flight will not be answered by a new connection.
      for (const [id, done] of this.pending) done({ type: 'result', id, ok: false, error: { code: 'unavailable', message: 'connection to the lab lost' } });
      this.pending.clear();
      this.setState('closed');
      const delay = Math.min(5000, 250 * 2 ** this.retry++);
      setTimeout(() => this.connect(), delay);
    };
  }

  request(method: string, params: unknown): Promise<ResponseMessage> {
    const id = this.nextId++;
    const text = JSON.stringify({ id, method, params });
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
      else this.queue.push(text);
    });
  }

  onPush(fn: (m: PushMessage) => void): void {
    this.pushFns.push(fn);
  }

  onState(fn: (s: ConnectionState) => void): void {
    this.stateFns.push(fn);
    fn(this.ws?.readyState === WebSocket.OPEN ? 'open' : 'connecting');
  }
}

export function createTransport(): Transport {
  if (window.stresslab) return new IpcTransport(window.stresslab);
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return new WsTransport(`${proto}//${location.host}/api/ws`);
}
