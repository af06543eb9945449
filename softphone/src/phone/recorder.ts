// Records both directions of a call into one audio file: the local microphone
// and the remote stream are mixed with Web Audio, and the mix goes to a
// MediaRecorder (Opus in WebM/Ogg, whatever the browser offers).

export interface RecorderEnvironment {
  AudioContext: typeof AudioContext;
  MediaRecorder: typeof MediaRecorder;
  MediaStream: typeof MediaStream;
}

const PREFERRED_TYPES = ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/webm'];

export class CallRecorder {
  private readonly context: AudioContext;
  private readonly recorder: MediaRecorder;
  private readonly chunks: Blob[] = [];
  private readonly sources: MediaStreamAudioSourceNode[] = [];
  private result: Promise<Blob> | undefined;

  constructor(env: RecorderEnvironment, local: MediaStreamTrack[], remote: MediaStreamTrack[]) {
    if (local.length + remote.length === 0) throw new Error('nothing to record: no audio tracks');
    this.context = new env.AudioContext();
    const destination = this.context.createMediaStreamDestination();
    for (const track of [...local, ...remote]) {
      const source = this.context.createMediaStreamSource(new env.MediaStream([track]));
      source.connect(destination);
      this.sources.push(source);
    }
    const mimeType = PREFERRED_TYPES.find((t) => env.MediaRecorder.isTypeSupported(t));
    this.recorder = new env.MediaRecorder(destination.stream, mimeType ? { mimeType } : undefined);
    this.recorder.addEventListener('dataavailable', (ev) => {
      const data = (ev as BlobEvent).data;
      if (data.size > 0) this.chunks.push(data);
    });
    // Chunks every second, so a crash mid-call loses at most a second.
    this.recorder.start(1000);
  }

  get active(): boolean {
    return this.recorder.state !== 'inactive';
  }

  /** Stops (once) and resolves with the whole recording; later calls get the same Blob. */
  stop(): Promise<Blob> {
    this.result ??= new Promise<Blob>((resolve) => {
      const finish = () => {
        for (const s of this.sources) s.disconnect();
        void this.context.close();
        resolve(new Blob(this.chunks, { type: this.recorder.mimeType || 'audio/webm' }));
      };
      if (this.recorder.state === 'inactive') {
        finish();
        return;
      }
      this.recorder.addEventListener('stop', finish, { once: true });
      this.recorder.stop();
    });
    return this.result;
  }
}
