// Running host helper programs (apt-get, dpkg-deb, depmod, cc) with their
// failure text kept, so a failed step says what the tool said.
import { execFile } from 'node:child_process';
import { TargetError } from '../errors.js';

export interface HostRunResult {
  stdout: string;
  stderr: string;
}

export function runHost(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; what: string; hint?: string }): Promise<HostRunResult> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const detail = (stderr || err.message).trim().split('\n').slice(-6).join('\n');
        reject(new TargetError(`${opts.what} failed (${cmd} ${args.join(' ')}):\n${detail}`, opts.hint));
      } else resolve({ stdout, stderr });
    });
  });
}
