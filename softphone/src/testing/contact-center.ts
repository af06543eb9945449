// The set-up the contact-center store tests share: a fresh Pinia, the core
// faked at its boundary, the gateway's agent and supervisor APIs faked at the
// fetch/EventSource boundary (FakeAgentServer), and a demo sign-in.
import { afterEach, beforeEach, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { useAccountStore } from '../stores/account';
import { useAgentStore } from '../stores/agent';
import { useCallsStore } from '../stores/calls';
import { resetCoreServices, setCoreServices } from '../stores/core';
import { AgentClient } from '../phone/agent';
import { SupervisorClient } from '../phone/supervisor';
import { FakeAgentServer } from '../phone/testing/fake-agent-server';
import { fakeCore, mockClientConfig, type FakePhone } from './fake-phone';

export type DemoUser = '1001' | '1002' | '1003';

const DEMO_ACCOUNTS = [
  { username: '1001', password: 'demo-1001-pw', displayName: 'Alice' },
  { username: '1002', password: 'demo-1002-pw', displayName: 'Bob' },
  { username: '1003', password: 'demo-1003-pw', displayName: 'Carol' },
] as const;

/** Lets the stores' promise chains and timers of 0 ms run. */
export const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 0));
};

/** For beforeEach: the fakes wired in through setCoreServices. */
export function installFakeContactCenter(): {
  core: ReturnType<typeof fakeCore>;
  server: FakeAgentServer;
} {
  setActivePinia(createPinia());
  const core = fakeCore();
  const server = new FakeAgentServer();
  setCoreServices({
    ...core.services,
    createAgentClient: async (opts) =>
      new AgentClient({
        ...opts,
        baseUrl: server.base,
        fetch: server.fetch,
        EventSource: server.EventSource,
      }),
    createSupervisorClient: async (opts) =>
      new SupervisorClient({
        ...opts,
        baseUrl: `${server.origin}/api/supervisor/`,
        fetch: server.fetch,
        EventSource: server.EventSource,
      }),
  });
  return { core, server };
}

/** For afterEach: stops the agent client's timers and stream, undoes the fakes. */
export function removeFakeContactCenter(): void {
  useAgentStore().stop();
  resetCoreServices();
  vi.unstubAllGlobals();
}

/**
 * Signs `user` in with one click (the client config offers `users` as demo
 * accounts) and gives the phone the account store created.
 */
export async function signInDemo(
  core: ReturnType<typeof fakeCore>,
  user: DemoUser,
  users: readonly DemoUser[] = ['1001', '1002', '1003'],
): Promise<FakePhone> {
  mockClientConfig({
    domain: 'localhost',
    wsUrl: 'wss://127.0.0.1:8443/ws',
    iceServers: [],
    demoAccounts: DEMO_ACCOUNTS.filter((a) => users.includes(a.username)),
  });
  const account = useAccountStore();
  await account.init();
  await account.signInDemo(user);
  const phone = core.phones.at(-1)!;
  await flush();
  return phone;
}

/** What a contact-center store test works with; fresh for every test. */
export interface ContactCenterFixture {
  readonly server: FakeAgentServer;
  /** The phone of the last sign-in. */
  readonly phone: FakePhone;
  signIn(user: DemoUser): Promise<FakePhone>;
}

/**
 * Registers the beforeEach/afterEach of a contact-center store test: the
 * fakes installed with the calls store, removed after; sign-ins offer `users`.
 */
export function contactCenterFixture(users?: readonly DemoUser[]): ContactCenterFixture {
  let core: ReturnType<typeof fakeCore> | undefined;
  let server: FakeAgentServer | undefined;
  let phone: FakePhone | undefined;
  beforeEach(() => {
    ({ core, server } = installFakeContactCenter());
    phone = undefined;
    useCallsStore();
  });
  afterEach(removeFakeContactCenter);
  return {
    get server() {
      if (!server) throw new Error('contactCenterFixture: no test is running');
      return server;
    },
    get phone() {
      if (!phone) throw new Error('contactCenterFixture: nobody signed in yet');
      return phone;
    },
    async signIn(user) {
      if (!core) throw new Error('contactCenterFixture: no test is running');
      phone = await signInDemo(core, user, users);
      return phone;
    },
  };
}
