// Race family parallel-hw-params (seed 002): bug profile pcm-unlocked-hw-params must report torn-hw-params.
import { describe, expect, it } from 'vitest';
import { raceFamily } from '../sim-harness.js';

raceFamily(describe, it, (a, b) => expect(a).toEqual(b), 'parallel-hw-params', 'pcm-unlocked-hw-params', 'torn-hw-params');
