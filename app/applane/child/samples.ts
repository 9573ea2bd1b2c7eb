// Interleaved PCM buffers in PortAudio's sample formats, from and to one
// float channel: the tone and the probe go out on every channel, analysis
// reads channel 0 (as the agent's metrics.c does).
import type { PaFormat } from '../../vocabulary/ops.js';

export const PA_SAMPLE_FORMAT: Record<PaFormat, { naudiodon: number; bytes: number }> = {
  // naudiodon's sampleFormat codes (Params.h): 8/16/24/32 bit integers, 1 = float32
  S8: { naudiodon: 8, bytes: 1 },
  S16_LE: { naudiodon: 16, bytes: 2 },
  S24_3LE: { naudiodon: 24, bytes: 3 },
  S32_LE: { naudiodon: 32, bytes: 4 },
  FLOAT_LE: { naudiodon: 1, bytes: 4 },
};

const clamp = (v: number) => (v > 1 ? 1 : v < -1 ? -1 : v);

export function encodeFrames(mono: ArrayLike<number>, channels: number, format: PaFormat): Buffer {
  const bps = PA_SAMPLE_FORMAT[format].bytes;
  const b = Buffer.alloc(mono.length * channels * bps);
  let o = 0;
  for (let i = 0; i < mono.length; i++) {
    const v = clamp(mono[i]!);
    for (let c = 0; c < channels; c++, o += bps) {
      switch (format) {
        case 'S8':
          b.writeInt8(Math.round(v * 127), o);
          break;
        case 'S16_LE':
          b.writeInt16LE(Math.round(v * 32767), o);
          break;
        case 'S24_3LE':
          b.writeIntLE(Math.round(v * 8388607), o, 3);
          break;
        case 'S32_LE':
          b.writeInt32LE(Math.round(v * 2147483647), o);
          break;
        case 'FLOAT_LE':
          b.writeFloatLE(v, o);
          break;
      }
    }
  }
  return b;
}

export function decodeChannel0(buf: Buffer, channels: number, format: PaFormat): Float32Array {
  const bps = PA_SAMPLE_FORMAT[format].bytes;
  const stride = bps * channels;
  const n = Math.floor(buf.length / stride);
  const out = new Float32Array(n);
  for (let i = 0, o = 0; i < n; i++, o += stride) {
    switch (format) {
      case 'S8':
        out[i] = buf.readInt8(o) / 127;
        break;
      case 'S16_LE':
        out[i] = buf.readInt16LE(o) / 32767;
        break;
      case 'S24_3LE':
        out[i] = buf.readIntLE(o, 3) / 8388607;
        break;
      case 'S32_LE':
        out[i] = buf.readInt32LE(o) / 2147483647;
        break;
      case 'FLOAT_LE':
        out[i] = buf.readFloatLE(o);
        break;
    }
  }
  return out;
}
