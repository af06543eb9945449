import type { Logger } from '../log.js';
import type { AgentState, AgentView } from './types.js';

// Agents' contact-center states as presence (issue 8, "agent states shown as
// presence too"): a colleague's contacts and BLF keys show "Wrap-up" or
// "Paused: lunch", not only what the agent's softphone publishes itself.
//
// How it reaches Kamailio's presence server: a PUBLISH sent by the
// call-control tier's SIP.js user agent (callcontrol/presence.ts), which
// Kamailio trusts by its X-CallControl-Token (route CALLCONTROL_PEER) and the
// service lets through as a presence target (routing/decide.ts,
// fromCallControl). Not Kamailio's pua_rpc `pua.publish`: that RPC waits for
// the PUBLISH's final answer with a delayed RPC reply, which jsonrpcs (5.6)
// implements for its HTTP transport only ("delayed response implemented
// only for HTTP transport") and binrpc/kamcmd not at all; our RPC is the FIFO
// in the run folder, and an RPC endpoint on the SIP port's HTTP would be one
// more thing to keep from the outside. The B2BUA already has an authenticated
// SIP path to Kamailio and SIP.js's transactions.
//
// With the softphone's own PUBLISH: each is its own publication (its own
// SIP-ETag, its own publisher: callcontrol@ vs the user), and presence_xml
// aggregates the tuples of every publication of a presentity into the one
// PIDF its watchers get. Ours is the tuple and person with id
// "contact-center"; the softphone prefers it whenever it is there
// (softphone/src/phone/presence.ts, parsePidf).

/** The id of our <tuple> and <dm:person> in the aggregated PIDF. */
export const CC_TUPLE_ID = 'contact-center';

/** What one agent's contact-center state publishes. */
export interface AgentPresenceDoc {
  basic: 'open' | 'closed';
  /** RPID activity (RFC 4480), if any. */
  activity?: 'away' | 'busy' | 'on-the-phone';
  note: string;
}

const escapeXml = (s: string) =>
  s.replace(/[<>&"']/g, (c) =>
    c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : c === '"' ? '&quot;' : '&apos;',
  );

/**
 * An agent state → PIDF status, RPID activity and note (English: the note is
 * what any SIP phone watching shows; the softphone translates it by the
 * `cc:state` and `cc:reason` it also finds in the tuple).
 */
export function agentPresence(
  state: AgentState,
  reason: string | null,
  queue?: string,
): AgentPresenceDoc {
  switch (state) {
    case 'available':
      return { basic: 'open', note: 'Available' };
    case 'offered':
      return { basic: 'open', activity: 'busy', note: queue ? `Ringing: ${queue}` : 'Ringing' };
    case 'on-call':
      return {
        basic: 'open',
        activity: 'on-the-phone',
        note: queue ? `On a queue call: ${queue}` : 'On a queue call',
      };
    case 'wrap-up':
      return { basic: 'open', activity: 'busy', note: 'Wrap-up' };
    case 'not-ready':
      return { basic: 'open', activity: 'away', note: reason ? `Paused: ${reason}` : 'Paused' };
    case 'offline':
      return { basic: 'closed', note: 'Offline' };
  }
}

/**
 * The PIDF (RFC 3863) with the RPID activity (RFC 4480) and the state itself
 * in the tuple's `cc:state` (and `cc:reason`) elements (a namespace of ours:
 * watchers that do not know it ignore it, RFC 3863 §4.3).
 */
export function agentPidf(
  entity: string,
  state: AgentState,
  doc: AgentPresenceDoc,
  reason?: string | null,
): string {
  const activity = doc.activity
    ? `  <dm:person id="${CC_TUPLE_ID}"><rpid:activities><rpid:${doc.activity}/></rpid:activities></dm:person>\r\n`
    : '';
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\r\n' +
    `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" xmlns:cc="urn:x-webrtc-sip-gateway:contact-center" entity="${escapeXml(entity)}">\r\n` +
    `  <tuple id="${CC_TUPLE_ID}"><status><basic>${doc.basic}</basic></status><cc:state>${state}</cc:state>${reason ? `<cc:reason>${escapeXml(reason)}</cc:reason>` : ''}<note>${escapeXml(doc.note)}</note></tuple>\r\n` +
    activity +
    '</presence>\r\n'
  );
}

/** What the contact center offers (ContactCenter has these). */
export interface AgentSource {
  listAgents(): { username: string }[];
  subscribe(username: string, fn: (view: AgentView) => void): () => void;
}

/** Sends (or, with `undefined`, withdraws) the PUBLISH of one user's presence. */
export type PresenceSender = (username: string, pidf: string | undefined) => Promise<void>;

export interface AgentPresenceOptions {
  source: AgentSource;
  send: PresenceSender;
  domain: string;
  log: Logger;
  /** How often agents added since (admin API) are picked up. */
  rescanMs?: number;
}

/**
 * Publishes every agent's state as presence on each change (the contact
 * center's per-agent view stream, deduplicated), and withdraws it on stop.
 */
export class AgentPresence {
  private readonly subs = new Map<string, () => void>();
  private readonly last = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: AgentPresenceOptions) {}

  start(): void {
    this.rescan();
    this.timer = setInterval(() => this.rescan(), this.o.rescanMs ?? 30_000);
    this.timer.unref();
  }

  /**
   * Stops following agents. Nothing is withdrawn: the gateway stops its
   * Kamailio too, whose presence server keeps publications in memory only.
   */
  stop(): void {
    clearInterval(this.timer);
    for (const off of this.subs.values()) off();
    this.subs.clear();
    this.last.clear();
  }

  private rescan(): void {
    const now = new Set(this.o.source.listAgents().map((a) => a.username));
    for (const [u, off] of this.subs) {
      if (now.has(u)) continue;
      off();
      this.subs.delete(u);
      this.last.delete(u);
      void this.o.send(u, undefined).catch(() => undefined);
    }
    for (const u of now) {
      if (this.subs.has(u)) continue;
      try {
        this.subs.set(
          u,
          this.o.source.subscribe(u, (v) => this.publish(v)),
        );
      } catch (err) {
        this.o.log.warn({ err, agent: u }, 'agent presence: cannot follow this agent');
      }
    }
  }

  private publish(v: AgentView): void {
    const queue = (v.call ?? v.offer)?.queueDisplayName;
    const doc = agentPresence(v.state, v.reason, queue);
    const reason = v.state === 'not-ready' ? v.reason : null;
    const body = agentPidf(`sip:${v.username}@${this.o.domain}`, v.state, doc, reason);
    if (this.last.get(v.username) === body) return;
    this.last.set(v.username, body);
    this.o
      .send(v.username, body)
      .catch((err: unknown) =>
        this.o.log.warn({ err, agent: v.username }, 'agent presence: PUBLISH failed'),
      );
  }
}
