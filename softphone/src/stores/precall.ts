// Pre-call checks: can this browser, this microphone and this network make a
// call? Plain functions over browser APIs (injectable for tests); the
// diagnostics store runs them and keeps the results.

export type CheckStatus = 'pass' | 'warn' | 'fail';

export type CheckName =
  'webrtc' | 'permission' | 'devices' | 'microphone' | 'speaker' | 'websocket' | 'ice' | 'turn';

export interface CheckResult {
  name: CheckName;
  status: CheckStatus;
  /** Message key under precall.detail.* plus its parameters; the view translates it. */
  detail: string;
  params?: Record<string, string | number>;
  /** Measured facts for the text report. */
  data?: Record<string, string | number | boolean>;
}

/** Checks that must pass for the overall result to pass. */
export const REQUIRED_CHECKS: readonly CheckName[] = [
  'webrtc',
  'permission',
  'devices',
  'websocket',
  'ice',
];
export const ALL_CHECKS: readonly CheckName[] = [
  'webrtc',
  'permission',
  'devices',
  'microphone',
  'speaker',
  'websocket',
  'ice',
  'turn',
];

export interface PrecallEnv {
  mediaDevices?: Pick<MediaDevices, 'getUserMedia' | 'enumerateDevices'>;
  permissions?: Pick<Permissions, 'query'>;
  WebSocket?: typeof WebSocket;
  RTCPeerConnection?: typeof RTCPeerConnection;
  AudioContext?: typeof AudioContext;
  isSecureContext: boolean;
  now: () => number;
}

