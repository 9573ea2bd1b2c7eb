// The oracle on library ops: the op's own calls compared call for call, the
// device probe and the libraries' threads listed, never a divergence.
import { describe, expect, it } from 'vitest';
import type { ActionEvent } from '../events/types.js';
import { compareRuns } from './oracle.js';
import { diffCalls, shapeOf } from './library-calls.js';

const probe = (card: string) => [`ctl:${card} open`, `ctl:${card} CARD_INFO`, `ctl:${card} close`, `pcm:${card},0p open`, `pcm:${card},0p INFO`, `pcm:${card},0p HW_REFINE×15`, `pcm:${card},0p close`];
const stream = (n: string, refines = 16, channelInfo = true) => [
  `ctl:${n} open`, `pcm:${n},0p open`, `ctl:${n} close`, `pcm:${n},0p HW_REFINE×12`, `pcm:${n},0p HW_PARAMS`, `pcm:${n},0p PREPARE`, `pcm:${n},0p DROP`, `pcm:${n},0p HW_FREE`, `pcm:${n},0p close`,
  `ctl:${n} open`, `pcm:${n},0p open`, `ctl:${n} close`, `pcm:${n},0p HW_REFINE×${refines}`, `pcm:${n},0p HW_PARAMS`, `pcm:${n},0p SW_PARAMS`, ...(channelInfo ? [`pcm:${n},0p CHANNEL_INFO×2`] : []), `pcm:${n},0p PREPARE`, `pcm:${n},0p SW_PARAMS`,
];
const act = (step: number, op: string, calls: string[] | undefined, iter = 0): ActionEvent => ({ kind: 'act', t: step * 1e6 + iter * 1e8, dur: 1e5, lane: 'a', iter, step, op, handle: 's', ret: 0, ...(calls ? { data: { calls } } : {}) });

describe('library calls: shapes', () => {
  it('a stream open is its Pa_IsFormatSupported and Pa_OpenStream episodes; the rest is the probe', () => {
    const s = shapeOf('pa.open', [...probe('Dummy'), ...probe('Loopback'), ...stream('Loopback')], true);
    expect(s.core).toEqual(stream('Loopback'));
    expect(s.probe).toEqual([...probe('Dummy'), ...probe('Loopback')]);
  });

  it('xrun restarts, polls and the input thread\'s reads are the threads\' (counted), not the op\'s', () => {
    const s = shapeOf('pa.close', ['pcm:L,0p poll', 'pcm:L,0p STATUS_EXT×2', 'pcm:L,0p DROP', 'pcm:L,0p PREPARE', 'pcm:L,0p START', 'pcm:L,0p STATUS_EXT', 'pcm:L,0p DROP×2', 'pcm:L,0p HW_FREE', 'pcm:L,0p close'], true);
    expect(s.core).toEqual(['pcm:L,0p DROP×2', 'pcm:L,0p HW_FREE', 'pcm:L,0p close']);
    expect(s.background).toEqual({ poll: 1, 'xrun restart': 1, STATUS_EXT: 1 });
    expect(shapeOf('midi.close', ['seq poll', 'seq read', 'seq read=EAGAIN', 'seq UNSUBSCRIBE_PORT', 'seq DELETE_PORT', 'seq close'], true)).toEqual({ core: ['seq UNSUBSCRIBE_PORT', 'seq DELETE_PORT', 'seq close'], probe: [], background: { poll: 1, read: 1, 'read=EAGAIN': 1 } });
  });

  it('diffs call sequences by their longest common part', () => {
    expect(diffCalls(['a', 'b', 'c', 'd'], ['a', 'c', 'e', 'd'])).toEqual({ matched: 3, onlyA: ['b'], onlyB: ['e'] });
  });
});

describe('library calls: the oracle', () => {
  it('agrees call for call when the cores match, whatever the probe and the threads did', () => {
    const real = [act(0, 'pa.open', [...probe('Dummy'), ...probe('AC97'), 'pcm:Dummy,0p open', 'pcm:Dummy,0p HW_REFINE×133', 'pcm:Dummy,0p close', ...stream('Loopback')]), act(1, 'pa.write', ['pcm:Loopback,0p STATUS_EXT', 'pcm:Loopback,0p DROP', 'pcm:Loopback,0p PREPARE', 'pcm:Loopback,0p START'])];
    const model = [act(0, 'pa.open', [...probe('Dummy'), ...probe('SimSoC'), ...stream('Loopback')]), act(1, 'pa.write', ['pcm:Loopback,0p poll'])];
    const r = compareRuns(real, model, { a: 'vm', b: 'model' });
    expect(r.divergences).toEqual([]);
    expect(r.library).toMatchObject({ traced: { a: true, b: true }, compared: 2, agree: 2, cards_only_a: ['AC97'], cards_only_b: ['SimSoC'] });
    const open = r.library!.steps[0]!;
    // the probe of the card both have matched; the configuration PCM's extra open on Dummy is listed, not counted
    expect(open.probe).toMatchObject({ only_a: 135, only_b: 0 });
    expect(open.probe!.only_a_calls).toMatch(/pcm:Dummy,0p HW_REFINE×133/);
    expect(r.library!.steps[1]!.background).toEqual({ a: { 'xrun restart': 1 }, b: { poll: 1 } });
  });

  it('a call the library makes and the model does not is a divergence naming it', () => {
    const r = compareRuns([act(0, 'pa.open', stream('Loopback'))], [act(0, 'pa.open', stream('Loopback', 14, false))], { a: 'vm', b: 'model' });
    expect(r.significant).toBe(1);
    expect(r.divergences[0]).toMatchObject({ kind: 'calls', significant: true, chance: 0 });
    expect(r.divergences[0]!.message).toMatch(/only the vm: pcm:Loopback,0p HW_REFINE×16, pcm:Loopback,0p CHANNEL_INFO×2; only the model: pcm:Loopback,0p HW_REFINE×14/);
    expect(r.library!.steps[0]!.core).toBe('differ');
  });

  it('compares calls only between the same request with the same outcome (a send of 128 is not a send of 256)', () => {
    const send = (n: number, count: number) => ({ ...act(0, 'midi.send', [`seq write×${count}`], n), args: { count } });
    const r = compareRuns([send(0, 256), send(1, 256)], [send(0, 128), send(1, 256), send(2, 128)], { a: 'vm', b: 'model' });
    expect(r.divergences.filter((d) => d.kind === 'calls')).toEqual([]);
    expect(r.library!.steps[0]!.core).toBe('agree');
    const bad = compareRuns([send(0, 256)], [{ ...send(0, 256), data: { calls: ['seq write×255'] } }], { a: 'vm', b: 'model' });
    expect(bad.divergences.filter((d) => d.kind === 'calls')).toHaveLength(1);
  });

  it('a real run that was not traced is compared by outcome only, and says so', () => {
    const r = compareRuns([act(0, 'pa.open', undefined)], [act(0, 'pa.open', stream('Loopback'))], { a: 'vm', b: 'model' });
    expect(r.divergences).toEqual([]);
    expect(r.library).toMatchObject({ traced: { a: false, b: true }, compared: 0 });
  });
});
