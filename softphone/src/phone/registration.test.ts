import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeRTCPeerConnection } from './testing/fake-webrtc';
import { PASSWORD, makePhone } from './testing/harness';
import type { Phone } from './phone';

let phone: Phone | undefined;
afterEach(async () => {
  await phone?.stop();
  phone = undefined;
});

describe('registration', () => {
  it('answers the 401 challenge with a correct digest and reports the granted expiry', async () => {
    const h = makePhone();
    phone = h.phone;
    await h.phone.start();
    const registers = h.server.requests('REGISTER');
    expect(registers).toHaveLength(2);
    expect(registers[0]?.header('authorization')).toBeUndefined();
    expect(registers[1]?.header('authorization')).toMatch(/^Digest .*username="1001"/);
    expect(h.phone.registration.state).toBe('registered');
    const states = h.events.registration?.map((e) => e.state);
    expect(states).toEqual(['registering', 'registered']);
    const expiresAt = h.phone.registration.expiresAt ?? 0;
    expect(expiresAt - Date.now()).toBeGreaterThan(290_000);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(300_000);
    // The password never leaves in clear, not even in logs.
    expect(h.server.received.some((m) => m.raw.includes(PASSWORD))).toBe(false);
    expect(h.logs.join('\n')).not.toContain(PASSWORD);
  });
});

const FAKE = {
  toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] as const,
};
const tick = (ms = 1) => vi.advanceTimersByTimeAsync(ms);

describe('registration refresh', () => {
  afterEach(() => vi.useRealTimers());

  it('re-registers at 85 % of the granted expiry and reports the new expiry', async () => {
    vi.useFakeTimers({ toFake: [...FAKE.toFake] });
    const h = makePhone({ registerExpires: 600 }, {}, { grantedExpires: 100 });
    phone = h.phone;
    const started = h.phone.start();
    await tick(10);
    await started;
    expect(h.server.requests('REGISTER')).toHaveLength(2);
    const firstExpiry = h.phone.registration.expiresAt ?? 0;
    expect(firstExpiry - Date.now()).toBeGreaterThan(99_980);
    expect(firstExpiry - Date.now()).toBeLessThanOrEqual(100_000);

    await tick(84_000);
    expect(h.server.requests('REGISTER')).toHaveLength(2);
    await tick(1_100);
    // The refresh is challenged again (fresh transaction) and accepted.
    expect(h.server.requests('REGISTER').length).toBeGreaterThanOrEqual(3);
    await tick(10);
    expect(h.phone.registration.state).toBe('registered');
    expect(h.phone.registration.expiresAt).toBeGreaterThan(firstExpiry);
  });

  it('surfaces a refresh the registrar rejects, and does not retry a 403', async () => {
    vi.useFakeTimers({ toFake: [...FAKE.toFake] });
    const h = makePhone({}, {}, { grantedExpires: 100 });
    phone = h.phone;
    const started = h.phone.start();
    await tick(10);
    await started;
    h.server.handlers.REGISTER = (req, ws) => {
      h.server.reply(ws, req, 403, 'Forbidden', { toTag: 'x' });
      return true;
    };
    await tick(86_000);
    expect(h.phone.registration).toMatchObject({
      state: 'failed',
      code: 403,
      reason: '403 Forbidden',
    });
    expect(h.events.error?.[0]).toMatchObject({ code: 403 });
    const count = h.server.requests('REGISTER').length;
    await tick(120_000);
    expect(h.server.requests('REGISTER').length).toBe(count);
  });

  it('rejects start() when the credentials are refused', async () => {
    const h = makePhone({ password: 'wrong' });
    phone = h.phone;
    await expect(h.phone.start()).rejects.toMatchObject({ name: 'RegistrationError', code: 403 });
    expect(h.phone.registration.state).toBe('failed');
  });
});

