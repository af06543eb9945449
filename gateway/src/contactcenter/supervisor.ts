import { randomUUID } from 'node:crypto';
import { existsSync, unlinkSync } from 'node:fs';
import type { Monitor, MonitorMode } from '../callcontrol/types.js';
import type { ContactCenterConfig, QueueConfig } from '../config/contactCenter.js';
import type { Directory } from '../directory/directory.js';
import type { Logger } from '../log.js';
import type { Agent, AgentBook } from './agents.js';
import { startOfToday, type QueueEngine } from './queueEngine.js';
import { agentReport, queueReport, type QueueReportRow } from './reports.js';
import type { CcStore } from './store.js';
import { AGENT_STATES, AgentActionError, type AgentState } from './types.js';

// Supervisors (issue 8): who may see and act on which queues, the wallboard
// (today's figures from the store plus live state), call-quality samples from
// the agents' softphones, forcing an agent's state, sending a waiting caller to
// a chosen agent, recording retention. Every refusal and every monitoring or
// forcing action is written to the append-only audit table.

/** Who is acting: a signed-in user (or 'admin' for the admin bearer token) and the queues they supervise. */
export interface Principal {
  actor: string;
  queues: string[];
}

export interface QualitySample {
  mos: number;
  jitterMs: number;
  lossPct: number;
  rttMs: number;
}

export interface LiveQuality extends QualitySample {
  at: string;
  /** Below contactCenter.qualityMosThreshold. */
  flagged: boolean;
}

export interface WallboardQueue {
  name: string;
  displayName: string;
  serviceLevelSec: number;
  waiting: number;
  longestWaitSec: number;
  /** Waiting callers, first come first (the supervisor may send one to an agent). */
  callers: {
    queueCallId: string;
    caller: { number: string; name: string };
    enteredAt: string;
    waitedSec: number;
    sentTo: string | null;
  }[];
  /** Logged-in members of this queue by state (offline included). */
  agents: Record<AgentState, number>;
  /** Since local midnight, from the store: the same computation as the report. */
  today: Omit<QueueReportRow, 'start' | 'end' | 'queue'>;
  recording: boolean;
}

export interface WallboardAgent {
  username: string;
  displayName: string;
  state: AgentState;
  reason: string | null;
  since: string;
  timeInStateSec: number;
  /** This agent's queues among the supervisor's, with the login flag. */
  queues: { name: string; loggedIn: boolean }[];
  offer: { queueCallId: string; queue: string; caller: { number: string; name: string } } | null;
  call: {
    queueCallId: string;
    queue: string;
    caller: { number: string; name: string };
    answeredAt: string;
    durationSec: number;
    recorded: boolean;
    /** The latest sample from the agent's softphone (null: none yet). */
    quality: LiveQuality | null;
    /** Supervisors monitoring this call now. */
    monitors: { supervisor: string; mode: MonitorMode }[];
  } | null;
  today: {
    handled: number;
    talkSec: number | null;
    ahtSec: number | null;
    occupancyPct: number | null;
  };
}

export interface Wallboard {
  at: string;
  qualityMosThreshold: number;
  queues: WallboardQueue[];
  agents: WallboardAgent[];
  /** Live calls whose latest MOS is below the threshold. */
  flagged: { queueCallId: string; agent: string; queue: string; mos: number }[];
}

export interface SupervisionDeps {
  cc: ContactCenterConfig;
  store: CcStore;
  engine: QueueEngine;
  agents: AgentBook;
  directory: Directory;
  log: Logger;
  onChange: () => void;
  /** Where relative recording paths are resolved (the data dir). */
  resolveRecording: (file: string) => string;
}

const iso = (ms: number) => new Date(ms).toISOString();
const DAY_MS = 86_400_000;

export const MONITOR_MODES = ['listen', 'whisper', 'barge'] as const;
/** Seconds a supervisor's softphone may take to auto-answer a monitoring call. */
export const MONITOR_RING_SEC = 20;

/** One supervisor listening to (whispering to, barging into) one live queue call (API.md). */
export interface MonitorView {
  id: string;
  queueCallId: string;
  queue: string;
  agent: string;
  caller: { number: string; name: string };
  supervisor: string;
  mode: MonitorMode;
  startedAt: string;
  modeSince: string;
}

interface MonitorEntry {
  view: MonitorView;
  /** Undefined while the supervisor's softphone rings. */
  session: Monitor | undefined;
  startedMs: number;
  /** Why the contact center ended it (the agent's registration went away), if it did. */
  endReason?: string;
}

