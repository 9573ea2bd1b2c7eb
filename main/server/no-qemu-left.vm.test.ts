// After virtual-lab runs from the headless server, no QEMU is left behind,
// neither running nor as a zombie. A zombie is a child nobody waited for: QEMU
// is spawned by the run's worker thread, and only that thread's event loop
// reaps it, so the worker must stop its guest before the main thread ends it
// (it used to report "done" first and be terminated while QEMU shut down).
// Ten runs, one guest at a time: eight that finish, one stopped while the
// guest boots, one aborted.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, buildTypescript } from '../../app/test/build-first.js';

const TOKEN = 'no-qemu-left-test-token-0123456789';
let dir: string;
let server: ChildProcess;
let port = 0;

function call<T>(method: string, params: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(params);
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: `/api/${method}`, headers: { Host: `127.0.0.1:${port}`, Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' } }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () => {
        const r = JSON.parse(data) as { ok: boolean; result?: T; error?: { message: string } };
        if (r.ok) resolve(r.result as T);
        else reject(new Error(r.error?.message ?? data));
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** QEMU processes whose parent is the server, with their state (Z: a zombie). */
function qemuChildren(): { pid: number; state: string }[] {
  const out: { pid: number; state: string }[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const m = /^\d+ \((.*)\) (\S) (\d+)/.exec(stat);
      if (m && m[1]!.startsWith('qemu-system') && Number(m[3]) === server.pid) out.push({ pid: Number(p), state: m[2]! });
    } catch {
      /* gone */
    }
  }
  return out;
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface RunInfo {
  id: string;
  state: string;
  verdict?: string;
}

async function finished(runId: string): Promise<RunInfo> {
  return until(`run ${runId} to finish`, async () => (await call<RunInfo[]>('runs.list', {})).find((r) => r.id === runId && r.state !== 'running'), 300_000);
}

const PRESET = `name: vm-tiny
description: one playback stream written for a second
duration: 1s
setup:
  - pcm.open: { handle: out, card: Dummy, device: 0, stream: playback }
  - pcm.hw_params: { handle: out, format: S16_LE, channels: 2, rate: 48000, period_size: 4800, periods: 4 }
  - pcm.prepare: out
lanes:
  - name: writer
    loop:
      - pcm.write: { handle: out, periods: 1, expect: [EPIPE] }
teardown:
  - pcm.close: out
`;
const start = () => call<{ runId: string }>('run.start', { source: { text: PRESET, name: 'vm-tiny' }, target: 'vm', profile: ['fixed'], seed: 1 });

beforeAll(async () => {
  buildTypescript();
  dir = mkdtempSync(join(tmpdir(), 'stresslab-noqemu-'));
  server = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--runs', join(dir, 'runs'), '--user-presets', join(dir, 'presets'), '--token', TOKEN], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, STRESSLAB_NO_AUTOBUILD: '1' } });
  let text = '';
  server.stderr!.setEncoding('utf8').on('data', (d: string) => process.stderr.write(d));
  port = await new Promise<number>((res, rej) => {
    server.stdout!.setEncoding('utf8').on('data', (d: string) => {
      text += d;
      const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(text);
      if (m) res(Number(m[1]));
    });
    server.once('exit', (c) => rej(new Error(`serve exited (${c}): ${text}`)));
  });
}, 120_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    const gone = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await gone;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('headless server and the virtual lab', () => {
  it('leaves no QEMU, live or zombie, after ten runs: finished, stopped while booting, aborted', { timeout: 1_800_000 }, async () => {
    const noQemu = (when: string) => until(`no QEMU child after ${when} (left: ${JSON.stringify(qemuChildren())})`, () => (qemuChildren().length ? undefined : true), 20_000);
    for (let i = 1; i <= 8; i++) {
      const { runId } = await start();
      const r = await finished(runId);
      // (a loaded host may starve the guest into an xrun: the verdict is not what this test is about)
      expect(['pass', 'fail'], `run ${i}: ${r.verdict}`).toContain(r.verdict);
      await noQemu(`run ${i}`);
    }
    // stopped while the guest boots: the boot is abandoned and QEMU reaped
    const stopped = await start();
    await until('the guest to start booting', () => (qemuChildren().length ? true : undefined), 120_000);
    await call('run.stop', { runId: stopped.runId });
    const s = await finished(stopped.runId);
    expect(s.verdict).not.toBe('error');
    await noQemu('a stop during boot');
    // aborted mid-run: the worker is asked to stop its guest before it is terminated
    const aborted = await start();
    await until('the run to reach the guest', () => (qemuChildren().length ? true : undefined), 120_000);
    await new Promise((r) => setTimeout(r, 3000));
    await call('run.abort', { runId: aborted.runId });
    await finished(aborted.runId);
    await noQemu('an abort');
    expect(qemuChildren()).toEqual([]);
  });
});
