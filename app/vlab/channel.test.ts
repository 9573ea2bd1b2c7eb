// The host end of the control channel against a scripted guestd on a socket pair.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControlChannel, ExecError } from './channel.js';
import { encodeFrame, F, type Frame, FrameDecoder, STDIN_WINDOW, u32 } from './protocol.js';

interface FakeGuest {
  sock: Socket;
  frames: Frame[];
  onFrame(f: (fr: Frame) => void): void;
  send(type: number, chan: number, payload?: Buffer): void;
}

let dir: string;
let host: ControlChannel;
let guest: FakeGuest;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vlab-chan-'));
  const path = join(dir, 's');
  const server = createServer();
  await new Promise<void>((r) => server.listen(path, r));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const client = connect(path);
  const gs = await accepted;
  server.close();
  host = new ControlChannel(client);
  const dec = new FrameDecoder();
  const handlers: ((f: Frame) => void)[] = [];
  const frames: Frame[] = [];
  gs.on('data', (d: Buffer) => {
    for (const f of dec.push(d)) {
      frames.push(f);
      for (const h of handlers) h(f);
    }
  });
  guest = { sock: gs, frames, onFrame: (h) => handlers.push(h), send: (t, c, p) => gs.write(encodeFrame(t, c, p)) };
});

afterEach(() => {
  guest.sock.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function i32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v, 0);
  return b;
}

