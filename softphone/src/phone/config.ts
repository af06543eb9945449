import type {
  AudioProcessingConfig,
  DtmfMode,
  IceServerConfig,
  PbxPreset,
  PbxPresetDescription,
  PhoneConfig,
  SessionTimerConfig,
} from './types';

/**
 * What each server flavour changes, and why. Everything here can be overridden
 * field by field in PhoneConfig; the preset only chooses defaults.
 */
export const PBX_PRESETS: Readonly<Record<PbxPreset, Readonly<PbxPresetDescription>>> = {
  kamailio: {
    contactParams: { transport: 'ws' },
    instanceId: true,
    regId: false,
    keepAliveIntervalSec: 0,
    sessionTimers: false,
    dtmfMode: 'rfc4733',
    why:
      'Kamailio keys a binding on +sip.instance, so each tab (own instance) gets its own ' +
      'Contact and all of them ring, and a reloaded tab replaces its old binding. reg-id is ' +
      'left out: without the outbound module Kamailio then forks to one contact per instance ' +
      'only. No CRLF keep-alive: the websocket module keeps the connection alive with Ping ' +
      'frames, which the browser answers itself. Kamailio is a proxy and does not refresh ' +
      'sessions, so session timers are not asked for. rtpengine relays RFC 4733 events.',
  },
  asterisk: {
    contactParams: { transport: 'ws' },
    instanceId: false,
    regId: false,
    keepAliveIntervalSec: 30,
    sessionTimers: true,
    dtmfMode: 'rfc4733',
    why:
      'res_pjsip matches contacts by URI and limits them with max_contacts (raise it for ' +
      'several tabs); +sip.instance buys nothing. It does not ping WebSocket clients, so a ' +
      'CRLF keep-alive every 30 s stops proxies and NATs from closing an idle socket ' +
      '(pjsip ignores the CRLFs). Asterisk supports RFC 4028 timers and RFC 4733 DTMF ' +
      '(dtmf_mode=rfc4733 on the endpoint).',
  },
  freeswitch: {
    contactParams: { transport: 'ws' },
    instanceId: false,
    regId: false,
    keepAliveIntervalSec: 30,
    sessionTimers: true,
    dtmfMode: 'rfc4733',
    why:
      'mod_sofia answers CRLF keep-alives and sends no WebSocket pings of its own, so the ' +
      'client keeps the flow alive every 30 s. Sofia refreshes sessions (RFC 4028) and ' +
      'negotiates telephone-event; INFO DTMF needs a dialplan hook, so RFC 4733 is the default.',
  },
  generic: {
    contactParams: { transport: 'ws' },
    instanceId: false,
    regId: false,
    keepAliveIntervalSec: 30,
    sessionTimers: false,
    dtmfMode: 'rfc4733',
    why:
      'RFC 7118 defaults: Contact with transport=ws, CRLF keep-alive every 30 s so idle ' +
      'intermediaries keep the socket, no extensions that an unknown server might reject.',
  },
};

