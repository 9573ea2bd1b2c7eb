// One run of a program on a fresh simulated machine: lanes become user
// tasks, the hang watchdog and metric sampling run on virtual-time timers,
// and the end of the run is handled the way a process exit would be.
import type { ActionEvent, InterleavingStep, RunEvent } from '../../events/types.js';
import { errnoName, ERRNO } from '../../vocabulary/errno.js';
import type { Json, Program, ProgramLane, ProgramStep } from '../../program/types.js';
import { type Granted, HOLD_POLL_NS, HOLD_SETTLE_MAX_NS, TIMING_OPS, barrierMembers, isStatic, requestOf, resolveStep } from '../../program/resolve.js';
import { buildMachine, type Machine } from '../../sim/machine.js';
import { type BugSwitch } from '../../sim/profiles.js';
import { Rng } from '../../sim/kernel/rng.js';
import type { ScheduleSource } from '../../sim/kernel/strategy.js';
import { WaitQueue } from '../../sim/kernel/sync.js';
import { type KGen, type Task, WakeReason, YieldKind } from '../../sim/kernel/task.js';
import { useAddressSpace } from '../../sim/kernel/memory.js';
import { type SimFile, sysClose } from '../../sim/core/file.js';
import { snd_pcm_running, snd_pcm_hw_avail, Stream } from '../../sim/pcm/pcm_types.js';
import type { SeqOracle } from '../../sim/seq/seq_fifo.js';
import { OP_IMPLS, type OpContext, type OpResult } from './ops.js';
import type { Handle } from './handles.js';
import { LibraryState } from './library/ops.js';

const E = ERRNO;
const NO_STACK: readonly string[] = [];
const METRIC_INTERVAL = 100e6;
const WATCHDOG_INTERVAL = 20e6;
/** How long lanes get to leave after the run's budget is spent. */
const GRACE = 2e9;
/**
 * Steps per chunk before giving the event loop a turn (journal flushes,
 * Ctrl+C, the UI's stop button): a few milliseconds of wall time.
 */
const CHUNK_STEPS = 4_000;

export interface SimRunOptions {
  program: Program;
  bugs: ReadonlySet<BugSwitch>;
  strategy: 'pct' | 'random';
  depth: number;
  /** Scheduler time slice, ns (the preset's `sim.quantum`). */
  quantum?: number;
  /** Recorded decisions to follow, read as the run goes; the run's own strategy shadows them. */
  replay?: ScheduleSource;
  /** Put the request each step issued in its event (`req`). */
  reportRequests?: boolean;
  emit(e: RunEvent): void;
  stopRequested(): boolean;
  oracle?: SeqOracle;
  /** Card ids the preset uses for cards this machine has under another id (the preset's `sim.cards`). */
  cards?: Record<string, string>;
}

interface InflightAction {
  op: string;
  since: number;
  timeout: number;
  handle?: string;
  reported: boolean;
}

interface LaneState {
  lane: ProgramLane | null;
  name: string;
  task: Task | null;
  /** The action in flight (one object per lane, reused: a lane has one action at a time). */
  inflight: InflightAction | null;
  /** Steps completed (a held buffer's handler watches the other parties' progress). */
  completed: number;
  done: boolean;
}

const FUTEX_STACK = ['futex_wait'];
/** Where a system call waits while the lab's fault handler holds its page. */
const UFFD_STACK = ['handle_userfault', 'do_user_addr_fault', 'exc_page_fault', 'asm_exc_page_fault'];

interface Barrier {
  parties: number;
  arrived: number;
  generation: number;
  wq: WaitQueue;
}

/** Functions in the scheduler's text section: /proc/<tid>/wchan never names them. */
const SCHED_FUNCTIONS = /^(__schedule|schedule\w*|io_schedule\w*|preempt_schedule\w*)$/;

