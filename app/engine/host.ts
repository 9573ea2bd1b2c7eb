// The machine the lab itself runs on, for the record: a figure measured in the
// virtual lab means little without the host's CPU count and kernel.
import { readFileSync } from 'node:fs';
import { arch, cpus, hostname, release } from 'node:os';
import type { HostContext } from '../events/types.js';
import { TOOL } from '../version.js';

function osName(): string | undefined {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'));
    return m?.[1];
  } catch {
    return undefined;
  }
}

export function hostContext(): HostContext {
  const os = osName();
  return { hostname: hostname(), ...(os ? { os } : {}), kernel: release(), arch: arch(), cpus: cpus().length, node: process.version, tool: TOOL };
}
