import { describe, it, expect } from 'vitest';
import { openDb } from '../store/db.js';
import { Directory } from '../directory/directory.js';
import { parseConfig } from '../config/load.js';
import { Router, type RequestFacts } from './decide.js';

const cfg = parseConfig({
  sip: { allowedUriDomains: ['partner.example'] },
  trunks: [
    {
      name: 'carrier',
      host: '127.0.0.2',
      port: 5080,
      inboundAddresses: ['127.0.0.2'],
      auth: { username: 'acct', password: 'trunk-secret' },
      prefixes: [''],
    },
    { name: 'uk', host: '127.0.0.3', prefixes: ['+44'], numberFormat: 'e164-no-plus' },
  ],
});
const directory = new Directory(openDb(':memory:'), cfg.domain);
directory.syncFromConfig(cfg);
const router = new Router(cfg, directory);

const invite = (over: Partial<RequestFacts>): RequestFacts => ({
  method: 'INVITE',
  authUser: '1001',
  realm: 'localhost',
  fromUser: '1001',
  ruriUser: '1002',
  ruriHost: 'localhost',
  srcIp: '127.0.0.1',
  proto: 'ws',
  ...over,
});

describe('routing decisions', () => {
  it('challenges a request without credentials', () => {
    expect(router.decide(invite({ authUser: '', realm: '' })).caller).toEqual({
      kind: 'challenge',
    });
  });

  it('refuses unknown users and a From that is not the authenticated user', () => {
    expect(router.decide(invite({ authUser: 'mallory' })).caller).toMatchObject({
      kind: 'reject',
      code: 403,
    });
    expect(router.decide(invite({ fromUser: '1003' })).caller).toMatchObject({
      kind: 'reject',
      code: 403,
    });
    expect(router.decide(invite({ realm: 'other' })).caller).toMatchObject({
      kind: 'reject',
      code: 403,
    });
  });

  it('user to user is local, with the HA1 to check', () => {
    const d = router.decide(invite({}));
    expect(d.caller).toMatchObject({ kind: 'user', username: '1001' });
    expect((d.caller as { ha1: string }).ha1).toMatch(/^[0-9a-f]{32}$/);
    expect(d.target).toEqual({ kind: 'local', username: '1002' });
  });

  it('the echo and tone extensions go to the built-in services', () => {
    expect(router.decide(invite({ ruriUser: '9196' })).target).toEqual({
      kind: 'service',
      service: 'echo',
      ruri: 'sip:echo@127.0.0.1:5090',
    });
    expect(router.decide(invite({ ruriUser: '9198' })).target).toMatchObject({
      kind: 'service',
      service: 'tone',
    });
  });

  it('a national number goes to the trunk as E.164 with caller ID and credentials', () => {
    const d = router.decide(invite({ ruriUser: '(415) 555-0100' }));
    expect(d.target).toEqual({
      kind: 'trunk',
      trunk: 'carrier',
      ruri: 'sip:+14155550100@127.0.0.2:5080',
      du: 'sip:127.0.0.2:5080',
      callerId: '+15550101001',
      codecs: 'PCMU,PCMA',
      auth: { username: 'acct', password: 'trunk-secret' },
    });
    expect(d.direction).toBe('outbound');
  });

  it('the longest prefix wins and the trunk number format applies', () => {
    expect(router.decide(invite({ ruriUser: '011442079460000' })).target).toMatchObject({
      trunk: 'uk',
      ruri: 'sip:442079460000@127.0.0.3:5060',
    });
  });

  it('our own DID dialled from inside stays inside', () => {
    expect(router.decide(invite({ ruriUser: '+15550100100' })).target).toEqual({
      kind: 'local',
      username: '1001',
    });
  });

  it('a trunk reaches DIDs only, without digest', () => {
    const fromCarrier = invite({
      authUser: '',
      realm: '',
      srcIp: '127.0.0.2',
      proto: 'udp',
      fromUser: '+14155550100',
    });
    const d = router.decide({ ...fromCarrier, ruriUser: '15550100100' });
    expect(d.caller).toEqual({ kind: 'trunk', trunk: 'carrier' });
    expect(d.target).toEqual({ kind: 'local', username: '1001' });
    expect(router.decide({ ...fromCarrier, ruriUser: '1002' }).target).toMatchObject({
      kind: 'reject',
      code: 404,
    });
  });

  it('a trunk address over WebSocket is not the trunk', () => {
    expect(router.decide(invite({ authUser: '', srcIp: '127.0.0.2', proto: 'ws' })).caller).toEqual(
      {
        kind: 'challenge',
      },
    );
  });

  it('foreign domains only when the config allows them', () => {
    expect(router.decide(invite({ ruriUser: 'bob', ruriHost: 'partner.example' })).target).toEqual({
      kind: 'uri',
      ruri: 'sip:bob@partner.example',
    });
    expect(
      router.decide(invite({ ruriUser: 'bob', ruriHost: 'evil.example' })).target,
    ).toMatchObject({
      kind: 'reject',
      code: 403,
    });
  });

  it('unknown extension is 404; MESSAGE never goes to a trunk', () => {
    expect(router.decide(invite({ ruriUser: '1999' })).target).toMatchObject({
      kind: 'reject',
      code: 404,
    });
    expect(
      router.decide(invite({ method: 'MESSAGE', ruriUser: '4155550100' })).target,
    ).toMatchObject({
      kind: 'reject',
      code: 403,
    });
  });

  it('REGISTER answers HA1 for the AOR owner, and the same 403 for unknown users and mismatches', () => {
    expect(
      router.registration({ authUser: '1001', realm: 'localhost', aorUser: '1001' }),
    ).toHaveProperty('ha1');
    const unknown = router.registration({
      authUser: 'nobody',
      realm: 'localhost',
      aorUser: 'nobody',
    });
    const mismatch = router.registration({ authUser: '1001', realm: 'localhost', aorUser: '1002' });
    expect(unknown).toEqual({ reject: { code: 403, reason: 'Forbidden' } });
    expect(mismatch).toEqual(unknown);
  });
});

