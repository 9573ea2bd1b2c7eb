// A library's process on the simulated kernel: its file descriptors and the
// log of every system call it makes on /dev/snd, named as a real run's trace
// names them (app/events/alsa-calls.ts). In the application lane each handle
// is a process of its own (app/applane/child/handle-host.ts); here each
// library handle gets one of these, and an op's event carries the calls its
// process made since the op before it on the same handle, its library
// threads' included — the attribution the real run's trace uses.
import { ERRNO, errnoName } from '../../../vocabulary/errno.js';
import type { Kernel } from '../../../sim/kernel/kernel.js';
import type { KGen } from '../../../sim/kernel/task.js';
import { type Req, type SimFile, fget, fput, sysClose, sysRead, sysWrite } from '../../../sim/core/file.js';
import { snd_ctl_open } from '../../../sim/core/control.js';
import { snd_pcm_open } from '../../../sim/pcm/pcm_file.js';
import { Stream } from '../../../sim/pcm/pcm_types.js';
import type { SndCard } from '../../../sim/core/card.js';
import { snd_seq_open } from '../../../sim/seq/seq_clientmgr.js';
import type { AlsaCall } from '../../../events/alsa-calls.js';

const E = ERRNO;

/** An open file and the name its calls are logged under. */
export interface Fd {
  file: SimFile;
  node: string;
}

/** ioctl names as strace prints them (without the SNDRV_*_IOCTL_ prefix), by the simulator's request name. */
const IOCTL_NAMES: Record<string, string> = {
  pversion: 'PVERSION',
  card_info: 'CARD_INFO',
  pcm_next_device: 'PCM_NEXT_DEVICE',
  pcm_info: 'PCM_INFO',
  pcm_prefer_subdevice: 'PCM_PREFER_SUBDEVICE',
  info: 'INFO',
  user_pversion: 'USER_PVERSION',
  ttstamp: 'TTSTAMP',
  hw_refine: 'HW_REFINE',
  hw_params: 'HW_PARAMS',
  hw_free: 'HW_FREE',
  sw_params: 'SW_PARAMS',
  channel_info: 'CHANNEL_INFO',
  prepare: 'PREPARE',
  start: 'START',
  drop: 'DROP',
  drain: 'DRAIN',
  status_ext: 'STATUS_EXT',
  sync_ptr: 'SYNC_PTR',
  client_id: 'CLIENT_ID',
  running_mode: 'RUNNING_MODE',
  get_client_info: 'GET_CLIENT_INFO',
  set_client_info: 'SET_CLIENT_INFO',
  create_queue: 'CREATE_QUEUE',
  delete_queue: 'DELETE_QUEUE',
  set_queue_tempo: 'SET_QUEUE_TEMPO',
  query_next_client: 'QUERY_NEXT_CLIENT',
  query_next_port: 'QUERY_NEXT_PORT',
  create_port: 'CREATE_PORT',
  delete_port: 'DELETE_PORT',
  subscribe: 'SUBSCRIBE_PORT',
  unsubscribe: 'UNSUBSCRIBE_PORT',
};

export class LibProcess {
  private calls: AlsaCall[] = [];
  /** Set when the process is gone (the run exits): its threads leave at their next step. */
  exited = false;

  constructor(
    readonly k: Kernel,
    readonly name: string,
  ) {}

  /** The calls since the last take (an op's share). */
  take(): AlsaCall[] {
    const c = this.calls;
    this.calls = [];
    return c;
  }

  private log(node: string, call: string, ret: number): void {
    this.calls.push(ret < 0 ? { node, call, errno: errnoName(ret) } : { node, call });
  }

  /** The id a card's calls are logged under: the preset's name for it when it stands in for another card (SndCore.aliases). */
  cardId(card: SndCard): string {
    for (const [alias, id] of this.k.snd.aliases) if (id === card.id) return alias;
    return card.id;
  }

  cardNode(card: SndCard): string {
    return `ctl:${this.cardId(card)}`;
  }

  /** open("/dev/snd/controlC<n>"): ENOENT when there is no such card (no device node). */
  *openCtl(n: number): KGen<{ fd?: Fd; err: number }> {
    const card = this.k.snd.cards[n];
    if (!card) {
      this.log(`ctl:card${n}`, 'open', -E.ENOENT);
      return { err: -E.ENOENT };
    }
    const node = this.cardNode(card);
    const r = yield* snd_ctl_open(this.k, card, `/dev/snd/controlC${n}`);
    this.log(node, 'open', r.err);
    return r.file ? { fd: { file: r.file, node }, err: 0 } : { err: r.err };
  }

  /** open("/dev/snd/pcmC<c>D<d><p|c>"). */
  *openPcm(card: SndCard, device: number, stream: 'playback' | 'capture', nonblock: boolean): KGen<{ fd?: Fd; err: number }> {
    const node = `pcm:${this.cardId(card)},${device}${stream === 'playback' ? 'p' : 'c'}`;
    const pcm = card.pcms.find((p) => p.device === device);
    if (!pcm) {
      this.log(node, 'open', -E.ENOENT);
      return { err: -E.ENOENT };
    }
    const path = `/dev/snd/pcmC${card.number}D${device}${stream === 'playback' ? 'p' : 'c'}`;
    const r = yield* snd_pcm_open(this.k, pcm, stream === 'playback' ? Stream.PLAYBACK : Stream.CAPTURE, -1, nonblock, path);
    this.log(node, 'open', r.err);
    return r.file ? { fd: { file: r.file, node }, err: 0 } : { err: r.err };
  }

  /** open("/dev/snd/seq"): a new client. */
  *openSeq(name: string, nonblock: boolean): KGen<{ fd?: Fd; client?: number; err: number }> {
    const seq = this.k.snd.seq;
    if (!seq) {
      this.log('seq', 'open', -E.ENOENT);
      return { err: -E.ENOENT };
    }
    const r = yield* snd_seq_open(this.k, seq, name, nonblock);
    this.log('seq', 'open', r.err);
    return r.file ? { fd: { file: r.file, node: 'seq' }, client: r.client!.number, err: 0 } : { err: r.err };
  }

  *ioctl(fd: Fd, cmd: string, arg?: unknown): KGen<{ ret: number; out: Record<string, unknown> }> {
    const r: Req = { cmd, arg, out: {} };
    fget(fd.file);
    const ret = yield* fd.file.fop.ioctl(this.k, fd.file, r);
    yield* fput(this.k, fd.file);
    this.log(fd.node, IOCTL_NAMES[cmd] ?? cmd.toUpperCase(), ret);
    return { ret, out: r.out! };
  }

  *read(fd: Fd, arg: unknown): KGen<{ ret: number; out: Record<string, unknown> }> {
    const r: Req = { cmd: 'read', arg, out: {} };
    const ret = yield* sysRead(this.k, fd.file, r);
    this.log(fd.node, 'read', ret);
    return { ret, out: r.out! };
  }

  *write(fd: Fd, arg: unknown): KGen<number> {
    const ret = yield* sysWrite(this.k, fd.file, { cmd: 'write', arg });
    this.log(fd.node, 'write', ret);
    return ret;
  }

  *close(fd: Fd): KGen<number> {
    const ret = yield* sysClose(this.k, fd.file);
    this.log(fd.node, 'close', ret);
    return ret;
  }

  /** poll() on one file: the wait itself is the caller's (it knows what it waits for); this logs it. */
  polled(fd: Fd, ret = 0): void {
    this.log(fd.node, 'poll', ret);
  }
}
