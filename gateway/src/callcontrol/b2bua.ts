import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { join } from 'node:path';
import { UserAgent, type Invitation } from 'sip.js';
import type { CallControl, InboundCall } from './types.js';
import { SipTcpTransport, type TcpTransportOptions } from './transport.js';
import { LegRoles } from './sdh.js';
import { CallMedia, joinedPrompt, type Ng } from './media.js';
import { CallLeg } from './call.js';
import { PresencePublications } from './presence.js';
import type { Logger } from '../log.js';
import { CALLCONTROL_USER } from '../routing/decide.js';

// The call-control tier: a back-to-back user agent inside the service that
// Kamailio routes IVR and queue numbers to (over TCP on loopback), because a
// proxy cannot answer a call or bridge two. SIP.js's core does the SIP
// (transactions, dialogs, re-INVITE answers, CANCEL), chosen over npm `sip`
// because `sip` has no dialog layer and SIP.js is already the softphone's
// stack; its missing UDP retransmission timers do not matter over TCP.
// rtpengine does the media (./media.ts); the contact center (../contactcenter)
// drives calls through the InboundCall interface (./types.ts).

export interface B2buaOptions {
  /** Our TCP listener (contactCenter.port) and the UDP port rtpengine sends DTMF events to (same number). */
  host: string;
  port: number;
  kamailioPort: number;
  domain: string;
  token: string;
  ng: Ng;
  /** Where joined prompts are cached. */
  cacheDir: string;
  log: Logger;
  /** Cluster: the other edges' addresses, whose Kamailios send us their queue callers (./transport.ts). */
  peers?: string[];
}

/** rtpengine's DTMF event numbers (RFC 4733 §3.2). */
const EVENT_DIGITS = '0123456789*#ABCD';

export class B2bua implements CallControl {
  private readonly calls = new Map<string, CallLeg>();
  private handler: ((call: InboundCall) => void) | undefined;
  private ua: UserAgent | undefined;
  private dtmf: UdpSocket | undefined;
  private presence: PresencePublications | undefined;
  private readonly roles = new LegRoles();

  constructor(private readonly opts: B2buaOptions) {}

  onCall(handler: (call: InboundCall) => void): void {
    this.handler = handler;
  }

  /**
   * Cluster: this node no longer runs the contact center (leadership lost): new
   * calls get 503, and the calls it holds are hung up (nobody drives them now).
   */
  async detach(): Promise<void> {
    this.handler = undefined;
    await Promise.allSettled([...this.calls.values()].map((c) => c.hangup()));
  }

  get activeCalls(): number {
    return this.calls.size;
  }

  /** Taking calls: the SIP listener is up (for /healthz). */
  get ready(): boolean {
    return this.ua !== undefined;
  }

  async start(): Promise<void> {
    const { host, port, kamailioPort, domain, log } = this.opts;
    const transportOptions: TcpTransportOptions = {
      listenHost: host,
      listenPort: port,
      kamailioHost: host,
      kamailioPort,
      log,
      peers: this.opts.peers,
    };
    const ua = new UserAgent({
      uri: UserAgent.makeURI(`sip:${CALLCONTROL_USER}@${domain}`),
      transportConstructor: SipTcpTransport,
      transportOptions,
      sessionDescriptionHandlerFactory: this.roles.factory,
      viaHost: host,
      hackViaTcp: true,
      contactName: CALLCONTROL_USER,
      contactParams: { transport: 'tcp' },
      userAgentString: 'webrtc-sip-gateway call-control',
      logBuiltinEnabled: false,
      logLevel: 'error',
      logConnector: (level, category, label, content) => {
        if (level === 'error') log.warn({ category, content }, 'sip.js');
      },
      delegate: { onInvite: (invitation) => this.incoming(invitation) },
    });
    // Kamailio must reach our Contact on our listener's port, which SIP.js has no option for.
    ua.contact.uri.port = port;
    await ua.start();
    this.ua = ua;
    this.presence = new PresencePublications(ua, { domain, token: this.opts.token, log });

    const dtmf = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    dtmf.on('message', (msg) => this.rtpengineDtmf(msg));
    dtmf.on('error', (err) => log.warn({ err }, 'call control: DTMF socket'));
    await new Promise<void>((resolve, reject) => {
      dtmf.once('error', reject);
      dtmf.bind(port, host, () => {
        dtmf.off('error', reject);
        resolve();
      });
    });
    this.dtmf = dtmf;
    log.info({ sip: `${host}:${port} (tcp)` }, 'call control ready');
  }

  /**
   * Publishes (or withdraws, `undefined`) a user's presence as the tier's own
   * publication (./presence.ts): the contact center's agent states.
   */
  publishPresence(username: string, pidf: string | undefined): Promise<void> {
    if (!this.presence) return Promise.reject(new Error('call control is not started'));
    return this.presence.set(username, pidf);
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.calls.values()].map((c) => c.hangup()));
    this.presence?.dispose();
    this.presence = undefined;
    this.dtmf?.close();
    this.dtmf = undefined;
    await this.ua?.stop().catch(() => undefined);
    this.ua = undefined;
  }

  private incoming(invitation: Invitation): void {
    const { ng, host, domain, token, log, cacheDir } = this.opts;
    const req = invitation.request;
    if (!this.handler || this.calls.has(req.callId)) {
      void invitation.reject({ statusCode: this.handler ? 482 : 503 });
      return;
    }
    const media = new CallMedia(ng, req.callId, req.fromTag, host);
    const call = new CallLeg(invitation, {
      ua: this.ua!,
      roles: this.roles,
      media,
      domain,
      token,
      joinFiles: (files) => joinedPrompt(files, join(cacheDir, 'prompts')),
      log,
      ng,
      address: host,
      onEnded: (c) => this.calls.delete(c.id),
    });
    this.calls.set(call.id, call);
    log.info(
      { callId: call.id, from: call.caller.user, dialled: call.dialled },
      'call control: incoming call',
    );
    try {
      this.handler(call);
    } catch (err) {
      log.error({ err, callId: call.id }, 'call control: handler failed');
      void call.reject(500);
    }
  }

  /** rtpengine's --dtmf-log-dest events: one JSON datagram per digit, for every call it anchors. */
  private rtpengineDtmf(msg: Buffer): void {
    let ev: { callid?: string; source_tag?: string; event?: number };
    try {
      ev = JSON.parse(msg.toString('utf8')) as typeof ev;
    } catch {
      return;
    }
    const call = ev.callid ? this.calls.get(ev.callid) : undefined;
    if (!call || typeof ev.event !== 'number') return;
    const digit = EVENT_DIGITS[ev.event];
    // Only the caller's own digits: an agent's keypad is not the caller choosing.
    if (digit && ev.source_tag === call.callerTag) call.emit('dtmf', digit, 'rfc4733');
  }
}
