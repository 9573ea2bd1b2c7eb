// The library's real calls into ALSA, seen from outside the library: each
// handle process runs under `strace -f` when the run asks for it (the
// oracle), and every op's answer carries the system calls its process made
// on /dev/snd since the op before it on the same handle — the calls of
// PortAudio's callback thread and RtMidi's input thread included, which is
// the same attribution the simulated kernel's mirror uses
// (app/targets/sim/library/). Why strace and not a shim: it sees every thread
// of an unmodified library without building or preloading anything, and the
// guest already has it (it runs on this machine's root). The cost is speed
// (each traced call stops the process), so only asked-for runs pay it.
//
// The handle process marks the end of each op with a failing openat() of a
// path no file has ("/stresslab-call/<id>"): the marker shows in the trace in
// order with the library's own calls.
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { type AlsaCall, normaliseIoctl } from '../../events/alsa-calls.js';

export const STRACE = '/usr/bin/strace';
const MARK = '/stresslab-call/';

/** Why calls cannot be traced here, or undefined when they can. */
export function traceUnavailable(): string | undefined {
  return existsSync(STRACE) ? undefined : `strace is not installed (${STRACE}): the library's calls cannot be traced (apt-get install strace)`;
}

/** The strace command line a handle process starts under (Node's fork runs execPath with these before the script). */
export function straceArgv(file: string, node: string, nodeArgs: string[]): string[] {
  // --seccomp-bpf: only the traced calls stop the process (Node's own epoll/futex traffic runs free)
  return ['-f', '-qq', '--seccomp-bpf', '-y', '-e', 'trace=openat,close,ioctl,read,write,poll,ppoll', '-e', 'signal=none', '-s', '0', '-o', file, node, ...nodeArgs];
}

/** Ends an op in the trace (called by the handle process, on its main thread, before it answers). */
export function markCall(id: number): void {
  try {
    closeSync(openSync(`${MARK}${id}`, 'r'));
  } catch {
    /* it never exists: the failed openat is the mark */
  }
}

/** /dev/snd/pcmC1D0p → pcm:Loopback,0p; controlC0 → ctl:Dummy; seq, timer as they are. */
export class NodeNames {
  private readonly ids = new Map<number, string>();

  /** `lookup`: a card number's id (this machine's /proc/asound by default). */
  constructor(private readonly lookup: (n: number) => string = procCardId) {}

  cardId(n: number): string {
    let id = this.ids.get(n);
    if (id === undefined) this.ids.set(n, (id = this.lookup(n)));
    return id;
  }

  name(path: string): string | undefined {
    const m = /^\/dev\/snd\/(?:(controlC)(\d+)|pcmC(\d+)D(\d+)([pc])|(seq|timer)|(midiC\d+D\d+|hwC\d+D\d+))$/.exec(path);
    if (!m) return undefined;
    if (m[1]) return `ctl:${this.cardId(Number(m[2]))}`;
    if (m[3] !== undefined) return `pcm:${this.cardId(Number(m[3]))},${m[4]}${m[5]}`;
    return m[6] ?? m[7];
  }
}

function procCardId(n: number): string {
  try {
    return readFileSync(`/proc/asound/card${n}/id`, 'utf8').trim();
  } catch {
    return `card${n}`;
  }
}

/** One parsed strace line: its thread, the call, the files it names, the result. */
interface Line {
  tid: number;
  call: string;
  body: string;
  result: string;
}

/**
 * Reads a growing strace -f -y output file and hands out each op's calls.
 * Lines interrupted by another thread ("<unfinished ...>") are joined with
 * their "<... resumed>" half.
 */
export class CallTrace {
  private fd: number | undefined;
  private buf = '';
  private readonly pendingLine = new Map<number, string>();
  private calls: AlsaCall[] = [];
  private readonly done = new Map<number, AlsaCall[]>();
  private readonly names: NodeNames;
  /** fd → node, from the opens and closes seen (strace -y does not name the fds inside poll's array). */
  private readonly fds = new Map<number, string>();
  /** Lines the parser could not read (kept for a note, not thrown). */
  unreadable = 0;

  constructor(
    readonly file: string,
    cardId?: (n: number) => string,
  ) {
    this.names = new NodeNames(cardId);
  }

