// Boot options that make memory errors visible on kernels built without
// KASAN, as Debian's are: SLUB debugging (red zones, poisoning, sanity
// checks, alloc/free owners), poisoning of freed pages, and KFENCE sampling
// where the kernel has it. A use-after-free then reads 0x6b6b6b6b... and
// faults, or SLUB reports "Poison overwritten" / "Object already free", or
// KFENCE reports the exact access: the kernel's own report instead of silent
// corruption. On by default for every virtual-lab boot; off for speed runs.
import { readFileSync } from 'node:fs';
import type { KernelSpec } from './kernel-cache.js';

export interface MemoryDebugFeatures {
  /** CONFIG_SLUB_DEBUG: slub_debug= works. */
  slubDebug: boolean;
  /** CONFIG_KFENCE: kfence.sample_interval= works. */
  kfence: boolean;
  /** init_on_free= (every kernel since 5.3). */
  initOnFree: boolean;
  /** Where this was read from. */
  from: 'config' | 'image';
}

export const SLUB_DEBUG = 'slub_debug=FZPU,kmalloc-*';

/** A sampled allocation every millisecond: the pool (255 objects) fills fast, so short races still land in it. */
export const KFENCE_SAMPLE_MS = 1;

export interface MemoryDebugPlan {
  /** Kernel command line items to add. */
  cmdline: string[];
  /** What the kernel cannot do, with why (for the summary and the log). */
  unavailable: string[];
}

export function featuresFromConfig(text: string): MemoryDebugFeatures {
  const on = (k: string) => new RegExp(`^CONFIG_${k}=y$`, 'm').test(text);
  return { slubDebug: on('SLUB_DEBUG'), kfence: on('KFENCE'), initOnFree: true, from: 'config' };
}

/**
 * Without a config (a user's kernel, an old cache entry) the image says it:
 * the parameter names are strings in the kernel's read-only data.
 */
export function featuresFromImage(img: Buffer): MemoryDebugFeatures {
  return {
    slubDebug: img.includes('slub_debug'),
    kfence: img.includes('kfence.sample_interval') || img.includes('kfence.\0'),
    initOnFree: img.includes('init_on_free'),
    from: 'image',
  };
}

export function memoryDebugFeatures(kernel: Pick<KernelSpec, 'config' | 'image'>): MemoryDebugFeatures {
  if (kernel.config) {
    try {
      return featuresFromConfig(readFileSync(kernel.config, 'utf8'));
    } catch {
      // fall back to the image
    }
  }
  return featuresFromImage(readFileSync(kernel.image));
}

export function memoryDebugPlan(f: MemoryDebugFeatures): MemoryDebugPlan {
  const cmdline: string[] = [];
  const unavailable: string[] = [];
  // F: sanity checks on every free, Z: red zones, P: poison freed objects (0x6b), U: who allocated and freed.
  // Only on the kmalloc caches, where the sound stack's objects live (it makes no
  // caches of its own): on every cache it costs about 10 s per boot under TCG
  // (9p, dentries, inodes), on these about 1.5 s (bench/kernel-overlay.md).
  if (f.slubDebug) cmdline.push(SLUB_DEBUG);
  else unavailable.push('slub_debug (the kernel has no CONFIG_SLUB_DEBUG)');
  if (f.initOnFree) cmdline.push('init_on_free=1');
  else unavailable.push('init_on_free (kernel older than 5.3)');
  if (f.kfence) cmdline.push(`kfence.sample_interval=${KFENCE_SAMPLE_MS}`);
  else unavailable.push('KFENCE (the kernel has no CONFIG_KFENCE)');
  return { cmdline, unavailable };
}
