// Public types of the telephony core. Nothing here mentions SIP.js: the UI codes
// against these shapes only, so the SIP stack can change without touching it.
import type { MonitorLeg, QueueCallInfo } from './agent';

/** Which kind of server sits behind the WebSocket; see PBX_PRESETS for what each changes. */
export type PbxPreset = 'kamailio' | 'asterisk' | 'freeswitch' | 'generic';

/** RFC 4733 telephone-event in RTP (default) or SIP INFO application/dtmf-relay. */
export type DtmfMode = 'rfc4733' | 'info';

export interface IceServerConfig {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface AudioProcessingConfig {
  echoCancellation: boolean;
  noiseSuppression: boolean;
  autoGainControl: boolean;
}

/** RFC 4028 session timers. */
export interface SessionTimerConfig {
  enabled: boolean;
  /** Session-Expires we ask for, seconds (RFC 4028 recommends 1800; minimum 90). */
  expiresSec: number;
}

export interface PhoneConfig {
  /**
   * SIP over WebSocket endpoint (RFC 7118), e.g. wss://127.0.0.1:8443/ws; or
   * several, separated by spaces or commas (a cluster's edges): the phone stays
   * on the one that works and moves to the next when it fails. One DNS name with
   * several addresses needs no list: the browser tries them itself.
   */
  wsUrl: string;
  /** Address-of-record, e.g. sip:1001@localhost. */
  sipUri: string;
  /** Digest username; defaults to the AOR user part. */
  authUser?: string;
  /** Digest password. Held in memory only; never logged, never in a trace export. */
  password: string;
  displayName?: string;
  /** Expires asked for in REGISTER, seconds. Default 600. */
  registerExpires?: number;
  iceServers?: IceServerConfig[];
  iceTransportPolicy?: RTCIceTransportPolicy;
  bundlePolicy?: RTCBundlePolicy;
  rtcpMuxPolicy?: RTCRtcpMuxPolicy;
  /**
   * ICE sessions pre-gathered before an offer exists (saves setup time). Default 1;
   * in Chromium a pool > 1 makes the first ICE restart keep the old credentials.
   */
  iceCandidatePoolSize?: number;
  /** Stop waiting for ICE gathering after this long and send what we have. Default 500 ms. */
  iceGatheringTimeoutMs?: number;
  audio?: Partial<AudioProcessingConfig>;
  dtmfMode?: DtmfMode;
  pbxPreset?: PbxPreset;
  /** Overrides the preset's Contact URI parameters. */
  contactParams?: Record<string, string>;
  /** Seconds between CRLF keep-alives on the WebSocket (RFC 5626 §4.4.1); 0 disables. */
  keepAliveIntervalSec?: number;
  sessionTimers?: Partial<SessionTimerConfig>;
  /**
   * Answer incoming calls automatically (in addition to INVITEs that request it)
   * when no other call is in progress. Switch it live with Phone.setAutoAnswer().
   */
  autoAnswer?: boolean;
  /** Honour Call-Info answer-after / Alert-Info auto-answer on incoming INVITEs. Default true. */
  honourAutoAnswerHeaders?: boolean;
  userAgentString?: string;
  /** Stable per-tab instance id (+sip.instance); a fresh UUID when omitted. */
  instanceId?: string;
  /** Reconnect backoff: first delay, cap, in ms. Defaults 500 / 30000. */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  /** Seconds an unanswered incoming call rings before it is rejected with 480. Default 60. */
  noAnswerTimeoutSec?: number;
}

/** How a preset changes what the phone sends, and why. */
export interface PbxPresetDescription {
  /** Contact URI parameters (e.g. transport=ws). */
  contactParams: Record<string, string>;
  /** Add +sip.instance (RFC 5626 §4.1) to the REGISTER Contact, unique per tab. */
  instanceId: boolean;
  /** Add reg-id too (RFC 5626 outbound flows); needs outbound support in the registrar. */
  regId: boolean;
  /** Default CRLF keep-alive interval, seconds. */
  keepAliveIntervalSec: number;
  /** Whether the server is expected to honour RFC 4028 session timers. */
  sessionTimers: boolean;
  /** Preferred DTMF mode for this server. */
  dtmfMode: DtmfMode;
  why: string;
}

export type RegistrationState = 'unregistered' | 'registering' | 'registered' | 'failed';

export interface RegistrationEvent {
  state: RegistrationState;
  /** Why it failed or ended, e.g. "403 Forbidden" or "transport lost". */
  reason?: string;
  /** SIP status code behind a failure, when there was one. */
  code?: number;
  /** Epoch ms the binding expires, as granted by the registrar. */
  expiresAt?: number;
}

export type ConnectionState = 'disconnected' | 'connecting' | 'connected';

export interface ConnectionEvent {
  state: ConnectionState;
  /** Reconnect attempt number, 1-based, while reconnecting. */
  attempt?: number;
  /** Delay before the next attempt, ms, when one is scheduled. */
  nextRetryMs?: number;
  reason?: string;
}

export type CallDirection = 'outgoing' | 'incoming';

/**
 * Call states. Outgoing: idle → calling → ringing | early → established ⇄ held → ended.
 * Incoming: incoming → answering → established ⇄ held → ended. See CALL_TRANSITIONS.
 */
export type CallState =
  | 'idle'
  | 'calling'
  | 'ringing'
  | 'early'
  | 'incoming'
  | 'answering'
  | 'established'
  | 'held'
  | 'ended';

export interface CallEndCause {
  /** SIP status code (final response to the INVITE), absent for BYE/CANCEL/local ends. */
  code?: number;
  /** Reason phrase or a short description ("BYE", "Cancelled", "Transport lost"). */
  reason: string;
  /** Who ended it. */
  by: 'local' | 'remote' | 'system';
}

export type TransferState = 'requested' | 'accepted' | 'trying' | 'succeeded' | 'failed';

/** Progress of a REFER we sent, from the 202 and the NOTIFY message/sipfrag bodies. */
export interface TransferProgress {
  kind: 'blind' | 'attended';
  target: string;
  state: TransferState;
  /** Status code from the sipfrag (or the REFER's own final response on failure). */
  code?: number;
  reason?: string;
}

export interface CallTimestamps {
  createdAt: number;
  /** First 180/183 (outgoing) or when the INVITE arrived (incoming). */
  ringingAt?: number;
  establishedAt?: number;
  endedAt?: number;
}

export interface AnswerOptions {
  video?: boolean;
}

export interface CallOptions {
  video?: boolean;
  /** Extra headers on the INVITE, e.g. ['X-Foo: bar']. */
  extraHeaders?: string[];
}

export interface CallStats {
  /** ms since epoch when sampled. */
  timestamp: number;
  codec?: string;
  bitrateKbpsIn: number;
  bitrateKbpsOut: number;
  rttMs?: number;
  jitterMs?: number;
  /** Fraction of expected packets lost in the sampled interval, 0..100. */
  packetLossPct: number;
  packetsReceived: number;
  packetsLost: number;
  /** Inbound audio level 0..1 as reported by WebRTC. */
  audioLevel?: number;
  /** ITU-T G.107 E-model R factor and derived MOS for this interval. */
  rFactor: number;
  mos: number;
  /** Selected ICE candidate pair types, e.g. "host/host" or "relay/host". */
  candidatePair?: string;
}

export interface CallEvents {
  /** Any change visible on the handle (state, hold, mute, media, transfer...). */
  updated: CallHandle;
  state: { from: CallState; to: CallState };
  ended: CallEndCause;
  transfer: TransferProgress;
  /** DTMF received (SIP INFO); RFC 4733 events are consumed by the media engine. */
  dtmf: { digit: string; durationMs?: number };
  /**
   * A recording is finished: stopped by stopRecording() or by the end of the
   * call (either side hanging up). Emitted once per recording.
   */
  recording: Blob;
}

export interface CallHandle {
  readonly id: string;
  readonly direction: CallDirection;
  readonly remoteUri: string;
  readonly remoteDisplayName?: string;
  readonly state: CallState;
  readonly timestamps: Readonly<CallTimestamps>;
  readonly endCause?: CallEndCause;
  /** The far end put us on hold (its SDP is sendonly/inactive). */
  readonly remoteHold: boolean;
  readonly muted: boolean;
  /** Video is being sent. */
  readonly video: boolean;
  readonly screenSharing: boolean;
  readonly recording: boolean;
  /** The last finished recording of this call (see the `recording` event). */
  readonly lastRecording?: Blob;
  /** The INVITE asked to be answered automatically (Call-Info answer-after / Alert-Info). */
  readonly autoAnswerRequested: boolean;
  /** Incoming: the INVITE offered video, so the UI can offer "answer with video". */
  readonly videoOffered: boolean;
  /** Incoming: a queue call offered to this agent (X-Queue, X-Queue-Call, X-Caller-Waited). */
  readonly queueCall?: Readonly<QueueCallInfo>;
  /** Incoming: a monitoring leg (X-Monitor); its mode follows the INFO mode changes. */
  readonly monitor?: Readonly<MonitorLeg>;
  readonly transfer?: TransferProgress;
  readonly remoteStream?: MediaStream;
  readonly localStream?: MediaStream;

