// ASoC Dynamic PCM (sound/soc/soc-pcm.c): front ends (FE, the PCM user space
// opens) connected to back ends (BE, the DAIs) by `struct snd_soc_dpcm`
// links on two lists. A routing change prunes and frees links while the
// period interrupt's xrun path may be walking them (seed 001).
//
// fixed: list add/del under the FE stream lock, kfree only after unlink
// (b7898396f4bb + the 2022 two-phase disconnect), FE triggers deferred while
// a runtime update is in progress (trigger_pending).
// dpcm-unlocked-be-list: the 2014 code: list_del + kfree under card->mutex
// only, and trigger walks the list under the FE stream lock.
import type { Kernel } from '../kernel/kernel.js';
import { KObject } from '../kernel/memory.js';
import { Mutex, SpinLock, mutexLock, mutexUnlock, spinLock, spinUnlock } from '../kernel/sync.js';
import type { KGen } from '../kernel/task.js';
import { type SndPcmSubstream, Trigger } from '../pcm/pcm_types.js';
import { LIST_POISON1, type ListNode, POISON1_ADDR, listAdd, listDel, listEntries, listHead, listNode } from './list.js';

export const enum DpcmState {
  NEW,
  OPEN,
  HW_PARAMS,
  PREPARE,
  START,
  STOP,
  HW_FREE,
  CLOSE,
}

export class SocPcmRuntime {
  readonly be_clients: ListNode<SndSocDpcm> = listHead();
  readonly fe_clients: ListNode<SndSocDpcm> = listHead();
  state: DpcmState = DpcmState.NEW;
  runtime_update: 'NO' | 'BE' | 'FE' = 'NO';
  trigger_pending = 0;
  /** BE stream lock (the BE's own PCM substream lock). */
  readonly beLock: SpinLock;
  /** Set for front ends: the PCM substream user space opens. */
  substream: SndPcmSubstream | null = null;
  /** Triggered on the BE DAI (what a real codec/SSP driver would do). */
  beTriggers = 0;
  constructor(
    readonly name: string,
    readonly isFe: boolean,
  ) {
    this.beLock = new SpinLock(`${name} BE stream lock`);
  }
}

export class SndSocDpcm extends KObject {
  state: 'NEW' | 'FREE' = 'NEW';
  readonly list_be: ListNode<SndSocDpcm>;
  readonly list_fe: ListNode<SndSocDpcm>;
  constructor(
    readonly fe: SocPcmRuntime,
    readonly be: SocPcmRuntime,
  ) {
    super('kmalloc-96', 96);
    this.list_be = listNode<SndSocDpcm>(this);
    this.list_fe = listNode<SndSocDpcm>(this);
  }
}

/** Offsets in struct snd_soc_dpcm for reports. */
const DPCM_BE_OFFSET = 0x8;

export class SocCard {
  /** card->pcm_mutex today; card->mutex in the 2014 code. */
  readonly pcm_mutex = new Mutex('card->pcm_mutex');
  readonly dapm_mutex = new Mutex('card->dapm_mutex');
  readonly fes: SocPcmRuntime[] = [];
  readonly bes: SocPcmRuntime[] = [];
  /** DAPM routing: which BEs the FE reaches. */
  readonly routes = new Map<string, boolean>();
}

function feStreamLock(k: Kernel, fe: SocPcmRuntime, at: string): KGen {
  return spinLock(k, fe.substream!.lock, at);
}

function* dpcm_be_connect(k: Kernel, fe: SocPcmRuntime, be: SocPcmRuntime, stack: readonly string[]): KGen<number> {
  for (const d of listEntries(fe.be_clients)) if (d.be === be) return 0;
  const dpcm = k.alloc(new SndSocDpcm(fe, be), ['dpcm_be_connect', ...stack]);
  const locked = !k.bug('dpcm-unlocked-be-list');
  if (locked) yield* feStreamLock(k, fe, 'dpcm_be_connect: snd_pcm_stream_lock_irq(fe)');
  listAdd(dpcm.list_be, fe.be_clients);
  listAdd(dpcm.list_fe, be.fe_clients);
  if (locked) spinUnlock(k, fe.substream!.lock);
  yield `dpcm_be_connect: connected ${fe.name} -> ${be.name}`;
  return 1;
}

