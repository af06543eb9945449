// Builds a Phone wired to a FakeSipServer and fake WebRTC, for the unit tests.

import { Phone } from '../phone';
import type { PhoneDependencies } from '../phone';
import type { PhoneConfig, PhoneEvents } from '../types';
import { FakeSipServer } from './fake-sip-server';
import type { FakeSipServerOptions } from './fake-sip-server';
import { FakeMediaDevices, FakeRTCPeerConnection, fakeMediaGlobals } from './fake-webrtc';

export const PASSWORD = 'demo-1001-pw';

export function makePhone(
  config: Partial<PhoneConfig> = {},
  deps: PhoneDependencies = {},
  serverOptions: FakeSipServerOptions = {},
) {
  const server = new FakeSipServer(serverOptions);
  const mediaDevices = new FakeMediaDevices();
  FakeRTCPeerConnection.instances = [];
  const logs: string[] = [];
  const phone = new Phone(
    {
      wsUrl: 'wss://127.0.0.1:8443/ws',
      sipUri: 'sip:1001@localhost',
      password: PASSWORD,
      displayName: 'Alice',
      pbxPreset: 'kamailio',
      iceGatheringTimeoutMs: 200,
      ...config,
    },
    {
      WebSocket: server.WebSocket,
      mediaDevices: mediaDevices as unknown as PhoneDependencies['mediaDevices'],
      ...fakeMediaGlobals(),
      random: () => 1,
      logLevel: 'debug',
      log: (_level, category, message) => logs.push(`${category} ${message}`),
      ...deps,
    },
  );
  const events: { [K in keyof PhoneEvents]?: PhoneEvents[K][] } = {};
  const record = <K extends keyof PhoneEvents>(name: K) =>
    phone.on(name, (ev) => {
      const list = (events[name] ?? []) as PhoneEvents[K][];
      list.push(ev);
      (events as Record<string, unknown>)[name] = list;
    });
  (
    [
      'registration',
      'connection',
      'incomingCall',
      'callAdded',
      'callEnded',
      'message',
      'presence',
      'dialog',
      'error',
    ] as const
  ).forEach((n) => record(n));
  return { phone, server, mediaDevices, events, logs };
}

/** Lets queued microtasks (fake socket deliveries, SIP.js promise chains) run. */
export async function flush(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

/** Waits (real timers) until cond() holds. */
export async function until(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
