// The account: settings (localStorage) and secrets (encrypted, IndexedDB), the
// gateway's client configuration, sign-in/out, and registration + connection
// state. Owns the single Phone instance and hands it to the session store,
// through which the other stores (calls, contacts, diagnostics, agent) follow
// its events; this store imports none of them.
import { defineStore } from 'pinia';
import { computed, markRaw, ref, shallowRef, watch } from 'vue';
import type {
  ConnectionState,
  IceServerConfig,
  PhoneConfig,
  RegistrationState,
  WebSocketConstructor,
} from '../phone';
import { i18n } from '../i18n';
import { deleteSecret, loadSecret, saveSecret } from '../storage/secrets';
import { whenIdle } from '../phone/idle';
import {
  loadSettings,
  saveSettings,
  type AccountSettings,
  type CallSettings,
  type IceServerSetting,
  type StoredSettings,
  type WebRtcSettings,
} from '../storage/settings';
import { coreServices, loadCore, type PhoneLike } from './core';
import { useDevicesStore } from './devices';
import { useSessionStore } from './session';
import { useUiStore } from './ui';

export interface DemoAccount {
  username: string;
  password: string;
  displayName: string;
}

/** GET /api/client-config from the gateway that serves this page. */
export interface ClientConfig {
  domain: string;
  wsUrl: string;
  iceServers: RTCIceServer[];
  demoAccounts: DemoAccount[];
  services: { echo: string; tone: string };
}

const str = (v: unknown): v is string => typeof v === 'string';

export function parseClientConfig(raw: unknown): ClientConfig | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  // A cluster's gateway lists its edges in wsUrls (the first is this node's).
  const edges = Array.isArray(r.wsUrls) ? r.wsUrls.filter(str) : [];
  const wsUrl = edges.length > 0 ? edges.join(' ') : r.wsUrl;
  if (!str(r.domain) || !str(wsUrl) || !wsUrls(wsUrl).every((u) => WS_URL_RE.test(u)))
    return undefined;
  const demo = Array.isArray(r.demoAccounts) ? r.demoAccounts : [];
  const ice = Array.isArray(r.iceServers) ? r.iceServers : [];
  const services = (typeof r.services === 'object' && r.services) as
    Record<string, unknown> | false;
  return {
    domain: r.domain,
    wsUrl,
    iceServers: ice.filter(
      (s): s is RTCIceServer =>
        typeof s === 'object' && s !== null && (str(s.urls) || Array.isArray(s.urls)),
    ),
    demoAccounts: demo
      .filter(
        (d): d is DemoAccount =>
          typeof d === 'object' && d !== null && str(d.username) && str(d.password),
      )
      .map((d) => ({ ...d, displayName: str(d.displayName) ? d.displayName : d.username })),
    services: {
      echo: services && str(services.echo) ? services.echo : '',
      tone: services && str(services.tone) ? services.tone : '',
    },
  };
}

const CLIENT_CONFIG_URL = 'api/client-config';
let earlyConfig: Promise<Response> | undefined;
/** The saved password, being decrypted since start-up (automatic sign-in). */
let earlySecret: Promise<string | undefined> | undefined;
/** The SIP WebSocket opened while the app boots, for automatic sign-in. */
let earlySocket: { url: string; ws: WebSocket; timer: ReturnType<typeof setTimeout> } | undefined;

/**
 * Called by main.ts before Vue mounts: sends GET api/client-config, and when
 * this browser signs in by itself, opens the SIP WebSocket already (the
 * account store's first fetchClientConfig() and Phone take them). A socket
 * nobody takes is closed after 15 s.
 */
export function startEarly(): void {
  if (typeof fetch === 'function') {
    // Plain GET, as index.html's <link rel="preload">, so the preloaded response is
    // the one used (the gateway sends it with Cache-Control: no-store).
    earlyConfig = fetch(CLIENT_CONFIG_URL);
    earlyConfig.catch(() => undefined);
  }
  const s = loadSettings();
  if (s.autoLogin && s.account.sipUri) {
    openEarlySocket(s.account.wsUrl);
    // IndexedDB and the decryption run while the scripts are evaluated.
    earlySecret = loadSecret(SECRET_PASSWORD).catch(() => undefined);
  }
}

