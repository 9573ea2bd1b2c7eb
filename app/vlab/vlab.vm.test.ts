// The virtual lab with a real kernel: one guest with the default hardware,
// shared by every check here (a boot costs seconds, a check milliseconds).
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootGuest, ExecError, type ExecHandle, type Guest, listGuestDevices } from './index.js';
import { projectRoot } from './paths.js';

let guest: Guest;

beforeAll(async () => {
  guest = await bootGuest({ log: (l) => process.stderr.write(l + '\n') });
});

afterAll(async () => {
  await guest?.shutdown();
});

/** Everything a guest process prints (stdout and stderr), and waiting for a line of it. */
class Watch {
  text = '';
  private waiters: { re: RegExp; resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(h: ExecHandle) {
    const on = (d: Buffer) => {
      this.text += d.toString();
      this.waiters = this.waiters.filter((w) => (w.re.test(this.text) ? (w.resolve(), false) : true));
    };
    h.stdout.on('data', on);
    h.stderr.on('data', on);
    const fail = () => {
      for (const w of this.waiters) w.reject(new Error(`process ended without printing ${w.re}; it printed:\n${this.text}`));
      this.waiters = [];
    };
    h.exit.then(fail, fail);
  }

  /** Resolves when the output (so far or later) matches; rejects if the process ends first. */
  until(re: RegExp): Promise<void> {
    if (re.test(this.text)) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ re, resolve, reject }));
  }
}

/** Waits in the guest until a PCM substream is running (its /proc status says so). */
async function untilRunning(card: string): Promise<void> {
  const r = await guest.run('sh', ['-c', `s=/proc/asound/${card}/pcm0p/sub0/status; i=0; until grep -q 'state: RUNNING' $s 2>/dev/null || [ $i -ge 1200 ]; do sleep 0.05; i=$((i+1)); done; cat $s`]);
  expect(r.stdout, `${card} never started running`).toMatch(/state: RUNNING/);
}