export class SimRun {
  readonly m: Machine;
  /** Time user space spends between calls: the simulator's, not the program's (lane draws stay the agent's). */
  private readonly env: Rng;
  private readonly handles: (Handle | null)[];
  private readonly granted: (Granted | null)[];
  /** Per handle: xruns of its earlier runtimes (see OpContext.xrunBase). */
  private readonly xrunBase: number[];
  private readonly delayAt: number[];
  private readonly ctlFiles = new Map<number, SimFile>();
  private readonly seqNumbers = new Map<string, number>();
  /** The application lane's libraries, mirrored (library/). */
  private readonly lib: LibraryState;
  private readonly barriers: Barrier[];
  private readonly lanes: LaneState[] = [];
  /** Program lane index -> its state (setup and teardown are not here). */
  private readonly laneStates: LaneState[] = [];
  private members: number[][] | undefined;
  private stopping = false;
  private crashed = false;
  /** Lanes (not setup/teardown) still running; checked every step, so kept as a count. */
  private lanesRunning = 0;
  private finishedPhase: 'lanes' | 'teardown' | 'exit' | 'done' = 'lanes';
  /** What live-locked the run (see Scheduler.livelocked), once it has. */
  private livelock: string | null = null;
  /** Live-locked again while stopping: nothing more can run. */
  private gaveUp = false;
  /** A setup step did not complete within its bound: the lanes never start. */
  private setupHung = false;
  private setupWatch: { cancel(): void } | null = null;

  constructor(private readonly o: SimRunOptions) {
    const p = o.program;
    this.m = buildMachine({
      seed: p.seed,
      bugs: o.bugs,
      strategy: o.replay ? 'replay' : o.strategy,
      depth: o.depth,
      ...(o.replay ? { replay: o.replay, replayOf: o.strategy } : {}),
      ...(o.quantum ? { quantum: o.quantum } : {}),
      klog: (l) => o.emit({ kind: 'klog', t: l.t, level: l.level, text: l.text, ktime: l.ktime, source: 'sim', ...(l.trace ? { trace: l.trace } : {}), ...(l.involved ? { involved: l.involved } : {}) }),
      ...(o.oracle ? { oracle: o.oracle } : {}),
    });
    this.env = new Rng(p.seed, 3);
    for (const [alias, id] of Object.entries(o.cards ?? {})) this.m.k.snd.aliases.set(alias, id);
    this.lib = new LibraryState(this.m.k);
    this.lib.handleName = (h) => p.handles[h]?.name ?? `#${h}`;
    this.handles = p.handles.map(() => null);
    this.granted = p.handles.map(() => null);
    this.xrunBase = p.handles.map(() => 0);
    this.delayAt = p.handles.map(() => -Infinity);
    this.barriers = p.barriers.map((b) => ({ parties: b.parties, arrived: 0, generation: 0, wq: new WaitQueue(`barrier ${b.name}`) }));
    this.m.k.sched.onTaskExit = (t) => this.taskExited(t);
  }

  get k() {
    return this.m.k;
  }

  /** Stop stepping at the next step and look at stopRequested(): call on abort. */
  interrupt(): void {
    this.m.k.sched.attention = true;
  }

  /** Run to completion, yielding to the event loop between chunks. */
  async run(): Promise<{ status: 'completed' | 'stopped' | 'crashed'; elapsed: number; reason?: string }> {
    const p = this.o.program;
    const setup = this.spawnLane(p.setup);
    // Setup steps have their hang bound too: one that blocks (a read with
    // nothing to read) ends the run with a hang finding instead of stalling it.
    this.setupWatch = this.k.sched.at(this.k.now + WATCHDOG_INTERVAL, () => this.setupWatchdog(setup));
    await this.until(() => setup.done || this.crashed || this.setupHung, Infinity);
    this.setupWatch.cancel();
    if (this.crashed) return this.outcome('crashed');
    if (!setup.done) {
      const stopped = this.o.stopRequested();
      await this.finish();
      return this.outcome(this.crashed ? 'crashed' : 'stopped', stopped ? undefined : 'a setup step did not complete within its bound; the lanes never started');
    }
    const start = this.k.now;
    for (const lane of p.lanes) this.laneStates.push(this.spawnLane(lane));
    this.k.sched.at(start, () => this.watchdog());
    this.k.sched.at(start, () => this.sampleMetrics());
    const end = start + p.duration;
    await this.until(() => this.lanesDone() || this.crashed || this.livelock !== null, end);
    // The periodic sample may be up to METRIC_INTERVAL old: the run's xrun
    // count is the kernel's counter now (a run stopped at 28 ms had none yet).
    this.sampleXruns();
    const stopped = this.o.stopRequested();
    if (!this.crashed) await this.finish();
    if (this.livelock !== null) return this.outcome(this.crashed ? 'crashed' : 'stopped', `live-lock: ${this.livelock}`);
    return this.outcome(this.crashed ? 'crashed' : stopped ? 'stopped' : 'completed');
  }

