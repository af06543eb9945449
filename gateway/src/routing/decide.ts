import type { GatewayConfig, TrunkConfig } from '../config/schema.js';
import type { Directory } from '../directory/directory.js';
import { toE164, formatForTrunk } from './numbers.js';

// The call-routing brain, free of HTTP and SIP parsing so it can be unit-tested:
// given who sent an initial request and what it asks for, say who the caller is
// and where the request goes. The wire format is in ../kamailio/DECISIONS.md.

export interface RequestFacts {
  method: string;
  authUser: string;
  realm: string;
  fromUser: string;
  ruriUser: string;
  ruriHost: string;
  ruriPort?: string;
  srcIp: string;
  proto: string;
  /** Kamailio checked the call-control tier's token on this request (an offer to an agent). */
  fromCallControl?: boolean;
}

export type Caller =
  | { kind: 'user'; username: string; ha1: string }
  | { kind: 'trunk'; trunk: string }
  | { kind: 'callcontrol' }
  | { kind: 'challenge' }
  | { kind: 'reject'; code: number; reason: string };

export type Target =
  | { kind: 'local'; username: string }
  | { kind: 'uri'; ruri: string }
  | {
      kind: 'trunk';
      trunk: string;
      ruri: string;
      du: string;
      callerId: string;
      codecs: string;
      auth?: { username: string; password: string; realm?: string };
    }
  | { kind: 'service'; service: 'echo' | 'tone'; ruri: string }
  /** An IVR or queue: the call-control tier (B2BUA) answers it; `du` is its TCP listener. */
  | { kind: 'callcontrol'; ruri: string; du: string }
  /** SUBSCRIBE/PUBLISH for this user of ours: Kamailio's presence server answers it. */
  | { kind: 'presence'; username: string }
  | { kind: 'reject'; code: number; reason: string };

export interface Decision {
  caller: Caller;
  target: Target;
  /** For the call record. */
  direction: 'local' | 'outbound' | 'inbound' | 'service' | 'agent-leg' | 'rejected';
}

/** The call-control tier's SIP user (its B2BUA answers requests for this user part only). */
export const CALLCONTROL_USER = 'callcontrol';

const reject = (code: number, reason: string) => ({ kind: 'reject' as const, code, reason });

/** Methods Kamailio's presence server answers (route PRESENCE). */
const isPresence = (method: string) => method === 'SUBSCRIBE' || method === 'PUBLISH';

export class Router {
  private readonly ownHosts: Set<string>;

  constructor(
    private readonly cfg: GatewayConfig,
    private readonly directory: Directory,
    /**
     * Cluster: host:port of the call-control tier of the node that runs the
     * contact center now (contactcenter README "Cluster mode"). Default: this node's.
     */
    private readonly callControlAt?: () => string | undefined,
  ) {
    this.ownHosts = new Set(
      [cfg.domain, cfg.listenAddress, cfg.advertisedAddress, 'localhost', '127.0.0.1']
        .filter((h): h is string => Boolean(h))
        .map((h) => h.toLowerCase()),
    );
  }

  /** REGISTER: the HA1 to check the digest with, or a 403 that does not say whether the user exists. */
  registration(f: {
    authUser: string;
    realm: string;
    aorUser: string;
  }): { ha1: string } | { reject: { code: number; reason: string } } {
    const user = this.directory.findUser(f.authUser);
    if (!user || f.realm !== this.cfg.domain || f.authUser !== f.aorUser) {
      return { reject: { code: 403, reason: 'Forbidden' } };
    }
    return { ha1: user.ha1 };
  }

