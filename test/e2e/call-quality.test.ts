// Live call quality on the supervisor's wallboard (issue 8, its last test),
// in real Chromium against the real gateway (Kamailio, rtpengine, the
// call-control tier): a carrier caller (baresip on the trunk's address)
// reaches agent 1003 through the sales queue, twice:
//  - a clean call: the agent's softphone posts its getStats quality every 5 s;
//    the wallboard (1001's Supervisor view) shows it unflagged, and the call
//    record's quality summary says so too;
//  - a degraded call: a share of the RTP toward the agent's browser is dropped
//    at random (iptables -m statistic inside this test's own network
//    namespace; tc netem is not available here). The softphone's E-model MOS
//    falls, the wallboard flags the call (below qualityMosThreshold 3.5) and
//    the record keeps the minimum MOS and the flag.
// The MOS and loss figures of both calls are printed.
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type E2eStack } from './harness/stack.js';
import { byId, launchPhone, sleep, until, waitAttr, type Phone } from './harness/softphone.js';
import type { Baresip } from './harness/baresip.js';
import {
  answerOffer,
  dialQueue,
  reportFailure,
  signInAgent,
  signInSupervisor,
  startCarrier,
  startContactCenterStack,
} from './harness/contact-center.js';
import { clearFailureShots, ensureSoftphoneBuilt } from './harness/artifacts.js';

const DID = '+15550100808';
const CALLER = '+15550108888';
const THRESHOLD = 3.5;
/**
 * Share of the RTP toward the agent's browser dropped on the degraded call.
 * Measured here (PCMU on the agent leg, E-model with PLC, Bpl 25.1): 5 % drop
 * gave MOS 3.8 (not flagged), 10 % gave 3.38-3.47 (flagged, but only just),
 * 15 % gave 2.71-3.34 per 5-s sample (11-20 % loss) over three runs: below 3.5.
 */
const DROP_PROBABILITY = 0.15;

let stack: E2eStack;
let sup: Phone; // 1001, supervisor of sales
let agent: Phone; // 1003, agent of sales
let carrier: Baresip;
/** iptables rules this file added (removed after each test, whatever happened). */
const rules: string[][] = [];

