// Usage errors of `vm` and `devices` are found before any guest boots.
import { describe, expect, it } from 'vitest';
import { runCommands } from '../../test/cli-in-process.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { devicesCommand } from './devices.js';
import { kernelsCommand } from './kernels.js';
import { runCommand } from './run.js';
import { vmCommand } from './vm.js';

const cli = (...argv: string[]) => runCommands([vmCommand(), devicesCommand(), runCommand, kernelsCommand()], argv);
const tmp = mkdtempSync(join(tmpdir(), 'stresslab-vmcli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const patch = (name: string, path: string) => {
  const f = join(tmp, name);
  writeFileSync(f, `--- a/${path}\n+++ b/${path}\n@@ -1,3 +1,4 @@\n a\n+b\n c\n d\n`);
  return f;
};

describe('stresslab vm / devices usage', () => {
  it('wants a subcommand and a command after --', async () => {
    expect(await cli('vm')).toMatchObject({ code: 2, err: expect.stringMatching(/missing subcommand: exec or prepare/) });
    expect(await cli('vm', 'exec')).toMatchObject({ code: 2, err: expect.stringMatching(/no command given/) });
    expect(await cli('vm', 'exec', 'aplay')).toMatchObject({ code: 2, err: expect.stringMatching(/put the command after "--"/) });
  });

  it('rejects unknown hardware, a missing kernel and modules without a kernel', async () => {
    expect(await cli('vm', 'exec', '--hw', 'dummy,gus', '--', 'true')).toMatchObject({ code: 2, err: expect.stringMatching(/unknown virtual hardware "gus"/) });
    expect(await cli('vm', 'exec', '--kernel', '/nonexistent/bzImage', '--', 'true')).toMatchObject({ code: 2, err: expect.stringMatching(/kernel image not found or unreadable: \/nonexistent\/bzImage/) });
    expect(await cli('vm', 'exec', '--modules', '/tmp', '--', 'true')).toMatchObject({ code: 2, err: expect.stringMatching(/--modules goes with --kernel/) });
    expect(await cli('vm', 'exec', '--accel', 'hvf', '--', 'true')).toMatchObject({ code: 2 });
    expect(await cli('vm', 'exec', '--cpus', '99', '--', 'true')).toMatchObject({ code: 2, err: expect.stringMatching(/--cpus must be between 1 and 8/) });
  });

  it('lists the simulated kernel and this machine without booting anything', async () => {
    const sim = await cli('devices', '--target', 'sim');
    expect(sim.code).toBe(0);
    expect(sim.out).toMatch(/^\*\*\*\* List of PLAYBACK Hardware Devices \*\*\*\*\ncard 0: /);
    const json = await cli('devices', '--target', 'local', '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toMatchObject({ target: 'local', cards: expect.any(Array), notes: expect.any(Array) });
  });

  it('refuses guest flags for other targets and unknown targets', async () => {
    expect(await cli('devices', '--target', 'sim', '--hw', 'dummy')).toMatchObject({ code: 2, err: expect.stringMatching(/--hw only applies to --target vm/) });
    expect(await cli('devices', '--target', 'phone')).toMatchObject({ code: 2, err: expect.stringMatching(/unknown --target "phone"/) });
  });

  // These ask the host's apt lists (apt-cache), as a user's machine would, but download and boot nothing.
  it('names the nearest kernels for an unknown --kernel-version, and lists the known ones', async () => {
    const r = await cli('run', 'seq-pool-resize', '--target', 'vm', '--kernel-version', '6.1.0-999');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown kernel version "6\.1\.0-999"; nearest available: 6\.1\.0-\d+ \(6\.1\.\d+-\d+\)/);
    expect(await cli('vm', 'exec', '--kernel-version', 'nonsense-kernel', '--', 'true')).toMatchObject({ code: 2, err: expect.stringMatching(/unknown kernel version "nonsense-kernel"/) });
    const k = await cli('kernels', '--json');
    expect(k.code).toBe(0);
    const list = JSON.parse(k.out) as { kernels: { version: string; source_version: string; upstream: string; default: boolean }[] };
    expect(list.kernels.length).toBeGreaterThan(0);
    for (const x of list.kernels) expect(x.source_version.startsWith(x.upstream)).toBe(true);
    expect(list.kernels.filter((x) => x.default)).toHaveLength(1);
  });

  it('refuses a patch outside sound/, a kernel list where one kernel is meant, and --kernel with --kernel-version', async () => {
    const r = await cli('run', 'seq-pool-resize', '--target', 'vm', '--kernel-patch', patch('mm.patch', 'mm/slub.c'));
    expect(r).toMatchObject({ code: 2, err: expect.stringMatching(/touches mm\/slub\.c: an overlay rebuilds sound modules only/) });
    expect(await cli('run', 'seq-pool-resize', '--target', 'vm', '--kernel-patch', join(tmp, 'missing.patch'))).toMatchObject({ code: 2, err: expect.stringMatching(/kernel patch not found/) });
    expect(await cli('devices', '--target', 'vm', '--kernel-version', '6.1.0-54,6.1.0-57')).toMatchObject({ code: 2, err: expect.stringMatching(/names several kernels; only "stresslab run" takes a kernel matrix/) });
    expect(await cli('vm', 'exec', '--kernel', '/bin/true', '--kernel-version', '6.1.0-54', '--', 'true')).toMatchObject({ code: 2, err: expect.stringMatching(/exclude each other/) });
    expect(await cli('run', 'seq-pool-resize', '--target', 'sim', '--kernel-version', '6.1.0-54')).toMatchObject({ code: 2, err: expect.stringMatching(/--kernel-version only applies to --target vm/) });
    expect(await cli('run', 'seq-pool-resize', '--target', 'vm', '--kernel-version', '6.1.0-54..6.1.0-57', '--oracle')).toMatchObject({ code: 2 });
  });

  it('a kernel without linux-source of its exact version cannot have an overlay: exit 2 naming the versions that have one', async () => {
    const k = JSON.parse((await cli('kernels', '--json')).out) as { kernels: { version: string; source: boolean; installable: boolean }[] };
    const without = k.kernels.find((x) => x.installable && !x.source);
    if (!without) return; // every kernel in this archive has its source: nothing to refuse
    const r = await cli('run', 'seq-pool-resize', '--target', 'vm', '--kernel-version', without.version, '--kernel-patch', patch('ok.patch', 'sound/core/seq/seq_fifo.c'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no linux-source-6\.\d+ \S+ in the archive, so no module overlay can be built for this kernel; linux-source-6\.\d+ exists in: \d/);
  });
});

