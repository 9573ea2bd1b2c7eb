// Reading the library's calls out of strace -f -y output: threads interleaved
// mid-call, poll's array without paths, the per-op marks.
import { mkdtempSync, writeFileSync, appendFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CallTrace, straceArgv } from './calltrace.js';
import { encodeCalls } from '../../events/alsa-calls.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const card = (n: number) => ['Dummy', 'Loopback'][n] ?? `card${n}`;

describe('CallTrace', () => {
  it('splits the calls at each op\'s mark, joins interrupted lines, names poll\'s files from the opens it saw', async () => {
    dir = mkdtempSync(join(tmpdir(), 'calltrace-'));
    const file = join(dir, 'x.strace');
    writeFileSync(
      file,
      [
        '100   openat(AT_FDCWD, "/etc/asound.conf", O_RDONLY) = -1 ENOENT (No such file or directory)',
        '100   openat(AT_FDCWD, "/dev/snd/controlC1", O_RDONLY|O_CLOEXEC) = 27</dev/snd/controlC1>',
        '100   ioctl(27</dev/snd/controlC1>, SNDRV_CTL_IOCTL_CARD_INFO, 0x7ffd) = 0',
        '100   close(27</dev/snd/controlC1>) = 0',
        '100   openat(AT_FDCWD, "/dev/snd/controlC5", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)',
        '100   openat(AT_FDCWD, "/dev/snd/pcmC1D0p", O_RDWR|O_NONBLOCK|O_CLOEXEC) = 30</dev/snd/pcmC1D0p>',
        '100   ioctl(30</dev/snd/pcmC1D0p>, SNDRV_PCM_IOCTL_HW_REFINE, 0x7ffd) = 0',
        '100   ioctl(30</dev/snd/pcmC1D0p>, SNDRV_PCM_IOCTL_HW_REFINE, 0x7ffd) = 0',
        '100   write(1<pipe:[123]>, "x", 1) = 1',
        '100   openat(AT_FDCWD, "/stresslab-call/1", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)',
        '',
      ].join('\n'),
    );
    const t = new CallTrace(file, card);
    expect(encodeCalls((await t.take(1, 100))!)).toEqual(['ctl:Loopback open', 'ctl:Loopback CARD_INFO', 'ctl:Loopback close', 'ctl:card5 open=ENOENT', 'pcm:Loopback,0p open', 'pcm:Loopback,0p HW_REFINE×2']);
    appendFileSync(
      file,
      [
        '101   ioctl(30</dev/snd/pcmC1D0p>, SNDRV_PCM_IOCTL_PREPARE <unfinished ...>',
        '100   futex(0x1, FUTEX_WAKE, 1) = 0',
        '101   <... ioctl resumed>, 0) = 0',
        '101   ioctl(30</dev/snd/pcmC1D0p>, _IOC(_IOC_NONE, 0x41, 0x42, 0), 0) = 0',
        '101   poll([{fd=30, events=POLLOUT|POLLERR|POLLNVAL}], 1, 6) = 1 ([{fd=30, revents=POLLOUT}])',
        '101   ioctl(30</dev/snd/pcmC1D0p>, SNDRV_PCM_IOCTL_STATUS_EXT, 0x7f) = -1 ENODEV (No such device)',
        '100   openat(AT_FDCWD, "/stresslab-call/2", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)',
        '',
      ].join('\n'),
    );
    expect(encodeCalls((await t.take(2, 100))!)).toEqual(['pcm:Loopback,0p PREPARE', 'pcm:Loopback,0p START', 'pcm:Loopback,0p poll', 'pcm:Loopback,0p STATUS_EXT=ENODEV']);
    // an op whose mark never comes: nothing, not a hang
    expect(await t.take(3, 30)).toBeUndefined();
    t.close();
  });

  it('runs the handle under strace with only the sound calls stopping it', () => {
    const argv = straceArgv('/tmp/f', '/usr/bin/node', ['--expose-gc']);
    expect(argv).toContain('--seccomp-bpf');
    expect(argv.slice(argv.indexOf('-o'))).toEqual(['-o', '/tmp/f', '/usr/bin/node', '--expose-gc']);
  });
});
