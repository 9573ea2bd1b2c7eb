// What a library op did to the kernel, in a form two runs can be compared
// by: the calls of a real run (traced, app/applane/child/calltrace.ts) and of
// the simulated kernel's mirror of the libraries (app/targets/sim/library/)
// are split three ways:
//
// - core: the op's own calls, which must be the same on a correct model: a
//   stream's Pa_IsFormatSupported and Pa_OpenStream episodes, what
//   Pa_StartStream does up to START, the DROP/HW_FREE/close of a close, every
//   sequencer call of a MIDI op except the input thread's reads;
// - probe: Pa_Initialize's walk over every card and device (pa.open,
//   pa.devices). It depends on which cards each side has and includes
//   alsa-lib's configuration PCMs, which the model leaves out: compared call
//   by call, differences reported, never counted as divergences;
// - background: what the libraries' own threads did meanwhile (polls, the
//   xrun restarts, SYNC_PTR per period, the MIDI input thread's reads): how
//   many depends on timing, so only counted.
import { decodeCalls, encodeCalls, type AlsaCall } from '../events/alsa-calls.js';

export interface CallShape {
  core: string[];
  probe: string[];
  background: Record<string, number>;
}

/** A run of calls the stream's own thread makes on its own, kept out of the core. */
const BACKGROUND_CALLS = new Set(['poll', 'STATUS_EXT']);

function isPcm(c: AlsaCall): boolean {
  return c.node.startsWith('pcm:');
}

/**
 * Removes the xrun restarts (STATUS_EXT, then DROP, PREPARE, SYNC_PTR…,
 * START on the same file), polls and lone STATUS_EXTs, counting them.
 */
function splitBackground(calls: AlsaCall[], counts: Record<string, number>): AlsaCall[] {
  const out: AlsaCall[] = [];
  const count = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);
  for (let i = 0; i < calls.length; i++) {
    const c = calls[i]!;
    if (c.call === 'STATUS_EXT') {
      // an xrun restart: AlsaRestart = DROP, PREPARE (SYNC_PTR…), START
      let j = i + 1;
      while (j < calls.length && calls[j]!.call === 'STATUS_EXT') j++;
      const seq = calls.slice(j);
      if (seq[0]?.call === 'DROP' && seq[1]?.call === 'PREPARE') {
        let k = 2;
        while (seq[k]?.call === 'SYNC_PTR' || seq[k]?.call === 'poll') k++;
        if (seq[k]?.call === 'START') {
          count('xrun restart');
          i = j + k;
          continue;
        }
      }
      count('STATUS_EXT');
      continue;
    }
    if (BACKGROUND_CALLS.has(c.call) || (c.node === 'seq' && c.call === 'read')) {
      count(c.errno ? `${c.call}=${c.errno}` : c.call);
      continue;
    }
    out.push(c);
  }
  return out;
}

/** Calls in episodes: each ends with the close of a PCM file (a probe, a Pa_IsFormatSupported); the last one may stay open. */
function episodes(calls: AlsaCall[]): AlsaCall[][] {
  const out: AlsaCall[][] = [];
  let cur: AlsaCall[] = [];
  for (const c of calls) {
    cur.push(c);
    if (isPcm(c) && c.call === 'close') {
      out.push(cur);
      cur = [];
    }
  }
  if (cur.length) out.push(cur);
  return out;
}