  private outcome(status: 'completed' | 'stopped' | 'crashed', reason?: string) {
    this.flushSchedule();
    return { status, elapsed: this.k.now, ...(status === 'crashed' ? { reason: 'kernel panic' } : reason ? { reason } : {}) };
  }

  private lanesDone(): boolean {
    return this.lanesRunning === 0;
  }

  /** Run the scheduler until `cond` holds, time `limit` passes, or a stop is requested. */
  private async until(cond: () => boolean, limit: number): Promise<void> {
    const sched = this.k.sched;
    for (;;) {
      useAddressSpace(this.m.addrs);
      if (cond() || this.o.stopRequested() || this.gaveUp) return;
      sched.attention = false;
      const r = sched.run(limit, CHUNK_STEPS);
      if (r === 'panic') {
        this.crashed = true;
        return;
      }
      if (r === 'livelock') {
        this.flushSchedule();
        this.onLivelock();
        return;
      }
      this.flushSchedule();
      if (r === 'time' || r === 'idle' || cond() || this.o.stopRequested()) return;
      if (r === 'stopped') continue;
      await new Promise<void>((res) => setImmediate(res));
    }
  }

  /** After the budget: stop lanes, wait for them (or their hang verdict), tear down, exit. */
  private async finish(): Promise<void> {
    const k = this.k;
    this.stopping = true;
    for (const l of this.lanes) if (l.task && !l.task.done) k.sched.signal(l.task);
    const stuckDeadline = () => Math.max(k.now + GRACE, ...this.lanes.filter((l) => l.inflight && !l.done).map((l) => l.inflight!.since + l.inflight!.timeout + WATCHDOG_INTERVAL));
    await this.until(() => this.lanesDone() || this.crashed, Math.min(stuckDeadline(), k.now + 600e9));
    if (this.crashed || this.gaveUp) return;
    for (const l of this.lanes)
      if (!l.done && l.lane) this.o.emit({ kind: 'lane', t: k.now, lane: l.name, state: 'abandoned', ...this.taskInfo(l.task!), detail: l.inflight ? `still inside ${l.inflight.op}` : 'did not leave' });
    this.finishedPhase = 'teardown';
    const td = this.spawnLane(this.o.program.teardown);
    await this.until(() => td.done || this.crashed, k.now + 60e9);
    if (this.crashed || this.gaveUp) return;
    // Process exit closes whatever is still open.
    this.finishedPhase = 'exit';
    const exit = this.spawnTask('exit', this.exitTask());
    await this.until(() => exit.done || this.crashed, k.now + 60e9);
    // A task stuck in D state: give khungtaskd the time it needs to speak up.
    const hung = this.lanes.filter((l) => l.task && !l.task.done && l.task.state === 'D');
    if (hung.length && !this.crashed && !this.gaveUp) await this.until(() => this.crashed, k.now + 2 * k.hungTaskTimeout + 5e9);
    this.finishedPhase = 'done';
  }

  private *exitTask(): KGen<void> {
    // the libraries' threads end with the process; their files close with the rest
    yield* this.lib.exit();
    for (let i = 0; i < this.handles.length; i++) {
      const h = this.handles[i];
      if (!h) continue;
      this.handles[i] = null;
      yield* sysClose(this.k, h.file);
    }
    for (const [card, f] of [...this.ctlFiles]) {
      this.ctlFiles.delete(card);
      yield* sysClose(this.k, f);
    }
  }

  private spawnTask(name: string, gen: KGen<void>): { done: boolean } {
    const st: LaneState = { lane: null, name, task: null, inflight: null, completed: 0, done: false };
    st.task = this.k.sched.spawn(name, 'user', this.wrap(st, gen));
    this.lanes.push(st);
    return st;
  }

  private spawnLane(lane: ProgramLane): LaneState {
    const looping = lane.role === 'lane';
    const st: LaneState = { lane: looping ? lane : null, name: lane.name, task: null, inflight: null, completed: 0, done: false };
    if (looping) this.lanesRunning++;
    st.task = this.k.sched.spawn(lane.name, 'user', this.laneMain(st, lane));
    this.lanes.push(st);
    return st;
  }

  private *wrap(st: LaneState, gen: KGen<void>): KGen<void> {
    yield* gen;
    this.markDone(st);
  }

  private markDone(st: LaneState): void {
    if (st.done) return;
    st.done = true;
    if (st.lane) this.lanesRunning--;
    this.k.sched.attention = true;
  }

