import { afterEach, describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';
import { flushPromises } from '@vue/test-utils';
import { mountWith } from './testing/mount';
import { mockClientConfig } from './testing/fake-phone';
import App from './App.vue';
import { useAgentStore } from './stores/agent';
import { useUiStore } from './stores/ui';

afterEach(() => {
  vi.unstubAllGlobals();
  document.body.innerHTML = '';
});

describe('App and the Agent view', () => {
  it('an agent lands on the Agent view; a user refused by the agent API leaves it', async () => {
    mockClientConfig();
    const { wrapper } = mountWith(App, {
      stubActions: false,
      initialState: { ui: { view: 'phone' } },
    });
    await flushPromises();
    const agent = useAgentStore();
    const ui = useUiStore();
    agent.status = 'checking';
    await nextTick();
    agent.status = 'agent';
    await nextTick();
    expect(ui.view).toBe('agent');
    agent.status = 'not-agent';
    await nextTick();
    expect(ui.view).toBe('phone');
    await flushPromises();
    wrapper.unmount();
  });
});
