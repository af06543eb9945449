import { describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';
import { flushPromises } from '@vue/test-utils';
import { mountWith } from '../testing/mount';
import { CLIENT_CONFIG, sampleStats } from '../testing/fake-phone';
import RegistrationBadge from './RegistrationBadge.vue';
import NavBar from './NavBar.vue';
import DialPad from './DialPad.vue';
import QualityPanel from './QualityPanel.vue';
import LinesBar from './LinesBar.vue';
import CallPanel from './CallPanel.vue';
import IncomingCall from './IncomingCall.vue';
import RemoteMedia from './RemoteMedia.vue';
import LiveRegion from './LiveRegion.vue';
import { useAccountStore } from '../stores/account';
import { useCallsStore, type Line } from '../stores/calls';
import { line } from '../testing/fixtures';
import { useUiStore } from '../stores/ui';
import type { HistoryEntry } from '../storage/db';

const lines = (...ls: Line[]) => {
  const slots: (Line | null)[] = [null, null, null, null];
  for (const l of ls) slots[l.n - 1] = l;
  return slots;
};

describe('RegistrationBadge', () => {
  it('shows the registration state in text and data-state, politely announced', async () => {
    const { wrapper } = mountWith(RegistrationBadge, {
      initialState: { account: { registration: 'failed', registrationReason: '403 Forbidden' } },
    });
    const badge = wrapper.get('[data-testid="registration-status"]');
    expect(badge.attributes('data-state')).toBe('failed');
    expect(badge.attributes('aria-live')).toBe('polite');
    expect(badge.text()).toContain('Registration failed');
    expect(badge.text()).toContain('403 Forbidden');
    useAccountStore().registration = 'registered';
    await nextTick();
    expect(badge.attributes('data-state')).toBe('registered');
  });
});

describe('NavBar', () => {
  it('links every view and shows the missed-call badge', async () => {
    const missed: HistoryEntry = {
      id: 'h1',
      direction: 'incoming',
      remote: 'sip:1003@localhost',
      start: Date.now(),
      durationSec: 0,
      answered: false,
      endCause: '487',
      endedBy: 'remote',
    };
    const { wrapper } = mountWith(NavBar, {
      initialState: { history: { entries: [missed], seenUntil: 0 } },
    });
    for (const v of ['phone', 'history', 'contacts', 'diagnostics', 'settings', 'precall']) {
      expect(wrapper.find(`[data-testid="nav-${v}"]`).exists()).toBe(true);
    }
    expect(wrapper.get('[data-testid="missed-badge"]').text()).toContain('1');
    await wrapper.get('[data-testid="nav-history"]').trigger('click');
    expect(useUiStore().go).toHaveBeenCalledWith('history');
  });
});

describe('DialPad', () => {
  it('calls what was typed', async () => {
    const { wrapper } = mountWith(DialPad, {
      initialState: { account: { phone: {} } },
    });
    const account = useAccountStore();
    // @ts-expect-error computed getters are writable in a testing pinia
    account.signedIn = true;
    await nextTick();
    await wrapper.get('[data-testid="dial-input"]').setValue('sip:alice@example.com');
    await wrapper.get('[data-testid="call-button"]').trigger('submit');
    await wrapper.get('form').trigger('submit');
    expect(useCallsStore().dial).toHaveBeenCalledWith('sip:alice@example.com', { video: false });
  });

  it('keys edit the number when idle and send DTMF during a call', async () => {
    const { wrapper } = mountWith(DialPad, { attachTo: document.body });
    await wrapper.get('[data-testid="dtmf-1"]').trigger('click');
    await wrapper.get('[data-testid="dtmf-#"]').trigger('click');
    expect((wrapper.get('[data-testid="dial-input"]').element as HTMLInputElement).value).toBe(
      '1#',
    );
    const calls = useCallsStore();
    calls.lines = lines(line());
    await nextTick();
    await wrapper.get('[data-testid="dtmf-5"]').trigger('click');
    expect(calls.sendDtmf).toHaveBeenCalledWith('5');
    // Typing a digit outside a text field during the call sends it too.
    document.body.dispatchEvent(new KeyboardEvent('keydown', { key: '9', bubbles: true }));
    expect(calls.sendDtmf).toHaveBeenCalledWith('9');
    await nextTick();
    expect(wrapper.get('[data-testid="dtmf-sent"]').text()).toContain('59');
    wrapper.unmount();
  });

  it('offers the gateway echo and tone services', async () => {
    const { wrapper } = mountWith(DialPad, {
      initialState: { account: { clientConfig: CLIENT_CONFIG } },
    });
    expect(wrapper.text()).toContain('9196');
    expect(wrapper.text()).toContain('9198');
  });
});

describe('call panels', () => {
  it('lines show their state and switch on click', async () => {
    const { wrapper } = mountWith(LinesBar, {
      initialState: {
        calls: {
          lines: lines(
            line({ n: 1, state: 'held' }),
            line({ n: 2, id: 'c2', state: 'established' }),
          ),
          activeLine: 2,
        },
      },
    });
    expect(wrapper.get('[data-testid="line-1"]').attributes('data-state')).toBe('held');
    expect(wrapper.get('[data-testid="line-2"]').attributes('aria-pressed')).toBe('true');
    expect(wrapper.get('[data-testid="line-3"]').attributes('data-state')).toBe('idle');
    await wrapper.get('[data-testid="line-1"]').trigger('click');
    expect(useCallsStore().switchTo).toHaveBeenCalledWith(1);
  });

  it('incoming call: answer and decline dispatch for that line', async () => {
    const l = line({ n: 2, state: 'incoming', direction: 'incoming', videoOffered: true });
    const { wrapper } = mountWith(IncomingCall, { props: { line: l } });
    expect(wrapper.text()).toContain('Incoming call from Bob');
    await wrapper.get('[data-testid="answer-button"]').trigger('click');
    await wrapper.get('[data-testid="decline-button"]').trigger('click');
    await wrapper.get('[data-testid="answer-video-button"]').trigger('click');
    const calls = useCallsStore();
    expect(calls.answer).toHaveBeenCalledWith(2);
    expect(calls.answer).toHaveBeenCalledWith(2, true);
    expect(calls.decline).toHaveBeenCalledWith(2);
  });

  it('call panel: state, controls and transfer', async () => {
    const { wrapper } = mountWith(CallPanel, {
      initialState: {
        calls: {
          lines: lines(
            line({ muted: true }),
            line({ n: 2, id: 'c2', state: 'held', remoteName: 'Carol' }),
          ),
          activeLine: 1,
        },
      },
    });
    const calls = useCallsStore();
    expect(wrapper.get('[data-testid="call-state"]').attributes('data-state')).toBe('established');
    expect(wrapper.get('[data-testid="call-duration"]').text()).toMatch(/^00:0\d$/);
    expect(wrapper.get('[data-testid="mute-button"]').attributes('aria-pressed')).toBe('true');
    await wrapper.get('[data-testid="hold-button"]').trigger('click');
    await wrapper.get('[data-testid="mute-button"]').trigger('click');
    await wrapper.get('[data-testid="hangup-button"]').trigger('click');
    expect(calls.toggleHold).toHaveBeenCalledWith(1);
    expect(calls.toggleMute).toHaveBeenCalledWith(1);
    expect(calls.hangup).toHaveBeenCalledWith(1);
    await wrapper.get('[data-testid="transfer-input"]').setValue('1004');
    await wrapper.get('[data-testid="blind-transfer-button"]').trigger('submit');
    await wrapper.findAll('form')[0]!.trigger('submit');
    expect(calls.blindTransfer).toHaveBeenCalledWith('1004');
    await wrapper.get('[data-testid="attended-transfer-select"]').setValue('2');
    await wrapper.findAll('form')[1]!.trigger('submit');
    expect(calls.attendedTransfer).toHaveBeenCalledWith(2, 1);
    await wrapper.get('[data-testid="merge-button"]').trigger('click');
    expect(calls.merge).toHaveBeenCalled();
  });

  it('call panel without a call says idle', () => {
    const { wrapper } = mountWith(CallPanel);
    expect(wrapper.get('[data-testid="call-state"]').attributes('data-state')).toBe('idle');
    expect(wrapper.find('[data-testid="hangup-button"]').exists()).toBe(false);
  });

  it('quality panel shows the latest figures with sparklines', () => {
    const samples = [
      sampleStats({ mos: 4.4 }),
      sampleStats({ mos: 3.2, rttMs: 180, packetLossPct: 5, codec: 'PCMU' }),
    ];
    const { wrapper } = mountWith(QualityPanel, { props: { line: line({ samples }) } });
    const panel = wrapper.get('[data-testid="quality-panel"]');
    expect(panel.get('[data-testid="quality-codec"]').text()).toBe('PCMU');
    expect(panel.get('[data-testid="quality-mos"]').text()).toContain('3.20 (poor)');
    expect(panel.get('[data-testid="quality-rtt"]').text()).toContain('180 ms');
    expect(panel.get('[data-testid="quality-loss"]').text()).toContain('5.0 %');
    const poly = panel.findAll('polyline');
    expect(poly.length).toBe(5);
    expect(poly[0]!.attributes('points')?.split(' ')).toHaveLength(2);
    expect(panel.get('svg').attributes('aria-label')).toContain('MOS');
  });
});

/** A remote stream whose tracks the test controls (happy-dom's MediaStream has none). */
function fakeStream(): MediaStream & { tracks: { id: string }[] } {
  const tracks: { id: string }[] = [];
  return Object.assign(new MediaStream(), { tracks, getTracks: () => tracks }) as never;
}

describe('RemoteMedia', () => {
  it('binds the stream again when its tracks change (Chromium plays only the tracks a bound stream had)', async () => {
    const stream = fakeStream();
    vi.spyOn(HTMLMediaElement.prototype, 'play').mockResolvedValue(undefined);
    const { wrapper } = mountWith(RemoteMedia, {
      initialState: { calls: { lines: lines(line({ remoteStream: stream })), activeLine: 1 } },
    });
    await flushPromises();
    const audio = wrapper.get('[data-testid="remote-audio"]').element as HTMLAudioElement;
    const assigned: unknown[] = [];
    const proto = Object.getPrototypeOf(audio) as object;
    const desc =
      Object.getOwnPropertyDescriptor(HTMLMediaElement.prototype, 'srcObject') ??
      Object.getOwnPropertyDescriptor(proto, 'srcObject');
    Object.defineProperty(audio, 'srcObject', {
      configurable: true,
      get: () => desc?.get?.call(audio),
      set: (v: unknown) => {
        assigned.push(v);
        desc?.set?.call(audio, v);
      },
    });
    // the track arrives after the element was bound; the line's version moves
    stream.tracks.push({ id: 'remote-audio-track' });
    const calls = useCallsStore();
    calls.lines[0]!.version += 1;
    await flushPromises();
    expect(assigned).toEqual([null, stream]);
  });

  it('plays the current line’s remote stream in an unmuted autoplay <audio>', async () => {
    const stream = fakeStream();
    const play = vi.spyOn(HTMLMediaElement.prototype, 'play').mockResolvedValue(undefined);
    const { wrapper } = mountWith(RemoteMedia, {
      initialState: {
        calls: {
          lines: lines(
            line({ remoteStream: stream }),
            line({ n: 2, id: 'c2', remoteStream: stream }),
          ),
          activeLine: 1,
        },
      },
    });
    await flushPromises();
    const audio = wrapper.get('[data-testid="remote-audio"]').element as HTMLAudioElement;
    expect(audio.tagName).toBe('AUDIO');
    expect(audio.autoplay).toBe(true);
    expect(audio.muted).toBe(false);
    expect(audio.srcObject).toBe(stream);
    expect(wrapper.find('[data-testid="remote-audio-2"]').exists()).toBe(true);
    expect(play).toHaveBeenCalled();
  });
});

describe('LiveRegion', () => {
  it('announces through a polite live region and shows toasts', async () => {
    const { wrapper } = mountWith(LiveRegion, { stubActions: false });
    const ui = useUiStore();
    ui.announce('Bob: Connected');
    ui.toast('Call failed: 486');
    await nextTick();
    const region = wrapper.get('[data-testid="announcer"]');
    expect(region.attributes('aria-live')).toBe('polite');
    expect(region.text()).toBe('Bob: Connected');
    expect(wrapper.get('[role="alert"]').text()).toContain('Call failed: 486');
  });
});
