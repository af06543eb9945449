import { afterEach, describe, expect, it, vi } from 'vitest';
import { useAccountStore } from './account';
import { useAgentStore } from './agent';
import { useSupervisorStore, dayRange } from './supervisor';
import { useUiStore } from './ui';
import { flush, contactCenterFixture } from '../testing/contact-center';
import type { FakePhone } from '../testing/fake-phone';
import { samplePop } from '../phone/testing/fake-agent-server';
import { postQuality, qualityOf } from './agent-quality';
import type { CallStats } from '../phone';

// The supervisor store and the agent's quality posting, with the gateway
// faked only at the fetch/EventSource boundary (FakeAgentServer) and the
// phone faked at the core's boundary.

const stats = (over: Partial<CallStats>): CallStats => ({
  timestamp: Date.now(),
  bitrateKbpsIn: 64,
  bitrateKbpsOut: 64,
  packetLossPct: 0,
  packetsReceived: 50,
  packetsLost: 0,
  rFactor: 90,
  mos: 4.3,
  jitterMs: 2,
  rttMs: 10,
  ...over,
});

afterEach(() => {
  vi.useRealTimers();
});
const cc = contactCenterFixture(['1002', '1003']);

describe('supervisor store', () => {
  it('a supervisor who is not an agent gets the supervisor role (no agent view) and the live wallboard', async () => {
    const agent = useAgentStore();
    const sup = useSupervisorStore();
    await cc.signIn('1002');
    expect(agent.status).toBe('not-agent');
    expect(agent.isAgent).toBe(false);
    expect(agent.isSupervisor).toBe(true);
    expect(agent.roles).toEqual(['supervisor']);
    await flush();
    expect(sup.connection).toBe('open');
    expect(sup.wallboard?.queues[0]?.today.serviceLevelPct).toBe(50);
    // today's 15-minute intervals for the chart come from the report API
    expect(sup.intervals).toHaveLength(1);
    const reportReq = cc.server.requests.find((r) => r.path.startsWith('supervisor/reports'))!;
    const q = new URL(`https://x/${reportReq.path}`).searchParams;
    expect(q.get('interval')).toBe('15m');
    expect(q.get('from')).toBe(dayRange().from);
    expect(JSON.stringify(cc.server.requests)).not.toContain('demo-1002-pw');
  });

  it('announces a call whose quality falls below the threshold, once', async () => {
    const sup = useSupervisorStore();
    await cc.signIn('1002');
    const ui = useUiStore();
    cc.server.pushWallboard({
      flagged: [{ queueCallId: 'qc-1', agent: '1003', queue: 'sales', mos: 2.94 }],
    });
    expect(ui.announcement).toBe('Poor call quality: Carol in Sales, MOS 2.9');
    const seq = ui.announcementSeq;
    cc.server.pushWallboard({ at: new Date().toISOString() });
    expect(ui.announcementSeq).toBe(seq);
    expect(sup.flaggedIds.has('qc-1')).toBe(true);
  });

  it('forces a state, logs an agent out and sends a waiting caller, each announced; a refusal is a toast', async () => {
    const sup = useSupervisorStore();
    await cc.signIn('1002');
    const ui = useUiStore();
    expect(await sup.forceState('1004', 'not-ready')).toBe(true);
    expect(ui.announcement).toBe('Dave set to Not ready');
    expect(sup.wallboard?.agents.find((a) => a.username === '1004')?.state).toBe('not-ready');
    expect(await sup.sendCaller('qc-9', '1004')).toBe(false);
    expect(ui.toasts.at(-1)?.text).toContain('1004 is not available');
    await sup.forceState('1004', 'available');
    expect(await sup.sendCaller('qc-9', '1004')).toBe(true);
    expect(ui.announcement).toBe('Caller sent to Dave');
    expect(await sup.logoutAgent('1003')).toBe(true);
    expect(ui.announcement).toBe('Carol logged out');
  });

  it('plays a recording from a blob: URL fetched with the token in a header, and loads reports', async () => {
    const created: Blob[] = [];
    vi.stubGlobal(
      'URL',
      Object.assign(URL, {
        createObjectURL: (b: Blob) => {
          created.push(b);
          return `blob:rec-${created.length}`;
        },
        revokeObjectURL: () => undefined,
      }),
    );
    const sup = useSupervisorStore();
    await cc.signIn('1002');
    expect(await sup.loadRecordings(dayRange())).toBe(true);
    expect(sup.recordings.map((r) => r.queueCallId)).toEqual(['qc-1']);
    expect(await sup.play('qc-1')).toBe(true);
    expect(sup.playing['qc-1']).toBe('blob:rec-1');
    expect(created[0]?.size).toBe(4);
    const got = cc.server.requests.find((r) => r.path === 'supervisor/recordings/qc-1')!;
    expect(got.headers.authorization).toMatch(/^Bearer /);
    expect(await sup.loadReport({ ...dayRange(), interval: '1h', by: 'queue' })).toBe(true);
    expect(sup.report?.interval).toBe('1h');
    // signing out forgets everything
    await useAccountStore().signOut();
    await flush();
    expect(sup.wallboard).toBeUndefined();
    expect(sup.playing).toEqual({});
  });
});

