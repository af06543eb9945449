import { randomUUID } from 'node:crypto';
import type { InboundCall, Offer, OfferOutcome } from '../callcontrol/types.js';
import type { ContactCenterConfig, Destination, QueueConfig } from '../config/contactCenter.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Agent, AgentBook } from './agents.js';
import type { VerbResult } from './flows/spec.js';
import type { Recorder } from './recording.js';
import type { Sounds } from './sounds.js';
import type { CcStore, QueueEventName } from './store.js';
import { AgentActionError, type QueueCallOutcome } from './types.js';

// The queue engine: callers waiting per queue, which agent is offered whom,
// and what happens when an offer is answered or not. One rule holds it
// together: an agent is offered only while 'available', and 'offered' is set
// before the INVITE goes out, so no agent ever rings for two callers (or two
// queues) at once, and never while on a call or in wrap-up.

/** After every eligible agent let a caller's offer go, wait this long before trying them again. */
export const RETRY_SEC = 5;
/** An offer the call-control tier never settles is given up this long after its ring timeout. */
const OFFER_BACKSTOP_SEC = 10;

export interface QueueCall {
  id: string;
  call: InboundCall;
  queue: QueueConfig;
  enteredAt: number;
  phase: 'waiting' | 'bridged' | 'done';
  offers: Map<string, Offer>;
  /** Agents who let this caller's offer go this round. */
  tried: Set<string>;
  retryAt: number;
  /** A transfer to one agent: only they are offered. */
  onlyAgent: string | null;
  /** A supervisor sent this caller to an agent: that agent is offered this caller next (one offer). */
  sendTo: string | null;
  agent: string | null;
  answeredAt: number | null;
  timers: NodeJS.Timeout[];
  /** The periodic announcement. */
  announcer: NodeJS.Timeout | null;
  announceDue: boolean;
  playing: 'prompt' | 'music' | null;
  /** Answered and hearing music: offers may start. */
  ready: boolean;
  settle: (r: VerbResult) => void;
  detach: () => void;
}

export interface QueueEngineDeps {
  cc: ContactCenterConfig;
  store: CcStore;
  agents: AgentBook;
  sounds: Sounds;
  log: Logger;
  metrics?: Metrics;
  onChange: () => void;
  /** Records answered calls of queues with recording.enabled. */
  recorder?: Recorder;
}

const iso = (ms: number) => new Date(ms).toISOString();
const secondsSince = (t: number) => Math.max(0, Math.round((Date.now() - t) / 100) / 10);

/** Local midnight: "today" for fewest-calls and the agent's figures. */
export function startOfToday(): string {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return d.toISOString();
}

export class QueueEngine {
  private readonly calls = new Map<string, QueueCall>();
  private readonly lastOffered = new Map<string, string>();
  private readonly wrapTimers = new Map<string, NodeJS.Timeout>();
  private readonly music = new Map<string, string[]>();
  private dispatching = false;
  private dispatchAgain = false;
  private stopped = false;

  constructor(private readonly d: QueueEngineDeps) {
    for (const q of d.cc.queues) this.music.set(q.name, d.sounds.music(q.music));
  }

  queue(name: string): QueueConfig | undefined {
    return this.d.cc.queues.find((q) => q.name === name);
  }

  /** Callers waiting in a queue, first come first. */
  waiting(queue: string): QueueCall[] {
    return [...this.calls.values()]
      .filter((c) => c.queue.name === queue && c.phase === 'waiting')
      .sort((a, b) => a.enteredAt - b.enteredAt);
  }

  get(id: string): QueueCall | undefined {
    return this.calls.get(id);
  }

  /** Agents counted as staffing a queue: logged in to it and not offline. */
  staffed(queue: string): number {
    return this.d.agents
      .members({ queue })
      .filter((m) => m.loggedIn && this.d.agents.get(m.username)?.state !== 'offline').length;
  }

  // ---------------------------------------------------------------- callers

