import { UserAgent, type Core } from 'sip.js';
import type { Logger } from '../log.js';

// PUBLISH (RFC 3903) of users' presence by the call-control tier, for the
// contact center's agent states (contactcenter/presence.ts says why this way).
// Kamailio trusts it by the X-CallControl-Token (route CALLCONTROL_PEER) and
// its presence server keeps it as a publication of its own (its own SIP-ETag),
// next to whatever the user's softphone publishes.
//
// Not SIP.js's Publisher: a second publish() while the first PUBLISH still
// waits for its answer goes out without SIP-If-Match and makes a second
// publication. Here one PUBLISH per user is in flight at a time; the latest
// wanted body is sent when it is answered.

/** Seconds a publication lasts; refreshed at 90 % of what the server granted. */
const EXPIRES = 3600;
/** A refused or unanswered PUBLISH is tried again after this long. */
const RETRY_MS = 30_000;

interface Entity {
  etag: string | undefined;
  /** What should be published: a body, or withdrawn (undefined). */
  wanted: string | undefined;
  /** The body the server has now (undefined: nothing published). */
  sent: string | undefined;
  inFlight: boolean;
  refresh: NodeJS.Timeout | undefined;
  waiters: { resolve: () => void; reject: (e: Error) => void }[];
}

export class PresencePublications {
  private readonly entities = new Map<string, Entity>();

  constructor(
    private readonly ua: UserAgent,
    private readonly o: { domain: string; token: string; log: Logger },
  ) {}

  /**
   * Publishes `pidf` as `username`'s presence, or withdraws it (undefined).
   * Resolves once the server has the latest wanted state (or it failed).
   */
  set(username: string, pidf: string | undefined): Promise<void> {
    let e = this.entities.get(username);
    if (!e) {
      if (pidf === undefined) return Promise.resolve();
      e = {
        etag: undefined,
        wanted: pidf,
        sent: undefined,
        inFlight: false,
        refresh: undefined,
        waiters: [],
      };
      this.entities.set(username, e);
    }
    e.wanted = pidf;
    const done = new Promise<void>((resolve, reject) => e.waiters.push({ resolve, reject }));
    this.next(username, e);
    return done;
  }

  /** Stops refreshing (the publications expire by themselves). */
  dispose(): void {
    for (const e of this.entities.values()) clearTimeout(e.refresh);
    this.entities.clear();
  }

  private next(username: string, e: Entity, refresh = false): void {
    if (e.inFlight) return;
    if (!refresh && e.wanted === e.sent) {
      this.settle(e);
      if (e.wanted === undefined) this.entities.delete(username);
      return;
    }
    if (e.wanted === undefined && e.etag === undefined) {
      e.sent = undefined;
      this.settle(e);
      this.entities.delete(username);
      return;
    }
    const body = refresh ? undefined : e.wanted;
    const expires = e.wanted === undefined ? 0 : EXPIRES;
    this.send(username, e, body, expires);
  }

  private send(username: string, e: Entity, body: string | undefined, expires: number): void {
    const uri = UserAgent.makeURI(`sip:${username}@${this.o.domain}`);
    if (!uri) {
      this.fail(e, new Error(`not a SIP user: ${username}`));
      return;
    }
    const headers = [
      'Event: presence',
      `Expires: ${expires}`,
      `X-CallControl-Token: ${this.o.token}`,
      ...(e.etag ? [`SIP-If-Match: ${e.etag}`] : []),
    ];
    const core = this.ua.userAgentCore;
    const content: Core.Body | undefined =
      body === undefined
        ? undefined
        : { contentDisposition: 'render', contentType: 'application/pidf+xml', content: body };
    const req = core.makeOutgoingRequestMessage(
      'PUBLISH',
      uri,
      core.configuration.aor,
      uri,
      {},
      headers,
      content,
    );
    const sending = body;
    clearTimeout(e.refresh);
    e.refresh = undefined;
    e.inFlight = true;
    core.publish(req, {
      onAccept: (res) => {
        e.inFlight = false;
        const m = res.message;
        if (expires === 0) {
          e.etag = undefined;
          e.sent = undefined;
        } else {
          e.etag = m.getHeader('SIP-ETag') ?? e.etag;
          if (sending !== undefined) e.sent = sending;
          const granted = Number(m.getHeader('Expires') ?? expires) || expires;
          e.refresh = setTimeout(() => this.next(username, e, true), granted * 900);
          e.refresh.unref();
        }
        this.next(username, e);
      },
      onReject: (res) => {
        e.inFlight = false;
        const code = res.message.statusCode;
        if (code === 412 && e.etag !== undefined) {
          // The server lost our publication (restart, expiry): start a new one.
          e.etag = undefined;
          e.sent = undefined;
          this.next(username, e);
          return;
        }
        this.o.log.warn(
          { user: username, code, reason: res.message.reasonPhrase },
          'call control: PUBLISH refused',
        );
        this.fail(e, new Error(`PUBLISH for ${username}: ${code} ${res.message.reasonPhrase}`));
        // Kamailio restarting, a timeout: the latest state goes again a little later.
        e.refresh = setTimeout(() => this.next(username, e), RETRY_MS);
        e.refresh.unref();
      },
    });
  }

  private settle(e: Entity): void {
    for (const w of e.waiters.splice(0)) w.resolve();
  }

  private fail(e: Entity, err: Error): void {
    for (const w of e.waiters.splice(0)) w.reject(err);
  }
}
