import { describe, expect, it } from 'vitest';
import { runContactCenterBench } from '../bench/contactcenter.js';

// The short mode of `npm run bench:contactcenter` (test/bench/contactcenter.ts),
// so the README's test command runs the capacity benchmark's whole path: two
// small steps of waiting callers hearing music, the relayed baseline, and two
// agent-available → first-audio runs. It asserts what must hold at any speed
// (every caller answered and hearing the music, the agent reached), never a
// timing; the figures themselves come from the long mode on a quiet machine.
// Ports: the benchmark's own block (26000-29999, 10000-12999).

describe('contact-center capacity benchmark, short mode', () => {
  it('waiting callers all answered and hearing music; the baseline relays; the agent is heard', async () => {
    const r = await runContactCenterBench({
      steps: [5, 10],
      settleSec: 1,
      windowSec: 2,
      agentRuns: 2,
    });
    expect(r.moh.map((s) => [s.callers, s.established])).toEqual([
      [5, 5],
      [10, 10],
    ]);
    // music reached the callers: a lost stream would be 100 % loss
    for (const s of r.moh) expect(s.lossPct).toBeLessThan(50);
    expect(r.relayed[0]?.established).toBe(r.relayed[0]?.callers);
    expect(r.relayed[0]!.lossPct).toBeLessThan(50);
    expect(r.agentAvailableToFirstAudioMs.runs).toHaveLength(2);
    console.log(
      `short mode: rtpengine ${r.moh[1]!.cpuMsPerCallerSecond.rtpengine} ms CPU per waiting caller-second, ratio to relayed ${r.cpuRatioWaitingVsRelayed}, agent → audio ${r.agentAvailableToFirstAudioMs.runs.join('/')} ms`,
    );
  });
});
