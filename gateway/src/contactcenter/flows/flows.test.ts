import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { harness, type Harness } from '../testing/harness.js';
import type { FakeInboundCall } from '../testing/fakeCallControl.js';
import { compileIvr } from './run.js';
import { flowSchema } from './spec.js';

// IVR menus as flows: digits (RFC 4733 and SIP INFO alike), invalid digits,
// timeouts and repeats, and where each leads.

function setup(ivr: Record<string, unknown> = {}): Harness {
  const h = harness({
    ivrs: [
      {
        name: 'main',
        number: '8000',
        dids: ['+15550100800'],
        greeting: ['welcome', 'vm-press', 'digits/1'],
        options: {
          '1': { queue: 'sales' },
          '2': { user: '1002' },
          '3': { number: '+15559990000' },
          '9': { hangup: true },
        },
        timeoutSec: 5,
        repeat: 2,
        onTimeout: { queue: 'support' },
        ...ivr,
      },
    ],
    queues: [
      { name: 'sales', number: '8001', music: 'jazz', announce: { everySec: 0 } },
      { name: 'support', number: '8002', announce: { everySec: 0 } },
    ],
  });
  h.cc.start();
  return h;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
}
async function advance(sec: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(sec * 1000);
  await settle();
}
async function dial(h: Harness, number = '8000'): Promise<FakeInboundCall> {
  const c = h.callControl.call(number, '+15557770001');
  await settle();
  return c;
}

beforeEach(() => {
  vi.useFakeTimers({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
  });
});
afterEach(() => vi.useRealTimers());

describe('IVR', () => {
  it('answers, plays the greeting; a digit during it stops it and leads to the queue', async () => {
    const h = setup();
    const s = (p: string) => `${h.soundsDir}/${p}.wav`;
    const c = await dial(h);
    expect(c.state).toBe('answered');
    expect(c.playing?.files).toEqual([s('welcome'), s('vm-press'), s('digits/1')]);
    c.dtmf('1');
    await settle();
    expect(c.plays[0]?.result).toBe('stopped');
    expect(h.cc.waiting('sales').map((w) => w.caller)).toEqual(['+15557770001']);
    expect(c.playing?.files).toEqual([`${h.musicDir}/jazz.wav`]);
  });

  it('an invalid digit plays the invalid prompt, then the greeting again; SIP INFO digits count too', async () => {
    const h = setup();
    const c = await dial(h);
    c.playEnds();
    await settle();
    c.dtmf('7', 'info');
    await settle();
    expect(c.playing?.files).toEqual([`${h.soundsDir}/pm-invalid-option.wav`]);
    c.playEnds();
    await settle();
    expect(c.playing?.files[0]).toBe(`${h.soundsDir}/welcome.wav`);
    c.dtmf('1', 'info');
    await settle();
    expect(h.cc.waiting('sales')).toHaveLength(1);
  });

  it('no digit: the greeting repeats, then onTimeout', async () => {
    const h = setup();
    const c = await dial(h);
    c.playEnds();
    await advance(4.9);
    expect(c.playing).toBeNull(); // waiting for a digit
    await advance(0.1);
    expect(c.plays).toHaveLength(2); // greeting again
    c.playEnds();
    await advance(5);
    expect(h.cc.waiting('support').map((w) => w.caller)).toEqual(['+15557770001']);
  });

  it('invalid digits use up the repeats too; onTimeout hangup hangs up', async () => {
    const h = setup({ onTimeout: { hangup: true } });
    const c = await dial(h);
    c.dtmf('5');
    await settle();
    c.playEnds(); // invalid prompt ends
    await settle();
    c.dtmf('6'); // during the second greeting
    await settle();
    c.playEnds();
    await settle();
    expect(c.state).toBe('ended');
    expect(h.cc.store.queueCalls()).toEqual([]);
  });

  it('a digit pressed during the invalid prompt is the next choice', async () => {
    const h = setup();
    const c = await dial(h);
    c.dtmf('5');
    await settle();
    c.dtmf('1'); // interrupts "invalid option"
    await settle();
    expect(h.cc.waiting('sales')).toHaveLength(1);
  });

  it('a user destination rings them with music for the caller, and bridges', async () => {
    const h = setup();
    const c = await dial(h);
    c.dtmf('2');
    await settle();
    expect(c.pendingOffers().map((o) => [o.kind, o.username])).toEqual([['connect', '1002']]);
    expect(c.playing?.files).toEqual([`${h.musicDir}/macroform-cold_day.wav`]);
    c.offerTo('1002').settle('answered');
    await settle();
    expect(c.state).toBe('bridged');
    c.agentHangsUp();
    await settle();
    expect(c.state).toBe('ended');
  });

  it('a user reached from the menu can transfer the caller to a queue', async () => {
    const h = setup();
    const c = await dial(h);
    c.dtmf('2');
    await settle();
    c.offerTo('1002').settle('answered');
    await settle();
    c.transfer('8001');
    c.agentHangsUp(); // the BYE after the REFER: the caller stays
    await settle();
    expect(c.state).toBe('answered');
    expect(h.cc.waiting('sales').map((w) => w.caller)).toEqual(['+15557770001']);
  });

  it('a number destination that does not answer ends in a hang-up', async () => {
    const h = setup();
    const c = await dial(h);
    c.dtmf('3');
    await settle();
    c.offerTo('+15559990000').settle('busy');
    await settle();
    expect(c.state).toBe('ended');
    expect(c.rejected).toBeNull(); // answered by the menu: BYE, not a final response
  });

  it('reached by DID with or without the +; an unknown number is refused with 404', async () => {
    const h = setup();
    expect((await dial(h, '15550100800')).state).toBe('answered');
    expect((await dial(h, '+15550100800')).state).toBe('answered');
    const other = await dial(h, '8999');
    expect(other.rejected).toBe(404);
  });

  it('a caller who hangs up during the menu ends the flow quietly', async () => {
    const h = setup();
    const c = await dial(h);
    c.callerHangsUp();
    await advance(30);
    expect(c.plays).toHaveLength(1);
    expect(h.cc.store.queueCalls()).toEqual([]);
  });
});

describe('flow spec', () => {
  it('an IVR compiles into answer + gather, valid against the one schema', () => {
    const h = setup();
    const flow = compileIvr(h.cfg.contactCenter.ivrs[0]!);
    expect(flow.map((v) => v.verb)).toEqual(['answer', 'gather']);
    expect(flowSchema.safeParse(flow).success).toBe(true);
  });

  it('refuses a flow that makes no sense, with the path', () => {
    const r = flowSchema.safeParse([{ verb: 'enqueue' }, { verb: 'dance' }]);
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.'))).toEqual(['0.queue', '1.verb']);
  });
});
