import { join } from 'node:path';
import type { Stack } from './stack.js';
import { explain, runSipp, startUas, type SippProcess } from './sipp.js';
import { SipUA, udpTransport } from './sipua.js';

// Registered sipp phones: one sipp answers calls (a UAS scenario on
// client(slot)), another registers that address for the user (register.xml
// from client(slot + 15)). One slot per user keeps one binding per user.

export const DEMO = {
  '1001': 'demo-1001-pw',
  '1002': 'demo-1002-pw',
  '1003': 'demo-1003-pw',
  '1004': 'demo-1004-pw',
} as const;

export type DemoUser = keyof typeof DEMO;

/** A Node SIP client over UDP, signed in as a demo user, on the file's client port `slot`. */
export async function udpUser(stack: Stack, user: DemoUser, slot: number): Promise<SipUA> {
  const transport = await udpTransport({
    remoteHost: '127.0.0.1',
    remotePort: stack.ports.sip,
    localPort: stack.ports.client(slot),
  });
  return new SipUA(transport, { user, password: DEMO[user] });
}

export function artifacts(stack: Stack): string {
  return join(stack.dataDir, 'sipp');
}

export async function registerSipp(
  stack: Stack,
  user: DemoUser,
  slot: number,
  expires = 600,
): Promise<void> {
  const r = await runSipp({
    scenario: 'register.xml',
    label: `register-${user}-${expires}`,
    artifacts: artifacts(stack),
    remote: `127.0.0.1:${stack.ports.sip}`,
    localPort: stack.ports.client(slot + 15),
    service: user,
    auth: { user, password: DEMO[user] },
    keys: { domain: stack.cfg.domain, contact_port: stack.ports.client(slot), expires },
  });
  if (r.code !== 0) throw new Error(`registering ${user} failed: ${explain(r)}`);
}

/** A registered phone running `scenario` for `calls` calls. */
export async function sippPhone(
  stack: Stack,
  opts: {
    user: DemoUser;
    slot: number;
    scenario?: string;
    label?: string;
    durationMs?: number;
    calls?: number;
  },
): Promise<SippProcess> {
  const uas = await startUas({
    scenario: opts.scenario ?? 'uas.xml',
    label: opts.label ?? `${opts.user}-${opts.scenario ?? 'uas'}`,
    artifacts: artifacts(stack),
    localPort: stack.ports.client(opts.slot),
    mediaPort: stack.ports.clientMedia(opts.slot),
    rtpEcho: true,
    service: opts.user,
    keys: { domain: stack.cfg.domain },
    durationMs: opts.durationMs ?? 1000,
    calls: opts.calls ?? 1,
    timeoutSec: 30,
  });
  try {
    await registerSipp(stack, opts.user, opts.slot);
  } catch (err) {
    await uas.stop();
    throw err;
  }
  return uas;
}

/** Wait until rtpengine holds no call (deletes are asynchronous to the SIP replies). */
export async function noMediaSessions(stack: Stack, timeoutMs = 3000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let n = await stack.gw.rtpengine.sessionCount();
  while (n > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    n = await stack.gw.rtpengine.sessionCount();
  }
  return n;
}