  /** Reads what strace has written so far. */
  private pump(): void {
    if (this.fd === undefined) {
      if (!existsSync(this.file)) return;
      this.fd = openSync(this.file, 'r');
    }
    const chunk = Buffer.alloc(1 << 16);
    for (;;) {
      const n = readSync(this.fd, chunk, 0, chunk.length, null);
      if (n <= 0) break;
      this.buf += chunk.toString('utf8', 0, n);
    }
    let i: number;
    while ((i = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 1);
      this.line(line);
    }
  }

  private line(raw: string): void {
    const m = /^(\d+)\s+(.*)$/.exec(raw);
    if (!m) return;
    const tid = Number(m[1]);
    let text = m[2]!;
    if (text.endsWith('<unfinished ...>')) {
      this.pendingLine.set(tid, text.slice(0, -'<unfinished ...>'.length));
      return;
    }
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(text);
    if (resumed) {
      const head = this.pendingLine.get(tid);
      this.pendingLine.delete(tid);
      if (head === undefined) return;
      text = head + resumed[2]!;
    }
    const parsed = parseLine(tid, text);
    if (!parsed) {
      if (!/^\+\+\+|^---/.test(text)) this.unreadable++;
      return;
    }
    this.record(parsed);
  }

  private record(l: Line): void {
    if (l.call === 'openat') {
      const path = /"([^"]*)"/.exec(l.body)?.[1] ?? '';
      if (path.startsWith(MARK)) {
        const id = Number(path.slice(MARK.length));
        this.done.set(id, this.calls);
        this.calls = [];
        return;
      }
      const node = this.names.name(path);
      if (!node) return;
      this.calls.push(withResult({ node, call: 'open' }, l.result));
      const fd = /^(\d+)/.exec(l.result)?.[1];
      if (fd !== undefined) this.fds.set(Number(fd), node);
      return;
    }
    if (l.call === 'poll' || l.call === 'ppoll') {
      // [{fd=30, events=…}, …]: the first sound file it waits on names it
      for (const m of l.body.matchAll(/fd=(\d+)(?:<(\/dev\/snd\/[^>]+)>)?/g)) {
        const node = m[2] ? this.names.name(m[2]) : this.fds.get(Number(m[1]));
        if (!node) continue;
        this.calls.push(withResult({ node, call: 'poll' }, l.result.startsWith('-1') ? l.result : '0'));
        return;
      }
      return;
    }
    const fdm = /^(\d+)(?:<([^>]+)>)?/.exec(l.body);
    const path = fdm?.[2];
    const node = path ? this.names.name(path) : fdm ? this.fds.get(Number(fdm[1])) : undefined;
    if (!node) return;
    if (l.call === 'close' && fdm) this.fds.delete(Number(fdm[1]));
    if (l.call === 'ioctl') {
      const req = /^[^,]+,\s*(_IOC\([^)]*\)|[A-Za-z0-9_]+)/.exec(l.body)?.[1] ?? '?';
      this.calls.push(withResult({ node, call: normaliseIoctl(req) }, l.result));
    } else if (l.call === 'close' || l.call === 'read' || l.call === 'write') this.calls.push(withResult({ node, call: l.call }, l.result));
  }

  /** The calls of op `id` (everything since the previous op's mark), waiting up to `ms` for its mark to reach the file. */
  async take(id: number, ms = 2000): Promise<AlsaCall[] | undefined> {
    const until = Date.now() + ms;
    for (;;) {
      this.pump();
      const got = this.done.get(id);
      if (got) {
        this.done.delete(id);
        return got;
      }
      if (Date.now() >= until) return undefined;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

function withResult(c: AlsaCall, result: string): AlsaCall {
  const e = /^-1 (E[A-Z0-9]+)/.exec(result)?.[1];
  if (e) c.errno = e;
  return c;
}

/** "ioctl(27</dev/snd/controlC0>, SNDRV_CTL_IOCTL_CARD_INFO, 0x7ff) = 0" → its parts. */
function parseLine(tid: number, text: string): Line | undefined {
  const m = /^(\w+)\((.*)\)\s+=\s+(.*)$/.exec(text);
  if (!m) return undefined;
  return { tid, call: m[1]!, body: m[2]!, result: m[3]! };
}