  /**
   * Take a caller into a queue; settles when they leave it: `end` once the
   * call is over, `goto` for overflow, exit key or a transfer elsewhere.
   */
  enqueue(
    call: InboundCall,
    queueName: string,
    opts: { onlyAgent?: string } = {},
  ): Promise<VerbResult> {
    const queue = this.queue(queueName);
    if (!queue) {
      this.d.log.error({ callId: call.id, queue: queueName }, 'no such queue');
      return Promise.resolve({ goto: { hangup: true } });
    }
    const now = Date.now();
    const id = randomUUID();
    const row = {
      id,
      callId: call.id,
      queue: queue.name,
      callerNumber: call.caller.user,
      callerName: call.caller.displayName,
      enteredAt: iso(now),
    };
    // Refused at the door: stored too, so reports see every caller who tried.
    const refuse = (why: 'full' | 'empty'): Promise<VerbResult> => {
      this.d.store.insertQueueCall(row);
      this.event('overflowed', id, queue.name, null, { why, waitSec: 0 });
      this.d.store.markLeft(id, 'overflowed', iso(now), 0);
      this.d.metrics?.ccQueueCalls.inc({ queue: queue.name, outcome: 'overflowed' });
      this.d.log.info({ callId: call.id, queue: queue.name, why }, 'queue overflow at entry');
      return Promise.resolve({ goto: queue.overflow });
    };
    if (this.waiting(queue.name).length >= queue.maxLength) return refuse('full');
    if (!queue.joinWhenEmpty && !opts.onlyAgent && this.staffed(queue.name) === 0)
      return refuse('empty');

    return new Promise<VerbResult>((resolve) => {
      const qc: QueueCall = {
        id,
        call,
        queue,
        enteredAt: now,
        phase: 'waiting',
        offers: new Map(),
        tried: new Set(),
        retryAt: 0,
        onlyAgent: opts.onlyAgent ?? null,
        sendTo: null,
        agent: null,
        answeredAt: null,
        timers: [],
        announcer: null,
        announceDue: false,
        playing: null,
        ready: false,
        settle: resolve,
        detach: () => undefined,
      };
      const onEnded = () => this.callerEnded(qc);
      const onDtmf = (digit: string) => {
        if (qc.phase === 'waiting' && queue.exitKey && digit === queue.exitKey.key)
          this.leave(qc, 'exited', { goto: queue.exitKey.destination }, { key: digit });
      };
      const onAgentLeft = (username: string) => this.agentLeft(qc, username);
      const onTransfer = (target: { user: string }) => this.transfer(qc, target.user);
      call.on('ended', onEnded);
      call.on('dtmf', onDtmf);
      call.on('agentLeft', onAgentLeft);
      call.on('transfer', onTransfer);
      qc.detach = () => {
        call.off('ended', onEnded);
        call.off('dtmf', onDtmf);
        call.off('agentLeft', onAgentLeft);
        call.off('transfer', onTransfer);
      };
      this.calls.set(id, qc);
      this.d.store.insertQueueCall(row);
      this.event('entered', id, queue.name, null, {
        position: this.waiting(queue.name).length,
        caller: call.caller.user,
        ...(qc.onlyAgent ? { onlyAgent: qc.onlyAgent } : {}),
      });
      this.d.log.info({ callId: call.id, queueCall: id, queue: queue.name }, 'caller queued');
      qc.timers.push(
        setTimeout(
          () => this.leave(qc, 'overflowed', { goto: queue.overflow }, { why: 'max-wait' }),
          queue.maxWaitSec * 1000,
        ),
      );
      if (queue.announce.everySec > 0 && (queue.announce.position || queue.announce.estimatedWait))
        qc.announcer = setInterval(() => this.announceNow(qc), queue.announce.everySec * 1000);
      // Answered now that the queue has taken the caller: their call record shows the wait.
      const answered = call.state === 'ringing' ? call.answer() : Promise.resolve();
      answered.then(
        () => {
          if (qc.phase !== 'waiting') return;
          qc.ready = true;
          void this.hold(qc);
          this.changed();
          this.dispatch();
        },
        (err: unknown) => {
          this.d.log.warn({ err, callId: call.id }, 'answer failed');
          this.leave(qc, 'abandoned', { end: true }, { why: 'answer-failed' });
        },
      );
    });
  }

