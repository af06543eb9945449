import { Inviter, SessionState, UserAgent } from 'sip.js';
import type {
  Monitor,
  MonitorEndReason,
  MonitorMode,
  MonitorOptions,
  OfferOutcome,
} from './types.js';
import { legParams, type CallMedia, type Ng } from './media.js';
import type { LegRoles } from './sdh.js';

// A supervisor monitoring a bridged call (README "Monitoring"). rtpengine 10.5
// has no mixer, so nothing here mixes; it only routes copies of streams:
//
// - the caller's rtpengine call X gets a subscription (ng `subscribe request`
//   with from-tags caller + agent): two sendonly m-lines toward the
//   supervisor. Subscriptions add a participant and leave the caller's and the
//   agent's legs exactly as they were (listen is invisible to both).
// - the supervisor's microphone comes in on a third m-line (first in the SDP,
//   sendrecv), anchored in a small rtpengine call Y of its own: an
//   offer/answer pair between the supervisor ("talk") and a placeholder whose
//   RTP goes to the discard port. In listen mode that is where it ends.
// - whisper / barge: "talk" is re-offered toward a second leg to the agent's
//   softphone (the same move media.ts makes from the caller's placeholder to
//   an agent; `port-latching` keeps the supervisor's port), so the agent
//   receives the supervisor and the supervisor receives the agent's own
//   microphone on m-line 0. Barge differs only for the agent's softphone,
//   which then mixes the supervisor into what it sends the caller (told by
//   INFO on that leg); the caller's leg is never touched, so a carrier never
//   sees a re-INVITE. In barge the agent's leg (m-line 2) carries that mix,
//   i.e. the supervisor's own voice, so the supervisor's softphone plays
//   m-lines 0 and 1 then (API.md): a mix-minus without a mixer.

export interface MonitorDeps {
  ua: UserAgent;
  roles: LegRoles;
  ng: Ng;
  /** The monitored caller's media (rtpengine call X). */
  media: CallMedia;
  domain: string;
  token: string;
  /** Our media address (the placeholder's c=). */
  address: string;
  callerUser: string;
  agentUser: string;
  /** The bridged agent's tag in call X. */
  agentTag: string;
  outcomeOf: (status: number) => OfferOutcome;
  log: { info(o: object, m: string): void; warn(o: object, m: string): void };
}

/** Seconds the agent's softphone may take to auto-answer the whisper leg. */
const COACH_ANSWER_SEC = 10;
const TALK_TAG = 'talk';
const TALK_PLACEHOLDER_TAG = 'talk-placeholder';
export const MONITOR_INFO_TYPE = 'application/x-monitor+json';

/** An SDP split into its session part and its media sections (each ending in CRLF). */
export function splitSdp(sdp: string): { session: string; media: string[] } {
  const text = sdp.replace(/\r?\n/g, '\r\n').replace(/(\r\n)?$/, '\r\n');
  const i = text.search(/^m=/m);
  if (i < 0) return { session: text, media: [] };
  return { session: text.slice(0, i), media: text.slice(i).split(/(?=^m=)/m) };
}

/** A media section that carries its own c= line (taken from its session when it has none). */
export function withConnection(section: string, session: string): string {
  if (/^c=/m.test(section)) return section;
  const c = /^c=[^\r\n]*\r\n/m.exec(session)?.[0];
  return c ? section.replace(/^(m=[^\r\n]*\r\n)/, `$1${c}`) : section;
}

/** The supervisor's offer: m-line 0 = talk (recvonly), then the subscription's m-lines (caller, agent). */
export function supervisorOfferSdp(subscription: string, talk: string): string {
  const sub = splitSdp(subscription);
  const t = splitSdp(talk);
  if (sub.media.length !== 2 || t.media.length !== 1)
    throw new Error(
      `monitor: expected 2 subscribed and 1 talk m-lines, got ${sub.media.length} and ${t.media.length}`,
    );
  return sub.session + withConnection(t.media[0]!, t.session) + sub.media.join('');
}

/** The supervisor's answer split back: talk (m-line 0) and the subscription's answer (m-lines 1, 2). */
export function splitSupervisorAnswer(answer: string): { talk: string; subscription: string } {
  const a = splitSdp(answer);
  if (a.media.length !== 3)
    throw new Error(`monitor: the supervisor answered ${a.media.length} m-lines, not 3`);
  return {
    talk: a.session + a.media[0]!,
    subscription: a.session + a.media[1]! + a.media[2]!,
  };
}

/**
 * The placeholder's offer toward the supervisor's talk m-line: the caller's
 * codecs (so the agent's softphone gets what it already decodes), sendrecv
 * (the agent's microphone comes back on it in whisper and barge), RTP to the
 * discard port.
 */