function iptables(args: string[]): string {
  return execFileSync('iptables', ['-w', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString();
}

function restoreAll(): void {
  while (rules.length) iptables(['-D', ...rules.pop()!]);
}

/** The agent's media path: the local port of the selected candidate pair of its connected call. */
async function agentMediaPort(p: Phone): Promise<{ port: number; pair: string; codec: string }> {
  return p.page.evaluate(async () => {
    const pcs = (window as unknown as { __e2e?: { pcs: RTCPeerConnection[] } }).__e2e?.pcs ?? [];
    const pc = pcs.filter((x) => x.connectionState === 'connected').at(-1);
    if (!pc) return { port: 0, pair: 'none', codec: '' };
    const all = new Map<string, Record<string, unknown>>();
    (await pc.getStats()).forEach((x: Record<string, unknown>) => all.set(String(x.id), x));
    for (const x of all.values()) {
      if (x.type !== 'transport' || !x.selectedCandidatePairId) continue;
      const pair = all.get(String(x.selectedCandidatePairId));
      const local = all.get(String(pair?.localCandidateId));
      const remote = all.get(String(pair?.remoteCandidateId));
      const inbound = [...all.values()].find((s) => s.type === 'inbound-rtp' && s.kind === 'audio');
      return {
        codec: String(all.get(String(inbound?.codecId))?.mimeType ?? ''),
        port: Number(local?.port ?? 0),
        pair: `${String(local?.candidateType)} ${String(local?.address)}:${String(local?.port)} <- ${String(remote?.candidateType)} ${String(remote?.address)}:${String(remote?.port)}`,
      };
    }
    return { port: 0, pair: 'no selected pair', codec: '' };
  });
}

interface WallboardQuality {
  mos: number;
  flagged: string;
  text: string;
}

/** The agent's quality cell on 1001's wallboard. */
async function wallboardQuality(): Promise<WallboardQuality | undefined> {
  const cell = byId(sup.page, 'sup-quality-1003');
  if (!(await cell.count())) return undefined;
  const mos = Number((await cell.getAttribute('data-mos')) || 0);
  if (!mos) return undefined;
  return {
    mos,
    flagged: (await cell.getAttribute('data-flagged')) ?? '',
    text: (await cell.innerText()).replace(/\s+/g, ' ').trim(),
  };
}

/** A carrier call to the sales queue, answered by 1003; returns the queue call's id. */
async function answeredQueueCall(): Promise<string> {
  await waitAttr(agent.page, 'agent-state', 'data-state', 'available', 20_000);
  await dialQueue(carrier, stack, DID);
  return answerOffer(agent, sup);
}

/** Every change of the wallboard's quality cell during `ms` (a sample is posted every 5 s). */
async function watchWallboard(ms: number): Promise<WallboardQuality[]> {
  const seen: WallboardQuality[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const q = await wallboardQuality();
    if (q && (seen.length === 0 || seen.at(-1)!.text !== q.text || seen.at(-1)!.mos !== q.mos))
      seen.push(q);
    await sleep(500);
  }
  return seen;
}

async function hangUpAndWrapUp(): Promise<void> {
  await carrier.command('hangup');
  await waitAttr(agent.page, 'agent-state', 'data-state', ['wrap-up', 'available'], 15_000);
}

describe('call quality: a degraded agent leg is flagged on the wallboard, a clean one is not', () => {
  beforeAll(async () => {
    ensureSoftphoneBuilt();
    clearFailureShots('call-quality');
    stack = await startContactCenterStack('call-quality', {
      did: DID,
      agents: ['1003'],
      supervisors: ['1001'],
      // short after-call work: the agent is Available again for the second call
      queue: { wrapUpSec: 1, serviceLevelSec: 20, shortAbandonSec: 2 },
      contactCenter: { qualityMosThreshold: THRESHOLD },
    });
    sup = await launchPhone('1001', 500, stack.baseUrl);
    agent = await launchPhone('1003', 600, stack.baseUrl);
    carrier = await startCarrier(stack, 'call-quality', CALLER);

    await signInSupervisor(sup);
    await signInAgent(agent);
    await byId(sup.page, 'sup-agent-1003').waitFor({ timeout: 15_000 });
    await byId(agent.page, 'agent-ready').click();
    await waitAttr(sup.page, 'sup-agent-1003', 'data-state', 'available');
  });

  afterEach(async (ctx) => {
    restoreAll();
    if (ctx.task.result?.state === 'fail') {
      // a call left up by a failed test would keep the agent from the next one
      await carrier?.command('hangup').catch(() => undefined);
      await reportFailure('call-quality', ctx.task.name, stack, [sup, agent], carrier);
    }
  });

  afterAll(async () => {
    restoreAll();
    await carrier?.stop();
    await sup?.close();
    await agent?.close();
    await stack?.stop();
  });

  it('a clean call: its samples reach the wallboard unflagged; the record’s minimum MOS is above the threshold', async () => {
    const callId = await answeredQueueCall();
    const path = await agentMediaPort(agent);
    // three 5-s samples at least
    const seen = await watchWallboard(17_000);
    console.log(
      `clean call (agent path ${path.pair}, ${path.codec}): wallboard samples ${JSON.stringify(seen.map((s) => `${s.mos} ${s.text}`))}`,
    );
    // (how many samples were posted is the record's figure: equal ones show no change here)
    expect(seen.length).toBeGreaterThanOrEqual(1);
    for (const s of seen) {
      expect(s.mos).toBeGreaterThanOrEqual(THRESHOLD);
      expect(s.flagged).toBe('false');
    }
    expect(await byId(sup.page, 'sup-flagged').count()).toBe(0);
    await hangUpAndWrapUp();
    const stored = await until(
      'the call record’s quality summary',
      async () => stack.gateway.contactCenter!.store.quality(callId),
      10_000,
    );
    console.log(`clean call: record ${JSON.stringify(stored)}`);
    expect(stored.samples).toBeGreaterThanOrEqual(2);
    expect(stored.flagged).toBe(false);
    expect(stored.mosMin).toBeGreaterThanOrEqual(THRESHOLD);
  });

  it(`a call whose agent leg loses ${DROP_PROBABILITY * 100} % of its RTP at random: flagged on the wallboard and in the record`, async () => {
    const callId = await answeredQueueCall();
    const path = await agentMediaPort(agent);
    expect(path.port, `the agent's selected candidate pair: ${path.pair}`).toBeGreaterThan(0);
    // toward the agent's browser only (what its inbound-rtp counts as lost)
    const rule = [
      'INPUT',
      '-p',
      'udp',
      '--dport',
      String(path.port),
      '-m',
      'statistic',
      '--mode',
      'random',
      '--probability',
      String(DROP_PROBABILITY),
      '-j',
      'DROP',
    ];
    iptables(['-I', ...rule]);
    rules.push(rule);
    const droppedFrom = Date.now();

    // the flag shows once a whole 5-s interval of loss has been posted
    let lastSeen: WallboardQuality | undefined;
    const flagged = await until(
      'the wallboard to flag the agent’s call',
      async () => {
        lastSeen = (await wallboardQuality()) ?? lastSeen;
        return lastSeen?.flagged === 'true' ? lastSeen : undefined;
      },
      30_000,
      250,
    ).catch((err: unknown) => {
      // what the wallboard showed instead (the MOS at this loss)
      throw new Error(
        `${err instanceof Error ? err.message : String(err)}; the wallboard showed ${JSON.stringify(lastSeen)}`,
      );
    });
    console.log(
      `degraded call (agent path ${path.pair}, ${path.codec}, drop ${DROP_PROBABILITY * 100} % toward port ${path.port}): flagged after ${Date.now() - droppedFrom} ms at ${flagged.mos} ${flagged.text}`,
    );
    expect(flagged.mos).toBeLessThan(THRESHOLD);
    await byId(sup.page, 'sup-flagged-1003').waitFor({ timeout: 10_000 });
    expect(await byId(sup.page, 'sup-agent-1003').getAttribute('class')).toContain('flagged');
    const more = await watchWallboard(11_000);
    console.log(
      `degraded call: later wallboard samples ${JSON.stringify(more.map((s) => `${s.mos} ${s.text}`))}`,
    );
    // what the rule did (packets it dropped), then the call ends
    const counters = iptables(['-L', 'INPUT', '-v', '-n', '-x'])
      .split('\n')
      .filter((l) => l.includes('statistic'))
      .join(' | ')
      .replace(/\s+/g, ' ');
    console.log(`degraded call: iptables ${counters}`);
    restoreAll();
    await hangUpAndWrapUp();

    const stored = await until(
      'the call record’s quality summary',
      async () => stack.gateway.contactCenter!.store.quality(callId),
      10_000,
    );
    console.log(`degraded call: record ${JSON.stringify(stored)}`);
    expect(stored.samples).toBeGreaterThanOrEqual(2);
    expect(stored.flagged).toBe(true);
    expect(stored.mosMin).toBeLessThan(THRESHOLD);
    expect(stored.lossMaxPct).toBeGreaterThan(0);
  });
});
