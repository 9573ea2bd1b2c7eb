// The lab's view of open files in a simulated run: what a handle name refers
// to, and what the lab itself remembers about it (its last hw_params).
import type { HwParams } from '../../events/op-data.js';
import type { SimFile } from '../../sim/core/file.js';
import type { SndPcmSubstream } from '../../sim/pcm/pcm_types.js';

export interface PcmHandle {
  kind: 'pcm';
  file: SimFile;
  substream: SndPcmSubstream;
  card: number;
  device: number;
  stream: 'playback' | 'capture';
  /** Parameters from the last successful hw_params on this handle, from any lane. */
  params: HwParams | null;
  /** xruns counted on earlier runtimes of this handle (the kernel counter is per runtime). */
  xrunsSeen: number;
}

export interface SeqHandle {
  kind: 'seq';
  file: SimFile;
  client: number;
}

export type Handle = PcmHandle | SeqHandle;
