// Test doubles for the browser media boundary: tracks, streams, getUserMedia
// and an RTCPeerConnection that produces SDP reflecting its transceivers'
// directions (so hold/unhold and ICE restarts are visible in the SIP bodies).

type Listener = (ev: Event) => void;

class FakeEventTarget {
  private listeners = new Map<string, Set<Listener>>();
  addEventListener(type: string, fn: Listener): void {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)?.add(fn);
  }
  removeEventListener(type: string, fn: Listener): void {
    this.listeners.get(type)?.delete(fn);
  }
  dispatch(type: string, props: Record<string, unknown> = {}): void {
    const ev = Object.assign(new Event(type), props);
    for (const fn of [...(this.listeners.get(type) ?? [])]) fn(ev);
  }
}

let trackSeq = 0;

export class FakeTrack extends FakeEventTarget {
  readonly id = `track-${++trackSeq}`;
  enabled = true;
  readyState: 'live' | 'ended' = 'live';
  contentHint = '';
  constructor(
    readonly kind: 'audio' | 'video',
    readonly label = `${kind} device`,
  ) {
    super();
  }
  clone(): FakeTrack {
    return new FakeTrack(this.kind, this.label);
  }
  stop(): void {
    this.readyState = 'ended';
  }
}

export class FakeMediaStream {
  private tracks: FakeTrack[];
  constructor(tracks: FakeTrack[] = []) {
    this.tracks = [...tracks];
  }
  getTracks(): FakeTrack[] {
    return [...this.tracks];
  }
  getAudioTracks(): FakeTrack[] {
    return this.tracks.filter((t) => t.kind === 'audio');
  }
  getVideoTracks(): FakeTrack[] {
    return this.tracks.filter((t) => t.kind === 'video');
  }
  getTrackById(id: string): FakeTrack | null {
    return this.tracks.find((t) => t.id === id) ?? null;
  }
  addTrack(t: FakeTrack): void {
    if (!this.tracks.includes(t)) this.tracks.push(t);
  }
  removeTrack(t: FakeTrack): void {
    this.tracks = this.tracks.filter((x) => x !== t);
  }
}

export class FakeMediaDevices extends FakeEventTarget {
  getUserMediaCalls: MediaStreamConstraints[] = [];
  async getUserMedia(constraints: MediaStreamConstraints): Promise<FakeMediaStream> {
    this.getUserMediaCalls.push(constraints);
    const tracks: FakeTrack[] = [];
    if (constraints.audio) tracks.push(new FakeTrack('audio', 'Fake microphone'));
    if (constraints.video) tracks.push(new FakeTrack('video', 'Fake camera'));
    return new FakeMediaStream(tracks);
  }
  async getDisplayMedia(): Promise<FakeMediaStream> {
    return new FakeMediaStream([new FakeTrack('video', 'Screen')]);
  }
  async enumerateDevices(): Promise<MediaDeviceInfo[]> {
    return [
      { kind: 'audioinput', deviceId: 'mic-1', label: 'Mic 1', groupId: 'g1' },
      { kind: 'audioinput', deviceId: 'mic-2', label: 'Mic 2', groupId: 'g2' },
      { kind: 'audiooutput', deviceId: 'spk-1', label: 'Speaker 1', groupId: 'g1' },
      { kind: 'videoinput', deviceId: 'cam-1', label: 'Camera 1', groupId: 'g3' },
    ] as MediaDeviceInfo[];
  }
}

export class FakeDtmfSender {
  canInsertDTMF = true;
  inserted: { tones: string; duration: number; gap: number }[] = [];
  insertDTMF(tones: string, duration: number, gap: number): void {
    this.inserted.push({ tones, duration, gap });
  }
}

/** The ICE transport under a call's media: its selected pair can be moved by a test. */
export class FakeIceTransport extends FakeEventTarget {
  private pair: { local: Partial<RTCIceCandidate>; remote: Partial<RTCIceCandidate> } | null = null;
  getSelectedCandidatePair() {
    return this.pair;
  }
  /** The browser selects another candidate pair (by itself, e.g. its host path died). */
  selectPair(localPort: number, type: RTCIceCandidateType = 'host'): void {
    this.pair = {
      local: { address: '192.0.2.1', port: localPort, type },
      remote: { address: '127.0.0.1', port: 40000, type: 'host' },
    };
    this.dispatch('selectedcandidatepairchange');
  }
}

