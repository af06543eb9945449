import { describe, expect, it } from 'vitest';
import { AgentPresence, agentPidf, agentPresence, type AgentSource } from './presence.js';
import type { AgentView } from './types.js';
import type { Logger } from '../log.js';

const quiet = { warn: () => undefined } as unknown as Logger;

function view(username: string, over: Partial<AgentView>): AgentView {
  return {
    username,
    state: 'available',
    reason: null,
    since: new Date(0).toISOString(),
    queues: [],
    offer: null,
    call: null,
    wrapUp: null,
    next: null,
    today: { handled: 0, avgHandleSec: 0 },
    reasonCodes: [],
    ...over,
  };
}

describe('agent states as presence (PIDF + RPID)', () => {
  it('maps each state to basic status, activity and note', () => {
    expect(agentPresence('available', null)).toEqual({ basic: 'open', note: 'Available' });
    expect(agentPresence('on-call', null, 'Sales')).toEqual({
      basic: 'open',
      activity: 'on-the-phone',
      note: 'On a queue call: Sales',
    });
    expect(agentPresence('wrap-up', null)).toEqual({
      basic: 'open',
      activity: 'busy',
      note: 'Wrap-up',
    });
    expect(agentPresence('not-ready', 'lunch')).toEqual({
      basic: 'open',
      activity: 'away',
      note: 'Paused: lunch',
    });
    expect(agentPresence('offline', null)).toEqual({ basic: 'closed', note: 'Offline' });
  });

  it('writes its own tuple and person (id contact-center), escaping the note', () => {
    const body = agentPidf(
      'sip:1003@example.com',
      'not-ready',
      agentPresence('not-ready', 'a <b> & "c"'),
      'a <b> & "c"',
    );
    expect(body).toContain('<cc:reason>a &lt;b&gt; &amp; &quot;c&quot;</cc:reason>');
    expect(body).toContain('<tuple id="contact-center"><status><basic>open</basic></status>');
    expect(body).toContain('<cc:state>not-ready</cc:state>');
    expect(body).toContain('<note>Paused: a &lt;b&gt; &amp; &quot;c&quot;</note>');
    expect(body).toContain('<dm:person id="contact-center"><rpid:activities><rpid:away/>');
    expect(body).toContain('entity="sip:1003@example.com"');
  });
});

describe('AgentPresence', () => {
  it('publishes each agent on every change once, picks up new agents, withdraws removed ones', () => {
    const agents = ['1003'];
    const fns = new Map<string, (v: AgentView) => void>();
    const source: AgentSource = {
      listAgents: () => agents.map((username) => ({ username })),
      subscribe: (u, fn) => {
        fns.set(u, fn);
        fn(view(u, {}));
        return () => fns.delete(u);
      },
    };
    const sent: [string, string | undefined][] = [];
    const p = new AgentPresence({
      source,
      send: (u, body) => {
        sent.push([u, body]);
        return Promise.resolve();
      },
      domain: 'example.com',
      log: quiet,
      rescanMs: 60_000,
    });
    p.start();
    expect(sent).toHaveLength(1);
    expect(sent[0]![1]).toContain('<basic>open</basic>');
    // the same view again (a wallboard-only change): nothing sent
    fns.get('1003')!(view('1003', {}));
    expect(sent).toHaveLength(1);
    fns.get('1003')!(view('1003', { state: 'not-ready', reason: 'lunch' }));
    expect(sent[1]![1]).toContain('Paused: lunch');
    fns.get('1003')!(view('1003', { state: 'offline' }));
    expect(sent[2]![1]).toContain('<basic>closed</basic>');

    agents.push('1004');
    (p as unknown as { rescan(): void }).rescan();
    expect(sent[3]![0]).toBe('1004');
    agents.shift();
    (p as unknown as { rescan(): void }).rescan();
    expect(sent[4]).toEqual(['1003', undefined]);
    p.stop();
    expect(fns.size).toBe(0);
  });
});
