// The call-control tier's contract with what drives it (../contactcenter):
// a caller's leg answered by the gateway's B2BUA, media anchored in rtpengine,
// and offers of that caller to agents. Nothing here knows about queues; the
// contact center knows nothing about SIP or SDP.
//
// Media model (proved by test/integration/callcontrol-media.test.ts): one
// rtpengine call per caller, keyed by the caller's Call-ID. Until an agent
// answers, the caller's far end is a placeholder and rtpengine plays prompts
// and music toward the caller (`play media`). An offer to an agent re-offers
// the caller's stream inside that same rtpengine call toward the agent leg
// (every offer/answer carries `port-latching`, so the caller-facing port never
// changes); when the agent answers, media flows caller ↔ agent with no
// re-INVITE toward the caller: a carrier sees INVITE, 200, ACK ... BYE only.

export interface Party {
  /** User part of the From URI (a number or a username). */
  user: string;
  displayName: string;
  uri: string;
}

export type LegEndReason =
  | 'caller-hangup'
  | 'agent-hangup'
  | 'hangup' // we hung up (flow ended, overflow to hang-up...)
  | 'cancelled' // caller gave up before we answered
  | 'failed'; // SIP or media failure

export type OfferOutcome =
  | 'answered'
  | 'no-answer' // ring timeout
  | 'busy' // 486/600
  | 'declined' // 603 (agent pressed decline)
  | 'unavailable' // 404/480: no registration
  | 'cancelled' // we cancelled it (caller left, another agent took it)
  | 'failed';

export interface PlayOptions {
  /** Play the list this many times (rtpengine `repeat-times`); default 1. */
  repeat?: number;
}

/** What `play` resolved with: the files ended, someone stopped them, or the call ended. */
export type PlayResult = 'done' | 'stopped' | 'ended';

export interface OfferOptions {
  /** Seconds to ring before giving up (outcome `no-answer`). */
  timeoutSec: number;
  /** Extra SIP headers on the INVITE to the agent (e.g. X-Queue, X-Caller-Waited). */
  headers?: Record<string, string>;
  /** Display name shown to the agent (default: the caller's). */
  displayName?: string;
  /** Played to the caller while the answered agent holds the call (full path); silence if absent. */
  holdMusic?: string;
}

export interface Offer {
  /** Settles once: answered, or why not. After `answered`, the caller and agent are bridged. */
  readonly outcome: Promise<OfferOutcome>;
  /** Stop ringing (CANCEL). A 200 that races the CANCEL is ACKed and BYEd at once (outcome `cancelled`). */
  cancel(): void;
}

export interface CallEvents {
  /** A DTMF digit from the caller: RFC 4733 (via rtpengine) or SIP INFO. */
  dtmf: (digit: string, via: 'rfc4733' | 'info') => void;
  /** The caller's leg ended; `by` says who ended it. Emitted once. */
  ended: (reason: LegEndReason) => void;
  /** The bridged agent hung up or the bridge failed; the caller is still up (the flow decides). */
  agentLeft: (username: string) => void;
  /**
   * The bridged agent asked to transfer the caller (REFER, blind). We accept
   * it (202), tell the agent it is done (NOTIFY 200) and end the agent's leg
   * ourselves; the caller is back on hold (unbridged, `agentLeft` not fired)
   * before this fires, so the flow can play to it and offer it again at once.
   */
  transfer: (target: { user: string }) => void;
}

export interface InboundCall {
  /** The caller's Call-ID (unique per call; also the rtpengine call-id). */
  readonly id: string;
  readonly caller: Party;
  /** User part of the Request-URI: the IVR/queue number or DID dialled. */
  readonly dialled: string;
  /** When the INVITE arrived. */
  readonly arrivedAt: Date;
  readonly state: 'ringing' | 'answered' | 'bridged' | 'ended';
  /** The agent the caller is bridged to, if any. */
  readonly agent: string | undefined;

  on<E extends keyof CallEvents>(event: E, listener: CallEvents[E]): this;
  off<E extends keyof CallEvents>(event: E, listener: CallEvents[E]): this;

