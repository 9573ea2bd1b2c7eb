// Turning a step's arguments into concrete values for one iteration: lists
// are cycled by iteration, {random: [a, b]} is drawn from the run's seeded
// generator (integers when both ends are integers).
import type { Varying } from './ops.js';

export interface RandomSource {
  int(min: number, max: number): number;
  float(): number;
}

function isVarying(v: unknown): v is Varying<unknown> {
  return typeof v === 'object' && v !== null && 'kind' in v && ((v as { kind: unknown }).kind === 'list' || (v as { kind: unknown }).kind === 'random');
}

export function resolveValue(v: unknown, iter: number, rng: RandomSource): unknown {
  if (!isVarying(v)) return v;
  if (v.kind === 'list') return v.values[iter % v.values.length];
  if (Number.isInteger(v.min) && Number.isInteger(v.max)) return rng.int(v.min, v.max);
  return v.min + rng.float() * (v.max - v.min);
}

/** Resolved arguments, and whether any of them varied (so events record them). */
export function resolveArgs(args: Record<string, unknown>, iter: number, rng: RandomSource): { values: Record<string, unknown>; varied: boolean } {
  const values: Record<string, unknown> = {};
  let varied = false;
  for (const [key, v] of Object.entries(args)) {
    if (isVarying(v) && (v.kind === 'random' || v.values.length > 1)) varied = true;
    values[key] = resolveValue(v, iter, rng);
  }
  return { values, varied };
}
