import type { Command } from '../command.js';
import { runCommand } from './run.js';
import { replayCommand } from './replay.js';
import { opsCommand, presetsCommand, profilesCommand, validateCommand } from './catalog.js';
import { devicesCommand } from './devices.js';
import { vmCommand } from './vm.js';
import { compareCommand } from './compare.js';
import { kernelsCommand } from './kernels.js';
import { reproCommand } from './repro.js';
import { minimizeCommand } from './minimize.js';

/** Every command the lab core offers. main/ adds serve and start. */
export function appCommands(): Command[] {
  return [runCommand, presetsCommand, profilesCommand, replayCommand, reproCommand, minimizeCommand, compareCommand, validateCommand, opsCommand, devicesCommand(), vmCommand(), kernelsCommand()];
}
