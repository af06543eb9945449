// One call (one INVITE dialog) behind the CallHandle interface. Maps SIP.js
// session events onto our call state machine and implements the mid-call
// features (hold, DTMF, transfer, video, recording, ICE restart, RFC 4028
// session timers).

import { Invitation, Inviter, SessionState } from 'sip.js';
import type { Core, Info, Notification, Referral, URI } from 'sip.js';
import { CallStateError, IllegalTransitionError, canTransition } from './call-state';
import type { ResolvedConfig } from './config';
import {
  DTMF_DURATION_MS,
  DTMF_INTER_TONE_GAP_MS,
  DTMF_TONES,
  dtmfInfoBody,
  parseDtmfInfo,
} from './dtmf';
import type { MonitorLeg, QueueCallInfo } from './agent';
import { Emitter } from './emitter';
import type { Unsubscribe } from './emitter';
import type { MediaObserver, MediaSession, MediaSessionOptions } from './media-session';
import { CallRecorder } from './recorder';
import type { RecorderEnvironment } from './recorder';
import { StatsSampler } from './stats';
import type {
  AnswerOptions,
  CallDirection,
  CallEndCause,
  CallEvents,
  CallHandle,
  CallState,
  CallStats,
  CallTimestamps,
  TransferProgress,
} from './types';

type IncomingResponse = Core.IncomingResponse;

/** What a Call needs from the Phone that owns it. */
export interface CallContext {
  config: ResolvedConfig;
  now(): number;
  random(): number;
  isConnected(): boolean;
  makeUri(target: string): URI;
  recorderEnvironment(): RecorderEnvironment;
  onUpdated(call: Call): void;
  onEnded(call: Call): void;
  onReferral(call: Call, referral: Referral): void;
  onRecording(call: Call, blob: Blob): void;
}

/** How long to wait for the NOTIFY that ends a transfer before giving up on knowing its outcome. */
const TRANSFER_TIMEOUT_MS = 32_000;
/**
 * A selected candidate pair younger than this is still settling (the browser
 * may switch to a better pair early in a call); also the shortest time between
 * two ICE restarts made because the browser moved the media by itself.
 */
const PAIR_SETTLE_MS = 5_000;

let callSeq = 0;

function reasonFromHeader(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const text = /text="([^"]*)"/i.exec(value)?.[1];
  const cause = /cause=(\d+)/i.exec(value)?.[1];
  const proto = value.split(';')[0]?.trim();
  return text ?? (cause ? `${proto} cause ${cause}` : undefined);
}

/** Parses "1800;refresher=uac" (Session-Expires, RFC 4028 §4). */
export function parseSessionExpires(
  value: string | undefined,
): { seconds: number; refresher?: 'uac' | 'uas' } | undefined {
  if (!value) return undefined;
  const seconds = Number(value.split(';')[0]?.trim());
  if (!Number.isFinite(seconds) || seconds <= 0) return undefined;
  const r = /;\s*refresher\s*=\s*(uac|uas)/i.exec(value)?.[1]?.toLowerCase();
  return { seconds, refresher: r === 'uac' || r === 'uas' ? r : undefined };
}

/** Reads "SIP/2.0 180 Ringing" from a message/sipfrag body (RFC 3420) into code and reason. */
export function parseSipFrag(body: string): { code: number; reason: string } | undefined {
  const m = /^SIP\/2\.0\s+(\d{3})\s*(.*)$/m.exec(body.trim());
  return m ? { code: Number(m[1]), reason: (m[2] ?? '').trim() } : undefined;
}

export class Call implements CallHandle, MediaObserver {
  readonly id: string;
  readonly direction: CallDirection;
  readonly remoteUri: string;
  readonly remoteDisplayName?: string;
  readonly autoAnswerRequested: boolean;
  readonly videoOffered: boolean;
  readonly queueCall?: Readonly<QueueCallInfo>;
  monitor?: MonitorLeg;

