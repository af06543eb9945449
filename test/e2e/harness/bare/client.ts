// A bare SIP.js UserAgent, bundled by ../bare.ts and injected into a page on the
// gateway's origin. Two uses: the benchmark's baseline (what SIP.js alone costs in
// the same browser against the same stack) and a reference client for the e2e
// tests that need a browser endpoint independent of the softphone UI.
import {
  Inviter,
  Registerer,
  RegistererState,
  SessionState,
  UserAgent,
  type Invitation,
  type Session,
} from 'sip.js';

interface BareEvents {
  [name: string]: number;
}

const MIC: MediaStreamConstraints = {
  audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  video: false,
};

class BarePhone {
  ua?: UserAgent;
  registerer?: Registerer;
  session?: Session;
  incoming?: Invitation;
  /** performance.now() stamps of what happened, for the benchmark. */
  t: BareEvents = {};
  audio = document.createElement('audio');
  log: string[] = [];

  constructor() {
    this.audio.autoplay = true;
    this.audio.setAttribute('data-testid', 'bare-remote-audio');
    document.body.appendChild(this.audio);
  }

  /** `server`: the gateway's WSS URL when the page is not served by the gateway itself. */
  async register(
    user: string,
    password: string,
    domain = 'localhost',
    server = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`,
  ): Promise<number> {
    const t0 = performance.now();
    this.t.registerStart = t0;
    const uri = UserAgent.makeURI(`sip:${user}@${domain}`);
    if (!uri) throw new Error('bad uri');
    this.ua = new UserAgent({
      uri,
      authorizationUsername: user,
      authorizationPassword: password,
      transportOptions: { server },
      logLevel: 'warn',
      sessionDescriptionHandlerFactoryOptions: {
        peerConnectionConfiguration: { iceServers: [] },
        iceGatheringTimeout: 500,
      },
      delegate: {
        onInvite: (inv) => {
          this.t.invite = performance.now();
          this.incoming = inv;
          this.track(inv);
        },
      },
    });
    await this.ua.start();
    this.registerer = new Registerer(this.ua, { expires: 300 });
    const registered = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('register timeout')), 10_000);
      this.registerer!.stateChange.addListener((s) => {
        if (s === RegistererState.Registered) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await this.registerer.register();
    await registered;
    this.t.registered = performance.now();
    return this.t.registered - t0;
  }

  private track(s: Session): void {
    this.session = s;
    s.stateChange.addListener((st) => {
      this.log.push(`session ${st}`);
      if (st === SessionState.Established) {
        this.t.established = performance.now();
        this.attach();
      }
      if (st === SessionState.Terminated) this.t.terminated = performance.now();
    });
  }

  private attach(): void {
    const stream = this.remoteStream();
    if (stream) {
      this.audio.srcObject = stream;
      void this.audio.play().catch(() => undefined);
    }
  }

  pc(): RTCPeerConnection | undefined {
    return (
      this.session?.sessionDescriptionHandler as unknown as { peerConnection?: RTCPeerConnection }
    )?.peerConnection;
  }

  remoteStream(): MediaStream | undefined {
    return (
      this.session?.sessionDescriptionHandler as unknown as { remoteMediaStream?: MediaStream }
    )?.remoteMediaStream;
  }

  /** Starts a call; resolves at the first 18x (ms since click), or on 200 if no 18x came. */
  async call(
    target: string,
    domain = 'localhost',
  ): Promise<{ ringingMs?: number; status?: number }> {
    if (!this.ua) throw new Error('not registered');
    const uri = UserAgent.makeURI(`sip:${target}@${domain}`);
    if (!uri) throw new Error('bad target');
    const t0 = performance.now();
    this.t.callStart = t0;
    delete this.t.ringing;
    delete this.t.established;
    const inviter = new Inviter(this.ua, uri, {
      sessionDescriptionHandlerOptions: { constraints: MIC },
    });
    this.track(inviter);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('no provisional/final response in 10 s')),
        10_000,
      );
      inviter
        .invite({
          requestDelegate: {
            onProgress: (r) => {
              if ((r.message.statusCode ?? 0) >= 180 && this.t.ringing === undefined) {
                this.t.ringing = performance.now();
                clearTimeout(timer);
                resolve({ ringingMs: this.t.ringing - t0, status: r.message.statusCode });
              }
            },
            onAccept: (r) => {
              clearTimeout(timer);
              resolve({
                ringingMs: this.t.ringing === undefined ? undefined : this.t.ringing - t0,
                status: r.message.statusCode,
              });
            },
            onReject: (r) => {
              clearTimeout(timer);
              reject(new Error(`rejected ${r.message.statusCode}`));
            },
          },
        })
        .catch((e: unknown) => {
          clearTimeout(timer);
          reject(e instanceof Error ? e : new Error(String(e)));
        });
    });
  }

  async answer(): Promise<void> {
    if (!this.incoming) throw new Error('no incoming call');
    this.t.answer = performance.now();
    await this.incoming.accept({ sessionDescriptionHandlerOptions: { constraints: MIC } });
  }

  async hangup(): Promise<void> {
    const s = this.session;
    if (!s) return;
    if (s.state === SessionState.Established) await s.bye();
    else if (s instanceof Inviter && s.state === SessionState.Establishing) await s.cancel();
    else if (s === this.incoming && s.state === SessionState.Initial)
      await (s as Invitation).reject();
  }

  async stop(): Promise<void> {
    await this.registerer?.unregister().catch(() => undefined);
    await this.ua?.stop();
  }
}

(window as unknown as { bare: BarePhone }).bare = new BarePhone();
