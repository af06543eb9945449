import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { useAccountStore, parseClientConfig, buildPhoneConfig, startEarly } from './account';
import { useUiStore } from './ui';
import { useCallsStore } from './calls';
import { useDiagnosticsStore } from './diagnostics';
import { resetCoreServices, setCoreServices } from './core';
import { CLIENT_CONFIG, FakePhone, fakeCore, mockClientConfig } from '../testing/fake-phone';
import { defaultSettings, loadSettings } from '../storage/settings';
import { loadSecret, saveSecret } from '../storage/secrets';

let core: ReturnType<typeof fakeCore>;

beforeEach(() => {
  setActivePinia(createPinia());
  core = fakeCore();
  setCoreServices(core.services);
});
afterEach(() => {
  resetCoreServices();
  vi.unstubAllGlobals();
});

describe('client config', () => {
  it('accepts the gateway answer and rejects junk', () => {
    expect(parseClientConfig(CLIENT_CONFIG)?.demoAccounts).toHaveLength(2);
    expect(parseClientConfig({ domain: 'x', wsUrl: 'http://nope' })).toBeUndefined();
    // A cluster's gateway lists its edges: they become the phone's list.
    expect(
      parseClientConfig({ domain: 'x', wsUrl: 'wss://a/ws', wsUrls: ['wss://a/ws', 'wss://b/ws'] })
        ?.wsUrl,
    ).toBe('wss://a/ws wss://b/ws');
    expect(
      parseClientConfig({ domain: 'x', wsUrl: 'wss://a/ws', wsUrls: ['wss://a/ws', 'tcp://b'] }),
    ).toBeUndefined();
    expect(parseClientConfig('hello')).toBeUndefined();
  });

  it('falls back to the settings page when /api/client-config is unreachable', async () => {
    mockClientConfig(null);
    const account = useAccountStore();
    await account.init();
    expect(account.configState).toBe('unavailable');
    expect(useUiStore().view).toBe('settings');
    expect(core.phones).toHaveLength(0);
  });
});

describe('demo sign-in', () => {
  it('one click creates one Phone configured for the gateway and shows it registered', async () => {
    mockClientConfig();
    const account = useAccountStore();
    await account.init();
    expect(account.demoAccounts.map((d) => d.username)).toEqual(['1001', '1002']);

    expect(await account.signInDemo('1001')).toBe(true);
    expect(core.phones).toHaveLength(1);
    const cfg = core.phones[0]!.config;
    expect(cfg).toMatchObject({
      wsUrl: 'wss://127.0.0.1:8443/ws',
      sipUri: 'sip:1001@localhost',
      authUser: '1001',
      password: 'demo-1001-pw',
      displayName: 'Alice',
      pbxPreset: 'kamailio',
      iceServers: CLIENT_CONFIG.iceServers,
    });
    expect(core.phones[0]!.start).toHaveBeenCalledOnce();
    expect(account.registration).toBe('registered');
    expect(account.connection).toBe('connected');
    expect(account.identity?.uri).toBe('sip:1001@localhost');
    // The demo password is not persisted: it comes from the gateway each time.
    expect(JSON.stringify(localStorage)).not.toContain('demo-1001-pw');
    expect(loadSettings().demoUser).toBe('1001');
    expect(loadSettings().autoLogin).toBe(true);
  });

  it('signs in again by itself after a reload', async () => {
    mockClientConfig();
    const a = useAccountStore();
    await a.init();
    await a.signInDemo('1002');
    setActivePinia(createPinia());
    const again = useAccountStore();
    await again.init();
    expect(again.signedIn).toBe(true);
    expect(core.phones.at(-1)!.config.sipUri).toBe('sip:1002@localhost');
  });

  it('after a reload, a demo user registers without waiting for the gateway config; TURN follows it', async () => {
    mockClientConfig();
    const a = useAccountStore();
    await a.init();
    await a.signInDemo('1002');
    await vi.waitFor(() => expect(a.hasSavedPassword).toBe(true));
    // Reload: the config answers only when the test says so.
    let answer!: () => void;
    vi.stubGlobal(
      'fetch',
      vi.fn(
        () =>
          new Promise<Response>((resolve) => {
            answer = () => resolve(Response.json(CLIENT_CONFIG));
          }),
      ),
    );
    setActivePinia(createPinia());
    const again = useAccountStore();
    const done = again.init();
    await vi.waitFor(() => expect(core.phones).toHaveLength(2));
    const p = core.phones.at(-1)!;
    expect(p.config.password).toBe('demo-1002-pw');
    expect(p.config.iceServers).toEqual([]);
    expect(p.setIceServers).not.toHaveBeenCalled();
    answer();
    await done;
    expect(again.signedIn).toBe(true);
    expect(p.setIceServers).toHaveBeenCalledWith(CLIENT_CONFIG.iceServers);
  });

  it('fans phone events out to the other stores', async () => {
    mockClientConfig();
    // Created up front, as App.vue does: they follow the phone through the session store.
    useCallsStore();
    useDiagnosticsStore();
    const account = useAccountStore();
    await account.init();
    await account.signInDemo('1001');
    const phone = core.phones[0]!;
    phone.emit('registration', { state: 'failed', reason: '403 Forbidden', code: 403 });
    expect(account.registration).toBe('failed');
    expect(account.registrationReason).toBe('403 Forbidden');
    phone.emit('connection', { state: 'disconnected', attempt: 2, nextRetryMs: 4000 });
    expect(account.reconnect).toEqual({ attempt: 2, nextRetryMs: 4000 });
    phone.emit('trace', {
      seq: 1,
      direction: 'sent',
      time: 1,
      firstLine: 'REGISTER sip:localhost SIP/2.0',
      text: 'REGISTER …',
    });
    expect(useDiagnosticsStore().trace).toHaveLength(1);
    phone.ring('sip:1002@localhost', 'Bob');
    expect(useCallsStore().incoming).toHaveLength(1);
    phone.emit('error', { message: 'refresh rejected' });
    expect(useUiStore().toasts.at(-1)?.text).toContain('refresh rejected');
  });

  it('signing out stops the phone, forgets the lines and turns auto sign-in off', async () => {
    mockClientConfig();
    const account = useAccountStore();
    await account.init();
    await account.signInDemo('1001');
    const phone = core.phones[0]!;
    phone.call('1002');
    await account.signOut();
    expect(phone.stop).toHaveBeenCalledOnce();
    expect(account.signedIn).toBe(false);
    expect(account.registration).toBe('unregistered');
    expect(useCallsStore().live).toHaveLength(0);
    expect(loadSettings().autoLogin).toBe(false);
  });
});

