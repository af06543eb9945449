import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createMetrics } from '../metrics.js';
import {
  KamailioRpcStatus,
  UAC_REG,
  htableItems,
  parseUacRegDump,
  trunkRegistrationState,
  type TrunkRegistration,
  type UacRegRecord,
} from './rpcStatus.js';

// What jsonrpcs answers (shapes as Kamailio 5.6 prints them: uac.reg_dump is
// an array of structs, htable.dump an array of slots with their items).

const NOW = 1_800_000_000;

const dumpRecord = (over: Record<string, unknown> = {}) => ({
  l_uuid: 'carrier',
  l_username: 'carrier',
  l_domain: 'localhost',
  r_username: 'gw-account',
  r_domain: '127.0.0.2:5071',
  realm: '',
  auth_username: 'gw-account',
  auth_password: 'trunk-secret',
  auth_proxy: 'sip:127.0.0.2:5071',
  expires: 600,
  flags: UAC_REG.init | UAC_REG.online,
  diff_expires: 20,
  timer_expires: NOW + 20,
  reg_init: NOW - 100,
  reg_delay: 0,
  ...over,
});

const rec = (flags: number, timerExpires: number): UacRegRecord => ({
  uuid: 'carrier',
  toUri: 'sip:gw-account@127.0.0.2:5071',
  flags,
  timerExpires,
});

describe('parsing Kamailio RPC answers', () => {
  it('takes from uac.reg_dump the record, its To URI and state, never the password', () => {
    const parsed = parseUacRegDump([dumpRecord(), { l_uuid: 'broken' }, null, 'x']);
    expect(parsed).toEqual([
      {
        uuid: 'carrier',
        toUri: 'sip:gw-account@127.0.0.2:5071',
        flags: 20,
        timerExpires: NOW + 20,
      },
    ]);
    expect(JSON.stringify(parsed)).not.toContain('trunk-secret');
    expect(parseUacRegDump({ code: 500 })).toEqual([]);
  });

  it('reads htable.dump items, strings and integers', () => {
    const items = htableItems([
      {
        entry: 1,
        size: 2,
        slot: [
          { name: 'sip:a@h:5060', value: 'sent', type: 'str' },
          { name: 'sip:b@h:5060', value: 403, type: 'int' },
        ],
      },
      { entry: 2, size: 0, slot: [] },
      { entry: 3 },
    ]);
    expect([...items]).toEqual([
      ['sip:a@h:5060', 'sent'],
      ['sip:b@h:5060', 403],
    ]);
    expect(htableItems(undefined).size).toBe(0);
  });
});

describe('a trunk registration state', () => {
  const iso = (s: number) => new Date(s * 1000).toISOString();

  it('online with time left: registered until timer_expires', () => {
    const s = trunkRegistrationState(
      rec(UAC_REG.init | UAC_REG.online, NOW + 20),
      200,
      undefined,
      NOW,
    );
    expect(s).toMatchObject({ trunk: 'carrier', state: 'registered', expiresAt: iso(NOW + 20) });
  });

  it('a 403 after the attempt: failed with 403, retried at timer_expires', () => {
    const s = trunkRegistrationState(rec(UAC_REG.init, NOW + 30), 403, undefined, NOW);
    expect(s).toMatchObject({ state: 'failed', lastStatus: 403, retryAt: iso(NOW + 30) });
  });

  it('no answer at all ("sent" left in the table): failed with timeout', () => {
    const s = trunkRegistrationState(rec(UAC_REG.init, NOW + 5), 'sent', undefined, NOW);
    expect(s).toMatchObject({ state: 'failed', lastStatus: 'timeout' });
  });

  it('the first attempt under way, or not started yet: registering', () => {
    expect(
      trunkRegistrationState(rec(UAC_REG.init | UAC_REG.ongoing, NOW), 'sent', undefined, NOW)
        .state,
    ).toBe('registering');
    expect(trunkRegistrationState(rec(0, 0), undefined, undefined, NOW).state).toBe('registering');
  });

  it('a refresh under way keeps a binding that has not run out registered', () => {
    const prev: TrunkRegistration = {
      trunk: 'carrier',
      state: 'registered',
      expiresAt: iso(NOW + 10),
      since: iso(NOW - 50),
    };
    const during = trunkRegistrationState(rec(UAC_REG.init | UAC_REG.ongoing, NOW), 401, prev, NOW);
    expect(during).toEqual(prev);
    // ... but not one that ran out
    expect(
      trunkRegistrationState(rec(UAC_REG.init | UAC_REG.ongoing, NOW), 401, prev, NOW + 11).state,
    ).toBe('registering');
    // the refreshed binding: a later expiry, registered since the first time
    const after = trunkRegistrationState(
      rec(UAC_REG.init | UAC_REG.online, NOW + 20),
      200,
      prev,
      NOW,
    );
    expect(after).toMatchObject({
      state: 'registered',
      expiresAt: iso(NOW + 20),
      since: prev.since,
    });
  });

  it('a retry after a failure stays failed until an answer says otherwise', () => {
    const failed = trunkRegistrationState(rec(UAC_REG.init, NOW + 5), 'sent', undefined, NOW);
    const retrying = trunkRegistrationState(
      rec(UAC_REG.init | UAC_REG.ongoing, NOW + 6),
      'sent',
      failed,
      NOW + 6,
    );
    expect(retrying).toEqual(failed);
    expect(
      trunkRegistrationState(rec(UAC_REG.init | UAC_REG.online, NOW + 30), 200, retrying, NOW + 7)
        .state,
    ).toBe('registered');
  });

  it('an online flag whose time ran out (refresh not sent yet) is not registered', () => {
    const s = trunkRegistrationState(
      rec(UAC_REG.init | UAC_REG.online, NOW - 1),
      200,
      undefined,
      NOW,
    );
    expect(s.state).toBe('registering');
  });
});