  private _state: CallState;
  private readonly _timestamps: CallTimestamps;
  private _endCause: CallEndCause | undefined;
  private pendingEndCause: CallEndCause | undefined;
  private _remoteHold = false;
  private _transfer: TransferProgress | undefined;
  private _media: MediaSession | undefined;
  private wantVideo: boolean;
  private cameraBeforeScreen = false;
  private recorder: CallRecorder | undefined;
  /** The current recorder's file, once asked for (handed out once, see endRecording). */
  private recorderResult: Promise<Blob> | undefined;
  private _lastRecording: Blob | undefined;
  private readonly sampler: StatsSampler;
  private readonly emitter = new Emitter<CallEvents>();
  /** Re-INVITEs run one at a time (RFC 3261 §14.1: no new offer while one is pending). */
  private reinviteQueue: Promise<unknown> = Promise.resolve();
  private sessionTimer: ReturnType<typeof setTimeout> | undefined;
  private sessionTimerConfig: { seconds: number; weRefresh: boolean } | undefined;
  private iceRecoveryTimer: ReturnType<typeof setTimeout> | undefined;
  /** The media's candidate pair (onSelectedPairChange), since when, and the last restart it caused. */
  private selectedPair: string | undefined;
  private pairSince = 0;
  private pairRestartAt = 0;

  constructor(
    private readonly ctx: CallContext,
    readonly session: Inviter | Invitation,
    options: {
      video: boolean;
      autoAnswerRequested?: boolean;
      videoOffered?: boolean;
      queueCall?: QueueCallInfo;
      monitor?: MonitorLeg;
    },
  ) {
    this.id = `call-${++callSeq}-${Math.floor(ctx.random() * 1e9).toString(36)}`;
    this.direction = session instanceof Inviter ? 'outgoing' : 'incoming';
    // The address without URI parameters: a transfer target may carry a GRUU
    // or a proxy's alias parameters that mean nothing to the user.
    const uri = session.remoteIdentity.uri;
    this.remoteUri = `${uri.scheme}:${uri.user ? `${uri.user}@` : ''}${uri.host}${uri.port ? `:${uri.port}` : ''}`;
    this.remoteDisplayName = session.remoteIdentity.displayName || undefined;
    this.wantVideo = options.video;
    this.autoAnswerRequested = options.autoAnswerRequested ?? false;
    this.videoOffered = options.videoOffered ?? false;
    if (options.queueCall) this.queueCall = { ...options.queueCall };
    if (options.monitor) this.monitor = { ...options.monitor };
    this._state = this.direction === 'outgoing' ? 'idle' : 'incoming';
    this._timestamps = { createdAt: ctx.now() };
    if (this.direction === 'incoming') this._timestamps.ringingAt = ctx.now();
    this.sampler = new StatsSampler(ctx.now);
    session.data = this;
    session.delegate = {
      onBye: (bye) => {
        this.pendingEndCause ??= {
          reason: reasonFromHeader(bye.request.getHeader('reason')) ?? 'Remote hangup',
          by: 'remote',
        };
        void bye.accept();
      },
      onCancel: (cancel) => {
        const reason = reasonFromHeader(cancel.request.getHeader('reason'));
        this.pendingEndCause = {
          code: 487,
          reason: reason ?? 'Cancelled by caller',
          by: 'remote',
        };
      },
      onInfo: (info) => this.onInfo(info),
      onRefer: (referral) => this.ctx.onReferral(this, referral),
      onInvite: (request) => this.onRemoteReinvite(request),
      onNotify: (notification) => void notification.accept(),
    };
    session.stateChange.addListener((s) => this.onSessionState(s));
  }

  // --- CallHandle read side --------------------------------------------------

  get state(): CallState {
    return this._state;
  }
  get timestamps(): Readonly<CallTimestamps> {
    return this._timestamps;
  }
  get endCause(): CallEndCause | undefined {
    return this._endCause;
  }
  get remoteHold(): boolean {
    return this._remoteHold;
  }
  get muted(): boolean {
    return this._media?.muted ?? false;
  }
  get video(): boolean {
    return this._media ? this._media.videoSending !== undefined : false;
  }
  get screenSharing(): boolean {
    return this._media?.videoSending === 'screen';
  }
  get recording(): boolean {
    return this.recorder?.active ?? false;
  }
  get lastRecording(): Blob | undefined {
    return this._lastRecording;
  }
  get transfer(): TransferProgress | undefined {
    return this._transfer;
  }
  get remoteStream(): MediaStream | undefined {
    return this._media?.remoteStream;
  }
  get localStream(): MediaStream | undefined {
    return this._media?.localStream;
  }
  /** The WebRTC side; internal to the core (conference mixing). */
  get media(): MediaSession | undefined {
    return this._media;
  }
  get wantsVideo(): boolean {
    return this.wantVideo;
  }