export function browserEnv(): PrecallEnv {
  return {
    mediaDevices: globalThis.navigator?.mediaDevices,
    permissions: globalThis.navigator?.permissions,
    WebSocket: globalThis.WebSocket,
    RTCPeerConnection: globalThis.RTCPeerConnection,
    AudioContext: globalThis.AudioContext,
    isSecureContext: globalThis.isSecureContext ?? false,
    now: () => performance.now(),
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: timeout after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

const errText = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

export function checkWebRtc(env: PrecallEnv): CheckResult {
  const missing: string[] = [];
  if (!env.isSecureContext) missing.push('secure context (https)');
  if (!env.RTCPeerConnection) missing.push('RTCPeerConnection');
  if (!env.mediaDevices?.getUserMedia) missing.push('getUserMedia');
  if (!env.WebSocket) missing.push('WebSocket');
  if (!env.AudioContext) missing.push('Web Audio');
  return missing.length
    ? { name: 'webrtc', status: 'fail', detail: 'missing', params: { what: missing.join(', ') } }
    : { name: 'webrtc', status: 'pass', detail: 'webrtcOk' };
}

export async function checkPermission(env: PrecallEnv): Promise<CheckResult> {
  if (!env.mediaDevices) return { name: 'permission', status: 'fail', detail: 'noMediaDevices' };
  let state = 'unknown';
  try {
    state =
      (await env.permissions?.query({ name: 'microphone' as PermissionName }))?.state ?? state;
  } catch {
    // Firefox and Safari cannot query the microphone permission; ask instead.
  }
  try {
    const stream = await env.mediaDevices.getUserMedia({ audio: true });
    stream.getTracks().forEach((t) => t.stop());
    return { name: 'permission', status: 'pass', detail: 'granted', data: { before: state } };
  } catch (e) {
    return {
      name: 'permission',
      status: 'fail',
      detail: 'denied',
      params: { error: errText(e) },
      data: { before: state },
    };
  }
}

export async function checkDevices(env: PrecallEnv): Promise<CheckResult> {
  if (!env.mediaDevices) return { name: 'devices', status: 'fail', detail: 'noMediaDevices' };
  const all = await env.mediaDevices.enumerateDevices();
  const count = (k: MediaDeviceKind) => all.filter((d) => d.kind === k).length;
  const data = {
    microphones: count('audioinput'),
    speakers: count('audiooutput'),
    cameras: count('videoinput'),
  };
  const labels = all.map((d) => `${d.kind}: ${d.label || d.deviceId.slice(0, 8) || '?'}`);
  if (data.microphones === 0)
    return { name: 'devices', status: 'fail', detail: 'noMicrophone', data };
  return {
    name: 'devices',
    // Firefox and Safari list no outputs; that only means the speaker cannot be chosen.
    status: 'pass',
    detail: data.speakers === 0 ? 'noSpeakerList' : 'deviceCounts',
    params: data,
    data: { ...data, list: labels.join('; ') },
  };
}

/** RMS level 0..1 on a −60..0 dBFS scale (same mapping as the core's meter). */
export function levelFromSamples(samples: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += (samples[i] ?? 0) ** 2;
  const rms = Math.sqrt(sum / Math.max(1, samples.length));
  if (rms <= 0) return 0;
  return Math.min(1, Math.max(0, (20 * Math.log10(rms) + 60) / 60));
}

/** Listens to the microphone for `ms` and reports the peak level; onLevel feeds a meter. */
export async function checkMicrophone(
  env: PrecallEnv,
  deviceId: string,
  onLevel: (level: number) => void,
  ms = 2000,
): Promise<CheckResult> {
  if (!env.mediaDevices || !env.AudioContext) {
    return { name: 'microphone', status: 'fail', detail: 'noMediaDevices' };
  }
  let stream: MediaStream | undefined;
  let ctx: AudioContext | undefined;
  try {
    stream = await env.mediaDevices.getUserMedia({
      audio: deviceId ? { deviceId: { exact: deviceId } } : true,
    });
    ctx = new env.AudioContext();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 1024;
    ctx.createMediaStreamSource(stream).connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    let peak = 0;
    const end = env.now() + ms;
    while (env.now() < end) {
      await sleep(100);
      analyser.getFloatTimeDomainData(buf);
      const level = levelFromSamples(buf);
      peak = Math.max(peak, level);
      onLevel(level);
    }
    onLevel(0);
    const pct = Math.round(peak * 100);
    return peak > 0.1
      ? {
          name: 'microphone',
          status: 'pass',
          detail: 'micLevel',
          params: { pct },
          data: { peak: pct },
        }
      : {
          name: 'microphone',
          status: 'warn',
          detail: 'micSilent',
          params: { pct },
          data: { peak: pct },
        };
  } catch (e) {
    return { name: 'microphone', status: 'fail', detail: 'error', params: { error: errText(e) } };
  } finally {
    stream?.getTracks().forEach((t) => t.stop());
    void ctx?.close();
  }
}

/** The minimal OPTIONS (RFC 3261 §11) used to time a SIP round trip over the WebSocket. */
export function optionsRequest(
  domain: string,
  rand: () => string,
): { text: string; callId: string } {
  const callId = `${rand()}${rand()}`;
  const text = [
    `OPTIONS sip:${domain} SIP/2.0`,
    `Via: SIP/2.0/WSS ${rand()}.invalid;branch=z9hG4bK${rand()}`,
    'Max-Forwards: 70',
    `To: <sip:${domain}>`,
    `From: <sip:precall@${domain}>;tag=${rand()}`,
    `Call-ID: ${callId}`,
    'CSeq: 1 OPTIONS',
    'Accept: application/sdp',
    'User-Agent: WebRTC-SIP-Softphone precall',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  return { text, callId };
}

const randToken = () => Math.random().toString(36).slice(2, 10);

export async function checkWebSocket(
  env: PrecallEnv,
  url: string,
  domain: string,
  timeoutMs = 5000,
): Promise<CheckResult> {
  if (!url) return { name: 'websocket', status: 'fail', detail: 'noServer' };
  if (!env.WebSocket)
    return { name: 'websocket', status: 'fail', detail: 'missing', params: { what: 'WebSocket' } };
  const Ws = env.WebSocket;
  const started = env.now();
  let ws: WebSocket;
  try {
    ws = new Ws(url, 'sip');
  } catch (e) {
    return { name: 'websocket', status: 'fail', detail: 'error', params: { error: errText(e) } };
  }
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        ws.addEventListener('open', () => resolve());
        ws.addEventListener('error', () => reject(new Error('connection refused or TLS error')));
        ws.addEventListener('close', (ev) =>
          reject(new Error(`closed (${(ev as CloseEvent).code})`)),
        );
      }),
      timeoutMs,
      'open',
    );
  } catch (e) {
    ws.close();
    return {
      name: 'websocket',
      status: 'fail',
      detail: 'wsFailed',
      params: { url, error: errText(e) },
    };
  }
  const openMs = Math.round(env.now() - started);
  const protocol = ws.protocol;
  const { text, callId } = optionsRequest(domain, randToken);
  const sentAt = env.now();
  try {
    const status = await withTimeout(
      new Promise<string>((resolve) => {
        ws.addEventListener('message', (ev) => {
          const data = String((ev as MessageEvent).data);
          if (data.startsWith('SIP/2.0 ') && data.includes(callId)) {
            resolve(data.split(/\r?\n/, 1)[0]?.slice(8) ?? '');
          }
        });
        ws.send(text);
      }),
      Math.min(timeoutMs, 3000),
      'OPTIONS',
    );
    const rttMs = Math.round(env.now() - sentAt);
    return {
      name: 'websocket',
      status: protocol === 'sip' ? 'pass' : 'warn',
      detail: protocol === 'sip' ? 'wsOk' : 'wsNoSubprotocol',
      params: { openMs, rttMs, status },
      data: { url, openMs, rttMs, response: status, subprotocol: protocol || '(none)' },
    };
  } catch {
    return {
      name: 'websocket',
      status: 'warn',
      detail: 'wsNoOptions',
      params: { openMs },
      data: { url, openMs, subprotocol: protocol || '(none)' },
    };
  } finally {
    ws.close();
  }
}

