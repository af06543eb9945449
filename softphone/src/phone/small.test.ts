import { describe, expect, it } from 'vitest';
import { detectAutoAnswer } from './auto-answer';
import { backoffDelay } from './backoff';
import { CALL_TRANSITIONS, canTransition } from './call-state';
import { PBX_PRESETS, normalizeTarget, resolveConfig } from './config';
import { dtmfInfoBody, parseDtmfInfo } from './dtmf';
import { LevelMeter } from './media-devices';
import { PeerConnectionSource, sdpDirection } from './media-session';
import { grantedExpires } from './phone';
import { parseSessionExpires, parseSipFrag } from './call';

const headers = (h: Record<string, string[]>) => (name: string) => h[name] ?? [];

describe('auto-answer detection', () => {
  it('reads Call-Info answer-after', () => {
    expect(detectAutoAnswer(headers({ 'Call-Info': ['<sip:localhost>;answer-after=0'] }))).toEqual({
      delaySec: 0,
      source: 'Call-Info',
    });
    expect(
      detectAutoAnswer(headers({ 'Call-Info': ['<sip:pbx>; answer-after=3'] }))?.delaySec,
    ).toBe(3);
  });
  it('reads Alert-Info auto-answer forms', () => {
    expect(
      detectAutoAnswer(
        headers({ 'Alert-Info': ['<http://www.notused.com>;info=alert-autoanswer;delay=2'] }),
      ),
    ).toEqual({ delaySec: 2, source: 'Alert-Info' });
    expect(detectAutoAnswer(headers({ 'Alert-Info': ['<urn:x>;info=auto-answer'] }))?.source).toBe(
      'Alert-Info',
    );
    expect(detectAutoAnswer(headers({ 'Alert-Info': ['Auto Answer'] }))?.delaySec).toBe(0);
  });
  it('ignores ordinary headers', () => {
    expect(
      detectAutoAnswer(
        headers({
          'Call-Info': ['<http://x/photo.jpg>;purpose=icon'],
          'Alert-Info': ['<http://x/ring.wav>'],
        }),
      ),
    ).toBeUndefined();
    expect(detectAutoAnswer(headers({}))).toBeUndefined();
  });
});

describe('reconnect backoff', () => {
  it('doubles from 0.5 s to a 30 s cap', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) =>
      backoffDelay(n, { initialDelayMs: 500, maxDelayMs: 30_000, random: () => 1 }),
    );
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });
  it('jitters within [half, full] of the ceiling', () => {
    expect(backoffDelay(3, { initialDelayMs: 500, maxDelayMs: 30_000, random: () => 0 })).toBe(
      1000,
    );
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(6, { initialDelayMs: 500, maxDelayMs: 30_000 });
      expect(d).toBeGreaterThanOrEqual(8000);
      expect(d).toBeLessThanOrEqual(16000);
    }
  });
});

describe('call state table', () => {
  it('allows the documented paths and refuses others', () => {
    expect(canTransition('idle', 'calling')).toBe(true);
    expect(canTransition('calling', 'early')).toBe(true);
    expect(canTransition('ringing', 'early')).toBe(true);
    expect(canTransition('early', 'ringing')).toBe(false);
    expect(canTransition('incoming', 'established')).toBe(false);
    expect(canTransition('ringing', 'held')).toBe(false);
    expect(canTransition('held', 'established')).toBe(true);
    expect(CALL_TRANSITIONS.ended).toEqual([]);
    for (const from of Object.keys(CALL_TRANSITIONS) as (keyof typeof CALL_TRANSITIONS)[]) {
      if (from !== 'ended') expect(canTransition(from, 'ended')).toBe(true);
    }
  });
});

describe('DTMF INFO bodies', () => {
  it('builds application/dtmf-relay', () => {
    expect(dtmfInfoBody('5')).toBe('Signal=5\r\nDuration=160\r\n');
    expect(dtmfInfoBody('#', 250)).toBe('Signal=#\r\nDuration=250\r\n');
    expect(() => dtmfInfoBody('x')).toThrow();
    expect(() => dtmfInfoBody('12')).toThrow();
  });
  it('parses dtmf-relay and dtmf', () => {
    expect(parseDtmfInfo('application/dtmf-relay', 'Signal=9\r\nDuration=100\r\n')).toEqual({
      digit: '9',
      durationMs: 100,
    });
    expect(parseDtmfInfo('application/dtmf', '*')).toEqual({ digit: '*' });
    expect(parseDtmfInfo('text/plain', 'Signal=9')).toBeUndefined();
  });
});