export function talkPlaceholderSdp(like: string, address: string): string {
  const section = splitSdp(like).media[0] ?? '';
  const pts = /^m=audio \d+ [^ ]+ ([\d ]+)/m.exec(section)?.[1]?.trim() ?? '0';
  const attrs = section.split('\r\n').filter((l) => /^a=(rtpmap|fmtp|ptime):/.test(l));
  const ip = address.includes(':') ? 'IP6' : 'IP4';
  return (
    [
      'v=0',
      `o=- ${Date.now()} 1 IN ${ip} ${address}`,
      's=-',
      `c=IN ${ip} ${address}`,
      't=0 0',
      `m=audio 9 RTP/AVP ${pts}`,
      ...attrs,
      'a=sendrecv',
    ].join('\r\n') + '\r\n'
  );
}

let monitorCounter = 0;

export class MonitorSession implements Monitor {
  readonly id: string;
  readonly outcome: Promise<OfferOutcome>;
  private _mode: MonitorMode;
  private settle!: (o: OfferOutcome) => void;
  private settled = false;
  private readonly supervisorLeg: Inviter;
  private coach: { inviter: Inviter; tag: string } | undefined;
  private endedWith: MonitorEndReason | undefined;
  private readonly endedListeners: ((r: MonitorEndReason) => void)[] = [];
  private readonly modeListeners: ((m: MonitorMode, why: string) => void)[] = [];
  /** Mode changes one at a time. */
  private changing: Promise<unknown> = Promise.resolve();
  private readonly subTag: string;
  private readonly talkCall: string;
  /** The supervisor's answer for m-line 0 and the placeholder's offer: what "talk" is re-offered with. */
  private talkSdp = '';
  private placeholderSdp = '';
  private coachCounter = 0;

  constructor(
    private readonly supervisor: string,
    private readonly opts: MonitorOptions,
    private readonly d: MonitorDeps,
  ) {
    this.id = opts.id;
    this._mode = opts.mode;
    this.subTag = `monitor-${++monitorCounter}-${opts.id}`;
    this.talkCall = `monitor-${opts.id}-${d.media.callId}`;
    this.outcome = new Promise<OfferOutcome>((resolve) => {
      this.settle = (o) => {
        if (this.settled) return;
        this.settled = true;
        resolve(o);
      };
    });
    this.supervisorLeg = this.callSupervisor();
  }

  get mode(): MonitorMode {
    return this._mode;
  }

  onEnded(listener: (reason: MonitorEndReason) => void): void {
    this.endedListeners.push(listener);
  }

  onModeChanged(listener: (mode: MonitorMode, why: string) => void): void {
    this.modeListeners.push(listener);
  }

  private header(mode: MonitorMode, params: Record<string, string> = {}): string {
    const p = Object.entries({ id: this.id, ...params }).map(([k, v]) => `;${k}=${v}`);
    return `X-Monitor: ${mode}${p.join('')}`;
  }

  // ---------------------------------------------------------------- media

  private async supervisorOffer(): Promise<string> {
    const { ng, media, agentTag, address } = this.d;
    const plain = legParams(false, false);
    // call X: copies of the caller and the agent, nothing else changes there
    const sub = await media.exclusive(() =>
      ng.command('subscribeRequest', {
        'call-id': media.callId,
        'from-tags': [media.callerTag, agentTag],
        'to-tag': this.subTag,
        ...plain,
      }),
    );
    // call Y: the supervisor's microphone, tied to a placeholder until a whisper leg takes it
    this.placeholderSdp = talkPlaceholderSdp(String(sub.sdp), address);
    const talk = await ng.command('offer', {
      'call-id': this.talkCall,
      'from-tag': TALK_PLACEHOLDER_TAG,
      'to-tag': TALK_TAG,
      ...plain,
      sdp: this.placeholderSdp,
    });
    return supervisorOfferSdp(String(sub.sdp), String(talk.sdp));
  }

  private async supervisorAnswer(sdp: string): Promise<void> {
    const { ng, media } = this.d;
    const { talk, subscription } = splitSupervisorAnswer(sdp);
    this.talkSdp = talk;
    await ng.command('answer', {
      'call-id': this.talkCall,
      'from-tag': TALK_PLACEHOLDER_TAG,
      'to-tag': TALK_TAG,
      ...legParams(false, false),
      sdp: talk,
    });
    await media.exclusive(() =>
      ng.command('subscribeAnswer', {
        'call-id': media.callId,
        'to-tag': this.subTag,
        // the softphone may answer fewer codecs than the caller offered
        flags: ['allow transcoding'],
        sdp: subscription,
      }),
    );
  }