/** Starts the SIP WebSocket's handshake now; the next Phone created for that URL takes it. */
function openEarlySocket(wsUrl: string): void {
  // The first edge: the one the Phone tries first.
  const url = wsUrls(wsUrl)[0] ?? '';
  if (earlySocket || !WS_URL_RE.test(url) || typeof WebSocket !== 'function') return;
  try {
    const ws = new WebSocket(url, 'sip');
    earlySocket = { url, ws, timer: setTimeout(dropEarlySocket, 15_000) };
  } catch {
    // The phone connects by itself.
  }
}

function dropEarlySocket(): void {
  if (!earlySocket) return;
  clearTimeout(earlySocket.timer);
  earlySocket.ws.close(1000);
  earlySocket = undefined;
}

/** A WebSocket constructor that hands out the early socket once (same URL, not closed). */
function takeEarlySocket(wsUrl: string): WebSocketConstructor | undefined {
  const early = earlySocket;
  if (!early) return undefined;
  earlySocket = undefined;
  clearTimeout(early.timer);
  if (early.url !== wsUrls(wsUrl)[0] || early.ws.readyState > 1) {
    early.ws.close(1000);
    return undefined;
  }
  let first: WebSocket | undefined = early.ws;
  function Early(u: string | URL, protocols?: string | string[]): WebSocket {
    const ws = first;
    first = undefined;
    return ws ?? new WebSocket(u, protocols);
  }
  return Early as unknown as WebSocketConstructor;
}

export const SIP_URI_RE = /^sips?:[^@\s;]+@[^\s@;]+(;\S*)?$/i;
export const WS_URL_RE = /^wss?:\/\/[^\s/]+/i;

/**
 * Splits "wss://a/ws wss://b/ws" (a cluster's edges, spaces or commas between)
 * into URLs: the core's rule (phone/config.ts splitWsUrls), here so that the
 * main chunk need not load the core for it.
 */
export function wsUrls(s: string): string[] {
  return s.split(/[\s,]+/).filter(Boolean);
}
export const ICE_URL_RE = /^(stuns?|turns?):\S+$/i;

/** Splits "turn:a?transport=udp, turn:b" into URLs. */
export function iceUrls(setting: string): string[] {
  return setting
    .split(/[\s,]+/)
    .map((u) => u.trim())
    .filter(Boolean);
}

/** Everything the core needs, from the settings and the (decrypted) password. */
export function buildPhoneConfig(
  s: StoredSettings,
  password: string,
  iceServers: IceServerConfig[],
  instanceId?: string,
): PhoneConfig {
  const w = s.webrtc;
  return {
    wsUrl: s.account.wsUrl.trim(),
    sipUri: s.account.sipUri.trim(),
    authUser: s.account.authUser.trim() || undefined,
    password,
    displayName: s.account.displayName.trim() || undefined,
    pbxPreset: s.account.pbxPreset,
    iceServers,
    iceTransportPolicy: w.relayOnly ? 'relay' : 'all',
    bundlePolicy: w.bundlePolicy,
    rtcpMuxPolicy: w.rtcpMuxPolicy,
    iceCandidatePoolSize: w.iceCandidatePoolSize,
    iceGatheringTimeoutMs: w.iceGatheringTimeoutMs,
    audio: {
      echoCancellation: w.echoCancellation,
      noiseSuppression: w.noiseSuppression,
      autoGainControl: w.autoGainControl,
    },
    dtmfMode: w.dtmfMode,
    // The core answers by itself; switched live with setAutoAnswer (setCallSetting).
    autoAnswer: s.call.autoAnswer,
    instanceId,
  };
}

/** One +sip.instance per tab, kept across reloads of that tab (the registrar then replaces the binding). */
function tabInstanceId(): string | undefined {
  try {
    const key = 'softphone.instance';
    let id = sessionStorage.getItem(key);
    if (!id && typeof crypto.randomUUID === 'function') {
      id = crypto.randomUUID();
      sessionStorage.setItem(key, id);
    }
    return id ?? undefined;
  } catch {
    return undefined;
  }
}

