// The API as the renderer uses it, against the real `stresslab serve` and
// its worker threads: every event of a run arrives once and in order, for a
// subscriber from the start, one joining mid-run and one reading the journal
// afterwards; stop finishes a run cleanly, abort kills it; one run per target.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PushMessage, RunEvent, RunSummary } from '../app/api/types.js';
import { serve, type Served } from './harness.js';

let server: Served;

class Client {
  private next = 1;
  private readonly waiting = new Map<number, (m: { ok: boolean; result?: unknown; error?: { code: string; message: string } }) => void>();
  readonly pushes: PushMessage[] = [];
  /** Every message in arrival order: "result:<id>" or "<type>:<sub>". */
  readonly order: string[] = [];
  private readonly pushWaiters: (() => void)[] = [];
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const m = JSON.parse(String(d));
      this.order.push(m.type === 'result' ? `result:${m.id}` : `${m.type}:${m.sub ?? ''}`);
      if (m.type === 'result') this.waiting.get(m.id)?.(m);
      else {
        this.pushes.push(m);
        for (const w of this.pushWaiters.splice(0)) w();
      }
    });
  }
  static async open(): Promise<Client> {
    const ws = new WebSocket(`${server.base.replace('http', 'ws')}api/ws`, { headers: { Authorization: `Bearer ${server.token}` } });
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    return new Client(ws);
  }
  async call<T = unknown>(method: string, params: unknown): Promise<T> {
    const id = this.next++;
    const r = await new Promise<{ ok: boolean; result?: unknown; error?: { code: string; message: string } }>((res) => {
      this.waiting.set(id, res);
      this.ws.send(JSON.stringify({ id, method, params }));
    });
    if (!r.ok) throw Object.assign(new Error(r.error!.message), { code: r.error!.code });
    return r.result as T;
  }
  /** Collects a subscription's events until its end message. */
  async collect(sub: string): Promise<{ events: RunEvent[]; froms: number[]; end: Extract<PushMessage, { type: 'end' }> }> {
    const events: RunEvent[] = [];
    const froms: number[] = [];
    let seen = 0;
    for (;;) {
      for (; seen < this.pushes.length; seen++) {
        const m = this.pushes[seen]!;
        if (m.type === 'events' && m.sub === sub) {
          expect(m.from).toBe(events.length);
          froms.push(m.from);
          events.push(...m.events);
        } else if (m.type === 'end' && m.sub === sub) return { events, froms, end: m };
      }
      await new Promise<void>((r) => this.pushWaiters.push(r));
    }
  }
  async firstEvents(sub: string, atLeast: number): Promise<void> {
    for (;;) {
      const n = this.pushes.filter((m) => m.type === 'events' && m.sub === sub).reduce((a, m) => a + (m as { events: unknown[] }).events.length, 0);
      if (n >= atLeast) return;
      await new Promise<void>((r) => this.pushWaiters.push(r));
    }
  }
  close(): void {
    this.ws.close();
  }
}

function journalEvents(runsDir: string, runId: string): string[] {
  const lines = readFileSync(join(runsDir, runId, 'journal.jsonl'), 'utf8').split('\n').filter(Boolean);
  return lines.slice(1).filter((l) => !l.startsWith('{"kind":"end"'));
}

beforeAll(async () => {
  server = await serve();
});
afterAll(async () => {
  await server?.stop();
});

