import { EventEmitter } from 'node:events';
import { Inviter, SessionState, UserAgent, type Invitation, type Session } from 'sip.js';
import type {
  CallEvents,
  InboundCall,
  LegEndReason,
  Monitor,
  MonitorEndReason,
  MonitorOptions,
  Offer,
  OfferOptions,
  OfferOutcome,
  Party,
  PlayOptions,
  PlayResult,
} from './types.js';
import { isHold, type CallMedia, type Ng } from './media.js';
import type { LegRoles } from './sdh.js';
import { MonitorSession } from './monitor.js';

// One caller's leg (the UAS side of the B2BUA) and the legs toward agents it
// rings (UAC side). SIP.js keeps the dialogs and transactions; this class
// keeps what ties them together: one rtpengine call, what plays, who is
// bridged, and who hung up.

export interface CallDeps {
  ua: UserAgent;
  roles: LegRoles;
  media: CallMedia;
  /** SIP domain: agents are reached as sip:<user>@<domain> through Kamailio. */
  domain: string;
  /** Proves to Kamailio that an offer comes from us (X-CallControl-Token). */
  token: string;
  /** Joins a list of prompts into one file (see media.ts joinedPrompt). */
  joinFiles: (files: string[]) => Promise<string>;
  log: {
    info(o: object, m: string): void;
    warn(o: object, m: string): void;
    debug(o: object, m: string): void;
  };
  onEnded: (call: CallLeg) => void;
  /** rtpengine's ng and our media address: supervisors' monitoring legs (monitor.ts). */
  ng?: Ng;
  address?: string;
}

/** What SIP status an agent leg ended with, as the contact center reads it. */
export function outcomeOf(status: number): OfferOutcome {
  if (status === 486 || status === 600) return 'busy';
  if (status === 603) return 'declined';
  if (status === 404 || status === 480 || status === 410) return 'unavailable';
  if (status === 408 || status === 487) return 'no-answer';
  return 'failed';
}

interface AgentLeg {
  username: string;
  tag: string;
  inviter: Inviter;
}

let tagCounter = 0;

export class CallLeg extends EventEmitter implements InboundCall {
  readonly id: string;
  readonly caller: Party;
  readonly dialled: string;
  readonly arrivedAt = new Date();
  private _state: InboundCall['state'] = 'ringing';
  private bridged: AgentLeg | undefined;
  private readonly ringing_ = new Set<AgentLeg>();
  private currentPlay: { settle: (r: PlayResult) => void; timer?: NodeJS.Timeout } | undefined;
  private endedWith: LegEndReason | undefined;
  private rejected = false;
  /** Supervisors monitoring the bridged agent's conversation. */
  private readonly monitors = new Set<MonitorSession>();

  constructor(
    private readonly invitation: Invitation,
    private readonly deps: CallDeps,
  ) {
    super();
    const req = invitation.request;
    this.id = req.callId;
    this.caller = {
      user: req.from.uri.user ?? '',
      displayName: req.from.displayName ?? '',
      uri: req.from.uri.toString(),
    };
    // Kamailio sends sip:callcontrol@…;dialled=<number> (routing/decide.ts)
    this.dialled = req.ruri?.getParam('dialled') ?? req.ruri?.user ?? '';
    deps.roles.set(invitation, { kind: 'caller', media: deps.media });
    invitation.delegate = {
      onInfo: (info) => {
        const digit = dtmfFromInfo(
          info.request.body ?? '',
          info.request.getHeader('content-type') ?? '',
        );
        void info.accept();
        if (digit) this.emit('dtmf', digit, 'info');
      },
      // The caller is never transferred by REFER: its carrier has no reason to, and we would refuse to act on it.
      onRefer: (referral) => void referral.reject({ statusCode: 403 }),
    };
    invitation.stateChange.addListener((s) => {
      if (s !== SessionState.Terminated) return;
      const before = this._state;
      if (before === 'ended') return;
      const reason: LegEndReason =
        before === 'ringing' ? (this.rejected ? 'hangup' : 'cancelled') : 'caller-hangup';
      void this.finish(reason);
    });
  }

  get state(): InboundCall['state'] {
    return this._state;
  }

