// Race family dpcm-route-change (seed 001): bug profile dpcm-unlocked-be-list must report use-after-free.
import { describe, expect, it } from 'vitest';
import { raceFamily } from '../sim-harness.js';

raceFamily(describe, it, (a, b) => expect(a).toEqual(b), 'dpcm-route-change', 'dpcm-unlocked-be-list', 'use-after-free');
