// `stresslab devices --target vm|local|sim`: the sound devices a target has,
// listed the way `aplay -l` and `aconnect -l` list them (or as JSON).
import { flag, opt, parseArgs, UsageError } from '../args.js';
import { type Command, EXIT } from '../command.js';
import { formatDeviceList } from '../../devices/format.js';
import { localDeviceList } from '../../targets/local-devices.js';
import type { DeviceList } from '../../devices/types.js';
import { simDeviceList } from '../../sim/devices.js';
import { listGuestDevices } from '../../vlab/index.js';
import { bootForCli, GUEST_OPTIONS, guestOptions, prepareForCli, refuseGuestFlags } from './vm.js';

const OPTIONS = [
  { name: 'target', value: true, valueName: 'vm|local|sim', help: 'whose devices: a fresh virtual-lab guest, this machine, or the simulated kernel (default local)' },
  { name: 'json', help: 'print the DeviceList as JSON' },
  ...GUEST_OPTIONS.map((o) => ({ ...o, help: `${o.help} (--target vm)` })),
];

export function devicesCommand(): Command {
  return {
    name: 'devices',
    summary: 'list sound devices (PCM and sequencer) of a target, like aplay -l and aconnect -l',
    usage: 'devices [--target vm|local|sim] [--hw LIST] [--kernel-version V] [--json]',
    options: OPTIONS,
    async run(argv, io) {
      const p = parseArgs(argv, OPTIONS);
      if (p.positionals.length) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
      const target = opt(p, 'target') ?? 'local';
      refuseGuestFlags(p, target);
      let list: DeviceList;
      if (target === 'local') list = localDeviceList();
      else if (target === 'sim') list = simDeviceList();
      else if (target === 'vm') {
        const guest = await bootForCli(await prepareForCli(guestOptions(p, io)));
        try {
          list = await listGuestDevices(guest);
        } finally {
          await guest.shutdown();
        }
      } else throw new UsageError(`unknown --target "${target}" (vm, local, sim)`);
      io.out(flag(p, 'json') ? JSON.stringify(list, null, 2) + '\n' : formatDeviceList(list));
      return EXIT.ok;
    },
  };
}