  get callerTag(): string {
    return this.invitation.request.fromTag;
  }

  get agent(): string | undefined {
    return this.bridged?.username;
  }

  override on<E extends keyof CallEvents>(event: E, listener: CallEvents[E]): this {
    return super.on(event, listener);
  }

  override off<E extends keyof CallEvents>(event: E, listener: CallEvents[E]): this {
    return super.off(event, listener);
  }

  override emit<E extends keyof CallEvents>(event: E, ...args: Parameters<CallEvents[E]>): boolean {
    return super.emit(event, ...args);
  }

  async ringing(): Promise<void> {
    if (this._state === 'ringing') await this.invitation.progress({ statusCode: 180 });
  }

  async answer(): Promise<void> {
    if (this._state !== 'ringing') throw new Error(`cannot answer a call that is ${this._state}`);
    await this.invitation.accept();
    // SIP.js resolves on sending the 200; Established means the ACK arrived.
    await new Promise<void>((resolve, reject) => {
      if (this.invitation.state === SessionState.Established) return resolve();
      const listener = (s: SessionState) => {
        if (s === SessionState.Established) {
          this.invitation.stateChange.removeListener(listener);
          resolve();
        } else if (s === SessionState.Terminated) {
          this.invitation.stateChange.removeListener(listener);
          reject(new Error('call ended before it was answered'));
        }
      };
      this.invitation.stateChange.addListener(listener);
    });
    if (this._state === 'ringing') this._state = 'answered';
  }

  async reject(code: number, reason?: string): Promise<void> {
    if (this._state !== 'ringing') return;
    this.rejected = true;
    await this.invitation.reject({ statusCode: code, ...(reason && { reasonPhrase: reason }) });
  }

  async play(files: string[], options: PlayOptions = {}): Promise<PlayResult> {
    if (this._state === 'ended') return 'ended';
    this.settlePlay('stopped');
    const repeat = Math.max(1, options.repeat ?? 1);
    let settle!: (r: PlayResult) => void;
    const done = new Promise<PlayResult>((resolve) => (settle = resolve));
    const current: NonNullable<typeof this.currentPlay> = { settle };
    this.currentPlay = current;
    try {
      const file = await this.deps.joinFiles(files);
      const ms = await this.deps.media.play(file, repeat);
      this.deps.log.debug({ callId: this.id, file, ms, repeat }, 'call control: playing');
      // Stopped or replaced while rtpengine was starting it: that one settled it.
      if (this.currentPlay === current) {
        current.timer = setTimeout(() => {
          if (this.currentPlay === current) this.currentPlay = undefined;
          settle('done');
        }, ms * repeat);
      }
    } catch (err) {
      this.deps.log.warn({ err, callId: this.id, files }, 'call control: play media failed');
      if (this.currentPlay === current) this.currentPlay = undefined;
      // A prompt that cannot play must not leave the flow waiting forever.
      settle((this._state as InboundCall['state']) === 'ended' ? 'ended' : 'done');
    }
    return done;
  }

  async record(on: boolean): Promise<void> {
    if (this._state === 'ended') return;
    await this.deps.media.record(on);
  }

  async stopPlay(): Promise<void> {
    if (!this.currentPlay) return;
    this.settlePlay('stopped');
    await this.deps.media
      .stop()
      .catch((err: unknown) =>
        this.deps.log.debug({ err, callId: this.id }, 'call control: stop media'),
      );
  }

  private settlePlay(result: PlayResult): void {
    const p = this.currentPlay;
    if (!p) return;
    this.currentPlay = undefined;
    if (p.timer) clearTimeout(p.timer);
    p.settle(result);
  }

  offer(username: string, options: OfferOptions): Offer {
    return this.ring(username, options);
  }

  connect(target: string, options: OfferOptions): Offer {
    return this.ring(target, options);
  }

