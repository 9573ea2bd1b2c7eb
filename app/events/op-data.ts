// What `ActionEvent.data` holds for each op. The simulated kernel and the agent
// must fill these identically: detectors and the sim-vs-hardware comparison
// read them without knowing the target.
import type { PcmFormat } from '../vocabulary/ops.js';

export type PcmStateName = 'OPEN' | 'SETUP' | 'PREPARED' | 'RUNNING' | 'XRUN' | 'DRAINING' | 'PAUSED' | 'SUSPENDED' | 'DISCONNECTED';

export interface HwParams {
  access: 'rw_interleaved' | 'rw_noninterleaved' | 'mmap_interleaved';
  format: PcmFormat;
  channels: number;
  rate: number;
  period_size: number;
  periods: number;
  buffer_size: number;
}

export interface Interval {
  min: number;
  max: number;
}

export interface OpData {
  'pcm.open': { card: number; device: number; subdevice: number; stream: 'playback' | 'capture' };
  'pcm.hw_refine': { formats: PcmFormat[]; channels: Interval; rate: Interval; period_size: Interval; periods: Interval; buffer_size: Interval };
  /** The parameters the kernel chose and wrote back to this caller. */
  'pcm.hw_params': { params: HwParams };
  /** What the runtime really holds after the call (the /proc hw_params file); null when "closed". */
  'pcm.readback': { params: HwParams | null };
  'pcm.sw_params': { avail_min: number; start_threshold: number; stop_threshold: number; boundary: number };
  'pcm.status': { state: PcmStateName; hw_ptr: number; appl_ptr: number; avail: number; delay: number };
  /** ret is the number of frames transferred. */
  'pcm.write': { requested: number };
  'pcm.read': { requested: number };
  'seq.open': { client: number };
  'seq.create_port': { port: number };
  'seq.set_client_pool': { input_pool?: number; output_pool?: number; output_room?: number };
  'seq.get_client_pool': { input_pool: number; input_free: number; output_pool: number; output_free: number; output_room: number };
  /**
   * Numbered events. `src` names the sending stream ("lane/handle"); events are
   * numbered first, first+1, ... in send order; `sent` were accepted; if the
   * write failed, `refused` is the number of the event the kernel refused (its
   * errno is the action's errno) and later numbers were not attempted.
   */
  'seq.send': { src: string; first: number; sent: number; refused?: number; dest: string };
  /** Events read, in order: [src, number]; `foreign` counts events the lab did not send. */
  'seq.read': { events: [string, number][]; foreign: number };
  'ctl.write': { value: number | boolean | string; changed: boolean };
  'ctl.read': { value: (number | boolean | string)[] };
  'barrier': { generation: number };
  /** Where in the period the lane was released, measured from the DMA position. */
  'at_period': { target: number; actual: number };
  'device.detach': { card: number };
  'device.attach': { card: number };
}