describe('KamailioRpcStatus (fake RPC)', () => {
  function setup(answers: Record<string, unknown>) {
    const metrics = createMetrics();
    const lines: Record<string, unknown>[] = [];
    const log = pino(
      { level: 'info' },
      { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) },
    );
    const status = new KamailioRpcStatus({
      runDir: '/nonexistent',
      registeringTrunks: ['carrier'],
      decisionCache: true,
      metrics,
      log,
      now: () => NOW * 1000,
      rpc: async (method, params) => {
        const key = [method, ...params].join(' ');
        if (!(key in answers)) throw new Error(`unexpected RPC ${key}`);
        return answers[key];
      },
    });
    return { metrics, lines, status, answers };
  }
  const slot = (items: [string, string | number][]) => [
    { entry: 0, size: items.length, slot: items.map(([name, value]) => ({ name, value })) },
  ];
  const metric = async (m: ReturnType<typeof createMetrics>, name: string) =>
    (await m.registry.getSingleMetric(name)!.get()).values;

  it('reports a failure once (log and gauge) and the registration after it', async () => {
    const { metrics, lines, status, answers } = setup({
      'uac.reg_dump': [dumpRecord({ flags: UAC_REG.init, timer_expires: NOW + 30 })],
      'htable.dump trunkreg': slot([['sip:gw-account@127.0.0.2:5071', 403]]),
      'htable.dump cachehits': [],
    });
    await status.poll();
    await status.poll();
    expect(status.trunkRegistrations()).toMatchObject([{ state: 'failed', lastStatus: 403 }]);
    const failures = lines.filter((l) => l.msg === 'trunk registration failed');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ trunk: 'carrier', lastStatus: 403 });
    expect(JSON.stringify(lines)).not.toContain('trunk-secret');
    expect(await metric(metrics, 'gateway_trunk_registered')).toMatchObject([
      { labels: { trunk: 'carrier' }, value: 0 },
    ]);

    answers['uac.reg_dump'] = [dumpRecord()];
    answers['htable.dump trunkreg'] = slot([['sip:gw-account@127.0.0.2:5071', 200]]);
    await status.poll();
    expect(status.trunkRegistrations()).toMatchObject([{ state: 'registered' }]);
    expect(await metric(metrics, 'gateway_trunk_registered')).toMatchObject([
      { labels: { trunk: 'carrier' }, value: 1 },
    ]);
    expect(lines.filter((l) => l.msg === 'trunk registered')).toHaveLength(1);
  });

  it('adds the decision cache counts to gateway_decisions_total{source="cache"}, by difference', async () => {
    const { metrics, status, answers } = setup({
      'uac.reg_dump': [],
      'htable.dump trunkreg': [],
      'htable.dump cachehits': slot([
        ['register|ha1', 3],
        ['request|user/local', 2],
      ]),
    });
    await status.poll();
    answers['htable.dump cachehits'] = slot([
      ['register|ha1', 5],
      ['request|user/local', 2],
    ]);
    await status.poll();
    const cached = async () =>
      Object.fromEntries(
        (await metric(metrics, 'gateway_decisions_total'))
          .filter((v) => v.labels.source === 'cache')
          .map((v) => [`${v.labels.kind}|${v.labels.outcome}`, v.value]),
      );
    expect(await cached()).toEqual({ 'register|ha1': 5, 'request|user/local': 2 });
    // Kamailio restarted: its counts start again from 0, all of them new
    answers['htable.dump cachehits'] = slot([['register|ha1', 1]]);
    await status.poll();
    expect(await cached()).toEqual({ 'register|ha1': 6, 'request|user/local': 2 });
  });

  it('a Kamailio that does not answer changes nothing', async () => {
    const { status } = setup({});
    await status.poll();
    expect(status.trunkRegistrations()).toMatchObject([{ trunk: 'carrier', state: 'registering' }]);
  });
});