/** A User Timing mark (`softphone:<name>`): where start-up time goes, read by the benchmark. */
export function mark(name: string): void {
  try {
    globalThis.performance?.mark?.(`softphone:${name}`);
  } catch {
    // Marks are a diagnostic nicety.
  }
}

const SECRET_PASSWORD = 'password';
/** The longest the phone view waits for the first REGISTER's answer (then it shows the badge's state). */
const PHONE_VIEW_WAIT_MS = 1000;
const SECRET_ICE = 'ice-credentials';

export const useAccountStore = defineStore('account', () => {
  const settings = ref<StoredSettings>(loadSettings());
  const clientConfig = ref<ClientConfig | undefined>();
  const configState = ref<'loading' | 'ready' | 'unavailable'>('loading');
  const hasSavedPassword = ref(false);
  const registration = ref<RegistrationState>('unregistered');
  const registrationReason = ref<string | undefined>();
  const registrationCode = ref<number | undefined>();
  const connection = ref<ConnectionState>('disconnected');
  const reconnect = ref<{ attempt: number; nextRetryMs: number } | undefined>();
  const signingIn = ref(false);
  const loginError = ref<string | undefined>();
  const phone = shallowRef<PhoneLike | undefined>();
  /** The AOR and name we are signed in with. */
  const identity = ref<{ uri: string; displayName: string; domain: string } | undefined>();
  let unsubscribe: (() => void)[] = [];
  /** The saved password's decryption, started by init() and taken by the first signIn(). */
  let savedPassword: Promise<string | undefined> | undefined;

  const signedIn = computed(() => phone.value !== undefined);
  const registered = computed(() => registration.value === 'registered');
  /**
   * Signed in and the first REGISTER answered (either way): what the sign-in
   * does not need (BLF, presence) starts then, so it never competes with the
   * WebSocket handshake and REGISTER for the main thread.
   */
  const settled = computed(() => signedIn.value && registration.value !== 'registering');
  /**
   * The first idle moment after `settled` (BLF starts then; see App.vue); it
   * stays true until sign-out, so a reconnect's REGISTER does not hide the BLF.
   */
  const idleAfterSignIn = ref(false);
  /**
   * The signed-in phone view is drawn in the task after the first REGISTER's
   * answer (or PHONE_VIEW_WAIT_MS after the sign-in when none comes): drawn
   * as soon as the phone existed, its first render (~25 ms of main thread,
   * mostly first-run compilation; BENCH_PROFILE=1) ran between the REGISTER
   * and its 401 and delayed the registration, which is what makes the user
   * reachable, by as much. Until then the sign-in form shows it is busy.
   */
  const phoneViewReady = ref(false);
  let phoneViewWait: ReturnType<typeof setTimeout> | undefined;
  const showPhoneView = () => {
    clearTimeout(phoneViewWait);
    if (signedIn.value) phoneViewReady.value = true;
  };
  watch(settled, (now) => {
    if (!now) return;
    // a macrotask: the badge's change is applied (and observed) first
    if (!phoneViewReady.value) setTimeout(showPhoneView, 0);
    if (!idleAfterSignIn.value) whenIdle(() => (idleAfterSignIn.value = signedIn.value));
  });
  watch(signedIn, (now) => {
    clearTimeout(phoneViewWait);
    if (now) phoneViewWait = setTimeout(showPhoneView, PHONE_VIEW_WAIT_MS);
    else idleAfterSignIn.value = phoneViewReady.value = false;
  });
  const hasAccount = computed(
    () => !!settings.value.account.wsUrl && !!settings.value.account.sipUri,
  );
  const demoAccounts = computed(() => clientConfig.value?.demoAccounts ?? []);

  const t = (key: string, params?: Record<string, unknown>) =>
    params ? i18n.global.t(key, params) : i18n.global.t(key);

  function persist(): void {
    saveSettings(settings.value);
  }

  async function fetchClientConfig(timeoutMs = 4000): Promise<void> {
    configState.value = 'loading';
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), timeoutMs);
    try {
      const early = earlyConfig;
      earlyConfig = undefined;
      const res = await (early
        ? Promise.race([
            early,
            new Promise<never>((_, reject) =>
              ctrl.signal.addEventListener('abort', () => reject(new Error('timeout'))),
            ),
          ])
        : fetch(CLIENT_CONFIG_URL, {
            signal: ctrl.signal,
            headers: { Accept: 'application/json' },
            cache: 'no-store',
          }));
      const parsed = res.ok ? parseClientConfig(await res.json()) : undefined;
      clientConfig.value = parsed;
      configState.value = parsed ? 'ready' : 'unavailable';
    } catch {
      clientConfig.value = undefined;
      configState.value = 'unavailable';
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Start-up: gateway config, saved password, automatic sign-in. The config
   * request, the secret's decryption and the core chunk all start at once;
   * automatic sign-in waits only for what it needs.
   */
  async function init(): Promise<void> {
    mark('init');
    const s0 = settings.value;
    // Someone who signs in by themselves needs the core now, not when the page is idle.
    if (s0.autoLogin && hasAccount.value) prefetchCore();
    const secret = earlySecret ?? loadSecret(SECRET_PASSWORD).catch(() => undefined);
    earlySecret = undefined;
    const config = fetchClientConfig().then(() => mark('client-config'));
    void secret.then((v) => {
      hasSavedPassword.value = v !== undefined;
      mark('secret');
    });
    savedPassword = secret;
    // Automatic sign-in does not wait for what it does not need. A demo user's
    // password comes with the gateway's config and is also saved here: whichever
    // is ready first (decrypting can be the slower); anyone else needs only the
    // saved password. TURN credentials from a config that came later are handed
    // to the phone then.
    if (s0.autoLogin && hasAccount.value) {
      if (s0.demoUser)
        await Promise.race([config, secret.then((v) => (v === undefined ? config : undefined))]);
      const offered = () => demoAccounts.value.some((d) => d.username === settings.value.demoUser);
      const refused = () =>
        !!settings.value.demoUser && configState.value === 'ready' && !offered();
      if (!refused()) {
        const [signedIn] = await Promise.all([signIn(), config]);
        if (signedIn && settings.value.demoUser) {
          // The gateway no longer offers this demo user.
          if (refused()) await signOut();
          else if (clientConfig.value) phone.value?.setIceServers(clientConfig.value.iceServers);
        }
      }
      await config;
    } else {
      await config;
      if (configState.value === 'unavailable' && !hasAccount.value) useUiStore().go('settings');
    }
    dropEarlySocket();
  }

  async function iceServersFromSettings(): Promise<IceServerConfig[]> {
    const creds = await loadIceCredentials();
    return settings.value.webrtc.iceServers
      .map((s, i) => ({ ...s, credential: creds[i] ?? '' }))
      .filter((s) => iceUrls(s.urls).length > 0)
      .map((s) => ({
        urls: iceUrls(s.urls),
        ...(s.username ? { username: s.username } : {}),
        ...(s.credential ? { credential: s.credential } : {}),
      }));
  }

  async function loadIceCredentials(): Promise<string[]> {
    const json = await loadSecret(SECRET_ICE).catch(() => undefined);
    try {
      const v: unknown = json ? JSON.parse(json) : [];
      return Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : '')) : [];
    } catch {
      return [];
    }
  }

  /** Signs in with the saved account (or a demo user of this gateway). */
  async function signIn(opts: { password?: string } = {}): Promise<boolean> {
    if (phone.value || signingIn.value) return false;
    signingIn.value = true;
    loginError.value = undefined;
    mark('signin');
    const ui = useUiStore();
    try {
      const s = settings.value;
      const demo = s.demoUser
        ? demoAccounts.value.find((d) => d.username === s.demoUser)
        : undefined;
      // The WebSocket handshake overlaps everything below; the Phone takes the socket.
      openEarlySocket(s.account.wsUrl);
      // What does not depend on each other runs at once: the core chunk (and
      // the device manager in it), the password's and TURN credentials' decryption.
      prefetchCore();
      const devicesP = useDevicesStore()
        .managerSoon()
        .catch(() => undefined);
      const given = opts.password ?? demo?.password;
      const stored = given ? undefined : (savedPassword ?? loadSecret(SECRET_PASSWORD));
      savedPassword = undefined;
      const iceP =
        demo && clientConfig.value
          ? Promise.resolve(clientConfig.value.iceServers)
          : iceServersFromSettings();
      const password = given ?? (await stored) ?? '';
      if (!password) throw new Error(t('login.needPassword'));
      const [iceServers, devices] = await Promise.all([iceP, devicesP]);
      mark('core-ready');
      const config = buildPhoneConfig(s, password, iceServers, tabInstanceId());
      const p = markRaw(
        await coreServices().createPhone(config, devices, takeEarlySocket(config.wsUrl)),
      );
      mark('phone-created');
      phone.value = p;
      identity.value = {
        uri: config.sipUri,
        displayName: config.displayName ?? '',
        domain: /@([^;>:]+)/.exec(config.sipUri)?.[1] ?? '',
      };
      wire(p);
      useSessionStore().attach(p);
      registration.value = 'registering';
      try {
        await p.start();
      } catch (e) {
        // The phone keeps reconnecting on its own; the badge shows why it is not registered.
        registrationReason.value ??= e instanceof Error ? e.message : String(e);
        if (registration.value === 'registering') registration.value = 'failed';
      }
      if (!s.autoLogin) {
        s.autoLogin = true;
        persist();
      }
      return true;
    } catch (e) {
      dropEarlySocket();
      const msg = e instanceof Error ? e.message : String(e);
      loginError.value = msg;
      ui.toast(t('errors.loginFailed', { error: msg }));
      return false;
    } finally {
      signingIn.value = false;
    }
  }

  /** One click: a demo user of the gateway that served this page. */
  async function signInDemo(username: string): Promise<boolean> {
    const cc = clientConfig.value;
    const demo = cc?.demoAccounts.find((d) => d.username === username);
    if (!cc || !demo) return false;
    if (phone.value) await signOut();
    settings.value.account = {
      wsUrl: cc.wsUrl,
      sipUri: `sip:${demo.username}@${cc.domain}`,
      authUser: demo.username,
      displayName: demo.displayName,
      pbxPreset: 'kamailio',
    };
    settings.value.demoUser = demo.username;
    settings.value.autoLogin = true;
    persist();
    // Saved (encrypted, like any password) so the next automatic sign-in need not
    // wait for the gateway's config; in an idle moment (the key and IndexedDB
    // transaction took 12 ms of main thread during the sign-in).
    // Only if the saved settings still name this demo account by then: a
    // password saved for another account meanwhile (here or in another tab)
    // must not be overwritten.
    whenIdle(() => {
      if (loadSettings().demoUser !== demo.username) return;
      void saveSecret(SECRET_PASSWORD, demo.password).then(
        () => (hasSavedPassword.value = true),
        () => undefined,
      );
    }, 2000);
    requestNotificationPermission();
    return signIn();
  }

  function requestNotificationPermission(): void {
    if (!settings.value.call.notifications) return;
    const N = globalThis.Notification;
    if (N && N.permission === 'default') void N.requestPermission().catch(() => undefined);
  }

  /**
   * Signs out. A user's sign-out turns automatic sign-in off; signing in again
   * right after (Settings' "Save and sign in") passes `keepAutoLogin`.
   */
  async function signOut(opts: { keepAutoLogin?: boolean } = {}): Promise<void> {
    const p = phone.value;
    if (!p) return;
    if (!opts.keepAutoLogin) {
      settings.value.autoLogin = false;
      persist();
    }
    try {
      await p.stop();
    } finally {
      for (const u of unsubscribe) u();
      unsubscribe = [];
      phone.value = undefined;
      identity.value = undefined;
      registration.value = 'unregistered';
      registrationReason.value = undefined;
      connection.value = 'disconnected';
      reconnect.value = undefined;
      useSessionStore().detach();
    }
  }

  function wire(p: PhoneLike): void {
    const ui = useUiStore();
    unsubscribe = [
      p.on('registration', (ev) => {
        if (ev.state === 'registered') mark('registered');
        registration.value = ev.state;
        registrationReason.value = ev.reason;
        registrationCode.value = ev.code;
      }),
      p.on('connection', (ev) => {
        if (ev.state === 'connected') mark('connected');
        connection.value = ev.state;
        reconnect.value =
          ev.attempt && ev.nextRetryMs !== undefined
            ? { attempt: ev.attempt, nextRetryMs: ev.nextRetryMs }
            : undefined;
      }),
      p.on('error', (e) => ui.toast(t('errors.generic', { error: e.message }))),
    ];
  }

  /** Validates and saves account + WebRTC settings; secrets go encrypted to IndexedDB. */
  async function saveAccount(next: {
    account: AccountSettings;
    webrtc: WebRtcSettings;
    call: CallSettings;
    autoLogin: boolean;
    password?: string;
  }): Promise<void> {
    const accountChanged = JSON.stringify(next.account) !== JSON.stringify(settings.value.account);
    const s: StoredSettings = {
      ...settings.value,
      account: { ...next.account },
      webrtc: {
        ...next.webrtc,
        iceServers: next.webrtc.iceServers.map((x: IceServerSetting) => ({ ...x })),
      },
      call: { ...next.call },
      autoLogin: next.autoLogin,
    };
    // Editing the account by hand leaves demo mode.
    if (accountChanged || next.password) s.demoUser = undefined;
    settings.value = s;
    persist();
    phone.value?.setAutoAnswer(s.call.autoAnswer);
    if (next.password) {
      savedPassword = undefined;
      await saveSecret(SECRET_PASSWORD, next.password);
      hasSavedPassword.value = true;
    }
    const creds = next.webrtc.iceServers.map((x) => x.credential);
    if (creds.some(Boolean)) await saveSecret(SECRET_ICE, JSON.stringify(creds));
    else await deleteSecret(SECRET_ICE);
  }

  async function forgetPassword(): Promise<void> {
    await deleteSecret(SECRET_PASSWORD);
    hasSavedPassword.value = false;
  }

  /** ICE servers for the settings form, credentials decrypted. */
  async function iceServersForEditing(): Promise<IceServerSetting[]> {
    const creds = await loadIceCredentials();
    return settings.value.webrtc.iceServers.map((s, i) => ({ ...s, credential: creds[i] ?? '' }));
  }

  function setCallSetting<K extends keyof CallSettings>(key: K, value: CallSettings[K]): void {
    settings.value.call[key] = value;
    persist();
    if (key === 'autoAnswer') phone.value?.setAutoAnswer(value as boolean);
    if (key === 'notifications' && value) requestNotificationPermission();
  }

  /** The ICE servers a pre-call check should use (gateway TURN for demo users). */
  async function effectiveIceServers(): Promise<RTCIceServer[]> {
    if (settings.value.demoUser && clientConfig.value) return clientConfig.value.iceServers;
    if (!hasAccount.value && clientConfig.value) return clientConfig.value.iceServers;
    return iceServersFromSettings();
  }

  /** Server to test in the pre-call check: the configured one, else the gateway's. */
  const effectiveWsUrl = computed(
    () => settings.value.account.wsUrl || clientConfig.value?.wsUrl || '',
  );
  const effectiveDomain = computed(
    () => /@([^;>:]+)/.exec(settings.value.account.sipUri)?.[1] ?? clientConfig.value?.domain ?? '',
  );

  /**
   * Starts fetching the core chunk without waiting (one-click sign-in is then
   * instant); once it is there and nobody is signing in, compiles the
   * sign-in code paths (core warmUpCode) in an idle moment.
   */
  function prefetchCore(): void {
    void loadCore()
      .then((core) => {
        whenIdle(() => {
          if (!phone.value && !signingIn.value) core.warmUpCode();
        });
      })
      .catch(() => undefined);
  }

  return {
    settings,
    clientConfig,
    configState,
    hasSavedPassword,
    registration,
    registrationReason,
    registrationCode,
    connection,
    reconnect,
    signingIn,
    loginError,
    phone,
    identity,
    signedIn,
    registered,
    settled,
    idleAfterSignIn,
    phoneViewReady,
    hasAccount,
    demoAccounts,
    effectiveWsUrl,
    effectiveDomain,
    fetchClientConfig,
    init,
    signIn,
    signInDemo,
    signOut,
    saveAccount,
    forgetPassword,
    iceServersForEditing,
    setCallSetting,
    effectiveIceServers,
    prefetchCore,
  };
});
