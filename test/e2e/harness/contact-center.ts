import { expect } from 'vitest';
import { e2ePortsFor, startE2eStack, type E2eFile, type E2eStack } from './stack.js';
import { byId, loginDemo, report, waitAttr, type Phone } from './softphone.js';
import { Baresip } from './baresip.js';
import { failureShot } from './artifacts.js';

// The demo contact center the agent/supervisor e2e files share: one `sales`
// queue on a DID, its agents and supervisors, a carrier trunk whose caller is a
// baresip on the trunk's own address, and the softphone steps of signing an
// agent or a supervisor in. Each file still says what differs (its queue's
// timers, who is an agent) and asserts its own outcomes.

/** The carrier's source address: baresip binds it, the trunk accepts calls from it. */
export const CARRIER_ADDRESS = '127.0.0.2';

/** The carrier baresip's ports inside the file's own e2e port block. */
export function carrierPorts(file: E2eFile): { sip: number; ctrl: number; rtp: number } {
  const P = e2ePortsFor(file);
  return { sip: P.endpoints + 10, ctrl: P.endpoints + 20, rtp: P.endpoints + 30 };
}

export interface ContactCenterOptions {
  /** The sales queue's DID the carrier dials. */
  did: string;
  /** Usernames that are agents of sales (penalty 0), in that order. */
  agents: string[];
  /** Usernames that supervise sales (no `supervisors` key when absent). */
  supervisors?: string[];
  /** The sales queue's own settings (wrapUpSec, serviceLevelSec, …) over the shared ones. */
  queue?: Record<string, unknown>;
  /** Other contactCenter settings (crmUrlTemplate, qualityMosThreshold, …). */
  contactCenter?: Record<string, unknown>;
}

/**
 * A whole e2e stack with the carrier trunk (inbound from CARRIER_ADDRESS,
 * +1555 outbound) and a contact center of one `sales` queue (longest-idle,
 * 20 s ring timeout, no position announcements, Sale/No sale dispositions).
 */
export function startContactCenterStack(
  file: E2eFile,
  opts: ContactCenterOptions,
): Promise<E2eStack> {
  const bs = carrierPorts(file);
  return startE2eStack(file, {
    trunks: [
      {
        name: 'carrier',
        host: CARRIER_ADDRESS,
        port: bs.sip,
        inboundAddresses: [CARRIER_ADDRESS],
        prefixes: ['+1555'],
      },
    ],
    contactCenter: {
      port: e2ePortsFor(file).callControl,
      ...(opts.supervisors
        ? { supervisors: opts.supervisors.map((username) => ({ username, queues: ['sales'] })) }
        : {}),
      ...opts.contactCenter,
      queues: [
        {
          name: 'sales',
          displayName: 'Sales',
          dids: [opts.did],
          strategy: 'longest-idle',
          ringTimeoutSec: 20,
          announce: { everySec: 0 },
          dispositions: ['Sale', 'No sale'],
          ...opts.queue,
        },
      ],
      ivrs: [],
      agents: opts.agents.map((username) => ({
        username,
        queues: [{ name: 'sales', penalty: 0 }],
      })),
    },
  });
}

/** The carrier's caller: a started baresip (1000 Hz tone) on CARRIER_ADDRESS, calling as `caller`. */
export async function startCarrier(
  stack: E2eStack,
  file: E2eFile,
  caller: string,
): Promise<Baresip> {
  const bs = carrierPorts(file);
  const carrier = new Baresip({
    user: caller,
    password: '',
    proxy: stack.sipAddress,
    sipPort: bs.sip,
    ctrlPort: bs.ctrl,
    rtpPort: bs.rtp,
    toneHz: 1000,
    carrierAddress: CARRIER_ADDRESS,
  });
  await carrier.start();
  return carrier;
}

/** The carrier dials the queue's DID; the queue answers at once (music while the caller waits). */
export async function dialQueue(carrier: Baresip, stack: E2eStack, did: string): Promise<void> {
  const since = carrier.events.length;
  const r = await carrier.command('dial', `sip:${did}@${stack.sipAddress}`);
  expect(r.ok, `baresip dial: ${r.data}`).toBe(true);
  await carrier.waitEvent((e) => e.type === 'CALL_ESTABLISHED', 'CALL_ESTABLISHED', 10_000, since);
}

/** Signs `phone` in as a supervisor; it lands on the Supervisor view. */
export async function signInSupervisor(phone: Phone): Promise<void> {
  await loginDemoAnd(phone, 'supervisor-view');
}

/** Signs `phone` in as an agent; it lands on the Agent view. */
export async function signInAgent(phone: Phone): Promise<void> {
  await loginDemoAnd(phone, 'agent-view');
}

async function loginDemoAnd(phone: Phone, view: string): Promise<void> {
  await loginDemo(phone, phone.name);
  await byId(phone.page, view).waitFor({ timeout: 15_000 });
}

/** From a signed-in agent's page: to the Agent view, press Ready, and wait until it shows Available. */
export async function goReady(agent: Phone): Promise<void> {
  await byId(agent.page, 'nav-agent').click({ timeout: 15_000 });
  await byId(agent.page, 'agent-view').waitFor({ timeout: 15_000 });
  await byId(agent.page, 'agent-ready').click();
  await waitAttr(agent.page, 'agent-state', 'data-state', 'available');
}

/**
 * The agent answers the queue call offered to it; returns the queue call's id
 * once the agent (and, given one, the supervisor's wallboard row) shows on-call.
 */
export async function answerOffer(agent: Phone, supervisor?: Phone): Promise<string> {
  await byId(agent.page, 'agent-offer').waitFor({ timeout: 15_000 });
  const callId = await byId(agent.page, 'agent-offer').getAttribute('data-call-id');
  expect(callId).toBeTruthy();
  await byId(agent.page, 'agent-answer').click();
  await waitAttr(agent.page, 'agent-state', 'data-state', 'on-call');
  if (supervisor)
    await waitAttr(supervisor.page, `sup-agent-${agent.name}`, 'data-state', 'on-call');
  return callId!;
}

/** What a failed test leaves: a screenshot per softphone, then the stack's logs, the pages' consoles and the carrier's output. */
export async function reportFailure(
  file: E2eFile,
  test: string,
  stack: E2eStack,
  phones: (Phone | undefined)[],
  carrier: Baresip | undefined,
): Promise<void> {
  const live = phones.filter((p): p is Phone => Boolean(p));
  for (const p of live) await failureShot(p.page, file, test, p.name);
  process.stderr.write(
    `\n[e2e] ${test} failed:\n${stack.logs(40)}\n${live.map(report).join('\n')}\n--- carrier baresip:\n${carrier?.output.slice(-2000)}\n`,
  );
}