  /** "talk" re-offered toward the agent's whisper leg (the supervisor's port stays: port-latching). */
  private async coachOffer(tag: string): Promise<string> {
    const r = await this.d.ng.command('offer', {
      'call-id': this.talkCall,
      'from-tag': TALK_TAG,
      'to-tag': tag,
      ...legParams(false, false),
      sdp: this.talkSdp.replace(/^a=(sendonly|recvonly|inactive)\r\n/m, 'a=sendrecv\r\n'),
    });
    return String(r.sdp);
  }

  private async coachAnswer(tag: string, sdp: string): Promise<void> {
    await this.d.ng.command('answer', {
      'call-id': this.talkCall,
      'from-tag': TALK_TAG,
      'to-tag': tag,
      ...legParams(false, false),
      sdp,
    });
  }

  /** No whisper leg any more: "talk" back to the placeholder (the supervisor is heard by nobody). */
  private async talkToPlaceholder(): Promise<void> {
    const { ng } = this.d;
    const base = {
      'call-id': this.talkCall,
      'from-tag': TALK_TAG,
      'to-tag': TALK_PLACEHOLDER_TAG,
      ...legParams(false, false),
    };
    await ng.command('offer', { ...base, sdp: this.talkSdp });
    await ng.command('answer', { ...base, sdp: this.placeholderSdp });
  }

  private async quietly(what: string, work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (err) {
      // the call may be gone already (rtpengine deleted it with the caller's call)
      if (!/unknown call|unknown tag|not found/i.test((err as Error).message))
        this.d.log.warn({ err, monitor: this.id }, `monitor: ${what} failed`);
    }
  }

  // ---------------------------------------------------------------- SIP

  private callSupervisor(): Inviter {
    const { ua, domain, token, roles, log, callerUser } = this.d;
    const uri = UserAgent.makeURI(`sip:${this.supervisor}@${domain}`);
    if (!uri) throw new Error(`monitor: bad supervisor ${this.supervisor}`);
    const fromUri = UserAgent.makeURI(`sip:${callerUser || 'anonymous'}@${domain}`);
    const inviter = new Inviter(ua, uri, {
      extraHeaders: [
        this.header(this._mode, this.opts.supervisorParams),
        `X-CallControl-Token: ${token}`,
      ],
      params: {
        ...(fromUri && { fromUri }),
        fromDisplayName: this.opts.displayName ?? `Monitor ${callerUser}`,
      },
    });
    roles.set(inviter, {
      kind: 'fixed',
      offer: () => this.supervisorOffer(),
      answer: (sdp) => this.supervisorAnswer(sdp),
    });
    let status = 0;
    let cancelledByUs = false;
    let answered = false;
    const timer = setTimeout(() => {
      cancelledByUs = true;
      void inviter.cancel().catch(() => undefined);
      this.settle('no-answer');
      void this.stop('failed');
    }, this.opts.timeoutSec * 1000);
    inviter.stateChange.addListener((s: SessionState) => {
      if (s === SessionState.Established) {
        clearTimeout(timer);
        if (this.endedWith) {
          void inviter.bye().catch(() => undefined);
          this.settle('cancelled');
          return;
        }
        answered = true;
        log.info({ monitor: this.id, supervisor: this.supervisor, mode: this._mode }, 'monitoring');
        if (this._mode === 'listen') this.settle('answered');
        else
          void this.startCoach(this._mode)
            .catch((err: unknown) => this.coachFailed(err))
            .finally(() => this.settle('answered'));
      } else if (s === SessionState.Terminated) {
        clearTimeout(timer);
        // the final response is reported (onReject) after this state change
        setImmediate(() => {
          this.settle(cancelledByUs ? 'cancelled' : status ? this.d.outcomeOf(status) : 'failed');
          // after an answer: the supervisor hung up (or we did, and stop already ran)
          void this.stop(answered ? 'supervisor' : 'failed');
        });
      }
    });
    void inviter
      .invite({
        requestDelegate: { onReject: (r) => (status = r.message.statusCode ?? 0) },
      })
      .catch((err: unknown) => {
        log.warn({ err, monitor: this.id }, 'monitor: INVITE not sent');
        this.settle('failed');
        void this.stop('failed');
      });
    return inviter;
  }

