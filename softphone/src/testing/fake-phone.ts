// A fake of the core at its boundary (Phone, CallHandle, Conference,
// DeviceManager) for store and component tests. It records what the stores
// ask of it and lets a test drive events (incoming call, state changes).
import { vi } from 'vitest';
import type {
  AnswerOptions,
  CallEndCause,
  CallEvents,
  CallHandle,
  CallOptions,
  CallState,
  CallStats,
  CallTimestamps,
  DeviceLists,
  DeviceSelection,
  PhoneConfig,
  PhoneEvents,
  PresenceSubscription,
  OwnPresence,
  QueueCallInfo,
  TransferProgress,
} from '../phone';
import { digestHa1, type MonitorLeg } from '../phone/agent';
import type { ConferenceLike, CoreServices, DeviceManagerLike, PhoneLike } from '../stores/core';

type Listener = (payload: never) => void;

class Bus<E extends object> {
  private readonly map = new Map<keyof E, Set<Listener>>();
  on<K extends keyof E>(event: K, fn: (payload: E[K]) => void): () => void {
    const set = this.map.get(event) ?? new Set<Listener>();
    this.map.set(event, set);
    set.add(fn as Listener);
    return () => set.delete(fn as Listener);
  }
  emit<K extends keyof E>(event: K, payload: E[K]): void {
    for (const fn of [...(this.map.get(event) ?? [])]) (fn as (p: E[K]) => void)(payload);
  }
  count(event: keyof E): number {
    return this.map.get(event)?.size ?? 0;
  }
}

let seq = 0;

export function sampleStats(over: Partial<CallStats> = {}): CallStats {
  return {
    timestamp: Date.now(),
    codec: 'opus',
    bitrateKbpsIn: 40,
    bitrateKbpsOut: 38,
    rttMs: 20,
    jitterMs: 2,
    packetLossPct: 0,
    packetsReceived: 100,
    packetsLost: 0,
    rFactor: 90,
    mos: 4.3,
    candidatePair: 'host/host',
    ...over,
  };
}

export class FakeCall implements CallHandle {
  readonly id: string;
  queueCall?: QueueCallInfo;
  monitor?: MonitorLeg;
  state: CallState;
  timestamps: CallTimestamps;
  endCause?: CallEndCause;
  remoteHold = false;
  muted = false;
  video = false;
  screenSharing = false;
  recording = false;
  lastRecording?: Blob;
  autoAnswerRequested = false;
  videoOffered = false;
  transfer?: TransferProgress;
  remoteStream?: MediaStream;
  localStream?: MediaStream;
  remoteDisplayName?: string;
  stats: CallStats = sampleStats();
  private readonly bus = new Bus<CallEvents>();

  constructor(
    private readonly phone: FakePhone,
    readonly direction: 'incoming' | 'outgoing',
    readonly remoteUri: string,
  ) {
    this.id = `fake-${++seq}`;
    this.state = direction === 'incoming' ? 'incoming' : 'calling';
    this.timestamps = { createdAt: Date.now() };
  }

  on<K extends keyof CallEvents>(event: K, fn: (payload: CallEvents[K]) => void): () => void {
    return this.bus.on(event, fn);
  }

  /** Moves the call and tells the phone's listeners, as the core does. */
  set(state: CallState, extra: Partial<FakeCall> = {}): void {
    this.state = state;
    Object.assign(this, extra);
    if (state === 'established') this.timestamps.establishedAt ??= Date.now();
    if (state === 'ended') {
      this.timestamps.endedAt = Date.now();
      this.endCause ??= { reason: 'BYE', by: 'remote' };
      this.phone.emit('callUpdated', this);
      this.phone.emit('callEnded', this);
      return;
    }
    this.phone.emit('callUpdated', this);
  }

