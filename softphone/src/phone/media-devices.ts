// Microphones, speakers and cameras: listing, choosing, level metering, and a
// warm microphone stream so a call does not wait for getUserMedia.

import { Emitter } from './emitter';
import type { Unsubscribe } from './emitter';
import type { AudioProcessingConfig } from './types';

export type DeviceKind = 'microphone' | 'speaker' | 'camera';

export interface DeviceInfo {
  deviceId: string;
  label: string;
  groupId: string;
}

export interface DeviceLists {
  microphones: DeviceInfo[];
  speakers: DeviceInfo[];
  cameras: DeviceInfo[];
}

/** Chosen device ids; '' means the system default. The ringer can differ from the speaker. */
export interface DeviceSelection {
  microphone: string;
  speaker: string;
  ringer: string;
  camera: string;
}

export interface DeviceManagerEvents {
  change: DeviceLists;
  selection: DeviceSelection;
}

export interface DeviceManagerOptions {
  /** Keep the last microphone stream open this long after use, ms; 0 = close at once. */
  warmMicrophoneMs?: number;
  AudioContext?: typeof AudioContext;
}

type MediaDevicesLike = Pick<
  MediaDevices,
  'getUserMedia' | 'enumerateDevices' | 'addEventListener' | 'removeEventListener'
> &
  Partial<Pick<MediaDevices, 'getDisplayMedia'>>;

function processingKey(deviceId: string, p: AudioProcessingConfig): string {
  return `${deviceId}|${p.echoCancellation}|${p.noiseSuppression}|${p.autoGainControl}`;
}

export class DeviceManager {
  private readonly emitter = new Emitter<DeviceManagerEvents>();
  private _selection: DeviceSelection = { microphone: '', speaker: '', ringer: '', camera: '' };
  private _lists: DeviceLists = { microphones: [], speakers: [], cameras: [] };
  private warm: { stream: MediaStream; key: string } | undefined;
  private warmTimer: ReturnType<typeof setTimeout> | undefined;
  private listening = false;
  private readonly warmMs: number;
  private readonly onDeviceChange = () => {
    void this.enumerate();
  };

  constructor(
    private readonly mediaDevices: MediaDevicesLike | undefined = globalThis.navigator
      ?.mediaDevices,
    private readonly options: DeviceManagerOptions = {},
  ) {
    this.warmMs = options.warmMicrophoneMs ?? 30_000;
  }

  on<K extends keyof DeviceManagerEvents>(
    event: K,
    fn: (payload: DeviceManagerEvents[K]) => void,
  ): Unsubscribe {
    return this.emitter.on(event, fn);
  }

  get selection(): Readonly<DeviceSelection> {
    return this._selection;
  }

  get lists(): Readonly<DeviceLists> {
    return this._lists;
  }

  private requireDevices(): MediaDevicesLike {
    if (!this.mediaDevices) {
      // navigator.mediaDevices only exists in secure contexts (https or localhost).
      throw new Error('media devices unavailable (page is not a secure context?)');
    }
    return this.mediaDevices;
  }

  /** Lists devices and starts following `devicechange`. Labels are empty until a permission grant. */
  async enumerate(): Promise<DeviceLists> {
    const md = this.requireDevices();
    if (!this.listening) {
      md.addEventListener('devicechange', this.onDeviceChange);
      this.listening = true;
    }
    const all = await md.enumerateDevices();
    const pick = (kind: MediaDeviceKind): DeviceInfo[] =>
      all
        .filter((d) => d.kind === kind)
        .map((d) => ({ deviceId: d.deviceId, label: d.label, groupId: d.groupId }));
    this._lists = {
      microphones: pick('audioinput'),
      speakers: pick('audiooutput'),
      cameras: pick('videoinput'),
    };
    // A chosen device that was unplugged falls back to the system default.
    const fallback = (id: string, list: DeviceInfo[]) =>
      id && !list.some((d) => d.deviceId === id) ? '' : id;
    const next: DeviceSelection = {
      microphone: fallback(this._selection.microphone, this._lists.microphones),
      speaker: fallback(this._selection.speaker, this._lists.speakers),
      ringer: fallback(this._selection.ringer, this._lists.speakers),
      camera: fallback(this._selection.camera, this._lists.cameras),
    };
    this.emitter.emit('change', this._lists);
    if (JSON.stringify(next) !== JSON.stringify(this._selection)) this.applySelection(next);
    return this._lists;
  }

  /** Asks for microphone (and camera) permission so that enumerate() returns labels. */
  async requestPermission(video = false): Promise<void> {
    const stream = await this.requireDevices().getUserMedia({ audio: true, video });
    stream.getTracks().forEach((t) => t.stop());
    await this.enumerate();
  }

  select(kind: DeviceKind | 'ringer', deviceId: string): void {
    this.applySelection({ ...this._selection, [kind]: deviceId });
  }

  private applySelection(next: DeviceSelection): void {
    if (next.microphone !== this._selection.microphone) this.releaseWarmMicrophone();
    this._selection = next;
    this.emitter.emit('selection', this._selection);
  }

  audioConstraints(
    processing: AudioProcessingConfig,
    deviceId = this._selection.microphone,
  ): MediaTrackConstraints {
    return {
      ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
      echoCancellation: processing.echoCancellation,
      noiseSuppression: processing.noiseSuppression,
      autoGainControl: processing.autoGainControl,
    };
  }

