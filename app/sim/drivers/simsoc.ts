// An ASoC card with Dynamic PCM: front end "MultiMedia1" routed by DAPM
// mixer switches to back ends "SSP0-Codec" (speaker) and "SSP1-Codec"
// (headphone). Flipping a switch while the stream runs re-routes the FE
// through snd_soc_dpcm_runtime_update(), the path of seed 001.
import type { Kernel } from '../kernel/kernel.js';
import { mutexLock, mutexUnlock } from '../kernel/sync.js';
import type { KGen } from '../kernel/task.js';
import { SndCard } from '../core/card.js';
import { type SndKcontrol, addControl, controlDevice } from '../core/control.js';
import { pcmDevice } from './pcm_device.js';
import { attachTimerDma, timerDmaOps, timerDmaTrigger } from './timer_dma.js';
import { INFO_INTERLEAVED, INFO_MMAP, INFO_PAUSE, type SndPcmHardware, type SndPcmOps, SndPcm, type Trigger } from '../pcm/pcm_types.js';
import { DpcmState, SocCard, SocPcmRuntime, dpcm_fe_close, dpcm_fe_dai_trigger, dpcm_fe_open, dpcm_fe_set_state, snd_soc_dpcm_runtime_update } from '../soc/soc-dpcm.js';

export const SIMSOC_HARDWARE: SndPcmHardware = {
  info: INFO_MMAP | INFO_INTERLEAVED | INFO_PAUSE,
  formats: ['S16_LE', 'S32_LE'],
  rate_min: 8000,
  rate_max: 48000,
  rates: [8000, 16000, 32000, 44100, 48000],
  channels_min: 2,
  channels_max: 2,
  buffer_bytes_max: 128 * 1024,
  period_bytes_min: 256,
  period_bytes_max: 64 * 1024,
  periods_min: 2,
  periods_max: 32,
};

const ROUTES: [string, string][] = [
  ['Speaker Switch', 'SSP0-Codec'],
  ['Headphone Switch', 'SSP1-Codec'],
];

export function createSimSocCard(k: Kernel, index: number): SndCard {
  const card = new SndCard(index, 'SimSoC', 'simsoc', 'SimSoC', 'Audio Stress Lab simulated ASoC card (DPCM)');
  const soc = new SocCard();
  const fe = new SocPcmRuntime('MultiMedia1', true);
  soc.fes.push(fe);
  for (const [, be] of ROUTES) soc.bes.push(new SocPcmRuntime(be, false));
  soc.routes.set('SSP0-Codec', true);
  soc.routes.set('SSP1-Codec', false);

  const base = timerDmaOps(SIMSOC_HARDWARE, 'simsoc');
  const feDma = () => (cmd: Trigger) => timerDmaTrigger(k, fe.substream!, cmd);
  const ops: SndPcmOps = {
    ...base,
    *open(kk, s) {
      const r = yield* base.open(kk, s);
      fe.substream = s;
      yield* dpcm_fe_open(kk, soc, fe);
      return r;
    },
    *close(kk, s) {
      const r = yield* base.close(kk, s);
      yield* dpcm_fe_close(kk, soc, fe);
      return r;
    },
    *hw_params(kk) {
      yield* dpcm_fe_set_state(kk, soc, fe, DpcmState.HW_PARAMS, DpcmState.HW_PARAMS, 'hw_params');
      return 0;
    },
    *hw_free(kk) {
      yield* dpcm_fe_set_state(kk, soc, fe, DpcmState.HW_FREE, DpcmState.HW_FREE, 'hw_free');
      return 0;
    },
    *prepare(kk, s) {
      const r = yield* base.prepare(kk, s);
      yield* dpcm_fe_set_state(kk, soc, fe, DpcmState.PREPARE, DpcmState.PREPARE, 'prepare');
      return r;
    },
    *trigger(kk, _s, cmd) {
      const r = yield* dpcm_fe_dai_trigger(kk, fe, cmd, feDma());
      fe.state = cmd === 1 ? DpcmState.START : DpcmState.STOP;
      return r;
    },
  };
  const pcm = new SndPcm(card, 0, 'MultiMedia1 (*)', 'MultiMedia1 (*)', 1, 0, [ops, undefined]);
  attachTimerDma(pcm.streams[0][0]!, { callback: 'simsoc_dma_irq' });
  card.pcms.push(pcm);
  card.devices.push(controlDevice(), pcmDevice(k, pcm));
  for (const [ctl, be] of ROUTES) {
    addControl(card, {
      name: ctl,
      type: 'BOOLEAN',
      count: 1,
      init: [soc.routes.get(be)!],
      put: function* snd_soc_dapm_put_volsw(kk: Kernel, kc: SndKcontrol, values: (number | boolean)[]): KGen<number> {
        yield* mutexLock(kk, soc.dapm_mutex, 'snd_soc_dapm_put_volsw: mutex_lock(&card->dapm_mutex)', ['snd_soc_dapm_put_volsw', 'snd_ctl_elem_write']);
        const on = Boolean(values[0]);
        const changed = on !== kc.value[0];
        kc.value = [on];
        soc.routes.set(be, on);
        mutexUnlock(kk, soc.dapm_mutex);
        if (changed) yield* snd_soc_dpcm_runtime_update(kk, soc, () => feDma());
        return changed ? 1 : 0;
      },
    });
  }
  k.snd.cards[index] = card;
  return card;
}
