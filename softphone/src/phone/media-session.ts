// The WebRTC side of one call: a SIP.js SessionDescriptionHandler that owns
// the RTCPeerConnection. Our own (rather than SIP.js's Web handler) so that the
// RTCPeerConnection and the devices can be injected, the microphone comes warm
// from the DeviceManager, a spare peer connection with a pre-gathered candidate
// pool can be used, and hold / video / screen share / conference mixing are
// under our control.

import type {
  BodyAndContentType,
  SessionDescriptionHandler,
  SessionDescriptionHandlerModifier,
  SessionDescriptionHandlerOptions,
} from 'sip.js';
import type { DeviceManager } from './media-devices';
import type { AudioProcessingConfig } from './types';
import { DTMF_DURATION_MS, DTMF_INTER_TONE_GAP_MS } from './dtmf';

/** Options SIP.js hands us through sessionDescriptionHandlerOptions(ReInvite). */
export interface MediaSessionOptions extends SessionDescriptionHandlerOptions {
  constraints?: { audio?: boolean; video?: boolean };
  /** Offer/answer for hold (RFC 3264 §8.4: a=sendonly, or a=inactive if they hold too). */
  hold?: boolean;
  offerOptions?: RTCOfferOptions;
}

export interface MediaObserver {
  /** Remote or local tracks changed; re-read the streams. */
  onMediaChange(): void;
  /** The far end's offer put us on hold (sendonly/inactive) or took us off it. */
  onRemoteHold(held: boolean): void;
  onIceConnectionState(state: RTCIceConnectionState): void;
  /** The ICE transport's selected candidate pair changed (`local → remote`, for logs). */
  onSelectedPairChange(pair: string): void;
  /** getUserMedia or an offer/answer step failed; SIP.js ends the session next. */
  onMediaError(error: Error): void;
}

export interface MediaEnvironment {
  devices: DeviceManager;
  audioProcessing: () => AudioProcessingConfig;
  MediaStream: typeof MediaStream;
  peerConnections: PeerConnectionSource;
  iceGatheringTimeoutMs: number;
}

/**
 * Hands out RTCPeerConnections, keeping one spare created in advance: its ICE
 * candidate pool gathers while nobody waits, so the next offer has candidates
 * at once. The spare is renewed after a while so TURN credentials stay fresh.
 */
export class PeerConnectionSource {
  private spare: { pc: RTCPeerConnection; createdAt: number } | undefined;

  constructor(
    private readonly RTCPeerConnectionCtor: typeof RTCPeerConnection,
    private configuration: RTCConfiguration,
    private readonly maxSpareAgeMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  take(): RTCPeerConnection {
    const spare = this.spare;
    this.spare = undefined;
    if (
      spare &&
      this.now() - spare.createdAt < this.maxSpareAgeMs &&
      spare.pc.signalingState === 'stable'
    ) {
      return spare.pc;
    }
    spare?.pc.close();
    return new this.RTCPeerConnectionCtor(this.configuration);
  }

  /** Prepares the spare (only worth it when a candidate pool is configured). */
  prepare(): void {
    if (this.spare || !this.configuration.iceCandidatePoolSize) return;
    this.spare = { pc: new this.RTCPeerConnectionCtor(this.configuration), createdAt: this.now() };
  }

  /**
   * New STUN/TURN servers (TURN credentials that arrived after the phone was
   * made, or were renewed): the next call's peer connection uses them; a spare
   * made with the old ones is replaced.
   */
  setIceServers(iceServers: RTCIceServer[]): void {
    this.configuration = { ...this.configuration, iceServers };
    if (!this.spare) return;
    this.dispose();
    this.prepare();
  }

  dispose(): void {
    this.spare?.pc.close();
    this.spare = undefined;
  }
}

type Kind = 'audio' | 'video';

/** Direction of the first m-line of `kind` in an SDP (session-level attribute as fallback). */
export function sdpDirection(sdp: string, kind: Kind): RTCRtpTransceiverDirection | undefined {
  const sections = sdp.split(/\r?\nm=/);
  const sessionPart = sections[0] ?? '';
  const media = sections.slice(1).find((s) => s.startsWith(`${kind} `));
  if (media === undefined) return undefined;
  const read = (part: string) =>
    /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/m.exec(part)?.[1] as
      RTCRtpTransceiverDirection | undefined;
  // RFC 2543 hold: connection address 0.0.0.0 means "send nothing to me".
  if (/^c=IN IP4 0\.0\.0\.0\s*$/m.test(media)) return 'sendonly';
  return read(media) ?? read(sessionPart) ?? 'sendrecv';
}

const DIRECTIONS: RTCRtpTransceiverDirection[] = ['inactive', 'sendonly', 'recvonly', 'sendrecv'];
/** Direction as bits: 1 = send, 2 = receive (index into DIRECTIONS). */
const bits = (dir: string | undefined) => Math.max(0, DIRECTIONS.indexOf(dir as never));

/**
 * Makes an answer's directions fit our offer (RFC 3264 §6.1): each m-line may
 * only send what we receive and receive what we send. Far ends that answer
 * a=sendonly (hold) with a=sendrecv (sipp's echo scenario, some gateways) are
 * read as a=recvonly instead of being refused, which would end the call.
 * Returns the answer unchanged when it already fits.
 */
export function fitAnswerDirections(answer: string, offer: string): string {
  const eol = answer.includes('\r\n') ? '\r\n' : '\n';
  const offered = offer.split(/\r?\nm=/);
  const parts = answer.split(/\r?\nm=/);
  const dirOf = (part: string, session: string) =>
    /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/m.exec(part)?.[1] ??
    /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/m.exec(session)?.[1] ??
    'sendrecv';
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i] ?? '';
    const ours = offered[i];
    if (ours === undefined || /^\S+ 0 /.test(part)) continue; // rejected m-line
    const theirs = bits(dirOf(part, parts[0] ?? ''));
    const o = bits(dirOf(ours, offered[0] ?? ''));
    // They may send (1) what we receive (2), and receive (2) what we send (1).
    const fit = (theirs & 1 && o & 2 ? 1 : 0) | (theirs & 2 && o & 1 ? 2 : 0);
    if (fit === theirs) continue;
    const dir = `a=${DIRECTIONS[fit]}`;
    const re = /^a=(sendrecv|sendonly|recvonly|inactive)[ \t]*$/m;
    parts[i] = re.test(part) ? part.replace(re, dir) : part.replace(/(\r?\n)?$/, `${eol}${dir}$1`);
  }
  return parts.join(`${eol}m=`);
}

