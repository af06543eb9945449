import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type E2eStack } from './harness/stack.js';
import {
  byId,
  expectTone,
  launchPhone,
  loginDemo,
  until,
  waitAttr,
  type Phone,
} from './harness/softphone.js';
import type { Baresip } from './harness/baresip.js';
import {
  dialQueue,
  goReady,
  reportFailure,
  startCarrier,
  startContactCenterStack,
} from './harness/contact-center.js';
import { analyse, readWav, wavState } from './harness/audio.js';
import { clearFailureShots, ensureSoftphoneBuilt, screenshot } from './harness/artifacts.js';

// The agent desktop end to end: two agents (1003 at 600 Hz, 1004 at 800 Hz
// as their microphones) sign in from the Agent view of real Chromium and go
// Ready; a carrier caller (baresip on the trunk's address, 1000 Hz) dials the
// queue's DID through Kamailio; the call-control tier answers it with music
// and offers it to the longest-idle agent, whose screen-pop shows the caller;
// the agent answers from the Agent view, both hear each other's tone, the
// carrier hangs up, the agent's after-call work survives a page reload and ends
// with a disposition saved into the queue call's record. The other agent never
// rang.

const DID = '+15550100801';
const CALLER = '+15550107777';
const TOL = 30;
const MIN_LEVEL = 0.003;

let stack: E2eStack;
let a: Phone;
let b: Phone;
let carrier: Baresip;

describe('agent desktop: a queue call from a carrier to an agent’s softphone', () => {
  beforeAll(async () => {
    ensureSoftphoneBuilt();
    clearFailureShots('agent-desktop');
    stack = await startContactCenterStack('agent-desktop', {
      did: DID,
      agents: ['1003', '1004'],
      queue: { wrapUpSec: 120 },
      contactCenter: { crmUrlTemplate: 'https://crm.example.com/search?phone={caller}' },
    });
    a = await launchPhone('1003', 600, stack.baseUrl);
    b = await launchPhone('1004', 800, stack.baseUrl);
    carrier = await startCarrier(stack, 'agent-desktop', CALLER);
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail')
      await reportFailure('agent-desktop', ctx.task.name, stack, [a, b], carrier);
  });

  afterAll(async () => {
    await carrier?.stop();
    await a?.close();
    await b?.close();
    await stack?.stop();
  });

  it('two agents sign in from the Agent view and go Ready: the service has them available', async () => {
    for (const [phone, user] of [
      [a, '1003'],
      [b, '1004'],
    ] as const) {
      await loginDemo(phone, user);
      await goReady(phone);
      // 1003 goes Ready first: the longest idle
      if (user === '1003') await new Promise((r) => setTimeout(r, 300));
    }
    expect(stack.gateway.contactCenter!.view('1003').state).toBe('available');
    expect(stack.gateway.contactCenter!.view('1004').state).toBe('available');
  });

  it('the carrier’s call is offered to 1003 with a screen-pop; answered from the Agent view, each side hears the other; 1004 never rings', async () => {
    const before = carrier.recordings().map((r) => r.file);
    // the queue answers the carrier at once (music while it waits)
    await dialQueue(carrier, stack, DID);

    const pop = byId(a.page, 'agent-offer');
    await pop.waitFor({ timeout: 15_000 });
    await expect(byId(a.page, 'agent-caller').textContent()).resolves.toContain(CALLER);
    await expect(byId(a.page, 'agent-offer-queue').textContent()).resolves.toContain('Sales');
    await expect(byId(a.page, 'agent-crm-link').getAttribute('href')).resolves.toBe(
      `https://crm.example.com/search?phone=${encodeURIComponent(CALLER)}`,
    );
    await screenshot(a.page, 'agent-offer-screen-pop');
    await byId(a.page, 'agent-answer').click();
    await waitAttr(a.page, 'agent-state', 'data-state', 'on-call');

    const heard = await expectTone(a.page, 1000, { tol: TOL, minLevel: MIN_LEVEL });
    expect(Math.abs(heard.hz - 1000), `1003 hears ${JSON.stringify(heard)}`).toBeLessThanOrEqual(
      TOL,
    );

    // the carrier's recording of what it received: its last 2 s are the agent's tone
    const dec = await until(
      'the carrier to record the agent',
      async () => {
        const f = carrier
          .recordings()
          .find((x) => !before.includes(x.file) && x.file.endsWith('-dec.wav'));
        return f && wavState(f.file).seconds >= 4 ? f : undefined;
      },
      15_000,
      100,
    );
    const wav = readWav(dec.file);
    const secs = wav.samples.length / wav.rate;
    const tail = analyse(wav, secs - 2, secs);
    expect(Math.abs(tail.hz - 600), `carrier received ${JSON.stringify(tail)}`).toBeLessThanOrEqual(
      TOL,
    );
    expect(tail.rms).toBeGreaterThan(0.01);

    // 1004 was never offered this call (its page shows no offer, the store no offer event)
    expect(await byId(b.page, 'agent-offer').count()).toBe(0);
    const offered = stack.gateway.contactCenter!.store.events({ event: 'offered' });
    expect(offered.map((e) => e.agent)).toEqual(['1003']);
  });

  it('the carrier hangs up: wrap-up survives a reload of the agent’s page, ends with a disposition in the record, and 1003 is Available again', async () => {
    await carrier.command('hangup');
    await waitAttr(a.page, 'agent-state', 'data-state', 'wrap-up');
    const wrap = byId(a.page, 'agent-wrapup');
    const callId = await wrap.getAttribute('data-call-id');
    expect(callId).toBeTruthy();

    // An agent's tab crashes or is reloaded during after-call work: the state is the service's.
    await a.page.reload();
    await waitAttr(a.page, 'registration-status', 'data-state', 'registered', 20_000);
    await byId(a.page, 'nav-agent').click({ timeout: 15_000 });
    await waitAttr(a.page, 'agent-state', 'data-state', 'wrap-up', 15_000);
    await expect(byId(a.page, 'agent-wrapup').getAttribute('data-call-id')).resolves.toBe(callId);

    await byId(a.page, 'agent-disposition').selectOption('Sale');
    await byId(a.page, 'agent-notes').fill('wants the yearly plan');
    await screenshot(a.page, 'agent-wrap-up');
    await byId(a.page, 'agent-wrapup-save').click();
    await waitAttr(a.page, 'agent-state', 'data-state', 'available');

    const row = stack.gateway.contactCenter!.store.queueCall(callId!);
    expect(row).toMatchObject({
      agent: '1003',
      outcome: 'answered',
      disposition: 'Sale',
      notes: 'wants the yearly plan',
      callerNumber: CALLER,
    });
    await expect(byId(a.page, 'agent-today-handled').textContent()).resolves.toBe('1');
  });
});
