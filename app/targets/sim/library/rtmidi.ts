// RtMidi's ALSA back-end (MidiInAlsa, MidiOutAlsa in the RtMidi.cpp that the
// midi package vendors) with the package's binding on top (src/input.cpp,
// output.cpp), as the simulated kernel sees them: the sequencer calls each
// makes through alsa-lib (./alsa-lib.ts), the input thread as a simulated
// task. The same calls the application lane's handle process makes through
// the real library (app/applane/child/handle-host.ts):
//
//   new Input()/Output()   snd_seq_open (+ a queue for input), the client name, and
//                          RtMidiIn/Out's constructor counting ports (a port walk)
//   getPortCount/Name      a walk of every client and port (QUERY_NEXT_CLIENT/PORT)
//   openPort(i)            the binding's count, RtMidi's count and lookup, CREATE_PORT,
//                          SUBSCRIBE_PORT; input starts its queue (a write) and thread
//   sendMessage            one event: snd_seq_event_output + drain = one write()
//   closePort              UNSUBSCRIBE_PORT (input: stop the queue, join the thread)
//   destructor (gc)        DELETE_PORT (input: DELETE_QUEUE), close
import { ERRNO } from '../../../vocabulary/errno.js';
import type { KGen, Task } from '../../../sim/kernel/task.js';
import { WaitQueue, waitEvent } from '../../../sim/kernel/sync.js';
import { CAP_READ, CAP_SUBS_READ, CAP_SUBS_WRITE, CAP_WRITE, SUBSCRIBERS } from '../../../sim/seq/seq_clientmgr.js';
import type { SeqEvent } from '../../../sim/seq/seq_memory.js';
import { snd_seq_open, snd_seq_set_client_name } from './alsa-lib.js';
import type { Fd, LibProcess } from './process.js';

const E = ERRNO;
/** SND_SEQ_IBUF_SIZE: events alsa-lib reads at once into its input buffer. */
const IBUF_EVENTS = 500;
/** sizeof(snd_seq_event_t). */
const EVENT_BYTES = 28;
/** SND_SEQ_OBUF_SIZE (bytes): alsa-lib's output buffer. */
const OBUF_BYTES = 16 * 1024;
/** User space per message (modelled, ns): the binding's call and RtMidi's encoding; decoding and handing to Node. */
const ENCODE_NS = 3000;
const DECODE_NS = 2000;

/** One numbered message as the lab writes it (app/applane/child/midi-codec.ts); the simulator carries the number, not the bytes. */
export interface MidiMessage {
  type: 'note' | 'controller' | 'sysex';
  /** The sending stream ("lane/handle") and its number. */
  tag: string;
  n: number;
  /** SysEx size in bytes. */
  size: number;
}

export interface Received {
  tag: string;
  n: number;
  /** Arrival (virtual ns): when the input thread handed it on. */
  t: number;
}

export class RtMidiPort {
  fd?: Fd;
  client = -1;
  vport = -1;
  queueId = -1;
  connected = false;
  private subscription?: { sender: { client: number; port: number }; dest: { client: number; port: number } };
  private thread: Task | null = null;
  private doInput = false;
  private threadDone = true;
  /** Messages the input thread delivered, not yet taken by a receive. */
  readonly inbox: Received[] = [];
  /** "MIDI input buffer overrun!": the kernel cleared the FIFO under a read (-ENOSPC), since the last take. */
  overruns = 0;
  readonly wq = new WaitQueue('node-midi message_async');
  /** alsa-lib's output buffer: events snd_seq_event_output holds until a drain writes them. */
  private obuf: SeqEvent[] = [];
  destroyed = false;

  private constructor(
    readonly p: LibProcess,
    readonly direction: 'input' | 'output',
  ) {}

  /** new midi.Input() / midi.Output(): the RtMidi constructor, which also counts the ports. */
  static *create(p: LibProcess, direction: 'input' | 'output'): KGen<RtMidiPort> {
    const m = new RtMidiPort(p, direction);
    const o = yield* snd_seq_open(p, true);
    if (!o.fd) throw new Error(`MidiIn/OutAlsa::initialize: error creating ALSA sequencer client object (${o.err})`);
    m.fd = o.fd;
    m.client = o.client;
    yield* snd_seq_set_client_name(p, o.fd, o.client, direction === 'input' ? 'RtMidi Input Client' : 'RtMidi Output Client');
    if (direction === 'input') {
      // snd_seq_alloc_named_queue, snd_seq_set_queue_tempo (the drain after it has nothing to write)
      m.queueId = (yield* p.ioctl(o.fd, 'create_queue')).out.queue as number;
      yield* p.ioctl(o.fd, 'set_queue_tempo', { queue: m.queueId });
    }
    yield* m.getPortCount();
    return m;
  }

