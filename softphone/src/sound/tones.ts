// Locally generated tones (ringtone, ringback, speaker test): WebAudio
// oscillators fed into an <audio> element, so the output device can be chosen
// with setSinkId (the ringer may be a different device from the speaker).
// No audio files are shipped.

export interface ToneOptions {
  /** Summed sine frequencies, e.g. [440, 480] for the North American ring. */
  frequencies: number[];
  /** Cadence: on for onMs, off for offMs; offMs 0 = continuous. */
  onMs: number;
  offMs: number;
  /** Output device id; '' = system default. */
  sinkId?: string;
  /** 0..1 */
  volume?: number;
  /** Stop by itself after this long. */
  maxDurationMs?: number;
}

export interface TonePlayer {
  /** Whether the requested output device could be selected. */
  readonly sinkApplied: boolean;
  stop(): void;
}

type SinkableAudio = HTMLAudioElement & { setSinkId?: (id: string) => Promise<void> };

export function sinkIdSupported(): boolean {
  return typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
}

export async function playTone(opts: ToneOptions): Promise<TonePlayer> {
  const Ctx = globalThis.AudioContext;
  if (!Ctx) throw new Error('Web Audio is not available');
  const ctx = new Ctx();
  const gain = ctx.createGain();
  const volume = opts.volume ?? 0.2;
  gain.gain.value = 0;
  const oscillators = opts.frequencies.map((f) => {
    const o = ctx.createOscillator();
    o.type = 'sine';
    o.frequency.value = f;
    o.connect(gain);
    o.start();
    return o;
  });
  const dest = ctx.createMediaStreamDestination();
  gain.connect(dest);
  const audio = new Audio() as SinkableAudio;
  audio.autoplay = true;
  audio.srcObject = dest.stream;
  let sinkApplied = !opts.sinkId;
  if (opts.sinkId && typeof audio.setSinkId === 'function') {
    try {
      await audio.setSinkId(opts.sinkId);
      sinkApplied = true;
    } catch {
      sinkApplied = false;
    }
  }
  if (ctx.state === 'suspended') await ctx.resume().catch(() => undefined);
  await audio.play().catch(() => undefined);

  const level = volume / Math.max(1, opts.frequencies.length);
  let on = false;
  const flip = () => {
    on = opts.offMs === 0 ? true : !on;
    gain.gain.setTargetAtTime(on ? level : 0, ctx.currentTime, 0.01);
    timer = setTimeout(flip, on ? opts.onMs : opts.offMs);
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  flip();

  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    if (limit !== undefined) clearTimeout(limit);
    oscillators.forEach((o) => o.stop());
    audio.pause();
    audio.srcObject = null;
    void ctx.close();
  };
  const limit = opts.maxDurationMs ? setTimeout(stop, opts.maxDurationMs) : undefined;
  return { sinkApplied, stop };
}

/** Ringtone for incoming calls (North American ring: 440+480 Hz, 2 s on, 4 s off). */
export const RINGTONE: Omit<ToneOptions, 'sinkId'> = {
  frequencies: [440, 480],
  onMs: 2000,
  offMs: 4000,
  volume: 0.35,
};

/** Ringback while the far end rings without early media (ITU-T E.180: 425 Hz 1 s on, 4 s off). */
export const RINGBACK: Omit<ToneOptions, 'sinkId'> = {
  frequencies: [425],
  onMs: 1000,
  offMs: 4000,
  volume: 0.15,
};
