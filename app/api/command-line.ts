// The `stresslab run` command line that repeats a run, shown next to every
// run in the app: what the app runs, the CLI runs with the same words.
import type { RunHeader } from '../events/types.js';

/** ns as a preset writes a duration: 50ms, 2s, 1m, 250us. */
export function durationWord(ns: number): string {
  if (ns % 60e9 === 0) return `${ns / 60e9}m`;
  if (ns % 1e9 === 0) return `${ns / 1e9}s`;
  if (ns % 1e6 === 0) return `${ns / 1e6}ms`;
  if (ns % 1e3 === 0) return `${ns / 1e3}us`;
  return `${ns}ns`;
}

export function cliCommand(h: RunHeader, hardware?: readonly string[]): string {
  const parts = ['stresslab run', h.preset];
  if (h.target !== 'sim') parts.push('--target', h.target);
  if (h.target === 'sim' && !h.scenario.suite && h.profile.length && h.profile.join(',') !== 'fixed') parts.push('--profile', h.profile.join(','));
  parts.push('--seed', String(h.seed));
  if (h.duration !== h.scenario.duration) parts.push('--duration', durationWord(h.duration));
  if (h.target === 'vm' && hardware?.length) parts.push('--hw', hardware.join(','));
  return parts.join(' ');
}
