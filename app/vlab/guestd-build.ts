// guestd is compiled from native-bridge/vlab/guestd.c on first use and cached
// by source hash, so the lab needs no separate build step and never runs a
// stale binary. Linked statically when the C library allows, so it runs
// whatever libc the guest's root (the host's) has.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TargetError } from '../errors.js';
import { runHost } from './exec-host.js';
import { guestToolsDir } from './paths.js';
import { requireTool } from './tools.js';

export async function guestdBinary(root: string): Promise<string> {
  const src = join(guestToolsDir(), 'guestd.c');
  if (!existsSync(src)) throw new TargetError(`guest daemon source missing: ${src}`);
  const hash = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 16);
  const dir = join(root, 'guestd', hash);
  const bin = join(dir, 'guestd');
  if (existsSync(bin)) return bin;
  const cc = requireTool('cc', 'compile the guest daemon (native-bridge/vlab/guestd.c)');
  mkdirSync(dir, { recursive: true });
  const tmp = `${bin}.${process.pid}.${randomBytes(3).toString('hex')}`;
  const base = ['-O2', '-Wall', '-o', tmp, src];
  try {
    try {
      await runHost(cc, ['-static', ...base], { what: 'compiling guestd (static)' });
    } catch {
      await runHost(cc, base, {
        what: 'compiling guestd',
        hint: 'install a C toolchain: sudo apt-get install gcc libc6-dev',
      });
    }
    renameSync(tmp, bin);
  } finally {
    rmSync(tmp, { force: true });
  }
  return bin;
}