  private *laneMain(st: LaneState, lane: ProgramLane): KGen<void> {
    const k = this.k;
    const p = this.o.program;
    const steps = lane.steps;
    if (st.lane) this.o.emit({ kind: 'lane', t: k.now, lane: st.name, state: 'start' });
    const looping = st.lane !== null;
    const maxIter = lane.iterations ?? Infinity;
    // The lane's own generator, as the agent's lane thread has (app/program/README.md).
    const draws = new Rng(p.seed, lane.rngStream);
    const inf: InflightAction = { op: '', since: 0, timeout: 0, reported: false };
    const ctx: OpContext = {
      k,
      program: p,
      lane: st.name,
      iter: 0,
      step: 0,
      emit: this.o.emit,
      stopping: () => this.stopping || this.o.stopRequested(),
      progress: () => {
        inf.since = k.now;
        inf.reported = false;
      },
      xrunBase: this.xrunBase,
      delayAt: this.delayAt,
      handles: this.handles,
      granted: this.granted,
      ctlFiles: this.ctlFiles,
      seqNumbers: this.seqNumbers,
      lib: this.lib,
      barrier: (i) => this.barrierWait(i),
      hold: (i) => this.holdFault(st, i),
    };
    // Setup stops with the run too (after a hang in setup, the rest of it must not run).
    const stoppable = looping || lane.role === 'setup';
    const reportRequests = Boolean(this.o.reportRequests);
    const plans = steps.map((step) => ({
      impl: OP_IMPLS[step.op],
      handle: step.handle >= 0 ? p.handles[step.handle]!.name : undefined,
      fixed: isStatic(step) ? resolveStep(step, 0, draws) : null,
      recorded: null as Record<string, Json> | null,
      userTime: step.op !== 'barrier',
    }));
    // One action per pass; written inline rather than as a helper generator
    // because this loop runs for every operation of every lane.
    for (let it = 0; it < maxIter; it++) {
      const iter = looping ? it : lane.fixedIteration!;
      const stepsBefore = k.sched.steps;
      for (let index = 0; index < steps.length; index++) {
        if (stoppable && this.stopping) break;
        const step = steps[index]!;
        const plan = plans[index]!;
        const values = plan.fixed ?? resolveStep(step, iter, draws);
        const handle = plan.handle;
        const t0 = k.now;
        inf.op = step.op;
        inf.since = t0;
        inf.timeout = step.timeout;
        inf.reported = false;
        if (handle) inf.handle = handle;
        else delete inf.handle;
        st.inflight = inf;
        ctx.iter = iter;
        ctx.step = index;
        const r: OpResult = plan.impl ? yield* plan.impl(ctx, step, values) : { ret: -E.ENOSYS };
        // A syscall interrupted by a signal restarts or reports EINTR; the lab stops on it.
        const ret = r.ret === -E.ERESTARTSYS ? -E.EINTR : r.ret;
        const ev: ActionEvent = { kind: 'act', t: t0, dur: k.now - t0, lane: st.name, iter, step: index, op: step.op, ret };
        if (handle) ev.handle = handle;
        if (step.recordArgs) ev.args = plan.fixed ? (plan.recorded ??= { ...plan.fixed }) : values;
        if (ret < 0) ev.errno = errnoName(ret);
        if (r.data) ev.data = r.data;
        if (reportRequests) ev.req = requestOf(values, r.facts);
        st.inflight = null;
        st.completed++;
        this.o.emit(ev);
        if (r.metrics) for (const m of r.metrics) this.o.emit({ ...m, t: k.now } as RunEvent);
        // Time spent in user space between calls (syscall entry/exit, the lab's own work).
        if (plan.userTime) yield k.current.sleepUntil(k.now + this.env.int(500, 2500), 'S', 'user space', NO_STACK);
      }
      if (stoppable && this.stopping) break;
      // An iteration that never reached a preemption point (a loop of one-party
      // barriers) must still give the scheduler a step, or it would loop inside
      // this one forever where nothing can see it; the scheduler then sees time
      // standing still and calls it a live-lock.
      if (looping && k.sched.steps === stepsBefore) yield k.current.spend(0, `${st.name}: loop iteration without a system call`);
    }
    if (st.lane) this.o.emit({ kind: 'lane', t: k.now, lane: st.name, state: 'end' });
    this.markDone(st);
  }

