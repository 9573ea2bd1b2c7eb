// The headless server refuses what it must: no token, a wrong token, another
// origin, another Host (DNS rebinding), cross-site API calls, paths outside
// the bundle; and a bad message gets a clear error without taking the
// connection or the server down.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { defaultPresetDir } from '../../app/engine/presets.js';
import { LabService } from '../service/lab-service.js';
import { startServer, type LabServer } from './http-server.js';

let dir: string;
let server: LabServer;
let service: LabService;
let host: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stresslab-serve-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>lab</title>');
  writeFileSync(join(dir, 'secret.txt'), 'not for you');
  service = new LabService({ mode: 'browser', runsDir: join(dir, 'runs'), userPresetDir: join(dir, 'presets'), builtinPresetDir: defaultPresetDir() });
  server = await startServer({ host: '127.0.0.1', port: 0, staticDir: dir, service, log: () => {} });
  host = `127.0.0.1:${server.port}`;
});
afterAll(async () => {
  await server.close();
  await service.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function http(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, method, path, headers: { Host: host, ...headers } }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const bearer = () => ({ Authorization: `Bearer ${server.token}` });
const cookie = () => ({ Cookie: `stresslab_${server.port}=${server.token}` });
const json = { 'Content-Type': 'application/json' };

describe('headless server: who may talk to it', () => {
  it('binds to loopback and prints a URL with the token', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    expect(server.openUrl).toBe(`${server.url}?token=${server.token}`);
    expect(server.token.length).toBeGreaterThanOrEqual(32);
  });

  it('refuses the page without the token or with a wrong one', async () => {
    expect((await http('GET', '/')).status).toBe(401);
    expect((await http('GET', '/?token=wrong')).status).toBe(401);
    expect((await http('GET', '/', { Cookie: `stresslab_${server.port}=wrong` })).status).toBe(401);
    expect((await http('GET', '/', { Authorization: 'Bearer nope' })).status).toBe(401);
  });

  it('trades the token in the URL for a strict, HttpOnly cookie', async () => {
    const r = await http('GET', `/?token=${server.token}`);
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe('/');
    expect(String(r.headers['set-cookie'])).toMatch(new RegExp(`^stresslab_${server.port}=${server.token}; Path=/; HttpOnly; SameSite=Strict$`));
    const page = await http('GET', '/', cookie());
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'; script-src 'self'/);
    expect(page.headers['x-frame-options']).toBe('DENY');
  });

  it('never redirects to another origin when trading the token (//host, /\\host, /.//host)', async () => {
    for (const path of ['/.//evil.example/', '//evil.example/', '/\\evil.example/', '/./\\evil.example/x', '///evil.example']) {
      const r = await http('GET', `${path}?token=${server.token}&x=1`);
      expect(r.status, path).toBe(303);
      const loc = String(r.headers.location);
      // A single leading slash: a path on this server, whatever the browser makes of the rest.
      expect(loc, path).toMatch(/^\/[^/\\]/);
      expect(new URL(loc, `http://${host}/`).host, path).toBe(host);
      expect(loc).not.toContain(server.token);
    }
  });

  it('refuses another Host (DNS rebinding) even with the token', async () => {
    const r = await http('GET', '/', { ...cookie(), Host: `evil.example:${server.port}` });
    expect(r.status).toBe(403);
    expect(r.body).toMatch(/is not this server/);
  });

  it('refuses API calls from another origin or another site, even with the token', async () => {
    const evil = await http('POST', '/api/lab.info', { ...bearer(), ...json, Origin: 'http://evil.example' }, '{}');
    expect(evil.status).toBe(403);
    expect(evil.body).toMatch(/origin http:\/\/evil\.example/);
    const otherPort = await http('POST', '/api/lab.info', { ...cookie(), ...json, Origin: `http://127.0.0.1:${server.port + 1}` }, '{}');
    expect(otherPort.status).toBe(403);
    const crossSite = await http('POST', '/api/lab.info', { ...cookie(), ...json, 'Sec-Fetch-Site': 'cross-site' }, '{}');
    expect(crossSite.status).toBe(403);
    const same = await http('POST', '/api/lab.info', { ...cookie(), ...json, Origin: `http://${host}`, 'Sec-Fetch-Site': 'same-origin' }, '{}');
    expect(same.status).toBe(200);
    expect(JSON.parse(same.body)).toMatchObject({ ok: true, result: { mode: 'browser' } });
  });

  it('answers API calls over HTTP with clear errors for bad input', async () => {
    expect((await http('POST', '/api/lab.info', json, '{}')).status).toBe(401);
    const unknown = await http('POST', '/api/fs.readFile', { ...bearer(), ...json }, '{}');
    expect(unknown.status).toBe(404);
    const notJson = await http('POST', '/api/presets.load', { ...bearer(), ...json }, '{name:');
    expect(notJson.status).toBe(400);
    expect(JSON.parse(notJson.body).error.message).toMatch(/not JSON/);
    const badParams = await http('POST', '/api/presets.load', { ...bearer(), ...json }, '{"name":"../../etc/passwd"}');
    expect(badParams.status).toBe(400);
    expect(JSON.parse(badParams.body).error.message).toMatch(/params\.name: expected a preset name/);
    const missing = await http('POST', '/api/presets.load', { ...bearer(), ...json }, '{"name":"no-such-preset"}');
    expect(missing.status).toBe(404);
    const ok = await http('POST', '/api/presets.load', { ...bearer(), ...json }, '{"name":"demo"}');
    expect(JSON.parse(ok.body).result.text).toMatch(/^name: demo/);
    expect((await http('GET', '/api/lab.info', bearer())).status).toBe(405);
  });

  it('serves nothing outside the renderer bundle', async () => {
    for (const p of ['/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fetc%2fpasswd', '/%00', '/nope.js']) expect((await http('GET', p, cookie())).status).toBe(404);
    expect((await http('GET', '/secret.txt', cookie())).status).toBe(200); // inside the bundle directory: fine
  });
});

function open(headers: Record<string, string>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${host}/api/ws`, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

function next(ws: WebSocket): Promise<Record<string, unknown>> {
  return new Promise((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)))));
}

describe('headless server: the WebSocket', () => {
  it('refuses a handshake without the token, from another origin, or to another path', async () => {
    await expect(open({})).rejects.toThrow('HTTP 401');
    await expect(open({ Authorization: 'Bearer wrong' })).rejects.toThrow('HTTP 401');
    await expect(open({ ...cookie(), Origin: 'http://evil.example' })).rejects.toThrow('HTTP 403');
    await expect(open({ ...cookie(), Origin: 'null' })).rejects.toThrow('HTTP 403');
    const ws = await open({ ...cookie(), Origin: `http://${host}` });
    ws.close();
  });

  it('answers bad messages with errors and keeps the connection', async () => {
    const ws = await open(bearer());
    ws.send('{not json');
    expect(await next(ws)).toMatchObject({ type: 'result', id: null, ok: false, error: { code: 'bad-request', message: expect.stringMatching(/not JSON/) } });
    ws.send(JSON.stringify({ id: 7, method: 'child_process.exec', params: { cmd: 'id' } }));
    expect(await next(ws)).toMatchObject({ id: 7, ok: false, error: { message: expect.stringMatching(/unknown method/) } });
    ws.send(JSON.stringify({ id: 8, method: 'runs.subscribe', params: { runId: '../../etc' } }));
    expect(await next(ws)).toMatchObject({ id: 8, ok: false, error: { code: 'bad-request' } });
    ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await next(ws)).toMatchObject({ ok: false, error: { message: expect.stringMatching(/binary/) } });
    ws.send(JSON.stringify({ id: 9, method: 'runs.subscribe', params: { runId: 'no-such-run' } }));
    expect(await next(ws)).toMatchObject({ id: 9, ok: false, error: { code: 'not-found' } });
    ws.send(JSON.stringify({ id: 10, method: 'presets.validate', params: { text: 'name: x\nlanes: 3\n' } }));
    const v = await next(ws);
    expect(v).toMatchObject({ id: 10, ok: true, result: { ok: false } });
    expect((v.result as { problems: { line: number; path: string }[] }).problems[0]).toMatchObject({ line: 2, path: 'lanes' });
    ws.close();
  });

  it('drops a connection that sends an oversized frame, and goes on serving others', async () => {
    const ws = await open(bearer());
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.send('x'.repeat(5 * 1024 * 1024));
    expect(await closed).toBe(1009);
    const again = await open(bearer());
    again.send(JSON.stringify({ id: 1, method: 'lab.info', params: {} }));
    expect(await next(again)).toMatchObject({ id: 1, ok: true });
    again.close();
  });
});