  answer = vi.fn(async (_o?: AnswerOptions) => this.set('established'));
  decline = vi.fn(async (code = 486) => {
    this.endCause = { code, reason: 'Busy Here', by: 'local' };
    this.set('ended');
  });
  hangup = vi.fn(async () => {
    this.endCause = { reason: 'Local hangup', by: 'local' };
    this.set('ended');
  });
  hold = vi.fn(async () => this.set('held'));
  unhold = vi.fn(async () => this.set('established'));
  mute = vi.fn(() => {
    this.muted = true;
    this.phone.emit('callUpdated', this);
  });
  unmute = vi.fn(() => {
    this.muted = false;
    this.phone.emit('callUpdated', this);
  });
  sendDtmf = vi.fn(async (_d: string) => undefined);
  blindTransfer = vi.fn(async (target: string): Promise<TransferProgress> => ({
    kind: 'blind',
    target,
    state: 'succeeded',
  }));
  attendedTransfer = vi.fn(async (other: CallHandle): Promise<TransferProgress> => ({
    kind: 'attended',
    target: other.remoteUri,
    state: 'succeeded',
  }));
  startVideo = vi.fn(async () => {
    this.video = true;
  });
  stopVideo = vi.fn(async () => {
    this.video = false;
  });
  switchCamera = vi.fn(async (_id: string) => undefined);
  switchMicrophone = vi.fn(async (_id: string) => undefined);
  startScreenShare = vi.fn(async () => {
    this.video = true;
    this.screenSharing = true;
  });
  stopScreenShare = vi.fn(async () => {
    this.screenSharing = false;
  });
  startRecording = vi.fn(() => {
    this.recording = true;
  });
  stopRecording = vi.fn(async () => this.finishRecording());
  /** Ends the recording as the core does: lastRecording, then the `recording` events. */
  finishRecording(): Blob {
    const blob = new Blob(['OggS-fake'], { type: 'audio/ogg' });
    this.recording = false;
    this.lastRecording = blob;
    this.bus.emit('recording', blob);
    this.phone.emit('recording', { call: this, blob });
    return blob;
  }
  getStats = vi.fn(async () => ({ ...this.stats, timestamp: Date.now() }));
  iceRestart = vi.fn(async () => undefined);
}

export class FakePhone implements PhoneLike {
  readonly bus = new Bus<PhoneEvents>();
  readonly calls: FakeCall[] = [];
  stopped = false;
  constructor(readonly config: PhoneConfig) {}

  on<K extends keyof PhoneEvents>(event: K, fn: (payload: PhoneEvents[K]) => void): () => void {
    return this.bus.on(event, fn);
  }
  emit<K extends keyof PhoneEvents>(event: K, payload: PhoneEvents[K]): void {
    this.bus.emit(event, payload);
  }

  start = vi.fn(async () => {
    this.emit('connection', { state: 'connected' });
    this.emit('registration', { state: 'registered', expiresAt: Date.now() + 600_000 });
  });
  stop = vi.fn(async () => {
    this.stopped = true;
    for (const c of this.calls.filter((x) => x.state !== 'ended')) await c.hangup();
    this.emit('registration', { state: 'unregistered' });
  });
  call = vi.fn((target: string, _options?: CallOptions) => {
    const c = new FakeCall(
      this,
      'outgoing',
      target.startsWith('sip:') ? target : `sip:${target}@localhost`,
    );
    this.calls.push(c);
    this.emit('callAdded', c);
    return c;
  });
  sendMessage = vi.fn(async (_target: string, _text: string) => undefined);
  subscribePresence = vi.fn((target: string): PresenceSubscription => ({
    target: target.startsWith('sip:') ? target : `sip:${target}@localhost`,
    unsubscribe: vi.fn(async () => undefined),
  }));
  subscribeDialog = vi.fn((target: string): PresenceSubscription => ({
    target: target.startsWith('sip:') ? target : `sip:${target}@localhost`,
    unsubscribe: vi.fn(async () => undefined),
  }));
  /** What the user published last (setPresence). */
  published: OwnPresence | undefined;
  setPresence = vi.fn((p: OwnPresence) => {
    this.published = { ...p };
  });
  exportTrace = vi.fn(() => 'exported trace');
  get credentials() {
    const username = this.config.authUser ?? /^sips?:([^@]+)@/.exec(this.config.sipUri)?.[1] ?? '';
    const password = this.config.password;
    return { username, ha1: (realm: string) => digestHa1(username, realm, password) };
  }
  warmUp = vi.fn(async () => undefined);
  autoAnswer = false;
  setAutoAnswer = vi.fn((on: boolean) => {
    this.autoAnswer = on;
  });
  setIceServers = vi.fn();