describe('own server', () => {
  it('signs in with the decrypted password and the settings’ WebRTC options', async () => {
    mockClientConfig(null);
    const account = useAccountStore();
    const s = defaultSettings();
    await account.saveAccount({
      account: {
        wsUrl: 'wss://pbx.example.com:8089/ws',
        sipUri: 'sip:2001@pbx.example.com',
        authUser: '',
        displayName: '',
        pbxPreset: 'asterisk',
      },
      webrtc: {
        ...s.webrtc,
        relayOnly: true,
        dtmfMode: 'info',
        iceServers: [
          { urls: 'turn:t.example.com:3478 stun:s.example.com', username: 'u', credential: 'pw' },
        ],
      },
      call: s.call,
      autoLogin: false,
      password: 'pbx-secret',
    });
    expect(await account.signIn()).toBe(true);
    expect(core.phones[0]!.config).toMatchObject({
      wsUrl: 'wss://pbx.example.com:8089/ws',
      sipUri: 'sip:2001@pbx.example.com',
      authUser: undefined,
      password: 'pbx-secret',
      pbxPreset: 'asterisk',
      iceTransportPolicy: 'relay',
      dtmfMode: 'info',
      iceServers: [
        {
          urls: ['turn:t.example.com:3478', 'stun:s.example.com'],
          username: 'u',
          credential: 'pw',
        },
      ],
      autoAnswer: false,
    });
  });

  it('refuses to sign in without a password', async () => {
    const account = useAccountStore();
    account.settings.account.wsUrl = 'wss://x/ws';
    account.settings.account.sipUri = 'sip:a@x';
    expect(await account.signIn()).toBe(false);
    expect(account.loginError).toBeTruthy();
    expect(core.phones).toHaveLength(0);
    await saveSecret('password', 'p');
    expect(await account.signIn()).toBe(true);
  });

  it('builds a core config from settings', () => {
    const s = defaultSettings();
    s.account = {
      wsUrl: ' wss://a/ws ',
      sipUri: 'sip:1@a',
      authUser: 'x',
      displayName: 'D',
      pbxPreset: 'freeswitch',
    };
    const cfg = buildPhoneConfig(s, 'pw', [], 'inst');
    expect(cfg.wsUrl).toBe('wss://a/ws');
    expect(cfg.instanceId).toBe('inst');
    expect(cfg.audio).toEqual({
      echoCancellation: true,
      noiseSuppression: true,
      autoGainControl: true,
    });
    expect(cfg.iceTransportPolicy).toBe('all');
  });
});

