// Settings that are not secret, in localStorage (synchronous, so the first
// render already knows them). Passwords and TURN credentials are NOT here: see
// secrets.ts. Everything read back is validated; anything malformed falls back
// to the default rather than breaking start-up.

export type PbxPresetName = 'kamailio' | 'asterisk' | 'freeswitch' | 'generic';

export interface IceServerSetting {
  urls: string;
  username: string;
  /** Kept only in memory here; persisted encrypted (secret "ice-credentials"). */
  credential: string;
}

export interface AccountSettings {
  wsUrl: string;
  sipUri: string;
  authUser: string;
  displayName: string;
  pbxPreset: PbxPresetName;
}

export interface WebRtcSettings {
  iceServers: IceServerSetting[];
  relayOnly: boolean;
  bundlePolicy: RTCBundlePolicy;
  rtcpMuxPolicy: RTCRtcpMuxPolicy;
  iceCandidatePoolSize: number;
  iceGatheringTimeoutMs: number;
  echoCancellation: boolean;
  noiseSuppression: boolean;
  autoGainControl: boolean;
  dtmfMode: 'rfc4733' | 'info';
}

export interface CallSettings {
  autoAnswer: boolean;
  notifications: boolean;
}

export interface DeviceSettings {
  microphone: string;
  speaker: string;
  ringer: string;
  camera: string;
}

export interface StoredSettings {
  account: AccountSettings;
  webrtc: WebRtcSettings;
  call: CallSettings;
  devices: DeviceSettings;
  /** Sign in again on load with the saved account. */
  autoLogin: boolean;
  /** The saved account is one of the gateway's demo users. */
  demoUser?: string;
  language?: string;
}

const KEY = 'softphone.settings.v1';

export function defaultSettings(): StoredSettings {
  return {
    account: { wsUrl: '', sipUri: '', authUser: '', displayName: '', pbxPreset: 'kamailio' },
    webrtc: {
      iceServers: [],
      relayOnly: false,
      // The core's defaults (src/phone/config.ts); settings.test.ts checks they agree.
      // rtpengine 10.5's SDP toward WebRTC has no BUNDLE group; max-bundle makes Chromium refuse it.
      bundlePolicy: 'balanced',
      rtcpMuxPolicy: 'require',
      // 1: with a larger pool Chromium 156 keeps the old ICE credentials on the first ICE restart.
      iceCandidatePoolSize: 1,
      iceGatheringTimeoutMs: 500,
      echoCancellation: true,
      noiseSuppression: true,
      autoGainControl: true,
      dtmfMode: 'rfc4733',
    },
    call: { autoAnswer: false, notifications: true },
    devices: { microphone: '', speaker: '', ringer: '', camera: '' },
    autoLogin: false,
  };
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Copies from raw every key of defaults whose value has the same primitive type. */
function pick<T extends object>(defaults: T, raw: unknown): T {
  const out: Obj = { ...(defaults as Obj) };
  if (!isObj(raw)) return out as T;
  for (const [k, d] of Object.entries(defaults)) {
    const v = raw[k];
    if (v !== undefined && typeof d === typeof v && !Array.isArray(d)) out[k] = v;
  }
  return out as T;
}

const oneOf = <T extends string>(v: string, allowed: readonly T[], fallback: T): T =>
  (allowed as readonly string[]).includes(v) ? (v as T) : fallback;

export function parseSettings(json: string | null): StoredSettings {
  const d = defaultSettings();
  let raw: unknown;
  try {
    raw = json ? JSON.parse(json) : undefined;
  } catch {
    raw = undefined;
  }
  if (!isObj(raw)) return d;
  const account = pick(d.account, raw.account);
  account.pbxPreset = oneOf(
    account.pbxPreset,
    ['kamailio', 'asterisk', 'freeswitch', 'generic'],
    'generic',
  );
  const webrtc = pick(d.webrtc, raw.webrtc);
  webrtc.bundlePolicy = oneOf(
    webrtc.bundlePolicy,
    ['balanced', 'max-bundle', 'max-compat'],
    'balanced',
  );
  webrtc.rtcpMuxPolicy = oneOf(webrtc.rtcpMuxPolicy, ['require'], 'require');
  webrtc.dtmfMode = oneOf(webrtc.dtmfMode, ['rfc4733', 'info'], 'rfc4733');
  const rawIce =
    isObj(raw.webrtc) && Array.isArray(raw.webrtc.iceServers) ? raw.webrtc.iceServers : [];
  webrtc.iceServers = rawIce
    .filter(isObj)
    .map((s) => ({
      urls: typeof s.urls === 'string' ? s.urls : '',
      username: typeof s.username === 'string' ? s.username : '',
      credential: '',
    }))
    .filter((s) => s.urls);
  return {
    account,
    webrtc,
    call: pick(d.call, raw.call),
    devices: pick(d.devices, raw.devices),
    autoLogin: raw.autoLogin === true,
    demoUser: typeof raw.demoUser === 'string' ? raw.demoUser : undefined,
    language: typeof raw.language === 'string' ? raw.language : undefined,
  };
}

export function loadSettings(): StoredSettings {
  try {
    return parseSettings(localStorage.getItem(KEY));
  } catch {
    return defaultSettings();
  }
}

/** Persists settings; ICE credentials are blanked (they go to secrets.ts). */
export function saveSettings(s: StoredSettings): void {
  const safe: StoredSettings = {
    ...s,
    webrtc: { ...s.webrtc, iceServers: s.webrtc.iceServers.map((x) => ({ ...x, credential: '' })) },
  };
  try {
    localStorage.setItem(KEY, JSON.stringify(safe));
  } catch {
    // Private mode or quota: settings just do not survive a reload.
  }
}

export const SETTINGS_KEY = KEY;