/** How often live sessions are checked for an agent whose softphone is gone. */
const MONITOR_WATCH_MS = 1000;

export class Supervision {
  /** Latest quality sample of each live queue call. */
  private readonly live = new Map<string, LiveQuality>();
  /** Monitoring sessions by `${queueCallId} ${supervisor}`. */
  private readonly monitoring = new Map<string, MonitorEntry>();
  private watchdog: NodeJS.Timeout | undefined;

  constructor(private readonly d: SupervisionDeps) {}

  // ------------------------------------------------------------ roles, audit

  /** The queues a user supervises (admins: all), or null: not a supervisor. */
  queuesOf(username: string): string[] | null {
    const all = this.d.cc.queues.map((q) => q.name);
    if (this.d.cc.admins.includes(username)) return all;
    const s = this.d.cc.supervisors.find((x) => x.username === username);
    if (!s) return null;
    return s.queues === '*' ? all : all.filter((q) => s.queues.includes(q));
  }

  isAdmin(username: string): boolean {
    return this.d.cc.admins.includes(username);
  }

  audit(
    actor: string,
    action: string,
    target: string | null,
    allowed: boolean,
    detail?: Record<string, unknown>,
  ): void {
    this.d.store.audit({ at: iso(Date.now()), actor, action, target, allowed, detail });
    if (!allowed)
      this.d.log.warn({ actor, action, target, ...detail }, 'supervisor action refused');
  }

  /** 403 (audited) unless `p` supervises `queue`. */
  requireQueue(p: Principal, queue: string, action: string, target = queue): void {
    if (p.queues.includes(queue)) return;
    this.audit(p.actor, action, target, false, { queue, why: 'not your queue' });
    throw new AgentActionError(403, `you do not supervise queue "${queue}"`);
  }

  /** 403 (audited) unless the agent serves one of `p`'s queues. */
  requireAgent(p: Principal, username: string, action: string): Agent {
    const a = this.d.agents.get(username);
    const mine = this.d.agents.members({ username }).some((m) => p.queues.includes(m.queue));
    if (!a || !this.d.agents.isAgent(username) || !mine) {
      this.audit(p.actor, action, username, false, { why: 'not an agent of your queues' });
      throw new AgentActionError(403, `${username} is not an agent of your queues`);
    }
    return a;
  }

  // ------------------------------------------------------------ wallboard

  wallboard(p: Principal): Wallboard {
    const now = Date.now();
    const from = startOfToday();
    const to = iso(Date.parse(from) + DAY_MS);
    const queues = this.d.cc.queues.filter((q) => p.queues.includes(q.name));
    const today = new Map(
      queueReport(this.d.store, { from, to, interval: '1d', queues }).map((r) => [r.queue, r]),
    );
    const agentNames = [
      ...new Set(
        this.d.agents
          .members()
          .filter((m) => p.queues.includes(m.queue))
          .map((m) => m.username),
      ),
    ].sort();
    const agentToday = new Map(
      agentReport(this.d.store, { from, to, interval: '1d', queues, agents: agentNames }).map(
        (r) => [r.agent, r],
      ),
    );
    const flagged: Wallboard['flagged'] = [];
    const agents: WallboardAgent[] = [];
    for (const username of agentNames) {
      const a = this.d.agents.get(username);
      if (!a) continue;
      const offerRow = a.offerCallId ? this.d.store.queueCall(a.offerCallId) : undefined;
      const callRow = a.callId ? this.d.store.queueCall(a.callId) : undefined;
      let call: WallboardAgent['call'] = null;
      if (callRow?.answeredAt) {
        const quality = this.live.get(callRow.id) ?? null;
        if (quality?.flagged)
          flagged.push({
            queueCallId: callRow.id,
            agent: username,
            queue: callRow.queue,
            mos: quality.mos,
          });
        call = {
          queueCallId: callRow.id,
          queue: callRow.queue,
          caller: { number: callRow.callerNumber, name: callRow.callerName },
          answeredAt: callRow.answeredAt,
          durationSec: Math.max(0, Math.round((now - Date.parse(callRow.answeredAt)) / 1000)),
          recorded: this.d.engine.queue(callRow.queue)?.recording.enabled ?? false,
          quality,
          monitors: [...this.monitoring.values()]
            .filter((m) => m.view.queueCallId === callRow.id && m.session)
            .map((m) => ({ supervisor: m.view.supervisor, mode: m.view.mode })),
        };
      }
      const t = agentToday.get(username);
      agents.push({
        username,
        displayName: this.d.directory.findUser(username)?.displayName ?? '',
        state: a.state,
        reason: a.reason,
        since: iso(a.since),
        timeInStateSec: Math.max(0, Math.round((now - a.since) / 1000)),
        queues: this.d.agents
          .members({ username })
          .filter((m) => p.queues.includes(m.queue))
          .map((m) => ({ name: m.queue, loggedIn: m.loggedIn })),
        offer: offerRow
          ? {
              queueCallId: offerRow.id,
              queue: offerRow.queue,
              caller: { number: offerRow.callerNumber, name: offerRow.callerName },
            }
          : null,
        call,
        today: {
          handled: t?.answered ?? 0,
          talkSec: t?.talkSec ?? null,
          ahtSec: t?.ahtSec ?? null,
          occupancyPct: t?.occupancyPct ?? null,
        },
      });
    }
    // Samples of calls that are over are in the store's summary; the live map keeps only live ones.
    for (const id of this.live.keys()) if (!this.isLive(id)) this.live.delete(id);
    return {
      at: iso(now),
      qualityMosThreshold: this.d.cc.qualityMosThreshold,
      queues: queues.map((q) => this.queueView(q, today.get(q.name)!, now)),
      agents,
      flagged,
    };
  }