  on<K extends keyof CallEvents>(event: K, fn: (payload: CallEvents[K]) => void): Unsubscribe {
    return this.emitter.on(event, fn);
  }

  // --- wiring ----------------------------------------------------------------

  /** Called by the SessionDescriptionHandler factory when SIP.js creates our media. */
  attachMedia(media: MediaSession): void {
    this._media = media;
    media.observer = this;
  }

  onMediaChange(): void {
    this.changed();
  }

  onMediaError(error: Error): void {
    // Only while setting up: a failed re-INVITE keeps the call.
    if (this._state === 'established' || this._state === 'held') return;
    this.pendingEndCause ??= { reason: error.message, by: 'system' };
  }

  onRemoteHold(held: boolean): void {
    if (held === this._remoteHold) return;
    this._remoteHold = held;
    this.changed();
  }

  onIceConnectionState(state: RTCIceConnectionState): void {
    // 'failed' needs an ICE restart; 'disconnected' often heals by itself
    // (consent freshness, RFC 7675), so give it a few seconds first.
    if (this.iceRecoveryTimer !== undefined) clearTimeout(this.iceRecoveryTimer);
    this.iceRecoveryTimer = undefined;
    const recover = () => {
      if ((this._state === 'established' || this._state === 'held') && this.ctx.isConnected()) {
        this.iceRestart().catch(() => undefined);
      }
    };
    if (state === 'failed') recover();
    else if (state === 'disconnected') this.iceRecoveryTimer = setTimeout(recover, 3000);
  }

  onSelectedPairChange(pair: string): void {
    const before = this.selectedPair;
    this.selectedPair = pair;
    const now = Date.now();
    // The first pair, and the browser's own early switches to a better pair,
    // are the baseline.
    if (before === undefined || now - this.pairSince < PAIR_SETTLE_MS) {
      if (before === undefined) this.pairSince = now;
      return;
    }
    // Later, the browser moved the media to another pair by itself while ICE
    // stayed up (its host path died, a relay pair works). rtpengine 10.5 keeps
    // sending to the old pair's address, so restart ICE (a re-INVITE with new
    // credentials) to make the far end follow; at most once per PAIR_SETTLE_MS.
    if (before === pair || now - this.pairRestartAt < PAIR_SETTLE_MS) return;
    if ((this._state !== 'established' && this._state !== 'held') || !this.ctx.isConnected())
      return;
    this.pairRestartAt = now;
    this.iceRestart().catch(() => undefined);
  }

  private changed(): void {
    this.emitter.emit('updated', this);
    this.ctx.onUpdated(this);
  }

  /** Records why the call is about to end when the reason is known outside SIP.js (e.g. replaced). */
  setEndCause(cause: CallEndCause): void {
    this.pendingEndCause = cause;
  }

  /** Moves the state machine; illegal moves throw (they are bugs, not conditions). */
  transition(to: CallState): void {
    const from = this._state;
    if (from === to) return;
    if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
    this._state = to;
    const now = this.ctx.now();
    if ((to === 'ringing' || to === 'early') && this._timestamps.ringingAt === undefined) {
      this._timestamps.ringingAt = now;
    }
    if (to === 'established' && this._timestamps.establishedAt === undefined) {
      this._timestamps.establishedAt = now;
    }
    if (to === 'ended') this._timestamps.endedAt = now;
    this.emitter.emit('state', { from, to });
    this.changed();
  }

  private onSessionState(state: SessionState): void {
    if (state === SessionState.Established) {
      if (this._state !== 'established' && this._state !== 'held') this.transition('established');
      // Outgoing calls arm the timer from the 2xx (onAccept, which SIP.js calls after this).
      if (this.direction === 'incoming') this.armSessionTimer();
    } else if (state === SessionState.Terminated) {
      // SIP.js reports Terminated before it calls the request delegate that
      // carries the final response (onReject), so read the cause a tick later.
      queueMicrotask(() => this.finish());
    }
  }

