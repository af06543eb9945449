// The one door from the stores to the telephony core. The core (and SIP.js
// under it) is loaded with a dynamic import, so it is a separate chunk that is
// not part of the first load: it is fetched in the background after start-up
// and awaited by the first action that needs it. Only types are imported
// statically. Tests replace the services with fakes (setCoreServices).
import type {
  AgentClientOptions,
  AgentCredentials,
  AgentEvents,
  AgentView,
  ContactCenterRole,
  QualitySample,
  QualityVerdict,
  SelectableAgentState,
  OwnPresence,
  Report,
  ReportQuery,
  RecordingEntry,
  SupervisorClientOptions,
  SupervisorEvents,
  Wallboard,
  MonitorMode,
  MonitorView,
  CallHandle,
  DeviceLists,
  DeviceSelection,
  IceServerConfig,
  PbxPreset,
  PbxPresetDescription,
  PhoneConfig,
  PhoneEvents,
  PresenceSubscription,
  WebSocketConstructor,
  CallOptions,
  AudioProcessingConfig,
} from '../phone';

export type Core = typeof import('../phone');

/** What the stores use of the core's Phone. */
export interface PhoneLike {
  on<K extends keyof PhoneEvents>(event: K, fn: (payload: PhoneEvents[K]) => void): () => void;
  start(): Promise<void>;
  stop(): Promise<void>;
  call(target: string, options?: CallOptions): CallHandle;
  sendMessage(target: string, text: string, contentType?: string): Promise<void>;
  subscribePresence(target: string): PresenceSubscription;
  /** BLF: the `dialog` package of `target` (→ `dialog` events). */
  subscribeDialog(target: string): PresenceSubscription;
  /** Publishes the user's own presence (sent once registered, again after reconnects). */
  setPresence(p: OwnPresence): void;
  exportTrace(): string;
  warmUp(): Promise<void>;
  /** Answer incoming calls by itself from now on (when no other call is up). */
  setAutoAnswer(on: boolean): void;
  /** STUN/TURN servers for the calls from now on. */
  setIceServers(iceServers: IceServerConfig[]): void;
  /** The SIP credentials for HTTP Digest (an HA1 per realm; the password stays in the core). */
  readonly credentials: AgentCredentials;
}

/** What the stores use of the core's AgentClient (the agent API of the gateway). */
export interface AgentClientLike {
  on<K extends keyof AgentEvents>(event: K, fn: (payload: AgentEvents[K]) => void): () => void;
  readonly view: AgentView | undefined;
  /** Roles from the last sign-in (agent, supervisor, admin). */
  readonly roles: readonly ContactCenterRole[];
  readonly supervises: readonly string[];
  /** Signs in: true for a user with any role. */
  login(): Promise<boolean>;
  bearerToken(renew?: boolean): Promise<string>;
  postQuality(sample: QualitySample): Promise<QualityVerdict>;
  connect(): Promise<void>;
  setState(state: SelectableAgentState, reason?: string): Promise<AgentView>;
  setQueue(queue: string | undefined, loggedIn: boolean): Promise<AgentView>;
  saveWrapUp(callId: string, disposition: string, notes?: string): Promise<AgentView>;
  fetchView(): Promise<AgentView>;
  stop(): void;
}

/** What the stores use of the core's SupervisorClient (the supervisor API). */
export interface SupervisorClientLike {
  on<K extends keyof SupervisorEvents>(
    event: K,
    fn: (payload: SupervisorEvents[K]) => void,
  ): () => void;
  readonly wallboard: Wallboard | undefined;
  connect(): Promise<void>;
  fetchWallboard(): Promise<Wallboard>;
  forceState(
    username: string,
    state: SelectableAgentState,
    reason?: string,
  ): Promise<Wallboard | undefined>;
  logoutAgent(username: string): Promise<Wallboard | undefined>;
  sendCaller(queueCallId: string, agent: string): Promise<Wallboard | undefined>;
  report(q?: ReportQuery): Promise<Report>;
  reportCsv(q?: ReportQuery): Promise<Blob>;
  recordings(q?: { from?: string; to?: string; queue?: string }): Promise<RecordingEntry[]>;
  recording(queueCallId: string, download?: boolean): Promise<Blob>;
  monitor(queueCallId: string, mode: MonitorMode): Promise<MonitorView>;
  stopMonitor(queueCallId: string): Promise<void>;
  stop(): void;
}

