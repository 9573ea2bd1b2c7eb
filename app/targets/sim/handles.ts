// The lab's view of open files in a simulated run: what a program handle
// refers to while it is open, and what user space remembers about it.
import type { SimFile } from '../../sim/core/file.js';
import type { SndPcmSubstream } from '../../sim/pcm/pcm_types.js';

export interface PcmHandle {
  kind: 'pcm';
  file: SimFile;
  substream: SndPcmSubstream;
  card: number;
  device: number;
  stream: 'playback' | 'capture';
}

export interface SeqHandle {
  kind: 'seq';
  file: SimFile;
  client: number;
}

export type Handle = PcmHandle | SeqHandle;
