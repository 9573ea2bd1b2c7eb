import { runCli } from './main.js';
import { appCommands } from './commands/index.js';

export async function main(argv: string[]): Promise<number> {
  return runCli(argv, appCommands());
}