describe('virtual lab guest (default hardware)', { timeout: 180_000 }, () => {
  it('boots a real kernel whose card list names every virtual card and the MIDI Through port', async () => {
    expect(guest.kernel.release).toMatch(/^\d+\.\d+/);
    const list = await listGuestDevices(guest);
    expect(list.cards.map((c) => c.name)).toEqual(['Dummy', 'Loopback', 'Intel 82801AA-ICH', 'QEMU USB Audio', 'HDA Intel']);
    expect(list.pcms.filter((p) => p.stream === 'playback').map((p) => p.cardId)).toEqual(['Dummy', 'Loopback', 'Loopback', 'I82801AAICH', 'Audio', 'Intel']);
    const through = list.seqClients.find((c) => c.name === 'Midi Through');
    expect(through?.type).toBe('kernel');
    expect(through?.ports.map((p) => p.name)).toEqual(['Midi Through Port-0']);
  });

  it('plays on every PCM card, with the hardware pointer moving', async () => {
    const cards = ['Dummy', 'Loopback', 'I82801AAICH', 'Audio', 'Intel'];
    // Per card: start an endless stream, read hw_ptr twice while it runs, stop it;
    // then play one second to the end and keep aplay's exit status.
    const results = await Promise.all(
      cards.map((c) =>
        guest.run('/bin/sh', [
          '-c',
          `s=/proc/asound/${c}/pcm0p/sub0/status
           aplay -q -D hw:${c},0 -f S16_LE -r 48000 -c 2 /dev/zero & p=$!
           i=0; until grep -q 'state: RUNNING' $s 2>/dev/null || [ $i -ge 1200 ]; do sleep 0.05; i=$((i+1)); done
           a=$(sed -n 's/^hw_ptr *: //p' $s); sleep 0.5; b=$(sed -n 's/^hw_ptr *: //p' $s)
           kill $p; wait $p
           aplay -q -D hw:${c},0 -d 1 -f S16_LE -r 48000 -c 2 /dev/zero; echo "rc=$? a=$a b=$b"`,
        ]),
      ),
    );
    for (const [i, r] of results.entries()) {
      const m = /rc=(\d+) a=(\d+) b=(\d+)/.exec(r.stdout);
      expect(m, `${cards[i]}: ${r.stdout} ${r.stderr}`).not.toBeNull();
      expect(Number(m![1]), `${cards[i]} aplay exit`).toBe(0);
      // moved: forward, or back to the start of the buffer when a busy host made
      // aplay underrun and prepare the stream again (hw_ptr is reset by prepare)
      expect(Number(m![3]), `${cards[i]} hw_ptr moved`).not.toBe(Number(m![2]));
    }
    const st = await guest.run('speaker-test', ['-D', 'hw:Dummy', '-c', '2', '-l', '1', '-t', 'sine', '-p', '50000']);
    expect(st.code).toBe(0);
    expect(st.stdout).toContain('Time per period');
  });

  it('delivers an event sent to MIDI Through to aseqdump', async () => {
    // stdbuf: aseqdump's stdout is a pipe here, which stdio would otherwise buffer until exit.
    const dump = guest.exec('stdbuf', ['-oL', 'aseqdump', '-p', 'Midi Through:0']);
    const out = new Watch(dump);
    await out.until(/Waiting for data/); // subscribed
    // A one-track standard MIDI file: note on 60, note off 60.
    const track = Buffer.from([0x00, 0x90, 0x3c, 0x64, 0x60, 0x80, 0x3c, 0x40, 0x00, 0xff, 0x2f, 0x00]);
    const smf = Buffer.concat([Buffer.from('MThd'), Buffer.from([0, 0, 0, 6, 0, 0, 0, 1, 0, 96]), Buffer.from('MTrk'), Buffer.from([0, 0, 0, track.length]), track]);
    const sent = await guest.run('aplaymidi', ['-p', 'Midi Through:0', '-'], { input: smf, timeoutMs: 30_000 });
    expect(sent.code, sent.stderr).toBe(0);
    await out.until(/Note off\s+0, note 60/);
    dump.kill('SIGINT');
    await dump.exit;
    expect(out.text).toMatch(/14:0\s+Note on\s+0, note 60, velocity 100/);
  });

  it('carries arbitrary bytes both ways and reports exit codes and signals', async () => {
    const data = Buffer.alloc(1 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 131 + (i >> 8)) & 0xff;
    const cat = await guest.run('sh', ['-c', 'cat | sha256sum; cat /dev/null'], { input: data });
    expect(cat.stdout.split(' ')[0]).toBe(createHash('sha256').update(data).digest('hex'));

    const h = guest.exec('head', ['-c', String(1 << 20), '/dev/urandom']);
    h.stdin.end();
    const parts: Buffer[] = [];
    h.stdout.on('data', (d: Buffer) => parts.push(d));
    expect(await h.exit).toEqual({ code: 0, signal: null });
    expect(Buffer.concat(parts).length).toBe(1 << 20);

    const r = await guest.run('sh', ['-c', 'echo "$FOO $(pwd)"; echo err >&2; exit 42'], { env: { FOO: 'bar' }, cwd: '/usr' });
    expect(r).toMatchObject({ code: 42, signal: null, stdout: 'bar /usr\n', stderr: 'err\n', timedOut: false });

    const sleeper = guest.exec('sleep', ['1000']);
    await sleeper.pid;
    sleeper.kill('SIGTERM');
    expect(await sleeper.exit).toEqual({ code: null, signal: 'SIGTERM' });

    const missing = guest.exec('no-such-program-here', []);
    await expect(missing.exit).rejects.toBeInstanceOf(ExecError);
  });

  it("runs on the host's root, read-only underneath and writable on top", async () => {
    const pkg = join(projectRoot(), 'package.json');
    const r = await guest.run('cat', [pkg]);
    expect(r.stdout).toBe(readFileSync(pkg, 'utf8'));
    const dir = mkdtempSync(join(tmpdir(), 'vlab-share-'));
    try {
      writeFileSync(join(dir, 'note'), 'from the host\n');
      // Host paths under /tmp are where the host says (a CI clone lives there), and the
      // guest's writes, there as anywhere, stay in the guest.
      const seen = await guest.run('sh', ['-c', `cat ${dir}/note && cat /run/vlab/host${dir}/note && echo guest > ${dir}/from-guest && cat ${dir}/from-guest && echo guest > /root/vlab-write-probe && cat /root/vlab-write-probe`]);
      expect(seen).toMatchObject({ code: 0, stdout: 'from the host\nfrom the host\nguest\nguest\n' });
      expect(existsSync('/root/vlab-write-probe')).toBe(false);
      expect(existsSync(join(dir, 'from-guest'))).toBe(false);
      // and the project is visible at its own path, wherever it was cloned
      const cwd = await guest.run('pwd', [], { cwd: projectRoot() });
      expect(cwd.stdout).toBe(`${projectRoot()}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('streams the kernel log with guest timestamps, and a checkpoint covers everything logged before it', async () => {
    const before = await guest.checkpoint();
    await guest.run('sh', ['-c', 'echo "<3>vlab-test: marker $$" > /dev/kmsg']);
    const after = await guest.checkpoint();
    const recs = guest.klogSince(before).filter((r) => r.seq <= after);
    const marker = recs.find((r) => r.text.startsWith('vlab-test: marker'));
    expect(marker).toBeDefined();
    expect(marker!.level).toBe(3);
    expect(marker!.tsUs).toBeGreaterThan(guest.klog()[0]!.tsUs);
    expect(guest.klog()[0]!.text).toMatch(/^Linux version /);
  });

  it('hears the heartbeat, with the guest memory', async () => {
    const hb = guest.heartbeat ?? (await new Promise((r) => guest.once('heartbeat', r)));
    expect(hb).toMatchObject({ memTotalKb: expect.any(Number), memAvailableKb: expect.any(Number) });
    expect(guest.heartbeat!.memAvailableKb).toBeLessThan(guest.heartbeat!.memTotalKb);
  });

  it('unplugging the USB card under speaker-test makes it fail, logs the disconnect, and replug brings it back', async () => {
    const cp = await guest.checkpoint();
    const player = guest.exec('speaker-test', ['-D', 'hw:Audio', '-c', '2', '-r', '48000', '-t', 'sine', '-l', '0']);
    const out = new Watch(player);
    await untilRunning('Audio');
    await guest.unplug('usbsnd');
    // speaker-test ends by itself: no kill, no timeout here.
    const st = await player.exit;
    // -ENODEV or -EBADFD, depending on where in its write the player was when the
    // card went: both are the kernel's answer for a disconnected PCM.
    const gone = /No such device|File descriptor in bad state/;
    expect(out.text).toMatch(/(Write error|Transfer failed): /);
    expect(out.text).toMatch(gone);
    // (speaker-test 1.2.8 exits 0 even after "Transfer failed"; aplay below reports it in its status.)
    expect(st.signal).toBeNull();
    const rec = await guest.waitForKlog(/USB disconnect/, { since: cp });
    expect(rec.text).toMatch(/^usb \d+-\d+: USB disconnect, device number \d+/);

    await guest.replug('usbsnd');
    const back = await guest.run('sh', ['-c', 'i=0; while [ ! -e /proc/asound/Audio ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; aplay -q -D hw:Audio -d 1 -f S16_LE -r 48000 -c 2 /dev/zero; echo rc=$?']);
    expect(back.stdout).toBe('rc=0\n');

    const aplay = guest.exec('aplay', ['-D', 'hw:Audio', '-f', 'S16_LE', '-r', '48000', '-c', '2', '/dev/zero']);
    const said = new Watch(aplay);
    await untilRunning('Audio');
    await guest.unplug('usbsnd');
    expect((await aplay.exit).code).toBe(1);
    expect(said.text).toMatch(gone);
    await guest.replug('usbsnd');
  });
});