class FakeSender {
  readonly dtmf: FakeDtmfSender | null;
  transport: { iceTransport: FakeIceTransport } | null = null;
  constructor(
    public track: FakeTrack | null,
    kind: string,
  ) {
    this.dtmf = kind === 'audio' ? new FakeDtmfSender() : null;
  }
  async replaceTrack(track: FakeTrack | null): Promise<void> {
    this.track = track;
  }
}

class FakeTransceiver {
  direction: RTCRtpTransceiverDirection;
  currentDirection: RTCRtpTransceiverDirection | null = null;
  readonly sender: FakeSender;
  readonly receiver: { track: FakeTrack; transport: null };
  constructor(
    readonly kind: 'audio' | 'video',
    readonly mid: string,
    track: FakeTrack | null,
    direction: RTCRtpTransceiverDirection,
  ) {
    this.direction = direction;
    this.sender = new FakeSender(track, kind);
    this.receiver = { track: new FakeTrack(kind, 'remote'), transport: null };
  }
}

const REVERSE: Record<string, RTCRtpTransceiverDirection> = {
  sendrecv: 'sendrecv',
  sendonly: 'recvonly',
  recvonly: 'sendonly',
  inactive: 'inactive',
};

function intersect(
  local: RTCRtpTransceiverDirection,
  remoteOffered: string,
): RTCRtpTransceiverDirection {
  const canSend =
    (local === 'sendrecv' || local === 'sendonly') &&
    (remoteOffered === 'sendrecv' || remoteOffered === 'recvonly');
  const canRecv =
    (local === 'sendrecv' || local === 'recvonly') &&
    (remoteOffered === 'sendrecv' || remoteOffered === 'sendonly');
  return canSend && canRecv ? 'sendrecv' : canSend ? 'sendonly' : canRecv ? 'recvonly' : 'inactive';
}

export class FakeRTCPeerConnection extends FakeEventTarget {
  static instances: FakeRTCPeerConnection[] = [];
  signalingState: RTCSignalingState = 'stable';
  iceGatheringState: RTCIceGatheringState = 'new';
  iceConnectionState: RTCIceConnectionState = 'new';
  localDescription: { type: RTCSdpType; sdp: string } | null = null;
  remoteDescription: { type: RTCSdpType; sdp: string } | null = null;
  offerOptions: (RTCOfferOptions | undefined)[] = [];
  closed = false;
  /** Makes the next setRemoteDescription(answer) fail with this message (an answer the browser refuses). */
  refuseNextAnswer: string | undefined;
  /** Every rollback of a local offer. */
  rollbacks = 0;
  private transceivers: FakeTransceiver[] = [];
  private ufrag = 'ufrag0';
  private restarts = 0;
  private remoteDirections = new Map<string, string>();
  private previousLocal: { type: RTCSdpType; sdp: string } | null = null;

  constructor(readonly configuration: RTCConfiguration = {}) {
    super();
    FakeRTCPeerConnection.instances.push(this);
  }

  getTransceivers(): FakeTransceiver[] {
    return [...this.transceivers];
  }

  addTransceiver(track: FakeTrack, init: RTCRtpTransceiverInit = {}): FakeTransceiver {
    const t = new FakeTransceiver(
      track.kind,
      String(this.transceivers.length),
      track,
      init.direction ?? 'sendrecv',
    );
    this.transceivers.push(t);
    return t;
  }

  private sdp(directions: (t: FakeTransceiver) => RTCRtpTransceiverDirection): string {
    const lines = ['v=0', 'o=- 4611731400430051336 2 IN IP4 127.0.0.1', 's=-', 't=0 0'];
    lines.push(`a=group:BUNDLE ${this.transceivers.map((t) => t.mid).join(' ')}`);
    for (const t of this.transceivers) {
      lines.push(
        t.kind === 'audio'
          ? 'm=audio 9 UDP/TLS/RTP/SAVPF 111 101'
          : 'm=video 9 UDP/TLS/RTP/SAVPF 96',
        'c=IN IP4 0.0.0.0',
        `a=mid:${t.mid}`,
        `a=ice-ufrag:${this.ufrag}`,
        'a=ice-pwd:0123456789abcdefghijklmn',
        'a=fingerprint:sha-256 AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99',
        'a=setup:actpass',
        t.kind === 'audio' ? 'a=rtpmap:111 opus/48000/2' : 'a=rtpmap:96 VP8/90000',
        ...(t.kind === 'audio' ? ['a=rtpmap:101 telephone-event/8000'] : []),
        `a=${directions(t)}`,
        'a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host',
      );
    }
    return lines.join('\r\n') + '\r\n';
  }