  /** 180 Ringing toward the caller (optional, before answer). */
  ringing(): Promise<void>;
  /** 200 OK with rtpengine's SDP; resolves when the ACK arrives. */
  answer(): Promise<void>;
  /** Final negative answer before `answer` (486, 480, 404...). */
  reject(code: number, reason?: string): Promise<void>;

  /** Play files (full paths) toward the caller, one after another; a new play stops the old one. */
  play(files: string[], options?: PlayOptions): Promise<PlayResult>;
  /** Stop whatever plays now (resolves the pending `play` with `stopped`). */
  stopPlay(): Promise<void>;

  /** Ring an agent (a directory user, through Kamailio's registrar) while the caller keeps hearing what plays. */
  offer(username: string, options: OfferOptions): Offer;
  /** Send the caller to another number or user the gateway routes (a blind B2BUA transfer): ring it and bridge on answer. */
  connect(target: string, options: OfferOptions): Offer;

  /** BYE toward the caller (and the agent, if bridged). */
  hangup(): Promise<void>;

  /**
   * Start or stop rtpengine's recording of this call (ng start/stop
   * recording, pcap method: both parties' RTP into rtpengine's
   * --recording-dir; the contact center turns it into a WAV). Optional: a
   * tier without it records nothing.
   */
  record?(on: boolean): Promise<void>;

  /**
   * Call a supervisor's softphone (a registered user) to monitor this call
   * while it is bridged to an agent. Optional: a tier without it cannot.
   * Throws if the call is not bridged now.
   */
  monitor?(supervisor: string, options: MonitorOptions): Monitor;
}

/**
 * Live monitoring of a bridged call by a supervisor's softphone (README
 * "Monitoring"): listen = the supervisor receives the caller and the agent
 * (rtpengine subscriptions; nothing changes on either leg); whisper = the
 * agent also receives the supervisor on a second leg; barge = the same leg,
 * and the agent's softphone mixes the supervisor into what it sends the caller.
 */
export type MonitorMode = 'listen' | 'whisper' | 'barge';

export type MonitorEndReason =
  | 'supervisor' // end() or the supervisor's BYE
  | 'call-ended' // the caller's leg ended
  | 'agent-left' // the bridged agent's leg ended (hang-up, transfer, a dead tab)
  | 'failed'; // SIP or media failure on the supervisor's leg

export interface MonitorOptions {
  /** Unique id of this session (the X-Monitor header's `id`). */
  id: string;
  mode: MonitorMode;
  /** Seconds the supervisor's softphone may ring (it auto-answers; a few seconds are plenty). */
  timeoutSec: number;
  /** Extra X-Monitor parameters on the supervisor's INVITE (e.g. queue-call, agent). */
  supervisorParams?: Record<string, string>;
  /** Extra X-Monitor parameters on the agent's whisper leg (e.g. queue-call, supervisor). */
  agentParams?: Record<string, string>;
  /** Display name on the supervisor's INVITE. */
  displayName?: string;
}

export interface Monitor {
  readonly id: string;
  readonly mode: MonitorMode;
  /** Settles once: `answered` when the supervisor's softphone answered (monitoring is on), or why not. */
  readonly outcome: Promise<OfferOutcome>;
  /** Listen ↔ whisper ↔ barge on the same supervisor dialog; rejects (mode unchanged) if the agent's whisper leg fails. */
  setMode(mode: MonitorMode): Promise<void>;
  /** BYE (or CANCEL) toward the supervisor and the agent's whisper leg; `ended` fires with `supervisor`. */
  end(): Promise<void>;
  /** Once, however it ends. */
  onEnded(listener: (reason: MonitorEndReason) => void): void;
  /** The agent's softphone ended the whisper leg by itself: the session is back to listen. */
  onModeChanged(listener: (mode: MonitorMode, why: string) => void): void;
}

/** The B2BUA as the contact center sees it. */
export interface CallControl {
  /** An INVITE arrived for `call.dialled`; the handler owns the call from now on. */
  onCall(handler: (call: InboundCall) => void): void;
  /** Calls up now (for the health check and a clean stop). */
  readonly activeCalls: number;
}
