// A task past its deadline is asked to stop what it started (a kernel
// download, an overlay build, a guest: children only its own thread can
// reap) before its thread is ended, and the caller hears that it overran.
// Uses the built worker (dist/): `node scripts/build.js` first.
import { describe, expect, it } from 'vitest';
import { runTask } from './tasks.js';

describe('task deadlines', () => {
  it('an overrun task is aborted in its worker and reported as overrun', async () => {
    await expect(runTask({ kind: 'compare', runs: [] }, 0)).rejects.toMatchObject({ code: 'unavailable', message: 'compare did not answer within 0 s and was stopped' });
  });

  it('a task within its deadline answers', async () => {
    await expect(runTask({ kind: 'compare', runs: [] }, 60_000)).resolves.toMatchObject({ kind: 'compare' });
  });
});