describe('reconnect', () => {
  afterEach(() => vi.useRealTimers());

  it('backs off 0.5 s doubling, then reconnects, re-registers and ICE-restarts calls', async () => {
    vi.useFakeTimers({ toFake: [...FAKE.toFake] });
    const h = makePhone();
    phone = h.phone;
    const started = h.phone.start();
    await tick(10);
    await started;
    const call = h.phone.call('1002');
    await tick(50);
    expect(call.state).toBe('established');
    const pc = FakeRTCPeerConnection.instances.find((p) => p.localDescription);
    const invitesBefore = h.server.requests('INVITE').length;
    const registersBefore = h.server.requests('REGISTER').length;

    h.server.acceptConnections = false;
    h.server.socket.drop();
    await tick(1);
    expect(h.phone.connection).toMatchObject({
      state: 'disconnected',
      attempt: 1,
      nextRetryMs: 500,
    });
    expect(h.phone.registration).toMatchObject({
      state: 'unregistered',
      reason: 'connection lost',
    });

    const retries: number[] = [];
    h.phone.on('connection', (e) => {
      if (e.nextRetryMs !== undefined) retries.push(e.nextRetryMs);
    });
    await tick(500 + 1000 + 2000 + 4000 + 5);
    expect(retries).toEqual([1000, 2000, 4000, 8000]);
    expect(h.server.sockets.length).toBe(5); // first connection + 4 failed attempts

    h.server.acceptConnections = true;
    await tick(8000 + 50);
    expect(h.phone.connection.state).toBe('connected');
    expect(h.phone.registration.state).toBe('registered');
    expect(h.server.requests('REGISTER').length).toBeGreaterThan(registersBefore);
    const reinvite = h.server.requests('INVITE')[invitesBefore];
    expect(reinvite?.header('call-id')).toBe(h.server.requests('INVITE')[0]?.header('call-id'));
    expect(pc?.offerOptions.at(-1)).toEqual({ iceRestart: true });
    expect(reinvite?.body).toContain('a=ice-ufrag:ufrag1');
    expect(call.state).toBe('established');
  });

  it('stop() ends the retries', async () => {
    vi.useFakeTimers({ toFake: [...FAKE.toFake] });
    const h = makePhone();
    phone = h.phone;
    const started = h.phone.start();
    await tick(10);
    await started;
    h.server.acceptConnections = false;
    h.server.socket.drop();
    await tick(1);
    await h.phone.stop();
    const sockets = h.server.sockets.length;
    await tick(60_000);
    expect(h.server.sockets.length).toBe(sockets);
    expect(h.phone.connection.state).toBe('disconnected');
  });
});

describe('contacts and keep-alive', () => {
  afterEach(() => vi.useRealTimers());

  it('gives each tab of the same user its own Contact and +sip.instance', async () => {
    const a = makePhone();
    const b = makePhone();
    await a.phone.start();
    await b.phone.start();
    const contact = (h: typeof a) => h.server.requests('REGISTER')[1]?.header('contact') ?? '';
    const uri = (c: string) => /<([^>]+)>/.exec(c)?.[1];
    const instance = (c: string) => /\+sip\.instance="<urn:uuid:([^>]+)>"/.exec(c)?.[1];
    expect(uri(contact(a))).not.toBe(uri(contact(b)));
    expect(instance(contact(a))).toBeTruthy();
    expect(instance(contact(a))).not.toBe(instance(contact(b)));
    expect(contact(a)).not.toContain('reg-id');
    await a.phone.stop();
    await b.phone.stop();
  });

  it('sends CRLF keep-alives at the preset interval (generic: 30 s), none for Kamailio', async () => {
    vi.useFakeTimers({ toFake: [...FAKE.toFake] });
    const g = makePhone({ pbxPreset: 'generic' });
    phone = g.phone;
    const started = g.phone.start();
    await tick(10);
    await started;
    await tick(90_000);
    expect(g.server.keepAlives).toBe(3);
    await g.phone.stop();

    const k = makePhone({ pbxPreset: 'kamailio' });
    phone = k.phone;
    const startedK = k.phone.start();
    await tick(10);
    await startedK;
    await tick(90_000);
    expect(k.server.keepAlives).toBe(0);
  });

  it('unregisters (expires=0) on stop()', async () => {
    const h = makePhone();
    await h.phone.start();
    await h.phone.stop();
    const last = h.server.requests('REGISTER').at(-1);
    expect(last?.header('contact')).toMatch(/expires=0/);
    expect(h.server.bindings.size).toBe(0);
    expect(h.phone.registration.state).toBe('unregistered');
  });
});
