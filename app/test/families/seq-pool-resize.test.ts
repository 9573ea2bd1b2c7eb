// Race family seq-pool-resize (seed 000): bug profile seq-fifo-stale-cell must report hang.
import { describe, expect, it } from 'vitest';
import { raceFamily } from '../sim-harness.js';

raceFamily(describe, it, (a, b) => expect(a).toEqual(b), 'seq-pool-resize', 'seq-fifo-stale-cell', 'hang');
