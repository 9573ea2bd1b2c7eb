// Race windows on demand in the vocabulary and the program: hold /
// hold_from / unmapped_from / bytes validated like every argument, compiled
// into explicit `hold` / `edge` arguments, the holder counted as a party of
// its barrier; the simulator's copy_user model.
import { describe, expect, it } from 'vitest';
import { validateScenario } from '../vocabulary/scenario.js';
import { compileProgram } from './compile.js';
import { barrierMembers } from './resolve.js';
import { copy_user, userBuffer } from '../sim/kernel/uaccess.js';
import type { KGen } from '../sim/kernel/task.js';

const setup = [
  { 'seq.open': { handle: 'q', name: 'q' } },
  { 'seq.create_port': { handle: 'q', name: 'p' } },
];

function issuesOf(lanes: unknown[], extra: Record<string, unknown> = {}): string[] {
  return validateScenario({ name: 't', setup, lanes, ...extra }).issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

const racer = { name: 'racer', loop: [{ barrier: 'go' }, { 'seq.set_client_pool': { handle: 'q', input_pool: 32 } }] };

describe('vocabulary: buffer layouts', () => {
  it('accepts a hold on a barrier another lane meets, an unmapped tail, a short read', () => {
    expect(issuesOf([{ name: 'r', loop: [{ 'seq.read': { handle: 'q', bytes: 28, hold: 'go' } }, { 'seq.read': { handle: 'q', max: 2, unmapped_from: 30 } }] }, racer])).toEqual([]);
  });

  it('refuses what cannot work, naming the argument', () => {
    const one = (step: Record<string, unknown>, lanes: unknown[] = [racer]) => issuesOf([{ name: 'r', loop: [step] }, ...lanes]);
    expect(one({ 'seq.read': { handle: 'q', hold_from: 28 } })).toEqual([expect.stringContaining('hold_from needs hold')]);
    expect(one({ 'seq.read': { handle: 'q', hold: 'go', unmapped_from: 28 } })).toEqual([expect.stringContaining('takes only one of fault, hold, unmapped_from, got hold and unmapped_from')]);
    expect(one({ 'seq.read': { handle: 'q', fault: true, unmapped_from: 28 } })).toEqual([expect.stringContaining('got fault and unmapped_from')]);
    expect(one({ 'seq.read': { handle: 'q', max: 2, bytes: 56 } })).toEqual([expect.stringContaining('takes only one of max, bytes')]);
    expect(one({ 'pcm.write': { handle: 'q', hold: 'go', unmapped_from: 4 } }).join('\n')).toContain('takes only one of hold, unmapped_from');
    expect(one({ 'seq.send': { handle: 'q', to: 'q:0', hold: 'nobody' } })).toEqual([expect.stringContaining('barrier "nobody" is met by no other lane')]);
    expect(one({ 'seq.read': { handle: 'q', hold: '1bad' } }).join('\n')).toContain('a barrier name');
    expect(one({ 'seq.read': { handle: 'q', unmapped_from: -1 } }).join('\n')).toContain('unmapped_from');
    // only ops whose system call copies a user buffer take a layout
    expect(one({ 'ctl.write': { name: 'x', value: 1, hold: 'go' } }).join('\n')).toContain('hold');
  });

  it('a hold outside the lanes has nobody to meet', () => {
    const r = validateScenario({ name: 't', setup: [...setup, { 'seq.read': { handle: 'q', hold: 'go' } }], lanes: [racer] });
    expect(r.issues.map((i) => i.message).join('\n')).toContain('barriers only make sense inside lanes');
  });
});

describe('program: hold and edge, explicit', () => {
  const sc = validateScenario({
    name: 't',
    setup,
    lanes: [
      { name: 'r', loop: [{ 'seq.read': { handle: 'q', bytes: 28, hold: 'go' } }, { 'seq.send': { handle: 'q', to: 'q:0', type: 'sysex', size: 40, hold: 'go', hold_from: 56 } }, { 'seq.read': { handle: 'q', unmapped_from: 40 } }] },
      racer,
      { name: 'idle', loop: [{ sleep: '1ms' }] },
    ],
  }).scenario!;
  const p = compileProgram(sc, { seed: 1 });

  it('counts the holding lane as a party of its barrier, and says who meets which', () => {
    expect(p.barriers).toEqual([{ name: 'go', parties: 2 }]);
    expect(barrierMembers(p)).toEqual([[0, 1]]);
  });

  it('writes the barrier index, the edge and the defaults in', () => {
    const [held, send, tail] = p.lanes[0]!.steps.map((s) => s.args);
    expect(held).toEqual({ bytes: { fixed: 28 }, block: { fixed: true }, fault: { fixed: false }, hold: { fixed: 0 }, edge: { fixed: 0 } });
    expect(send!.hold).toEqual({ fixed: 0 });
    expect(send!.edge).toEqual({ fixed: 56 });
    expect(tail).toMatchObject({ bytes: { fixed: 64 * 28 }, hold: { fixed: -1 }, edge: { fixed: 40 } });
    // plain data: JSON round-trips it
    expect(JSON.parse(JSON.stringify(p))).toEqual(p);
  });
});

function run<T>(g: KGen<T>): { value: T; yields: number } {
  let yields = 0;
  for (;;) {
    const r = g.next(undefined as never);
    if (r.done) return { value: r.value, yields };
    yields++;
  }
}

describe('simulated copy_to_user / copy_from_user', () => {
  it('an unmapped tail: bytes not copied, as Linux counts them', () => {
    const b = userBuffer(40, 'unmapped');
    expect(run(copy_user(b, 0, 28)).value).toBe(0);
    expect(run(copy_user(b, 28, 28)).value).toBe(16);
    expect(run(copy_user(b, 56, 28)).value).toBe(28);
    expect(run(copy_user(undefined, 1e6, 28)).value).toBe(0);
  });

  it('a held part: the first touch runs the fault handler, once; before the edge nothing waits', () => {
    let faults = 0;
    const b = userBuffer(28, 'held', function* () {
      faults++;
      yield 'handler';
    });
    expect(run(copy_user(b, 0, 28))).toEqual({ value: 0, yields: 0 });
    expect(b.faulted).toBe(false);
    expect(run(copy_user(b, 20, 28))).toEqual({ value: 0, yields: 1 });
    expect(run(copy_user(b, 28, 28))).toEqual({ value: 0, yields: 0 });
    expect(faults).toBe(1);
    expect(b.faulted).toBe(true);
  });
});
