import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness/stack.js';
import { DEMO, udpUser } from './harness/phones.js';
import {
  SipUA,
  wsTransport,
  hdr,
  plainSdp,
  tagOf,
  uriOf,
  type Dialog,
  type IncomingRequest,
  type SipMessage,
} from './harness/sipua.js';
import { until } from './harness/wait.js';

// Presence and BLF through the real Kamailio presence server (presence,
// presence_xml, presence_dialoginfo) with the proxy publishing its own calls'
// states (pua_dialoginfo): 1001 watches 1002's `dialog` package while 1003
// calls 1002 (ringing → early, answered → confirmed, hung up → terminated);
// 1002 PUBLISHes PIDF open/closed and 1001's `presence` NOTIFYs carry it.
// Subscriptions are digest-authenticated and only for users of our domain.
// Timings (call state → NOTIFY) are measured and printed, never asserted.

const BASE = 18500;
let stack: Stack;
let watcher: SipUA; // 1001
let callee: SipUA; // 1002
let caller: SipUA; // 1003

interface Notify {
  at: number;
  msg: SipMessage;
}
const notifies: Notify[] = [];

beforeAll(async () => {
  stack = await startStack('presence', BASE);
  watcher = await udpUser(stack, '1001', 0);
  callee = await udpUser(stack, '1002', 1);
  caller = await udpUser(stack, '1003', 2);
  watcher.onRequest((req) => {
    if (req.msg.method === 'NOTIFY') notifies.push({ at: Date.now(), msg: req.msg });
    if (req.msg.method !== 'ACK') req.reply(200, 'OK');
  });
}, 60_000);

afterAll(async () => {
  await Promise.all([watcher?.close(), callee?.close(), caller?.close()]);
  await stack?.stop();
});

/** The dialog states in a dialog-info body (RFC 4235), or [] for "no dialog". */
function dialogStates(body: string): string[] {
  return [...body.matchAll(/<state[^>]*>\s*(\w+)\s*<\/state>/g)].map((m) => m[1]!);
}

/** PIDF basic status (RFC 3863) in a presence NOTIFY body. */
function basicStatus(body: string): string[] {
  return [...body.matchAll(/<(?:\w+:)?basic>\s*(\w+)\s*<\/(?:\w+:)?basic>/g)].map((m) => m[1]!);
}

function pidf(entity: string, status: 'open' | 'closed', note: string): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${entity}">`,
    '  <tuple id="softphone">',
    `    <status><basic>${status}</basic></status>`,
    '  </tuple>',
    `  <note>${note}</note>`,
    '</presence>',
    '',
  ].join('\r\n');
}

/** The next NOTIFY of `event` after index `from` matching `pred`. */
async function nextNotify(
  event: string,
  from: number,
  pred: (n: Notify) => boolean,
  what: string,
): Promise<Notify> {
  return until(
    what,
    () =>
      notifies.slice(from).find((n) => (hdr(n.msg, 'event') ?? '').startsWith(event) && pred(n)),
    5000,
    20,
    () =>
      notifies
        .slice(from)
        .map((n) => `${hdr(n.msg, 'event')}: ${n.msg.body.replace(/\s+/g, ' ').slice(0, 300)}`)
        .join(' | '),
  );
}

/** SUBSCRIBE as the watcher; returns the 200 and the dialog for refreshes. */
async function subscribe(event: string, target: string, accept: string) {
  const callId = `sub-${event}-${Date.now()}@test`;
  const fromTag = `w${Date.now().toString(36)}`;
  const r = await watcher.request('SUBSCRIBE', {
    uri: `sip:${target}@localhost`,
    callId,
    fromTag,
    headers: [`Event: ${event}`, 'Expires: 600', `Accept: ${accept}`],
  });
  const dialog: Dialog = {
    callId,
    localTag: fromTag,
    remoteTag: tagOf(hdr(r.final, 'to')) ?? '',
    localUri: `sip:${watcher.user}@localhost`,
    remoteUri: `sip:${target}@localhost`,
    remoteTarget: uriOf(hdr(r.final, 'contact') ?? `sip:127.0.0.1:${stack.ports.sip}`),
    routeSet: [],
    localSeq: r.inviteCseq,
  };
  return { r, dialog };
}