function* dpcm_be_disconnect(k: Kernel, fe: SocPcmRuntime, stack: readonly string[]): KGen {
  const st = ['dpcm_be_disconnect', ...stack];
  if (k.bug('dpcm-unlocked-be-list')) {
    for (const dpcm of listEntries(fe.be_clients)) {
      if (dpcm.state !== 'FREE') continue;
      yield `dpcm_be_disconnect: freeing ${fe.name} -> ${dpcm.be.name}`;
      listDel(dpcm.list_be);
      yield 'dpcm_be_disconnect: list_del(&dpcm->list_be) done';
      listDel(dpcm.list_fe);
      k.kfree(dpcm, st);
      yield 'dpcm_be_disconnect: kfree(dpcm) done';
    }
    return;
  }
  const deleted: SndSocDpcm[] = [];
  yield* feStreamLock(k, fe, 'dpcm_be_disconnect: snd_pcm_stream_lock_irq(fe)');
  for (const dpcm of listEntries(fe.be_clients)) {
    if (dpcm.state !== 'FREE') continue;
    listDel(dpcm.list_be);
    listDel(dpcm.list_fe);
    deleted.push(dpcm);
  }
  spinUnlock(k, fe.substream!.lock);
  yield 'dpcm_be_disconnect: unlinked under the FE stream lock';
  for (const dpcm of deleted) k.kfree(dpcm, st);
}

/**
 * dpcm_be_dai_trigger(): called with the FE stream lock held (from the FE
 * trigger, which the PCM core calls under the stream lock, e.g. from
 * snd_pcm_stop() in the period interrupt's xrun path).
 */
export function* dpcm_be_dai_trigger(k: Kernel, fe: SocPcmRuntime, cmd: Trigger, stack: readonly string[]): KGen<number> {
  const st = ['dpcm_be_dai_trigger', ...stack];
  let pos = fe.be_clients.next;
  for (;;) {
    yield 'dpcm_be_dai_trigger: list_for_each_entry(dpcm, &fe->be_clients)';
    if (pos === fe.be_clients) return 0;
    if (pos === LIST_POISON1) k.gpf('dpcm_be_dai_trigger', POISON1_ADDR, st);
    const node = pos as ListNode<SndSocDpcm>;
    const dpcm = k.use(node.owner!, 'dpcm_be_dai_trigger', DPCM_BE_OFFSET, 8, false, st);
    const be = dpcm.be;
    const locked = !k.bug('dpcm-unlocked-be-list');
    if (locked) yield* spinLock(k, be.beLock, 'dpcm_be_dai_trigger: snd_pcm_stream_lock_irqsave_nested(be)');
    if (cmd === Trigger.START && (be.state === DpcmState.PREPARE || be.state === DpcmState.STOP)) {
      be.beTriggers++;
      be.state = DpcmState.START;
    } else if (cmd === Trigger.STOP && be.state === DpcmState.START) {
      be.beTriggers++;
      be.state = DpcmState.STOP;
    }
    if (locked) spinUnlock(k, be.beLock);
    yield `dpcm_be_dai_trigger: ${cmd === Trigger.START ? 'started' : 'stopped'} BE ${be.name}`;
    pos = k.use(dpcm, 'dpcm_be_dai_trigger', 0x10, 8, false, st).list_be.next;
  }
}

/** dpcm_fe_dai_trigger(): the FE's .trigger, stream lock held by the caller. */
export function* dpcm_fe_dai_trigger(k: Kernel, fe: SocPcmRuntime, cmd: Trigger, feDma: (cmd: Trigger) => KGen<number>): KGen<number> {
  // The PCM core calls the FE trigger from an ioctl (start, drop, an xrun a
  // status call finds) or from the period interrupt: the chain as entered.
  const stack = ['dpcm_fe_dai_trigger', ...k.callers([cmd === Trigger.START ? 'snd_pcm_do_start' : 'snd_pcm_do_stop', 'snd_pcm_action_single'])];
  if (!k.bug('dpcm-unlocked-be-list') && fe.runtime_update !== 'NO') {
    fe.trigger_pending = cmd + 1; // replayed when the update finishes
    return 0;
  }
  fe.runtime_update = 'FE';
  let r = yield* feDma(cmd);
  if (r >= 0) r = yield* dpcm_be_dai_trigger(k, fe, cmd, stack);
  fe.runtime_update = 'NO';
  return r;
}

function* setFeUpdateState(k: Kernel, fe: SocPcmRuntime, state: 'NO' | 'BE', feDma: (cmd: Trigger) => KGen<number>): KGen {
  if (k.bug('dpcm-unlocked-be-list')) {
    fe.runtime_update = state;
    return;
  }
  yield* feStreamLock(k, fe, 'dpcm_set_fe_update_state: lock FE');
  fe.runtime_update = state;
  if (state === 'NO' && fe.trigger_pending) {
    const cmd = (fe.trigger_pending - 1) as Trigger;
    fe.trigger_pending = 0;
    fe.runtime_update = 'FE';
    yield* feDma(cmd);
    yield* dpcm_be_dai_trigger(k, fe, cmd, ['dpcm_set_fe_update_state', 'soc_dpcm_fe_runtime_update']);
    fe.runtime_update = 'NO';
  }
  spinUnlock(k, fe.substream!.lock);
}