export function shapeOf(op: string, texts: readonly string[], ok: boolean): CallShape {
  const background: Record<string, number> = {};
  const all = decodeCalls(texts);
  const count = (k: string) => (background[k] = (background[k] ?? 0) + 1);
  const enc = (cs: AlsaCall[]) => encodeCalls(cs);
  switch (op) {
    case 'pa.write':
    case 'pa.read':
    case 'midi.receive': {
      // the library's threads only: everything is background
      const rest = splitBackground(all, background);
      for (const c of rest) count(c.errno ? `${c.call}=${c.errno}` : c.call);
      return { core: [], probe: [], background };
    }
    case 'pa.devices':
      return { core: [], probe: enc(splitBackground(all, background)), background };
    case 'pa.open': {
      const calls = splitBackground(all, background);
      const eps = episodes(calls);
      // a stream that opened: its last episode stays open, the one before is Pa_IsFormatSupported's
      const last = eps[eps.length - 1];
      const opened = ok && last !== undefined && !last.some((c) => isPcm(c) && c.call === 'close') && last.some((c) => isPcm(c) && c.call === 'open');
      if (!opened) return { core: [], probe: enc(calls), background };
      const core = eps.slice(-2).flat();
      return { core: enc(core), probe: enc(eps.slice(0, -2).flat()), background };
    }
    case 'pa.start': {
      const i = all.findIndex((c) => c.call === 'START');
      if (i < 0) return { core: enc(splitBackground(all, background)), probe: [], background };
      splitBackground(all.slice(i + 1), background);
      return { core: enc(all.slice(0, i + 1)), probe: [], background };
    }
    case 'pa.stop':
    case 'pa.abort':
    case 'pa.close': {
      // Pa_CloseStream's snd_pcm_close (DROP, HW_FREE, close), and the DROPs right before it
      const end = all.map((c) => c.call).lastIndexOf('HW_FREE');
      if (end < 0) return { core: enc(splitBackground(all, background)), probe: [], background };
      let from = end;
      while (from > 0 && all[from - 1]!.call === 'DROP') from--;
      splitBackground(all.slice(0, from), background);
      return { core: enc(all.slice(from)), probe: [], background };
    }
    default:
      return { core: enc(splitBackground(all, background)), probe: [], background };
  }
}

/** Card ids a call names ("pcm:Loopback,0p" → Loopback); undefined for seq and timer. */
export function cardOfNode(node: string): string | undefined {
  const m = /^(?:ctl|pcm):([^,]+)/.exec(node);
  return m?.[1];
}

export interface SequenceDiff {
  matched: number;
  /** Calls only the first sequence has, and only the second, folded by node and call. */
  onlyA: string[];
  onlyB: string[];
}

/** Longest common subsequence of two token lists (calls folded with ×N compare as wholes). */
export function diffCalls(a: readonly string[], b: readonly string[]): SequenceDiff {
  const n = a.length;
  const m = b.length;
  const w = m + 1;
  const dp = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) dp[i * w + j] = a[i] === b[j] ? dp[(i + 1) * w + j + 1]! + 1 : Math.max(dp[(i + 1) * w + j]!, dp[i * w + j + 1]!);
  const onlyA: string[] = [];
  const onlyB: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      i++;
      j++;
    } else if (dp[(i + 1) * w + j]! >= dp[i * w + j + 1]!) onlyA.push(a[i++]!);
    else onlyB.push(b[j++]!);
  }
  while (i < n) onlyA.push(a[i++]!);
  while (j < m) onlyB.push(b[j++]!);
  return { matched: dp[0]!, onlyA, onlyB };
}

/** Tokens on cards both sides have (a probe of a card only one side has says nothing). */
export function onCommonCards(tokens: readonly string[], cards: ReadonlySet<string>): string[] {
  return tokens.filter((t) => {
    const card = cardOfNode(t.split(' ')[0]!);
    return card === undefined || cards.has(card);
  });
}

/** "pcm:Dummy,0c HW_REFINE×133, …" folded: how many calls per node and call. */
export function summarise(tokens: readonly string[], max = 8): string {
  const by = new Map<string, number>();
  for (const c of decodeCalls(tokens)) {
    const k = `${c.node} ${c.call}${c.errno ? `=${c.errno}` : ''}`;
    by.set(k, (by.get(k) ?? 0) + 1);
  }
  const list = [...by].sort((x, y) => y[1] - x[1]);
  const shown = list.slice(0, max).map(([k, n]) => (n > 1 ? `${k}×${n}` : k));
  return shown.join(', ') + (list.length > max ? `, … (${list.length - max} more kinds)` : '');
}

export function totalCalls(tokens: readonly string[]): number {
  return decodeCalls(tokens).length;
}