describe('BLF: the dialog package of a colleague', () => {
  let blf: Dialog;

  it('accepts an authenticated SUBSCRIBE (407, then 200) and sends an initial NOTIFY with no call', async () => {
    const from = notifies.length;
    const { r, dialog } = await subscribe('dialog', '1002', 'application/dialog-info+xml');
    blf = dialog;
    expect(r.provisional.length + 1).toBeGreaterThan(0);
    expect(r.final.status).toBe(200);
    expect(hdr(r.final, 'expires')).toBeDefined();
    const first = await nextNotify('dialog', from, () => true, 'the initial dialog NOTIFY');
    expect(hdr(first.msg, 'subscription-state')).toMatch(/^active/);
    expect(hdr(first.msg, 'content-type')).toMatch(/application\/dialog-info\+xml/);
    expect(first.msg.body).toMatch(/<dialog-info[^>]*entity="sip:1002@localhost"/);
    // idle: no dialog at all, or only ended ones
    expect(dialogStates(first.msg.body).filter((s) => s !== 'terminated')).toEqual([]);
  });

  it('follows a call to 1002: ringing → early, answered → confirmed, hung up → terminated', async () => {
    expect((await callee.register()).final.status).toBe(200);
    let incoming: IncomingRequest | undefined;
    let ringingAt = 0;
    callee.onRequest((req) => {
      if (req.msg.method === 'INVITE') {
        if (incoming) return; // a retransmission: the 180 below already went
        incoming = req;
        ringingAt = Date.now();
        req.reply(180, 'Ringing', { headers: [`Contact: ${callee.contact}`] });
      } else if (req.msg.method !== 'ACK') {
        req.reply(200, 'OK');
      }
    });

    const from = notifies.length;
    const call = caller.request('INVITE', {
      uri: 'sip:1002@localhost',
      body: plainSdp(BASE + 60),
      timeoutMs: 15000,
    });
    const early = await nextNotify(
      'dialog',
      from,
      (n) => dialogStates(n.msg.body).includes('early'),
      "1002's BLF showing ringing (early)",
    );
    console.log(`BLF: 180 Ringing sent by 1002 → NOTIFY early at 1001: ${early.at - ringingAt} ms`);
    expect(early.msg.body).toMatch(/direction="recipient"/);

    const answeredAt = Date.now();
    incoming!.reply(200, 'OK', { body: plainSdp(BASE + 64) });
    const answered = await call;
    expect(answered.final.status).toBe(200);
    const fromConfirmed = notifies.indexOf(early) + 1;
    const confirmed = await nextNotify(
      'dialog',
      fromConfirmed,
      (n) => dialogStates(n.msg.body).includes('confirmed'),
      "1002's BLF showing busy (confirmed)",
    );
    console.log(
      `BLF: 200 OK sent by 1002 → NOTIFY confirmed at 1001: ${confirmed.at - answeredAt} ms`,
    );

    const hangupAt = Date.now();
    const bye = await caller.inDialog(answered.dialog!, 'BYE');
    expect(bye.status).toBe(200);
    const idle = await nextNotify(
      'dialog',
      notifies.indexOf(confirmed) + 1,
      (n) => !dialogStates(n.msg.body).some((s) => s === 'early' || s === 'confirmed'),
      "1002's BLF back to idle (terminated)",
    );
    console.log(`BLF: BYE → NOTIFY idle at 1001: ${idle.at - hangupAt} ms`);
    expect(dialogStates(idle.msg.body).every((s) => s === 'terminated')).toBe(true);
  });

  it('refreshes and ends the subscription inside its dialog (Expires: 0 → terminated)', async () => {
    const from = notifies.length;
    const refreshed = await watcher.inDialog(blf, 'SUBSCRIBE', {
      headers: ['Event: dialog', 'Expires: 600', 'Accept: application/dialog-info+xml'],
    });
    expect(refreshed.status).toBe(200);
    const ended = await watcher.inDialog(blf, 'SUBSCRIBE', {
      headers: ['Event: dialog', 'Expires: 0', 'Accept: application/dialog-info+xml'],
    });
    expect(ended.status).toBe(200);
    const last = await nextNotify(
      'dialog',
      from,
      (n) => /^terminated/.test(hdr(n.msg, 'subscription-state') ?? ''),
      'the final NOTIFY (Subscription-State: terminated)',
    );
    expect(last.msg.body).toMatch(/dialog-info/);
  });
});

