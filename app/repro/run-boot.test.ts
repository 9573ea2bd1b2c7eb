// A vm run is minimised where it ran: its kernel package, its module overlay
// (from the overlay cache, by key) and its emulated hardware, unless the user
// says otherwise; an overlay that has left the cache is a clear error.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RecordedRun } from './source.js';
import { bootOfRun } from './run-boot.js';
import { ReproError } from './repro.js';

const root = mkdtempSync(join(tmpdir(), 'run-boot-'));
const prevCache = process.env.STRESSLAB_CACHE_DIR;
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  if (prevCache === undefined) delete process.env.STRESSLAB_CACHE_DIR;
  else process.env.STRESSLAB_CACHE_DIR = prevCache;
});

function run(kernel: Record<string, unknown> | undefined, hardware?: string[]): RecordedRun {
  return {
    header: {} as RecordedRun['header'],
    summary: (kernel ? { kernel } : {}) as RecordedRun['summary'],
    ...(hardware ? { context: { machine: { emulator: 'qemu', accel: 'tcg', cpus: 2, memory_mb: 512, hardware } } as RecordedRun['context'] } : {}),
    journal: '/x/journal.jsonl',
  };
}

describe('bootOfRun', () => {
  it("takes the run's kernel package and hardware when none are given", () => {
    const b = bootOfRun(run({ release: '6.1.0-57-amd64', origin: 'distro', package: 'linux-image-6.1.0-57-amd64', memory_debug: { on: [], unavailable: [] } }, ['dpcm']), {});
    expect(b).toEqual({ kernelVersion: 'linux-image-6.1.0-57-amd64', hw: ['dpcm'] });
  });

  it('leaves the kernel and hardware the user gives alone', () => {
    const b = bootOfRun(run({ release: '6.1.0-57-amd64', origin: 'distro', package: 'linux-image-6.1.0-57-amd64', overlay: { key: 'gone' }, memory_debug: { on: [], unavailable: [] } }, ['dpcm']), { kernelVersion: '6.12.117+deb12', hw: ['dummy'] });
    expect(b).toEqual({ kernelVersion: '6.12.117+deb12', hw: ['dummy'] });
  });

  it('says which patches to give when the run\'s overlay is no longer cached', () => {
    process.env.STRESSLAB_CACHE_DIR = root;
    mkdirSync(join(root, 'overlays', '6.1.0-57-amd64'), { recursive: true });
    writeFileSync(join(root, 'overlays', '6.1.0-57-amd64', '.keep'), '');
    const r = run({ release: '6.1.0-57-amd64', origin: 'distro', package: 'linux-image-6.1.0-57-amd64', overlay: { key: 'abc123', patches: [{ name: 'dpcm-unlocked-be-list.patch', sha256: 'x' }] }, memory_debug: { on: [], unavailable: [] } });
    expect(() => bootOfRun(r, {})).toThrow(ReproError);
    expect(() => bootOfRun(r, {})).toThrow(/overlay abc123 \(patches dpcm-unlocked-be-list\.patch\) is no longer in the overlay cache: give the same --kernel-patch FILE/);
  });

  it('a user kernel or a run without a kernel record boots as told', () => {
    expect(bootOfRun(run({ release: 'x', origin: 'user', memory_debug: { on: [], unavailable: [] } }), {})).toEqual({});
    expect(bootOfRun(run(undefined), { hw: ['aloop'] })).toEqual({ hw: ['aloop'] });
  });
});
