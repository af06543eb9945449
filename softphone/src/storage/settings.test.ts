import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../phone/config';
import {
  defaultSettings,
  loadSettings,
  parseSettings,
  saveSettings,
  SETTINGS_KEY,
} from './settings';

describe('default WebRTC settings', () => {
  it('are the core’s defaults (balanced bundle, a candidate pool of 1, …)', () => {
    const core = resolveConfig({ wsUrl: 'wss://x/ws', sipUri: 'sip:1@x', password: 'p' });
    const ui = defaultSettings().webrtc;
    expect(ui.bundlePolicy).toBe('balanced');
    expect(ui.iceCandidatePoolSize).toBe(1);
    expect({
      bundlePolicy: ui.bundlePolicy,
      rtcpMuxPolicy: ui.rtcpMuxPolicy,
      iceCandidatePoolSize: ui.iceCandidatePoolSize,
      iceGatheringTimeoutMs: ui.iceGatheringTimeoutMs,
      relayOnly: ui.relayOnly,
      audio: {
        echoCancellation: ui.echoCancellation,
        noiseSuppression: ui.noiseSuppression,
        autoGainControl: ui.autoGainControl,
      },
      autoAnswer: defaultSettings().call.autoAnswer,
    }).toEqual({
      bundlePolicy: core.bundlePolicy,
      rtcpMuxPolicy: core.rtcpMuxPolicy,
      iceCandidatePoolSize: core.iceCandidatePoolSize,
      iceGatheringTimeoutMs: core.iceGatheringTimeoutMs,
      relayOnly: core.iceTransportPolicy === 'relay',
      audio: core.audio,
      autoAnswer: core.autoAnswer,
    });
    // The UI's default preset (kamailio) uses RFC 4733, as the core does for it.
    const kamailio = resolveConfig({
      wsUrl: 'wss://x/ws',
      sipUri: 'sip:1@x',
      password: 'p',
      pbxPreset: defaultSettings().account.pbxPreset,
    });
    expect(ui.dtmfMode).toBe(kamailio.dtmfMode);
  });
});

describe('settings in localStorage', () => {
  it('falls back to defaults on missing or malformed data', () => {
    expect(parseSettings(null)).toEqual(defaultSettings());
    expect(parseSettings('{not json')).toEqual(defaultSettings());
    expect(parseSettings('[1,2]')).toEqual(defaultSettings());
  });

  it('keeps valid fields and drops wrongly typed or unknown ones', () => {
    const s = parseSettings(
      JSON.stringify({
        account: { wsUrl: 'wss://x/ws', sipUri: 42, pbxPreset: 'nonsense', extra: 'x' },
        webrtc: {
          iceCandidatePoolSize: 4,
          bundlePolicy: 'weird',
          dtmfMode: 'info',
          iceServers: [{ urls: 'stun:a' }, { nope: 1 }, 'x'],
        },
        call: { autoAnswer: true },
        autoLogin: 'yes',
      }),
    );
    expect(s.account.wsUrl).toBe('wss://x/ws');
    expect(s.account.sipUri).toBe('');
    expect(s.account.pbxPreset).toBe('generic');
    expect('extra' in s.account).toBe(false);
    expect(s.webrtc.iceCandidatePoolSize).toBe(4);
    expect(s.webrtc.bundlePolicy).toBe('balanced');
    expect(s.webrtc.dtmfMode).toBe('info');
    expect(s.webrtc.iceServers).toEqual([{ urls: 'stun:a', username: '', credential: '' }]);
    expect(s.call.autoAnswer).toBe(true);
    expect(s.autoLogin).toBe(false);
  });

  it('never writes ICE credentials', () => {
    const s = defaultSettings();
    s.webrtc.iceServers = [{ urls: 'turn:t', username: 'u', credential: 'hunter2' }];
    saveSettings(s);
    expect(localStorage.getItem(SETTINGS_KEY)).not.toContain('hunter2');
    expect(loadSettings().webrtc.iceServers[0]).toEqual({
      urls: 'turn:t',
      username: 'u',
      credential: '',
    });
  });
});
