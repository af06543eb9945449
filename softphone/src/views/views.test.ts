import { afterEach, describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';
import { enableAutoUnmount, flushPromises } from '@vue/test-utils';
import { mountWith } from '../testing/mount';
import { CLIENT_CONFIG, sampleStats } from '../testing/fake-phone';
import { line } from '../testing/fixtures';
import PhoneView from './PhoneView.vue';
import HistoryView from './HistoryView.vue';
import PrecallView from './PrecallView.vue';
import SettingsView from './SettingsView.vue';
import ContactsView from './ContactsView.vue';
import DiagnosticsView from './DiagnosticsView.vue';
import { useAccountStore } from '../stores/account';
import { useCallsStore } from '../stores/calls';
import { useHistoryStore } from '../stores/history';
import { useDiagnosticsStore } from '../stores/diagnostics';
import { useContactsStore } from '../stores/contacts';
import { useUiStore } from '../stores/ui';
import { setCoreServices, resetCoreServices } from '../stores/core';
import type { HistoryEntry } from '../storage/db';

// A view left mounted keeps loading its lazy parts (the BLF panel) into the next test.
enableAutoUnmount(afterEach);

describe('PhoneView', () => {
  it('signed out: one button per demo user signs in with one click', async () => {
    const { wrapper } = mountWith(PhoneView, {
      initialState: { account: { clientConfig: CLIENT_CONFIG, configState: 'ready' } },
    });
    const buttons = wrapper.findAll('[data-testid^="login-demo-"]');
    expect(buttons.map((b) => b.attributes('data-testid'))).toEqual([
      'login-demo-1001',
      'login-demo-1002',
    ]);
    expect(buttons[0]!.text()).toContain('Alice');
    await buttons[0]!.trigger('click');
    expect(useAccountStore().signInDemo).toHaveBeenCalledWith('1001');
    expect(wrapper.find('[data-testid="dial-input"]').exists()).toBe(false);
  });

  it('signed out without a gateway: points to the settings', async () => {
    const { wrapper } = mountWith(PhoneView, {
      initialState: { account: { configState: 'unavailable' } },
    });
    expect(wrapper.text()).toContain('No gateway configuration');
    await wrapper.get('[data-testid="login-other"]').trigger('click');
    expect(useUiStore().go).toHaveBeenCalledWith('settings');
  });

  it('signed in: lines, incoming call, call panel, quality and dial pad', async () => {
    const { wrapper } = mountWith(PhoneView, {
      initialState: {
        account: {
          identity: { uri: 'sip:1001@localhost', displayName: 'Alice', domain: 'localhost' },
        },
        calls: {
          lines: [
            line({ samples: [sampleStats()] }),
            line({ n: 2, id: 'c2', state: 'incoming', direction: 'incoming', remoteName: 'Carol' }),
            null,
            null,
          ],
          activeLine: 1,
        },
      },
    });
    const account = useAccountStore();
    // @ts-expect-error computed getters are writable in a testing pinia
    account.signedIn = true;
    await nextTick();
    // the sign-in form stays until the phone view is ready (the REGISTER answered)
    expect(wrapper.find('[data-testid="logout-button"]').exists()).toBe(false);
    account.phoneViewReady = true;
    await nextTick();
    expect(wrapper.text()).toContain('Signed in as Alice <sip:1001@localhost>');
    expect(wrapper.get('[data-testid="incoming-call"]').text()).toContain('Carol');
    expect(wrapper.get('[data-testid="line-2"]').attributes('data-state')).toBe('incoming');
    expect(wrapper.get('[data-testid="call-state"]').attributes('data-state')).toBe('established');
    expect(wrapper.find('[data-testid="quality-panel"]').exists()).toBe(true);
    expect(wrapper.find('[data-testid="dial-input"]').exists()).toBe(true);
    await wrapper.get('[data-testid="auto-answer"]').setValue(true);
    expect(account.setCallSetting).toHaveBeenCalledWith('autoAnswer', true);
    await wrapper.get('[data-testid="logout-button"]').trigger('click');
    expect(account.signOut).toHaveBeenCalled();
  });

  it('offers a download link for each recording', async () => {
    const { wrapper } = mountWith(PhoneView, {
      initialState: {
        calls: {
          recordings: [
            { id: 'r', url: 'blob:x', fileName: 'call-1002.webm', size: 2048, remote: '', time: 0 },
          ],
        },
      },
    });
    // @ts-expect-error computed getters are writable in a testing pinia
    useAccountStore().signedIn = true;
    useAccountStore().phoneViewReady = true;
    await nextTick();
    const a = wrapper.get('[data-testid="recording-link"]');
    expect(a.attributes('href')).toBe('blob:x');
    expect(a.attributes('download')).toBe('call-1002.webm');
  });
});

describe('HistoryView', () => {
  const entries: HistoryEntry[] = [
    {
      id: 'a',
      direction: 'outgoing',
      remote: 'sip:9196@localhost',
      start: Date.now(),
      durationSec: 75,
      answered: true,
      endCause: 'Local hangup',
      endedBy: 'local',
      quality: { samples: 10, mosAvg: 4.31, mosMin: 4.1, codec: 'opus' },
    },
    {
      id: 'b',
      direction: 'incoming',
      remote: 'sip:1002@localhost',
      remoteName: 'Bob',
      start: Date.now() - 1000,
      durationSec: 0,
      answered: false,
      endCause: '487 Cancelled',
      endedBy: 'remote',
    },
  ];

  it('lists calls with duration, cause and MOS, clears the missed badge, redials', async () => {
    const { wrapper } = mountWith(HistoryView, { initialState: { history: { entries } } });
    const history = useHistoryStore();
    expect(history.markSeen).toHaveBeenCalled();
    const rows = wrapper.findAll('[data-testid="history-entry"]');
    expect(rows).toHaveLength(2);
    expect(rows[0]!.text()).toContain('1:15');
    expect(rows[0]!.get('[data-testid="history-mos"]').text()).toContain('MOS 4.31 (min 4.10)');
    expect(rows[1]!.attributes('data-missed')).toBe('true');
    expect(rows[1]!.text()).toContain('Missed');
    // @ts-expect-error computed getters are writable in a testing pinia
    useAccountStore().signedIn = true;
    await rows[1]!.get('[data-testid="history-redial"]').trigger('click');
    expect(useUiStore().go).toHaveBeenCalledWith('phone');
    expect(useCallsStore().dial).toHaveBeenCalledWith('sip:1002@localhost');
  });
});

describe('PrecallView', () => {
  it('every check has a test id and status; the overall result is exposed', async () => {
    const { wrapper } = mountWith(PrecallView, {
      initialState: {
        diagnostics: {
          results: {
            webrtc: { name: 'webrtc', status: 'pass', detail: 'webrtcOk' },
            websocket: {
              name: 'websocket',
              status: 'pass',
              detail: 'wsOk',
              params: { openMs: 12, rttMs: 3, status: '200 OK' },
            },
            turn: { name: 'turn', status: 'warn', detail: 'noTurn' },
          },
        },
      },
    });
    const diagnostics = useDiagnosticsStore();
    expect(wrapper.get('[data-testid="check-webrtc"]').attributes('data-status')).toBe('pass');
    expect(wrapper.get('[data-testid="check-websocket"]').text()).toContain(
      'OPTIONS answered “200 OK” in 3 ms',
    );
    expect(wrapper.get('[data-testid="check-turn"]').attributes('data-status')).toBe('warn');
    expect(wrapper.get('[data-testid="check-ice"]').attributes('data-status')).toBe('pending');
    // @ts-expect-error computed getters are writable in a testing pinia
    diagnostics.overall = 'pass';
    await nextTick();
    expect(wrapper.get('[data-testid="precall-result"]').attributes('data-status')).toBe('pass');
    await wrapper.get('[data-testid="precall-run"]').trigger('click');
    expect(diagnostics.runPrecall).toHaveBeenCalled();
    expect(wrapper.find('[data-testid="precall-report"]').exists()).toBe(true);
  });
});

describe('SettingsView', () => {
  it('saves account and WebRTC settings with the password handed to the store', async () => {
    setCoreServices({
      presets: async () => (await import('../phone')).PBX_PRESETS,
    });
    const { wrapper, pinia } = mountWith(SettingsView);
    await flushPromises();
    await wrapper.get('[data-testid="settings-ws-url"]').setValue('wss://pbx.example.com:8089/ws');
    await wrapper.get('[data-testid="settings-sip-uri"]').setValue('sip:2001@pbx.example.com');
    await wrapper.get('[data-testid="settings-password"]').setValue('s3cret');
    await wrapper.get('[data-testid="settings-preset"]').setValue('asterisk');
    expect(wrapper.get('[data-testid="preset-why"]').text()).toContain('keep-alive every 30 s');
    await vi.waitFor(() =>
      expect(wrapper.get('[data-testid="preset-why"]').text()).toContain(
        'Keep-alive: every 30 s; session timers: Yes',
      ),
    );
    await wrapper.get('form').trigger('submit');
    await flushPromises();
    const account = useAccountStore(pinia);
    expect(account.saveAccount).toHaveBeenCalledWith(
      expect.objectContaining({
        account: expect.objectContaining({
          wsUrl: 'wss://pbx.example.com:8089/ws',
          sipUri: 'sip:2001@pbx.example.com',
          pbxPreset: 'asterisk',
        }),
        password: 's3cret',
      }),
    );
    // The field is emptied once handed over.
    expect(
      (wrapper.get('[data-testid="settings-password"]').element as HTMLInputElement).value,
    ).toBe('');
    resetCoreServices();
  });

  it('refuses an invalid server URL and says why', async () => {
    const { wrapper } = mountWith(SettingsView);
    await wrapper.get('[data-testid="settings-ws-url"]').setValue('https://nope');
    await wrapper.get('form').trigger('submit');
    await flushPromises();
    expect(useAccountStore().saveAccount).not.toHaveBeenCalled();
    const input = wrapper.get('[data-testid="settings-ws-url"]');
    expect(input.attributes('aria-invalid')).toBe('true');
    expect(wrapper.get(`#${input.attributes('aria-describedby')}`).text()).toContain('wss://');
  });
});

describe('ContactsView', () => {
  it('adds a contact and shows presence', async () => {
    const { wrapper } = mountWith(ContactsView, {
      initialState: {
        contacts: {
          contacts: [{ id: 'c1', name: 'Bob', uri: '1002', watchPresence: true }],
          presence: { 'sip:1002@localhost': { status: 'open', subscription: 'active' } },
        },
      },
      stubActions: false,
    });
    const contacts = useContactsStore();
    expect(wrapper.get('[data-testid="presence-c1"]').attributes('data-status')).toBe('open');
    expect(wrapper.get('[data-testid="presence-c1"]').attributes('aria-label')).toBe('Available');
    const save = vi
      .spyOn(contacts, 'save')
      .mockResolvedValue({ id: 'x', name: 'Carol', uri: '1003', watchPresence: true });
    await wrapper.get('[data-testid="contact-add"]').trigger('click');
    await wrapper.get('[data-testid="contact-name"]').setValue('Carol');
    await wrapper.get('[data-testid="contact-uri"]').setValue('1003');
    await wrapper.get('[data-testid="contact-form"]').trigger('submit');
    expect(save).toHaveBeenCalledWith(
      expect.objectContaining({ name: 'Carol', uri: '1003', watchPresence: true }),
    );
  });
});

describe('DiagnosticsView', () => {
  it('draws the ladder, expands a message and exports the redacted trace', async () => {
    const { wrapper } = mountWith(DiagnosticsView, {
      initialState: {
        diagnostics: {
          trace: [
            {
              seq: 1,
              direction: 'sent',
              time: 1,
              firstLine: 'REGISTER sip:localhost SIP/2.0',
              text: 'REGISTER sip:localhost SIP/2.0\r\nAuthorization: [REDACTED]',
              callId: 'a',
            },
            {
              seq: 2,
              direction: 'received',
              time: 2,
              firstLine: 'SIP/2.0 200 OK',
              text: 'SIP/2.0 200 OK',
              callId: 'a',
            },
          ],
        },
      },
    });
    const entries = wrapper.findAll('[data-testid="trace-entry"]');
    expect(entries.map((e) => e.attributes('data-direction'))).toEqual(['sent', 'received']);
    expect(entries[0]!.text()).toContain('REGISTER sip:localhost SIP/2.0');
    const toggle = entries[0]!.get('button');
    expect(toggle.attributes('aria-expanded')).toBe('false');
    await toggle.trigger('click');
    expect(toggle.attributes('aria-expanded')).toBe('true');
    expect(entries[0]!.get('pre').text()).toContain('Authorization: [REDACTED]');

    const diagnostics = useDiagnosticsStore();
    vi.mocked(diagnostics.exportTrace).mockReturnValue('the export');
    const create = vi.fn(() => 'blob:trace');
    vi.stubGlobal('URL', Object.assign(URL, { createObjectURL: create, revokeObjectURL: vi.fn() }));
    const click = vi
      .spyOn(HTMLAnchorElement.prototype, 'click')
      .mockImplementation(() => undefined);
    await wrapper.get('[data-testid="trace-export"]').trigger('click');
    expect(diagnostics.exportTrace).toHaveBeenCalled();
    expect(click).toHaveBeenCalled();
    const blob = (create.mock.calls[0] as unknown as [Blob])[0];
    expect(await blob.text()).toBe('the export');
    vi.unstubAllGlobals();
  });
});
