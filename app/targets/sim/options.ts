// The simulator's own run settings, and the only way code outside the
// simulator names kernel profiles: the CLI and the app validate and list them
// here (architecture.test.ts keeps app/sim/profiles.ts private to the
// simulator). Real targets never see any of this.
import { BUG_SWITCHES, type BugSwitch, ProfileError, parseProfile, profileLabel } from '../../sim/profiles.js';
import type { ScheduleSource } from '../../sim/kernel/strategy.js';

export { ProfileError };

export interface SimTargetOptions {
  /** Kernel profile: ["fixed"] (default) or bug switches. A suite's phases use their own. */
  profile?: string[];
  strategy?: 'pct' | 'random';
  /** PCT bug depth. */
  depth?: number;
  /** Recorded scheduler decisions to follow instead of choosing (exact replay): DecisionLog text, or read as the run goes (a journal). */
  replay?: string | ScheduleSource;
}

/** A profile as journals record it ("fixed", or its bug switches sorted); throws ProfileError. */
export function simProfile(names: readonly string[]): string[] {
  return profileLabel(parseProfile(names.length ? names : ['fixed']));
}

export interface BugSwitchInfo {
  name: string;
  /** The seed report the historic bug comes from. */
  seed: string;
  summary: string;
  /** The finding it produces when a scenario hits it. */
  finding: string;
}

/** Every bug switch, for listings. */
export function simBugSwitches(): BugSwitchInfo[] {
  return Object.entries(BUG_SWITCHES).map(([name, b]) => ({ name, seed: b.seed, summary: b.summary, finding: b.finding }));
}

/** "fixed" and every bug switch. */
export function simProfiles(): (BugSwitchInfo | { name: 'fixed'; summary: string })[] {
  return [{ name: 'fixed', summary: "today's kernel with every fix (the default)" }, ...simBugSwitches()];
}

/** The bug switches a profile turns on, for code that builds a SimRun itself (tests, benchmarks); throws ProfileError. */
export function simBugs(names: readonly string[]): ReadonlySet<BugSwitch> {
  return parseProfile(names);
}