describe('listen, whisper, barge', () => {
  it('the monitoring INVITE is answered by itself while the request is pending; the mode then changes without re-dialling', async () => {
    const sup = useSupervisorStore();
    await cc.signIn('1002');
    let leg: ReturnType<FakePhone['ring']> | undefined;
    cc.server.callSupervisor = async (queueCallId, mode) => {
      // the gateway calls the supervisor's softphone and waits for the answer
      leg = cc.phone.ring('sip:callcontrol@localhost', undefined, undefined, {
        mode: mode as 'listen',
        id: 'm-1',
        queueCall: queueCallId,
        agent: '1003',
      });
      await vi.waitFor(() => expect(leg!.answer).toHaveBeenCalled());
    };
    // a monitoring INVITE nobody asked for is not answered
    const stray = cc.phone.ring('sip:callcontrol@localhost', undefined, undefined, {
      mode: 'listen',
      id: 'm-0',
      queueCall: 'qc-1',
    });
    expect(await sup.monitor('qc-1', 'listen')).toBe(true);
    expect(stray.answer).not.toHaveBeenCalled();
    expect(leg!.answer).toHaveBeenCalledTimes(1);
    expect(sup.monitoring).toEqual({ queueCallId: 'qc-1', mode: 'listen', answered: true });
    expect(useUiStore().announcement).toBe('Listen: Carol');
    const rings = cc.phone.calls.length;
    expect(await sup.monitor('qc-1', 'barge')).toBe(true);
    expect(cc.phone.calls.length).toBe(rings); // no new call
    expect(sup.monitoring?.mode).toBe('barge');
    expect(await sup.stopMonitor()).toBe(true);
    expect(cc.server.monitors.size).toBe(0);
    expect(sup.monitoring).toBeUndefined();
  });

  it('a refused monitoring request (softphone did not answer) is a toast and leaves no session', async () => {
    const sup = useSupervisorStore();
    await cc.signIn('1002');
    expect(await sup.monitor('qc-1', 'whisper')).toBe(false);
    expect(useUiStore().toasts.at(-1)?.text).toContain('not registered');
    expect(sup.monitoring).toBeUndefined();
  });
});

describe('agent call quality to the gateway', () => {
  it('the mean of the last interval’s samples', () => {
    expect(qualityOf([])).toBeUndefined();
    expect(
      qualityOf([
        stats({ mos: 4, jitterMs: 2, packetLossPct: 0, rttMs: 10 }),
        stats({ mos: 3, jitterMs: 4, packetLossPct: 10, rttMs: undefined }),
      ]),
    ).toEqual({ mos: 3.5, jitterMs: 3, lossPct: 5, rttMs: 10 });
  });

  it('an agent on a queue call posts its quality every 5 s while the call is up', async () => {
    const agent = useAgentStore();
    await cc.signIn('1003');
    expect(agent.isAgent).toBe(true);
    expect(agent.isSupervisor).toBe(false);
    const c = cc.phone.ring('sip:+15550101001@localhost', 'Alice', {
      queue: 'sales',
      callId: 'qc-1',
    });
    await c.answer();
    cc.server.update('1003', {
      state: 'on-call',
      call: { ...samplePop(), answeredAt: new Date().toISOString(), recorded: true },
    });
    await flush();
    expect(agent.callLine?.id).toBe(c.id);
    // what the call's getStats gives (the calls store samples it every second)
    c.stats = stats({ mos: 2.5, jitterMs: 30, packetLossPct: 12, rttMs: 40 });
    // the timer (loaded lazily) posts within an interval
    await vi.waitFor(() => expect(cc.server.quality).toHaveLength(1), {
      timeout: 7000,
      interval: 100,
    });
    expect(cc.server.quality[0]).toEqual({
      username: '1003',
      body: { callId: 'qc-1', mos: 2.5, jitterMs: 30, lossPct: 12, rttMs: 40 },
    });
    await vi.waitFor(() => expect(agent.lastQuality?.flagged).toBe(true));
    // the call ends: no more posts
    await c.hangup();
    cc.server.update('1003', { state: 'wrap-up', call: null });
    await flush();
    const n = cc.server.quality.length;
    await new Promise((r) => setTimeout(r, 5300));
    expect(cc.server.quality.length).toBe(n);
  }, 20_000);

  it('postQuality sends nothing without a MOS and swallows a 409 for an ended call', async () => {
    const client = {
      postQuality: vi.fn(async () => {
        throw Object.assign(new Error('not your current call'), { status: 409 });
      }),
    } as unknown as Parameters<typeof postQuality>[0];
    expect(await postQuality(client, 'qc-1', [])).toBeUndefined();
    expect(await postQuality(client, 'qc-1', [stats({ mos: 0 })])).toBeUndefined();
    expect(client.postQuality).not.toHaveBeenCalled();
    expect(await postQuality(client, 'qc-1', [stats({})])).toBeUndefined();
    expect(client.postQuality).toHaveBeenCalledTimes(1);
  });
});
