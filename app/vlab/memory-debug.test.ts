import { describe, expect, it } from 'vitest';
import { featuresFromConfig, featuresFromImage, memoryDebugPlan } from './memory-debug.js';

describe('memory-debugging boot options', () => {
  it("reads what a Debian kernel can do from its config (6.1: no KFENCE; 6.12: KFENCE, sampling off by default)", () => {
    const v61 = featuresFromConfig('CONFIG_SLUB_DEBUG=y\n# CONFIG_SLUB_DEBUG_ON is not set\n# CONFIG_KFENCE is not set\n');
    expect(memoryDebugPlan(v61)).toEqual({ cmdline: ['slub_debug=FZPU,kmalloc-*', 'init_on_free=1'], unavailable: ['KFENCE (the kernel has no CONFIG_KFENCE)'] });
    const v612 = featuresFromConfig('CONFIG_SLUB_DEBUG=y\nCONFIG_KFENCE=y\nCONFIG_KFENCE_SAMPLE_INTERVAL=0\n');
    expect(memoryDebugPlan(v612).cmdline).toEqual(['slub_debug=FZPU,kmalloc-*', 'init_on_free=1', 'kfence.sample_interval=1']);
  });

  it('reads it from the image when there is no config (a user kernel, an older cache entry)', () => {
    const img = Buffer.concat([Buffer.alloc(64), Buffer.from('slub_debug\0init_on_free\0'), Buffer.alloc(64)]);
    expect(featuresFromImage(img)).toEqual({ slubDebug: true, kfence: false, initOnFree: true, from: 'image' });
    expect(memoryDebugPlan(featuresFromImage(Buffer.alloc(10))).unavailable).toHaveLength(3);
  });
});