  /** The capabilities a port must have to be listed: inputs read from it, outputs write to it. */
  private get wanted(): number {
    return this.direction === 'input' ? CAP_READ | CAP_SUBS_READ : CAP_WRITE | CAP_SUBS_WRITE;
  }

  /** portInfo(): walk clients (client 0 skipped) and their ports; the `index`-th match, or the count. */
  private *portInfo(index: number): KGen<{ count: number; found?: { client: number; port: number; name: string } }> {
    const fd = this.fd!;
    let count = 0;
    let client = -1;
    for (;;) {
      const c = yield* this.p.ioctl(fd, 'query_next_client', client);
      if (c.ret < 0) break;
      client = c.out.client as number;
      if (client === 0) continue;
      let port = -1;
      for (;;) {
        const q = yield* this.p.ioctl(fd, 'query_next_port', { client, port });
        if (q.ret < 0) break;
        port = q.out.port as number;
        if (((q.out.caps as number) & this.wanted) !== this.wanted) continue;
        if (count === index) return { count, found: { client, port, name: q.out.name as string } };
        count++;
      }
    }
    return { count };
  }

  *getPortCount(): KGen<number> {
    return (yield* this.portInfo(-1)).count;
  }

  /** getPortName(i): the walk to it, then snd_seq_get_any_client_info (GET_CLIENT_INFO) for "client:port" naming. */
  *getPortName(i: number): KGen<string> {
    const r = yield* this.portInfo(i);
    if (!r.found) return '';
    const ci = yield* this.p.ioctl(this.fd!, 'get_client_info', r.found.client);
    return `${(ci.out.name as string | undefined) ?? ''}:${r.found.name} ${r.found.client}:${r.found.port}`;
  }

  /** The binding's openPort (its own count check) and RtMidi's. */
  *openPort(i: number): KGen<void> {
    if (i >= (yield* this.getPortCount())) throw new Error('Invalid MIDI port number');
    const n = yield* this.getPortCount();
    if (i >= n) return;
    const r = yield* this.portInfo(i);
    if (!r.found) return;
    const fd = this.fd!;
    if (this.vport < 0) {
      const caps = this.direction === 'input' ? CAP_WRITE | CAP_SUBS_WRITE : CAP_READ | CAP_SUBS_READ;
      const cp = yield* this.p.ioctl(fd, 'create_port', { name: this.direction === 'input' ? 'RtMidi Input' : 'RtMidi Output', caps });
      if (cp.ret < 0) return;
      this.vport = cp.out.port as number;
    }
    const self = { client: this.client, port: this.vport };
    const sub = this.direction === 'input' ? { sender: { client: r.found.client, port: r.found.port }, dest: self } : { sender: self, dest: { client: r.found.client, port: r.found.port } };
    if ((yield* this.p.ioctl(fd, 'subscribe', sub)).ret < 0) return;
    this.subscription = sub;
    this.connected = true;
    if (this.direction === 'input') yield* this.startInput();
  }

  *openVirtualPort(name: string): KGen<void> {
    if (this.vport < 0) {
      const caps = this.direction === 'input' ? CAP_WRITE | CAP_SUBS_WRITE : CAP_READ | CAP_SUBS_READ;
      const cp = yield* this.p.ioctl(this.fd!, 'create_port', { name, caps });
      if (cp.ret < 0) return;
      this.vport = cp.out.port as number;
    }
    if (this.direction === 'input') yield* this.startInput();
  }

  /** snd_seq_start_queue + drain (one write of a queue-control event to the system timer), then the input thread. */
  private *startInput(): KGen<void> {
    if (this.doInput) return;
    yield* this.p.write(this.fd!, { events: [queueControl(this.client, this.queueId)] });
    this.doInput = true;
    this.threadDone = false;
    this.thread = this.p.k.sched.spawn(`${this.p.name}:alsaMidi`, 'user', this.inputThread());
  }

  /**
   * alsaMidiHandler(): poll the sequencer; snd_seq_event_input_pending reads
   * a buffer's worth of events (read()), each decoded and handed to the
   * binding; a read that finds the FIFO overflowed gets -ENOSPC (the kernel
   * cleared it) and RtMidi only prints "MIDI input buffer overrun!".
   */
  private *inputThread(): KGen<void> {
    const k = this.p.k;
    const fd = this.fd!;
    const fifo = () => k.snd.seq?.clients.get(this.client)?.fifo;
    while (this.doInput && !this.p.exited) {
      const f = fifo();
      if (!f) break;
      // poll() on the sequencer and RtMidi's trigger pipe (closePort writes a byte to it)
      yield* waitEvent(k, f.input_sleep, () => !this.doInput || this.p.exited || f.cells > 0 || f.overflow > 0, 'S', Infinity, 'alsaMidiHandler: poll', ['do_sys_poll', 'snd_seq_poll']);
      if (!this.doInput || this.p.exited) break;
      this.p.polled(fd);
      for (;;) {
        const r = yield* this.p.read(fd, { bytes: IBUF_EVENTS * EVENT_BYTES, fault: false, nonblock: true });
        if (r.ret === -E.ENOSPC) {
          this.overruns++;
          continue;
        }
        if (r.ret <= 0) break;
        const got = (r.out.events as [string, number][]) ?? [];
        // snd_midi_event_decode and the binding's hand-over to Node, per event
        if (got.length) yield k.current.spend(got.length * DECODE_NS, 'alsaMidiHandler: decode');
        for (const [tag, n] of got) this.inbox.push({ tag, n, t: k.now });
        k.wakeUp(this.wq);
        if (!this.doInput) break;
      }
    }
    this.threadDone = true;
    k.wakeUp(this.wq);
  }