describe('presence decisions (SUBSCRIBE, PUBLISH)', () => {
  const sub = (over: Partial<RequestFacts>) => invite({ method: 'SUBSCRIBE', ...over });

  it('lets a user watch a colleague of the same domain (Kamailio presence answers)', () => {
    const d = router.decide(sub({}));
    expect(d.caller).toMatchObject({ kind: 'user', username: '1001' });
    expect(d.target).toEqual({ kind: 'presence', username: '1002' });
    expect(router.decide(sub({ ruriHost: '127.0.0.1' })).target).toEqual({
      kind: 'presence',
      username: '1002',
    });
  });

  it('refuses another domain (403), an unknown user (404), and a DID or trunk number', () => {
    expect(router.decide(sub({ ruriHost: 'partner.example' })).target).toMatchObject({
      kind: 'reject',
      code: 403,
    });
    expect(router.decide(sub({ ruriUser: '7777' })).target).toMatchObject({
      kind: 'reject',
      code: 404,
    });
    expect(router.decide(sub({ ruriUser: '+15551234567' })).target).toMatchObject({
      kind: 'reject',
      code: 404,
    });
  });

  it('lets a user PUBLISH only their own presence', () => {
    expect(router.decide(sub({ method: 'PUBLISH', ruriUser: '1001' })).target).toEqual({
      kind: 'presence',
      username: '1001',
    });
    expect(router.decide(sub({ method: 'PUBLISH' })).target).toMatchObject({
      kind: 'reject',
      code: 403,
    });
  });

  it("lets the call-control tier PUBLISH a user's presence (agent states), not SUBSCRIBE", () => {
    const cc = (over: Partial<RequestFacts>) =>
      router.decide(sub({ fromCallControl: true, authUser: '', realm: '', ...over }));
    expect(cc({ method: 'PUBLISH', ruriUser: '1002' }).target).toEqual({
      kind: 'presence',
      username: '1002',
    });
    expect(cc({ method: 'PUBLISH', ruriUser: '7777' }).target).toMatchObject({ code: 404 });
    expect(cc({}).target).toMatchObject({ kind: 'reject', code: 405 });
  });

  it('challenges without credentials and refuses presence from a trunk address', () => {
    expect(router.decide(sub({ authUser: '', realm: '' })).caller).toEqual({ kind: 'challenge' });
    const fromTrunk = router.decide(sub({ srcIp: '127.0.0.2', proto: 'udp', authUser: '' }));
    expect(fromTrunk.target).toMatchObject({ kind: 'reject', code: 403 });
  });
});