  async createOffer(options?: RTCOfferOptions): Promise<RTCSessionDescriptionInit> {
    this.offerOptions.push(options);
    if (options?.iceRestart) this.ufrag = `ufrag${++this.restarts}`;
    return { type: 'offer', sdp: this.sdp((t) => t.direction) };
  }

  async createAnswer(): Promise<RTCSessionDescriptionInit> {
    return {
      type: 'answer',
      sdp: this.sdp((t) => intersect(t.direction, this.remoteDirections.get(t.mid) ?? 'sendrecv')),
    };
  }

  async setLocalDescription(desc: RTCSessionDescriptionInit): Promise<void> {
    if (desc.type === 'rollback') {
      if (this.signalingState !== 'have-local-offer' && this.signalingState !== 'have-remote-offer')
        throw new DOMException(
          `Called in wrong state: ${this.signalingState}`,
          'InvalidStateError',
        );
      this.rollbacks++;
      if (this.signalingState === 'have-local-offer') this.localDescription = this.previousLocal;
      this.signalingState = 'stable';
      return;
    }
    this.previousLocal = this.localDescription;
    this.localDescription = { type: desc.type, sdp: desc.sdp ?? '' };
    this.signalingState = desc.type === 'offer' ? 'have-local-offer' : 'stable';
    queueMicrotask(() => {
      this.iceGatheringState = 'gathering';
      this.dispatch('icegatheringstatechange');
      this.dispatch('icecandidate', {
        candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 50000 typ host' },
      });
      this.iceGatheringState = 'complete';
      this.dispatch('icegatheringstatechange');
      this.dispatch('icecandidate', { candidate: null });
    });
  }

  async setRemoteDescription(desc: RTCSessionDescriptionInit): Promise<void> {
    const sections = (desc.sdp ?? '').split(/\r?\nm=/).slice(1);
    if (desc.type === 'answer') {
      const refused = this.refuseNextAnswer;
      this.refuseNextAnswer = undefined;
      if (refused) throw new DOMException(refused, 'InvalidAccessError');
      // As Chromium: an answer may only send what we receive and receive what we send.
      sections.forEach((section, i) => {
        const t = this.transceivers.find((x) => x.mid === String(i));
        const theirs = /a=(sendrecv|sendonly|recvonly|inactive)/.exec(section)?.[1] ?? 'sendrecv';
        if (!t) return;
        const sends = (d: string) => d === 'sendrecv' || d === 'sendonly';
        const receives = (d: string) => d === 'sendrecv' || d === 'recvonly';
        const what =
          sends(theirs) && !receives(t.direction)
            ? 'receive'
            : receives(theirs) && !sends(t.direction)
              ? 'send'
              : undefined;
        if (what) {
          throw new DOMException(
            `Failed to set remote answer sdp: Incompatible ${what} direction`,
            'InvalidAccessError',
          );
        }
      });
    }
    this.remoteDescription = { type: desc.type, sdp: desc.sdp ?? '' };
    sections.forEach((section, i) => {
      const kind = section.startsWith('video') ? 'video' : 'audio';
      const direction = /a=(sendrecv|sendonly|recvonly|inactive)/.exec(section)?.[1] ?? 'sendrecv';
      let t = this.transceivers.find((x) => x.mid === String(i));
      if (!t && desc.type === 'offer') {
        t = new FakeTransceiver(kind, String(i), null, 'recvonly');
        this.transceivers.push(t);
      }
      if (!t) return;
      this.remoteDirections.set(t.mid, direction);
      if (desc.type === 'answer') t.currentDirection = REVERSE[direction] ?? 'sendrecv';
      this.dispatch('track', { track: t.receiver.track, transceiver: t });
    });
    this.signalingState = desc.type === 'offer' ? 'have-remote-offer' : 'stable';
  }

  /** The ICE transport the senders share (there once media is negotiated, as in a browser). */
  readonly iceTransport = new FakeIceTransport();

  setIceConnectionState(state: RTCIceConnectionState): void {
    this.iceConnectionState = state;
    for (const t of this.transceivers) t.sender.transport = { iceTransport: this.iceTransport };
    this.dispatch('iceconnectionstatechange');
  }

  async getStats(): Promise<Map<string, Record<string, unknown>>> {
    return new Map();
  }

  close(): void {
    this.closed = true;
    this.signalingState = 'closed';
  }
}

/** Casts for injecting the fakes where the DOM types are expected. */
export const fakeMediaGlobals = () => ({
  RTCPeerConnection: FakeRTCPeerConnection as unknown as typeof RTCPeerConnection,
  MediaStream: FakeMediaStream as unknown as typeof MediaStream,
});
