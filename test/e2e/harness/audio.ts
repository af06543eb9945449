import { readFileSync } from 'node:fs';

// WAV analysis for recordings made outside the browser (baresip's sndfile):
// the dominant frequency by an averaged FFT, and the RMS level.

export interface Wav {
  rate: number;
  channels: number;
  /** Mono (channels averaged), -1..1. */
  samples: Float32Array;
}

/** 16-bit PCM WAV (what sndfile writes). Tolerates a header whose data size was never filled in. */
export function readWav(file: string): Wav {
  const b = readFileSync(file);
  if (b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WAVE')
    throw new Error(`${file}: not a WAV file`);
  let off = 12;
  let rate = 0;
  let channels = 0;
  let bits = 0;
  while (off + 8 <= b.length) {
    const id = b.toString('ascii', off, off + 4);
    let size = b.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      channels = b.readUInt16LE(body + 2);
      rate = b.readUInt32LE(body + 4);
      bits = b.readUInt16LE(body + 14);
    } else if (id === 'data') {
      if (bits !== 16) throw new Error(`${file}: ${bits}-bit samples, want 16`);
      if (size === 0 || body + size > b.length) size = b.length - body;
      const frames = Math.floor(size / (2 * channels));
      const samples = new Float32Array(frames);
      for (let i = 0; i < frames; i++) {
        let sum = 0;
        for (let c = 0; c < channels; c++) sum += b.readInt16LE(body + (i * channels + c) * 2);
        samples[i] = sum / channels / 32768;
      }
      return { rate, channels, samples };
    }
    off = body + size + (size % 2);
  }
  throw new Error(`${file}: no data chunk`);
}

export interface WavState {
  /** Seconds of audio written so far (from the file's size). */
  seconds: number;
  /**
   * The writer closed the file: the RIFF and data sizes in the header match
   * the file (libsndfile fills them in only when it closes the file).
   */
  closed: boolean;
}

/** How far a WAV that may still be being written has got (16-bit PCM). */
export function wavState(file: string): WavState {
  const b = readFileSync(file);
  if (b.length < 12 || b.toString('ascii', 0, 4) !== 'RIFF') return { seconds: 0, closed: false };
  let off = 12;
  let rate = 0;
  let channels = 0;
  while (off + 8 <= b.length) {
    const id = b.toString('ascii', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ' && body + 8 <= b.length) {
      channels = b.readUInt16LE(body + 2);
      rate = b.readUInt32LE(body + 4);
    } else if (id === 'data') {
      const have = b.length - body;
      const seconds = rate && channels ? have / (2 * channels * rate) : 0;
      const closed = size > 0 && size === have && b.readUInt32LE(4) === b.length - 8;
      return { seconds, closed };
    }
    off = body + size + (size % 2);
  }
  return { seconds: 0, closed: false };
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
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = i + k;
        const b = a + len / 2;
        const tr = re[b]! * cr - im[b]! * ci;
        const ti = re[b]! * ci + im[b]! * cr;
        re[b] = re[a]! - tr;
        im[b] = im[a]! - ti;
        re[a] = re[a]! + tr;
        im[a] = im[a]! + ti;
        const ncr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = ncr;
      }
    }
  }
}

/** Dominant frequency (Hz) and RMS of `samples[fromSec..toSec]`, FFT size 4096 with a Hann window, magnitudes averaged. */
export function analyse(
  wav: Wav,
  fromSec = 0,
  toSec = Infinity,
): { hz: number; rms: number; seconds: number } {
  const start = Math.min(wav.samples.length, Math.floor(fromSec * wav.rate));
  const end = Math.min(wav.samples.length, Math.floor(toSec * wav.rate));
  const x = wav.samples.subarray(start, end);
  const N = 4096;
  let rmsSum = 0;
  for (const v of x) rmsSum += v * v;
  const rms = x.length ? Math.sqrt(rmsSum / x.length) : 0;
  const mags = new Float64Array(N / 2);
  let frames = 0;
  for (let off = 0; off + N <= x.length; off += N / 2) {
    const re = new Float64Array(N);
    const im = new Float64Array(N);
    for (let i = 0; i < N; i++)
      re[i] = x[off + i]! * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (N - 1)));
    fft(re, im);
    for (let k = 1; k < N / 2; k++) mags[k] = mags[k]! + Math.hypot(re[k]!, im[k]!);
    frames++;
  }
  let best = 1;
  for (let k = 1; k < N / 2; k++) if (mags[k]! > mags[best]!) best = k;
  return { hz: frames ? (best * wav.rate) / N : 0, rms, seconds: x.length / wav.rate };
}

/**
 * Amplitude (0..1 of full scale) of each tone in `hzs` over
 * `samples[fromSec..toSec]`, by the Goertzel algorithm on a Hann window: for a
 * mix of tones (a recording of both parties) where the dominant frequency
 * alone would hide the quieter one. A probe tone no one sends gives the floor.
 */
export function toneAmplitudes(
  wav: Wav,
  hzs: number[],
  fromSec = 0,
  toSec = Infinity,
): Record<number, number> {
  const start = Math.min(wav.samples.length, Math.max(0, Math.floor(fromSec * wav.rate)));
  const end = Math.min(wav.samples.length, Math.floor(toSec * wav.rate));
  const x = wav.samples.subarray(start, end);
  const n = x.length;
  const out: Record<number, number> = {};
  for (const hz of hzs) {
    if (n < 2) {
      out[hz] = 0;
      continue;
    }
    const coeff = 2 * Math.cos((2 * Math.PI * hz) / wav.rate);
    let s1 = 0;
    let s2 = 0;
    let windowSum = 0;
    for (let i = 0; i < n; i++) {
      const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
      windowSum += w;
      const s0 = x[i]! * w + coeff * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    // |X(f)| of a windowed sine of amplitude A is A * sum(w) / 2
    out[hz] = (2 * Math.sqrt(Math.max(power, 0))) / windowSum;
  }
  return out;
}