async function collect(s: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('control channel, host end', () => {
  it('runs a process: request, pid, both output streams, exit after the output', async () => {
    guest.onFrame((f) => {
      if (f.type !== F.EXEC) return;
      const argv = f.payload.subarray(4).toString().split('\0');
      expect(argv.slice(0, 3)).toEqual(['/work', 'prog', 'arg 1']);
      expect(argv).toContain('FOO=bar');
      guest.send(F.STARTED, f.chan, u32(4242));
      guest.send(F.STDOUT, f.chan, Buffer.from([0, 255, 10]));
      guest.send(F.STDERR, f.chan, Buffer.from('warn\n'));
      guest.send(F.EXIT, f.chan, i32(3));
    });
    const h = host.exec(['prog', 'arg 1'], { cwd: '/work', env: { FOO: 'bar' } });
    h.stdin.end();
    expect(await h.pid).toBe(4242);
    const [out, err, st] = await Promise.all([collect(h.stdout), collect(h.stderr), h.exit]);
    expect([...out]).toEqual([0, 255, 10]);
    expect(err.toString()).toBe('warn\n');
    expect(st).toEqual({ code: 3, signal: null });
    expect(host.liveProcesses).toBe(0);
  });

  it('reports death by signal and programs that cannot start', async () => {
    guest.onFrame((f) => {
      if (f.type !== F.EXEC) return;
      const prog = f.payload.subarray(4).toString().split('\0')[1];
      if (prog === 'missing') guest.send(F.EXEC_ERR, f.chan, Buffer.from('exec missing: No such file or directory'));
      else {
        guest.send(F.STARTED, f.chan, u32(1));
        guest.send(F.EXIT, f.chan, i32(-15));
      }
    });
    expect(await host.exec(['sleeper']).exit).toEqual({ code: null, signal: 'SIGTERM' });
    const bad = host.exec(['missing']);
    await expect(bad.pid).rejects.toBeInstanceOf(ExecError);
    await expect(bad.exit).rejects.toThrow(/No such file/);
  });

  it('never has more stdin in flight than the window, and delivers all of it', async () => {
    let inflight = 0;
    let maxInflight = 0;
    let received = 0;
    const hash = createHash('sha256');
    let chan = 0;
    const done = new Promise<void>((resolve) =>
      guest.onFrame((f) => {
        if (f.type === F.EXEC) {
          chan = f.chan;
          guest.send(F.STARTED, chan, u32(7));
        } else if (f.type === F.STDIN) {
          inflight += f.payload.length;
          received += f.payload.length;
          maxInflight = Math.max(maxInflight, inflight);
          hash.update(f.payload);
          // A slow reader: credit comes back only once the window is full.
          if (inflight >= STDIN_WINDOW) {
            guest.send(F.ACK_IN, chan, u32(inflight));
            inflight = 0;
          }
        } else if (f.type === F.STDIN_EOF) {
          guest.send(F.EXIT, chan, i32(0));
          resolve();
        }
      }),
    );
    const h = host.exec(['cat']);
    const data = Buffer.alloc(STDIN_WINDOW * 3 + 12345);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    h.stdin.end(data);
    await done;
    await h.exit;
    expect(received).toBe(data.length);
    expect(maxInflight).toBeLessThanOrEqual(STDIN_WINDOW);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('acknowledges output as it is consumed, so a guest that waits for credit keeps going', async () => {
    const WINDOW = 1 << 20;
    const total = 4 * WINDOW;
    let sent = 0;
    let unacked = 0;
    let chan = 0;
    const pump = () => {
      while (sent < total && unacked < WINDOW) {
        const n = Math.min(65536, total - sent);
        guest.send(F.STDOUT, chan, Buffer.alloc(n, sent & 0xff));
        sent += n;
        unacked += n;
      }
      if (sent === total) guest.send(F.EXIT, chan, i32(0));
    };
    guest.onFrame((f) => {
      if (f.type === F.EXEC) {
        chan = f.chan;
        guest.send(F.STARTED, chan, u32(9));
        pump();
      } else if (f.type === F.ACK_OUT) {
        unacked -= f.payload.readUInt32LE(0);
        if (sent < total) pump();
      }
    });
    const h = host.exec(['producer']);
    h.stdin.end();
    const out = await collect(h.stdout);
    expect(out.length).toBe(total);
    expect(await h.exit).toEqual({ code: 0, signal: null });
  });

  it('gives stdout and stderr their own credit, so unread stderr does not stall stdout', async () => {
    const WINDOW = 1 << 20;
    const total = 3 * WINDOW;
    const sent = [0, 0];
    const unacked = [0, 0];
    let overAcked = false;
    let chan = 0;
    const pump = () => {
      for (const w of [0, 1]) {
        while (sent[w]! < total && unacked[w]! < WINDOW) {
          guest.send(w === 0 ? F.STDOUT : F.STDERR, chan, Buffer.alloc(65536, w));
          sent[w]! += 65536;
          unacked[w]! += 65536;
        }
      }
      if (sent[0] === total) guest.send(F.EXIT, chan, i32(0));
    };
    guest.onFrame((f) => {
      if (f.type === F.EXEC) {
        chan = f.chan;
        guest.send(F.STARTED, chan, u32(3));
        pump();
      } else if (f.type === F.ACK_OUT || f.type === F.ACK_ERR) {
        const w = f.type === F.ACK_OUT ? 0 : 1;
        unacked[w]! -= f.payload.readUInt32LE(0);
        overAcked ||= unacked[w]! < 0; // credit for bytes of the other stream
        if (sent[0]! < total) pump();
      }
    });
    const h = host.exec(['noisy']);
    h.stdin.end();
    const out = await collect(h.stdout); // stderr is never read
    expect(out.length).toBe(total);
    expect(sent[1]).toBeLessThan(total);
    expect(overAcked).toBe(false);
    expect(await h.exit).toEqual({ code: 0, signal: null });
  });

  it('fails waiting processes when the guest goes down', async () => {
    guest.onFrame((f) => f.type === F.EXEC && guest.send(F.STARTED, f.chan, u32(1)));
    const h = host.exec(['sleep', '100']);
    await h.pid;
    host.down(new Error('guest kernel crashed'));
    await expect(h.exit).rejects.toThrow('guest kernel crashed');
    await expect(host.exec(['true']).exit).rejects.toThrow('guest kernel crashed');
  });

  it('passes kernel log records, heartbeats and checkpoints through', async () => {
    const seen: string[] = [];
    host.on('kmsg', (r) => seen.push(r));
    const pong = new Promise((r) => host.once('pong', r));
    const cp = new Promise<[number, number]>((r) => host.once('checkpoint', (t, s) => r([t, s])));
    guest.send(F.KMSG, 0, Buffer.from('6,1,100,-;hello\n'));
    guest.send(F.PONG, 0, Buffer.from('{"seq":1,"memTotalKb":1000}'));
    guest.send(F.CHECKPOINT_DONE, 5, Buffer.from('77'));
    expect(await pong).toEqual({ seq: 1, memTotalKb: 1000 });
    expect(await cp).toEqual([5, 77]);
    expect(seen).toEqual(['6,1,100,-;hello\n']);
  });
});