  private queueView(q: QueueConfig, t: QueueReportRow, now: number): WallboardQueue {
    const waiting = this.d.engine.waiting(q.name);
    const byState = Object.fromEntries(AGENT_STATES.map((s) => [s, 0])) as Record<
      AgentState,
      number
    >;
    for (const m of this.d.agents.members({ queue: q.name })) {
      const a = this.d.agents.get(m.username);
      if (a && m.loggedIn) byState[a.state] += 1;
    }
    const { start: _s, end: _e, queue: _q, ...today } = t;
    return {
      name: q.name,
      displayName: q.displayName || q.name,
      serviceLevelSec: q.serviceLevelSec,
      waiting: waiting.length,
      longestWaitSec: waiting[0] ? Math.round((now - waiting[0].enteredAt) / 1000) : 0,
      callers: waiting.map((c) => ({
        queueCallId: c.id,
        caller: { number: c.call.caller.user, name: c.call.caller.displayName },
        enteredAt: iso(c.enteredAt),
        waitedSec: Math.round((now - c.enteredAt) / 1000),
        sentTo: c.sendTo,
      })),
      agents: byState,
      today,
      recording: q.recording.enabled,
    };
  }

  private isLive(queueCallId: string): boolean {
    return this.d.agents.all().some((a) => a.callId === queueCallId);
  }

  // ------------------------------------------------------------ quality

  /** A sample from the agent's softphone for the call they are on now. */
  qualitySample(username: string, queueCallId: string, s: QualitySample): LiveQuality {
    const a = this.d.agents.get(username);
    if (!a || a.callId !== queueCallId)
      throw new AgentActionError(409, `${queueCallId} is not the call you are on`);
    const flagged = s.mos < this.d.cc.qualityMosThreshold;
    const sample: LiveQuality = { ...s, at: iso(Date.now()), flagged };
    const was = this.live.get(queueCallId);
    this.live.set(queueCallId, sample);
    this.d.store.addQualitySample(queueCallId, s, flagged);
    if (flagged && !was?.flagged)
      this.d.log.warn(
        { agent: username, queueCall: queueCallId, ...s },
        'call quality below threshold',
      );
    this.d.onChange();
    return sample;
  }

  // ------------------------------------------------------------ actions

  forceState(
    p: Principal,
    username: string,
    state: 'available' | 'not-ready' | 'offline',
    reason: string | null,
  ): void {
    const a = this.requireAgent(p, username, 'force-state');
    if (state === 'not-ready' && reason && !this.d.cc.reasonCodes.includes(reason))
      throw new AgentActionError(400, `reason must be one of: ${this.d.cc.reasonCodes.join(', ')}`);
    const from = a.state;
    this.d.engine.forceAgentState(
      a,
      state,
      state === 'not-ready' ? (reason ?? 'supervisor') : state === 'offline' ? 'supervisor' : null,
    );
    this.audit(p.actor, 'force-state', username, true, { from, to: state, reason });
  }