  /**
   * The fault handler of a held buffer (rule "held buffers"): it meets the
   * barrier for the lane whose system call is blocked in handle_userfault,
   * then, once the barrier released, waits until every other lane that met
   * it is blocked inside its next call or has finished it (at most
   * HOLD_SETTLE_MAX_NS), and only then resolves the page.
   */
  private *holdFault(self: LaneState, index: number): KGen<void> {
    const k = this.k;
    const r = yield* this.barrierWait(index, 'handle_userfault: fault handler at', UFFD_STACK);
    if (r.ret < 0) return;
    this.members ??= barrierMembers(this.o.program);
    const others = this.members[index]!.map((li) => this.laneStates[li]!).filter((st) => st && st !== self);
    const base = others.map((st) => st.completed);
    const until = k.now + HOLD_SETTLE_MAX_NS;
    const inside = (st: LaneState, i: number): boolean =>
      st.done || st.completed >= base[i]! + 2 || (st.inflight !== null && !TIMING_OPS.has(st.inflight.op) && st.task !== null && st.task.state !== 'R' && !st.task.spinning);
    while (k.now < until && !others.every(inside)) {
      const why = yield k.current.sleepUntil(Math.min(until, k.now + HOLD_POLL_NS), 'S', 'handle_userfault: waiting for the racing calls', UFFD_STACK);
      if (why === WakeReason.Signal) return;
    }
  }

  private *barrierWait(index: number, at = 'barrier', stack: readonly string[] = FUTEX_STACK): KGen<OpResult> {
    const b = this.barriers[index]!;
    const name = this.o.program.barriers[index]!.name;
    const gen = b.generation;
    if (++b.arrived >= b.parties) {
      b.arrived = 0;
      b.generation++;
      this.k.wakeUp(b.wq);
      return { ret: 0, data: { generation: gen } };
    }
    while (b.generation === gen) {
      const why = yield { kind: YieldKind.Block, wq: b.wq, state: 'S', until: Infinity, at: `${at} ${name}: waiting`, stack };
      if (why === WakeReason.Signal) {
        b.arrived = Math.max(0, b.arrived - 1);
        return { ret: -E.EINTR, data: { generation: gen } };
      }
    }
    return { ret: 0, data: { generation: gen } };
  }

  /** Time stood still: say what loops (a finding), stop the lanes; a second time, give up. */
  private onLivelock(): void {
    const k = this.k;
    k.sched.clearLivelock();
    if (this.livelock !== null) {
      this.gaveUp = true;
      return;
    }
    const now = k.now;
    const p = this.o.program;
    const recent = k.sched.recentSteps(512).filter((s) => s.t === now);
    const names = [...new Set(recent.map((s) => s.task.name))];
    const lanes = this.lanes.filter((l) => l.lane && names.includes(l.name));
    const loops = lanes.map((l) => l.lane!.steps);
    let text: string;
    if (lanes.length && loops.every((steps) => steps.every((s) => s.op === 'barrier'))) {
      const barriers = [...new Set(loops.flat().map((s) => (s.args.name as { fixed?: unknown } | undefined)?.fixed as string))];
      const what = barriers.map((b) => {
        const n = p.barriers.find((x) => x.name === b)?.parties ?? 1;
        return `barrier ${b} with ${n === 1 ? 'one party' : `${n} parties`}`;
      });
      const who = lanes.length === 1 ? `lane ${lanes[0]!.name} loops` : `lanes ${lanes.map((l) => l.name).join(', ')} loop`;
      text = `${who} on ${what.join(' and ')} and nothing else: no step of the loop takes time, so virtual time stood still at ${(now / 1e6).toFixed(3)} ms`;
    } else {
      const where = [...new Set(recent.slice(-8).map((s) => `${s.task.name}: ${s.at}`))].join('; ');
      text = `virtual time stood still at ${(now / 1e6).toFixed(3)} ms: ${names.join(', ')} kept running without anything taking time (${where})`;
    }
    this.livelock = text;
    const trace = recent.slice(-32).map((s) => ({ t: s.t, task: s.task.name, ctx: s.task.ctx, at: s.at }));
    this.o.emit({ kind: 'lane', t: now, lane: lanes[0]?.name ?? names[0] ?? 'kernel', state: 'livelock', detail: text, ...(trace.length ? { trace } : {}) });
  }

  private setupWatchdog(setup: LaneState): void {
    if (setup.done) return;
    if (this.checkHung(setup)) {
      this.setupHung = true;
      this.k.sched.attention = true;
    } else this.setupWatch = this.k.sched.at(this.k.now + WATCHDOG_INTERVAL, () => this.setupWatchdog(setup));
  }