/**
 * The far end's SDP without a=ssrc / a=ssrc-group in its audio m-lines.
 * Chromium ties an m-line's receiver track to the SSRC announced there and
 * plays any other SSRC nowhere: packets arrive and decode, the call is silent
 * (getStats: an inbound-rtp with no trackIdentifier, audioLevel 0). From the
 * SIP side the SSRC changes without new SDP: rtpengine passes the far end's
 * a=ssrc through unchanged but sends its own SSRC once it transcodes (e.g.
 * a PCMU carrier to an Opus-only browser; rtpengine issue 1773), and a leg
 * moved to another far end inside the same rtpengine call keeps the old SDP.
 * Without a=ssrc the browser takes the SSRC that arrives on the m-line.
 * Video keeps its a=ssrc: it is relayed, never transcoded, and its RTX
 * stream is known by a=ssrc-group:FID.
 */
export function withoutAudioSsrc(sdp: string): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const parts = sdp.split(/\r?\nm=/);
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i] ?? '';
    if (!part.startsWith('audio ')) continue;
    parts[i] = part
      .split(/\r?\n/)
      .filter((line) => !/^a=ssrc(-group)?:/.test(line))
      .join(eol);
  }
  return parts.join(`${eol}m=`);
}

export class MediaSession implements SessionDescriptionHandler {
  readonly peerConnection: RTCPeerConnection;
  private watchedIce: RTCIceTransport | undefined;
  readonly localStream: MediaStream;
  readonly remoteStream: MediaStream;
  observer: MediaObserver | undefined;

  /** We want to send video (camera or screen). */
  sendVideo: boolean;
  /** The user muted this call (kept apart from hold). */
  muted = false;
  private _held = false;
  /** Why the far end's last answer to a re-INVITE was not applied (rolled back instead). */
  private answerFailure: Error | undefined;
  /** The microphone track of this call (kept even while a conference mix is sent instead). */
  private micTrack: MediaStreamTrack | undefined;
  private videoTrack: MediaStreamTrack | undefined;
  private videoSource: 'camera' | 'screen' | undefined;
  /** A mixed track (conference) sent in place of micTrack. */
  private audioOverride: MediaStreamTrack | undefined;
  private closed = false;