  decide(f: RequestFacts): Decision {
    if (f.fromCallControl) return this.fromCallControl(f);
    const trunk = this.trunkByAddress(f.srcIp, f.proto);
    if (trunk && isPresence(f.method)) {
      // carriers send calls; presence is for our users' own phones
      return {
        caller: { kind: 'trunk', trunk: trunk.name },
        target: reject(403, 'Presence is for users of this domain'),
        direction: 'rejected',
      };
    }
    if (trunk) return this.fromTrunk(trunk, f);

    if (!f.authUser) {
      return {
        caller: { kind: 'challenge' },
        target: reject(407, 'Proxy Authentication Required'),
        direction: 'rejected',
      };
    }
    const user = this.directory.findUser(f.authUser);
    if (!user || f.realm !== this.cfg.domain) {
      return {
        caller: reject(403, 'Forbidden'),
        target: reject(403, 'Forbidden'),
        direction: 'rejected',
      };
    }
    // Credentials of one user must not place calls as another (caller-ID spoofing).
    if (f.fromUser !== user.username) {
      return {
        caller: reject(403, 'From does not match credentials'),
        target: reject(403, 'Forbidden'),
        direction: 'rejected',
      };
    }
    const caller: Caller = { kind: 'user', username: user.username, ha1: user.ha1 };
    const target = isPresence(f.method)
      ? this.presenceTarget(user.username, f)
      : this.targetForUser(user.callerId, f);
    return { caller, target, direction: directionOf(target) };
  }

  /**
   * SUBSCRIBE (presence, dialog/BLF) and PUBLISH: only about users of our
   * domain; anyone of ours may watch a colleague, but only publish for themselves.
   */
  private presenceTarget(watcher: string, f: RequestFacts): Target {
    if (!this.ownHosts.has(f.ruriHost.toLowerCase()))
      return reject(403, 'Presence only for users of this domain');
    const user = this.directory.findUser(f.ruriUser);
    if (!user) return reject(404, 'Not Found');
    if (f.method === 'PUBLISH' && user.username !== watcher)
      return reject(403, 'Publish only your own presence');
    return { kind: 'presence', username: user.username };
  }

  private targetForUser(callerId: string | null, f: RequestFacts): Target {
    const host = f.ruriHost.toLowerCase();
    if (!this.ownHosts.has(host)) {
      return this.uriAllowed(host)
        ? {
            kind: 'uri',
            ruri: `sip:${f.ruriUser ? f.ruriUser + '@' : ''}${f.ruriHost}${f.ruriPort ? ':' + f.ruriPort : ''}`,
          }
        : reject(403, 'Relay to this domain is not allowed');
    }
    const { services, listenAddress } = this.cfg;
    if (f.ruriUser === services.echoExtension) {
      return {
        kind: 'service',
        service: 'echo',
        ruri: `sip:echo@${listenAddress}:${services.echoPort}`,
      };
    }
    if (f.ruriUser === services.toneExtension) {
      return {
        kind: 'service',
        service: 'tone',
        ruri: `sip:tone@${listenAddress}:${services.tonePort}`,
      };
    }
    if (this.directory.findUser(f.ruriUser)) return { kind: 'local', username: f.ruriUser };
    const cc = this.callControlTarget(f.ruriUser);
    if (cc) return cc;

    const e164 = toE164(f.ruriUser, this.cfg.numbering);
    if (!e164) return reject(404, 'Not Found');
    // A DID of ours dialled from inside stays inside.
    const didUser = this.directory.findDid(e164);
    if (didUser) return { kind: 'local', username: didUser };
    if (f.method !== 'INVITE') return reject(403, 'Only calls go to trunks');
    const trunk = this.trunkForNumber(e164);
    if (!trunk) return reject(404, 'No route to this number');
    if (!callerId) return reject(403, 'Caller has no caller ID for trunk calls');
    const hostPort = `${trunk.host}:${trunk.port}`;
    const transport = trunk.transport === 'tcp' ? ';transport=tcp' : '';
    return {
      kind: 'trunk',
      trunk: trunk.name,
      ruri: `sip:${formatForTrunk(e164, trunk.numberFormat)}@${hostPort}${transport}`,
      du: `sip:${hostPort}${transport}`,
      callerId,
      codecs: trunk.codecs.join(','),
      ...(trunk.auth && { auth: trunk.auth }),
    };
  }

