import { beforeEach, describe, expect, it } from 'vitest';
import { nextTick } from 'vue';
import { useAgentStore } from './agent';
import { useBlfStore, blfStatus, ownPresence } from './blf';
import { useContactsStore } from './contacts';
import { useUiStore } from './ui';
import { flush, contactCenterFixture } from '../testing/contact-center';
import { mount } from '@vue/test-utils';
import { getActivePinia } from 'pinia';
import { i18n } from '../i18n';
import TransferStatus from '../components/TransferStatus.vue';
import BlfPanel from '../components/BlfPanel.vue';

// Presence and BLF in the stores: colleagues (the directory's demo users)
// watched through the core's dialog and presence subscriptions, their line
// states live, our own presence published (away while not ready).

beforeEach(() => {
  localStorage.clear();
});
const cc = contactCenterFixture();
beforeEach(() => {
  useContactsStore();
});

describe('BLF store', () => {
  it('watches every colleague’s line and presence once registered, and shows idle → ringing → busy → idle', async () => {
    const blf = useBlfStore();
    await cc.signIn('1001');
    expect(cc.phone.subscribeDialog.mock.calls.map((c) => c[0]).sort()).toEqual([
      'sip:1002@localhost',
      'sip:1003@localhost',
    ]);
    expect(cc.phone.subscribePresence.mock.calls.map((c) => c[0]).sort()).toEqual([
      'sip:1002@localhost',
      'sip:1003@localhost',
    ]);
    expect(blf.keys.map((k) => k.name)).toEqual(['Bob', 'Carol']);
    expect(blf.statusOf('1002')).toBe('unknown');
    const ui = useUiStore();
    const line = (state: 'idle' | 'ringing' | 'busy') =>
      cc.phone.emit('dialog', { target: 'sip:1002@localhost', state, subscription: 'active' });
    line('idle');
    expect(blf.statusOf('1002')).toBe('idle');
    line('ringing');
    expect(blf.statusOf('sip:1002@localhost')).toBe('ringing');
    expect(ui.announcement).toBe('Bob: Ringing');
    line('busy');
    expect(blf.statusOf('1002')).toBe('busy');
    line('idle');
    expect(blf.statusOf('1002')).toBe('idle');
    // presence: away, offline
    cc.phone.emit('presence', {
      target: 'sip:1003@localhost',
      status: 'open',
      away: true,
      note: 'Lunch',
      subscription: 'active',
    });
    expect(blf.statusOf('1003')).toBe('away');
    expect(blf.noteOf('1003')).toBe('Lunch');
  });

  it('keys added by the user are watched and kept; a watched contact is watched once', async () => {
    const blf = useBlfStore();
    await cc.signIn('1001');
    expect(blf.addKey('sip:2000@localhost', 'Reception')).toBe(true);
    expect(blf.addKey('2000', 'Again')).toBe(false);
    await nextTick();
    expect(cc.phone.subscribeDialog).toHaveBeenCalledWith('sip:2000@localhost');
    expect(JSON.parse(localStorage.getItem('softphone.blf') ?? '[]')).toEqual([
      { uri: 'sip:2000@localhost', name: 'Reception' },
    ]);
    await useContactsStore().save({ name: 'Bobby', uri: '1002', watchPresence: true });
    await nextTick();
    expect(blf.keys.find((k) => k.key === 'sip:1002@localhost')?.name).toBe('Bobby');
    expect(
      cc.phone.subscribeDialog.mock.calls.filter((c) => c[0] === 'sip:1002@localhost'),
    ).toHaveLength(1);
    blf.removeKey('sip:2000@localhost');
    await nextTick();
    expect(blf.keys.some((k) => k.key === 'sip:2000@localhost')).toBe(false);
  });

  it('publishes our own presence: available, away while the agent is not ready', async () => {
    useBlfStore();
    await cc.signIn('1003');
    const agent = useAgentStore();
    expect(agent.isAgent).toBe(true);
    await flush();
    // the fake gateway's agent starts not ready
    expect(cc.phone.published).toEqual({ status: 'open', away: true, note: 'Away' });
    cc.server.update('1003', { state: 'available', reason: null });
    await nextTick();
    expect(cc.phone.published).toEqual({ status: 'open' });
    cc.server.update('1003', { state: 'not-ready', reason: 'Lunch' });
    await nextTick();
    expect(cc.phone.published).toEqual({ status: 'open', away: true, note: 'Lunch' });
  });

  it('the transfer form shows the typed colleague’s line state and offers colleagues as picks', async () => {
    const blf = useBlfStore();
    await cc.signIn('1001');
    cc.phone.emit('dialog', {
      target: 'sip:1002@localhost',
      state: 'busy',
      subscription: 'active',
    });
    const wrapper = mount(TransferStatus, {
      props: { target: '1002' },
      global: { plugins: [getActivePinia()!, i18n] },
    });
    expect(useBlfStore()).toBe(blf);
    await nextTick();
    const status = wrapper.get('[data-testid="transfer-target-status"]');
    expect(status.attributes('data-status')).toBe('busy');
    expect(status.text()).toBe('Bob is Busy');
    await wrapper.get('[data-testid="transfer-pick-1003"]').trigger('click');
    expect(wrapper.emitted('pick')?.[0]).toEqual(['1003']);
  });

  it("shows a colleague's contact-center state (published by the gateway) on their key", async () => {
    const blf = useBlfStore();
    await cc.signIn('1001');
    const agent = (state: string, extra: { reason?: string; away?: boolean } = {}) =>
      cc.phone.emit('presence', {
        target: 'sip:1003@localhost',
        status: state === 'offline' ? 'closed' : 'open',
        ...(extra.away ? { away: true } : {}),
        agent: { state, note: state, ...(extra.reason ? { reason: extra.reason } : {}) },
        subscription: 'active',
      });
    agent('wrap-up');
    expect(blf.statusOf('1003')).toBe('busy');
    expect(blf.agentLabelOf('1003')).toBe('Wrap-up');
    agent('not-ready', { reason: 'Lunch', away: true });
    expect(blf.statusOf('1003')).toBe('away');
    expect(blf.agentLabelOf('1003')).toBe('Paused: Lunch');
    agent('available');
    expect(blf.statusOf('1003')).toBe('idle');
    expect(blf.agentLabelOf('1003')).toBe('Ready');
    // a state this softphone does not know yet: the gateway's own words
    agent('coaching');
    expect(blf.agentLabelOf('1003')).toBe('coaching');
    agent('wrap-up');
    const panel = mount(BlfPanel, { global: { plugins: [getActivePinia()!, i18n] } });
    expect(panel.get('[data-testid="blf-agent-sip:1003@localhost"]').text()).toBe('Wrap-up');
    expect(
      panel.get('[data-testid="blf-key-sip:1003@localhost"] button').attributes('aria-label'),
    ).toBe('Call Carol (Busy, Wrap-up)');
    // a colleague who is no agent shows no such line
    expect(panel.find('[data-testid="blf-agent-sip:1002@localhost"]').exists()).toBe(false);
    panel.unmount();
  });

  it('combines line and presence', () => {
    expect(blfStatus(undefined, undefined)).toBe('unknown');
    expect(blfStatus('idle', { status: 'closed', away: false })).toBe('offline');
    expect(blfStatus('busy', { status: 'closed', away: false })).toBe('busy');
    expect(blfStatus(undefined, { status: 'open', away: false })).toBe('idle');
    expect(ownPresence('not-ready', null)).toEqual({ status: 'open', away: true, note: 'Away' });
    expect(ownPresence(undefined, null)).toEqual({ status: 'open' });
  });
});