/** Listen/whisper/barge in the browser: a chunk of the core of its own. */
export const loadMonitor = () => import('../phone/monitor');

/** What the stores use of the core's Conference mixer. */
export interface ConferenceLike {
  readonly participants: CallHandle[];
  add(handle: CallHandle): void;
  remove(handle: CallHandle): void;
  end(): void;
}

export interface LevelMeterLike {
  onLevel(fn: (level: number) => void, intervalMs?: number): void;
  stop(): void;
}

/** What the stores use of the core's DeviceManager. */
export interface DeviceManagerLike {
  on(event: 'change', fn: (lists: DeviceLists) => void): () => void;
  on(event: 'selection', fn: (selection: DeviceSelection) => void): () => void;
  readonly selection: Readonly<DeviceSelection>;
  readonly lists: Readonly<DeviceLists>;
  enumerate(): Promise<DeviceLists>;
  requestPermission(video?: boolean): Promise<void>;
  select(kind: keyof DeviceSelection, deviceId: string): void;
  audioConstraints(processing: AudioProcessingConfig, deviceId?: string): MediaTrackConstraints;
  createLevelMeter(stream: MediaStream): LevelMeterLike;
  dispose(): void;
}

export interface CoreServices {
  /** `webSocket`: how the phone opens its WebSocket (e.g. taking one opened ahead of time). */
  createPhone(
    config: PhoneConfig,
    devices: DeviceManagerLike | undefined,
    webSocket?: WebSocketConstructor,
  ): Promise<PhoneLike>;
  createConference(calls: CallHandle[]): Promise<ConferenceLike>;
  createDeviceManager(): Promise<DeviceManagerLike>;
  /** Routes a media element to an output device; false where the browser cannot. */
  setSinkId(element: HTMLMediaElement, deviceId: string): Promise<boolean>;
  presets(): Promise<Readonly<Record<PbxPreset, Readonly<PbxPresetDescription>>>>;
  createAgentClient(options: AgentClientOptions): Promise<AgentClientLike>;
  createSupervisorClient(options: SupervisorClientOptions): Promise<SupervisorClientLike>;
}

let corePromise: Promise<Core> | undefined;

/** Loads the core chunk once; safe to call early to warm it. */
export function loadCore(): Promise<Core> {
  corePromise ??= import('../phone').catch((err: unknown) => {
    corePromise = undefined;
    throw err;
  });
  return corePromise;
}

export const realCoreServices: CoreServices = {
  async createPhone(config, devices, webSocket) {
    const core = await loadCore();
    return new core.Phone(config, {
      devices: devices as InstanceType<Core['DeviceManager']> | undefined,
      ...(webSocket ? { WebSocket: webSocket } : {}),
    });
  },
  async createConference(calls) {
    const core = await loadCore();
    return new core.Conference(calls);
  },
  async createDeviceManager() {
    const core = await loadCore();
    return new core.DeviceManager();
  },
  async setSinkId(element, deviceId) {
    const core = await loadCore();
    return core.DeviceManager.setSinkId(element, deviceId);
  },
  async presets() {
    return (await loadCore()).PBX_PRESETS;
  },
  async createAgentClient(options) {
    const AgentClient = await (await loadCore()).loadAgentClient();
    return new AgentClient(options);
  },
  async createSupervisorClient(options) {
    const SupervisorClient = await (await loadCore()).loadSupervisorClient();
    return new SupervisorClient(options);
  },
};

let services: CoreServices = realCoreServices;

export function coreServices(): CoreServices {
  return services;
}

/** Tests: swap the core for a fake at the boundary. */
export function setCoreServices(next: Partial<CoreServices>): void {
  services = { ...realCoreServices, ...next };
}

export function resetCoreServices(): void {
  services = realCoreServices;
}
