// Who may talk to the headless server: requests must carry the per-launch
// token (URL query once, then a cookie, or an Authorization header), name
// the server itself as Host (no DNS rebinding), and, when a browser says
// where it comes from, come from the server's own origin.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export function cookieName(port: number): string {
  // Cookies ignore ports: two servers on one host must not overwrite each other's.
  return `stresslab_${port}`;
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

export interface AuthConfig {
  token: string;
  port: number;
  /** host:port values the server answers to. */
  hosts: Set<string>;
}

export function allowedHosts(bindHost: string, port: number): Set<string> {
  const names = new Set(['127.0.0.1', 'localhost', '[::1]']);
  if (bindHost !== '0.0.0.0' && bindHost !== '::') names.add(bindHost.includes(':') && !bindHost.startsWith('[') ? `[${bindHost}]` : bindHost);
  return new Set([...names].map((n) => `${n}:${port}`));
}

export type Verdict = { ok: true; via: 'query' | 'cookie' | 'header' } | { ok: false; status: 401 | 403; reason: string };

/**
 * `api`: the request acts (API call, WebSocket), so a browser must also say it
 * is same-origin. Page loads may come from a link (Sec-Fetch-Site cross-site)
 * and are still safe: without the token they get nothing, and the cookie is
 * SameSite=Strict.
 */
export function check(req: IncomingMessage, cfg: AuthConfig, url: URL, api: boolean): Verdict {
  const host = req.headers.host ?? '';
  if (!cfg.hosts.has(host.toLowerCase())) return { ok: false, status: 403, reason: `Host "${host}" is not this server` };
  const origin = req.headers.origin;
  if (origin !== undefined && !cfg.hosts.has(originHost(origin))) return { ok: false, status: 403, reason: `requests from origin ${origin} are refused` };
  const fetchSite = req.headers['sec-fetch-site'];
  if (api && typeof fetchSite === 'string' && fetchSite !== 'same-origin' && fetchSite !== 'none') return { ok: false, status: 403, reason: `cross-site request (${fetchSite}) refused` };
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ') && sameToken(auth.slice(7).trim(), cfg.token)) return { ok: true, via: 'header' };
  const q = url.searchParams.get('token');
  if (q !== null && sameToken(q, cfg.token)) return { ok: true, via: 'query' };
  const c = parseCookies(req.headers.cookie).get(cookieName(cfg.port));
  if (c !== undefined && sameToken(c, cfg.token)) return { ok: true, via: 'cookie' };
  return { ok: false, status: 401, reason: 'missing or wrong token: open the URL that "stresslab serve" printed' };
}

function originHost(origin: string): string {
  try {
    const u = new URL(origin);
    return u.protocol === 'http:' ? `${u.hostname}:${u.port || '80'}`.toLowerCase() : '';
  } catch {
    return '';
  }
}
