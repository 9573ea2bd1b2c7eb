// The `stresslab` command with the front ends added: the lab core's commands
// (app/cli) plus serve and report. bin/stresslab.js prefers this entry.
import { runCli } from '../app/cli/main.js';
import { appCommands } from '../app/cli/commands/index.js';
import { serveCommand } from './commands/serve.js';
import { reportCommand } from './commands/report.js';

export async function main(argv: string[]): Promise<number> {
  return runCli(argv, [...appCommands(), serveCommand, reportCommand]);
}