  /** The whisper leg toward the agent's softphone (auto-answered there); resolves once it answered. */
  private startCoach(mode: MonitorMode): Promise<void> {
    const { ua, domain, token, roles, agentUser } = this.d;
    const uri = UserAgent.makeURI(`sip:${agentUser}@${domain}`);
    const fromUri = UserAgent.makeURI(`sip:${this.supervisor}@${domain}`);
    if (!uri) return Promise.reject(new Error(`bad agent ${agentUser}`));
    const tag = `coach-${++this.coachCounter}`;
    const inviter = new Inviter(ua, uri, {
      extraHeaders: [this.header(mode, this.opts.agentParams), `X-CallControl-Token: ${token}`],
      params: { ...(fromUri && { fromUri }), fromDisplayName: `Supervisor ${this.supervisor}` },
    });
    roles.set(inviter, {
      kind: 'fixed',
      offer: () => this.coachOffer(tag),
      answer: (sdp) => this.coachAnswer(tag, sdp),
    });
    return new Promise<void>((resolve, reject) => {
      let status = 0;
      let up = false;
      const timer = setTimeout(() => {
        void inviter.cancel().catch(() => undefined);
        reject(new Error(`the agent's softphone did not answer the whisper leg`));
      }, COACH_ANSWER_SEC * 1000);
      inviter.stateChange.addListener((s: SessionState) => {
        if (s === SessionState.Established) {
          clearTimeout(timer);
          if (this.endedWith) {
            void inviter.bye().catch(() => undefined);
            reject(new Error('monitoring ended'));
            return;
          }
          up = true;
          this.coach = { inviter, tag };
          resolve();
        } else if (s === SessionState.Terminated) {
          clearTimeout(timer);
          setImmediate(() => {
            if (!up) {
              reject(new Error(`the agent's softphone answered the whisper leg ${status || 'no'}`));
              return;
            }
            // The agent's softphone hung up the whisper leg by itself: back to listen.
            if (this.coach?.inviter !== inviter || this.endedWith) return;
            this.coach = undefined;
            void this.quietly('talk back to the placeholder', () => this.talkToPlaceholder());
            this._mode = 'listen';
            for (const l of this.modeListeners) l('listen', 'the agent ended the whisper leg');
          });
        }
      });
      void inviter
        .invite({ requestDelegate: { onReject: (r) => (status = r.message.statusCode ?? 0) } })
        .catch(reject);
    });
  }

  private coachFailed(err: unknown): void {
    this.d.log.warn({ err, monitor: this.id }, 'monitor: whisper leg failed, listening only');
    this._mode = 'listen';
    for (const l of this.modeListeners) l('listen', (err as Error).message);
  }

  private async stopCoach(): Promise<void> {
    const c = this.coach;
    this.coach = undefined;
    if (!c) return;
    if (c.inviter.state === SessionState.Established) await c.inviter.bye().catch(() => undefined);
    await this.quietly('talk back to the placeholder', () => this.talkToPlaceholder());
  }

  /** Whisper ↔ barge: the agent's softphone starts or stops mixing (INFO on the whisper leg). */
  private tellAgent(mode: MonitorMode): Promise<void> {
    const c = this.coach;
    if (!c) return Promise.reject(new Error('no whisper leg'));
    return new Promise<void>((resolve, reject) => {
      c.inviter
        .info({
          requestOptions: {
            body: {
              contentDisposition: 'render',
              contentType: MONITOR_INFO_TYPE,
              content: JSON.stringify({ mode }),
            },
          },
          requestDelegate: {
            onAccept: () => resolve(),
            onReject: (r) =>
              reject(new Error(`the agent's softphone refused the mode (${r.message.statusCode})`)),
          },
        })
        .catch(reject);
    });
  }

  setMode(mode: MonitorMode): Promise<void> {
    const run = this.changing.then(async () => {
      if (this.endedWith) throw new Error('monitoring has ended');
      if (!this.settled) throw new Error('the supervisor has not answered yet');
      const from = this._mode;
      if (mode === from) return;
      if (mode === 'listen') await this.stopCoach();
      else if (!this.coach) await this.startCoach(mode);
      else await this.tellAgent(mode);
      this._mode = mode;
      this.d.log.info({ monitor: this.id, from, to: mode }, 'monitor mode');
    });
    this.changing = run.catch(() => undefined);
    return run;
  }

  end(): Promise<void> {
    return this.stop('supervisor');
  }

  /** Every way a session ends comes here once: both legs ended, rtpengine's copies removed. */
  async stop(reason: MonitorEndReason): Promise<void> {
    if (this.endedWith) return;
    this.endedWith = reason;
    this.settle('cancelled');
    const legs = [this.supervisorLeg, ...(this.coach ? [this.coach.inviter] : [])];
    this.coach = undefined;
    for (const leg of legs) {
      if (leg.state === SessionState.Established) void leg.bye().catch(() => undefined);
      else if (leg.state === SessionState.Establishing || leg.state === SessionState.Initial)
        void leg.cancel().catch(() => undefined);
    }
    const { ng, media } = this.d;
    await this.quietly('unsubscribe', () =>
      media.exclusive(() =>
        ng.command('unsubscribe', { 'call-id': media.callId, 'to-tag': this.subTag }),
      ),
    );
    await this.quietly('delete talk', () => ng.command('delete', { 'call-id': this.talkCall }));
    this.d.log.info({ monitor: this.id, reason }, 'monitoring ended');
    for (const l of this.endedListeners) l(reason);
  }
}
