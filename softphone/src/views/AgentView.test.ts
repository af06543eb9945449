import { afterEach, describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';
import { mountWith } from '../testing/mount';
import { line } from '../testing/fixtures';
import { samplePop, sampleView } from '../phone/testing/fake-agent-server';
import AgentView from './AgentView.vue';
import NavBar from '../components/NavBar.vue';
import AgentShortcuts from '../components/AgentShortcuts.vue';
import { useAgentStore } from '../stores/agent';
import { useCallsStore } from '../stores/calls';
import { i18n, setLanguage } from '../i18n';

afterEach(async () => {
  vi.useRealTimers();
  await setLanguage('en');
});

function mountAgent(view = sampleView(), calls: Record<string, unknown> = {}) {
  return mountWith(AgentView, {
    initialState: {
      agent: { status: 'agent', view, connection: 'open', now: Date.now() },
      calls,
    },
  });
}

describe('AgentView', () => {
  it('shows the state with time in state, reason codes, queues and today’s figures', async () => {
    const { wrapper } = mountAgent(
      sampleView({
        state: 'not-ready',
        reason: 'Lunch',
        since: new Date(Date.now() - 65_000).toISOString(),
      }),
    );
    const agent = useAgentStore();
    // @ts-expect-error computed getters are writable in a testing pinia
    agent.isAgent = true;
    // @ts-expect-error computed getters are writable in a testing pinia
    agent.state = 'not-ready';
    // @ts-expect-error computed getters are writable in a testing pinia
    agent.secondsInState = 65;
    await nextTick();
    expect(wrapper.find('[data-testid="agent-view"]').exists()).toBe(true);
    const state = wrapper.get('[data-testid="agent-state"]');
    expect(state.attributes('data-state')).toBe('not-ready');
    expect(wrapper.get('[data-testid="agent-time-in-state"]').text()).toBe('1:05');
    expect(wrapper.findAll('[data-testid="agent-reason"] option').map((o) => o.text())).toEqual([
      'Break',
      'Lunch',
      'Training',
    ]);
    expect(wrapper.get('[data-testid="agent-queue-sales"]').attributes('data-logged-in')).toBe(
      'true',
    );
    expect(wrapper.get('[data-testid="agent-queue-waiting-sales"]').text()).toBe('2');
    expect(wrapper.get('[data-testid="agent-queue-support"]').attributes('data-logged-in')).toBe(
      'false',
    );
    expect(wrapper.get('[data-testid="agent-today-handled"]').text()).toBe('3');
    expect(wrapper.get('[data-testid="agent-today-aht"]').text()).toBe('2:05');
    expect(wrapper.get('[data-testid="agent-shortcuts"]').text()).toContain('Alt+Shift+A');

    await wrapper.get('[data-testid="agent-ready"]').trigger('click');
    expect(agent.setReady).toHaveBeenCalled();
    await wrapper.get('[data-testid="agent-reason"]').setValue('Training');
    expect(agent.setNotReady).toHaveBeenCalledWith('Training');
    await wrapper.get('[data-testid="agent-state-select"]').setValue('offline');
    expect(agent.goOffline).toHaveBeenCalled();
    await wrapper.get('[data-testid="agent-queue-toggle-support"]').setValue(true);
    expect(agent.setQueue).toHaveBeenCalledWith('support', true);
  });

  it('screen-pop with CRM link, earlier contacts, answer and decline', async () => {
    const { wrapper } = mountAgent(sampleView({ state: 'offered', offer: samplePop() }), {
      lines: [
        line({
          state: 'incoming',
          direction: 'incoming',
          queueCall: { queue: 'sales', callId: 'qc-1', waitedSec: 12 },
        }),
        null,
        null,
        null,
      ],
    });
    const agent = useAgentStore();
    // @ts-expect-error computed getters are writable in a testing pinia
    agent.offerLine = useCallsStore().lines[0];
    await nextTick();
    const pop = wrapper.get('[data-testid="agent-offer"]');
    expect(pop.attributes('data-call-id')).toBe('qc-1');
    expect(pop.text()).toContain('Alice');
    expect(pop.text()).toContain('+15550101001');
    expect(pop.text()).toContain('Sales');
    expect(wrapper.get('[data-testid="agent-waited"]').text()).toBe('0:12');
    expect(wrapper.get('[data-testid="agent-crm-link"]').attributes('href')).toBe(
      'https://crm.example.com/search?phone=%2B15550101001',
    );
    expect(wrapper.get('[data-testid="agent-earlier"]').text()).toContain('Resolved');
    await wrapper.get('[data-testid="agent-answer"]').trigger('click');
    expect(agent.answerOffer).toHaveBeenCalled();
    await wrapper.get('[data-testid="agent-decline"]').trigger('click');
    expect(agent.declineOffer).toHaveBeenCalled();
  });

  it('on a call of a recording queue the agent sees "Recorded"; on other calls and offers not', async () => {
    const onCall = (recorded?: boolean) =>
      sampleView({
        state: 'on-call',
        call: { ...samplePop(), answeredAt: new Date().toISOString(), recorded },
      });
    const { wrapper } = mountAgent(onCall(true));
    await nextTick();
    const badge = wrapper.get('[data-testid="agent-call"] [data-testid="agent-recorded"]');
    expect(badge.text()).toBe('Recorded');
    expect(badge.attributes('role')).toBe('status');

    const agent = useAgentStore();
    agent.view = onCall(false);
    await nextTick();
    expect(wrapper.find('[data-testid="agent-call"]').exists()).toBe(true);
    expect(wrapper.find('[data-testid="agent-recorded"]').exists()).toBe(false);
    agent.view = onCall(undefined);
    await nextTick();
    expect(wrapper.find('[data-testid="agent-recorded"]').exists()).toBe(false);
    // The offer of a call that will be recorded shows no badge yet (it is not recording).
    agent.view = sampleView({
      state: 'offered',
      offer: { ...samplePop(), recorded: true } as never,
    });
    await nextTick();
    expect(wrapper.find('[data-testid="agent-offer"]').exists()).toBe(true);
    expect(wrapper.find('[data-testid="agent-recorded"]').exists()).toBe(false);

    await setLanguage('zh-CN');
    agent.view = onCall(true);
    await nextTick();
    expect(wrapper.get('[data-testid="agent-recorded"]').text()).toBe('正在录音');
  });

  it('wrap-up: countdown, dispositions of the queue, notes, save', async () => {
    const { wrapper } = mountAgent(
      sampleView({
        state: 'wrap-up',
        wrapUp: {
          callId: 'qc-1',
          queue: 'sales',
          endsAt: new Date(Date.now() + 30_000).toISOString(),
          dispositions: ['Sale', 'No sale'],
        },
      }),
    );
    const agent = useAgentStore();
    // @ts-expect-error computed getters are writable in a testing pinia
    agent.wrapUpSecondsLeft = 30;
    await nextTick();
    const w = wrapper.get('[data-testid="agent-wrapup"]');
    expect(w.attributes('data-seconds-left')).toBe('30');
    expect(w.text()).toContain('0:30 left');
    const save = wrapper.get('[data-testid="agent-wrapup-save"]');
    expect(save.attributes('disabled')).toBeDefined();
    await wrapper.get('[data-testid="agent-disposition"]').setValue('No sale');
    await wrapper.get('[data-testid="agent-notes"]').setValue('busy, call later');
    await wrapper.get('form').trigger('submit');
    expect(agent.saveWrapUp).toHaveBeenCalledWith('No sale', 'busy, call later');
  });

  it('is complete in Simplified Chinese', async () => {
    await setLanguage('zh-CN');
    const { wrapper } = mountAgent(sampleView({ state: 'available' }));
    const agent = useAgentStore();
    // @ts-expect-error computed getters are writable in a testing pinia
    agent.state = 'available';
    await nextTick();
    expect(wrapper.text()).toContain('坐席');
    expect(wrapper.text()).toContain('今日');
    expect(i18n.global.t('agent.states.wrap-up')).toBe('话后处理');
  });
});

describe('Agent tab and shortcuts', () => {
  it('the Agent tab is there only for agents', async () => {
    const { wrapper } = mountWith(NavBar, { initialState: { agent: { status: 'not-agent' } } });
    expect(wrapper.find('[data-testid="nav-agent"]').exists()).toBe(false);
    const agent = useAgentStore();
    // @ts-expect-error computed getters are writable in a testing pinia
    agent.isAgent = true;
    await nextTick();
    expect(wrapper.find('[data-testid="nav-agent"]').exists()).toBe(true);
  });

  it('Alt+Shift+A answers, +D declines, +H hangs up, +R toggles ready', async () => {
    const { wrapper } = mountWith(AgentShortcuts, {
      attachTo: document.body,
      initialState: {
        calls: { lines: [line({ state: 'incoming', direction: 'incoming' }), null, null, null] },
      },
    });
    const calls = useCallsStore();
    const agent = useAgentStore();
    const key = (code: string) =>
      document.dispatchEvent(new KeyboardEvent('keydown', { code, altKey: true, shiftKey: true }));
    key('KeyA');
    await nextTick();
    expect(calls.answer).toHaveBeenCalledWith(1);
    key('KeyD');
    expect(calls.decline).toHaveBeenCalledWith(1);
    key('KeyH');
    await nextTick();
    expect(agent.hangup).toHaveBeenCalled();
    key('KeyR');
    await nextTick();
    expect(agent.toggleReady).toHaveBeenCalled();
    // Without Alt+Shift nothing happens.
    document.dispatchEvent(new KeyboardEvent('keydown', { code: 'KeyR' }));
    expect(agent.toggleReady).toHaveBeenCalledTimes(1);
    wrapper.unmount();
  });
});