interface GatherResult {
  types: Record<string, number>;
  connected: boolean;
  connectMs?: number;
}

/**
 * Two RTCPeerConnections in this page, connected to each other: checks that
 * candidates are gathered and that ICE + DTLS connect (a data channel opens).
 */
async function loopbackPair(
  env: PrecallEnv,
  config: RTCConfiguration,
  timeoutMs: number,
  connect: boolean,
): Promise<GatherResult> {
  const Pc = env.RTCPeerConnection;
  if (!Pc) throw new Error('RTCPeerConnection missing');
  const a = new Pc(config);
  const b = new Pc(config);
  const types: Record<string, number> = {};
  const gathered = (pc: RTCPeerConnection, count: boolean) =>
    new Promise<void>((resolve) => {
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') resolve();
      });
      pc.addEventListener('icecandidate', (ev) => {
        const c = (ev as RTCPeerConnectionIceEvent).candidate;
        if (!c) return resolve();
        if (count) {
          const type = c.type ?? /typ (\w+)/.exec(c.candidate)?.[1] ?? 'unknown';
          types[type] = (types[type] ?? 0) + 1;
        }
        if (connect) void (pc === a ? b : a).addIceCandidate(c).catch(() => undefined);
      });
    });
  try {
    const started = env.now();
    const channel = a.createDataChannel('precall');
    const opened = new Promise<void>((resolve) =>
      channel.addEventListener('open', () => resolve()),
    );
    const gatherA = gathered(a, true);
    const gatherB = gathered(b, false);
    const offer = await a.createOffer();
    await a.setLocalDescription(offer);
    if (!connect) {
      await withTimeout(gatherA, timeoutMs, 'gathering').catch(() => undefined);
      return { types, connected: false };
    }
    await b.setRemoteDescription(offer);
    const answer = await b.createAnswer();
    await b.setLocalDescription(answer);
    await a.setRemoteDescription(answer);
    let connected = false;
    try {
      await withTimeout(opened, timeoutMs, 'connect');
      connected = true;
    } catch {
      connected = false;
    }
    const connectMs = Math.round(env.now() - started);
    await withTimeout(Promise.all([gatherA, gatherB]), 1000, 'gathering').catch(() => undefined);
    return { types, connected, connectMs };
  } finally {
    a.close();
    b.close();
  }
}

export async function checkIce(
  env: PrecallEnv,
  iceServers: RTCIceServer[],
  timeoutMs = 8000,
): Promise<CheckResult> {
  try {
    const r = await loopbackPair(env, { iceServers }, timeoutMs, true);
    const summary = Object.entries(r.types)
      .map(([k, v]) => `${k}:${v}`)
      .join(' ');
    const data = { candidates: summary || '(none)', connectMs: r.connectMs ?? -1 };
    if (!r.connected) {
      return {
        name: 'ice',
        status: 'fail',
        detail: 'iceFailed',
        params: { candidates: data.candidates },
        data,
      };
    }
    return {
      name: 'ice',
      status: 'pass',
      detail: 'iceOk',
      params: { ms: r.connectMs ?? 0, candidates: data.candidates },
      data,
    };
  } catch (e) {
    return { name: 'ice', status: 'fail', detail: 'error', params: { error: errText(e) } };
  }
}

export async function checkTurn(
  env: PrecallEnv,
  iceServers: RTCIceServer[],
  timeoutMs = 5000,
): Promise<CheckResult> {
  const turn = iceServers.filter((s) =>
    (Array.isArray(s.urls) ? s.urls : [s.urls]).some((u) => /^turns?:/i.test(u)),
  );
  if (turn.length === 0) return { name: 'turn', status: 'warn', detail: 'noTurn' };
  try {
    const r = await loopbackPair(
      env,
      { iceServers: turn, iceTransportPolicy: 'relay' },
      timeoutMs,
      false,
    );
    const relays = r.types.relay ?? 0;
    return relays > 0
      ? {
          name: 'turn',
          status: 'pass',
          detail: 'turnOk',
          params: { n: relays },
          data: { relay: relays },
        }
      : { name: 'turn', status: 'fail', detail: 'turnNone', data: { relay: 0 } };
  } catch (e) {
    return { name: 'turn', status: 'fail', detail: 'error', params: { error: errText(e) } };
  }
}

/** pass when every required check passed; fail otherwise. */
export function overallStatus(results: Partial<Record<CheckName, CheckResult>>): CheckStatus {
  return REQUIRED_CHECKS.every((n) => results[n]?.status === 'pass') ? 'pass' : 'fail';
}
