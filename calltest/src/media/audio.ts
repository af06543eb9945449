// Decoding G.711 payloads and finding what they sound like: the dominant
// frequency (FFT), the level, and the longest silence. G.711 decoding and a
// radix-2 FFT are a few lines each and no maintained npm package does both
// without pulling in an audio framework, so they are written here.

/** ITU-T G.711 u-law byte → linear 16-bit sample. */
export function ulawToLinear(u: number): number {
  const x = ~u & 0xff;
  const sign = x & 0x80;
  const exponent = (x >> 4) & 0x07;
  const mantissa = x & 0x0f;
  const magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
  return sign ? -magnitude : magnitude;
}

/** ITU-T G.711 A-law byte → linear 16-bit sample. */
export function alawToLinear(a: number): number {
  const x = a ^ 0x55;
  const sign = x & 0x80;
  const exponent = (x >> 4) & 0x07;
  const mantissa = x & 0x0f;
  let magnitude =
    exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  magnitude = Math.min(magnitude, 32767);
  return sign ? magnitude : -magnitude;
}

export function decodeG711(payload: Uint8Array, pt: number): Float32Array {
  const out = new Float32Array(payload.length);
  const f = pt === 8 ? alawToLinear : ulawToLinear;
  for (let i = 0; i < payload.length; i++) out[i] = f(payload[i]!) / 32768;
  return out;
}

function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const cr = Math.cos(ang * k);
        const ci = Math.sin(ang * k);
        const a = i + k;
        const b = a + len / 2;
        const tr = re[b]! * cr - im[b]! * ci;
        const ti = re[b]! * ci + im[b]! * cr;
        re[b] = re[a]! - tr;
        im[b] = im[a]! - ti;
        re[a] = re[a]! + tr;
        im[a] = im[a]! + ti;
      }
    }
  }
}

/** Dominant frequency (Hz) and RMS (0..1) of 8 kHz samples: Hann-windowed FFTs of 1024, magnitudes averaged. */
export function dominantFrequency(samples: Float32Array, rate = 8000): { hz: number; rms: number } {
  const N = 1024;
  let sum = 0;
  for (const v of samples) sum += v * v;
  const rms = samples.length ? Math.sqrt(sum / samples.length) : 0;
  const mags = new Float64Array(N / 2);
  let frames = 0;
  for (let off = 0; off + N <= samples.length; off += N / 2) {
    const re = new Float64Array(N);
    const im = new Float64Array(N);
    for (let i = 0; i < N; i++)
      re[i] = samples[off + i]! * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (N - 1)));
    fft(re, im);
    for (let k = 1; k < N / 2; k++) mags[k] = mags[k]! + Math.hypot(re[k]!, im[k]!);
    frames++;
  }
  if (!frames) return { hz: 0, rms };
  let best = 1;
  for (let k = 1; k < N / 2; k++) if (mags[k]! > mags[best]!) best = k;
  // parabolic interpolation between bins for a finer estimate
  const a = mags[best - 1] ?? 0;
  const b = mags[best]!;
  const c = mags[best + 1] ?? 0;
  const den = a - 2 * b + c;
  const shift = den !== 0 ? (0.5 * (a - c)) / den : 0;
  return { hz: Math.round(((best + shift) * rate) / N), rms };
}

/** RMS below this (about -50 dBFS) counts as silence. */
export const SILENCE_RMS = 0.003;
