import { describe, expect, it, vi } from 'vitest';
import { useAccountStore } from './account';
import { useAgentStore, formatDuration, normalizeNumber, startEarlyAgentSignIn } from './agent';
import { defaultSettings, saveSettings } from '../storage/settings';
import { useUiStore } from './ui';
import { contactCenterFixture } from '../testing/contact-center';
import { samplePop } from '../phone/testing/fake-agent-server';

const cc = contactCenterFixture(['1001', '1003']);

describe('agent store', () => {
  it('an agent is signed in to the agent API with the SIP credentials and follows the view', async () => {
    const agent = useAgentStore();
    await cc.signIn('1003');
    expect(agent.status).toBe('agent');
    expect(agent.isAgent).toBe(true);
    expect(agent.view?.state).toBe('not-ready');
    expect(JSON.stringify(cc.server.requests)).not.toContain('demo-1003-pw');
    cc.server.update('1003', { state: 'available', since: new Date().toISOString() });
    expect(agent.state).toBe('available');
    expect(useUiStore().announcement).toBe('Agent state: Available');
  });

  it('a user who is not an agent gets no agent view', async () => {
    const agent = useAgentStore();
    await cc.signIn('1001');
    expect(agent.status).toBe('not-agent');
    expect(agent.isAgent).toBe(false);
    expect(cc.server.sources).toHaveLength(0);
  });

  it('state, reason codes, queues and wrap-up go to the gateway', async () => {
    const agent = useAgentStore();
    await cc.signIn('1003');
    await agent.setReady();
    expect(agent.state).toBe('available');
    await agent.toggleReady('Lunch');
    expect(agent.view?.reason).toBe('Lunch');
    await agent.toggleReady();
    expect(agent.state).toBe('available');
    await agent.setQueue('support', true);
    expect(agent.view?.queues.find((q) => q.name === 'support')?.loggedIn).toBe(true);
    cc.server.update('1003', {
      state: 'wrap-up',
      wrapUp: {
        callId: 'qc-1',
        queue: 'sales',
        endsAt: new Date(Date.now() + 20_500).toISOString(),
        dispositions: ['Sale', 'No sale'],
      },
    });
    expect(agent.wrapUpSecondsLeft).toBe(21);
    expect(await agent.saveWrapUp('Sale', '  call back Friday ')).toBe(true);
    expect(cc.server.requests.at(-1)?.body).toEqual({
      callId: 'qc-1',
      disposition: 'Sale',
      notes: 'call back Friday',
    });
    expect(agent.state).toBe('available');
    // A refused action is a toast, not a throw.
    expect(await agent.setNotReady('Nap')).toBe(false);
    expect(useUiStore().toasts.at(-1)?.text).toContain('unknown reason code');
  });

  it('the offer is tied to its SIP INVITE by X-Queue-Call: answer and decline act on that call', async () => {
    const agent = useAgentStore();
    await cc.signIn('1003');
    const other = cc.phone.ring('sip:1002@localhost', 'Bob');
    const c = cc.phone.ring('sip:+15550101001@localhost', 'Alice', {
      queue: 'sales',
      callId: 'qc-1',
      waitedSec: 12,
    });
    cc.server.update('1003', { state: 'offered', offer: samplePop() });
    expect(useUiStore().announcement).toBe('Queue call from Alice in Sales, waited 0:12');
    expect(agent.offerLine?.id).toBe(c.id);
    await agent.answerOffer();
    expect(c.answer).toHaveBeenCalled();
    expect(other.answer).not.toHaveBeenCalled();
    const d = cc.phone.ring('sip:+15550101009@localhost', 'Dan', {
      queue: 'sales',
      callId: 'qc-2',
    });
    cc.server.update('1003', { offer: samplePop({ callId: 'qc-2' }) });
    await agent.declineOffer();
    expect(d.decline).toHaveBeenCalled();
  });

  it('signing out stops the agent client', async () => {
    const agent = useAgentStore();
    await cc.signIn('1003');
    await useAccountStore().signOut();
    expect(agent.status).toBe('none');
    expect(agent.view).toBeUndefined();
    expect(cc.server.sources[0]!.readyState).toBe(2);
  });
});

describe('helpers', () => {
  it('a known agent signing in automatically has the Digest challenge asked for at page start', () => {
    const fetch = vi.fn(async () => new Response(null, { status: 401 }));
    vi.stubGlobal('fetch', fetch);
    const s = defaultSettings();
    s.account.sipUri = 'sip:1003@localhost';
    s.autoLogin = true;
    saveSettings(s);
    localStorage.setItem('softphone.agents', JSON.stringify(['1001']));
    startEarlyAgentSignIn();
    expect(fetch).not.toHaveBeenCalled(); // not known as an agent
    localStorage.setItem('softphone.agents', JSON.stringify(['1003']));
    startEarlyAgentSignIn();
    expect(fetch).toHaveBeenCalledWith('api/agent/login', {
      method: 'POST',
      cache: 'no-store',
      credentials: 'omit',
    });
    s.autoLogin = false;
    saveSettings(s);
    fetch.mockClear();
    startEarlyAgentSignIn();
    expect(fetch).not.toHaveBeenCalled(); // signs in by hand: no sign-in to speed up
    localStorage.removeItem('softphone.agents');
  });

  it('formats durations and numbers', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(125)).toBe('2:05');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(normalizeNumber('sip:+1%20555-0101@x')).toBe('+15550101');
  });
});