  private finish(): void {
    if (this._state === 'ended') return;
    this._endCause =
      this.pendingEndCause ??
      (this._state === 'incoming'
        ? { code: 480, reason: 'No answer', by: 'system' }
        : { reason: 'Session terminated', by: 'system' });
    this.clearSessionTimer();
    if (this.iceRecoveryTimer !== undefined) clearTimeout(this.iceRecoveryTimer);
    // Finish the file now (whoever hung up): it is handed out through the
    // `recording` events, and stopRecording() still returns it after the call.
    const recording = this.recorder ? this.endRecording() : undefined;
    this.transition('ended');
    this.emitter.emit('ended', this._endCause);
    this.ctx.onEnded(this);
    // Listeners stay until the recording has been handed out.
    if (recording) void recording.finally(() => this.emitter.clear());
    else this.emitter.clear();
  }

  // --- call setup --------------------------------------------------------------

  /** Headers for a new INVITE: RFC 4028 Session-Expires when timers are on. */
  static inviteHeaders(config: ResolvedConfig): string[] {
    if (!config.sessionTimers.enabled) return [];
    return [`Session-Expires: ${config.sessionTimers.expiresSec}`, 'Min-SE: 90'];
  }

  /**
   * Sends the INVITE (outgoing calls); extra headers go in the Inviter's own
   * options (see Call.inviteHeaders). Progress shows in the state; failure ends the call.
   */
  async start(): Promise<void> {
    if (!(this.session instanceof Inviter)) throw new Error('start() is for outgoing calls');
    const inviter = this.session;
    this.transition('calling');
    const options: MediaSessionOptions = { constraints: { audio: true, video: this.wantVideo } };
    try {
      await inviter.invite({
        sessionDescriptionHandlerOptions: options,
        requestDelegate: {
          onProgress: (response) => this.onProgress(response),
          onReject: (response) => {
            this.pendingEndCause ??= {
              code: response.message.statusCode,
              reason: response.message.reasonPhrase ?? 'Rejected',
              by: 'remote',
            };
          },
          onRedirect: (response) => {
            this.pendingEndCause = {
              code: response.message.statusCode,
              reason: `Redirected to ${response.message.getHeader('contact') ?? 'unknown'}`,
              by: 'remote',
            };
          },
          onAccept: (response) => this.startSessionTimerFromResponse(response),
        },
      });
    } catch (err) {
      // getUserMedia refused, SDP failure, transport down: no INVITE went out.
      this.pendingEndCause = {
        reason: err instanceof Error ? err.message : String(err),
        by: 'system',
      };
      if (
        this.session.state === SessionState.Initial ||
        this.session.state === SessionState.Establishing
      ) {
        await this.session.dispose().catch(() => undefined);
      }
      this.finish();
    }
  }

  private onProgress(response: IncomingResponse): void {
    const code = response.message.statusCode ?? 0;
    if (code < 180 || code > 199) return;
    const hasSdp = /application\/sdp/i.test(response.message.getHeader('content-type') ?? '');
    if (hasSdp && this._state !== 'early') this.transition('early');
    else if (this._state === 'calling') this.transition('ringing');
  }

  async answer(options: AnswerOptions = {}): Promise<void> {
    if (!(this.session instanceof Invitation)) throw new Error('answer() is for incoming calls');
    if (this._state !== 'incoming') throw new CallStateError('answer', this._state);
    this.wantVideo = options.video ?? false;
    this.transition('answering');
    const sdhOptions: MediaSessionOptions = { constraints: { audio: true, video: this.wantVideo } };
    try {
      await this.session.accept({
        sessionDescriptionHandlerOptions: sdhOptions,
        extraHeaders: this.sessionTimerAnswerHeaders(),
      });
    } catch (err) {
      this.pendingEndCause ??= {
        reason: err instanceof Error ? err.message : String(err),
        by: 'system',
      };
      if (this.session.state !== SessionState.Terminated) {
        // We could not produce an answer (no microphone, unusable offer): 488.
        await this.session.reject({ statusCode: 488 }).catch(() => this.session.dispose());
      }
      this.finish();
      throw err;
    }
  }

  async decline(code = 486): Promise<void> {
    if (!(this.session instanceof Invitation) || this._state !== 'incoming') {
      throw new CallStateError('decline', this._state);
    }
    if (code < 300 || code > 699) throw new RangeError('decline code must be 3xx-6xx');
    this.pendingEndCause = { code, reason: code === 486 ? 'Busy Here' : 'Declined', by: 'local' };
    await this.session.reject({ statusCode: code });
  }