  videoConstraints(deviceId = this._selection.camera): MediaTrackConstraints {
    return {
      ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
      width: { ideal: 1280 },
      height: { ideal: 720 },
      frameRate: { ideal: 30 },
    };
  }

  /**
   * A microphone track for one call. It is a clone of a kept-open ("warm")
   * stream: the call does not pay for getUserMedia (often 100+ ms), and stopping
   * the clone at hang-up leaves the warm source for the next call.
   */
  async acquireMicrophone(
    processing: AudioProcessingConfig,
    deviceId?: string,
  ): Promise<MediaStreamTrack> {
    const id = deviceId ?? this._selection.microphone;
    const key = processingKey(id, processing);
    let source = this.warm?.key === key ? this.warm.stream.getAudioTracks()[0] : undefined;
    if (!source || source.readyState !== 'live') {
      const stream = await this.requireDevices().getUserMedia({
        audio: this.audioConstraints(processing, id),
        video: false,
      });
      this.releaseWarmMicrophone();
      this.warm = { stream, key };
      source = stream.getAudioTracks()[0];
      if (!source) throw new Error('getUserMedia returned no audio track');
    }
    this.scheduleWarmRelease();
    return source.clone();
  }

  /** Opens the microphone ahead of a call (dial pad focused, incoming INVITE ringing). */
  async warmUp(processing: AudioProcessingConfig): Promise<void> {
    const track = await this.acquireMicrophone(processing);
    track.stop();
  }

  /** Closes the warm stream; the browser's recording indicator goes off. */
  releaseWarmMicrophone(): void {
    if (this.warmTimer !== undefined) clearTimeout(this.warmTimer);
    this.warmTimer = undefined;
    this.warm?.stream.getTracks().forEach((t) => t.stop());
    this.warm = undefined;
  }

  private scheduleWarmRelease(): void {
    if (this.warmTimer !== undefined) clearTimeout(this.warmTimer);
    this.warmTimer = setTimeout(() => this.releaseWarmMicrophone(), this.warmMs);
  }

  async acquireCamera(deviceId?: string): Promise<MediaStreamTrack> {
    const stream = await this.requireDevices().getUserMedia({
      audio: false,
      video: this.videoConstraints(deviceId ?? this._selection.camera),
    });
    const track = stream.getVideoTracks()[0];
    if (!track) throw new Error('getUserMedia returned no video track');
    return track;
  }

  async acquireScreen(): Promise<MediaStreamTrack> {
    const md = this.requireDevices();
    if (!md.getDisplayMedia) throw new Error('screen sharing is not supported by this browser');
    const stream = await md.getDisplayMedia({ video: true, audio: false });
    const track = stream.getVideoTracks()[0];
    if (!track) throw new Error('getDisplayMedia returned no video track');
    // Hint the encoder to keep text sharp rather than motion smooth.
    if ('contentHint' in track) track.contentHint = 'detail';
    return track;
  }

  /**
   * Routes an <audio>/<video> element to a speaker. Returns false where the
   * browser cannot choose an output (setSinkId missing), so the UI can say so.
   */
  static async setSinkId(element: HTMLMediaElement, deviceId: string): Promise<boolean> {
    const el = element as HTMLMediaElement & { setSinkId?: (id: string) => Promise<void> };
    if (typeof el.setSinkId !== 'function') return false;
    await el.setSinkId(deviceId);
    return true;
  }

  /** Level meter on the selected (or given) stream; see LevelMeter. */
  createLevelMeter(stream: MediaStream): LevelMeter {
    return new LevelMeter(stream, this.options.AudioContext);
  }

  dispose(): void {
    this.releaseWarmMicrophone();
    if (this.listening) this.mediaDevices?.removeEventListener('devicechange', this.onDeviceChange);
    this.listening = false;
    this.emitter.clear();
  }
}

/**
 * Microphone level 0..1 from an AnalyserNode: RMS of the time-domain signal,
 * mapped from −60..0 dBFS onto 0..1, which follows loudness as heard far
 * better than raw RMS does.
 */
export class LevelMeter {
  private readonly context: AudioContext;
  private readonly source: MediaStreamAudioSourceNode;
  private readonly analyser: AnalyserNode;
  private readonly buffer: Float32Array<ArrayBuffer>;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    stream: MediaStream,
    AudioContextCtor: typeof AudioContext | undefined = globalThis.AudioContext,
  ) {
    if (!AudioContextCtor) throw new Error('Web Audio is not available');
    this.context = new AudioContextCtor();
    this.source = this.context.createMediaStreamSource(stream);
    this.analyser = this.context.createAnalyser();
    this.analyser.fftSize = 1024;
    this.buffer = new Float32Array(this.analyser.fftSize);
    this.source.connect(this.analyser);
  }

  static levelFromSamples(samples: ArrayLike<number>): number {
    let sum = 0;
    for (let i = 0; i < samples.length; i++) sum += (samples[i] ?? 0) ** 2;
    const rms = Math.sqrt(sum / Math.max(1, samples.length));
    if (rms <= 0) return 0;
    const dbfs = 20 * Math.log10(rms);
    return Math.min(1, Math.max(0, (dbfs + 60) / 60));
  }

  level(): number {
    this.analyser.getFloatTimeDomainData(this.buffer);
    return LevelMeter.levelFromSamples(this.buffer);
  }

  /** Calls fn with the level every intervalMs until stop(). */
  onLevel(fn: (level: number) => void, intervalMs = 100): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = setInterval(() => fn(this.level()), intervalMs);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.source.disconnect();
    void this.context.close();
  }
}