  constructor(
    private readonly env: MediaEnvironment,
    options: { video: boolean },
  ) {
    this.sendVideo = options.video;
    this.peerConnection = env.peerConnections.take();
    this.localStream = new env.MediaStream();
    this.remoteStream = new env.MediaStream();
    this.peerConnection.addEventListener('track', (ev) => {
      const track = (ev as RTCTrackEvent).track;
      if (!this.remoteStream.getTrackById(track.id)) this.remoteStream.addTrack(track);
      track.addEventListener('ended', () => {
        this.remoteStream.removeTrack(track);
        this.observer?.onMediaChange();
      });
      this.observer?.onMediaChange();
    });
    this.peerConnection.addEventListener('iceconnectionstatechange', () => {
      this.watchSelectedPair();
      this.observer?.onIceConnectionState(this.peerConnection.iceConnectionState);
    });
  }

  /**
   * Reports changes of the selected candidate pair: the browser may move the
   * media to another pair by itself while ICE stays connected (its host path
   * died, a relay pair still works), which the far end must then be told of.
   * RTCIceTransport's event, where the browser has it.
   */
  private watchSelectedPair(): void {
    const ice = this.peerConnection
      .getTransceivers()
      .map((t) => t.sender.transport ?? t.receiver.transport)
      .find(Boolean)?.iceTransport;
    if (!ice || ice === this.watchedIce || typeof ice.getSelectedCandidatePair !== 'function')
      return;
    this.watchedIce = ice;
    ice.addEventListener('selectedcandidatepairchange', () => {
      const p = ice.getSelectedCandidatePair();
      if (!p?.local || !p.remote) return;
      const end = (c: RTCIceCandidate) => `${c.address}:${c.port} ${c.type}`;
      this.observer?.onSelectedPairChange(`${end(p.local)} → ${end(p.remote)}`);
    });
  }

  get videoSending(): 'camera' | 'screen' | undefined {
    return this.sendVideo && this.videoTrack ? this.videoSource : undefined;
  }

  get microphoneTrack(): MediaStreamTrack | undefined {
    return this.micTrack;
  }

  /** We hold the far end: nothing of ours is sent (the tracks are disabled). */
  get held(): boolean {
    return this._held;
  }

  setHeld(held: boolean): void {
    this._held = held;
    this.applyTrackStates();
  }

  /** The error that made us roll back the last re-INVITE's answer, once. */
  takeAnswerFailure(): Error | undefined {
    const e = this.answerFailure;
    this.answerFailure = undefined;
    return e;
  }

  // --- SessionDescriptionHandler -------------------------------------------

  getDescription(
    options?: MediaSessionOptions,
    modifiers?: SessionDescriptionHandlerModifier[],
  ): Promise<BodyAndContentType> {
    return this.reportingErrors(this.createDescription(options, modifiers));
  }

  private async createDescription(
    options?: MediaSessionOptions,
    modifiers?: SessionDescriptionHandlerModifier[],
  ): Promise<BodyAndContentType> {
    this.assertOpen();
    if (options?.constraints?.video !== undefined) this.sendVideo = options.constraints.video;
    if (options?.hold !== undefined) this.setHeld(options.hold);
    await this.attachLocalMedia();
    this.applyDirections();
    const pc = this.peerConnection;
    const iceRestart = options?.offerOptions?.iceRestart === true;
    let description =
      pc.signalingState === 'have-remote-offer'
        ? await pc.createAnswer()
        : await pc.createOffer({ iceRestart });
    description = await this.applyModifiers(description, modifiers);
    // Listen before setLocalDescription so no gathering event can slip by.
    const gathered = this.waitForIceGathering(iceRestart);
    await pc.setLocalDescription(description);
    await gathered;
    const sdp = pc.localDescription?.sdp;
    if (!sdp) throw new Error('no local description after setLocalDescription');
    return { body: sdp, contentType: 'application/sdp' };
  }

  hasDescription(contentType: string): boolean {
    return contentType.split(';')[0]?.trim().toLowerCase() === 'application/sdp';
  }

  setDescription(
    sdp: string,
    _options?: MediaSessionOptions,
    modifiers?: SessionDescriptionHandlerModifier[],
  ): Promise<void> {
    return this.reportingErrors(this.applyRemoteDescription(sdp, modifiers));
  }

  private async applyRemoteDescription(
    sdp: string,
    modifiers?: SessionDescriptionHandlerModifier[],
  ): Promise<void> {
    this.assertOpen();
    const pc = this.peerConnection;
    const type: RTCSdpType = pc.signalingState === 'have-local-offer' ? 'answer' : 'offer';
    const description = await this.applyModifiers({ type, sdp: withoutAudioSsrc(sdp) }, modifiers);
    if (type === 'answer') {
      await this.applyAnswer(description.sdp ?? '');
      return;
    }
    await pc.setRemoteDescription(description);
    const dir = sdpDirection(sdp, 'audio');
    this.observer?.onRemoteHold(dir === 'sendonly' || dir === 'inactive');
  }