  private taskExited(t: Task): void {
    const st = this.lanes.find((l) => l.task === t);
    if (!st) return;
    this.markDone(st);
    if (t.error) {
      // Killed by an oops in process context: the lane is gone, its locks stay held.
      this.o.emit({ kind: 'lane', t: this.k.now, lane: st.name, state: 'died', detail: `killed by a kernel oops${st.inflight ? ` inside ${st.inflight.op}` : ''}` });
    }
  }

  private taskInfo(t: Task) {
    const state = t.done ? 'Z' : t.spinning ? 'R' : t.state;
    // wchan is the first function that is not the scheduler's own (get_wchan() skips in_sched_functions)
    const wchan = t.stack.find((f) => !SCHED_FUNCTIONS.test(f)) ?? t.stack[0];
    return { taskState: state, wchan: wchan ?? (t.state === 'S' ? 'do_nanosleep' : '0'), stack: [...t.stack] };
  }

  private watchdog(): void {
    const k = this.k;
    for (const l of this.lanes) this.checkHung(l);
    if (this.finishedPhase !== 'done') k.sched.at(k.now + WATCHDOG_INTERVAL, () => this.watchdog());
  }

  /** Reports the lane's action if it has overrun its bound (once); true when it has. */
  private checkHung(l: LaneState): boolean {
    const k = this.k;
    const f = l.inflight;
    if (!f || l.done || !l.task) return false;
    if (f.reported) return true;
    if (k.now - f.since <= f.timeout) return false;
    f.reported = true;
    const trace = this.traceFor([l.name], f.since);
    this.o.emit({ kind: 'lane', t: k.now, lane: l.name, state: 'hung', detail: `${f.op}${f.handle ? ` on ${f.handle}` : ''} did not complete within ${f.timeout / 1e6} ms (started at ${(f.since / 1e6).toFixed(3)} ms)`, ...this.taskInfo(l.task), ...(trace.length ? { trace } : {}) });
    return true;
  }

  private sampleXruns(): void {
    const names = this.o.program.handles;
    for (let i = 0; i < this.handles.length; i++) {
      const h = this.handles[i];
      if (h?.kind !== 'pcm') continue;
      const rt = h.substream.runtime;
      if (!rt || rt.freed || !rt.rate) continue;
      this.o.emit({ kind: 'metric', t: this.k.now, name: 'xruns', value: this.xrunBase[i]! + rt.xruns, handle: names[i]!.name });
    }
  }

  private sampleMetrics(): void {
    const k = this.k;
    const names = this.o.program.handles;
    // Stream latency is sampled where the agent samples it, after transfers and on STATUS (ops.ts).
    this.sampleXruns();
    for (let i = 0; i < this.handles.length; i++) {
      const h = this.handles[i];
      if (h?.kind !== 'seq') continue;
      const name = names[i]!.name;
      const c = this.m.seq.clients.get(h.client);
      const pool = c?.fifo?.pool;
      if (pool && !pool.freed) this.o.emit({ kind: 'metric', t: k.now, name: 'seq_pool_used', value: pool.counter, handle: name });
    }
    if (this.finishedPhase === 'lanes') k.sched.at(k.now + METRIC_INTERVAL, () => this.sampleMetrics());
  }

  /** Recent scheduling steps of the given lanes (and kernel contexts) since `since`. */
  traceFor(lanes: string[], since: number, max = 64, margin = 50e3): InterleavingStep[] {
    const steps = this.k.sched.recentSteps(512).filter((s) => s.t >= since - margin && (lanes.includes(s.task.name) || s.task.ctx !== 'user'));
    return steps.slice(-max).map((s) => ({ t: s.t, task: s.task.name, ctx: s.task.ctx, at: s.at }));
  }

  /** Recent steps of every task, for findings the target is asked to explain. */
  recentTrace(since: number, max = 64): InterleavingStep[] {
    return this.k.sched
      .recentSteps(512)
      .filter((s) => s.t >= since && s.task.name !== 'khungtaskd')
      .slice(-max)
      .map((s) => ({ t: s.t, task: s.task.name, ctx: s.task.ctx, at: s.at }));
  }

  private flushSchedule(): void {
    const d = this.k.sched.decisions.take();
    if (d) this.o.emit({ kind: 'sched', t: this.k.now, decisions: d });
  }
}