  on<K extends keyof CallEvents>(event: K, fn: (payload: CallEvents[K]) => void): () => void;

  answer(options?: AnswerOptions): Promise<void>;
  /** Reject an incoming call (486 Busy Here by default; 603 Decline is common too). */
  decline(code?: number): Promise<void>;
  /** CANCEL, BYE or reject, whichever ends the call in its current state. */
  hangup(): Promise<void>;
  /**
   * Stops sending our audio and video at once (the held party hears and sees
   * nothing), then re-INVITEs with a=sendonly (a=inactive if they hold us).
   * If the far end's answer cannot be applied (e.g. a=sendrecv to our
   * a=sendonly), the call stays up and is held locally. `muted` is unaffected.
   */
  hold(): Promise<void>;
  /** Re-INVITEs with a=sendrecv, then sends again (still silent if the user muted). */
  unhold(): Promise<void>;
  /** The user's mute; independent of hold (unhold does not unmute). */
  mute(): void;
  unmute(): void;
  /** Digits 0-9 * # A-D, one or more. */
  sendDtmf(digits: string): Promise<void>;
  blindTransfer(target: string): Promise<TransferProgress>;
  attendedTransfer(other: CallHandle): Promise<TransferProgress>;
  startVideo(): Promise<void>;
  stopVideo(): Promise<void>;
  switchCamera(deviceId: string): Promise<void>;
  /** Switch the microphone mid-call (replaceTrack, no re-INVITE). */
  switchMicrophone(deviceId: string): Promise<void>;
  startScreenShare(): Promise<void>;
  stopScreenShare(): Promise<void>;
  startRecording(): void;
  /** Finishes the recording (also after the call ended) and resolves with the file. */
  stopRecording(): Promise<Blob>;
  getStats(): Promise<CallStats>;
  iceRestart(): Promise<void>;
}

export interface IncomingMessage {
  from: string;
  fromDisplayName?: string;
  to: string;
  body: string;
  contentType: string;
  receivedAt: number;
}

export type PresenceStatus = 'open' | 'closed' | 'unknown';

/** State of a presence subscription (RFC 6665 Subscription-State). */
export type PresenceSubscriptionState = 'pending' | 'active' | 'terminated';

export interface PresenceEvent {
  /** The watched AOR. */
  target: string;
  status: PresenceStatus;
  /** <note> from the PIDF, when present. */
  note?: string;
  /** Open but away (RPID <away/>, e.g. an agent who is not ready). */
  away?: boolean;
  /**
   * The contact center's state of this user, when they are an agent (the
   * gateway publishes it next to the softphone's own presence).
   */
  agent?: AgentPresence;
  subscription: PresenceSubscriptionState;
}

/** An agent's contact-center state as the gateway publishes it (gateway contactcenter/presence.ts). */
export interface AgentPresence {
  /** offline, available, offered, on-call, wrap-up, not-ready (or a newer one: shown by its note). */
  state: string;
  /** The gateway's own wording ("Paused: lunch"), for states this softphone does not know. */
  note?: string;
  /** Why not ready (a reason code). */
  reason?: string;
}

/** A line's state from the `dialog` event package (RFC 4235), as a BLF key shows it. */
export type LineState = 'idle' | 'ringing' | 'busy' | 'unknown';

export interface DialogEvent {
  /** The watched AOR. */
  target: string;
  state: LineState;
  subscription: PresenceSubscriptionState;
}

/** What the user publishes about themself (RFC 3903 PUBLISH of a PIDF). */
export interface OwnPresence {
  status: 'open' | 'closed';
  /** Shown to watchers, e.g. "Away (Lunch)". */
  note?: string;
  /** Open but away (RPID <away/>). */
  away?: boolean;
}

export type TraceDirection = 'sent' | 'received';

export interface TraceEntry {
  seq: number;
  direction: TraceDirection;
  /** Epoch ms. */
  time: number;
  /** Request-Line or Status-Line. */
  firstLine: string;
  /** Call-ID, for grouping a ladder diagram by dialog. */
  callId?: string;
  /** CSeq method, e.g. INVITE for a 200 answering an INVITE. */
  method?: string;
  /** Full message, already redacted. */
  text: string;
}

export interface PhoneEvents {
  registration: RegistrationEvent;
  connection: ConnectionEvent;
  incomingCall: CallHandle;
  /** A call was created (both directions); emitted before incomingCall. */
  callAdded: CallHandle;
  callUpdated: CallHandle;
  callEnded: CallHandle;
  /** A call's recording is finished (stopped, or the call ended); same Blob as CallEvents.recording. */
  recording: { call: CallHandle; blob: Blob };
  message: IncomingMessage;
  presence: PresenceEvent;
  /** A watched line's state (BLF, `subscribeDialog`). */
  dialog: DialogEvent;
  trace: TraceEntry;
  /** Something failed that is not tied to a call (e.g. REGISTER refresh rejected). */
  error: { message: string; code?: number };
}

export interface PresenceSubscription {
  readonly target: string;
  unsubscribe(): Promise<void>;
}
