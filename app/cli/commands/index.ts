import type { Command } from '../command.js';

/** Every command the lab core offers. main/ adds serve and start. */
export function appCommands(): Command[] {
  return [];
}
