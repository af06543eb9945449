import { describe, expect, it } from 'vitest';
import {
  defaultSettings,
  loadSettings,
  parseSettings,
  saveSettings,
  SETTINGS_KEY,
} from './settings';

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
