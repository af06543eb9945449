import { mkdirSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { CallControl, InboundCall } from '../callcontrol/types.js';
import {
  recordingSpoolDir,
  type ContactCenterConfig,
  type IvrConfig,
} from '../config/contactCenter.js';
import type { GatewayConfig } from '../config/schema.js';
import type { Directory } from '../directory/directory.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Db } from '../store/db.js';
import type { BusMessage, ClusterBus } from '../store/bus.js';
import { AgentBook, type Agent } from './agents.js';
import { compileIvr, destinationFlow, runFlow } from './flows/run.js';
import type { Flow, FlowContext } from './flows/spec.js';
import { QueueEngine, startOfToday, transferDestination } from './queueEngine.js';
import { ContactCenterConfigError, DEFAULT_MUSIC, Sounds, verifySounds } from './sounds.js';
import { CcStore, type AgentRow, type QueueCallRow } from './store.js';
import { Recorder } from './recording.js';
import { Supervision, type Principal, type Wallboard } from './supervisor.js';
import { AGENT_STATES, AgentActionError, type AgentView, type ScreenPop } from './types.js';

// The contact center: routes the calls the call-control tier hands over to an
// IVR flow or a queue, keeps agents' states, and answers the agent API.

export interface ContactCenterOptions {
  cfg: GatewayConfig;
  db: Db;
  directory: Directory;
  callControl: CallControl;
  log: Logger;
  metrics?: Metrics;
  /** The gateway's data dir (absolute): relative recordingsDir is under it. Default: cfg.dataDir from the cwd. */
  dataDir?: string;
  /**
   * Cluster mode: agents' states and wallboard changes made on this node are
   * published to the other nodes, and theirs shown here (store/bus.ts).
   */
  bus?: ClusterBus;
  /**
   * The store the engine writes. Default: a CcStore on `db`. Cluster mode: a
   * MirroredCcStore, whose writes are replayed on PostgreSQL (../store/ccMirror.ts).
   */
  store?: CcStore;
}

export interface AdminAgent {
  username: string;
  displayName: string;
  state: string;
  reason: string | null;
  since: string;
  queues: { name: string; penalty: number; loggedIn: boolean; source: 'config' | 'admin' }[];
}

type Listener = (view: AgentView) => void;

const iso = (ms: number) => new Date(ms).toISOString();
/** How often agents' views are refreshed while callers wait. */
const VIEW_REFRESH_SEC = 5;
/** Wallboard pushes are coalesced over this long (a burst of events → one push). */
const WALLBOARD_DEBOUNCE_MS = 250;
/** Expired recordings are looked for this often (and at start). */
const RETENTION_EVERY_MS = 3600_000;

type WallboardListener = { principal: Principal; fn: (w: Wallboard) => void; last: string };

export class ContactCenter {
  readonly cc: ContactCenterConfig;
  readonly realm: string;
  /** Failed-auth limits, shared with Kamailio's, for the agent sign-in. */
  readonly protection: GatewayConfig['protection'];
  readonly store: CcStore;
  readonly sounds: Sounds;
  private readonly agents: AgentBook;
  private readonly engine: QueueEngine;
  private readonly flows = new Map<string, Flow>();
  private readonly listeners = new Map<string, Set<{ fn: Listener; last: string }>>();
  private readonly log: Logger;
  private flushPending = false;
  private ringMusic: string[] = [];
  private ticker: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;
  /** Supervisors' wallboards, quality samples, forcing actions, audit (issue 8). */
  readonly supervision: Supervision;
  private readonly wallboards = new Set<WallboardListener>();
  private wallboardTimer: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  /** A change made here since the last flush: the other nodes' wallboards are told. */
  private localChange = false;
  private readonly busOff: (() => void)[] = [];
  /** Folder of queue call recordings (absolute). */
  readonly recordingsDir: string;
  /** rtpengine's pcap spool, when any queue records. */
  private readonly spoolDir: string | undefined;

  constructor(private readonly o: ContactCenterOptions) {
    this.cc = o.cfg.contactCenter;
    this.realm = o.cfg.domain;
    this.protection = o.cfg.protection;
    this.log = o.log.child({ component: 'contact-center' });
    this.store = o.store ?? new CcStore(o.db);
    this.sounds = new Sounds(this.cc.soundsDir, this.cc.musicDir);
    this.agents = new AgentBook(
      this.store,
      this.log,
      () => this.changed(),
      (a) => o.bus?.publish('gw_cc_agent', { agent: AgentBook.row(a) }),
    );
    const data = o.dataDir ?? resolve(o.cfg.dataDir);
    this.recordingsDir = isAbsolute(this.cc.recordingsDir)
      ? this.cc.recordingsDir
      : resolve(data, this.cc.recordingsDir);
    const spoolDir = recordingSpoolDir(this.cc, data);
    this.spoolDir = spoolDir;
    this.engine = new QueueEngine({
      recorder: spoolDir
        ? new Recorder({ spoolDir, outDir: this.recordingsDir, store: this.store, log: this.log })
        : undefined,
      cc: this.cc,
      store: this.store,
      agents: this.agents,
      sounds: this.sounds,
      log: this.log,
      metrics: o.metrics,
      onChange: () => this.changed(),
    });
    this.supervision = new Supervision({
      cc: this.cc,
      store: this.store,
      engine: this.engine,
      agents: this.agents,
      directory: o.directory,
      log: this.log,
      onChange: () => this.changed(),
      resolveRecording: (f) => this.recordingPath(f),
    });
  }

  /**
   * Check the config against the disk and the directory, restore agents from
   * the store, and take calls. Throws ContactCenterConfigError naming the
   * config path of anything missing.
   */
  start(): void {
    if (this.started || this.stopped) return;
    verifySounds(this.cc, this.sounds);
    // rtpengine (started after the contact center) writes its pcaps here.
    if (this.spoolDir) mkdirSync(this.spoolDir, { recursive: true });
    this.ringMusic = this.sounds.music(DEFAULT_MUSIC);
    this.cc.ivrs.forEach((ivr) => this.addNumbers(ivr, compileIvr(ivr)));
    for (const q of this.cc.queues) this.addNumbers(q, destinationFlow({ queue: q.name }, this.cc));
    this.syncConfigAgents();
    this.agents.load();
    this.restore();
    this.started = true;
    if (this.cc.enabled) this.o.callControl.onCall((call) => void this.handleCall(call));
    // Waits grow by the second: while anyone waits, views (longestWaitSec) are refreshed;
    // wallboards too while anyone waits or talks (durations, time in state).
    this.ticker = setInterval(() => {
      if (this.cc.queues.some((q) => this.engine.waiting(q.name).length > 0)) this.changed();
      else if (this.wallboards.size > 0) this.wallboardChanged();
    }, VIEW_REFRESH_SEC * 1000);
    this.ticker.unref();
    this.runRetention();
    this.retentionTimer = setInterval(() => this.runRetention(), RETENTION_EVERY_MS);
    this.retentionTimer.unref();
    const bus = this.o.bus;
    if (bus) {
      this.busOff.push(
        bus.subscribe('gw_cc_agent', (m) => this.peerAgentChanged(m)),
        bus.subscribe('gw_cc_wallboard', () => this.wallboardChanged()),
      );
      bus.onReconnect(() => this.changed(true));
    }
    this.changed();
    this.log.info(
      {
        ivrs: this.cc.ivrs.length,
        queues: this.cc.queues.length,
        agents: this.agents.all().length,
      },
      'contact center ready',
    );
  }

  /**
   * Cluster standby: the checks of start() that need no writing (sound files,
   * config agents in the directory), so a bad config fails on every node at
   * start, not only on the one that leads.
   */
  verify(): void {
    verifySounds(this.cc, this.sounds);
    const problems = this.cc.agents.flatMap((a, i) =>
      this.o.directory.findUser(a.username)
        ? []
        : [`contactCenter.agents[${i}].username: no user "${a.username}" in the directory`],
    );
    if (problems.length) throw new ContactCenterConfigError(problems);
  }

  /** Running and driving calls (a cluster standby, or a stopped one, is not). */
  get serving(): boolean {
    return this.started && !this.stopped;
  }

  stop(): void {
    this.stopped = true;
    this.busOff.splice(0).forEach((off) => off());
    clearInterval(this.ticker);
    clearInterval(this.retentionTimer);
    clearTimeout(this.wallboardTimer);
    this.wallboards.clear();
    this.engine.stop();
    for (const set of this.listeners.values()) set.clear();
    this.listeners.clear();
  }

  private addNumbers(target: Pick<IvrConfig, 'number' | 'dids'>, flow: Flow): void {
    for (const n of [target.number, ...target.dids]) if (n) this.flows.set(normal(n), flow);
  }

  private syncConfigAgents(): void {
    const problems: string[] = [];
    const now = iso(Date.now());
    this.store.transaction(() => {
      this.cc.agents.forEach((a, i) => {
        if (!this.o.directory.findUser(a.username)) {
          problems.push(
            `contactCenter.agents[${i}].username: no user "${a.username}" in the directory`,
          );
          return;
        }
        this.store.ensureAgent(a.username, now);
        this.store.setConfigMembership(a.username, a.queues);
      });
      this.store.pruneMembership(
        new Set(this.cc.agents.map((a) => a.username)),
        new Set(this.cc.queues.map((q) => q.name)),
      );
    });
    if (problems.length) throw new ContactCenterConfigError(problems);
  }

  /**
   * After a restart, nothing the old process was doing survives: the
   * call-control tier restarted with it, so every caller it held is gone.
   * Waiting callers are recorded as abandoned and bridged calls as ended.
   * An agent who was offered comes back available (they were ready a moment
   * ago; if their phone is gone too, the first offer comes back 'unavailable'
   * and makes them offline). An agent who was on a call gets a fresh wrap-up
   * for it, so the disposition of a call cut by the restart can still be
   * saved; one in wrap-up keeps what was left of it.
   */
  private restore(): void {
    const now = Date.now();
    for (const row of this.store.openQueueCalls()) {
      if (row.outcome === null) {
        const waitSec = Math.max(0, (now - Date.parse(row.enteredAt)) / 1000);
        this.store.markLeft(row.id, 'abandoned', iso(now), Math.round(waitSec * 10) / 10);
        this.engine.event('abandoned', row.id, row.queue, null, { waitSec, why: 'restart' });
      } else {
        this.store.markEnded(row.id, iso(now));
        this.engine.event('ended', row.id, row.queue, row.agent, { by: 'restart' });
      }
    }
    for (const a of this.agents.all()) {
      if (!AGENT_STATES.includes(a.state))
        this.agents.set(a, 'offline', null, 'restart: unknown state');
      if (a.state === 'offered') this.agents.set(a, 'available', null, 'restart: offer lost');
      else if (a.state === 'on-call' || a.state === 'wrap-up') {
        const callId = a.wrap?.callId ?? this.lastCallOf(a.username)?.id;
        const row = callId ? this.store.queueCall(callId) : undefined;
        const queue = row ? this.engine.queue(row.queue) : undefined;
        if (!row || !queue) this.agents.set(a, 'available', null, 'restart: call gone');
        else
          this.engine.startWrapUp(
            a,
            row.id,
            queue,
            a.state === 'wrap-up' ? a.wrap?.endsAt : undefined,
          );
      }
    }
  }

  private lastCallOf(agent: string): QueueCallRow | undefined {
    return this.store.lastAnsweredBy(agent);
  }

  // ------------------------------------------------------------------ calls

  /** A call for an IVR or queue number; anything else is not ours (404). */
  async handleCall(call: InboundCall): Promise<void> {
    const flow = this.flows.get(normal(call.dialled));
    if (!flow) {
      this.log.warn({ callId: call.id, dialled: call.dialled }, 'no IVR or queue for this number');
      await call.reject(404, 'Not Found').catch(() => undefined);
      return;
    }
    const ctx: FlowContext = {
      call,
      sounds: this.sounds,
      log: this.log,
      ringMusic: this.ringMusic,
      transferTarget: (user) => transferDestination(this.cc, user),
      enqueue: (c, queue) => this.engine.enqueue(c, queue),
    };
    try {
      await runFlow(ctx, flow, this.cc);
    } catch (err) {
      this.log.error({ err, callId: call.id }, 'call flow failed');
      if (call.state === 'ringing') await call.reject(500).catch(() => undefined);
      else if (call.state !== 'ended') await call.hangup().catch(() => undefined);
    }
  }

  /** Kamailio's registration events (the lead calls this): no registration left → offline. */
  registrationChanged(username: string, registered: boolean): void {
    // a cluster standby does not drive agents (the leader's engine does)
    if (!this.serving) return;
    const a = this.agents.get(username);
    if (!a) return;
    if (registered) {
      a.registered = true;
      this.engine.dispatch();
      return;
    }
    this.engine.registrationLost(a);
  }

  // ------------------------------------------------------------------ agents

  /** The user's HA1 for the agent sign-in (the registrar's secret; never the password). */
  ha1Of(username: string): string | undefined {
    return this.o.directory.findUser(username)?.ha1;
  }

  isAgent(username: string): boolean {
    return this.agents.isAgent(username) && this.agents.get(username) !== undefined;
  }

  private agent(username: string): Agent {
    const a = this.agents.get(username);
    if (!a || !this.agents.isAgent(username))
      throw new AgentActionError(403, `${username} is not an agent of any queue`);
    return a;
  }

  setState(username: string, state: 'available' | 'not-ready' | 'offline', reason?: string | null) {
    const a = this.agent(username);
    if (state === 'not-ready' && (!reason || !this.cc.reasonCodes.includes(reason)))
      throw new AgentActionError(
        400,
        `not-ready needs a reason, one of: ${this.cc.reasonCodes.join(', ')}`,
      );
    this.engine.setAgentState(a, state, state === 'not-ready' ? reason! : null);
    return this.view(username);
  }

  setQueueLogin(username: string, queue: string | undefined, loggedIn: boolean): AgentView {
    this.agent(username);
    if (queue && !this.agents.members({ username, queue }).length)
      throw new AgentActionError(404, `${username} is not an agent of queue "${queue}"`);
    this.store.setLoggedIn(username, queue, loggedIn);
    this.agents.reloadMembers();
    this.engine.event('agent-login', null, queue ?? null, username, { loggedIn });
    if (!loggedIn) this.engine.leaveWhenEmpty();
    this.engine.dispatch();
    this.changed();
    return this.view(username);
  }

  /** Disposition and notes into the call's record; ends the wrap-up of that call. */
  saveWrapUp(username: string, callId: string, disposition: string, notes?: string): AgentView {
    const a = this.agent(username);
    const row = this.store.queueCall(callId);
    if (!row || row.agent !== username)
      throw new AgentActionError(404, `no call ${callId} of yours to wrap up`);
    if (!row.endedAt) throw new AgentActionError(409, 'the call is still going on');
    const queue = this.engine.queue(row.queue);
    if (!queue?.dispositions.includes(disposition))
      throw new AgentActionError(
        400,
        `disposition must be one of: ${(queue?.dispositions ?? []).join(', ')}`,
      );
    this.store.saveDisposition(callId, disposition, notes ?? null, iso(Date.now()));
    if (a.wrap?.callId === callId) this.engine.endWrapUp(a, 'disposition saved', disposition);
    else
      this.engine.event('wrap-up-done', callId, row.queue, username, { disposition, late: true });
    this.changed();
    return this.view(username);
  }

  view(username: string): AgentView {
    const a = this.agent(username);
    const queues = this.agents.members({ username }).map((m) => {
      const q = this.engine.queue(m.queue);
      const waiting = this.engine.waiting(m.queue);
      return {
        name: m.queue,
        displayName: q?.displayName || m.queue,
        penalty: m.penalty,
        loggedIn: m.loggedIn,
        waiting: waiting.length,
        longestWaitSec: waiting[0] ? Math.round((Date.now() - waiting[0].enteredAt) / 1000) : 0,
      };
    });
    const offerRow = a.offerCallId ? this.store.queueCall(a.offerCallId) : undefined;
    const callRow = a.callId ? this.store.queueCall(a.callId) : undefined;
    const wrapQueue = a.wrap ? this.engine.queue(a.wrap.queue) : undefined;
    return {
      username,
      state: a.state,
      reason: a.reason,
      since: iso(a.since),
      queues,
      offer: offerRow ? this.screenPop(offerRow) : null,
      call:
        callRow && callRow.answeredAt
          ? {
              ...this.screenPop(callRow),
              answeredAt: callRow.answeredAt,
              recorded: this.engine.queue(callRow.queue)?.recording.enabled ?? false,
            }
          : null,
      wrapUp: a.wrap
        ? {
            callId: a.wrap.callId,
            queue: a.wrap.queue,
            endsAt: iso(a.wrap.endsAt),
            dispositions: wrapQueue?.dispositions ?? [],
          }
        : null,
      next: a.next,
      today: this.store.agentDay(username, startOfToday()),
      reasonCodes: this.cc.reasonCodes,
    };
  }

  private screenPop(row: QueueCallRow): ScreenPop {
    const q = this.engine.queue(row.queue);
    const waitedSec =
      row.waitSec ?? Math.max(0, Math.round((Date.now() - Date.parse(row.enteredAt)) / 1000));
    return {
      callId: row.id,
      queue: row.queue,
      queueDisplayName: q?.displayName || row.queue,
      caller: { number: row.callerNumber, name: row.callerName },
      waitedSec: Math.round(waitedSec),
      history: this.store.history(row.callerNumber, row.id).map((h) => ({
        at: h.enteredAt,
        queue: h.queue,
        agent: h.agent,
        disposition: h.disposition,
      })),
      crmUrl: this.cc.crmUrlTemplate
        ? this.cc.crmUrlTemplate.replaceAll('{caller}', encodeURIComponent(row.callerNumber))
        : null,
    };
  }

  /** The agent's view now and on every change; returns the unsubscribe. */
  subscribe(username: string, fn: Listener): () => void {
    const view = this.view(username);
    const entry = { fn, last: JSON.stringify(view) };
    let set = this.listeners.get(username);
    if (!set) this.listeners.set(username, (set = new Set()));
    set.add(entry);
    fn(view);
    return () => {
      set.delete(entry);
      if (set.size === 0) this.listeners.delete(username);
    };
  }

  /** Another node changed an agent: show it here (not published again, not logged again). */
  private peerAgentChanged(m: BusMessage): void {
    const row = m.agent as AgentRow | undefined;
    if (!row || typeof row.username !== 'string' || !AGENT_STATES.includes(row.state)) {
      this.log.warn({ from: m.node }, 'cluster: agent message not understood');
      return;
    }
    if (!this.agents.applyRemote(row)) return;
    this.log.debug(
      { agent: row.username, state: row.state, from: m.node },
      'agent state from a peer',
    );
    this.changed(true);
  }

  /**
   * Coalesce a burst of changes (one offer touches several things) into one
   * push per agent. `fromPeer`: another node's change, which it has published
   * itself (republishing it would echo between nodes for ever).
   */
  private changed(fromPeer = false): void {
    if (!fromPeer) this.localChange = true;
    if (this.flushPending) return;
    this.flushPending = true;
    void Promise.resolve().then(() => {
      this.flushPending = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.localChange && this.o.bus) this.o.bus.publish('gw_cc_wallboard', {});
    this.localChange = false;
    this.wallboardChanged();
    for (const [username, set] of this.listeners) {
      let view: AgentView;
      try {
        view = this.view(username);
      } catch {
        continue; // no longer an agent: the stream stays quiet
      }
      const json = JSON.stringify(view);
      for (const entry of set) {
        if (entry.last === json) continue;
        entry.last = json;
        entry.fn(view);
      }
    }
    const m = this.o.metrics;
    if (m) {
      for (const q of this.cc.queues)
        m.ccWaiting.set({ queue: q.name }, this.engine.waiting(q.name).length);
      for (const s of AGENT_STATES)
        m.ccAgents.set(
          { state: s },
          this.agents.all().filter((a) => a.state === s && this.agents.isAgent(a.username)).length,
        );
    }
  }

  // ------------------------------------------------------------------ supervisors

  /** Roles of a user for the agent API's sign-in (agent, supervisor, admin) and the queues supervised. */
  rolesOf(username: string): { roles: ('agent' | 'supervisor' | 'admin')[]; supervises: string[] } {
    const roles: ('agent' | 'supervisor' | 'admin')[] = [];
    if (this.isAgent(username)) roles.push('agent');
    const supervises = this.supervision.queuesOf(username);
    if (supervises) roles.push('supervisor');
    if (this.supervision.isAdmin(username)) roles.push('admin');
    return { roles, supervises: supervises ?? [] };
  }

  /** The wallboard now and on every change (debounced); returns the unsubscribe. */
  subscribeWallboard(principal: Principal, fn: (w: Wallboard) => void): () => void {
    const w = this.supervision.wallboard(principal);
    const entry: WallboardListener = { principal, fn, last: wallboardKey(w) };
    this.wallboards.add(entry);
    fn(w);
    return () => this.wallboards.delete(entry);
  }

  private wallboardChanged(): void {
    if (this.wallboards.size === 0 || this.wallboardTimer) return;
    this.wallboardTimer = setTimeout(() => {
      this.wallboardTimer = undefined;
      const byScope = new Map<string, Wallboard>();
      for (const entry of this.wallboards) {
        const scope = entry.principal.queues.join(',');
        let w = byScope.get(scope);
        if (!w) byScope.set(scope, (w = this.supervision.wallboard(entry.principal)));
        const key = wallboardKey(w);
        if (key === entry.last) continue;
        entry.last = key;
        entry.fn(w);
      }
    }, WALLBOARD_DEBOUNCE_MS);
  }

  /** Supervisor log-out: the agent leaves every queue of the supervisor's. */
  forceLogout(principal: Principal, username: string): AdminAgent | undefined {
    this.supervision.logout(principal, username, (q) => {
      this.store.setLoggedIn(username, q, false);
      this.engine.event('agent-login', null, q, username, {
        loggedIn: false,
        by: principal.actor,
      });
    });
    this.agents.reloadMembers();
    this.engine.leaveWhenEmpty();
    this.engine.dispatch();
    this.changed();
    return this.listAgents().find((a) => a.username === username);
  }

  /** A stored recording path → the file on disk. */
  recordingPath(file: string): string {
    return isAbsolute(file) ? file : resolve(this.recordingsDir, file);
  }

  private runRetention(): void {
    try {
      this.supervision.runRetention();
    } catch (err) {
      this.log.error({ err }, 'recording retention failed');
    }
  }

  // ------------------------------------------------------------------ admin

  listAgents(): AdminAgent[] {
    return this.agents
      .all()
      .filter((a) => this.agents.isAgent(a.username))
      .sort((x, y) => x.username.localeCompare(y.username))
      .map((a) => ({
        username: a.username,
        displayName: this.o.directory.findUser(a.username)?.displayName ?? '',
        state: a.state,
        reason: a.reason,
        since: iso(a.since),
        queues: this.agents.members({ username: a.username }).map((m) => ({
          name: m.queue,
          penalty: m.penalty,
          loggedIn: m.loggedIn,
          source: m.source,
        })),
      }));
  }

  /** Make a directory user an agent of queues (or change their penalties). */
  addAgent(username: string, queues: { name: string; penalty: number }[]): AdminAgent {
    if (!this.o.directory.findUser(username))
      throw new AgentActionError(404, `no user "${username}" in the directory`);
    for (const q of queues)
      if (!this.engine.queue(q.name)) throw new AgentActionError(400, `no queue named "${q.name}"`);
    this.store.transaction(() => {
      this.store.ensureAgent(username, iso(Date.now()));
      for (const q of queues) this.store.upsertAdminMembership(username, q.name, q.penalty);
    });
    this.agents.load();
    this.agents.reloadMembers();
    this.log.info({ agent: username, queues }, 'agent added by admin');
    this.engine.dispatch();
    this.changed();
    return this.listAgents().find((a) => a.username === username)!;
  }

  /** Waiting callers of a queue (for tests and a future wallboard). */
  waiting(queue: string): { id: string; caller: string; enteredAt: string }[] {
    return this.engine.waiting(queue).map((c) => ({
      id: c.id,
      caller: c.call.caller.user,
      enteredAt: iso(c.enteredAt),
    }));
  }
}

/** A wallboard without its clock: pushed only when a figure changed. */
function wallboardKey(w: Wallboard): string {
  return JSON.stringify({ ...w, at: null });
}

/** DIDs arrive with or without the + (trunk numberFormat): compare without it. */
function normal(n: string): string {
  return n.replace(/^\+/, '');
}