  /**
   * sendMessage(): snd_midi_event_encode, snd_seq_event_output (which drains
   * first when alsa-lib's buffer is full), snd_seq_drain_output: normally one
   * write() per message. An event the kernel refuses stays in alsa-lib's
   * buffer and goes out with the next drain; only an event_output that
   * cannot make room fails, and RtMidi merely warns ("error sending MIDI
   * message to port."). Returns false for that.
   */
  *sendMessage(m: MidiMessage): KGen<boolean> {
    const ev: SeqEvent = { type: m.type, source: { client: this.client, port: Math.max(0, this.vport) }, dest: { client: SUBSCRIBERS, port: 0 }, tag: m.tag, n: m.n, extLen: m.type === 'sysex' ? m.size : 0 };
    const bytes = (e: SeqEvent) => EVENT_BYTES + (e.extLen ?? 0);
    const used = () => this.obuf.reduce((a, e) => a + bytes(e), 0);
    if (used() + bytes(ev) > OBUF_BYTES) {
      yield* this.drain();
      if (used() + bytes(ev) > OBUF_BYTES) return false;
    }
    yield this.p.k.current.spend(ENCODE_NS, 'MidiOutAlsa::sendMessage: snd_midi_event_encode');
    this.obuf.push(ev);
    yield* this.drain();
    return true;
  }

  /** snd_seq_drain_output(): write the buffer; what the kernel did not take stays. */
  private *drain(): KGen<number> {
    while (this.obuf.length) {
      const n = yield* this.p.write(this.fd!, { events: this.obuf.map((e) => ({ ...e, source: { ...e.source }, dest: { ...e.dest } })) });
      if (n <= 0) return n < 0 ? n : -E.EIO;
      this.obuf.splice(0, n);
    }
    return 0;
  }

  /** The binding's closePort (input: cleanUp): UNSUBSCRIBE_PORT; input also stops its queue and joins its thread. */
  *closePort(): KGen<void> {
    const fd = this.fd;
    if (!fd) return;
    if (this.connected && this.subscription) {
      yield* this.p.ioctl(fd, 'unsubscribe', this.subscription);
      this.subscription = undefined;
      if (this.direction === 'input') yield* this.p.write(fd, { events: [queueControl(this.client, this.queueId)] });
      this.connected = false;
    }
    yield* this.stopThread();
  }

  private *stopThread(): KGen<void> {
    if (!this.doInput) return;
    this.doInput = false;
    const f = this.p.k.snd.seq?.clients.get(this.client)?.fifo;
    if (f) this.p.k.wakeUp(f.input_sleep);
    yield* waitEvent(this.p.k, this.wq, () => this.threadDone, 'S', Infinity, 'pthread_join(alsaMidiHandler)', ['futex_wait']);
    this.thread = null;
  }

  /** The RtMidi destructor, when the binding's object is collected: DELETE_PORT (input: DELETE_QUEUE), close. */
  *destroy(): KGen<void> {
    if (this.destroyed || !this.fd) return;
    this.destroyed = true;
    yield* this.closePort();
    if (this.vport >= 0) yield* this.p.ioctl(this.fd, 'delete_port', { port: this.vport });
    if (this.direction === 'input') yield* this.p.ioctl(this.fd, 'delete_queue', { queue: this.queueId });
    yield* this.p.close(this.fd);
  }

  /** Process exit: the thread dies, the file is closed. */
  *exit(): KGen<void> {
    if (this.destroyed || !this.fd) return;
    this.destroyed = true;
    this.doInput = false;
    const f = this.p.k.snd.seq?.clients.get(this.client)?.fifo;
    if (f) this.p.k.wakeUp(f.input_sleep);
    if (!this.threadDone) yield* waitEvent(this.p.k, this.wq, () => this.threadDone, 'S', 1e9, 'exit: threads end', ['do_exit']);
    yield* this.p.close(this.fd);
  }
}

/** A queue start/stop event, as snd_seq_start_queue/stop_queue address it (the system timer port, 0:0); it carries no number. */
function queueControl(client: number, _queue: number): SeqEvent {
  return { type: 'controller', source: { client, port: 0 }, dest: { client: 0, port: 0 }, tag: '', n: 0, extLen: 0 };
}