  /** Music and announcements until the caller leaves the waiting list; never silence. */
  private async hold(qc: QueueCall): Promise<void> {
    const { sounds } = this.d;
    const { call, queue } = qc;
    const music = this.music.get(queue.name) ?? [];
    let track = 0;
    let joinPrompt = queue.joinPrompt.length > 0;
    let failures = 0;
    while (qc.phase === 'waiting' && !this.stopped) {
      try {
        let files: string[];
        if (joinPrompt) {
          joinPrompt = false;
          files = sounds.prompts(queue.joinPrompt);
          qc.playing = 'prompt';
        } else if (qc.announceDue) {
          qc.announceDue = false;
          files = this.announcement(qc);
          if (files.length === 0) continue;
          qc.playing = 'prompt';
        } else {
          if (music.length === 0) return;
          files = [music[track++ % music.length]!];
          qc.playing = 'music';
        }
        // Checked after every await: nothing may start playing over a bridged agent.
        if (qc.phase !== 'waiting') return;
        const r = await call.play(files);
        qc.playing = null;
        failures = 0;
        if (r === 'ended') return;
      } catch (err) {
        // A failed play command would leave the caller in silence: try again shortly.
        qc.playing = null;
        this.d.log.warn({ err, callId: call.id, failures }, 'hold music failed');
        if (++failures >= 5) return;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** Time for the periodic announcement: it interrupts the music (never a prompt). */
  private announceNow(qc: QueueCall): void {
    if (qc.phase !== 'waiting') return;
    qc.announceDue = true;
    if (qc.playing === 'music') void qc.call.stopPlay().catch(() => undefined);
  }

  /** Position and estimated wait, as prompt files. */
  announcement(qc: QueueCall): string[] {
    const { sounds, store } = this.d;
    const { announce } = qc.queue;
    const position = this.waiting(qc.queue.name).indexOf(qc) + 1;
    if (position <= 0) return [];
    const files: string[] = [];
    if (announce.position) files.push(...sounds.position(position));
    if (announce.estimatedWait) {
      // Today's average wait of answered callers, times the position, less what
      // this caller already waited; no answered call yet today: nothing to say.
      const avg = store.averageAnsweredWait(qc.queue.name, startOfToday());
      if (avg !== null) {
        const est = Math.max(60, avg * position - secondsSince(qc.enteredAt));
        files.push(...sounds.estimatedWait(est / 60));
      }
    }
    return files;
  }

  /** The caller leaves the waiting list without an agent. */
  private leave(
    qc: QueueCall,
    outcome: Exclude<QueueCallOutcome, 'answered'>,
    result: VerbResult,
    data: Record<string, unknown> = {},
  ): void {
    if (qc.phase !== 'waiting') return;
    qc.phase = 'done';
    this.cleanup(qc);
    const waitSec = secondsSince(qc.enteredAt);
    this.d.store.markLeft(qc.id, outcome, iso(Date.now()), waitSec);
    this.event(outcome, qc.id, qc.queue.name, null, { waitSec, ...data });
    this.d.metrics?.ccQueueCalls.inc({ queue: qc.queue.name, outcome });
    this.d.log.info(
      { callId: qc.call.id, queueCall: qc.id, queue: qc.queue.name, outcome, waitSec, ...data },
      'caller left queue',
    );
    if (qc.call.state !== 'ended') void qc.call.stopPlay().catch(() => undefined);
    qc.settle(result);
    this.changed();
    this.dispatch();
  }

  private clearTimers(qc: QueueCall): void {
    for (const t of qc.timers) clearTimeout(t);
    qc.timers = [];
    if (qc.announcer) clearInterval(qc.announcer);
    qc.announcer = null;
  }

  private cleanup(qc: QueueCall): void {
    this.clearTimers(qc);
    for (const offer of qc.offers.values()) offer.cancel();
    this.calls.delete(qc.id);
    if (qc.phase === 'done') qc.detach();
  }

  private callerEnded(qc: QueueCall): void {
    if (qc.phase === 'waiting')
      this.leave(qc, 'abandoned', { end: true }, { why: 'caller-hangup' });
    else if (qc.phase === 'bridged') this.bridgeOver(qc, 'caller', { end: true });
  }

  private agentLeft(qc: QueueCall, username: string): void {
    if (qc.phase !== 'bridged' || qc.agent !== username) return;
    // The agent hung up first: nothing more for this caller (no survey yet).
    void qc.call.hangup().catch(() => undefined);
    this.bridgeOver(qc, 'agent', { end: true });
  }

  /** The bridged part of a queue call is over: record it, the agent goes to wrap-up. */
  private bridgeOver(qc: QueueCall, by: string, result: VerbResult | null): void {
    if (qc.phase !== 'bridged') return;
    qc.phase = 'done';
    qc.detach();
    this.calls.delete(qc.id);
    const now = Date.now();
    this.d.store.markEnded(qc.id, iso(now));
    this.event('ended', qc.id, qc.queue.name, qc.agent, {
      by,
      talkSec: qc.answeredAt ? secondsSince(qc.answeredAt) : 0,
    });
    if (qc.queue.recording.enabled) this.d.recorder?.stop(qc.call, qc.id);
    const a = qc.agent ? this.d.agents.get(qc.agent) : undefined;
    if (a && a.callId === qc.id) this.startWrapUp(a, qc.id, qc.queue);
    if (result) qc.settle(result);
    this.changed();
  }

  /**
   * The bridged agent sent REFER (blind; their BYE follows and is ignored):
   * to a queue or IVR (by name or number), to another agent (waits in this
   * queue for that agent alone, with music), or to any other user or number.
   */
  private transfer(qc: QueueCall, target: string): void {
    if (qc.phase !== 'bridged') return;
    const dest = transferDestination(this.d.cc, target);
    const toAgent = 'user' in dest && this.d.agents.isAgent(dest.user) ? dest.user : null;
    this.event('transferred', qc.id, qc.queue.name, qc.agent, {
      to: toAgent ? { agent: toAgent } : dest,
    });
    const settle = qc.settle;
    if (toAgent) {
      this.bridgeOver(qc, 'transfer', null);
      void this.enqueue(qc.call, qc.queue.name, { onlyAgent: toAgent }).then(settle);
    } else this.bridgeOver(qc, 'transfer', { goto: dest });
  }

  // ---------------------------------------------------------------- offers

  /** Offer waiting callers to free agents; called on every change that could make a match. */
  dispatch(): void {
    if (this.stopped) return;
    if (this.dispatching) {
      this.dispatchAgain = true;
      return;
    }
    this.dispatching = true;
    try {
      do {
        this.dispatchAgain = false;
        this.dispatchOnce();
      } while (this.dispatchAgain);
    } finally {
      this.dispatching = false;
    }
  }

  private dispatchOnce(): void {
    const now = Date.now();
    // Longest-waiting caller first, across queues: an agent of two queues takes the older caller.
    // A caller a supervisor sent to an agent goes before everyone (their agent is reserved).
    const waiting = [...this.calls.values()]
      .filter((c) => c.phase === 'waiting')
      .sort((a, b) => Number(!a.sendTo) - Number(!b.sendTo) || a.enteredAt - b.enteredAt);
    let handled: Map<string, number> | undefined;
    for (const qc of waiting) {
      if (qc.offers.size > 0 || qc.retryAt > now || !qc.ready) continue;
      const free = this.freeAgents(qc);
      let candidates = free.filter((c) => !qc.tried.has(c.agent.username));
      if (candidates.length === 0) {
        if (free.length > 0) {
          // Everyone free has let this caller go once: try them again a little later.
          qc.tried.clear();
          qc.retryAt = now + RETRY_SEC * 1000;
          qc.timers.push(setTimeout(() => this.dispatch(), RETRY_SEC * 1000));
        }
        continue;
      }
      // Penalty tiers: the lowest tier with a free agent is offered; higher tiers wait.
      const tier = Math.min(...candidates.map((c) => c.penalty));
      candidates = candidates.filter((c) => c.penalty === tier);
      let chosen: Agent[];
      switch (qc.queue.strategy) {
        case 'ring-all':
          chosen = candidates.map((c) => c.agent);
          break;
        case 'round-robin':
          chosen = [
            this.roundRobin(
              qc.queue.name,
              candidates.map((c) => c.agent),
            ),
          ];
          break;
        case 'fewest-calls': {
          handled ??= this.d.store.handledSince(startOfToday());
          const h = handled;
          chosen = [
            candidates
              .map((c) => c.agent)
              .sort(
                (a, b) => (h.get(a.username) ?? 0) - (h.get(b.username) ?? 0) || idleOrder(a, b),
              )[0]!,
          ];
          break;
        }
        case 'longest-idle':
          chosen = [candidates.map((c) => c.agent).sort(idleOrder)[0]!];
          break;
      }
      for (const a of chosen) this.offer(qc, a);
    }
  }

  /** Agents who may be offered this caller now. */
  private freeAgents(qc: QueueCall): { agent: Agent; penalty: number }[] {
    if (qc.sendTo) {
      const a = this.d.agents.get(qc.sendTo);
      if (a && a.state === 'available') return [{ agent: a, penalty: 0 }];
      // The chosen agent went away before the offer: back to the queue's own rules.
      qc.sendTo = null;
    }
    const reserved = new Set(
      [...this.calls.values()].filter((c) => c !== qc && c.sendTo).map((c) => c.sendTo),
    );
    if (qc.onlyAgent) {
      const a = this.d.agents.get(qc.onlyAgent);
      return a && a.state === 'available' ? [{ agent: a, penalty: 0 }] : [];
    }
    const out: { agent: Agent; penalty: number }[] = [];
    for (const m of this.d.agents.members({ queue: qc.queue.name })) {
      if (!m.loggedIn) continue;
      const a = this.d.agents.get(m.username);
      // Registration is not checked here: losing it already made the agent offline, and
      // an agent who says available again is trusted (an 'unavailable' offer corrects it).
      if (a && a.state === 'available' && !reserved.has(a.username))
        out.push({ agent: a, penalty: m.penalty });
    }
    return out;
  }

  private roundRobin(queue: string, agents: Agent[]): Agent {
    const sorted = agents.sort((a, b) => a.username.localeCompare(b.username));
    const last = this.lastOffered.get(queue);
    return (last !== undefined && sorted.find((a) => a.username > last)) || sorted[0]!;
  }

  private offer(qc: QueueCall, a: Agent): void {
    const { queue, call } = qc;
    this.d.agents.set(a, 'offered', null, `offer ${qc.id}`);
    a.offerCallId = qc.id;
    this.lastOffered.set(queue.name, a.username);
    const waited = Math.round(secondsSince(qc.enteredAt));
    this.event('offered', qc.id, queue.name, a.username, { waitSec: secondsSince(qc.enteredAt) });
    let offer: Offer;
    try {
      offer = call.offer(a.username, {
        timeoutSec: queue.ringTimeoutSec,
        headers: {
          'X-Queue': queue.name,
          'X-Queue-Call': qc.id,
          'X-Caller-Waited': String(waited),
        },
        // The agent's hold plays the queue's music, not silence.
        holdMusic: this.music.get(queue.name)?.[0],
      });
    } catch (err) {
      this.d.log.warn({ err, agent: a.username }, 'offer failed');
      this.offerSettled(qc, a.username, 'failed');
      return;
    }
    qc.offers.set(a.username, offer);
    let settled = false;
    const backstop = setTimeout(
      () => {
        if (settled) return;
        this.d.log.warn({ agent: a.username, queueCall: qc.id }, 'offer never settled; cancelled');
        offer.cancel();
        settled = true;
        this.offerSettled(qc, a.username, 'no-answer');
      },
      (queue.ringTimeoutSec + OFFER_BACKSTOP_SEC) * 1000,
    );
    offer.outcome
      .catch((): OfferOutcome => 'failed')
      .then((outcome) => {
        clearTimeout(backstop);
        if (settled) return;
        settled = true;
        this.offerSettled(qc, a.username, outcome);
      });
  }

  private offerSettled(qc: QueueCall, username: string, outcome: OfferOutcome): void {
    qc.offers.delete(username);
    if (qc.sendTo === username) qc.sendTo = null;
    const a = this.d.agents.get(username);
    if (a && a.offerCallId === qc.id) a.offerCallId = null;
    this.event('offer-outcome', qc.id, qc.queue.name, username, { outcome });
    this.d.metrics?.ccOffers.inc({ outcome });
    if (outcome === 'answered' && a) {
      if (qc.phase === 'waiting') return this.answered(qc, a);
      // Bridged to a caller who is already gone: straight to the end of the call.
      this.d.log.warn({ agent: username, queueCall: qc.id }, 'answered after the caller left');
      a.callId = qc.id;
      this.d.agents.set(a, 'on-call', null, 'answered late');
      this.startWrapUp(a, qc.id, qc.queue);
      return;
    }
    if (!a) return;
    qc.tried.add(username);
    if (a.state === 'offered') {
      if (outcome === 'unavailable') {
        this.d.agents.set(a, 'offline', 'unregistered', 'offer unavailable');
        this.leaveWhenEmpty();
      } else if (outcome === 'no-answer' || outcome === 'declined') {
        a.unanswered += 1;
        const n = qc.queue.autoPauseAfter;
        if (n > 0 && a.unanswered >= n) {
          a.unanswered = 0;
          this.d.agents.set(a, 'not-ready', 'no-answer', `${n} offers unanswered`);
        } else this.d.agents.set(a, 'available', null, `offer ${outcome}`);
      } else this.d.agents.set(a, 'available', null, `offer ${outcome}`);
    }
    this.changed();
    this.dispatch();
  }

  private answered(qc: QueueCall, a: Agent): void {
    qc.phase = 'bridged';
    qc.agent = a.username;
    qc.answeredAt = Date.now();
    this.clearTimers(qc);
    // Ring-all: the others stop ringing (their outcome comes back 'cancelled').
    for (const [other, offer] of qc.offers) if (other !== a.username) offer.cancel();
    // The call-control tier stops the music as it bridges; asking again is harmless and
    // keeps a slow stop from playing over the agent's first words.
    void qc.call.stopPlay().catch(() => undefined);
    a.unanswered = 0;
    a.callId = qc.id;
    this.d.agents.set(a, 'on-call', null, `answered ${qc.id}`);
    const waitSec = secondsSince(qc.enteredAt);
    this.d.store.markAnswered(qc.id, a.username, iso(qc.answeredAt), waitSec);
    this.event('answered', qc.id, qc.queue.name, a.username, { waitSec });
    if (qc.queue.recording.enabled) this.d.recorder?.start(qc.call, qc.id);
    this.d.metrics?.ccQueueCalls.inc({ queue: qc.queue.name, outcome: 'answered' });
    this.d.log.info(
      { callId: qc.call.id, queueCall: qc.id, agent: a.username, waitSec },
      'queue call answered',
    );
    this.changed();
  }

  // ---------------------------------------------------------------- agents

  /** After a call: wrap-up for the queue's wrapUpSec, then available (or what they chose). */
  startWrapUp(a: Agent, callId: string, queue: QueueConfig, endsAt?: number): void {
    a.callId = null;
    a.idleSince = Date.now();
    const until = endsAt ?? Date.now() + queue.wrapUpSec * 1000;
    if (until <= Date.now()) {
      a.wrap = { callId, queue: queue.name, endsAt: until };
      return this.endWrapUp(a, 'no wrap-up time', null);
    }
    a.wrap = { callId, queue: queue.name, endsAt: until };
    this.d.agents.set(a, 'wrap-up', null, `call ${callId} ended`);
    this.clearWrapTimer(a.username);
    this.wrapTimers.set(
      a.username,
      setTimeout(() => this.endWrapUp(a, 'wrap-up time over', null), until - Date.now()),
    );
  }

  endWrapUp(a: Agent, why: string, disposition: string | null): void {
    this.clearWrapTimer(a.username);
    const wrap = a.wrap;
    a.wrap = null;
    if (wrap) this.event('wrap-up-done', wrap.callId, wrap.queue, a.username, { disposition, why });
    const next = a.next;
    a.next = null;
    if (next) this.d.agents.set(a, next.state, next.reason, `${why}; chosen during the call`);
    else this.d.agents.set(a, 'available', null, why);
    if (next?.state === 'offline') this.leaveWhenEmpty();
    this.dispatch();
  }

  private clearWrapTimer(username: string): void {
    const t = this.wrapTimers.get(username);
    if (t) clearTimeout(t);
    this.wrapTimers.delete(username);
  }

  /** An agent's own change (API): validated by the caller of this method. */
  setAgentState(a: Agent, state: 'available' | 'not-ready' | 'offline', reason: string | null) {
    if (a.state === 'offered')
      throw new AgentActionError(409, 'a call is ringing you: answer or decline it first');
    if (a.state === 'on-call' || a.state === 'wrap-up') {
      if (state === 'available') {
        a.next = null;
        // Available during wrap-up ends it early; during a call it only drops a pending pause.
        if (a.state === 'wrap-up') this.endWrapUp(a, 'agent ended wrap-up', null);
        else this.d.agents.set(a, a.state, a.reason, 'pending state cleared');
      } else {
        a.next = { state, reason };
        this.d.agents.set(a, a.state, a.reason, `${state} after wrap-up`);
      }
      return;
    }
    if (state === 'available' && a.state !== 'available') {
      // Back from a pause or offline: idle from now, a clean slate for auto-pause.
      a.idleSince = Date.now();
      a.unanswered = 0;
    }
    this.d.agents.set(a, state, state === 'not-ready' ? reason : null, 'agent');
    if (state === 'offline') this.leaveWhenEmpty();
    this.dispatch();
  }

  /**
   * A supervisor's change: as the agent's own (a pause chosen during a call
   * waits for wrap-up to end), except that a ringing offer is cancelled
   * rather than refused.
   */
  forceAgentState(a: Agent, state: 'available' | 'not-ready' | 'offline', reason: string | null) {
    if (a.state !== 'offered') return this.setAgentState(a, state, reason);
    if (state === 'available') return;
    const qc = a.offerCallId ? this.calls.get(a.offerCallId) : undefined;
    // State first: the cancelled offer's outcome then leaves it alone.
    this.d.agents.set(a, state, reason, 'supervisor');
    qc?.offers.get(a.username)?.cancel();
    if (state === 'offline') this.leaveWhenEmpty();
    this.dispatch();
  }

  /**
   * A supervisor sends a waiting caller to an agent: that agent is offered
   * this caller next. Only an available agent (never one on a call, in
   * wrap-up, paused or ringing); offers ringing others for this caller stop.
   */
  sendTo(queueCallId: string, a: Agent, by: string): void {
    const qc = this.calls.get(queueCallId);
    if (!qc || qc.phase !== 'waiting')
      throw new AgentActionError(404, `no caller ${queueCallId} waiting`);
    if (a.state !== 'available')
      throw new AgentActionError(409, `${a.username} is ${a.state}: only an available agent`);
    if ([...this.calls.values()].some((c) => c !== qc && c.sendTo === a.username))
      throw new AgentActionError(409, `${a.username} is already reserved for another caller`);
    qc.sendTo = a.username;
    qc.tried.delete(a.username);
    qc.retryAt = 0;
    this.event('sent-to-agent', qc.id, qc.queue.name, a.username, { by });
    for (const offer of qc.offers.values()) offer.cancel();
    this.dispatch();
    this.changed();
  }

  /** Every registration gone: the agent cannot ring, so they are offline (not stuck available). */
  registrationLost(a: Agent): void {
    a.registered = false;
    if (a.state === 'on-call' || a.state === 'wrap-up') {
      a.next = { state: 'offline', reason: 'unregistered' };
      this.d.agents.save(a);
      this.changed();
      return;
    }
    if (a.state === 'offline') return;
    this.d.agents.set(a, 'offline', 'unregistered', 'registration lost');
    // The ringing offer (if any) is cancelled; its outcome leaves the state alone.
    const qc = a.offerCallId ? this.calls.get(a.offerCallId) : undefined;
    qc?.offers.get(a.username)?.cancel();
    this.leaveWhenEmpty();
    this.dispatch();
  }

  /** Queues with leaveWhenEmpty whose last agent left: their callers go to overflow. */
  leaveWhenEmpty(): void {
    for (const q of this.d.cc.queues) {
      if (!q.leaveWhenEmpty || this.staffed(q.name) > 0) continue;
      for (const qc of this.waiting(q.name))
        if (!qc.onlyAgent) this.leave(qc, 'overflowed', { goto: q.overflow }, { why: 'empty' });
    }
  }

  // ---------------------------------------------------------------- misc

  event(
    event: QueueEventName,
    queueCallId: string | null,
    queue: string | null,
    agent: string | null,
    data?: Record<string, unknown>,
  ): void {
    this.d.store.event({ at: iso(Date.now()), event, queueCallId, queue, agent, data });
  }

  private changed(): void {
    this.d.onChange();
  }

  /** Service stop: timers off; the calls themselves end with the call-control tier. */
  stop(): void {
    this.stopped = true;
    for (const qc of this.calls.values()) {
      this.clearTimers(qc);
      qc.detach();
    }
    for (const t of this.wrapTimers.values()) clearTimeout(t);
    this.wrapTimers.clear();
  }
}

/**
 * Where a REFER's target user part leads: a queue or IVR by name or number
 * (so the caller does not loop out through Kamailio and back), else a user or number.
 */
export function transferDestination(cc: ContactCenterConfig, target: string): Destination {
  const queue = cc.queues.find((q) => q.name === target || q.number === target);
  if (queue) return { queue: queue.name };
  const ivr = cc.ivrs.find((i) => i.name === target || i.number === target);
  if (ivr) return { ivr: ivr.name };
  return /^\+?\d{2,15}$/.test(target) && !/^\d{2,8}$/.test(target)
    ? { number: target }
    : { user: target };
}

/** Longest idle first; never idle (null) counts as idle since forever. */
function idleOrder(a: Agent, b: Agent): number {
  return (a.idleSince ?? 0) - (b.idleSince ?? 0) || a.username.localeCompare(b.username);
}
