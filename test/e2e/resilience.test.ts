// The softphone around the calls: the pre-call check page, the diagnostics
// trace ladder, and recovery when Kamailio crashes (the gateway's supervisor
// restarts it; the softphone must notice and re-register by itself).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startE2eStack, type E2eStack } from './harness/stack.js';
import { processesMentioning } from './harness/processes.js';
import {
  byId,
  goView,
  launchPhone,
  loginDemo,
  registrationState,
  report,
  sleep,
  until,
  waitAttr,
  type Phone,
} from './harness/softphone.js';
import {
  clearFailureShots,
  ensureSoftphoneBuilt,
  failureShot,
  screenshot,
} from './harness/artifacts.js';

/** Checks the pre-call page marks as required (softphone/src/views/PrecallView.vue). */
const REQUIRED_CHECKS = ['webrtc', 'permission', 'devices', 'websocket', 'ice'];
const ALL_CHECKS = [...REQUIRED_CHECKS, 'microphone', 'speaker', 'turn'];
/** Kamailio is back within its restart backoff; the softphone's own reconnect backoff adds to it. */
const REREGISTER_WITHIN_MS = 45_000;

let stack: E2eStack;
let phone: Phone;

describe('pre-call check, diagnostics, and recovery from a Kamailio crash', () => {
  beforeAll(async () => {
    ensureSoftphoneBuilt();
    clearFailureShots('resilience');
    stack = await startE2eStack('resilience');
    phone = await launchPhone('1001', 1000, stack.baseUrl);
    await loginDemo(phone, '1001');
  });

  afterAll(async () => {
    await phone?.close();
    await stack?.stop();
  });

  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') {
      process.stderr.write(
        `\n[e2e] ${task.name} failed; component logs:\n${stack.logs(40)}\n${report(phone)}\n`,
      );
      await failureShot(phone.page, 'resilience', task.name);
    }
  });

  it('the pre-call check passes (every required check passes)', async () => {
    await goView(phone.page, 'precall');
    await byId(phone.page, 'precall-run').click();
    const overall = await waitAttr(
      phone.page,
      'precall-result',
      'data-status',
      ['pass', 'fail'],
      60_000,
    );
    const statuses: Record<string, string | null> = {};
    for (const name of ALL_CHECKS) {
      statuses[name] = await byId(phone.page, `check-${name}`).getAttribute('data-status');
    }
    const text = await byId(phone.page, 'precall-report')
      .innerText()
      .catch(() => '');
    await screenshot(phone.page, 'precall-check');
    expect(overall, `pre-call result; checks ${JSON.stringify(statuses)}\n${text}`).toBe('pass');
    for (const name of REQUIRED_CHECKS) expect(statuses[name], `check-${name}`).toBe('pass');
    // the stack runs coturn and hands out its credentials: a relay candidate must come back
    expect(statuses.turn, `check-turn (the stack's coturn)\n${text}`).toBe('pass');
    await goView(phone.page, 'phone');
  });

  it('the diagnostics page shows the SIP trace ladder of this session', async () => {
    await goView(phone.page, 'diagnostics');
    const ladder = byId(phone.page, 'trace-ladder');
    await ladder.waitFor({ state: 'visible', timeout: 10_000 });
    const entries = byId(phone.page, 'trace-entry');
    const n = await entries.count();
    expect(n, 'trace entries after a registration').toBeGreaterThan(1);
    // The REGISTER exchange: a REGISTER sent, then a 200 received whose CSeq is
    // a REGISTER (not any 200 anywhere in the ladder): expand it to read it.
    const firsts = await entries.locator('.first').allInnerTexts();
    const directions = await entries.evaluateAll((els) =>
      els.map((e) => e.getAttribute('data-direction')),
    );
    const sentRegister = firsts.findIndex(
      (f, i) => directions[i] === 'sent' && /^REGISTER sip:/.test(f),
    );
    expect(sentRegister, `a REGISTER sent, in ${JSON.stringify(firsts)}`).toBeGreaterThanOrEqual(0);
    let registered = '';
    for (let i = sentRegister + 1; i < n && !registered; i++) {
      if (directions[i] !== 'received' || !/^SIP\/2\.0 200\b/.test(firsts[i] ?? '')) continue;
      await entries.nth(i).locator('button.arrow').click();
      const full = await entries.nth(i).locator('pre').innerText({ timeout: 5000 });
      if (/^CSeq:\s*\d+\s+REGISTER\s*$/im.test(full)) registered = full;
    }
    expect(
      registered,
      `a 200 OK to the REGISTER after it, in ${JSON.stringify(firsts.map((f, i) => `${directions[i]} ${f}`))}`,
    ).toMatch(/^Contact:.*expires=\d+/im);
    const shot = await screenshot(phone.page, 'diagnostics-trace-ladder');
    expect(shot.size).toBeGreaterThan(5000);
    await goView(phone.page, 'phone');
  });

  it('Kamailio killed: the softphone shows it is not registered, then re-registers by itself', async () => {
    expect(await registrationState(phone.page)).toBe('registered');
    const restartsBefore =
      stack.gateway.supervisor.status().find((c) => c.name === 'kamailio')?.restarts ?? 0;
    const t0 = Date.now();
    expect(stack.gateway.supervisor.kill('kamailio'), 'supervisor.kill(kamailio)').toBe(true);

    // the WebSocket drops with Kamailio: the badge must stop saying "registered"
    const lost = await until(
      'registration-status to leave "registered"',
      async () => {
        const s = await registrationState(phone.page);
        return s && s !== 'registered' ? s : undefined;
      },
      15_000,
      100,
    ).catch((err: Error) => {
      const survivors = processesMentioning(stack.dataDir).filter((p) =>
        p.cmd.startsWith('kamailio'),
      );
      throw new Error(
        `${err.message}; supervisor: ${JSON.stringify(stack.gateway.supervisor.status().find((c) => c.name === 'kamailio'))}; ` +
          `${survivors.length} kamailio process(es) of this stack alive (old workers still serving the WebSocket?)`,
      );
    });
    const lostAfterMs = Date.now() - t0;
    expect(['unregistered', 'registering', 'failed']).toContain(lost);

    await waitAttr(
      phone.page,
      'registration-status',
      'data-state',
      'registered',
      REREGISTER_WITHIN_MS,
    );
    const backAfterMs = Date.now() - t0;
    const k = stack.gateway.supervisor.status().find((c) => c.name === 'kamailio');
    expect(k?.restarts ?? 0, 'the supervisor restarted Kamailio').toBeGreaterThan(restartsBefore);
    expect(k?.state).toBe('ready');
    process.stdout.write(
      `[e2e] kamailio kill: badge "${lost}" after ${lostAfterMs} ms, registered again after ${backAfterMs} ms\n`,
    );

    // registered for real: a second, independent look a little later
    await sleep(1000);
    expect(await registrationState(phone.page)).toBe('registered');
  });
});
