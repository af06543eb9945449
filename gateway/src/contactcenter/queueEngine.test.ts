import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { harness, type Harness } from './testing/harness.js';
import type { FakeInboundCall } from './testing/fakeCallControl.js';

// The queue engine through the ContactCenter, with a fake call-control tier:
// which agent is offered, what is stored, what the caller hears.

type Obj = Record<string, unknown>;

function setup(queues: Obj[], agents: Obj[], extra: Obj = {}): Harness {
  const h = harness({
    ivrs: [
      {
        name: 'main',
        number: '8000',
        greeting: ['welcome'],
        options: { '1': { queue: String(queues[0]!.name) } },
        onTimeout: { hangup: true },
      },
    ],
    queues,
    agents,
    ...extra,
  });
  h.cc.start();
  return h;
}

const q = (name: string, number: string, extra: Obj = {}): Obj => ({
  name,
  number,
  announce: { everySec: 0 },
  ...extra,
});
const agent = (username: string, queues: [string, number][]): Obj => ({
  username,
  queues: queues.map(([name, penalty]) => ({ name, penalty })),
});

/** Let promise chains run (setImmediate is not faked). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
}
async function advance(sec: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(sec * 1000);
  await settle();
}
async function call(
  h: Harness,
  dialled: string,
  caller = '+15557770001',
): Promise<FakeInboundCall> {
  const c = h.callControl.call(dialled, caller, 'Caller');
  await settle();
  return c;
}
const state = (h: Harness, u: string) => h.cc.view(u).state;
const offeredTo = (c: FakeInboundCall) =>
  c
    .pendingOffers()
    .map((o) => o.username)
    .sort();
const events = (h: Harness, event?: string) =>
  h.cc.store.events().filter((e) => !event || e.event === event);

beforeEach(() => {
  vi.useFakeTimers({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
  });
  vi.setSystemTime(new Date('2026-11-30T12:00:00Z'));
});
afterEach(() => vi.useRealTimers());

describe('strategies', () => {
  it('longest-idle offers the agent idle longest', async () => {
    const h = setup(
      [q('sales', '8001')],
      [agent('1003', [['sales', 0]]), agent('1004', [['sales', 0]])],
    );
    h.cc.setState('1004', 'available');
    await advance(10);
    h.cc.setState('1003', 'available');
    const c = await call(h, '8001');
    expect(offeredTo(c)).toEqual(['1004']);
    expect(state(h, '1004')).toBe('offered');
    expect(state(h, '1003')).toBe('available');
    c.offerTo('1004').settle('answered');
    await settle();
    expect(state(h, '1004')).toBe('on-call');
    // 1004 hangs up at 12:01; 1003 has been idle since 12:00:10, so 1003 is next.
    await advance(50);
    c.callerHangsUp();
    await settle();
    const c2 = await call(h, '8001');
    expect(offeredTo(c2)).toEqual(['1003']);
    const offered = events(h, 'offered').map((e) => e.agent);
    expect(offered).toEqual(['1004', '1003']);
  });

  it('round-robin goes on from the agent offered last', async () => {
    const h = setup(
      [q('support', '8002', { strategy: 'round-robin', wrapUpSec: 0 })],
      ['1001', '1002', '1003'].map((u) => agent(u, [['support', 0]])),
    );
    for (const u of ['1001', '1002', '1003']) h.cc.setState(u, 'available');
    const got: string[] = [];
    for (let i = 0; i < 4; i++) {
      const c = await call(h, '8002', `+1555000000${i}`);
      const [u] = offeredTo(c);
      got.push(u!);
      c.offerTo(u!).settle('answered');
      await settle();
      c.callerHangsUp(); // wrap-up 0: available at once
      await settle();
    }
    expect(got).toEqual(['1001', '1002', '1003', '1001']);
  });

  it('ring-all rings every free agent; the first to answer wins, the others stop', async () => {
    const h = setup(
      [q('support', '8002', { strategy: 'ring-all' })],
      ['1001', '1002', '1003'].map((u) => agent(u, [['support', 0]])),
    );
    for (const u of ['1001', '1002', '1003']) h.cc.setState(u, 'available');
    const c = await call(h, '8002');
    expect(offeredTo(c)).toEqual(['1001', '1002', '1003']);
    c.offerTo('1002').settle('answered');
    await settle();
    expect(c.offers.map((o) => [o.username, o.settled])).toEqual([
      ['1001', 'cancelled'],
      ['1002', 'answered'],
      ['1003', 'cancelled'],
    ]);
    expect([state(h, '1001'), state(h, '1002'), state(h, '1003')]).toEqual([
      'available',
      'on-call',
      'available',
    ]);
    // A cancelled ring is not the agent's fault: no step toward auto-pause.
    expect(h.cc.store.agents().find((a) => a.username === '1001')?.unanswered).toBe(0);
  });

  it("fewest-calls offers the agent with fewest of today's handled calls", async () => {
    const h = setup(
      [q('sales', '8001', { strategy: 'fewest-calls' })],
      [agent('1003', [['sales', 0]]), agent('1004', [['sales', 0]])],
    );
    const handled = (agentName: string, n: number, day: string) => {
      for (let i = 0; i < n; i++) {
        const id = `${agentName}-${day}-${i}`;
        h.cc.store.insertQueueCall({
          id,
          callId: id,
          queue: 'sales',
          callerNumber: '+1',
          callerName: '',
          enteredAt: `${day}T09:00:00.000Z`,
        });
        h.cc.store.markAnswered(id, agentName, `${day}T09:00:05.000Z`, 5);
      }
    };
    handled('1003', 1, '2026-11-30');
    handled('1004', 3, '2026-11-30');
    handled('1003', 5, '2026-11-29'); // yesterday does not count
    // 1003 idle longer too, so the count must be what decides: make 1004 idle longer.
    h.cc.setState('1004', 'available');
    await advance(5);
    h.cc.setState('1003', 'available');
    const c = await call(h, '8001');
    expect(offeredTo(c)).toEqual(['1003']);
  });

  it('penalty tiers: a higher tier is offered only when the lower tier has no free agent', async () => {
    const h = setup(
      [q('sales', '8001')],
      [agent('1003', [['sales', 0]]), agent('1004', [['sales', 1]])],
    );
    h.cc.setState('1004', 'available');
    await advance(30); // 1004 idle longer, but tier 1
    h.cc.setState('1003', 'available');
    const c1 = await call(h, '8001', '+15550000001');
    expect(offeredTo(c1)).toEqual(['1003']);
    c1.offerTo('1003').settle('answered');
    await settle();
    const c2 = await call(h, '8001', '+15550000002');
    expect(offeredTo(c2)).toEqual(['1004']);
  });
});

describe('offers', () => {
  it('no answer → next agent; after N unanswered in a row the agent is paused with reason no-answer', async () => {
    const h = setup(
      [q('sales', '8001', { autoPauseAfter: 2, ringTimeoutSec: 15 })],
      [agent('1003', [['sales', 0]]), agent('1004', [['sales', 0]])],
    );
    h.cc.setState('1003', 'available');
    await advance(1);
    h.cc.setState('1004', 'available');
    const c = await call(h, '8001');
    const first = c.offerTo('1003');
    expect(first.options.timeoutSec).toBe(15);
    expect(first.options.headers).toMatchObject({
      'X-Queue': 'sales',
      'X-Queue-Call': h.cc.store.queueCalls()[0]!.id,
      'X-Caller-Waited': '0',
    });
    expect(first.options.holdMusic).toBe(`${h.musicDir}/macroform-cold_day.wav`);
    first.settle('no-answer');
    await settle();
    expect(state(h, '1003')).toBe('available');
    expect(offeredTo(c)).toEqual(['1004']);
    c.offerTo('1004').settle('declined');
    await settle();
    // Both let it go once: tried again after a short pause, 1003 first (idle longest).
    expect(offeredTo(c)).toEqual([]);
    await advance(5);
    expect(offeredTo(c)).toEqual(['1003']);
    c.offerTo('1003').settle('no-answer');
    await settle();
    expect(h.cc.view('1003')).toMatchObject({ state: 'not-ready', reason: 'no-answer' });
    expect(offeredTo(c)).toEqual(['1004']);
    const outcomes = events(h, 'offer-outcome').map((e) => [e.agent, e.data?.outcome]);
    expect(outcomes).toEqual([
      ['1003', 'no-answer'],
      ['1004', 'declined'],
      ['1003', 'no-answer'],
    ]);
    const paused = events(h, 'agent-state')
      .filter((e) => e.agent === '1003')
      .at(-1);
    expect(paused?.data).toMatchObject({ state: 'not-ready', reason: 'no-answer' });
  });

  it('an agent offered by one queue is not offered by another at the same time', async () => {
    const h = setup(
      [q('sales', '8001'), q('support', '8002')],
      [
        agent('1003', [
          ['sales', 0],
          ['support', 0],
        ]),
      ],
    );
    h.cc.setState('1003', 'available');
    const c1 = await call(h, '8001', '+15550000001');
    const c2 = await call(h, '8002', '+15550000002');
    expect(offeredTo(c1)).toEqual(['1003']);
    expect(offeredTo(c2)).toEqual([]);
    c1.offerTo('1003').settle('answered');
    await settle();
    expect(offeredTo(c2)).toEqual([]); // on a call: never offered
  });

  it("an offer coming back 'unavailable' makes the agent offline", async () => {
    const h = setup([q('sales', '8001')], [agent('1003', [['sales', 0]])]);
    h.cc.setState('1003', 'available');
    const c = await call(h, '8001');
    c.offerTo('1003').settle('unavailable');
    await settle();
    expect(h.cc.view('1003')).toMatchObject({ state: 'offline', reason: 'unregistered' });
  });
});

describe('callers leaving', () => {
  it('queue full → overflow destination; the refused caller is stored as overflowed', async () => {
    const h = setup(
      [q('sales', '8001', { maxLength: 1, overflow: { queue: 'support' } }), q('support', '8002')],
      [agent('1003', [['sales', 0]])],
    );
    const c1 = await call(h, '8001', '+15550000001');
    const c2 = await call(h, '8001', '+15550000002');
    expect(h.cc.waiting('sales').map((w) => w.caller)).toEqual(['+15550000001']);
    expect(h.cc.waiting('support').map((w) => w.caller)).toEqual(['+15550000002']);
    const rows = h.cc.store.queueCalls();
    expect(rows.map((r) => [r.queue, r.callerNumber, r.outcome])).toEqual([
      ['sales', '+15550000001', null],
      ['sales', '+15550000002', 'overflowed'],
      ['support', '+15550000002', null],
    ]);
    expect(events(h, 'overflowed')[0]?.data).toMatchObject({ why: 'full' });
    expect(c1.state).toBe('answered');
    expect(c2.state).toBe('answered');
  });

  it('max wait → overflow with the wait stored', async () => {
    const h = setup([q('sales', '8001', { maxWaitSec: 60 })], [agent('1003', [['sales', 0]])]);
    const c = await call(h, '8001');
    await advance(59);
    expect(c.state).toBe('answered');
    await advance(1);
    expect(c.state).toBe('ended'); // overflow: hangup
    const row = h.cc.store.queueCalls()[0]!;
    expect(row).toMatchObject({ outcome: 'overflowed', waitSec: 60 });
    expect(events(h, 'overflowed')[0]?.data).toMatchObject({ why: 'max-wait', waitSec: 60 });
  });

  it('caller hangs up while waiting → abandoned with the wait; the ringing agent is freed', async () => {
    const h = setup([q('sales', '8001')], [agent('1003', [['sales', 0]])]);
    h.cc.setState('1003', 'not-ready', 'Break');
    const c = await call(h, '8001');
    await advance(4);
    h.cc.setState('1003', 'available');
    await settle();
    expect(offeredTo(c)).toEqual(['1003']);
    await advance(3);
    c.callerHangsUp();
    await settle();
    expect(h.cc.store.queueCalls()[0]).toMatchObject({ outcome: 'abandoned', waitSec: 7 });
    expect(events(h, 'abandoned')[0]?.data).toMatchObject({ waitSec: 7 });
    expect(c.offers[0]?.settled).toBe('cancelled');
    expect(state(h, '1003')).toBe('available');
    expect(h.cc.waiting('sales')).toEqual([]);
  });

  it('exit key leaves the queue for its destination', async () => {
    const h = setup(
      [q('sales', '8001', { exitKey: { key: '0', destination: { ivr: 'main' } } })],
      [agent('1003', [['sales', 0]])],
    );
    const c = await call(h, '8001');
    c.dtmf('5'); // not the exit key
    await settle();
    expect(h.cc.waiting('sales')).toHaveLength(1);
    c.dtmf('0', 'info');
    await settle();
    expect(h.cc.waiting('sales')).toEqual([]);
    expect(h.cc.store.queueCalls()[0]).toMatchObject({ outcome: 'exited' });
    expect(c.playing?.files).toEqual([`${h.soundsDir}/welcome.wav`]); // the IVR's greeting
  });

  it('join-when-empty false: no agent logged in → overflow at once, caller never answered', async () => {
    const h = setup(
      [q('sales', '8001', { joinWhenEmpty: false })],
      [agent('1003', [['sales', 0]])],
    );
    const c = await call(h, '8001');
    expect(c.rejected).toBe(480);
    expect(c.answeredAt).toBeNull();
    expect(h.cc.store.queueCalls()[0]).toMatchObject({ outcome: 'overflowed', waitSec: 0 });
    expect(events(h, 'overflowed')[0]?.data).toMatchObject({ why: 'empty' });
    // A not-ready agent still staffs the queue: the next caller joins.
    h.cc.setState('1003', 'not-ready', 'Lunch');
    const c2 = await call(h, '8001');
    expect(c2.state).toBe('answered');
    expect(h.cc.waiting('sales')).toHaveLength(1);
  });

  it('leave-when-empty: the last agent logging out sends waiting callers to overflow', async () => {
    const h = setup(
      [
        q('sales', '8001', { leaveWhenEmpty: true, overflow: { queue: 'support' } }),
        q('support', '8002'),
      ],
      [agent('1003', [['sales', 0]])],
    );
    h.cc.setState('1003', 'not-ready', 'Break');
    await call(h, '8001');
    expect(h.cc.waiting('sales')).toHaveLength(1);
    h.cc.setQueueLogin('1003', 'sales', false);
    await settle();
    expect(h.cc.waiting('sales')).toEqual([]);
    expect(h.cc.waiting('support')).toHaveLength(1);
    expect(events(h, 'overflowed')[0]?.data).toMatchObject({ why: 'empty' });
  });
});

describe('what the caller hears', () => {
  it('music at once, announcements interrupt it and it resumes; position and estimated wait', async () => {
    const h = setup(
      [
        q('sales', '8001', {
          music: 'jazz',
          joinPrompt: ['demo-thanks'],
          announce: { everySec: 30, position: true, estimatedWait: true },
        }),
      ],
      [agent('1003', [['sales', 0]])],
    );
    const s = (p: string) => `${h.soundsDir}/${p}.wav`;
    const jazz = `${h.musicDir}/jazz.wav`;
    // Yesterday's calls don't count, today's do: one caller answered after 120 s today.
    h.cc.store.insertQueueCall({
      id: 'old',
      callId: 'old',
      queue: 'sales',
      callerNumber: '+1',
      callerName: '',
      enteredAt: '2026-11-30T08:00:00.000Z',
    });
    h.cc.store.markAnswered('old', '1003', '2026-11-30T08:02:00.000Z', 120);
    const c1 = await call(h, '8001', '+15550000001');
    expect(c1.state).toBe('answered');
    expect(c1.playing?.files).toEqual([s('demo-thanks')]);
    c1.playEnds();
    await settle();
    expect(c1.playing?.files).toEqual([jazz]);
    c1.playEnds(); // the track ends: it plays again, never silence
    await settle();
    expect(c1.playing?.files).toEqual([jazz]);
    await advance(10);
    const c2 = await call(h, '8001', '+15550000002');
    c2.playEnds();
    await settle();
    await advance(20); // c1's announcement (30 s after joining)
    expect(c1.playing?.files).toEqual([
      s('queue-youarenext'),
      s('queue-holdtime'),
      s('digits/2'), // 120 s × position 1, minus 30 s waited: 90 s → 2 minutes
      s('queue-minutes'),
    ]);
    c1.playEnds();
    await settle();
    expect(c1.playing?.files).toEqual([jazz]);
    await advance(10); // c2's announcement
    expect(c2.playing?.files).toEqual([
      s('queue-thereare'),
      s('digits/2'),
      s('queue-callswaiting'),
      s('queue-holdtime'),
      s('digits/4'), // 240 s - 30 s → 4 minutes (rounded up)
      s('queue-minutes'),
    ]);
    c2.playEnds();
    await settle();
    expect(c2.playing?.files).toEqual([jazz]);
  });

  it('announcements stop when the caller leaves; metrics count waiting callers and agents by state', async () => {
    const h = setup(
      [q('sales', '8001', { announce: { everySec: 20, position: true, estimatedWait: false } })],
      [agent('1003', [['sales', 0]])],
    );
    h.cc.setState('1003', 'not-ready', 'Break');
    const c = await call(h, '8001');
    const metric = async (name: string) =>
      (await h.metrics.registry.getSingleMetric(name)!.get()).values.map((v) => [
        Object.values(v.labels)[0],
        v.value,
      ]);
    expect(await metric('gateway_cc_callers_waiting')).toEqual([['sales', 1]]);
    expect(await metric('gateway_cc_agents')).toContainEqual(['not-ready', 1]);
    await advance(20);
    expect(c.playing?.files).toEqual([`${h.soundsDir}/queue-youarenext.wav`]);
    c.callerHangsUp();
    await settle();
    const plays = c.plays.length;
    await advance(60);
    expect(c.plays).toHaveLength(plays);
    expect(await metric('gateway_cc_callers_waiting')).toEqual([['sales', 0]]);
    expect(await metric('gateway_cc_queue_calls_total')).toEqual([['sales', 1]]);
  });

  it('answered offer: the music stops and the call is bridged; nothing plays over the agent', async () => {
    const h = setup([q('sales', '8001')], [agent('1003', [['sales', 0]])]);
    h.cc.setState('1003', 'available');
    const c = await call(h, '8001');
    expect(c.playing).not.toBeNull();
    c.offerTo('1003').settle('answered');
    await settle();
    expect(c.state).toBe('bridged');
    expect(c.playing).toBeNull();
    await advance(60);
    expect(c.playing).toBeNull();
  });
});

describe('agents', () => {
  it('call ends → wrap-up for wrapUpSec → available; answered and ended stored', async () => {
    const h = setup([q('sales', '8001', { wrapUpSec: 20 })], [agent('1003', [['sales', 0]])]);
    h.cc.setState('1003', 'available');
    const c = await call(h, '8001');
    await advance(3);
    c.offerTo('1003').settle('answered');
    await settle();
    expect(h.cc.view('1003').call).toMatchObject({
      caller: { number: '+15557770001' },
      waitedSec: 3,
    });
    await advance(40);
    c.agentHangsUp();
    await settle();
    expect(c.state).toBe('ended'); // the caller is hung up after the agent leaves
    const v = h.cc.view('1003');
    expect(v.state).toBe('wrap-up');
    expect(v.wrapUp).toMatchObject({ queue: 'sales', endsAt: '2026-11-30T12:01:03.000Z' });
    await advance(19);
    expect(state(h, '1003')).toBe('wrap-up');
    await advance(1);
    expect(state(h, '1003')).toBe('available');
    const row = h.cc.store.queueCalls()[0]!;
    expect(row).toMatchObject({ outcome: 'answered', agent: '1003', waitSec: 3 });
    expect(row.endedAt).toBe('2026-11-30T12:00:43.000Z');
    expect(events(h, 'wrap-up-done')[0]?.data).toMatchObject({ disposition: null });
    expect(h.cc.view('1003').today).toEqual({ handled: 1, avgHandleSec: 40 });
  });

  it('disposition and notes saved into the record end the wrap-up; a pause chosen during the call applies after', async () => {
    const h = setup(
      [q('sales', '8001', { wrapUpSec: 60, dispositions: ['Sale', 'No sale'] })],
      [agent('1003', [['sales', 0]])],
    );
    h.cc.setState('1003', 'available');
    const c = await call(h, '8001');
    c.offerTo('1003').settle('answered');
    await settle();
    expect(() => h.cc.setState('1003', 'not-ready', 'Nap')).toThrow(/reason/);
    h.cc.setState('1003', 'not-ready', 'Lunch'); // during the call: after wrap-up
    expect(h.cc.view('1003')).toMatchObject({
      state: 'on-call',
      next: { state: 'not-ready', reason: 'Lunch' },
    });
    c.callerHangsUp();
    await settle();
    const callId = h.cc.view('1003').wrapUp!.callId;
    expect(() => h.cc.saveWrapUp('1003', callId, 'Refund')).toThrow(/one of: Sale, No sale/);
    const v = h.cc.saveWrapUp('1003', callId, 'Sale', 'wants the blue one');
    expect(v).toMatchObject({ state: 'not-ready', reason: 'Lunch', wrapUp: null, next: null });
    expect(h.cc.store.queueCall(callId)).toMatchObject({
      disposition: 'Sale',
      notes: 'wants the blue one',
    });
    expect(events(h, 'wrap-up-done')[0]?.data).toMatchObject({ disposition: 'Sale' });
  });

  it("subscribers get the view on each change, and the queue's longest wait while callers wait", async () => {
    const h = setup([q('sales', '8001')], [agent('1003', [['sales', 0]])]);
    const seen: [string, number][] = [];
    const off = h.cc.subscribe('1003', (v) => seen.push([v.state, v.queues[0]!.longestWaitSec]));
    h.cc.setState('1003', 'not-ready', 'Break');
    await settle();
    await call(h, '8001');
    await advance(5);
    await advance(5);
    off();
    await advance(5);
    expect(seen).toEqual([
      ['offline', 0],
      ['not-ready', 0],
      ['not-ready', 0],
      ['not-ready', 5],
      ['not-ready', 10],
    ]);
  });

  it('state changes while offered are refused (409)', async () => {
    const h = setup([q('sales', '8001')], [agent('1003', [['sales', 0]])]);
    h.cc.setState('1003', 'available');
    await call(h, '8001');
    expect(() => h.cc.setState('1003', 'offline')).toThrow(expect.objectContaining({ code: 409 }));
  });

  it('registration loss → offline (reason unregistered), and a ringing offer is cancelled', async () => {
    const h = setup([q('sales', '8001')], [agent('1003', [['sales', 0]])]);
    h.cc.setState('1003', 'available');
    const c = await call(h, '8001');
    h.cc.registrationChanged('1003', false);
    await settle();
    expect(h.cc.view('1003')).toMatchObject({ state: 'offline', reason: 'unregistered' });
    expect(c.offers[0]?.settled).toBe('cancelled');
    expect(state(h, '1003')).toBe('offline');
    h.cc.registrationChanged('1003', true);
    expect(state(h, '1003')).toBe('offline'); // back only when they say so
  });

  it('restart restores states: available and paused stay, on-call gets wrap-up, waiting callers abandoned', async () => {
    const h = setup(
      [q('sales', '8001', { wrapUpSec: 30 })],
      [agent('1003', [['sales', 0]]), agent('1004', [['sales', 0]]), agent('1002', [['sales', 0]])],
    );
    h.cc.setState('1003', 'available');
    h.cc.setState('1004', 'not-ready', 'Lunch');
    const a = await call(h, '8001', '+15550000001');
    a.offerTo('1003').settle('answered');
    await settle();
    h.cc.setState('1002', 'available');
    const b = await call(h, '8001', '+15550000002');
    expect(offeredTo(b)).toEqual(['1002']);
    await advance(5);
    const cc2 = h.restart();
    expect(cc2.view('1004')).toMatchObject({ state: 'not-ready', reason: 'Lunch' });
    expect(cc2.view('1003')).toMatchObject({ state: 'wrap-up' });
    expect(cc2.view('1003').wrapUp?.endsAt).toBe('2026-11-30T12:00:35.000Z');
    expect(cc2.view('1002').state).toBe('available'); // the offer died with the process
    const rows = cc2.store.queueCalls();
    expect(rows.map((r) => [r.callerNumber, r.outcome, r.endedAt !== null])).toEqual([
      ['+15550000001', 'answered', true],
      ['+15550000002', 'abandoned', true],
    ]);
    await advance(30);
    expect(cc2.view('1003').state).toBe('available');
  });

  it('restart during wrap-up keeps what was left of it', async () => {
    const h = setup([q('sales', '8001', { wrapUpSec: 30 })], [agent('1003', [['sales', 0]])]);
    h.cc.setState('1003', 'available');
    const c = await call(h, '8001');
    c.offerTo('1003').settle('answered');
    await settle();
    c.callerHangsUp();
    await advance(10);
    const cc2 = h.restart();
    expect(cc2.view('1003')).toMatchObject({
      state: 'wrap-up',
      wrapUp: { endsAt: '2026-11-30T12:00:30.000Z' },
    });
    await advance(19);
    expect(cc2.view('1003').state).toBe('wrap-up');
    await advance(1);
    expect(cc2.view('1003').state).toBe('available');
  });

  it('a transfer to another queue ends this queue call and queues the caller there', async () => {
    const h = setup([q('sales', '8001'), q('support', '8002')], [agent('1003', [['sales', 0]])]);
    h.cc.setState('1003', 'available');
    const c = await call(h, '8001');
    c.offerTo('1003').settle('answered');
    await settle();
    c.transfer('8002');
    c.agentHangsUp();
    await settle();
    expect(h.cc.waiting('support')).toHaveLength(1);
    expect(state(h, '1003')).toBe('wrap-up');
    expect(events(h, 'transferred')[0]?.data).toMatchObject({ to: { queue: 'support' } });
    expect(c.state).toBe('answered');
  });

  it('a transfer to the IVR number goes to the menu; to an outside number it is dialled', async () => {
    const h = setup([q('sales', '8001')], [agent('1003', [['sales', 0]])]);
    h.cc.setState('1003', 'available');
    const c = await call(h, '8001');
    c.offerTo('1003').settle('answered');
    await settle();
    c.transfer('8000');
    c.agentHangsUp();
    await settle();
    expect(c.playing?.files).toEqual([`${h.soundsDir}/welcome.wav`]);
    expect(events(h, 'transferred')[0]?.data).toMatchObject({ to: { ivr: 'main' } });
    h.cc.setState('1003', 'available');
    const c2 = await call(h, '8001', '+15550000002');
    c2.offerTo('1003').settle('answered');
    await settle();
    c2.transfer('+15559990000');
    await settle();
    expect(c2.pendingOffers().map((o) => [o.kind, o.username])).toEqual([
      ['connect', '+15559990000'],
    ]);
  });

  it('a transfer to another agent waits for that agent only', async () => {
    const h = setup(
      [q('sales', '8001')],
      [agent('1003', [['sales', 0]]), agent('1004', [['sales', 0]])],
    );
    h.cc.setState('1003', 'available');
    const c = await call(h, '8001');
    c.offerTo('1003').settle('answered');
    await settle();
    c.transfer('1004');
    c.agentHangsUp();
    await settle();
    expect(offeredTo(c)).toEqual([]); // 1004 is offline
    h.cc.setState('1004', 'available');
    await settle();
    expect(offeredTo(c)).toEqual(['1004']);
  });
});
