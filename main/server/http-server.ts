// The headless server: the same renderer and the same API as the Electron
// window, over HTTP and a WebSocket, for lab rigs with no display, CI and
// remote viewing. Loopback only unless told otherwise, and nothing is
// answered without the per-launch token.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { ApiError, checkParams, isMethod } from '../../app/api/validate.js';
import type { LabService, Client } from '../service/lab-service.js';
import { errorBody } from '../service/errors.js';
import { securityHeaders } from '../security/csp.js';
import { allowedHosts, check, cookieName, newToken } from './auth.js';
import { attachSession } from './ws-session.js';

export interface ServeOptions {
  host: string;
  port: number;
  token?: string;
  /** The built renderer (dist/renderer). */
  staticDir: string;
  service: LabService;
  log?: (text: string) => void;
}

export interface LabServer {
  url: string;
  /** The URL to open: it carries the token once, then a cookie takes over. */
  openUrl: string;
  token: string;
  port: number;
  close(): Promise<void>;
}

const MAX_BODY = 2 * 1024 * 1024;
const MAX_WS_MESSAGE = 4 * 1024 * 1024;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

export async function startServer(o: ServeOptions): Promise<LabServer> {
  const token = o.token ?? newToken();
  const staticDir = resolve(o.staticDir);
  const server = createServer();
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(o.port, o.host, () => {
      server.off('error', rej);
      res();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const cfg = { token, port, hosts: allowedHosts(o.host, port) };
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_MESSAGE });
  wss.on('connection', (ws) => attachSession(ws, o.service));

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { ok: false, error: errorBody(e, o.log) });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const v = check(req, cfg, url, url.pathname.startsWith('/api/'));
    if (!v.ok) {
      res.writeHead(v.status, { 'Content-Type': 'text/plain; charset=utf-8', ...securityHeaders('browser') });
      res.end(`${v.status === 401 ? 'Unauthorized' : 'Forbidden'}: ${v.reason}\n`);
      return;
    }
    if (url.pathname.startsWith('/api/')) return api(req, res, url);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD, POST', 'Content-Type': 'text/plain' });
      res.end('method not allowed\n');
      return;
    }
    if (v.via === 'query') {
      // Trade the token in the URL for a cookie, and drop it from the address bar and history.
      url.searchParams.delete('token');
      // Always a path on this server: "//evil.example/" would be another origin to a browser.
      res.writeHead(303, {
        Location: `/${url.pathname.replace(/^[/\\]+/, '')}${url.search || ''}`,
        'Set-Cookie': `${cookieName(port)}=${token}; Path=/; HttpOnly; SameSite=Strict`,
        ...securityHeaders('browser'),
      });
      res.end();
      return;
    }
    serveStatic(req, res, url.pathname);
  }

  async function api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const name = url.pathname.slice('/api/'.length);
    if (name === 'ws') {
      sendJson(res, 426, { ok: false, error: { code: 'bad-request', message: 'this address is the WebSocket endpoint' } });
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { Allow: 'POST', 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error: { code: 'bad-request', message: 'API calls are POST /api/<method> with JSON parameters' } }));
      return;
    }
    try {
      if (!isMethod(name)) throw new ApiError('not-found', `no API method "${name}"`);
      if (name === 'runs.subscribe') throw new ApiError('bad-request', 'subscriptions need the WebSocket (/api/ws)');
      const ct = req.headers['content-type'] ?? '';
      if (!ct.startsWith('application/json')) throw new ApiError('bad-request', 'Content-Type must be application/json');
      const body = await readBody(req);
      let params: unknown;
      try {
        params = body.length ? JSON.parse(body) : {};
      } catch (e) {
        throw new ApiError('bad-request', `body: not JSON (${(e as Error).message})`);
      }
      const client: Client = { push: () => {}, pushEvents: () => {}, backlog: () => 0 };
      // A caller that hangs up before the answer cancels what it started (a journal query, say).
      const gone = () => {
        if (!res.writableFinished) o.service.detach(client);
      };
      res.once('close', gone);
      try {
        const result = await o.service.call(name, checkParams(name, params), client);
        sendJson(res, 200, { ok: true, result });
      } finally {
        res.off('close', gone);
        o.service.detach(client);
      }
    } catch (e) {
      const err = errorBody(e, o.log);
      sendJson(res, err.code === 'not-found' ? 404 : err.code === 'internal' ? 500 : err.code === 'conflict' ? 409 : err.code === 'unavailable' ? 503 : 400, { ok: false, error: err });
    }
  }

  function serveStatic(req: IncomingMessage, res: ServerResponse, pathname: string): void {
    let rel: string;
    try {
      rel = decodeURIComponent(pathname);
    } catch {
      rel = '/';
    }
    if (rel === '/' || rel === '') rel = '/index.html';
    const file = normalize(join(staticDir, rel));
    const headers = securityHeaders('browser');
    if (!file.startsWith(staticDir + sep) || !existsSync(file) || !statSync(file).isFile()) {
      if (rel === '/index.html') {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', ...headers });
        res.end('<!doctype html><title>Audio Stress Lab</title><p>The user interface is not built. Run <code>npm run build</code>, then reload.</p>\n');
        return;
      }
      res.writeHead(404, { 'Content-Type': 'text/plain', ...headers });
      res.end('not found\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', ...headers });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file).pipe(res);
  }

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const v = check(req, cfg, url, true);
    if (!v.ok || url.pathname !== '/api/ws') {
      const status = v.ok ? 404 : v.status;
      const reason = v.ok ? 'no WebSocket here; use /api/ws' : v.reason;
      socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Not Found'}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${reason}\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const shown = o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host.includes(':') ? `[${o.host}]` : o.host;
  const base = `http://${shown}:${port}/`;
  return {
    url: base,
    openUrl: `${base}?token=${token}`,
    token,
    port,
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
    },
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((res, rej) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        rej(new ApiError('bad-request', `body larger than ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => res(Buffer.concat(chunks).toString('utf8')));
    req.on('error', rej);
  });
}
