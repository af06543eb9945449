// Presence documents and publishing: reading PIDF (RFC 3863, with RPID's
// <away/>, RFC 4480) and dialog-info (RFC 4235, BLF) NOTIFY bodies, and the
// user's own PUBLISH (RFC 3903). A chunk of its own: the Phone loads it with
// the first NOTIFY or PUBLISH, so neither the parsers nor SIP.js's Publisher
// are part of the page's first load.
import { Publisher, PublisherState } from 'sip.js';
import type { URI, UserAgent } from 'sip.js';
import type { LineState, OwnPresence, PresenceEvent } from './types';

/** The contact center's own tuple and person (gateway contactcenter/presence.ts). */
const CC_ID = 'contact-center';

const TUPLE = /<(?:\w+:)?tuple\b([^>]*)>([\s\S]*?)<\/(?:\w+:)?tuple>/gi;
const PERSON = /<(?:\w+:)?person\b([^>]*)>([\s\S]*?)<\/(?:\w+:)?person>/gi;
const idOf = (attrs: string) => /\bid\s*=\s*"([^"]*)"/i.exec(attrs)?.[1];
const awayIn = (xml: string) => /<(?:\w+:)?activities>[\s\S]*<(?:\w+:)?away\s*\/?>/i.test(xml);
const textOf = (xml: string, tag: string) => {
  const v = new RegExp(`<(?:\\w+:)?${tag}[^>]*>([^<]*)<`, 'i').exec(xml)?.[1]?.trim();
  return v ? unescapeXml(v) : undefined;
};

/** One publication's view: PIDF basic status and note (RFC 3863), RPID's <away/> (RFC 4480). */
function plainPidf(body: string): Pick<PresenceEvent, 'status' | 'note' | 'away'> {
  const basic = /<(?:\w+:)?basic>\s*(open|closed)\s*</i.exec(body)?.[1]?.toLowerCase();
  const note = textOf(body, 'note');
  return {
    status: basic === 'open' || basic === 'closed' ? basic : 'unknown',
    note,
    ...(awayIn(body) ? { away: true } : {}),
  };
}

/**
 * A watched user's presence from a PIDF document, which the presence server
 * aggregates from every publication of that user: the softphone's own, and
 * the contact center's agent state (tuple and person with id
 * "contact-center"). The agent state wins while the agent is signed in to
 * the contact center (a colleague sees "Wrap-up", "Paused: lunch"); once
 * they are offline there, what their phone publishes shows again, and only
 * with nothing else published do they show as offline.
 */
export function parsePidf(body: string): Pick<PresenceEvent, 'status' | 'note' | 'away' | 'agent'> {
  const tuple = [...body.matchAll(TUPLE)].find((m) => idOf(m[1] ?? '') === CC_ID);
  if (!tuple) return plainPidf(body);
  const person = [...body.matchAll(PERSON)].find((m) => idOf(m[1] ?? '') === CC_ID);
  const inner = tuple[2] ?? '';
  const agent = {
    state: textOf(inner, 'state') ?? 'unknown',
    ...(textOf(inner, 'note') ? { note: textOf(inner, 'note') } : {}),
    ...(textOf(inner, 'reason') ? { reason: textOf(inner, 'reason') } : {}),
  };
  const open = /<(?:\w+:)?basic>\s*open\s*</i.test(inner);
  if (open) {
    return {
      status: 'open',
      note: agent.note,
      ...(person && awayIn(person[0]) ? { away: true } : {}),
      agent,
    };
  }
  // Offline in the contact center: the rest of the document (the phone's own).
  const rest = plainPidf(body.replace(tuple[0], '').replace(person?.[0] ?? '', ''));
  return rest.status === 'unknown'
    ? { status: 'closed', note: agent.note, agent }
    : { ...rest, agent };
}

const unescapeXml = (s: string) =>
  s.replace(/&(lt|gt|quot|apos|amp);/g, (_m, e: string) =>
    e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'quot' ? '"' : e === 'apos' ? "'" : '&',
  );

/**
 * A line's state from a dialog-info document (RFC 4235): a confirmed dialog
 * is busy; an early one (trying, proceeding, early) rings when the watched
 * user is its recipient and is busy (dialling out) when they started it;
 * no dialog, or only terminated ones, is idle.
 */
export function parseDialogInfo(body: string): LineState {
  let ringing = false;
  let busy = false;
  for (const m of body.matchAll(
    /<(?:\w+:)?dialog(?=[\s>])([^>]*)>([\s\S]*?)<\/(?:\w+:)?dialog>/gi,
  )) {
    const attrs = m[1] ?? '';
    const state = /<(?:\w+:)?state[^>]*>\s*(\w+)\s*</i.exec(m[2] ?? '')?.[1]?.toLowerCase();
    if (state === 'confirmed') busy = true;
    else if (state === 'trying' || state === 'proceeding' || state === 'early') {
      if (/direction\s*=\s*"recipient"/i.test(attrs)) ringing = true;
      else busy = true;
    }
  }
  return busy ? 'busy' : ringing ? 'ringing' : 'idle';
}

const escapeXml = (s: string) =>
  s.replace(/[<>&"']/g, (c) =>
    c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : c === '"' ? '&quot;' : '&apos;',
  );

/** The PIDF document a user publishes about themself. */
export function buildPidf(entity: string, p: OwnPresence): string {
  const rpid = p.away
    ? '  <dm:person id="p1"><rpid:activities><rpid:away/></rpid:activities></dm:person>\r\n'
    : '';
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\r\n' +
    `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="${escapeXml(entity)}">\r\n` +
    `  <tuple id="softphone"><status><basic>${p.status}</basic></status></tuple>\r\n` +
    rpid +
    (p.note ? `  <note>${escapeXml(p.note)}</note>\r\n` : '') +
    '</presence>\r\n'
  );
}

/** One PUBLISH state of our AOR: SIP.js refreshes it and keeps its entity tag. */
export class PresencePublisher {
  private readonly publisher: Publisher;

  constructor(ua: UserAgent, aor: URI) {
    this.publisher = new Publisher(ua, aor, 'presence', {
      contentType: 'application/pidf+xml',
      expires: 600,
    });
  }

  publish(entity: string, p: OwnPresence): Promise<void> {
    return this.publisher.publish(buildPidf(entity, p));
  }

  /** Removes the published state (watchers are told) and lets go of the publisher. */
  async withdraw(connected: boolean, bounded: (p: Promise<unknown>) => Promise<unknown>) {
    if (connected && this.publisher.state === PublisherState.Published)
      await bounded(this.publisher.unpublish());
    await bounded(this.publisher.dispose());
  }

  dispose(): Promise<void> {
    return this.publisher.dispose();
  }
}
