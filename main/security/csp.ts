// The Content-Security-Policy of the user interface, in one place for the
// Electron window and the headless server. No inline script, no eval, no
// remote anything: the renderer is a static bundle that talks only to its own
// origin (the server's WebSocket) or to the preload's IPC bridge.
export function contentSecurityPolicy(mode: 'electron' | 'browser'): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    // Electron talks over IPC; the browser only to the server that served it.
    mode === 'electron' ? "connect-src 'none'" : "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
    "worker-src 'none'",
  ].join('; ');
}

/** Headers for every response that carries UI content. */
export function securityHeaders(mode: 'electron' | 'browser'): Record<string, string> {
  return {
    'Content-Security-Policy': contentSecurityPolicy(mode),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'X-Frame-Options': 'DENY',
    'Cache-Control': 'no-store',
  };
}
