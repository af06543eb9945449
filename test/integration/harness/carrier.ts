import type { Ports } from './stack.js';
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