/** PhoneConfig with every default filled in. */
export interface ResolvedConfig {
  /** The edges, in the order given (at least one). */
  wsUrls: string[];
  sipUri: string;
  domain: string;
  authUser: string;
  password: string;
  displayName: string;
  registerExpires: number;
  iceServers: IceServerConfig[];
  iceTransportPolicy: RTCIceTransportPolicy;
  bundlePolicy: RTCBundlePolicy;
  rtcpMuxPolicy: RTCRtcpMuxPolicy;
  iceCandidatePoolSize: number;
  iceGatheringTimeoutMs: number;
  audio: AudioProcessingConfig;
  dtmfMode: DtmfMode;
  pbxPreset: PbxPreset;
  contactParams: Record<string, string>;
  sendInstanceId: boolean;
  sendRegId: boolean;
  keepAliveIntervalSec: number;
  sessionTimers: SessionTimerConfig;
  autoAnswer: boolean;
  honourAutoAnswerHeaders: boolean;
  userAgentString: string;
  instanceId: string;
  reconnectInitialDelayMs: number;
  reconnectMaxDelayMs: number;
  noAnswerTimeoutSec: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Splits sip:user@host[:port][;params] into user and host; undefined if not a SIP URI. */
export function parseSipUri(uri: string): { user: string; host: string } | undefined {
  const m = /^sips?:([^@;?]+)@([^;?>]+)/i.exec(uri.trim());
  if (!m || !m[1] || !m[2]) return undefined;
  return { user: decodeURIComponent(m[1]), host: m[2] };
}

/**
 * Turns what a user typed ("1002", "alice@example.com", "sip:1002@localhost",
 * "+1 555 0100") into a SIP URI in our domain.
 */
export function normalizeTarget(target: string, domain: string): string {
  const t = target.trim();
  if (!t) throw new ConfigError('empty call target');
  if (/^sips?:/i.test(t)) return t;
  if (t.includes('@')) return `sip:${t}`;
  // Dial strings: drop visual separators but keep a leading + (E.164).
  const dialed = /^[+\d\s().-]+$/.test(t) ? t.replace(/[\s().-]/g, '') : t;
  return `sip:${encodeURIComponent(dialed).replace(/%2B/g, '+')}@${domain}`;
}

export function randomUuid(): string {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') {
    return crypto.randomUUID();
  }
  // Fallback for non-secure contexts where randomUUID is absent (RFC 4122 v4 layout).
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** "wss://a/ws, wss://b/ws" → its URLs (spaces or commas between). */
export function splitWsUrls(wsUrl: string): string[] {
  return wsUrl.split(/[\s,]+/).filter(Boolean);
}

export function resolveConfig(cfg: PhoneConfig): ResolvedConfig {
  const wsUrls = splitWsUrls(cfg.wsUrl);
  const bad = wsUrls.find((u) => !/^wss?:\/\/[^\s/]/i.test(u));
  if (wsUrls.length === 0 || bad !== undefined)
    throw new ConfigError(
      `wsUrl must be ws:// or wss:// URLs (several separated by spaces)${bad ? `: not "${bad}"` : ''}`,
    );
  const aor = parseSipUri(cfg.sipUri);
  if (!aor) throw new ConfigError(`sipUri must look like sip:user@domain`);
  const presetName = cfg.pbxPreset ?? 'generic';
  const preset = PBX_PRESETS[presetName];
  const expires = cfg.registerExpires ?? 600;
  if (!Number.isInteger(expires) || expires < 60) {
    throw new ConfigError('registerExpires must be an integer >= 60 seconds');
  }
  const sessionExpires = cfg.sessionTimers?.expiresSec ?? 1800;
  if (sessionExpires < 90)
    throw new ConfigError('sessionTimers.expiresSec must be >= 90 (RFC 4028)');
  return {
    wsUrls,
    sipUri: cfg.sipUri.startsWith('sip') ? cfg.sipUri : `sip:${cfg.sipUri}`,
    domain: aor.host,
    authUser: cfg.authUser ?? aor.user,
    password: cfg.password,
    displayName: cfg.displayName ?? '',
    registerExpires: expires,
    iceServers: cfg.iceServers ?? [],
    iceTransportPolicy: cfg.iceTransportPolicy ?? 'all',
    // rtpengine 10.5's SDP toward WebRTC has no BUNDLE group; max-bundle makes Chromium refuse it.
    bundlePolicy: cfg.bundlePolicy ?? 'balanced',
    rtcpMuxPolicy: cfg.rtcpMuxPolicy ?? 'require',
    // One pooled session covers the single bundled transport. Chromium (seen
    // in 156) hands a pool > 1 its next pooled session on the first ICE
    // restart, with the old ufrag/pwd, so that restart does nothing.
    iceCandidatePoolSize: cfg.iceCandidatePoolSize ?? 1,
    iceGatheringTimeoutMs: cfg.iceGatheringTimeoutMs ?? 500,
    audio: {
      echoCancellation: cfg.audio?.echoCancellation ?? true,
      noiseSuppression: cfg.audio?.noiseSuppression ?? true,
      autoGainControl: cfg.audio?.autoGainControl ?? true,
    },
    dtmfMode: cfg.dtmfMode ?? preset.dtmfMode,
    pbxPreset: presetName,
    contactParams: { ...preset.contactParams, ...cfg.contactParams },
    sendInstanceId: preset.instanceId,
    sendRegId: preset.regId,
    keepAliveIntervalSec: cfg.keepAliveIntervalSec ?? preset.keepAliveIntervalSec,
    sessionTimers: {
      enabled: cfg.sessionTimers?.enabled ?? preset.sessionTimers,
      expiresSec: sessionExpires,
    },
    autoAnswer: cfg.autoAnswer ?? false,
    honourAutoAnswerHeaders: cfg.honourAutoAnswerHeaders ?? true,
    userAgentString: cfg.userAgentString ?? 'WebRTC-SIP-Softphone/0.1',
    instanceId: cfg.instanceId ?? randomUuid(),
    reconnectInitialDelayMs: cfg.reconnect?.initialDelayMs ?? 500,
    reconnectMaxDelayMs: cfg.reconnect?.maxDelayMs ?? 30_000,
    noAnswerTimeoutSec: cfg.noAnswerTimeoutSec ?? 60,
  };
}
