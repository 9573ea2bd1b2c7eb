// `stresslab vm exec` and `stresslab devices --target vm` with real guests.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { distroKernel } from '../../vlab/kernel-cache.js';
import { cacheRoot } from '../../vlab/paths.js';
import { runCommands } from '../../test/cli-in-process.js';
import { devicesCommand } from './devices.js';
import { vmCommand } from './vm.js';

const cli = (...argv: string[]) => runCommands([vmCommand(), devicesCommand()], argv);

describe('stresslab vm exec / devices --target vm', { timeout: 300_000 }, () => {
  it("runs the command, streams its output and the kernel log, and exits with the command's status", async () => {
    const r = await cli('vm', 'exec', '--hw', 'dummy', '--', 'sh', '-c', 'cat /proc/asound/cards; echo "<4>from-the-test" > /dev/kmsg; exit 5');
    expect(r.err).toMatch(/vm: guest ready in [\d.]+ s/);
    expect(r.out).toMatch(/^ 0 \[Dummy\s+\]: Dummy - Dummy$/m);
    expect(r.err).toMatch(/^klog: \[\s*\d+\.\d{6}\] from-the-test$/m);
    expect(r.code).toBe(5);
  });

  it('lists the guest devices as JSON', async () => {
    const r = await cli('devices', '--target', 'vm', '--hw', 'aloop,seq-dummy', '--json');
    expect(r.code).toBe(0);
    const list = JSON.parse(r.out) as { target: string; cards: { id: string }[]; seqClients: { name: string }[] };
    expect(list.target).toBe('vm');
    expect(list.cards.map((c) => c.id)).toEqual(['Loopback']);
    expect(list.seqClients.map((c) => c.name)).toContain('Midi Through');
  });

  it('boots a kernel given with --kernel and --modules (here: the cached distribution bzImage, as a user would pass theirs)', async () => {
    const k = await distroKernel(cacheRoot());
    const bz = join(k.image, '..', 'vmlinuz');
    const r = await cli('vm', 'exec', '--kernel', bz, '--modules', k.modulesDir!, '--hw', 'dummy', '--no-klog', '--', 'sh', '-c', 'uname -r; cat /proc/asound/cards');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`^${k.release.replace(/\./g, '\\.')}\n 0 \\[Dummy`));
  });
});