describe('presence: PUBLISH from a softphone, NOTIFY to its watchers', () => {
  it("carries 1002's PIDF (open, then closed) to 1001", async () => {
    const entity = 'sip:1002@localhost';
    const published = await callee.request('PUBLISH', {
      uri: entity,
      headers: ['Event: presence', 'Expires: 600'],
      body: pidf(entity, 'open', 'Available'),
      contentType: 'application/pidf+xml',
    });
    expect(published.final.status).toBe(200);
    const etag = hdr(published.final, 'sip-etag');
    expect(etag).toBeDefined();

    const from = notifies.length;
    const { r } = await subscribe('presence', '1002', 'application/pidf+xml');
    expect(r.final.status).toBe(200);
    const open = await nextNotify(
      'presence',
      from,
      (n) => basicStatus(n.msg.body).includes('open'),
      'a presence NOTIFY with <basic>open</basic>',
    );
    expect(open.msg.body).toContain('Available');

    const changedAt = Date.now();
    const closed = await callee.request('PUBLISH', {
      uri: entity,
      headers: ['Event: presence', 'Expires: 600', `SIP-If-Match: ${etag}`],
      body: pidf(entity, 'closed', 'Away'),
      contentType: 'application/pidf+xml',
    });
    expect(closed.final.status).toBe(200);
    const away = await nextNotify(
      'presence',
      notifies.indexOf(open) + 1,
      (n) => basicStatus(n.msg.body).includes('closed'),
      'a presence NOTIFY with <basic>closed</basic>',
    );
    console.log(`presence: PUBLISH closed → NOTIFY at 1001: ${away.at - changedAt} ms`);
    expect(basicStatus(away.msg.body)).toEqual(['closed']);
    expect(away.msg.body).toContain('Away');
  });
});

/**
 * A WSS client (1004) subscribed to 1003's presence, its initial NOTIFY in;
 * `contact` overrides the Contact it sends. Then `publish` PUBLISHes a PIDF for
 * 1003 and waits until a NOTIFY over the WebSocket matches.
 */
async function browserWatching1003(contact?: string) {
  const browser = new SipUA(await wsTransport(`wss://127.0.0.1:${stack.ports.http}/ws`), {
    user: '1004',
    password: DEMO['1004'],
  });
  if (contact) Object.defineProperty(browser, 'contact', { get: () => contact });
  const got: SipMessage[] = [];
  browser.onRequest((req) => {
    if (req.msg.method === 'NOTIFY') got.push(req.msg);
    req.reply(200, 'OK');
  });
  const entity = 'sip:1003@localhost';
  try {
    const r = await browser.request('SUBSCRIBE', {
      uri: entity,
      headers: ['Event: presence', 'Expires: 600', 'Accept: application/pidf+xml'],
    });
    expect(r.final.status).toBe(200);
    await until('the initial presence NOTIFY over the WebSocket', () => got.length > 0, 5000);
  } catch (err) {
    await browser.close();
    throw err;
  }
  const publish = async (body: string, what: string, match: (n: SipMessage) => boolean) => {
    const published = await caller.request('PUBLISH', {
      uri: entity,
      headers: ['Event: presence', 'Expires: 600'],
      body,
      contentType: 'application/pidf+xml',
    });
    expect(published.final.status).toBe(200);
    return until(
      what,
      () => got.find(match),
      5000,
      20,
      () => got.map((n) => n.body.replace(/\s+/g, ' ')).join(' | '),
    );
  };
  return { browser, entity, publish };
}

describe("a browser watching over WSS (the softphone's transport)", () => {
  it('gets its NOTIFYs over its own WebSocket, also after a later PUBLISH', async () => {
    const { browser, entity, publish } = await browserWatching1003();
    try {
      const back = await publish(
        pidf(entity, 'open', 'Back at my desk'),
        'a NOTIFY carrying the new note over the WebSocket',
        (n) => n.body.includes('Back at my desk'),
      );
      expect(basicStatus(back.body)).toContain('open');
    } finally {
      await browser.close();
    }
  });
});