  private ring(target: string, options: OfferOptions): Offer {
    const { ua, domain, token, roles, media, log } = this.deps;
    const uri = UserAgent.makeURI(`sip:${target}@${domain}`);
    if (!uri || this._state === 'ended') {
      return { outcome: Promise.resolve('failed'), cancel: () => undefined };
    }
    const fromUri = UserAgent.makeURI(`sip:${this.caller.user || 'anonymous'}@${domain}`);
    const headers = { ...options.headers, 'X-CallControl-Token': token };
    const inviter = new Inviter(ua, uri, {
      extraHeaders: Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      params: {
        ...(fromUri && { fromUri }),
        fromDisplayName: options.displayName ?? this.caller.displayName ?? this.caller.user,
      },
    });
    const leg: AgentLeg = { username: target, tag: `agent-${++tagCounter}`, inviter };
    roles.set(inviter, {
      kind: 'agent',
      media,
      tag: leg.tag,
      // The agent holds: the caller hears music instead of silence; resume stops it.
      onOffer: (sdp) => {
        if (this.bridged !== leg) return;
        if (isHold(sdp)) {
          if (options.holdMusic) void this.play([options.holdMusic], { repeat: 100 });
        } else void this.stopPlay();
      },
    });
    this.ringing_.add(leg);

    let settled = false;
    let settle!: (o: OfferOutcome) => void;
    const outcome = new Promise<OfferOutcome>((resolve) => {
      settle = (o) => {
        if (settled) return;
        settled = true;
        this.ringing_.delete(leg);
        clearTimeout(timer);
        resolve(o);
      };
    });
    let cancelledByUs = false;
    let status = 0;
    const timer = setTimeout(() => {
      cancelledByUs = true;
      void inviter.cancel().catch(() => undefined);
      settle('no-answer');
    }, options.timeoutSec * 1000);

    inviter.delegate = {
      onRefer: (referral) => {
        const to = referral.referTo.uri.user;
        if (!to || this.bridged !== leg) {
          void referral.reject({ statusCode: 403 });
          return;
        }
        void referral.accept().then(() => {
          // The caller is ours to move now: tell the agent the transfer is done
          // (RFC 3515 §2.4.5) and end its leg ourselves, so the caller is back
          // on hold (and free to be offered again) before anything else happens.
          inviter.dialog?.notify(undefined, {
            extraHeaders: ['Event: refer', 'Subscription-State: terminated;reason=noresource'],
            body: {
              contentDisposition: 'render',
              contentType: 'message/sipfrag',
              content: 'SIP/2.0 200 OK',
            },
          });
          if (this.bridged === leg) {
            this.bridged = undefined;
            this.stopMonitors('agent-left');
            this._state = 'answered';
            void this.unbridge();
          }
          void inviter.bye().catch(() => undefined);
          this.emit('transfer', { user: to });
        });
      },
    };
    inviter.stateChange.addListener((s: SessionState) => {
      if (s === SessionState.Established) {
        if (cancelledByUs || this._state === 'ended') {
          // the 200 raced our CANCEL (or the caller left meanwhile): end it at once
          void inviter.bye().catch(() => undefined);
          settle('cancelled');
          return;
        }
        void this.bridge(leg).then(
          () => settle('answered'),
          (err: unknown) => {
            log.warn({ err, callId: this.id, agent: target }, 'call control: bridge failed');
            void inviter.bye().catch(() => undefined);
            settle('failed');
          },
        );
      } else if (s === SessionState.Terminated) {
        if (this.bridged === leg) {
          this.bridged = undefined;
          this.stopMonitors('agent-left');
          if (this._state !== 'ended') {
            this._state = 'answered';
            void this.unbridge();
            this.emit('agentLeft', target);
          }
        }
        // SIP.js reports the final response (onReject below) after this state change
        setImmediate(() =>
          settle(cancelledByUs ? 'cancelled' : status ? outcomeOf(status) : 'failed'),
        );
      }
    });

    void inviter
      .invite({
        requestDelegate: {
          onReject: (response) => {
            status = response.message.statusCode ?? 0;
          },
        },
      })
      .catch((err: unknown) => {
        log.warn({ err, callId: this.id, target }, 'call control: INVITE not sent');
        settle('failed');
      });

    return {
      outcome,
      cancel: () => {
        if (settled) return;
        cancelledByUs = true;
        if (inviter.state === SessionState.Established) void inviter.bye().catch(() => undefined);
        else void inviter.cancel().catch(() => undefined);
        settle('cancelled');
      },
    };
  }

