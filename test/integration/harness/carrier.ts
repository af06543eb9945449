import type { ContactCenter } from '../../../gateway/src/contactcenter/contactCenter.js';
import { portsFor, startStack, type Ports, type Stack } from './stack.js';
import { SipUA, udpTransport } from './sipua.js';

// A carrier on the phone network, for tests that need calls arriving through
// a trunk: its own loopback address (calls from there are the trunk's, by
// source address) and a Node SIP client sending from it. Used by the call
// control, contact center and supervisor tests and the contact-center benchmark.

export const CARRIER_ADDRESS = '127.0.0.2';

/** The gateway's trunk toward this carrier (config `trunks[]`). */
export function carrierTrunk(ports: Ports) {
  return {
    name: 'carrier',
    host: CARRIER_ADDRESS,
    port: ports.client(20),
    inboundAddresses: [CARRIER_ADDRESS],
    prefixes: ['+1555'],
  };
}

/** The carrier's SIP client, on the trunk's address and port, sending to the stack's Kamailio. */
export async function carrierUA(ports: Ports, user = '+15550109999'): Promise<SipUA> {
  return new SipUA(
    await udpTransport({
      localHost: CARRIER_ADDRESS,
      localPort: ports.client(20),
      remoteHost: '127.0.0.1',
      remotePort: ports.sip,
    }),
    { user, domain: 'carrier.example' },
  );
}

/**
 * A whole stack whose contact center (config `contactCenter`, on the file's
 * call-control port) takes calls from the carrier's trunk, and the carrier's
 * client: what every contact-center test starts with.
 */
export async function startContactCenterStack(
  name: string,
  base: number,
  contactCenter: Record<string, unknown>,
  log: { level: 'warn' | 'info' | 'debug' } = { level: 'warn' },
): Promise<{ stack: Stack; cc: ContactCenter; carrier: SipUA }> {
  const ports = portsFor(base);
  const stack = await startStack(name, base, {
    log: { ...log, kamailioDebug: 1 },
    trunks: [carrierTrunk(ports)],
    contactCenter: { port: ports.callControl, ...contactCenter },
  } as never);
  return { stack, cc: stack.gw.contactCenter!, carrier: await carrierUA(ports) };
}