  async hangup(): Promise<void> {
    switch (this._state) {
      case 'ended':
        return;
      case 'incoming':
        return this.decline(603);
      case 'idle':
      case 'calling':
      case 'ringing':
      case 'early':
        this.pendingEndCause ??= { code: 487, reason: 'Cancelled', by: 'local' };
        if (this.session instanceof Inviter) await this.session.cancel();
        return;
      default:
        this.pendingEndCause ??= { reason: 'Local hangup', by: 'local' };
        if (this.session.state === SessionState.Established) await this.session.bye();
        else await this.session.dispose();
    }
  }

  // --- re-INVITE based features -----------------------------------------------

  /**
   * Sends a re-INVITE and resolves on its 2xx. One at a time; a 491 (glare,
   * RFC 3261 §14.1) is retried once after the random back-off the RFC asks for.
   */
  private reinvite(options: MediaSessionOptions = {}, extraHeaders: string[] = []): Promise<void> {
    const hold = options.hold === true;
    const run = (): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        const attempt = (retry: boolean) => {
          this.session
            .invite({
              sessionDescriptionHandlerOptions: options,
              requestOptions: {
                extraHeaders: [...extraHeaders, ...this.sessionTimerRefreshHeaders()],
              },
              requestDelegate: {
                onAccept: (response) => {
                  this.onRefreshAccepted(response);
                  // The far end's answer was refused by the browser and rolled
                  // back: the dialog and the previous media go on. A hold is
                  // still done on our side (our tracks are off), so it counts.
                  const failure = this._media?.takeAnswerFailure();
                  if (failure && !hold) {
                    reject(new Error(`the far end's answer was not usable: ${failure.message}`));
                  } else resolve();
                },
                onReject: (response) => {
                  const code = response.message.statusCode ?? 0;
                  if (code === 491 && retry) {
                    // The Call-ID owner waits 2.1–4 s, the other side 0–2 s.
                    const ownerDelay =
                      this.direction === 'outgoing' ? 2100 + this.ctx.random() * 1900 : 0;
                    const delay = ownerDelay || this.ctx.random() * 2000;
                    setTimeout(() => attempt(false), delay);
                    return;
                  }
                  reject(
                    new Error(
                      `re-INVITE rejected: ${code} ${response.message.reasonPhrase ?? ''}`.trim(),
                    ),
                  );
                },
              },
            })
            .catch(reject);
        };
        attempt(true);
      });
    const next = this.reinviteQueue.then(run, run);
    this.reinviteQueue = next.catch(() => undefined);
    return next;
  }

  async hold(): Promise<void> {
    if (this._state !== 'established') throw new CallStateError('hold', this._state);
    const media = this.requireMedia();
    // Silent at once, not only once the far end agreed (see MediaSession.setHeld).
    media.setHeld(true);
    try {
      await this.reinvite({ hold: true });
    } catch (err) {
      media.setHeld(false);
      media.applyDirections();
      throw err;
    }
    this.transition('held');
  }

  async unhold(): Promise<void> {
    if (this._state !== 'held') throw new CallStateError('unhold', this._state);
    const media = this.requireMedia();
    media.setHeld(false);
    try {
      await this.reinvite({ hold: false });
    } catch (err) {
      media.setHeld(true);
      media.applyDirections();
      throw err;
    }
    this.transition('established');
  }

  async iceRestart(): Promise<void> {
    if (this._state !== 'established' && this._state !== 'held') {
      throw new CallStateError('restart ICE on', this._state);
    }
    // The pair chosen after the restart is the new baseline.
    this.selectedPair = undefined;
    await this.reinvite({ offerOptions: { iceRestart: true } });
  }

  mute(): void {
    this.requireMedia().setMuted(true);
    this.changed();
  }

  unmute(): void {
    this.requireMedia().setMuted(false);
    this.changed();
  }

  async startVideo(): Promise<void> {
    this.requireActive('start video on');
    this.wantVideo = true;
    if (await this.requireMedia().setVideoSource('camera')) await this.reinvite();
    this.changed();
  }

  async stopVideo(): Promise<void> {
    this.requireActive('stop video on');
    this.wantVideo = false;
    if (await this.requireMedia().setVideoSource(undefined)) await this.reinvite();
    this.changed();
  }

  async switchCamera(deviceId: string): Promise<void> {
    const media = this.requireMedia();
    if (media.videoSending !== 'camera') throw new Error('the camera is not being sent');
    await media.setVideoSource('camera', deviceId);
  }

  async switchMicrophone(deviceId: string): Promise<void> {
    await this.requireMedia().switchMicrophone(deviceId);
  }

  async startScreenShare(): Promise<void> {
    this.requireActive('share the screen on');
    const media = this.requireMedia();
    this.cameraBeforeScreen = media.videoSending === 'camera';
    if (await media.setVideoSource('screen')) await this.reinvite();
    // The browser's own "Stop sharing" button ends the track.
    media.onVideoTrackEnded(() => {
      if (this.screenSharing) this.stopScreenShare().catch(() => undefined);
    });
    this.changed();
  }

  async stopScreenShare(): Promise<void> {
    const media = this.requireMedia();
    if (media.videoSending !== 'screen') return;
    const next = this.cameraBeforeScreen ? 'camera' : undefined;
    this.wantVideo = next === 'camera';
    if (await media.setVideoSource(next)) await this.reinvite();
    this.changed();
  }

  // --- DTMF --------------------------------------------------------------------

  async sendDtmf(digits: string): Promise<void> {
    if (!DTMF_TONES.test(digits)) throw new Error(`invalid DTMF '${digits}'`);
    // Early media IVRs ("press 1 to...") need DTMF before the 200 OK as well.
    if (!['established', 'early', 'held'].includes(this._state))
      throw new CallStateError('send DTMF on', this._state);
    if (this.ctx.config.dtmfMode === 'rfc4733' && this.requireMedia().sendDtmf(digits)) return;
    // INFO mode, or the far end did not negotiate telephone-event.
    if (this.session.state !== SessionState.Established) {
      throw new Error('SIP INFO DTMF needs a confirmed dialog');
    }
    for (const digit of digits) {
      await this.session.info({
        requestOptions: {
          body: {
            contentDisposition: 'render',
            contentType: 'application/dtmf-relay',
            content: dtmfInfoBody(digit),
          },
        },
      });
      await new Promise((r) => setTimeout(r, DTMF_DURATION_MS + DTMF_INTER_TONE_GAP_MS));
    }
  }

  private onInfo(info: Info): void {
    const dtmf = parseDtmfInfo(
      info.request.getHeader('content-type') ?? '',
      info.request.body ?? '',
    );
    if (dtmf) {
      void info.accept();
      this.emitter.emit('dtmf', dtmf);
      return;
    }
    // A monitoring leg's mode change (whisper ⇄ barge), API.md.
    const mode = this.monitor
      ? /"mode"\s*:\s*"(listen|whisper|barge)"/.exec(info.request.body ?? '')?.[1]
      : undefined;
    if (this.monitor && mode) {
      void info.accept();
      this.monitor = { ...this.monitor, mode: mode as MonitorLeg['mode'] };
      this.emitter.emit('updated', this);
      return;
    }
    // RFC 6086: an INFO package we do not know gets 469 Bad Info Package.
    void info.reject({ statusCode: 469 });
  }

  // --- transfer ----------------------------------------------------------------

  async blindTransfer(target: string): Promise<TransferProgress> {
    this.requireActive('transfer');
    const uri = this.ctx.makeUri(target);
    return this.refer('blind', uri.toString(), (onNotify, requestDelegate) =>
      this.session.refer(uri, { onNotify, requestDelegate }),
    );
  }

  /**
   * Attended transfer (RFC 5589 §7): `this` is the party being transferred,
   * `other` the consultation call to the transfer target. The REFER goes to
   * this call's peer with Refer-To = target?Replaces=<other's dialog>, so the
   * transferee's INVITE replaces our dialog with the target.
   */
  async attendedTransfer(other: CallHandle): Promise<TransferProgress> {
    this.requireActive('transfer');
    if (!(other instanceof Call) || other === this)
      throw new Error('attendedTransfer needs another call of this phone');
    const dialog = other.session.dialog;
    if (!dialog || (other.state !== 'established' && other.state !== 'held')) {
      throw new CallStateError('transfer to', other.state);
    }
    const referTo = Call.replacesReferTo(other);
    const extraHeaders = [
      `Referred-By: <${this.session.localIdentity.uri.toString()}>`,
      `Contact: ${this.session._contact ?? ''}`,
      `Refer-To: ${referTo}`,
    ];
    return this.refer('attended', other.remoteUri, (onNotify, requestDelegate) =>
      this.session._refer(onNotify, requestDelegate, { extraHeaders }),
    );
  }

  /**
   * Refer-To for an attended transfer. The target is the other party's AOR,
   * not its Contact, unless that Contact is a GRUU (RFC 5627, `gr`): a proxy
   * routes by AOR, and a plain Contact is not something it will route to (a
   * WebRTC …@xyz.invalid is not routable at all; a SIP phone's
   * sip:1003-0x…@host:port is looked up as user "1003-0x…" and gets 404).
   * The AOR reaches every contact of the target and only the one holding the
   * dialog accepts the Replaces (RFC 3891; the others answer 481); a B2BUA PBX
   * matches the Replaces whatever the Request-URI. Tags are from the target's
   * view: to-tag = its local tag = our remote tag.
   */
  static replacesReferTo(other: Call): string {
    const dialog = other.session.dialog;
    if (!dialog) throw new Error('no dialog to replace');
    const contact = dialog.remoteTarget;
    const target = contact.hasParam('gr')
      ? contact.toString()
      : other.session.remoteIdentity.uri.toString();
    const replaces = encodeURIComponent(
      `${dialog.callId};to-tag=${dialog.remoteTag};from-tag=${dialog.localTag}`,
    );
    const sep = target.includes('?') ? '&' : '?';
    return `<${target}${sep}Replaces=${replaces}>`;
  }

  private refer(
    kind: 'blind' | 'attended',
    target: string,
    send: (
      onNotify: (n: Notification) => void,
      requestDelegate: Core.OutgoingRequestDelegate,
    ) => Promise<unknown>,
  ): Promise<TransferProgress> {
    return new Promise<TransferProgress>((resolve, reject) => {
      let done = false;
      const update = (p: Omit<TransferProgress, 'kind' | 'target'>) => {
        this._transfer = { kind, target, ...p };
        this.emitter.emit('transfer', this._transfer);
        this.changed();
        if (p.state === 'succeeded' || p.state === 'failed') finish();
      };
      const timer = setTimeout(() => finish(), TRANSFER_TIMEOUT_MS);
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        const result = this._transfer ?? {
          kind,
          target,
          state: 'failed',
          reason: 'no answer to REFER',
        };
        // RFC 5589: once the transferee reached the target, our leg is done.
        if (result.state === 'succeeded' && this._state !== 'ended')
          this.hangup().catch(() => undefined);
        resolve(result);
      };
      update({ state: 'requested' });
      const onNotify = (notification: Notification) => {
        void notification.accept();
        const frag = parseSipFrag(notification.request.body ?? '');
        if (!frag) return;
        if (frag.code < 200) update({ state: 'trying', code: frag.code, reason: frag.reason });
        else if (frag.code < 300)
          update({ state: 'succeeded', code: frag.code, reason: frag.reason });
        else update({ state: 'failed', code: frag.code, reason: frag.reason });
      };
      send(onNotify, {
        onAccept: () => {
          if (this._transfer?.state === 'requested') update({ state: 'accepted' });
        },
        onReject: (response) =>
          update({
            state: 'failed',
            code: response.message.statusCode,
            reason: response.message.reasonPhrase,
          }),
      }).catch((err: unknown) => {
        clearTimeout(timer);
        done = true;
        reject(err instanceof Error ? err : new Error(String(err)));
      });
    });
  }

  // --- recording, stats ----------------------------------------------------------

  startRecording(): void {
    this.requireActive('record');
    if (this.recorder?.active) return;
    const media = this.requireMedia();
    this.recorderResult = undefined;
    this.recorder = new CallRecorder(
      this.ctx.recorderEnvironment(),
      media.localStream.getAudioTracks(),
      media.remoteStream.getAudioTracks(),
    );
    this.changed();
  }

  async stopRecording(): Promise<Blob> {
    // The call ended while recording: the file was finished then.
    if (!this.recorder && this._state === 'ended' && this._lastRecording)
      return this._lastRecording;
    if (!this.recorder) throw new Error('not recording');
    const blob = await this.endRecording();
    if (this._state !== 'ended') this.changed();
    return blob;
  }

  /** Stops the recorder (once) and hands the file out: lastRecording and the `recording` events. */
  private endRecording(): Promise<Blob> {
    const recorder = this.recorder;
    if (!recorder) throw new Error('not recording');
    this.recorderResult ??= recorder.stop().then((blob) => {
      if (this.recorder === recorder) {
        this.recorder = undefined;
        this.recorderResult = undefined;
      }
      this._lastRecording = blob;
      this.emitter.emit('recording', blob);
      this.ctx.onRecording(this, blob);
      return blob;
    });
    return this.recorderResult;
  }

  async getStats(): Promise<CallStats> {
    const media = this.requireMedia();
    return this.sampler.sample(await media.peerConnection.getStats());
  }

  // --- RFC 4028 session timers ------------------------------------------------------

  /** Headers for our 200 to an INVITE that asked for a session timer. */
  private sessionTimerAnswerHeaders(): string[] {
    if (!this.ctx.config.sessionTimers.enabled || !(this.session instanceof Invitation)) return [];
    const request = this.session.request;
    const se = parseSessionExpires(request.getHeader('session-expires'));
    if (!se) return [];
    const uacSupports = /\btimer\b/i.test(request.getHeaders('supported').join(','));
    // Let the caller refresh when it can (it asked for the timer); otherwise we must.
    const refresher = uacSupports ? (se.refresher ?? 'uac') : 'uas';
    this.sessionTimerConfig = { seconds: se.seconds, weRefresh: refresher === 'uas' };
    const headers = [`Session-Expires: ${se.seconds};refresher=${refresher}`];
    if (uacSupports) headers.push('Require: timer');
    return headers;
  }

  private sessionTimerRefreshHeaders(): string[] {
    const t = this.sessionTimerConfig;
    if (!t?.weRefresh) return [];
    return [
      `Session-Expires: ${t.seconds};refresher=${this.direction === 'outgoing' ? 'uac' : 'uas'}`,
    ];
  }

  /** RFC 4028 §7.2: the 2xx to our INVITE says whether timers run and who refreshes. */
  private startSessionTimerFromResponse(response: IncomingResponse): void {
    if (!this.ctx.config.sessionTimers.enabled) return;
    const se = parseSessionExpires(response.message.getHeader('session-expires'));
    // No Session-Expires in the 2xx: the far end and proxies do not do timers.
    if (!se) return;
    this.sessionTimerConfig = { seconds: se.seconds, weRefresh: (se.refresher ?? 'uac') === 'uac' };
    this.armSessionTimer();
  }

  private onRefreshAccepted(response: IncomingResponse): void {
    const se = parseSessionExpires(response.message.getHeader('session-expires'));
    if (se && this.sessionTimerConfig) {
      this.sessionTimerConfig.seconds = se.seconds;
    }
    this.armSessionTimer();
  }

  private onRemoteReinvite(_request: Core.IncomingRequestMessage): void {
    // Any re-INVITE from the peer is also a session refresh.
    this.armSessionTimer();
  }

  private armSessionTimer(): void {
    const t = this.sessionTimerConfig;
    if (!t || this._state === 'ended') return;
    this.clearSessionTimer();
    if (t.weRefresh) {
      // RFC 4028 §10: refresh at half the interval.
      this.sessionTimer = setTimeout(
        () => {
          this.reinvite().catch(() => undefined);
        },
        (t.seconds * 1000) / 2,
      );
    } else {
      // §10: without a refresh, BYE at Session-Expires minus min(32 s, a third).
      const margin = Math.min(32, t.seconds / 3);
      this.sessionTimer = setTimeout(
        () => {
          this.pendingEndCause = { code: 408, reason: 'Session timer expired', by: 'system' };
          this.hangup().catch(() => undefined);
        },
        (t.seconds - margin) * 1000,
      );
    }
  }

  private clearSessionTimer(): void {
    if (this.sessionTimer !== undefined) clearTimeout(this.sessionTimer);
    this.sessionTimer = undefined;
  }

  // --- helpers -----------------------------------------------------------------

  private requireMedia(): MediaSession {
    if (!this._media) throw new Error('call has no media yet');
    return this._media;
  }

  private requireActive(action: string): void {
    if (this._state !== 'established' && this._state !== 'held')
      throw new CallStateError(action, this._state);
  }
}
