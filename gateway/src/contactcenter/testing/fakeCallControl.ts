import { EventEmitter } from 'node:events';
import type {
  CallControl,
  CallEvents,
  InboundCall,
  Offer,
  OfferOptions,
  OfferOutcome,
  Party,
  PlayOptions,
  PlayResult,
} from '../../callcontrol/types.js';

// A call-control tier without SIP, for unit tests: the test plays the caller
// (dtmf, hang up) and the agents (answer, decline, let it ring), and reads
// back what was played, offered and answered.

export interface FakeOffer {
  username: string;
  kind: 'offer' | 'connect';
  options: OfferOptions;
  settled: OfferOutcome | null;
  settle(outcome: OfferOutcome): void;
}

export interface FakePlay {
  files: string[];
  options?: PlayOptions;
  result: PlayResult | null;
}

export class FakeInboundCall implements InboundCall {
  readonly id: string;
  readonly caller: Party;
  readonly dialled: string;
  readonly arrivedAt = new Date();
  state: InboundCall['state'] = 'ringing';
  agent: string | undefined;
  rejected: number | null = null;
  answeredAt: number | null = null;
  readonly plays: FakePlay[] = [];
  readonly offers: FakeOffer[] = [];
  /** record(on) calls, in order. */
  readonly recording: boolean[] = [];
  private readonly events = new EventEmitter();
  private current: { play: FakePlay; resolve: (r: PlayResult) => void } | null = null;

  constructor(opts: { id: string; caller?: string; name?: string; dialled: string }) {
    this.id = opts.id;
    const user = opts.caller ?? '+15551230000';
    this.caller = { user, displayName: opts.name ?? '', uri: `sip:${user}@localhost` };
    this.dialled = opts.dialled;
  }

  on<E extends keyof CallEvents>(event: E, listener: CallEvents[E]): this {
    this.events.on(event, listener);
    return this;
  }
  off<E extends keyof CallEvents>(event: E, listener: CallEvents[E]): this {
    this.events.off(event, listener);
    return this;
  }

  async ringing(): Promise<void> {}
  async answer(): Promise<void> {
    if (this.state !== 'ringing') throw new Error(`answer in state ${this.state}`);
    this.state = 'answered';
    this.answeredAt = Date.now();
  }
  async reject(code: number): Promise<void> {
    this.rejected = code;
    this.end('hangup');
  }

  play(files: string[], options?: PlayOptions): Promise<PlayResult> {
    if (this.state === 'ended') return Promise.resolve('ended');
    this.finishCurrent('stopped');
    const play: FakePlay = { files, options, result: null };
    this.plays.push(play);
    return new Promise((resolve) => (this.current = { play, resolve }));
  }
  async stopPlay(): Promise<void> {
    this.finishCurrent('stopped');
  }

  offer(username: string, options: OfferOptions): Offer {
    return this.ring(username, options, 'offer');
  }
  connect(target: string, options: OfferOptions): Offer {
    return this.ring(target, options, 'connect');
  }

  async hangup(): Promise<void> {
    this.end('hangup');
  }

  async record(on: boolean): Promise<void> {
    this.recording.push(on);
  }

  // --- the test's side ---

  /** What plays now (null: silence). */
  get playing(): FakePlay | null {
    return this.current?.play ?? null;
  }
  /** The files now playing end by themselves. */
  playEnds(): void {
    this.finishCurrent('done');
  }
  dtmf(digit: string, via: 'rfc4733' | 'info' = 'rfc4733'): void {
    this.events.emit('dtmf', digit, via);
  }
  callerHangsUp(): void {
    this.end('caller-hangup');
  }
  /** The bridged agent hangs up; the caller stays. */
  agentHangsUp(): void {
    const agent = this.agent;
    if (!agent) throw new Error('no agent bridged');
    this.state = 'answered';
    this.agent = undefined;
    this.events.emit('agentLeft', agent);
  }
  transfer(user: string): void {
    this.events.emit('transfer', { user });
  }
  pendingOffers(): FakeOffer[] {
    return this.offers.filter((o) => o.settled === null);
  }
  /** The one pending offer to `username`. */
  offerTo(username: string): FakeOffer {
    const o = this.pendingOffers().find((x) => x.username === username);
    if (!o) throw new Error(`no pending offer to ${username}`);
    return o;
  }

  private ring(username: string, options: OfferOptions, kind: FakeOffer['kind']): Offer {
    let resolve!: (o: OfferOutcome) => void;
    const outcome = new Promise<OfferOutcome>((r) => (resolve = r));
    const fake: FakeOffer = {
      username,
      kind,
      options,
      settled: null,
      settle: (o) => {
        if (fake.settled !== null) return;
        fake.settled = o;
        if (o === 'answered') {
          // The B2BUA stops what plays as it bridges.
          this.finishCurrent('stopped');
          this.state = 'bridged';
          this.agent = username;
        }
        resolve(o);
      },
    };
    this.offers.push(fake);
    return { outcome, cancel: () => fake.settle('cancelled') };
  }

  private finishCurrent(r: PlayResult): void {
    const c = this.current;
    if (!c) return;
    this.current = null;
    c.play.result = r;
    c.resolve(r);
  }

  private end(reason: 'caller-hangup' | 'hangup'): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.finishCurrent('ended');
    for (const o of this.pendingOffers()) o.settle('cancelled');
    this.events.emit('ended', reason);
  }
}

export class FakeCallControl implements CallControl {
  private handler: ((call: InboundCall) => void) | null = null;
  readonly calls: FakeInboundCall[] = [];
  private seq = 0;

  onCall(handler: (call: InboundCall) => void): void {
    this.handler = handler;
  }
  get activeCalls(): number {
    return this.calls.filter((c) => c.state !== 'ended').length;
  }

  /** An INVITE for `dialled` arrives. */
  call(dialled: string, caller?: string, name?: string): FakeInboundCall {
    if (!this.handler) throw new Error('nobody took onCall');
    const c = new FakeInboundCall({ id: `call-${++this.seq}`, dialled, caller, name });
    this.calls.push(c);
    this.handler(c);
    return c;
  }
}