describe('start-up', () => {
  it('automatic sign-in takes the WebSocket opened while the app booted', async () => {
    mockClientConfig();
    const a = useAccountStore();
    await a.init();
    await a.signInDemo('1001');
    const opened: { url: string; protocols: unknown; readyState: number; close: () => void }[] = [];
    vi.stubGlobal(
      'WebSocket',
      class {
        readyState = 0;
        constructor(
          readonly url: string,
          readonly protocols: unknown,
        ) {
          opened.push(this);
        }
        close() {
          this.readyState = 3;
        }
      },
    );
    // A reload: main.ts calls startEarly() before Vue mounts.
    setActivePinia(createPinia());
    startEarly();
    expect(opened.map((w) => [w.url, w.protocols])).toEqual([['wss://127.0.0.1:8443/ws', 'sip']]);
    await useAccountStore().init();
    const createPhone = core.services.createPhone as ReturnType<typeof vi.fn>;
    const Early = createPhone.mock.calls.at(-1)![2] as new (u: string, p: string) => unknown;
    expect(new Early('wss://127.0.0.1:8443/ws', 'sip')).toBe(opened[0]);
    // Only once: a reconnect opens a new one.
    expect(new Early('wss://127.0.0.1:8443/ws', 'sip')).toBe(opened[1]);
  });

  it('opens nothing early for someone who signs in by hand', () => {
    const ctor = vi.fn();
    vi.stubGlobal('WebSocket', ctor);
    mockClientConfig(null);
    startEarly();
    expect(ctor).not.toHaveBeenCalled();
  });
});

/** Signed out, the gateway's demo accounts loaded (from a clean localStorage). */
async function demoReady(): Promise<ReturnType<typeof useAccountStore>> {
  mockClientConfig();
  const account = useAccountStore();
  await account.init();
  // The start-up tests above leave their early client-config fetch consumed.
  await account.fetchClientConfig();
  return account;
}

describe('the demo password, saved in an idle moment after the sign-in', () => {
  // Earlier tests leave a saved account that would sign in by itself.
  beforeEach(() => localStorage.clear());

  it('is saved for the next automatic sign-in', async () => {
    const account = await demoReady();
    expect(await account.signInDemo('1001')).toBe(true);
    await vi.waitFor(async () => expect(await loadSecret('password')).toBe('demo-1001-pw'));
  });

  it('never overwrites a password saved for another account before that moment', async () => {
    const account = await demoReady();
    expect(await account.signInDemo('1001')).toBe(true);
    // Straight away, before the idle moment: the user's own account and password.
    await account.saveAccount({
      account: {
        wsUrl: 'wss://pbx.example.com:8089/ws',
        sipUri: 'sip:2001@pbx.example.com',
        authUser: '',
        displayName: '',
        pbxPreset: 'asterisk',
      },
      webrtc: defaultSettings().webrtc,
      call: defaultSettings().call,
      autoLogin: false,
      password: 'pbx-secret',
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(await loadSecret('password')).toBe('pbx-secret');
  });
});

describe('the phone view, drawn after the first REGISTER is answered', () => {
  beforeEach(() => localStorage.clear());

  it('waits for the answer, then shows in the next task', async () => {
    const account = await demoReady();
    expect(await account.signInDemo('1001')).toBe(true);
    // the fake phone's start() answered the REGISTER: the view follows in a macrotask
    expect(account.registration).toBe('registered');
    await Promise.resolve();
    expect(account.phoneViewReady).toBe(false);
    await vi.waitFor(() => expect(account.phoneViewReady).toBe(true));
    await account.signOut();
    expect(account.phoneViewReady).toBe(false);
  });

  it('shows after PHONE_VIEW_WAIT_MS when no answer comes (the badge says why)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const account = await demoReady();
      // connected, the REGISTER never answered
      vi.mocked(core.services.createPhone!).mockImplementationOnce(async (config) => {
        const p = new FakePhone(config);
        p.start = vi.fn(async () => p.emit('connection', { state: 'connected' }));
        core.phones.push(p);
        return p;
      });
      expect(await account.signInDemo('1001')).toBe(true);
      expect(account.registration).toBe('registering');
      await vi.advanceTimersByTimeAsync(900);
      expect(account.phoneViewReady).toBe(false);
      await vi.advanceTimersByTimeAsync(200);
      expect(account.phoneViewReady).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