describe('config', () => {
  it('fills defaults from the preset and keeps overrides', () => {
    const c = resolveConfig({
      wsUrl: 'wss://h/ws',
      sipUri: 'sip:1001@localhost',
      password: 'p',
      pbxPreset: 'kamailio',
    });
    expect(c.domain).toBe('localhost');
    expect(c.authUser).toBe('1001');
    expect(c.keepAliveIntervalSec).toBe(PBX_PRESETS.kamailio.keepAliveIntervalSec);
    expect(c.contactParams).toEqual({ transport: 'ws' });
    expect(c.sendInstanceId).toBe(true);
    const a = resolveConfig({
      wsUrl: 'wss://h/ws',
      sipUri: 'sip:1001@pbx',
      password: 'p',
      pbxPreset: 'asterisk',
      dtmfMode: 'info',
      keepAliveIntervalSec: 15,
    });
    expect(a.dtmfMode).toBe('info');
    expect(a.keepAliveIntervalSec).toBe(15);
    expect(a.sessionTimers.enabled).toBe(true);
  });
  it('refuses bad URLs and URIs', () => {
    expect(() => resolveConfig({ wsUrl: 'http://h', sipUri: 'sip:a@b', password: '' })).toThrow(
      /wsUrl/,
    );
    expect(() => resolveConfig({ wsUrl: 'wss://h', sipUri: 'alice', password: '' })).toThrow(
      /sipUri/,
    );
    expect(() =>
      resolveConfig({ wsUrl: 'wss://a/ws http://b/ws', sipUri: 'sip:a@b', password: '' }),
    ).toThrow(/not "http:\/\/b\/ws"/);
  });
  it('takes several edges, separated by spaces or commas', () => {
    const c = resolveConfig({
      wsUrl: ' wss://a.example/ws,wss://b.example/ws  wss://c.example/ws ',
      sipUri: 'sip:a@b',
      password: '',
    });
    expect(c.wsUrls).toEqual(['wss://a.example/ws', 'wss://b.example/ws', 'wss://c.example/ws']);
  });
  it('normalises dial strings into SIP URIs', () => {
    expect(normalizeTarget('1002', 'localhost')).toBe('sip:1002@localhost');
    expect(normalizeTarget('+1 (555) 010-0100', 'localhost')).toBe('sip:+15550100100@localhost');
    expect(normalizeTarget('bob@example.com', 'localhost')).toBe('sip:bob@example.com');
    expect(normalizeTarget('sip:9196@localhost', 'x')).toBe('sip:9196@localhost');
  });
});

describe('SIP helpers', () => {
  it('reads the granted expires of our contact from a REGISTER 200', () => {
    const res =
      'SIP/2.0 200 OK\r\nContact: <sip:other@x.invalid;transport=ws>;expires=100, <sip:me@y.invalid;transport=ws>;expires=280\r\nCSeq: 2 REGISTER\r\n\r\n';
    expect(grantedExpires(res, 'me')).toBe(280);
    expect(grantedExpires('SIP/2.0 200 OK\r\nExpires: 60\r\n\r\n', 'me')).toBe(60);
  });
  it('parses Session-Expires and sipfrag', () => {
    expect(parseSessionExpires('1800;refresher=uas')).toEqual({ seconds: 1800, refresher: 'uas' });
    expect(parseSessionExpires('90')).toEqual({ seconds: 90, refresher: undefined });
    expect(parseSipFrag('SIP/2.0 180 Ringing\r\n')).toEqual({ code: 180, reason: 'Ringing' });
  });
  it('reads the media direction of an SDP (RFC 3264 and RFC 2543 hold)', () => {
    expect(sdpDirection('v=0\r\nm=audio 1 RTP/AVP 0\r\na=sendonly\r\n', 'audio')).toBe('sendonly');
    expect(sdpDirection('v=0\r\na=inactive\r\nm=audio 1 RTP/AVP 0\r\n', 'audio')).toBe('inactive');
    expect(sdpDirection('v=0\r\nm=audio 1 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\n', 'audio')).toBe(
      'sendonly',
    );
    expect(sdpDirection('v=0\r\nm=audio 1 RTP/AVP 0\r\n', 'video')).toBeUndefined();
  });
});

describe('level meter', () => {
  it('maps RMS from −60..0 dBFS onto 0..1', () => {
    expect(LevelMeter.levelFromSamples(new Float32Array(128))).toBe(0);
    expect(LevelMeter.levelFromSamples(new Float32Array(128).fill(1))).toBe(1);
    expect(LevelMeter.levelFromSamples(new Float32Array(128).fill(0.001))).toBeCloseTo(0, 5);
    expect(LevelMeter.levelFromSamples(new Float32Array(128).fill(0.1))).toBeCloseTo(2 / 3, 5);
  });
});

describe('PeerConnectionSource', () => {
  it('new ICE servers replace the spare peer connection and apply to the next call', () => {
    const made: { config: RTCConfiguration; closed: boolean }[] = [];
    class FakePc {
      signalingState = 'stable';
      readonly rec: { config: RTCConfiguration; closed: boolean };
      constructor(config: RTCConfiguration) {
        this.rec = { config, closed: false };
        made.push(this.rec);
      }
      close() {
        this.rec.closed = true;
      }
    }
    const src = new PeerConnectionSource(FakePc as unknown as typeof RTCPeerConnection, {
      iceServers: [],
      iceCandidatePoolSize: 1,
    });
    src.prepare();
    const turn = [{ urls: ['turn:127.0.0.1:3478'], username: 'u', credential: 'c' }];
    src.setIceServers(turn);
    expect(made).toHaveLength(2);
    expect(made[0]!.closed).toBe(true);
    src.take();
    expect(made.at(-1)!.config.iceServers).toEqual(turn);
  });
});
