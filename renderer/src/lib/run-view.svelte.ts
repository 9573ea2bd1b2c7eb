// One run on screen, live or from history. Events are folded into a
// RunSeries as they arrive (constant work per event, constant memory); the
// screen is told to redraw at most every REDRAW_MS through `version`, so a
// stream of thousands of events per second costs a few redraws per second.
import { tick } from 'svelte';
import type { PushMessage, ReplayStarted, RunContext, RunEvent, RunHeader, RunSummary, RunTrailer, TargetContext } from '../../../app/api/types.js';
import { RunSeries } from '../../../app/api/series.js';
import { api } from './api.js';
import { whenDrawn } from './frame.js';

/** At most four redraws a second: live enough to watch, cheap enough at any event rate. */
export const REDRAW_MS = 250;

export type ViewState = 'loading' | 'live' | 'ended' | 'failed';

export class RunView {
  readonly series = new RunSeries();
  header = $state<RunHeader | null>(null);
  state = $state<ViewState>('loading');
  live = $state(false);
  summary = $state<RunSummary | null>(null);
  trailer = $state<RunTrailer | null>(null);
  truncated = $state(false);
  error = $state<string | null>(null);
  /** Bumped (throttled) when the series changed: charts and lists read it to know when to redraw. */
  version = $state(0);
  /** Set when this run replays a finding of another run. */
  replayOf = $state<{ runId: string; findingId: string; started: ReplayStarted } | null>(null);
  /** The target getting ready (the virtual lab's boot), until the first operation. */
  progress = $state<{ stage: string; text: string; wallMs: number; at: number } | null>(null);
  /** Boot stages seen, in order, with the wall time each began. */
  stages = $state<{ stage: string; text: string; wallMs: number }[]>([]);
  /** What the target said it runs on (the summary's context, with the host, replaces it at the end). */
  context = $state<TargetContext | RunContext | null>(null);
  /** The first operation ran: the run's clock started. */
  started = $state(false);
  /** Pushes carry it; the lab service sends none before its id has reached us (main/service/lab-service.ts). */
  private sub: string | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;

  constructor(readonly runId: string) {}

  async open(): Promise<void> {
    await this.subscribe();
  }

  private async subscribe(): Promise<void> {
    try {
      const r = await api.call('runs.subscribe', { runId: this.runId, from: this.series.events });
      if (this.closed) {
        void api.call('runs.unsubscribe', { sub: r.sub }).catch(() => {});
        return;
      }
      this.sub = r.sub;
      this.header = r.header;
      this.live = r.live;
      this.state = r.live ? 'live' : 'loading';
    } catch (e) {
      this.error = (e as Error).message;
      this.state = 'failed';
    }
  }

  /** After a reconnect: pick up where the stream stopped. */
  resume(): void {
    if (this.state === 'live' || this.state === 'loading') {
      this.sub = null;
      void this.subscribe();
    }
  }

  handle(m: PushMessage): boolean {
    if (m.type === 'runs-changed') return false;
    if (this.sub === null || m.sub !== this.sub) return false;
    if (m.type === 'events') {
      const fresh = m.from + m.events.length > this.series.events ? m.events.slice(Math.max(0, this.series.events - m.from)) : [];
      this.series.feed(m.events, m.from);
      this.notice(fresh);
      this.schedule();
    } else {
      this.sub = null;
      // The verdict appears only once every chart has drawn the final data: a
      // PASS above a histogram still filling in would be read as the result.
      this.flush();
      void this.settle().then(() => {
        this.summary = m.summary;
        if (m.summary?.context) this.context = m.summary.context;
        this.trailer = m.trailer;
        this.truncated = m.truncated;
        if (m.error) this.error = m.error;
        this.live = false;
        this.state = m.error && !m.summary && !this.series.events ? 'failed' : 'ended';
      });
    }
    return true;
  }

  /** Progress, context and the first operation, from events as they arrive (cheap: only a few kinds are looked at). */
  private notice(events: readonly RunEvent[]): void {
    for (const e of events) {
      if (e.kind === 'progress') {
        this.progress = { stage: e.stage, text: e.text, wallMs: e.wall_ms, at: Date.now() };
        this.stages = [...this.stages, { stage: e.stage, text: e.text, wallMs: e.wall_ms }];
      } else if (e.kind === 'context') this.context = e.context;
      else if (e.kind === 'act' && !this.started) this.started = true;
    }
  }

  private async settle(): Promise<void> {
    await tick();
    // A hidden window draws no frames: the verdict does not wait for it forever.
    await Promise.race([whenDrawn(), new Promise((r) => setTimeout(r, 3000))]);
  }

  private schedule(): void {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => this.flush(), REDRAW_MS);
  }

  private flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.version++;
  }

  async stop(): Promise<void> {
    await api.call('run.stop', { runId: this.runId });
  }

  async abort(): Promise<void> {
    await api.call('run.abort', { runId: this.runId });
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.sub) void api.call('runs.unsubscribe', { sub: this.sub }).catch(() => {});
    this.sub = null;
  }

  /** Did a replay bring back the finding it was started for? */
  reproduced(): 'yes' | 'no' | 'pending' {
    const r = this.replayOf;
    if (!r) return 'pending';
    const exp = r.started.expect;
    // a re-run from the seed alone (mode "seed") cannot promise the same instant or wording
    const same = r.started.mode === 'seed' ? (f: { type: string }) => f.type === exp.type : (f: { type: string; message: string; t: number }) => f.type === exp.type && f.message === exp.message && f.t === exp.t;
    if (this.series.findings.some(same)) return 'yes';
    return this.state === 'ended' || this.state === 'failed' ? 'no' : 'pending';
  }
}
