import type { ContactCenter } from '../../../gateway/src/contactcenter/contactCenter.js';
import { portsFor, startStack, type Ports, type Stack } from './stack.js';
import { SipUA, plainSdp, udpTransport } from './sipua.js';
import { RtpEndpoint, sdpAudio } from './rtp.js';

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

/**
 * The carrier calls `did` with an RTP endpoint sending `hz` (on the file's
 * client media slot 0) and, once answered, points its RTP at the answer.
 * Returns the INVITE's outcome (the caller checks its status), the endpoint
 * and the Call-ID.
 */
export async function carrierCalls(
  carrier: SipUA,
  ports: Ports,
  did: string,
  opts: { hz: number; callId: string; from?: string; keepPcm?: boolean },
) {
  const rtp = await RtpEndpoint.open(ports.clientMedia(0), opts.hz);
  if (opts.keepPcm) rtp.keepPcm = true;
  const inv = await carrier.request('INVITE', {
    uri: `sip:${did}@127.0.0.1:${ports.sip}`,
    from: opts.from ?? `"Caller" <sip:+15550109999@127.0.0.2>`,
    body: plainSdp(rtp.port),
    contentType: 'application/sdp',
    authenticate: false,
    timeoutMs: 15_000,
    callId: opts.callId,
  });
  if (inv.final.status === 200) {
    const media = sdpAudio(inv.final.body);
    rtp.sendTo(media.host, media.port);
  }
  return { inv, rtp, callId: opts.callId };
}