  /**
   * Sets the far end's answer; one that does not fit our offer is fitted
   * first (fitAnswerDirections). If the browser still refuses the answer to a
   * re-INVITE, our offer is rolled back and the call keeps its previous media
   * (SIP.js would otherwise ACK and BYE); takeAnswerFailure() tells the Call.
   */
  private async applyAnswer(sdp: string): Promise<void> {
    const pc = this.peerConnection;
    const renegotiation = pc.remoteDescription !== null;
    const fitted = fitAnswerDirections(sdp, pc.localDescription?.sdp ?? '');
    try {
      await pc.setRemoteDescription({ type: 'answer', sdp: fitted });
    } catch (err) {
      if (!renegotiation) throw err;
      this.answerFailure = err instanceof Error ? err : new Error(String(err));
      await pc.setLocalDescription({ type: 'rollback' });
    }
  }

  async rollbackDescription(): Promise<void> {
    if (this.peerConnection.signalingState !== 'stable') {
      await this.peerConnection.setLocalDescription({ type: 'rollback' });
    }
  }

  /** RFC 4733 telephone-events through the audio sender's RTCDTMFSender. */
  sendDtmf(tones: string, options?: { duration?: number; interToneGap?: number }): boolean {
    const dtmf = this.transceiver('audio')?.sender.dtmf;
    if (!dtmf || !dtmf.canInsertDTMF) return false;
    dtmf.insertDTMF(
      tones,
      options?.duration ?? DTMF_DURATION_MS,
      options?.interToneGap ?? DTMF_INTER_TONE_GAP_MS,
    );
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.micTrack?.stop();
    this.videoTrack?.stop();
    this.peerConnection.close();
    this.observer = undefined;
  }

  // --- controls used by Call ----------------------------------------------

  setMuted(muted: boolean): void {
    this.muted = muted;
    this.applyTrackStates();
  }

  /**
   * Mute and hold silence us by disabling (not removing) our tracks: the RTP
   * stream and SSRC stay alive (silence, black frames), so no renegotiation is
   * needed, media relays see traffic, and the far end's jitter buffer stays
   * primed. The microphone is live only when neither applies.
   */
  private applyTrackStates(): void {
    if (this.micTrack) this.micTrack.enabled = !this.muted && !this._held;
    if (this.audioOverride) this.audioOverride.enabled = !this._held;
    if (this.videoTrack) this.videoTrack.enabled = !this._held;
  }

  /** Reapplies hold state to transceiver directions (after a failed re-INVITE). */
  applyDirections(): void {
    const audio = this.transceiver('audio');
    if (audio && audio.direction !== 'stopped')
      audio.direction = this._held ? 'sendonly' : 'sendrecv';
    const video = this.transceiver('video');
    if (video && video.direction !== 'stopped') {
      const sending = this.sendVideo && !!video.sender.track;
      video.direction = sending
        ? this._held
          ? 'sendonly'
          : 'sendrecv'
        : this._held
          ? 'inactive'
          : 'recvonly';
    }
  }

  async switchMicrophone(deviceId: string): Promise<void> {
    const track = await this.env.devices.acquireMicrophone(this.env.audioProcessing(), deviceId);
    const old = this.micTrack;
    this.micTrack = track;
    this.applyTrackStates();
    if (!this.audioOverride) await this.transceiver('audio')?.sender.replaceTrack(track);
    this.swapLocalTrack(old, track);
    old?.stop();
  }

  /** Sends `track` (e.g. a conference mix) instead of the microphone; undefined restores it. */
  async overrideAudio(track: MediaStreamTrack | undefined): Promise<void> {
    this.audioOverride = track;
    this.applyTrackStates();
    await this.transceiver('audio')?.sender.replaceTrack(track ?? this.micTrack ?? null);
  }

  /**
   * Changes what the video sender carries. Returns true when the SDP must be
   * renegotiated (a re-INVITE): adding the first video m-line or changing its
   * direction; a source swap on a live sender is done with replaceTrack alone.
   */
  async setVideoSource(
    source: 'camera' | 'screen' | undefined,
    deviceId?: string,
  ): Promise<boolean> {
    const tx = this.transceiver('video');
    const wasSending = this.sendVideo && !!tx?.sender.track;
    let track: MediaStreamTrack | undefined;
    if (source === 'camera') track = await this.env.devices.acquireCamera(deviceId);
    else if (source === 'screen') track = await this.env.devices.acquireScreen();
    const old = this.videoTrack;
    this.videoTrack = track;
    this.videoSource = source;
    this.sendVideo = !!track;
    this.applyTrackStates();
    if (tx) await tx.sender.replaceTrack(track ?? null);
    this.swapLocalTrack(old, track);
    old?.stop();
    this.observer?.onMediaChange();
    if (!tx) return !!track;
    return wasSending !== !!track;
  }