  private fromTrunk(trunk: TrunkConfig, f: RequestFacts): Decision {
    const caller: Caller = { kind: 'trunk', trunk: trunk.name };
    const e164 = toE164(f.ruriUser, this.cfg.numbering);
    const username = e164 && this.directory.findDid(e164);
    // Trunks reach DIDs only: anything else from a carrier is a scan or a loop.
    const target: Target = username
      ? { kind: 'local', username }
      : ((e164 ? this.callControlTarget(e164) : undefined) ?? reject(404, 'Unknown DID'));
    return { caller, target, direction: target.kind === 'reject' ? 'rejected' : 'inbound' };
  }

  /**
   * The call-control tier offering a caller to an agent (or connecting it
   * onward): no digest, Kamailio checked its token. It may reach users and
   * routed numbers, never another IVR/queue through SIP (it moves callers
   * between its own flows itself).
   */
  private fromCallControl(f: RequestFacts): Decision {
    const caller: Caller = { kind: 'callcontrol' };
    if (f.method === 'PUBLISH') {
      // agents' contact-center states as presence (contactcenter/presence.ts), for users of ours only
      const user = this.directory.findUser(f.ruriUser);
      return user
        ? { caller, target: { kind: 'presence', username: user.username }, direction: 'local' }
        : { caller, target: reject(404, 'Not Found'), direction: 'rejected' };
    }
    if (f.method !== 'INVITE')
      return { caller, target: reject(405, 'Method Not Allowed'), direction: 'rejected' };
    if (this.directory.findUser(f.ruriUser)) {
      return { caller, target: { kind: 'local', username: f.ruriUser }, direction: 'agent-leg' };
    }
    const fromE164 = /^\+\d{6,15}$/.test(f.fromUser) ? f.fromUser : null;
    const target = this.targetForUser(fromE164, { ...f, ruriHost: this.cfg.domain });
    return { caller, target, direction: target.kind === 'reject' ? 'rejected' : 'agent-leg' };
  }

  /** An IVR or queue number (extension or DID) of the contact center. */
  private callControlTarget(dialled: string): Target | undefined {
    const cc = this.cfg.contactCenter;
    if (!cc.enabled) return undefined;
    const known =
      cc.ivrs.some((i) => i.number === dialled || i.dids.includes(dialled)) ||
      cc.queues.some((q) => q.number === dialled || q.dids.includes(dialled));
    if (!known) return undefined;
    const hostPort = this.callControlAt?.() ?? `${this.cfg.listenAddress}:${cc.port}`;
    return {
      kind: 'callcontrol',
      // SIP.js answers only its own user part; the number dialled rides along as a URI parameter
      ruri: `sip:${CALLCONTROL_USER}@${hostPort};transport=tcp;dialled=${dialled}`,
      du: `sip:${hostPort};transport=tcp`,
    };
  }

  private trunkByAddress(ip: string, proto: string): TrunkConfig | undefined {
    if (proto === 'ws' || proto === 'wss') return undefined;
    return this.cfg.trunks.find((t) => t.inboundAddresses.includes(ip));
  }

  /** Longest matching prefix wins, as in any dial plan. */
  private trunkForNumber(e164: string): TrunkConfig | undefined {
    let best: { trunk: TrunkConfig; length: number } | undefined;
    for (const trunk of this.cfg.trunks) {
      for (const prefix of trunk.prefixes) {
        const p = prefix === '' || prefix.startsWith('+') ? prefix : '+' + prefix;
        if (e164.startsWith(p) && (!best || p.length > best.length))
          best = { trunk, length: p.length };
      }
    }
    return best?.trunk;
  }

  private uriAllowed(host: string): boolean {
    const allowed = this.cfg.sip.allowedUriDomains;
    return allowed.includes('*') || allowed.some((d) => d.toLowerCase() === host);
  }
}

function directionOf(target: Target): Decision['direction'] {
  switch (target.kind) {
    case 'local':
      return 'local';
    case 'uri':
    case 'trunk':
      return 'outbound';
    case 'service':
      return 'service';
    case 'callcontrol':
    case 'presence':
      return 'local';
    case 'reject':
      return 'rejected';
  }
}
