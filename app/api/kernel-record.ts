// The one record of the kernel a run ran on: summary.json's context.kernel.
// The target's context event says what it knows when the run starts; the
// virtual lab adds what it learns by the end (the taint after the run), and
// the engine folds that in. Summaries written before there was one record
// carried the virtual lab's part in a top-level `kernel`: read back, it is
// folded in the same way, so every reader sees one shape.
import type { KernelRecord, RunContext } from '../events/types.js';

/** `base` (the context event's) with `more` (the target's later word) folded in; the context's uname -r and -v stay. */
export function foldKernel(base: KernelRecord | undefined, more: Partial<KernelRecord> | undefined): KernelRecord | undefined {
  if (!more) return base;
  if (!base) return more.release && more.origin ? (more as KernelRecord) : undefined;
  return { ...base, ...more, release: base.release, origin: base.origin, ...(base.version ? { version: base.version } : {}) };
}

/** A summary as written before the kernel had one record: `kernel` beside `context`. */
type MaybeLegacy<S> = S & { kernel?: Partial<KernelRecord> | null };

/**
 * The summary with a legacy top-level `kernel` folded into context.kernel and
 * removed; a summary without one comes back as it is.
 */
export function withKernelRecord<S extends { context?: Partial<RunContext> }>(s: MaybeLegacy<S>): S {
  if (!('kernel' in s)) return s;
  const { kernel: legacy, ...rest } = s;
  const out = rest as unknown as S;
  const k = foldKernel(s.context?.kernel, legacy ?? undefined);
  if (k) out.context = { ...(s.context ?? {}), kernel: k } as S['context'];
  return out;
}

/** The run's kernel record, whichever way its summary was written. */
export function kernelOf(s: MaybeLegacy<{ context?: Partial<RunContext> }> | null | undefined): KernelRecord | undefined {
  return s ? withKernelRecord(s).context?.kernel : undefined;
}

/** "linux-image-6.1.0-54-amd64" or "6.1.0-54-amd64" → "6.1.0-54", as --kernel-version takes it. */
export function kernelVersionWord(k: Pick<KernelRecord, 'package' | 'release'>): string {
  return (k.package ?? k.release).replace(/^linux-image-/, '').replace(/-amd64$/, '');
}