  /** A call arrives, as the core announces it: callAdded, then incomingCall. */
  ring(
    from = 'sip:1002@localhost',
    name?: string,
    queueCall?: QueueCallInfo,
    monitor?: MonitorLeg,
  ): FakeCall {
    const c = new FakeCall(this, 'incoming', from);
    c.remoteDisplayName = name;
    c.queueCall = queueCall;
    c.monitor = monitor;
    this.calls.push(c);
    this.emit('callAdded', c);
    this.emit('incomingCall', c);
    return c;
  }
}

export class FakeDeviceManager implements DeviceManagerLike {
  private readonly bus = new Bus<{ change: DeviceLists; selection: DeviceSelection }>();
  selection: DeviceSelection = { microphone: '', speaker: '', ringer: '', camera: '' };
  lists: DeviceLists = {
    microphones: [{ deviceId: 'mic1', label: 'Desk mic', groupId: 'g1' }],
    speakers: [{ deviceId: 'spk1', label: 'Speakers', groupId: 'g1' }],
    cameras: [],
  };
  on(event: 'change' | 'selection', fn: (p: never) => void): () => void {
    return this.bus.on(event, fn as never);
  }
  enumerate = vi.fn(async () => {
    this.bus.emit('change', this.lists);
    return this.lists;
  });
  requestPermission = vi.fn(async () => undefined);
  select = vi.fn((kind: keyof DeviceSelection, id: string) => {
    this.selection = { ...this.selection, [kind]: id };
    this.bus.emit('selection', this.selection);
  });
  audioConstraints = vi.fn(() => ({}));
  createLevelMeter = vi.fn(() => ({ onLevel: vi.fn(), stop: vi.fn() }));
  dispose = vi.fn();
}

export class FakeConference implements ConferenceLike {
  constructor(readonly participants: CallHandle[]) {}
  add = vi.fn((h: CallHandle) => {
    if (!this.participants.includes(h)) this.participants.push(h);
  });
  remove = vi.fn();
  end = vi.fn();
}

/** Core services backed by the fakes; `phones` collects every Phone created. */
export function fakeCore() {
  const phones: FakePhone[] = [];
  const conferences: FakeConference[] = [];
  const devices = new FakeDeviceManager();
  const services: Partial<CoreServices> = {
    createPhone: vi.fn(async (config: PhoneConfig) => {
      const p = new FakePhone(config);
      phones.push(p);
      return p;
    }),
    createConference: vi.fn(async (calls: CallHandle[]) => {
      const c = new FakeConference([...calls]);
      conferences.push(c);
      return c;
    }),
    createDeviceManager: vi.fn(async () => devices),
    setSinkId: vi.fn(async () => true),
  };
  return { phones, conferences, devices, services };
}

export const CLIENT_CONFIG = {
  domain: 'localhost',
  wsUrl: 'wss://127.0.0.1:8443/ws',
  iceServers: [{ urls: ['turn:127.0.0.1:3478?transport=udp'], username: 'u', credential: 'c' }],
  demoAccounts: [
    { username: '1001', password: 'demo-1001-pw', displayName: 'Alice' },
    { username: '1002', password: 'demo-1002-pw', displayName: 'Bob' },
  ],
  services: { echo: '9196', tone: '9198' },
};

/** Makes fetch('api/client-config') answer with `body`, or fail (network error) when body is null. */
export function mockClientConfig(body: unknown = CLIENT_CONFIG): void {
  vi.stubGlobal(
    'fetch',
    vi.fn(async () => {
      if (body === null) throw new TypeError('Failed to fetch');
      return new Response(JSON.stringify(body), {
        status: 200,
        headers: { 'Content-Type': 'application/json' },
      });
    }),
  );
}
