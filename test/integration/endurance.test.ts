import { describe, expect, it } from 'vitest';
import { runEndurance, type EnduranceResult } from './harness/endurance.js';

// Short mode of the endurance and fault suite (long mode: `npm run
// bench:endurance`, figures in test/bench/results/endurance.md): calls with
// media at a steady rate, then under that load, one at a time, Kamailio
// killed, rtpengine killed, rtpengine hung (SIGSTOP) and the TypeScript
// service killed. Outcomes are asserted (every call accounted for, records
// equal calls, nothing left behind, recovery by itself); how long recovery
// took is measured and printed, never asserted.

const BASE = 19500;

describe('endurance and faults under load (short mode)', () => {
  let result: EnduranceResult;

  it('runs the soak and every fault with calls flowing', { timeout: 300_000 }, async () => {
    result = await runEndurance({
      name: 'endurance',
      base: BASE,
      // this file's two blocks (19500 and 19750): 100 calls' worth of media ports
      rtpPorts: { min: BASE + 100, max: BASE + 499 },
      rate: 8,
      holdMs: 2000,
      soakSec: 20,
      warmupSec: 5,
      faults: ['kamailio-killed', 'rtpengine-killed', 'rtpengine-hung', 'service-killed'],
      faultPhaseSec: 20,
      faultAtSec: 5,
      sampleEveryMs: 2000,
      traceSoak: true,
      log: (m) => console.log(m),
    });
    expect(result.phases.map((p) => p.phase)).toEqual([
      'soak',
      'kamailio-killed',
      'rtpengine-killed',
      'rtpengine-hung',
      'service-killed',
    ]);
  });

  it('soak: every call succeeds, records equal calls placed, nothing left behind', () => {
    const soak = result.phases[0]!;
    expect(soak.failed).toBe(0);
    expect(soak.successful).toBe(soak.created);
    expect(soak.records).toMatchObject({ total: soak.created, open: 0, ended: soak.created });
    expect(soak.successfulWithoutRecord).toEqual([]);
    expect(soak.recordsWithoutCall).toEqual([]);
    expect(soak.leftover).toEqual({ rtpengineSessions: 0, kamailioDialogs: 0 });
  });

  for (const fault of [
    'kamailio-killed',
    'rtpengine-killed',
    'rtpengine-hung',
    'service-killed',
  ] as const) {
    it(`${fault}: failures only around the outage, recovery by itself, no record lost`, () => {
      const p = result.phases.find((x) => x.phase === fault)!;
      console.log(
        `${fault}: ${p.failed} of ${p.created} calls failed; healthy after ${p.fault?.healthyAfterMs} ms; ` +
          `calls succeed again ${p.fault?.callsOkAfterMs ?? 0} ms after the fault; restarts ${JSON.stringify(p.fault?.restarts)}`,
      );
      expect(p.traced).toBe(true);
      // no call placed well before the fault failed, and the last calls all succeeded
      expect(p.fault?.failedBeforeFault).toBe(0);
      expect(p.fault?.recovered).toBe(true);
      expect(p.fault?.healthyAfterMs).toBeDefined();
      // every successful call has its record, answered and ended; every record is closed
      expect(p.successfulWithoutRecord).toEqual([]);
      expect(p.recordsWithoutCall).toEqual([]);
      expect(p.records.open).toBe(0);
      expect(p.records.ended).toBeGreaterThanOrEqual(p.successful);
      expect(p.leftover).toEqual({ rtpengineSessions: 0, kamailioDialogs: 0 });
    });
  }

  it('the supervisor restarted what died (a hung rtpengine too)', () => {
    const by = (f: string) => result.phases.find((x) => x.phase === f)!.fault!.restarts;
    expect(by('kamailio-killed').kamailio).toBeGreaterThanOrEqual(1);
    expect(by('rtpengine-killed').rtpengine).toBeGreaterThanOrEqual(1);
    expect(by('rtpengine-hung').rtpengine).toBeGreaterThanOrEqual(1);
  });
});
