// Usage errors of `vm` and `devices` are found before any guest boots.
import { describe, expect, it } from 'vitest';
import { runCommands } from '../../test/cli-in-process.js';
import { devicesCommand } from './devices.js';
import { vmCommand } from './vm.js';

const cli = (...argv: string[]) => runCommands([vmCommand(), devicesCommand()], argv);

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
});
