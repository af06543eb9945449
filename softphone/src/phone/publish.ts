// Publishing the user's own presence (RFC 3903 PUBLISH of a PIDF, RFC 3863,
// with RPID's <away/>, RFC 4480). A chunk of its own: the Phone loads it only
// once there is something to publish, so SIP.js's Publisher is not part of
// the page's first load.
import { Publisher, PublisherState } from 'sip.js';
import type { URI, UserAgent } from 'sip.js';
import type { OwnPresence } from './types';

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
