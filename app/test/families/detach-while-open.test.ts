// Race family detach-while-open (seed 003): bug profile detach-without-drain must report use-after-free.
import { describe, expect, it } from 'vitest';
import { raceFamily } from '../sim-harness.js';

raceFamily(describe, it, (a, b) => expect(a).toEqual(b), 'detach-while-open', 'detach-without-drain', 'use-after-free');
