// Mounts a component with the app's i18n and a testing Pinia whose actions are spies.
import { mount, type ComponentMountingOptions } from '@vue/test-utils';
import { createTestingPinia } from '@pinia/testing';
import { vi } from 'vitest';
import type { Component } from 'vue';
import { i18n } from '../i18n';

export function mountWith<C extends Component>(
  component: C,
  options: {
    initialState?: Record<string, unknown>;
    stubActions?: boolean;
    props?: Record<string, unknown>;
    attachTo?: HTMLElement;
  } = {},
) {
  const pinia = createTestingPinia({
    createSpy: vi.fn,
    initialState: options.initialState,
    stubActions: options.stubActions ?? true,
  });
  const wrapper = mount(component, {
    props: options.props,
    attachTo: options.attachTo,
    global: { plugins: [pinia, i18n] },
  } as ComponentMountingOptions<C>);
  return { wrapper, pinia };
}
