// The PCM as a card device: snd_pcm_dev_disconnect() on disconnect, and
// freeing of whatever is still attached when the card goes.
import type { Kernel } from '../kernel/kernel.js';
import type { KGen } from '../kernel/task.js';
import type { SndDevice } from '../core/card.js';
import { PcmState, type SndPcm, snd_pcm_running } from '../pcm/pcm_types.js';
import { snd_pcm_stop, snd_pcm_sync_stop, snd_pcm_stream_lock, snd_pcm_stream_unlock } from '../pcm/pcm_native.js';

export function pcmDevice(_k: Kernel, pcm: SndPcm): SndDevice {
  return {
    kind: 'pcm',
    *disconnect(k: Kernel): KGen<void> {
      pcm.disconnected = true;
      k.wakeUp(pcm.open_wait);
      for (const list of pcm.streams)
        for (const s of list) {
          yield* snd_pcm_stream_lock(k, s, 'snd_pcm_dev_disconnect: lock substream');
          const rt = s.runtime;
          if (rt) {
            const r = k.use(rt, 'snd_pcm_dev_disconnect', 0xc0, 4, false, ['snd_pcm_dev_disconnect', 'snd_device_disconnect_all', 'snd_card_disconnect']);
            if (snd_pcm_running(s, r)) yield* snd_pcm_stop(k, s, r, PcmState.DISCONNECTED);
            r.state = PcmState.DISCONNECTED;
            k.wakeUp(r.sleep);
            k.wakeUp(r.tsleep);
          }
          snd_pcm_stream_unlock(k, s);
        }
      for (const list of pcm.streams) for (const s of list) yield* snd_pcm_sync_stop(k, s, false);
    },
    *free(k: Kernel): KGen<void> {
      // snd_pcm_free(): with files still open this only happens in the
      // detach-without-drain bug, and then it frees state that is in use.
      for (const list of pcm.streams)
        for (const s of list) {
          const rt = s.runtime;
          if (rt && !rt.freed) k.kfree(rt, ['snd_pcm_free', 'snd_pcm_dev_free', '__snd_device_free', 'snd_device_free_all', 'snd_card_disconnect']);
        }
      yield 'snd_pcm_free: done';
    },
  };
}