  /** Called when the browser's own "Stop sharing" ends the screen track. */
  onVideoTrackEnded(fn: () => void): void {
    this.videoTrack?.addEventListener('ended', fn, { once: true });
  }

  // --- internals -------------------------------------------------------------

  private transceiver(kind: Kind): RTCRtpTransceiver | undefined {
    return this.peerConnection
      .getTransceivers()
      .find(
        (t) =>
          t.direction !== 'stopped' && (t.sender.track?.kind ?? t.receiver.track.kind) === kind,
      );
  }

  private swapLocalTrack(
    old: MediaStreamTrack | undefined,
    next: MediaStreamTrack | undefined,
  ): void {
    if (old) this.localStream.removeTrack(old);
    if (next) this.localStream.addTrack(next);
    this.observer?.onMediaChange();
  }

  /** Puts microphone (and camera, when wanted) tracks on the senders before an offer or answer. */
  private async attachLocalMedia(): Promise<void> {
    const pc = this.peerConnection;
    if (!this.micTrack) {
      this.micTrack = await this.env.devices.acquireMicrophone(this.env.audioProcessing());
      this.applyTrackStates();
      this.swapLocalTrack(undefined, this.micTrack);
    }
    const audioTx = this.transceiver('audio');
    const audioTrack = this.audioOverride ?? this.micTrack;
    if (!audioTx)
      pc.addTransceiver(audioTrack, { direction: 'sendrecv', streams: [this.localStream] });
    else if (audioTx.sender.track !== audioTrack) await audioTx.sender.replaceTrack(audioTrack);

    if (this.sendVideo && !this.videoTrack) {
      try {
        this.videoTrack = await this.env.devices.acquireCamera();
        this.videoSource = 'camera';
        this.applyTrackStates();
        this.swapLocalTrack(undefined, this.videoTrack);
      } catch {
        // No camera, or camera permission refused: the call goes ahead with
        // audio only rather than failing (call.video reads false).
        this.sendVideo = false;
      }
    }
    const videoTx = this.transceiver('video');
    if (this.sendVideo && this.videoTrack) {
      if (!videoTx)
        pc.addTransceiver(this.videoTrack, { direction: 'sendrecv', streams: [this.localStream] });
      else if (videoTx.sender.track !== this.videoTrack)
        await videoTx.sender.replaceTrack(this.videoTrack);
    }
  }

  private async applyModifiers(
    description: RTCSessionDescriptionInit,
    modifiers?: SessionDescriptionHandlerModifier[],
  ): Promise<RTCSessionDescriptionInit> {
    let d = description;
    for (const modify of modifiers ?? []) d = await modify(d);
    return d;
  }

  /**
   * Resolves when ICE gathering completes or after iceGatheringTimeoutMs,
   * whichever is first: SIP carries one SDP (no trickle), and waiting for slow
   * server-reflexive/relay candidates (up to seconds) delays every call, while
   * host and most srflx/relay candidates arrive within a few hundred ms.
   */
  private waitForIceGathering(restart: boolean): Promise<void> {
    const pc = this.peerConnection;
    return new Promise<void>((resolve) => {
      let sawGathering = !restart;
      const done = () => {
        clearTimeout(timer);
        pc.removeEventListener('icegatheringstatechange', onState);
        pc.removeEventListener('icecandidate', onCandidate);
        resolve();
      };
      const onState = () => {
        if (pc.iceGatheringState === 'gathering') sawGathering = true;
        else if (pc.iceGatheringState === 'complete' && sawGathering) done();
      };
      const onCandidate = (ev: Event) => {
        const candidate = (ev as RTCPeerConnectionIceEvent).candidate;
        if (candidate) sawGathering = true;
        else if (sawGathering) done();
      };
      const timer = setTimeout(done, this.env.iceGatheringTimeoutMs);
      pc.addEventListener('icegatheringstatechange', onState);
      pc.addEventListener('icecandidate', onCandidate);
      // Without a restart, existing transports may already be done gathering.
      queueMicrotask(() => {
        if (!restart && pc.iceGatheringState === 'complete') done();
      });
    });
  }

  /** Tells the call why media failed before SIP.js turns the failure into a bare termination. */
  private async reportingErrors<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.observer?.onMediaError(error);
      throw error;
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('media session closed');
  }
}