  /** Log the agent out of every queue of `p`'s and make them offline. */
  logout(p: Principal, username: string, setLoggedIn: (queue: string) => void): void {
    const a = this.requireAgent(p, username, 'logout');
    const queues = this.d.agents
      .members({ username })
      .filter((m) => p.queues.includes(m.queue))
      .map((m) => m.queue);
    for (const q of queues) setLoggedIn(q);
    this.d.engine.forceAgentState(a, 'offline', 'supervisor');
    this.audit(p.actor, 'logout', username, true, { queues });
  }

  sendCaller(p: Principal, queueCallId: string, username: string): void {
    const row = this.d.store.queueCall(queueCallId);
    if (!row) throw new AgentActionError(404, `no queue call ${queueCallId}`);
    this.requireQueue(p, row.queue, 'send-caller', queueCallId);
    const a = this.requireAgent(p, username, 'send-caller');
    this.d.engine.sendTo(queueCallId, a, p.actor);
    this.audit(p.actor, 'send-caller', queueCallId, true, { agent: username, queue: row.queue });
  }

  // ------------------------------------------------------------ monitoring

  /**
   * Listen / whisper / barge (API.md): start a session (the call-control tier
   * calls the supervisor's softphone; resolves once it answered) or change
   * the mode of the one this supervisor has on the call. Audited.
   */
  async monitor(p: Principal, queueCallId: string, mode: MonitorMode): Promise<MonitorView> {
    const action = 'monitor';
    const row = this.d.store.queueCall(queueCallId);
    if (!row) throw new AgentActionError(404, `no queue call ${queueCallId}`);
    this.requireQueue(p, row.queue, action, queueCallId);
    if (p.actor === 'admin' || !this.d.directory.findUser(p.actor))
      throw new AgentActionError(
        400,
        'monitoring calls your softphone: sign in as a SIP user with the supervisor role',
      );
    const key = `${queueCallId} ${p.actor}`;
    const existing = this.monitoring.get(key);
    if (existing) {
      if (!existing.session)
        throw new AgentActionError(409, 'your softphone is still being called for this call');
      const from = existing.view.mode;
      if (from === mode) return { ...existing.view };
      try {
        await existing.session.setMode(mode);
      } catch (err) {
        this.audit(p.actor, 'monitor-mode', queueCallId, true, {
          ...this.monitorDetail(existing.view),
          from,
          to: mode,
          failed: (err as Error).message,
        });
        throw new AgentActionError(409, `mode not changed: ${(err as Error).message}`);
      }
      existing.view.mode = mode;
      existing.view.modeSince = iso(Date.now());
      this.audit(p.actor, 'monitor-mode', queueCallId, true, {
        ...this.monitorDetail(existing.view),
        from,
        to: mode,
      });
      this.d.onChange();
      return { ...existing.view };
    }

    const qc = this.d.engine.get(queueCallId);
    if (!qc || qc.phase !== 'bridged' || !qc.agent || qc.call.state !== 'bridged')
      throw new AgentActionError(409, `${queueCallId} is not bridged to an agent now`);
    if (!qc.call.monitor)
      throw new AgentActionError(409, 'this call-control tier cannot monitor calls');
    const id = randomUUID();
    const now = Date.now();
    const view: MonitorView = {
      id,
      queueCallId,
      queue: row.queue,
      agent: qc.agent,
      caller: { number: row.callerNumber, name: row.callerName },
      supervisor: p.actor,
      mode,
      startedAt: iso(now),
      modeSince: iso(now),
    };
    const entry: MonitorEntry = { view, session: undefined, startedMs: now };
    this.monitoring.set(key, entry);
    let session: Monitor;
    try {
      session = qc.call.monitor(p.actor, {
        id,
        mode,
        timeoutSec: MONITOR_RING_SEC,
        supervisorParams: { 'queue-call': queueCallId, agent: qc.agent },
        agentParams: { 'queue-call': queueCallId, supervisor: p.actor },
        displayName: `Monitor ${row.callerName || row.callerNumber} / ${qc.agent}`,
      });
    } catch (err) {
      this.monitoring.delete(key);
      throw new AgentActionError(409, (err as Error).message);
    }
    const outcome = await session.outcome;
    if (outcome !== 'answered') {
      this.monitoring.delete(key);
      this.audit(p.actor, 'monitor-failed', queueCallId, true, {
        ...this.monitorDetail(view),
        outcome,
      });
      const why =
        outcome === 'unavailable'
          ? 'your softphone is not registered'
          : outcome === 'no-answer'
            ? 'your softphone did not answer'
            : outcome === 'cancelled'
              ? 'the call ended meanwhile'
              : `your softphone answered: ${outcome}`;
      throw new AgentActionError(409, why);
    }
    entry.session = session;
    entry.startedMs = Date.now();
    view.startedAt = view.modeSince = iso(entry.startedMs);
    // A whisper leg the agent's softphone refused or ended leaves the session listening.
    view.mode = session.mode;
    session.onModeChanged((m, why) => {
      const from = view.mode;
      view.mode = m;
      view.modeSince = iso(Date.now());
      this.audit(view.supervisor, 'monitor-mode', queueCallId, true, {
        ...this.monitorDetail(view),
        from,
        to: m,
        why,
      });
      this.d.onChange();
    });
    session.onEnded((reason) => {
      this.monitoring.delete(key);
      this.audit(view.supervisor, 'monitor-end', queueCallId, true, {
        ...this.monitorDetail(view),
        reason: entry.endReason ?? reason,
        durationSec: Math.round((Date.now() - entry.startedMs) / 1000),
      });
      this.d.onChange();
    });
    this.audit(p.actor, 'monitor-start', queueCallId, true, {
      ...this.monitorDetail(view),
      ...(view.mode !== mode && { requested: mode }),
    });
    this.watch();
    this.d.onChange();
    return { ...view };
  }

