import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type {
  Monitor,
  MonitorEndReason,
  MonitorMode,
  MonitorOptions,
  OfferOutcome,
} from '../callcontrol/types.js';
import { harness, type Harness } from './testing/harness.js';
import type { FakeInboundCall } from './testing/fakeCallControl.js';
import type { Principal } from './supervisor.js';

// Supervision.monitor through the real ContactCenter with a fake call-control
// tier whose calls can be monitored: access (403 audited, 400, 404, 409),
// mode changes on one session, the audit trail, the softphone not answering,
// and a session ended when the agent's registration goes (a dead tab).
// The media itself is proven in test/integration/cc-monitoring.test.ts.

const CONFIG = {
  queues: [
    { name: 'sales', number: '8001', announce: { everySec: 0 } },
    { name: 'support', number: '8002', announce: { everySec: 0 } },
  ],
  agents: [{ username: '1003', queues: [{ name: 'sales' }] }],
  supervisors: [
    { username: '1001', queues: ['sales'] },
    { username: '1002', queues: ['support'] },
  ],
};
const BOSS: Principal = { actor: '1001', queues: ['sales'] };

class FakeMonitor implements Monitor {
  mode: MonitorMode;
  readonly modes: MonitorMode[] = [];
  failNext: string | null = null;
  ended: MonitorEndReason | null = null;
  private readonly endedL: ((r: MonitorEndReason) => void)[] = [];
  private readonly modeL: ((m: MonitorMode, why: string) => void)[] = [];
  readonly outcome: Promise<OfferOutcome>;

  constructor(
    readonly supervisor: string,
    readonly opts: MonitorOptions,
    outcome: OfferOutcome,
  ) {
    this.mode = opts.mode;
    this.outcome = Promise.resolve(outcome);
  }
  get id(): string {
    return this.opts.id;
  }
  async setMode(mode: MonitorMode): Promise<void> {
    if (this.failNext) throw new Error(this.failNext);
    this.modes.push(mode);
    this.mode = mode;
  }
  async end(): Promise<void> {
    this.finish('supervisor');
  }
  finish(reason: MonitorEndReason): void {
    if (this.ended) return;
    this.ended = reason;
    for (const l of this.endedL) l(reason);
  }
  agentDroppedWhisperLeg(): void {
    this.mode = 'listen';
    for (const l of this.modeL) l('listen', 'the agent ended the whisper leg');
  }
  onEnded(l: (r: MonitorEndReason) => void): void {
    this.endedL.push(l);
  }
  onModeChanged(l: (m: MonitorMode, why: string) => void): void {
    this.modeL.push(l);
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
}

/** A sales call answered by 1003, whose monitor() hands out FakeMonitors. */
async function bridged(
  h: Harness,
  outcome: OfferOutcome = 'answered',
): Promise<{ call: FakeInboundCall; queueCallId: string; monitors: FakeMonitor[] }> {
  h.cc.setState('1003', 'available');
  const call = h.callControl.call('8001', '+15550000001', 'Caller');
  await settle();
  call.offerTo('1003').settle('answered');
  await settle();
  const monitors: FakeMonitor[] = [];
  Object.assign(call, {
    monitor: (supervisor: string, opts: MonitorOptions) => {
      const m = new FakeMonitor(supervisor, opts, outcome);
      monitors.push(m);
      return m;
    },
  });
  return { call, queueCallId: h.cc.view('1003').call!.callId, monitors };
}

const auditOf = (h: Harness, target: string) =>
  h.cc.store
    .auditLog()
    .filter((r) => r.target === target)
    .reverse()
    .map((r) => ({ actor: r.actor, action: r.action, allowed: r.allowed, detail: r.detail }));

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
});
afterEach(() => vi.useRealTimers());