  /** The agent is gone and the caller still here: tie the caller to the placeholder again (music can play). */
  private async unbridge(): Promise<void> {
    await this.deps.media.backToPlaceholder().catch((err: unknown) => {
      // the caller may have hung up meanwhile: then there is nothing to tie
      if ((this._state as InboundCall['state']) !== 'ended')
        this.deps.log.warn({ err, callId: this.id }, 'call control: caller back to hold failed');
    });
  }

  /** The agent answered (rtpengine already has the answer: sdh.ts): stop what plays, they hear each other now. */
  private async bridge(leg: AgentLeg): Promise<void> {
    if (this.bridged && this.bridged !== leg) {
      // another agent got there first: this one is not needed
      throw new Error('already bridged');
    }
    this.bridged = leg;
    this._state = 'bridged';
    await this.stopPlay();
    await this.deps.media.stop().catch(() => undefined);
    for (const other of this.ringing_) {
      if (other !== leg) void other.inviter.cancel().catch(() => undefined);
    }
    this.deps.log.info({ callId: this.id, agent: leg.username }, 'call control: bridged');
  }

  async hangup(): Promise<void> {
    if (this._state === 'ended') return;
    if (this._state === 'ringing') {
      await this.reject(480, 'Temporarily Unavailable');
      return;
    }
    await this.invitation.bye().catch(() => undefined);
    await this.finish('hangup');
  }

  /** Every way a call ends comes here once: free the agent legs, the player, rtpengine. */
  private async finish(reason: LegEndReason): Promise<void> {
    if (this.endedWith) return;
    this.endedWith = reason;
    this._state = 'ended';
    this.settlePlay('ended');
    const legs = [...this.ringing_, ...(this.bridged ? [this.bridged] : [])];
    // before the agent's BYE: its leg ending would otherwise tell monitors 'agent-left'
    this.bridged = undefined;
    this.stopMonitors('call-ended');
    for (const leg of legs) endLeg(leg.inviter);
    await this.deps.media
      .delete()
      .catch((err: unknown) =>
        this.deps.log.warn({ err, callId: this.id }, 'call control: rtpengine delete failed'),
      );
    this.deps.log.info({ callId: this.id, reason }, 'call control: call ended');
    this.emit('ended', reason);
    this.deps.onEnded(this);
  }

  monitor(supervisor: string, options: MonitorOptions): Monitor {
    const { ua, roles, media, domain, token, log, ng, address } = this.deps;
    const leg = this.bridged;
    if (this._state !== 'bridged' || !leg) throw new Error('the call is not bridged to an agent');
    if (!ng || !address) throw new Error('monitoring needs rtpengine');
    const session = new MonitorSession(supervisor, options, {
      ua,
      roles,
      ng,
      media,
      domain,
      token,
      address,
      callerUser: this.caller.user,
      agentUser: leg.username,
      agentTag: leg.tag,
      outcomeOf,
      log,
    });
    this.monitors.add(session);
    session.onEnded(() => this.monitors.delete(session));
    return session;
  }

  private stopMonitors(reason: MonitorEndReason): void {
    for (const m of this.monitors) void m.stop(reason);
  }

  /** BYE from the bridged agent or its Kamailio: SIP.js tells us through stateChange (above). */
  get sessions(): Session[] {
    return [this.invitation, ...[...this.ringing_].map((l) => l.inviter)];
  }
}

function endLeg(inviter: Inviter): void {
  if (inviter.state === SessionState.Established) void inviter.bye().catch(() => undefined);
  else if (inviter.state === SessionState.Establishing || inviter.state === SessionState.Initial)
    void inviter.cancel().catch(() => undefined);
}

/** SIP INFO DTMF: application/dtmf-relay ("Signal=5") or application/dtmf ("5"). */
export function dtmfFromInfo(body: string, contentType: string): string | undefined {
  const ct = contentType.toLowerCase();
  let d: string | undefined;
  if (ct.includes('dtmf-relay')) d = /^\s*signal\s*=\s*([0-9*#A-D])/im.exec(body)?.[1];
  else if (ct.includes('application/dtmf')) d = /^\s*([0-9*#A-D])/.exec(body)?.[1];
  return d?.toUpperCase();
}