/** snd_soc_dpcm_runtime_update(): re-route every active FE after a DAPM change. */
export function* snd_soc_dpcm_runtime_update(k: Kernel, card: SocCard, feDma: (fe: SocPcmRuntime) => (cmd: Trigger) => KGen<number>): KGen<number> {
  const stack = ['snd_soc_dpcm_runtime_update', 'soc_dapm_mixer_update_power', 'snd_soc_dapm_put_volsw', 'snd_ctl_elem_write'];
  yield* mutexLock(k, card.pcm_mutex, `snd_soc_dpcm_runtime_update: mutex_lock(&card->${k.bug('dpcm-unlocked-be-list') ? 'mutex' : 'pcm_mutex'})`, stack);
  for (const fe of card.fes) {
    if (fe.state === DpcmState.NEW || fe.state === DpcmState.CLOSE || !fe.substream?.runtime) continue;
    const want = new Set(card.bes.filter((b) => card.routes.get(b.name)));
    // dpcm_prune_paths(): mark links to BEs no longer routed.
    let pruned = 0;
    for (const d of listEntries(fe.be_clients))
      if (!want.has(d.be)) {
        d.state = 'FREE';
        d.be.runtime_update = 'BE';
        pruned++;
      }
    yield `soc_dpcm_fe_runtime_update: pruned ${pruned} old BE path(s)`;
    if (pruned) {
      yield* setFeUpdateState(k, fe, 'BE', feDma(fe));
      for (const d of listEntries(fe.be_clients))
        if (d.state === 'FREE' && d.be.state === DpcmState.START) {
          yield* spinLock(k, d.be.beLock, 'dpcm_run_update_shutdown: BE trigger stop');
          d.be.state = DpcmState.STOP;
          d.be.beTriggers++;
          spinUnlock(k, d.be.beLock);
        }
      for (const d of listEntries(fe.be_clients)) if (d.state === 'FREE') d.be.state = DpcmState.CLOSE;
      yield* dpcm_be_disconnect(k, fe, ['soc_dpcm_fe_runtime_update', ...stack]);
      yield* setFeUpdateState(k, fe, 'NO', feDma(fe));
    }
    // dpcm_add_paths() + dpcm_run_update_startup() for newly routed BEs.
    let added = 0;
    for (const be of want) added += yield* dpcm_be_connect(k, fe, be, ['dpcm_add_paths', 'soc_dpcm_fe_runtime_update', ...stack]);
    if (added) {
      yield* setFeUpdateState(k, fe, 'BE', feDma(fe));
      const running = fe.state === DpcmState.START;
      for (const d of listEntries(fe.be_clients)) {
        if (d.be.state === DpcmState.NEW || d.be.state === DpcmState.CLOSE) d.be.state = running ? DpcmState.START : DpcmState.PREPARE;
      }
      yield* setFeUpdateState(k, fe, 'NO', feDma(fe));
    }
    for (const be of card.bes) be.runtime_update = 'NO';
  }
  mutexUnlock(k, card.pcm_mutex);
  return 0;
}

/** FE open/close: connect to routed BEs / disconnect all of them. */
export function* dpcm_fe_open(k: Kernel, card: SocCard, fe: SocPcmRuntime): KGen {
  yield* mutexLock(k, card.pcm_mutex, 'dpcm_fe_dai_open: mutex_lock(pcm_mutex)', ['dpcm_fe_dai_open', 'soc_pcm_open']);
  fe.state = DpcmState.OPEN;
  for (const be of card.bes) if (card.routes.get(be.name)) yield* dpcm_be_connect(k, fe, be, ['dpcm_fe_dai_open']);
  for (const d of listEntries(fe.be_clients)) if (d.be.state === DpcmState.NEW || d.be.state === DpcmState.CLOSE) d.be.state = DpcmState.OPEN;
  mutexUnlock(k, card.pcm_mutex);
}

export function* dpcm_fe_close(k: Kernel, card: SocCard, fe: SocPcmRuntime): KGen {
  yield* mutexLock(k, card.pcm_mutex, 'dpcm_fe_dai_close: mutex_lock(pcm_mutex)', ['dpcm_fe_dai_close', 'soc_pcm_close']);
  for (const d of listEntries(fe.be_clients)) {
    d.state = 'FREE';
    d.be.state = DpcmState.CLOSE;
  }
  yield* dpcm_be_disconnect(k, fe, ['dpcm_fe_dai_close']);
  fe.state = DpcmState.CLOSE;
  mutexUnlock(k, card.pcm_mutex);
}

export function* dpcm_fe_set_state(k: Kernel, card: SocCard, fe: SocPcmRuntime, state: DpcmState, beState: DpcmState, op: string): KGen {
  yield* mutexLock(k, card.pcm_mutex, `dpcm_fe_dai_${op}: mutex_lock(pcm_mutex)`, [`dpcm_fe_dai_${op}`]);
  fe.state = state;
  for (const d of listEntries(fe.be_clients)) d.be.state = beState;
  mutexUnlock(k, card.pcm_mutex);
}
