// Regressions found against a real Asterisk by a new user (issue 12). Each
// test failed before its fix.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';
import { flushPromises } from '@vue/test-utils';
import { mountWith } from './testing/mount';
import { line } from './testing/fixtures';
import { fakeCore, mockClientConfig } from './testing/fake-phone';
import App from './App.vue';
import SettingsView from './views/SettingsView.vue';
import { useAccountStore } from './stores/account';
import { useCallsStore } from './stores/calls';
import { resetCoreServices, setCoreServices } from './stores/core';
import { loadSettings } from './storage/settings';

afterEach(() => {
  resetCoreServices();
  vi.unstubAllGlobals();
  document.body.innerHTML = '';
});

describe('an incoming call is visible and answerable from every view', () => {
  it('shows the answer panel while the user is on Settings', async () => {
    mockClientConfig(null);
    setCoreServices({ presets: async () => (await import('./phone')).PBX_PRESETS });
    const { wrapper } = mountWith(App, {
      attachTo: document.body,
      stubActions: false,
      initialState: {
        ui: { view: 'settings' },
        account: {
          identity: { uri: 'sip:1001@localhost', displayName: 'Alice', domain: 'localhost' },
        },
        calls: {
          lines: [
            line({ id: 'c9', state: 'incoming', direction: 'incoming', remoteName: 'Carol' }),
            null,
            null,
            null,
          ],
        },
      },
    });
    await flushPromises();
    await nextTick();
    const calls = useCallsStore();
    const answer = vi.spyOn(calls, 'answer').mockResolvedValue(undefined);
    const panel = wrapper.get('[data-testid="incoming-call"]');
    expect(panel.text()).toContain('Carol');
    await panel.get('[data-testid="answer-button"]').trigger('click');
    expect(answer).toHaveBeenCalledWith(1);
    // The nav says there is a call ringing, too.
    expect(wrapper.get('[data-testid="nav-phone"]').text()).toMatch(/1/);
    wrapper.unmount();
  });
});

describe('Settings after “Save and sign in”', () => {
  it('shows “Sign in automatically” as it was saved, so saving again keeps it', async () => {
    mockClientConfig(null);
    const core = fakeCore();
    setCoreServices(core.services);
    const { wrapper } = mountWith(SettingsView, { stubActions: false });
    // Taken now: a store action elsewhere (another test's timers) may switch the active Pinia.
    const account = useAccountStore();
    await flushPromises();
    await wrapper.get('[data-testid="settings-ws-url"]').setValue('wss://pbx.example.com:8089/ws');
    await wrapper.get('[data-testid="settings-sip-uri"]').setValue('sip:2001@pbx.example.com');
    await wrapper.get('[data-testid="settings-password"]').setValue('s3cret');
    // A new user leaves the box as it is; signing in turns automatic sign-in on.
    await wrapper.get('[data-testid="settings-save-signin"]').trigger('click');
    await vi.waitFor(() => expect(account.registered).toBe(true));
    await flushPromises();
    expect(loadSettings().autoLogin).toBe(true);
    const box = wrapper.get('[data-testid="settings-auto-login"]').element as HTMLInputElement;
    expect(box.checked).toBe(true);
    // Signed in already: "Save and sign in" again signs out and in, and must keep it on.
    await wrapper.get('[data-testid="settings-save-signin"]').trigger('click');
    await vi.waitFor(() => expect(core.phones).toHaveLength(2));
    await vi.waitFor(() => expect(account.registered).toBe(true));
    await flushPromises();
    expect(loadSettings().autoLogin).toBe(true);
    expect(box.checked).toBe(true);
    await wrapper.get('form').trigger('submit');
    await flushPromises();
    expect(loadSettings().autoLogin).toBe(true);
  });
});