describe('runs over the WebSocket API', () => {
  it('delivers every event once, in order, live and from the journal afterwards', async () => {
    const a = await Client.open();
    const { runId } = await a.call<{ runId: string }>('run.start', { source: { preset: 'demo' }, target: 'sim', profile: ['fixed'], seed: 1 });
    const { sub, header, live } = await a.call<{ sub: string; header: { preset: string }; live: boolean }>('runs.subscribe', { runId, from: 0 });
    expect(header.preset).toBe('demo');
    const got = await a.collect(sub);
    expect(got.end.summary?.verdict).toBe('fail');
    // The subscription's id reaches the client before any of its events do.
    const replyAt = a.order.indexOf('result:2');
    expect(replyAt).toBeGreaterThanOrEqual(0);
    expect(a.order.indexOf(`events:${sub}`)).toBeGreaterThan(replyAt);
    const journal = journalEvents(server.runsDir, runId);
    if (got.events.length !== journal.length) {
      const mine = got.events.map((e) => JSON.stringify(e));
      const k = mine.findIndex((x, i) => x !== journal[i]);
      console.log('first difference at', k, '\nlive:', mine[k]?.slice(0, 300), '\njournal:', journal[k]?.slice(0, 300), '\nlast live:', mine.at(-1)?.slice(0, 200), '\nlast journal:', journal.slice(-4).map((x) => x.slice(0, 200)));
    }
    expect(got.events.length).toBe(journal.length);
    expect(got.events.map((e) => JSON.stringify(e))).toEqual(journal);
    // Batched: far fewer messages than events.
    expect(got.froms.length).toBeLessThan(got.events.length / 50);
    void live;

    // Afterwards, from the journal on disk, from the middle.
    const b = await Client.open();
    const half = Math.floor(journal.length / 2);
    const again = await b.call<{ sub: string; live: boolean }>('runs.subscribe', { runId, from: half });
    expect(again.live).toBe(false);
    const rest: RunEvent[] = [];
    for (;;) {
      const end = b.pushes.find((m) => m.type === 'end' && m.sub === again.sub);
      if (end) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const m of b.pushes) if (m.type === 'events' && m.sub === again.sub) rest.push(...m.events);
    expect(rest.map((e) => JSON.stringify(e))).toEqual(journal.slice(half));
    a.close();
    b.close();
  });

  it('a subscriber joining mid-run from event 0 gets exactly what a subscriber from the start got', async () => {
    const a = await Client.open();
    const b = await Client.open();
    // A long soak on the simulator, stopped once both subscribers are streaming.
    const { runId } = await a.call<{ runId: string }>('run.start', { source: { preset: 'qa-soak' }, target: 'sim', profile: ['fixed'], seed: 2, duration: 24 * 3600e9 });
    const first = await a.call<{ sub: string }>('runs.subscribe', { runId, from: 0 });
    await a.firstEvents(first.sub, 3000);
    const late = await b.call<{ sub: string; live: boolean }>('runs.subscribe', { runId, from: 0 });
    expect(late.live).toBe(true);
    await b.firstEvents(late.sub, 6000);
    await a.call('run.stop', { runId });
    const [x, y] = await Promise.all([a.collect(first.sub), b.collect(late.sub)]);
    expect(x.events.length).toBeGreaterThan(6000);
    expect(y.events.length).toBe(x.events.length);
    expect(y.events.map((e) => JSON.stringify(e))).toEqual(x.events.map((e) => JSON.stringify(e)));
    expect(x.events.map((e) => JSON.stringify(e))).toEqual(journalEvents(server.runsDir, runId));
    expect(x.end.summary?.status).toBe('stopped');
    a.close();
    b.close();
  });

  it('stop finishes a run cleanly; abort kills one; one run per target at a time', async () => {
    const c = await Client.open();
    const long = { source: { preset: 'qa-soak' }, target: 'sim', profile: ['fixed'], seed: 3, duration: 24 * 3600e9 };
    const r1 = await c.call<{ runId: string }>('run.start', long);
    await expect(c.call('run.start', long)).rejects.toMatchObject({ code: 'conflict' });
    const s1 = await c.call<{ sub: string }>('runs.subscribe', { runId: r1.runId, from: 0 });
    await c.firstEvents(s1.sub, 500);
    expect(await c.call('run.stop', { runId: r1.runId })).toEqual({ stopping: true });
    const stopped = await c.collect(s1.sub);
    const summary = stopped.end.summary as RunSummary;
    expect(summary.status).toBe('stopped');
    expect(summary.verdict).toBe('aborted');
    expect(JSON.parse(readFileSync(join(server.runsDir, r1.runId, 'summary.json'), 'utf8')).status).toBe('stopped');

    const r2 = await c.call<{ runId: string }>('run.start', long);
    const s2 = await c.call<{ sub: string }>('runs.subscribe', { runId: r2.runId, from: 0 });
    await c.firstEvents(s2.sub, 500);
    expect(await c.call('run.abort', { runId: r2.runId })).toEqual({ aborted: true });
    const killed = await c.collect(s2.sub);
    expect(killed.end.summary).toBeNull();
    expect(killed.end.error).toMatch(/aborted/);
    const list = await c.call<{ id: string; state: string; verdict?: string }[]>('runs.list', {});
    expect(list.find((r) => r.id === r2.runId)?.state).toBe('incomplete');
    expect(list.find((r) => r.id === r1.runId)).toMatchObject({ state: 'done', verdict: 'aborted' });
    c.close();
  });

  it('run.stop stops a run that spins as hard as it can (64 busy lanes), and a live-locked preset ends by itself', async () => {
    const c = await Client.open();
    const lanes = ['a', 'b'].map((n) => `  - name: ${n}\n    replicas: 32\n    loop:\n      - pcm.status: p\n`).join('');
    const busy = `name: busy-64\nduration: 3600s\nsetup:\n  - pcm.open: { handle: p, card: 0 }\nlanes:\n${lanes}`;
    const r = await c.call<{ runId: string }>('run.start', { source: { text: busy, name: 'busy-64' }, target: 'sim', profile: ['fixed'], seed: 1 });
    const s = await c.call<{ sub: string }>('runs.subscribe', { runId: r.runId, from: 0 });
    await c.firstEvents(s.sub, 5000);
    expect(await c.call('run.stop', { runId: r.runId })).toEqual({ stopping: true });
    const stopped = await c.collect(s.sub);
    expect((stopped.end.summary as RunSummary).status).toBe('stopped');
    expect((stopped.end.summary as RunSummary).verdict).toBe('aborted');

    const spin = 'name: spin\nlanes:\n  - name: a\n    loop:\n      - barrier: b\n';
    const r2 = await c.call<{ runId: string }>('run.start', { source: { text: spin, name: 'spin' }, target: 'sim', profile: ['fixed'], seed: 1 });
    const s2 = await c.call<{ sub: string }>('runs.subscribe', { runId: r2.runId, from: 0 });
    const ended = await c.collect(s2.sub);
    const summary = ended.end.summary as RunSummary;
    expect(summary.findings.map((f) => f.type)).toEqual(['livelock']);
    expect(summary.findings[0]!.message).toMatch(/lane a loops on barrier b with one party/);
    c.close();
  });

  it('refuses a run whose preset text does not validate, naming file:line:col', async () => {
    const c = await Client.open();
    await expect(c.call('run.start', { source: { text: 'name: broken\nlanes:\n  - name: x\n    loop:\n      - pcm.bogus: 1\n', name: 'broken' }, target: 'sim', profile: ['fixed'], seed: 1 })).rejects.toThrow(/broken\.yaml:5:\d+: lanes\[0\]\.loop\[0\]/);
    await expect(c.call('run.start', { source: { preset: 'demo' }, target: 'sim', profile: ['no-such-bug'], seed: 1 })).rejects.toThrow(/unknown kernel profile "no-such-bug"/);
    await expect(c.call('run.start', { source: { preset: 'demo' }, target: 'nonexistent', profile: ['fixed'], seed: 1 })).rejects.toThrow(/unknown target/);
    // the oracle compares one scenario with the fixed model: not a suite, not the fixed model itself
    await expect(c.call('run.start', { source: { preset: 'demo' }, target: 'sim', profile: ['fixed'], seed: 1, oracle: true })).rejects.toThrow(/demo is a suite/);
    await expect(c.call('run.start', { source: { preset: 'stop-close-race' }, target: 'sim', profile: ['fixed'], seed: 1, oracle: true })).rejects.toThrow(/already is one/);
    c.close();
  });

  it('exports the report of a finished run into its directory', async () => {
    const c = await Client.open();
    const runs = await c.call<{ id: string; preset: string; state: string }[]>('runs.list', {});
    const demo = runs.find((r) => r.preset === 'demo' && r.state === 'done')!;
    const r = await c.call<{ file: string; name: string; html: string }>('report.export', { runId: demo.id });
    expect(r.file).toBe(join(server.runsDir, demo.id, 'report.html'));
    expect(readFileSync(r.file, 'utf8')).toBe(r.html);
    expect(r.html).toContain('Audio Stress Lab report');
    c.close();
  });
});
