// stresslab serve — the lab's user interface in a browser: for rigs with no
// display, CI and remote viewing (through an SSH tunnel, say).
import { resolve } from 'node:path';
import { UsageError, intOpt, opt, parseArgs } from '../../app/cli/args.js';
import { type Command, EXIT } from '../../app/cli/command.js';
import { defaultPresetDir } from '../../app/engine/presets.js';
import { LabService } from '../service/lab-service.js';
import { startServer } from '../server/http-server.js';
import { rendererDir } from '../paths.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Serve the lab user interface to a browser (headless mode)',
  usage: 'serve [--port N] [--host ADDR] [--runs DIR] [--user-presets DIR]',
  options: [
    { name: 'port', value: true, valueName: 'N', help: 'TCP port; 0 (the default) picks any free port' },
    { name: 'host', value: true, valueName: 'ADDR', help: 'address to bind (default 127.0.0.1; anything else exposes the lab to the network)' },
    { name: 'runs', value: true, valueName: 'DIR', help: 'where runs are written and read (default runs/, as "stresslab run")' },
    { name: 'user-presets', value: true, valueName: 'DIR', help: 'where presets saved from the editor go (default user-presets/)' },
    { name: 'token', value: true, valueName: 'TOKEN', help: 'use this access token instead of a random one (scripts; keep it secret)' },
  ],
  async run(argv, io) {
    const p = parseArgs(argv, this.options);
    if (p.positionals.length) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
    const port = intOpt(p, 'port', 0, 65535) ?? 0;
    const host = opt(p, 'host') ?? '127.0.0.1';
    const token = opt(p, 'token');
    if (token !== undefined && !/^[A-Za-z0-9_-]{16,128}$/.test(token)) throw new UsageError('--token must be 16-128 characters of letters, digits, _ and -');
    const service = new LabService({
      mode: 'browser',
      runsDir: resolve(io.cwd, opt(p, 'runs') ?? 'runs'),
      userPresetDir: resolve(io.cwd, opt(p, 'user-presets') ?? 'user-presets'),
      builtinPresetDir: defaultPresetDir(),
    });
    const server = await startServer({ host, port, staticDir: rendererDir, service, ...(token ? { token } : {}), log: io.err });
    if (!LOOPBACK.has(host)) io.err(`stresslab serve: warning: bound to ${host}; anyone who can reach it and has the token can run tests on this machine\n`);
    io.out(`Audio Stress Lab is serving at ${server.url}\nOpen this URL (it carries this launch's access token):\n  ${server.openUrl}\nPress Ctrl+C to stop.\n`);
    await new Promise<void>((resolveStop) => {
      const stop = () => resolveStop();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    io.err('stresslab serve: stopping (live runs are aborted)\n');
    await service.close();
    await server.close();
    return EXIT.ok;
  },
};
