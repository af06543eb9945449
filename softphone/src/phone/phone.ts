// The Phone facade: one SIP user agent (one AOR, one WebSocket flow), its
// registration, its calls, MESSAGE and presence, reconnection and tracing.

import {
  Invitation,
  Inviter,
  Messager,
  RegistererState,
  Registerer,
  SIPExtension,
  Subscriber,
  SubscriptionState,
  UserAgent,
} from 'sip.js';
import type { LogLevel, Referral, Session, URI, UserAgentOptions } from 'sip.js';
import { digestHa1, parseMonitorHeader, parseQueueHeaders } from './agent-sip';
import type { AgentCredentials } from './agent';
import { backoffDelay } from './backoff';
import { Call } from './call';
import type { CallContext } from './call';
import { ConfigError, normalizeTarget, resolveConfig } from './config';
import type { ResolvedConfig } from './config';
import { detectAutoAnswer } from './auto-answer';
import { Emitter } from './emitter';
import type { Unsubscribe } from './emitter';
import { DeviceManager } from './media-devices';
import { MediaSession, PeerConnectionSource } from './media-session';
import type { MediaEnvironment } from './media-session';
import type { RecorderEnvironment } from './recorder';
import { TraceRecorder, redactSip, redactingLogger } from './trace';
import { SipWebSocketTransport } from './transport';
import { whenIdle } from './idle';
import type { SipWebSocketTransportOptions, WebSocketConstructor } from './transport';
import type {
  CallHandle,
  CallOptions,
  ConnectionEvent,
  PhoneConfig,
  PhoneEvents,
  DialogEvent,
  IceServerConfig,
  LineState,
  OwnPresence,
  PresenceEvent,
  PresenceSubscription,
  RegistrationEvent,
  TraceEntry,
} from './types';

export type { WebSocketConstructor } from './transport';

/** The browser boundaries, injectable so tests can fake them. Defaults are the real globals. */
export interface PhoneDependencies {
  WebSocket?: WebSocketConstructor;
  mediaDevices?: ConstructorParameters<typeof DeviceManager>[0];
  RTCPeerConnection?: typeof RTCPeerConnection;
  MediaStream?: typeof MediaStream;
  AudioContext?: typeof AudioContext;
  MediaRecorder?: typeof MediaRecorder;
  /** Share one DeviceManager between phones (or with the UI); created when absent. */
  devices?: DeviceManager;
  /** Keep the microphone open this long after use so the next call starts faster, ms. */
  warmMicrophoneMs?: number;
  random?: () => number;
  now?: () => number;
  /** SIP.js log level; 'warn' by default. Everything logged is redacted first. */
  logLevel?: LogLevel;
  log?: (level: LogLevel, category: string, message: string) => void;
}

/** A registration that failed with a SIP response (401 after credentials, 403, 503...). */
export class RegistrationError extends Error {
  override name = 'RegistrationError';
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
  }
}

/** Final responses after which retrying with the same credentials cannot help. */
const PERMANENT_REGISTER_FAILURES = new Set([401, 403, 404, 407]);