describe('listen, whisper, barge (supervision)', () => {
  it('starts, changes mode on the same session, ends; every step audited and on the wallboard', async () => {
    const h = harness(CONFIG);
    h.cc.start();
    const { queueCallId, monitors } = await bridged(h);

    const v = await h.cc.supervision.monitor(BOSS, queueCallId, 'listen');
    expect(v).toMatchObject({ queueCallId, queue: 'sales', agent: '1003', mode: 'listen' });
    expect(monitors).toHaveLength(1);
    expect(monitors[0]!.supervisor).toBe('1001');
    expect(monitors[0]!.opts).toMatchObject({
      mode: 'listen',
      supervisorParams: { 'queue-call': queueCallId, agent: '1003' },
      agentParams: { 'queue-call': queueCallId, supervisor: '1001' },
    });
    const agentRow = () =>
      h.cc.supervision.wallboard(BOSS).agents.find((a) => a.username === '1003')!;
    expect(agentRow().call!.monitors).toEqual([{ supervisor: '1001', mode: 'listen' }]);

    expect((await h.cc.supervision.monitor(BOSS, queueCallId, 'whisper')).mode).toBe('whisper');
    expect((await h.cc.supervision.monitor(BOSS, queueCallId, 'barge')).mode).toBe('barge');
    expect((await h.cc.supervision.monitor(BOSS, queueCallId, 'barge')).mode).toBe('barge');
    expect(monitors).toHaveLength(1); // never re-dialled
    expect(monitors[0]!.modes).toEqual(['whisper', 'barge']);
    expect(h.cc.supervision.monitors(BOSS).map((m) => m.mode)).toEqual(['barge']);

    // A refused mode change leaves the mode as it was (409).
    monitors[0]!.failNext = "the agent's softphone refused the mode (488)";
    await expect(h.cc.supervision.monitor(BOSS, queueCallId, 'whisper')).rejects.toMatchObject({
      code: 409,
    });
    expect(h.cc.supervision.monitors(BOSS)[0]!.mode).toBe('barge');
    monitors[0]!.failNext = null;

    // The agent's softphone hangs up the whisper leg: back to listen, audited.
    monitors[0]!.agentDroppedWhisperLeg();
    expect(h.cc.supervision.monitors(BOSS)[0]!.mode).toBe('listen');

    await h.cc.supervision.stopMonitor(BOSS, queueCallId);
    expect(monitors[0]!.ended).toBe('supervisor');
    expect(h.cc.supervision.monitors(BOSS)).toEqual([]);
    expect(agentRow().call!.monitors).toEqual([]);
    await expect(h.cc.supervision.stopMonitor(BOSS, queueCallId)).rejects.toMatchObject({
      code: 404,
    });

    const trail = auditOf(h, queueCallId);
    expect(trail.map((r) => `${r.action} ${String(r.detail?.to ?? r.detail?.mode)}`)).toEqual([
      'monitor-start listen',
      'monitor-mode whisper',
      'monitor-mode barge',
      'monitor-mode whisper',
      'monitor-mode listen',
      'monitor-end listen',
    ]);
    expect(trail.every((r) => r.actor === '1001' && r.allowed)).toBe(true);
    expect(trail[3]!.detail).toMatchObject({ failed: expect.stringMatching(/refused/) as unknown });
    expect(trail[4]!.detail).toMatchObject({ why: 'the agent ended the whisper leg' });
    expect(trail[5]!.detail).toMatchObject({
      reason: 'supervisor',
      agent: '1003',
      queue: 'sales',
      caller: '+15550000001',
      monitorId: monitors[0]!.id,
    });
    h.cc.stop();
  });

  it('refuses: another queue (403, audited), admin token (400), unknown (404), not bridged (409)', async () => {
    const h = harness(CONFIG);
    h.cc.start();
    const { queueCallId, monitors } = await bridged(h);
    await expect(
      h.cc.supervision.monitor({ actor: '1002', queues: ['support'] }, queueCallId, 'listen'),
    ).rejects.toMatchObject({ code: 403 });
    expect(auditOf(h, queueCallId)).toEqual([
      {
        actor: '1002',
        action: 'monitor',
        allowed: false,
        detail: { queue: 'sales', why: 'not your queue' },
      },
    ]);
    await expect(
      h.cc.supervision.monitor({ actor: 'admin', queues: ['sales'] }, queueCallId, 'listen'),
    ).rejects.toMatchObject({ code: 400 });
    await expect(h.cc.supervision.monitor(BOSS, 'nope', 'listen')).rejects.toMatchObject({
      code: 404,
    });
    // A caller still waiting is not monitorable.
    const waiting = h.callControl.call('8001', '+15550000002');
    await settle();
    const waitingId = h.cc.supervision.wallboard(BOSS).queues[0]!.callers[0]!.queueCallId;
    expect(waiting.state).toBe('answered');
    await expect(h.cc.supervision.monitor(BOSS, waitingId, 'listen')).rejects.toMatchObject({
      code: 409,
    });
    expect(monitors).toHaveLength(0);
    h.cc.stop();
  });

  it("the supervisor's softphone does not answer: 409 naming why, audited monitor-failed", async () => {
    const h = harness(CONFIG);
    h.cc.start();
    const { queueCallId } = await bridged(h, 'unavailable');
    await expect(h.cc.supervision.monitor(BOSS, queueCallId, 'listen')).rejects.toMatchObject({
      code: 409,
      message: 'your softphone is not registered',
    });
    expect(auditOf(h, queueCallId).map((r) => [r.action, r.detail?.outcome])).toEqual([
      ['monitor-failed', 'unavailable'],
    ]);
    expect(h.cc.supervision.monitors(BOSS)).toEqual([]);
    h.cc.stop();
  });

  it("the agent's registration goes mid-barge (dead tab): the session is ended within a second", async () => {
    const h = harness(CONFIG);
    h.cc.start();
    const { queueCallId, monitors } = await bridged(h);
    await h.cc.supervision.monitor(BOSS, queueCallId, 'barge');
    h.cc.registrationChanged('1003', false);
    await vi.advanceTimersByTimeAsync(1000);
    await settle();
    expect(monitors[0]!.ended).toBe('supervisor');
    const end = auditOf(h, queueCallId).at(-1)!;
    expect(end).toMatchObject({ action: 'monitor-end' });
    expect(end.detail).toMatchObject({ reason: 'agent-unregistered', mode: 'barge' });
    h.cc.stop();
  });

  it('the call ends under a session: the tier ends it, audited with its reason', async () => {
    const h = harness(CONFIG);
    h.cc.start();
    const { queueCallId, monitors } = await bridged(h);
    await h.cc.supervision.monitor(BOSS, queueCallId, 'whisper');
    monitors[0]!.finish('agent-left');
    expect(auditOf(h, queueCallId).at(-1)!.detail).toMatchObject({
      reason: 'agent-left',
      mode: 'whisper',
    });
    await expect(h.cc.supervision.monitor(BOSS, queueCallId, 'listen')).resolves.toMatchObject({
      mode: 'listen',
    });
    h.cc.stop();
  });
});
