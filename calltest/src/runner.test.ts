import { describe, expect, it } from 'vitest';
import type { BrowserCallLog } from './engines/browser.js';
import { browserRecords, legChecks } from './runner.js';
import { ConfigError, loadRefs, parseScenario } from './scenario/load.js';

// The attended-transfer pieces that need no stack: a browser leg's call logs →
// call records (sipfrag codes vs a refused REFER, who hung up), the checks on a
// leg's calls taken together, and the schema's refusal of attended_transfer on
// an engine that cannot do it.

const at = (t: number, ...states: string[]) =>
  states.map((state, i) => ({ state, t: t + i * 100 }));

describe('attended transfer: records and verdicts', () => {
  const transferor: BrowserCallLog[] = [
    {
      id: 'call-1',
      direction: 'outgoing',
      states: at(1000, 'calling', 'ringing', 'established', 'held', 'ended'),
      transfer: [
        { state: 'requested', t: 1350 },
        { state: 'accepted', t: 1360 },
        { state: 'trying', code: 100, reason: 'Trying', t: 1370 },
        { state: 'succeeded', code: 200, reason: 'OK', t: 1380 },
      ],
      endCause: { reason: 'Local hangup', by: 'local' },
    },
    {
      id: 'call-2',
      direction: 'outgoing',
      states: at(1200, 'calling', 'established', 'ended'),
      transfer: [],
      endCause: { reason: 'BYE', by: 'remote' },
      consultation: true,
    },
  ];
  const leg = parseScenario(
    `name: t
legs:
  - { id: a, engine: browser, role: uac, to: '1002', attended_transfer: { consult: '1003' } }
expect:
  a: { transfer: true, calls: 2 }
`,
    'x.yaml',
  );

  it('turns call logs into one record per call with sipfrag codes and who hung up', () => {
    const [first, consult] = browserRecords(transferor);
    expect(first).toMatchObject({
      callId: 'call-1',
      side: 'uac',
      finalCode: 200,
      notifyStatus: [100, 200],
      hangupBy: 'self',
    });
    expect(first!.referCode).toBeUndefined();
    expect(consult).toMatchObject({ consultation: true, hangupBy: 'remote', finalCode: 200 });
  });

  it('passes when the target ended the consultation, fails when the transferor had to', () => {
    const ok = legChecks(leg.legs[0]!, leg.expect.a, browserRecords(transferor));
    expect(ok.every((c) => c.ok)).toBe(true);
    const left = transferor.map((c) =>
      c.consultation ? { ...c, endCause: { reason: 'Local hangup', by: 'local' } } : c,
    );
    const bad = legChecks(leg.legs[0]!, leg.expect.a, browserRecords(left));
    expect(bad.find((c) => c.name === 'consultation replaced')).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/ended by a: the target did not honour Replaces/),
    });
  });

  it('tells a refused REFER from a NOTIFY, and counts calls never answered', () => {
    const refused = browserRecords([
      {
        ...transferor[0]!,
        transfer: [
          { state: 'requested', t: 1350 },
          { state: 'failed', code: 403, reason: 'Forbidden', t: 1360 },
        ],
      },
    ])[0]!;
    expect(refused.notifyStatus).toEqual([]);
    expect(refused.referCode).toBe(403);
    const unanswered = browserRecords([
      transferor[0]!,
      {
        ...transferor[1]!,
        states: at(1200, 'calling', 'ended'),
        endCause: { code: 481, reason: 'Call/Transaction Does Not Exist', by: 'remote' },
      },
    ]);
    const calls = legChecks(leg.legs[0]!, { ...leg.expect.a!, transfer: false }, unanswered);
    expect(calls).toEqual([
      expect.objectContaining({
        name: 'calls answered and ended',
        ok: false,
        detail: 'call 2 never answered (481 Call/Transaction Does Not Exist)',
      }),
    ]);
  });

  it('refuses attended_transfer on a leg that cannot hold two dialogs', () => {
    expect(() =>
      parseScenario(
        `name: t
legs:
  - { id: a, role: uac, to: '1002', attended_transfer: { consult: '1003' } }
`,
        'x.yaml',
      ),
    ).toThrow(/attended_transfer needs engine: browser, role: uac, action: call/);
    expect(() => parseScenario('name: t\nlegs: []\n', 'x.yaml')).toThrow(ConfigError);
    expect(loadRefs('builtin:attended-transfer')[0]!.scenario.legs.map((l) => l.engine)).toEqual([
      'browser',
      'browser',
      'browser',
    ]);
  });
});
