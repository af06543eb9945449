import { describe, expect, it } from 'vitest';
import {
  checkDevices,
  checkTurn,
  checkWebRtc,
  checkWebSocket,
  levelFromSamples,
  optionsRequest,
  overallStatus,
  type PrecallEnv,
} from './precall';

type Handler = (ev: Event) => void;

/** A WebSocket whose server answers (or not) a SIP OPTIONS. */
function fakeWs(mode: 'answer' | 'silent' | 'refuse', protocol = 'sip') {
  return class {
    protocol = protocol;
    sent: string[] = [];
    private handlers: Record<string, Handler[]> = {};
    constructor(
      readonly url: string,
      readonly proto: string,
    ) {
      setTimeout(() => {
        if (mode === 'refuse') this.fire('error', new Event('error'));
        else this.fire('open', new Event('open'));
      }, 1);
    }
    addEventListener(type: string, fn: Handler) {
      (this.handlers[type] ??= []).push(fn);
    }
    fire(type: string, ev: Event) {
      for (const fn of this.handlers[type] ?? []) fn(ev);
    }
    send(data: string) {
      this.sent.push(data);
      if (mode !== 'answer') return;
      const callId = /Call-ID: (\S+)/.exec(data)?.[1];
      setTimeout(
        () =>
          this.fire(
            'message',
            Object.assign(new Event('message'), {
              data: `SIP/2.0 200 OK\r\nCall-ID: ${callId}\r\nCSeq: 1 OPTIONS\r\n\r\n`,
            }),
          ),
        1,
      );
    }
    close() {}
  } as unknown as typeof WebSocket;
}

const env = (over: Partial<PrecallEnv> = {}): PrecallEnv => ({
  isSecureContext: true,
  now: () => performance.now(),
  ...over,
});

describe('pre-call checks', () => {
  it('builds a well-formed OPTIONS', () => {
    let i = 0;
    const { text, callId } = optionsRequest('localhost', () => `r${++i}`);
    expect(text.startsWith('OPTIONS sip:localhost SIP/2.0\r\n')).toBe(true);
    expect(text).toContain(`Call-ID: ${callId}`);
    expect(text).toMatch(/Via: SIP\/2\.0\/WSS \S+;branch=z9hG4bK\S+/);
    expect(text.endsWith('Content-Length: 0\r\n\r\n')).toBe(true);
  });

  it('websocket: pass with open time and OPTIONS round trip', async () => {
    const r = await checkWebSocket(env({ WebSocket: fakeWs('answer') }), 'wss://h/ws', 'localhost');
    expect(r.status).toBe('pass');
    expect(r.params?.status).toBe('200 OK');
    expect(typeof r.params?.rttMs).toBe('number');
  });

  it('websocket: warn when open but OPTIONS unanswered, fail when refused', async () => {
    expect(
      (await checkWebSocket(env({ WebSocket: fakeWs('silent') }), 'wss://h/ws', 'l', 50)).status,
    ).toBe('warn');
    expect(
      (await checkWebSocket(env({ WebSocket: fakeWs('refuse') }), 'wss://h/ws', 'l', 50)).status,
    ).toBe('fail');
    expect(
      (await checkWebSocket(env({ WebSocket: fakeWs('answer', '') }), 'wss://h/ws', 'l')).status,
    ).toBe('warn');
    expect((await checkWebSocket(env(), '', 'l')).detail).toBe('noServer');
  });

  it('webrtc support lists what is missing', () => {
    const r = checkWebRtc(env({ isSecureContext: false }));
    expect(r.status).toBe('fail');
    expect(String(r.params?.what)).toContain('secure context');
  });

  it('devices: fail without a microphone', async () => {
    const md = (list: Partial<MediaDeviceInfo>[]) =>
      ({
        enumerateDevices: async () => list,
        getUserMedia: async () => ({}),
      }) as unknown as MediaDevices;
    expect(
      (
        await checkDevices(
          env({ mediaDevices: md([{ kind: 'videoinput', deviceId: 'c', label: '' }]) }),
        )
      ).status,
    ).toBe('fail');
    const ok = await checkDevices(
      env({ mediaDevices: md([{ kind: 'audioinput', deviceId: 'm', label: 'Mic' }]) }),
    );
    expect(ok.status).toBe('pass');
    expect(ok.detail).toBe('noSpeakerList');
  });

  it('turn: warns when none is configured', async () => {
    expect((await checkTurn(env(), [{ urls: 'stun:x' }])).detail).toBe('noTurn');
  });

  it('level meter mapping and overall status', () => {
    expect(levelFromSamples(new Float32Array(100))).toBe(0);
    expect(levelFromSamples(new Float32Array(100).fill(1))).toBe(1);
    const pass = { status: 'pass' as const, detail: '' };
    const all = {
      webrtc: { name: 'webrtc' as const, ...pass },
      permission: { name: 'permission' as const, ...pass },
      devices: { name: 'devices' as const, ...pass },
      websocket: { name: 'websocket' as const, ...pass },
      ice: { name: 'ice' as const, ...pass },
      turn: { name: 'turn' as const, status: 'fail' as const, detail: '' },
    };
    expect(overallStatus(all)).toBe('pass');
    expect(overallStatus({ ...all, ice: { name: 'ice', status: 'warn', detail: '' } })).toBe(
      'fail',
    );
  });
});