describe('a browser whose SUBSCRIBE Contact is its GRUU (RFC 5627, what SIP.js sends once registered)', () => {
  it('gets its NOTIFYs over its WebSocket all the same (route SUBSCRIBER_CONTACT)', async () => {
    // A GRUU names the user's instance at our domain, not the connection, and
    // carries no transport=ws: Kamailio's presence server would send the
    // NOTIFYs there (over UDP, to ourselves) unless the proxy points it back.
    const { browser, entity, publish } = await browserWatching1003(
      '<sip:1004@localhost;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>',
    );
    try {
      await publish(
        // a tuple id of its own: presence_xml keeps one tuple per id across publications
        pidf(entity, 'open', 'Reached by GRUU').replace('id="softphone"', 'id="gruu"'),
        'a NOTIFY carrying the new tuple over the WebSocket',
        (n) => /<(?:\w+:)?tuple[^>]*id="gruu"/.test(n.body),
      );
    } finally {
      await browser.close();
    }
  });
});

describe('who may subscribe and publish', () => {
  it('challenges a SUBSCRIBE without credentials (407)', async () => {
    const r = await watcher.request('SUBSCRIBE', {
      uri: 'sip:1002@localhost',
      headers: ['Event: dialog', 'Expires: 600'],
      authenticate: false,
    });
    expect(r.final.status).toBe(407);
    expect(hdr(r.final, 'proxy-authenticate')).toMatch(/^Digest /);
  });

  it('refuses a wrong password (403)', async () => {
    const r = await watcher.request('SUBSCRIBE', {
      uri: 'sip:1002@localhost',
      headers: ['Event: dialog', 'Expires: 600'],
      credentials: { user: '1001', password: 'wrong' },
    });
    expect(r.final.status).toBe(403);
  });

  it('refuses a subscription to a user of another domain (403) and to an unknown user (404)', async () => {
    const foreign = await watcher.request('SUBSCRIBE', {
      uri: 'sip:1002@example.org',
      headers: ['Event: dialog', 'Expires: 600'],
    });
    expect(foreign.final.status).toBe(403);
    const unknown = await watcher.request('SUBSCRIBE', {
      uri: 'sip:7777@localhost',
      headers: ['Event: presence', 'Expires: 600'],
    });
    expect(unknown.final.status).toBe(404);
  });

  it("refuses a PUBLISH of someone else's presence (403)", async () => {
    const r = await watcher.request('PUBLISH', {
      uri: 'sip:1002@localhost',
      headers: ['Event: presence', 'Expires: 600'],
      body: pidf('sip:1002@localhost', 'closed', 'spoofed'),
      contentType: 'application/pidf+xml',
    });
    expect(r.final.status).toBe(403);
  });

  it('takes many first subscriptions at once (new watcher rows in SQLite): every one 200', async () => {
    const fourth = await udpUser(stack, '1004', 3);
    try {
      const uas = [watcher, callee, caller, fourth];
      const all = uas.flatMap((ua) =>
        ['1001', '1002', '1003', '1004']
          .filter((u) => u !== ua.user)
          .flatMap((u) =>
            ['presence', 'dialog'].map((event) =>
              ua.request('SUBSCRIBE', {
                uri: `sip:${u}@localhost`,
                headers: [`Event: ${event}`, 'Expires: 60'],
              }),
            ),
          ),
      );
      const codes = (await Promise.all(all)).map((r) => r.final.status);
      expect(codes).toHaveLength(24);
      expect(codes.filter((c) => c !== 200)).toEqual([]);
    } finally {
      await fourth.close();
    }
  });

  it('answers an event package it does not serve with 489 Bad Event', async () => {
    const r = await watcher.request('SUBSCRIBE', {
      uri: 'sip:1002@localhost',
      headers: ['Event: message-summary', 'Expires: 600'],
    });
    expect(r.final.status).toBe(489);
    // watcher info would tell anyone who watches a colleague: not served
    const winfo = await watcher.request('SUBSCRIBE', {
      uri: 'sip:1002@localhost',
      headers: ['Event: presence.winfo', 'Expires: 600'],
    });
    expect(winfo.final.status).toBe(489);
  });
});