  /**
   * The agent's tab or uplink died: its WebSocket closes (at once, or after
   * Kamailio's 30 s keepalive timeout), the registration goes, the agent is
   * marked unregistered. Its SIP leg may stay up (nobody sends BYE), so the
   * supervisor would keep listening to a dead call: end the session (BYE to
   * the supervisor and the whisper leg), audited `agent-unregistered`. A BYE on
   * the agent's leg ends it at once through the call-control tier (`agent-left`).
   */
  private watch(): void {
    if (this.watchdog) return;
    this.watchdog = setInterval(() => {
      for (const entry of this.monitoring.values()) {
        if (!entry.session || entry.endReason) continue;
        const a = this.d.agents.get(entry.view.agent);
        if (a && !a.registered) {
          entry.endReason = 'agent-unregistered';
          void entry.session.end();
        }
      }
      if (this.monitoring.size === 0) {
        clearInterval(this.watchdog);
        this.watchdog = undefined;
      }
    }, MONITOR_WATCH_MS);
    this.watchdog.unref();
  }

  /** End this supervisor's session on the call (BYE to their softphone and the whisper leg). */
  async stopMonitor(p: Principal, queueCallId: string): Promise<void> {
    const row = this.d.store.queueCall(queueCallId);
    if (!row) throw new AgentActionError(404, `no queue call ${queueCallId}`);
    this.requireQueue(p, row.queue, 'monitor-stop', queueCallId);
    const entry = this.monitoring.get(`${queueCallId} ${p.actor}`);
    if (!entry?.session) throw new AgentActionError(404, `you are not monitoring ${queueCallId}`);
    await entry.session.end();
  }

  /** The sessions this principal has (an admin's: everyone's in their queues). */
  monitors(p: Principal): MonitorView[] {
    return [...this.monitoring.values()]
      .filter((m) => m.session)
      .filter((m) =>
        this.isAdmin(p.actor) || p.actor === 'admin'
          ? p.queues.includes(m.view.queue)
          : m.view.supervisor === p.actor,
      )
      .map((m) => ({ ...m.view }));
  }

  private monitorDetail(v: MonitorView): Record<string, unknown> {
    return {
      monitorId: v.id,
      mode: v.mode,
      queue: v.queue,
      agent: v.agent,
      caller: v.caller.number,
    };
  }

  // ------------------------------------------------------------ recordings

  /**
   * Delete recordings older than their queue's retentionDays (by the day the
   * caller entered); each deletion is recorded on the call and in the audit.
   */
  runRetention(now = Date.now()): number {
    let deleted = 0;
    for (const q of this.d.cc.queues) {
      const before = iso(now - q.recording.retentionDays * DAY_MS);
      for (const r of this.d.store.recordingsBefore(q.name, before)) {
        const path = this.d.resolveRecording(r.file);
        try {
          if (existsSync(path)) unlinkSync(path);
        } catch (err) {
          this.d.log.warn({ err, path }, 'recording could not be deleted');
          continue;
        }
        this.d.store.recordingDeleted(r.id, iso(now));
        this.audit('system', 'recording-deleted', r.id, true, {
          queue: q.name,
          file: r.file,
          retentionDays: q.recording.retentionDays,
        });
        deleted += 1;
      }
    }
    return deleted;
  }
}
