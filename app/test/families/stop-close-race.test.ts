// Race family stop-close-race (seed 004): bug profile pcm-no-sync-stop must report null-deref.
import { describe, expect, it } from 'vitest';
import { raceFamily } from '../sim-harness.js';

raceFamily(describe, it, (a, b) => expect(a).toEqual(b), 'stop-close-race', 'pcm-no-sync-stop', 'null-deref');