/** Reads the expires the registrar granted to our contact from a REGISTER 2xx. */
export function grantedExpires(response: string, contactUser: string): number | undefined {
  const head = response.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const contacts = head
    .split(/\r?\n/)
    .filter((l) => /^(contact|m)\s*:/i.test(l))
    .flatMap((l) => l.replace(/^[^:]*:/, '').split(/,(?=\s*(?:"[^"]*"\s*)?<)/));
  const ours = contacts.find((c) => c.includes(`:${contactUser}@`));
  const param = ours ? /;\s*expires\s*=\s*(\d+)/i.exec(ours)?.[1] : undefined;
  if (param) return Number(param);
  const header = /^expires\s*:\s*(\d+)/im.exec(head)?.[1];
  return header ? Number(header) : undefined;
}

type WatchedPackage = 'presence' | 'dialog';

interface PresenceWatch {
  aor: string;
  uri: URI;
  event: WatchedPackage;
  subscriber?: Subscriber;
  status: Pick<PresenceEvent, 'status' | 'note' | 'away'>;
  line: LineState;
  /** The presence chunk is loading for it. */
  starting?: boolean;
}

const LOG_RANK: Record<LogLevel, number> = { error: 0, warn: 1, log: 2, debug: 3 };

export class Phone {
  readonly devices: DeviceManager;
  readonly trace: TraceRecorder;

  private readonly cfg: ResolvedConfig;
  private readonly emitter = new Emitter<PhoneEvents>();
  private readonly ua: UserAgent;
  private readonly registerer: Registerer;
  private readonly mediaEnv: MediaEnvironment;
  private readonly peerConnections: PeerConnectionSource;
  private readonly recorderEnv: () => RecorderEnvironment;
  private readonly liveCalls = new Map<string, Call>();
  private readonly presenceWatches = new Set<PresenceWatch>();
  /** The presence chunk's publisher (presence.ts), loaded with the first PUBLISH. */
  private publisher: Promise<import('./presence').PresencePublisher> | undefined;
  private ownPresence: OwnPresence | undefined;
  private presenceModule: Promise<typeof import('./presence')> | undefined;
  private publishedBody: string | undefined;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly callContext: CallContext;

  private _registration: RegistrationEvent = { state: 'unregistered' };
  private _connection: ConnectionEvent = { state: 'disconnected' };
  private started = false;
  private stopping = false;
  /** Answer incoming calls by ourselves (PhoneConfig.autoAnswer, setAutoAnswer). */
  private autoAnswer: boolean;
  /** The user wants to be registered (so a lost binding is an error, not a result). */
  private wantRegistered = false;
  private unregistering = false;
  private lastRegisterFailure: { code: number; reason: string } | undefined;
  private lastGrantedExpires: number | undefined;
  private reconnectAttempt = 0;
  private reRegisterAttempt = 0;
  private microphoneId: string;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private reRegisterTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly onOnline = () => {
    // The browser says the network is back: do not sit out the back-off.
    if (this.reconnectTimer !== undefined) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
      void this.reconnect();
    }
  };

  constructor(config: PhoneConfig, deps: PhoneDependencies = {}) {
    this.cfg = resolveConfig(config);
    this.autoAnswer = this.cfg.autoAnswer;
    this.random = deps.random ?? Math.random;
    this.now = deps.now ?? Date.now;
    const secrets = () => [this.cfg.password];
    this.trace = new TraceRecorder(secrets, 2000, this.now);
    this.devices =
      deps.devices ??
      new DeviceManager(deps.mediaDevices, {
        warmMicrophoneMs: deps.warmMicrophoneMs,
        AudioContext: deps.AudioContext,
      });

    const WebSocketCtor =
      deps.WebSocket ?? (globalThis.WebSocket as unknown as WebSocketConstructor);
    const PeerConnectionCtor = deps.RTCPeerConnection ?? globalThis.RTCPeerConnection;
    const MediaStreamCtor = deps.MediaStream ?? globalThis.MediaStream;
    const peerConnectionConfiguration: RTCConfiguration = {
      iceServers: this.cfg.iceServers,
      iceTransportPolicy: this.cfg.iceTransportPolicy,
      bundlePolicy: this.cfg.bundlePolicy,
      rtcpMuxPolicy: this.cfg.rtcpMuxPolicy,
      iceCandidatePoolSize: this.cfg.iceCandidatePoolSize,
    };
    this.peerConnections = new PeerConnectionSource(
      PeerConnectionCtor,
      peerConnectionConfiguration,
    );
    this.mediaEnv = {
      devices: this.devices,
      audioProcessing: () => this.cfg.audio,
      MediaStream: MediaStreamCtor,
      peerConnections: this.peerConnections,
      iceGatheringTimeoutMs: this.cfg.iceGatheringTimeoutMs,
    };
    this.recorderEnv = () => {
      const AudioContextCtor = deps.AudioContext ?? globalThis.AudioContext;
      const MediaRecorderCtor = deps.MediaRecorder ?? globalThis.MediaRecorder;
      if (!AudioContextCtor || !MediaRecorderCtor)
        throw new Error('recording is not supported here');
      return {
        AudioContext: AudioContextCtor,
        MediaRecorder: MediaRecorderCtor,
        MediaStream: MediaStreamCtor,
      };
    };

    const uri = UserAgent.makeURI(this.cfg.sipUri);
    if (!uri) throw new ConfigError(`invalid sipUri ${this.cfg.sipUri}`);
    const logLevel: LogLevel = deps.logLevel ?? 'warn';
    const log = deps.log
      ? (level: LogLevel, category: string, content: string) =>
          deps.log?.(level, category, redactSip(content, secrets()))
      : redactingLogger(secrets);
    const transportOptions: SipWebSocketTransportOptions = {
      servers: this.cfg.wsUrls,
      WebSocket: WebSocketCtor,
      keepAliveIntervalSec: this.cfg.keepAliveIntervalSec,
      connectionTimeoutMs: 10_000,
      onTrace: (direction, message) => this.onTrace(direction, message),
    };
    const options: UserAgentOptions = {
      uri,
      authorizationUsername: this.cfg.authUser,
      authorizationPassword: this.cfg.password,
      displayName: this.cfg.displayName,
      contactParams: this.cfg.contactParams,
      instanceId: this.cfg.instanceId,
      userAgentString: this.cfg.userAgentString,
      transportConstructor: SipWebSocketTransport,
      transportOptions,
      // Our factory reads the same option names as SIP.js's Web factory.
      sessionDescriptionHandlerFactory: (session, factoryOptions) =>
        this.createMediaSession(session, factoryOptions as { iceGatheringTimeout?: number }),
      sessionDescriptionHandlerFactoryOptions: {
        peerConnectionConfiguration,
        iceGatheringTimeout: this.cfg.iceGatheringTimeoutMs,
      },
      // We can be the target of an attended transfer (INVITE with Replaces).
      sipExtensionReplaces: SIPExtension.Supported,
      sipExtensionExtraSupported: this.cfg.sessionTimers.enabled ? ['timer'] : [],
      noAnswerTimeout: this.cfg.noAnswerTimeoutSec,
      // stop() unregisters and hangs up itself, with time limits.
      gracefulShutdown: false,
      logBuiltinEnabled: false,
      logConfiguration: false,
      logLevel,
      // SIP.js hands every line to the connector whatever logLevel says: filter
      // here, or each transaction's debug lines are redacted and printed (a
      // measurable share of sign-in time on a busy machine).
      logConnector: (level, category, _label, content) => {
        if (LOG_RANK[level] <= LOG_RANK[logLevel]) log(level, category, content);
      },
      delegate: {
        // Reconnection is ours (backoff with jitter, re-register, ICE restart);
        // SIP.js's own reconnectionAttempts stays at its default of 0.
        onDisconnect: (error) => this.onTransportLost(error),
        onInvite: (invitation) => this.onInvite(invitation),
        onMessage: (message) => {
          const request = message.request;
          void message.accept();
          this.emitter.emit('message', {
            from: request.from.uri.toString(),
            fromDisplayName: request.from.displayName || undefined,
            to: request.to.uri.toString(),
            body: request.body ?? '',
            contentType: request.getHeader('content-type') ?? 'text/plain',
            receivedAt: this.now(),
          });
        },
      },
    };
    this.ua = new UserAgent(options);
    // RFC 5626 §4.1 instance id (unique per tab) so each tab is its own binding;
    // reg-id only where the registrar does outbound (see PBX_PRESETS).
    this.registerer = new Registerer(this.ua, {
      expires: this.cfg.registerExpires,
      // Refresh at 85 %: SIP.js's default 99 % leaves seconds for a retry.
      refreshFrequency: 85,
      ...(this.cfg.sendRegId
        ? { regId: 1, instanceId: this.cfg.instanceId }
        : this.cfg.sendInstanceId
          ? { extraContactHeaderParams: [`+sip.instance="<urn:uuid:${this.cfg.instanceId}>"`] }
          : {}),
    });
    this.registerer.stateChange.addListener((state) => this.onRegistererState(state));

    // A microphone chosen mid-call takes over in every call at once (replaceTrack).
    this.microphoneId = this.devices.selection.microphone;
    this.devices.on('selection', (selection) => {
      if (selection.microphone === this.microphoneId) return;
      this.microphoneId = selection.microphone;
      for (const call of this.liveCalls.values()) {
        if (call.media) {
          call.switchMicrophone(selection.microphone).catch((err: unknown) =>
            this.emitter.emit('error', {
              message: `switching the microphone failed: ${err instanceof Error ? err.message : String(err)}`,
            }),
          );
        }
      }
    });

    this.callContext = {
      config: this.cfg,
      now: this.now,
      random: this.random,
      isConnected: () => this.ua.isConnected(),
      makeUri: (target) => this.makeUri(target),
      recorderEnvironment: () => this.recorderEnv(),
      onUpdated: (call) => this.emitter.emit('callUpdated', call),
      onEnded: (call) => this.onCallEnded(call),
      onReferral: (call, referral) => this.onReferral(call, referral),
      onRecording: (call, blob) => this.emitter.emit('recording', { call, blob }),
    };
  }

  // --- observation -------------------------------------------------------------

  on<K extends keyof PhoneEvents>(event: K, fn: (payload: PhoneEvents[K]) => void): Unsubscribe {
    return this.emitter.on(event, fn);
  }

  get registration(): Readonly<RegistrationEvent> {
    return this._registration;
  }

  get connection(): Readonly<ConnectionEvent> {
    return this._connection;
  }

  /** Calls not yet ended, oldest first. */
  get calls(): CallHandle[] {
    return [...this.liveCalls.values()];
  }

  get aor(): string {
    return this.cfg.sipUri;
  }

  get instanceId(): string {
    return this.cfg.instanceId;
  }

  get autoAnswerEnabled(): boolean {
    return this.autoAnswer;
  }

  /**
   * Switches auto-answer for calls that arrive from now on (no restart). Like
   * INVITEs that ask for it (Call-Info answer-after, Alert-Info), it only
   * applies while no other call is in progress: a second call rings instead.
   */
  setAutoAnswer(on: boolean): void {
    this.autoAnswer = on;
  }

  /** STUN/TURN servers for the calls from now on (e.g. TURN credentials that came later). */
  setIceServers(iceServers: IceServerConfig[]): void {
    this.peerConnections.setIceServers(iceServers);
  }

  /**
   * The SIP credentials as HTTP Digest needs them (the agent API, RFC 7616):
   * the HA1 for a realm is computed here, so the password stays in the core.
   */
  get credentials(): AgentCredentials {
    const username = this.cfg.authUser;
    const password = this.cfg.password;
    return { username, ha1: (realm) => digestHa1(username, realm, password) };
  }

  /** The SIP trace as text, with credentials and the password redacted. */
  exportTrace(): string {
    return this.trace.exportTrace();
  }

  // --- lifecycle ------------------------------------------------------------------

  /**
   * Connects and registers. Rejects if the first connection or registration
   * fails; after a connection failure, reconnect attempts continue in the
   * background (watch `connection`) until stop().
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.stopping = false;
    globalThis.addEventListener?.('online', this.onOnline);
    this.setConnection({ state: 'connecting', attempt: 0 });
    try {
      await this.ua.start();
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.setConnection({ state: 'disconnected', reason });
      this.scheduleReconnect(reason);
      throw err;
    }
    this.onConnected();
    try {
      await this.register();
    } finally {
      // The spare peer connection gathers candidates (TURN allocations too):
      // only once the REGISTER is answered and the main thread is idle (its
      // constructor took 11 ms, delaying the "registered" badge's render).
      whenIdle(() => {
        if (this.started) this.peerConnections.prepare();
      });
    }
  }

  /** Hangs up, unregisters (each bounded in time) and disconnects. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.stopping = true;
    this.started = false;
    globalThis.removeEventListener?.('online', this.onOnline);
    this.clearTimers();
    const bounded = (p: Promise<unknown>) =>
      Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
    await Promise.all(this.calls.map((c) => bounded(c.hangup())));
    await Promise.all(
      [...this.presenceWatches].map((w) => {
        const subscriber = w.subscriber;
        w.subscriber = undefined;
        return subscriber && subscriber.state !== SubscriptionState.Terminated
          ? bounded(subscriber.unsubscribe())
          : undefined;
      }),
    );
    await this.withdrawPresence(bounded);
    if (this.ua.isConnected() && this.registerer.state === RegistererState.Registered) {
      await bounded(this.unregister());
    }
    this.wantRegistered = false;
    await this.ua.stop();
    this.peerConnections.dispose();
    this.devices.releaseWarmMicrophone();
    this.setRegistration({ state: 'unregistered' });
    this.setConnection({ state: 'disconnected' });
  }

  /** Opens the microphone (and a spare peer connection) ahead of a call. */
  async warmUp(): Promise<void> {
    this.peerConnections.prepare();
    await this.devices.warmUp(this.cfg.audio);
  }

  // --- registration -----------------------------------------------------------------

  /** Sends REGISTER; resolves when the registrar accepted the binding. */
  register(): Promise<void> {
    this.wantRegistered = true;
    if (this.reRegisterTimer !== undefined) clearTimeout(this.reRegisterTimer);
    this.reRegisterTimer = undefined;
    if (!this.ua.isConnected()) {
      return Promise.reject(new RegistrationError('not connected'));
    }
    this.unregistering = false;
    this.lastRegisterFailure = undefined;
    this.setRegistration({ state: 'registering' });
    return new Promise<void>((resolve, reject) => {
      const send = (retriesLeft: number) => {
        this.registerer
          .register({
            requestDelegate: {
              onAccept: () => resolve(),
              onReject: (response) => {
                const code = response.message.statusCode ?? 0;
                const reason = response.message.reasonPhrase ?? '';
                reject(
                  new RegistrationError(`registration failed: ${code} ${reason}`.trim(), code),
                );
              },
            },
          })
          .catch((err: unknown) => {
            // A REGISTER from before a reconnect may still be waiting for its
            // transaction timeout; RFC 3261 §10.2 forbids overlapping ones.
            if (err instanceof Error && err.name === 'RequestPendingError' && retriesLeft > 0) {
              setTimeout(() => send(retriesLeft - 1), 1000);
              return;
            }
            const message = err instanceof Error ? err.message : String(err);
            this.setRegistration({ state: 'failed', reason: message });
            reject(new RegistrationError(message));
          });
      };
      send(35);
    });
  }

  /** Removes our binding (REGISTER with expires 0). */
  async unregister(): Promise<void> {
    this.wantRegistered = false;
    this.unregistering = true;
    if (this.reRegisterTimer !== undefined) clearTimeout(this.reRegisterTimer);
    await new Promise<void>((resolve, reject) => {
      this.registerer
        .unregister({
          requestDelegate: {
            onAccept: () => resolve(),
            onReject: (response) =>
              reject(
                new RegistrationError(
                  `unregister failed: ${response.message.statusCode}`,
                  response.message.statusCode,
                ),
              ),
          },
        })
        .catch(reject);
    });
    this.setRegistration({ state: 'unregistered' });
  }

  private onRegistererState(state: RegistererState): void {
    if (state === RegistererState.Registered) {
      this.emitRegistered();
      return;
    }
    if (state !== RegistererState.Unregistered || this.stopping) return;
    if (!this.wantRegistered || this.unregistering) {
      this.setRegistration({ state: 'unregistered' });
      return;
    }
    if (!this.ua.isConnected()) {
      this.setRegistration({ state: 'unregistered', reason: 'connection lost' });
      return;
    }
    // A refresh (or the initial REGISTER) failed while we want to be registered.
    const failure = this.lastRegisterFailure;
    const reason = failure
      ? `${failure.code} ${failure.reason}`.trim()
      : 'no answer from the registrar';
    this.setRegistration({ state: 'failed', reason, code: failure?.code });
    this.emitter.emit('error', { message: `registration lost: ${reason}`, code: failure?.code });
    if (!failure || !PERMANENT_REGISTER_FAILURES.has(failure.code)) this.scheduleReRegister();
  }

  private scheduleReRegister(): void {
    if (this.reRegisterTimer !== undefined) return;
    this.reRegisterAttempt += 1;
    const delay = backoffDelay(this.reRegisterAttempt, {
      initialDelayMs: this.cfg.reconnectInitialDelayMs,
      maxDelayMs: this.cfg.reconnectMaxDelayMs,
      random: this.random,
    });
    this.reRegisterTimer = setTimeout(() => {
      this.reRegisterTimer = undefined;
      if (this.wantRegistered && this.ua.isConnected()) this.register().catch(() => undefined);
    }, delay);
  }

  private emitRegistered(): void {
    const expires = this.lastGrantedExpires ?? this.cfg.registerExpires;
    this.reRegisterAttempt = 0;
    this.setRegistration({ state: 'registered', expiresAt: this.now() + expires * 1000 });
    this.sendPresence();
  }

  private setRegistration(ev: RegistrationEvent): void {
    this._registration = ev;
    this.emitter.emit('registration', ev);
  }

  // --- connection, reconnect ------------------------------------------------------------

  private setConnection(ev: ConnectionEvent): void {
    this._connection = ev;
    this.emitter.emit('connection', ev);
  }

  private onConnected(): void {
    this.reconnectAttempt = 0;
    this.setConnection({ state: 'connected' });
    this.resumePresenceWatches();
  }

  private onTransportLost(error?: Error): void {
    if (this.stopping || !this.started || !error) return;
    this.setConnection({ state: 'disconnected', reason: error.message });
    if (this.wantRegistered) {
      this.setRegistration({ state: 'unregistered', reason: 'connection lost' });
    }
    // The notifier sends NOTIFYs to the lost flow; subscribe afresh once reconnected.
    for (const watch of this.presenceWatches) {
      const subscriber = watch.subscriber;
      watch.subscriber = undefined;
      subscriber?.dispose().catch(() => undefined);
    }
    // The published state is kept by the server; it is published afresh once registered again.
    void this.publisher?.then((p) => p.dispose()).catch(() => undefined);
    this.publisher = undefined;
    this.publishedBody = undefined;
    this.scheduleReconnect(error.message);
  }

  /** Next attempt after an exponential, jittered delay (see backoffDelay). */
  private scheduleReconnect(reason: string): void {
    if (this.stopping || this.reconnectTimer !== undefined) return;
    this.reconnectAttempt += 1;
    const delay = backoffDelay(this.reconnectAttempt, {
      initialDelayMs: this.cfg.reconnectInitialDelayMs,
      maxDelayMs: this.cfg.reconnectMaxDelayMs,
      random: this.random,
    });
    this.setConnection({
      state: 'disconnected',
      attempt: this.reconnectAttempt,
      nextRetryMs: delay,
      reason,
    });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.reconnect();
    }, delay);
  }

  private async reconnect(): Promise<void> {
    if (this.stopping || !this.started) return;
    this.setConnection({ state: 'connecting', attempt: this.reconnectAttempt });
    try {
      await this.ua.reconnect();
    } catch (err) {
      this.scheduleReconnect(err instanceof Error ? err.message : String(err));
      return;
    }
    this.onConnected();
    if (this.wantRegistered) {
      try {
        await this.register();
      } catch {
        return; // surfaced through the registration event
      } finally {
        if (this.started) this.peerConnections.prepare();
      }
    } else {
      this.peerConnections.prepare();
    }
    // Media may have lost its path too (network change); a new offer with
    // fresh ICE credentials gets it back, and the re-INVITE from the new flow
    // refreshes our Contact (target refresh) in the dialog.
    for (const call of this.liveCalls.values()) {
      if (call.state === 'established' || call.state === 'held') {
        call.iceRestart().catch((err: unknown) =>
          this.emitter.emit('error', {
            message: `ICE restart of ${call.id} failed: ${err instanceof Error ? err.message : String(err)}`,
          }),
        );
      }
    }
  }

  private clearTimers(): void {
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    if (this.reRegisterTimer !== undefined) clearTimeout(this.reRegisterTimer);
    this.reconnectTimer = undefined;
    this.reRegisterTimer = undefined;
  }

  // --- trace --------------------------------------------------------------------------

  private onTrace(direction: 'sent' | 'received', message: string): void {
    const entry: TraceEntry = this.trace.record(direction, message);
    if (direction === 'received' && entry.method === 'REGISTER')
      this.onRegisterResponse(entry, message);
    this.emitter.emit('trace', entry);
  }

  /** Keeps what the registrar said, for expiresAt and for failure reasons. */
  private onRegisterResponse(entry: TraceEntry, raw: string): void {
    const m = /^SIP\/2\.0\s+(\d{3})\s*(.*)$/.exec(entry.firstLine);
    if (!m) return;
    const code = Number(m[1]);
    if (code >= 200 && code < 300 && !this.unregistering) {
      this.lastGrantedExpires = grantedExpires(raw, this.ua.contact.uri.user ?? '');
      // A refresh does not change the Registerer's state, so report it here.
      if (this.registerer.state === RegistererState.Registered)
        queueMicrotask(() => this.emitRegistered());
    } else if (code >= 300) {
      this.lastRegisterFailure = { code, reason: m[2] ?? '' };
    }
  }

  // --- calls ------------------------------------------------------------------------

  private makeUri(target: string): URI {
    const uri = UserAgent.makeURI(normalizeTarget(target, this.cfg.domain));
    if (!uri) throw new ConfigError(`not a valid call target: ${target}`);
    return uri;
  }

  /** Places a call. The handle is returned at once; watch its state for progress. */
  call(target: string, options: CallOptions = {}): CallHandle {
    if (!this.ua.isConnected()) throw new Error('not connected');
    const uri = this.makeUri(target);
    const inviter = new Inviter(this.ua, uri, {
      // Play 183 early media (IVRs, ring-back from a PBX).
      earlyMedia: true,
      extraHeaders: [...(options.extraHeaders ?? []), ...Call.inviteHeaders(this.cfg)],
    });
    const call = this.addCall(
      new Call(this.callContext, inviter, { video: options.video ?? false }),
    );
    void call.start();
    return call;
  }

  private addCall(call: Call): Call {
    this.liveCalls.set(call.id, call);
    this.emitter.emit('callAdded', call);
    return call;
  }

  private onCallEnded(call: Call): void {
    this.liveCalls.delete(call.id);
    this.emitter.emit('callEnded', call);
    if (this.liveCalls.size === 0) this.peerConnections.prepare();
  }

  private findCall(session: Session): Call | undefined {
    return [...this.liveCalls.values()].find((c) => c.session === session);
  }

  private createMediaSession(
    session: Session,
    factoryOptions: { iceGatheringTimeout?: number },
  ): MediaSession {
    const call = session.data instanceof Call ? session.data : undefined;
    const env =
      factoryOptions.iceGatheringTimeout !== undefined
        ? { ...this.mediaEnv, iceGatheringTimeoutMs: factoryOptions.iceGatheringTimeout }
        : this.mediaEnv;
    const media = new MediaSession(env, { video: call?.wantsVideo ?? false });
    call?.attachMedia(media);
    return media;
  }

  private onInvite(invitation: Invitation): void {
    const replaced = invitation.replacee ? this.findCall(invitation.replacee) : undefined;
    const autoAnswer = this.cfg.honourAutoAnswerHeaders
      ? detectAutoAnswer((name) => invitation.request.getHeaders(name))
      : undefined;
    const videoOffered = /^m=video\s+[1-9]/m.test(invitation.body ?? '');
    const queueCall = parseQueueHeaders((name) => invitation.request.getHeader(name));
    const call = this.addCall(
      new Call(this.callContext, invitation, {
        video: false,
        autoAnswerRequested: !!autoAnswer,
        videoOffered,
        queueCall,
        monitor: parseMonitorHeader(invitation.request.getHeader('X-Monitor')),
      }),
    );
    if (replaced) {
      // RFC 3891: an INVITE with Replaces for one of our dialogs is the far
      // end of an attended transfer; take it without ringing. SIP.js sends
      // the BYE on the replaced dialog once this one is confirmed.
      replaced.setEndCause({ reason: 'Replaced (transferred)', by: 'remote' });
      call.answer({ video: replaced.video }).catch(() => undefined);
      return;
    }
    // Call waiting: with another call in progress, nothing is answered by itself.
    const alone = this.liveCalls.size === 1;
    this.emitter.emit('incomingCall', call);
    // Answering is faster with the microphone already open.
    this.warmUp().catch(() => undefined);
    if (alone && (this.autoAnswer || autoAnswer)) {
      setTimeout(
        () => {
          const wanted = autoAnswer !== undefined || this.autoAnswer;
          if (wanted && call.state === 'incoming' && this.liveCalls.size === 1)
            call.answer().catch(() => undefined);
        },
        (autoAnswer?.delaySec ?? 0) * 1000,
      );
    }
  }

  /**
   * We are the transferee (RFC 3515): accept the REFER and call the target;
   * SIP.js reports the new call's progress back in NOTIFYs (message/sipfrag).
   */
  private onReferral(call: Call, referral: Referral): void {
    referral
      .accept()
      .then(() => {
        const inviter = referral.makeInviter({
          earlyMedia: true,
          extraHeaders: Call.inviteHeaders(this.cfg),
        });
        const next = this.addCall(new Call(this.callContext, inviter, { video: call.video }));
        return next.start();
      })
      .catch((err: unknown) =>
        this.emitter.emit('error', {
          message: `transfer requested by ${call.remoteUri} failed: ${err instanceof Error ? err.message : String(err)}`,
        }),
      );
  }

  // --- messaging, presence ------------------------------------------------------------

  /** Sends a SIP MESSAGE (RFC 3428); resolves on 2xx, rejects with the status otherwise. */
  sendMessage(target: string, text: string, contentType = 'text/plain'): Promise<void> {
    if (!this.ua.isConnected()) return Promise.reject(new Error('not connected'));
    const messager = new Messager(this.ua, this.makeUri(target), text, contentType);
    return new Promise<void>((resolve, reject) => {
      messager
        .message({
          requestDelegate: {
            onAccept: () => resolve(),
            onReject: (response) =>
              reject(
                Object.assign(
                  new Error(
                    `MESSAGE failed: ${response.message.statusCode} ${response.message.reasonPhrase ?? ''}`.trim(),
                  ),
                  { code: response.message.statusCode },
                ),
              ),
          },
        })
        .catch(reject);
    });
  }

  /**
   * Watches `target`'s presence (RFC 3856 SUBSCRIBE, PIDF NOTIFYs → `presence`
   * events). The watch outlives connection losses: it subscribes again after
   * every reconnect, and waits for the connection if there is none yet.
   */
  subscribePresence(target: string): PresenceSubscription {
    return this.watch(target, 'presence');
  }

  /**
   * Watches `target`'s line (BLF: RFC 4235 `dialog` package; NOTIFYs →
   * `dialog` events with idle, ringing or busy). Outlives reconnects like
   * `subscribePresence`.
   */
  subscribeDialog(target: string): PresenceSubscription {
    return this.watch(target, 'dialog');
  }

  private watch(target: string, event: WatchedPackage): PresenceSubscription {
    const uri = this.makeUri(target);
    const watch: PresenceWatch = {
      aor: uri.toString(),
      uri,
      event,
      status: { status: 'unknown' },
      line: 'unknown',
    };
    this.presenceWatches.add(watch);
    if (this.ua.isConnected()) this.startPresenceWatch(watch);
    return {
      target: watch.aor,
      unsubscribe: async () => {
        this.presenceWatches.delete(watch);
        const subscriber = watch.subscriber;
        watch.subscriber = undefined;
        if (subscriber && subscriber.state !== SubscriptionState.Terminated) {
          await subscriber.unsubscribe();
        }
      },
    };
  }

  private emitWatch(watch: PresenceWatch, subscription: PresenceEvent['subscription']): void {
    if (watch.event === 'presence') {
      this.emitter.emit('presence', { target: watch.aor, ...watch.status, subscription });
    } else {
      const ev: DialogEvent = {
        target: watch.aor,
        state: subscription === 'terminated' ? 'unknown' : watch.line,
        subscription,
      };
      this.emitter.emit('dialog', ev);
    }
  }

  /**
   * The presence chunk (document parsers, publisher), loaded before the first
   * SUBSCRIBE or PUBLISH. Kamailio's presence server sends NOTIFYs straight to
   * a subscription's Contact; once registered, SIP.js puts our GRUU there
   * (RFC 5627), which names us at the domain and has no transport=ws: the
   * proxy replaces it by a contact on our WebSocket connection (kamailio.cfg
   * route SUBSCRIBER_CONTACT), so nothing is rewritten here.
   */
  private presenceChunk(): Promise<typeof import('./presence')> {
    return (this.presenceModule ??= import('./presence'));
  }

  private startPresenceWatch(watch: PresenceWatch): void {
    if (watch.starting) return;
    watch.starting = true;
    void this.presenceChunk().then((m) => {
      watch.starting = false;
      if (this.presenceWatches.has(watch) && !watch.subscriber && this.ua.isConnected())
        this.subscribeWatch(watch, m);
    });
  }

  private subscribeWatch(watch: PresenceWatch, m: typeof import('./presence')): void {
    const subscriber = new Subscriber(this.ua, watch.uri, watch.event, {
      expires: 600,
      extraHeaders: [
        `Accept: ${watch.event === 'presence' ? 'application/pidf+xml' : 'application/dialog-info+xml'}`,
      ],
    });
    watch.subscriber = subscriber;
    subscriber.delegate = {
      onNotify: (notification) => {
        void notification.accept();
        const request = notification.request;
        const stateHeader = (request.getHeader('subscription-state') ?? '')
          .split(';')[0]
          ?.trim()
          .toLowerCase();
        const subscription =
          stateHeader === 'pending' || stateHeader === 'terminated' ? stateHeader : 'active';
        if (request.body) {
          if (watch.event === 'presence') watch.status = m.parsePidf(request.body);
          else watch.line = m.parseDialogInfo(request.body);
        } else if (subscription === 'active' && watch.event === 'presence') {
          // An active NOTIFY without a document: nothing is published (e.g. signed out).
          watch.status = { status: 'unknown' };
        }
        this.emitWatch(watch, subscription);
      },
    };
    subscriber.stateChange.addListener((state) => {
      if (state !== SubscriptionState.Terminated) return;
      if (watch.subscriber === subscriber) watch.subscriber = undefined;
      this.emitWatch(watch, 'terminated');
    });
    subscriber.subscribe().catch((err: unknown) =>
      this.emitter.emit('error', {
        message: `${watch.event} subscription to ${watch.aor} failed: ${err instanceof Error ? err.message : String(err)}`,
      }),
    );
  }

  /** After (re)connecting: subscribe every watch that has no live subscription. */
  private resumePresenceWatches(): void {
    for (const watch of this.presenceWatches) {
      if (!watch.subscriber) this.startPresenceWatch(watch);
    }
  }

  /**
   * Publishes the user's own presence (RFC 3903 PUBLISH of a PIDF; SIP.js
   * refreshes it and keeps its entity tag). May be called before
   * registration: it is sent once registered, and again after a reconnect.
   * A repeat of what is already published sends nothing.
   */
  setPresence(p: OwnPresence): void {
    this.ownPresence = { ...p };
    this.sendPresence();
  }

  private sendPresence(): void {
    const p = this.ownPresence;
    if (!p || !this.started || this._registration.state !== 'registered') return;
    const key = JSON.stringify(p);
    if (key === this.publishedBody) return;
    this.publishedBody = key;
    const publisher = (this.publisher ??= this.presenceChunk().then(
      (m) => new m.PresencePublisher(this.ua, this.makeUri(this.aor)),
    ));
    publisher
      .then((pub) => (this.publisher === publisher ? pub.publish(this.aor, p) : undefined))
      .catch((err: unknown) => {
        if (this.publisher === publisher) this.publishedBody = undefined;
        this.emitter.emit('error', {
          message: `presence PUBLISH failed: ${err instanceof Error ? err.message : String(err)}`,
        });
      });
  }

  /** Signing out: watchers see the user closed (the published state is removed). */
  private async withdrawPresence(
    bounded: (p: Promise<unknown>) => Promise<unknown>,
  ): Promise<void> {
    const publisher = this.publisher;
    this.publisher = undefined;
    this.publishedBody = undefined;
    const pub = publisher && (await bounded(publisher));
    if (pub)
      await (pub as import('./presence').PresencePublisher).withdraw(
        this.ua.isConnected(),
        bounded,
      );
  }
}
