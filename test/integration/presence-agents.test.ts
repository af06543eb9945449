import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from './harness/stack.js';
import { udpUser } from './harness/phones.js';
import { hdr, type SipMessage, type SipUA } from './harness/sipua.js';
import { until } from './harness/wait.js';
import type { ContactCenter } from '../../gateway/src/contactcenter/contactCenter.js';
import { startContactCenterStack } from './harness/carrier.js';

// Agents' contact-center states as presence (issue 8): the gateway's
// call-control tier PUBLISHes each agent's state (gateway/src/contactcenter/
// presence.ts) through Kamailio's presence server, next to what the agent's
// own softphone publishes. A colleague (1001) watching agent 1003's
// `presence` gets NOTIFYs whose PIDF carries the contact center's tuple
// (id "contact-center"): Ready → open, paused with a reason → the reason in
// the note (RPID away), logged off → closed; the softphone's own tuple stays
// in the same document (presence_xml aggregates the two publications).

const BASE = 14000;
let stack: Stack;
let cc: ContactCenter;
let carrier: SipUA;
let watcher: SipUA; // 1001
let agent: SipUA; // 1003

const notifies: { at: number; msg: SipMessage }[] = [];

beforeAll(async () => {
  ({ stack, cc, carrier } = await startContactCenterStack('presence-agents', BASE, {
    queues: [{ name: 'sales', dids: ['+15550100901'], announce: { everySec: 0 } }],
    agents: [{ username: '1003', queues: [{ name: 'sales', penalty: 0 }] }],
    reasonCodes: ['Break', 'lunch'],
  }));
  watcher = await udpUser(stack, '1001', 0);
  agent = await udpUser(stack, '1003', 1);
  watcher.onRequest((req) => {
    if (req.msg.method === 'NOTIFY') notifies.push({ at: Date.now(), msg: req.msg });
    if (req.msg.method !== 'ACK') req.reply(200, 'OK');
  });
}, 60_000);

afterAll(async () => {
  await Promise.all([watcher?.close(), agent?.close(), carrier?.close()]);
  await stack?.stop();
});

/** The contact center's tuple in a PIDF: its basic status, cc:state and note. */
function ccTuple(body: string): { basic: string; state: string; note: string } | undefined {
  const t = /<(?:\w+:)?tuple[^>]*id="contact-center"[^>]*>([\s\S]*?)<\/(?:\w+:)?tuple>/.exec(body);
  if (!t) return undefined;
  const inner = t[1]!;
  return {
    basic: /<(?:\w+:)?basic>\s*(\w+)\s*</.exec(inner)?.[1] ?? '',
    state: /<(?:\w+:)?state>\s*([\w-]+)\s*</.exec(inner)?.[1] ?? '',
    note: /<(?:\w+:)?note[^>]*>([^<]*)</.exec(inner)?.[1] ?? '',
  };
}

async function nextCcNotify(from: number, state: string, what: string) {
  return until(
    what,
    () => notifies.slice(from).find((n) => ccTuple(n.msg.body)?.state === state),
    8000,
    20,
    () =>
      notifies
        .slice(from)
        .map((n) => n.msg.body.replace(/\s+/g, ' ').slice(0, 600))
        .join(' | '),
  );
}

describe("an agent's contact-center state in a colleague's presence", () => {
  it('Ready → open, paused with a reason → the reason in the note, offline → closed', async () => {
    // The agent's softphone publishes its own presence too (its own ETag).
    const entity = `sip:1003@${stack.cfg.domain}`;
    const own = await agent.request('PUBLISH', {
      uri: entity,
      headers: ['Event: presence', 'Expires: 600'],
      body: [
        '<?xml version="1.0" encoding="UTF-8"?>',
        `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${entity}">`,
        '  <tuple id="softphone"><status><basic>open</basic></status></tuple>',
        '</presence>',
        '',
      ].join('\r\n'),
      contentType: 'application/pidf+xml',
    });
    expect(own.final.status).toBe(200);

    const sub = await watcher.request('SUBSCRIBE', {
      uri: `sip:1003@${stack.cfg.domain}`,
      headers: ['Event: presence', 'Expires: 600', 'Accept: application/pidf+xml'],
    });
    expect(sub.final.status).toBe(200);

    let from = notifies.length;
    const readyAt = Date.now();
    cc.setState('1003', 'available');
    const ready = await nextCcNotify(from, 'available', "1003's presence: Ready (open)");
    console.log(`agent presence: Ready → NOTIFY at 1001 in ${ready.at - readyAt} ms`);
    expect(hdr(ready.msg, 'content-type')).toMatch(/application\/pidf\+xml/);
    expect(ccTuple(ready.msg.body)).toMatchObject({ basic: 'open', note: 'Available' });
    // both publications in the one document the watcher gets
    expect(ready.msg.body).toMatch(/<(?:\w+:)?tuple[^>]*id="softphone"/);
    console.log(`aggregated PIDF: ${ready.msg.body.replace(/\r?\n\s*/g, ' ')}`);

    from = notifies.length;
    const pausedAt = Date.now();
    cc.setState('1003', 'not-ready', 'lunch');
    const paused = await nextCcNotify(from, 'not-ready', "1003's presence: Paused: lunch");
    console.log(`agent presence: paused → NOTIFY at 1001 in ${paused.at - pausedAt} ms`);
    expect(ccTuple(paused.msg.body)).toMatchObject({ basic: 'open', note: 'Paused: lunch' });
    expect(paused.msg.body).toMatch(/<(?:\w+:)?away\s*\/>/);
    expect(paused.msg.body).toMatch(/<cc:reason>lunch<\/cc:reason>/);
    console.log(`aggregated PIDF, paused: ${paused.msg.body.replace(/\r?\n\s*/g, ' ')}`);

    from = notifies.length;
    cc.setState('1003', 'offline');
    const offline = await nextCcNotify(from, 'offline', "1003's presence: Offline (closed)");
    expect(ccTuple(offline.msg.body)).toMatchObject({ basic: 'closed', note: 'Offline' });
    // the softphone's own tuple is untouched: still open
    expect(offline.msg.body).toMatch(
      /<(?:\w+:)?tuple[^>]*id="softphone"[^>]*>\s*<(?:\w+:)?status>\s*<(?:\w+:)?basic>open</,
    );
  });
});
