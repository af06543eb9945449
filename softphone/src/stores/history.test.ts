import { beforeEach, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { isMissed, summarizeQuality, useHistoryStore } from './history';
import { sampleStats } from '../testing/fake-phone';
import type { HistoryEntry } from '../storage/db';

const entry = (over: Partial<HistoryEntry>): HistoryEntry => ({
  id: Math.random().toString(36),
  direction: 'incoming',
  remote: 'sip:1002@localhost',
  start: Date.now(),
  durationSec: 0,
  answered: false,
  endCause: '487 Cancelled',
  endedBy: 'remote',
  ...over,
});

beforeEach(() => setActivePinia(createPinia()));

describe('history', () => {
  it('summarises quality samples', () => {
    expect(summarizeQuality([])).toBeUndefined();
    const q = summarizeQuality([
      sampleStats({ mos: 4.4, rttMs: 10, jitterMs: 1, packetLossPct: 0 }),
      sampleStats({ mos: 3.6, rttMs: undefined, jitterMs: 3, packetLossPct: 2, codec: 'PCMU' }),
    ]);
    expect(q).toEqual({
      samples: 2,
      mosAvg: 4,
      mosMin: 3.6,
      rttAvgMs: 10,
      jitterAvgMs: 2,
      lossAvgPct: 1,
      codec: 'PCMU',
    });
  });

  it('a declined call is not missed; an unanswered remote-ended one is', () => {
    expect(isMissed(entry({}))).toBe(true);
    expect(isMissed(entry({ endedBy: 'local' }))).toBe(false);
    expect(isMissed(entry({ answered: true }))).toBe(false);
    expect(isMissed(entry({ direction: 'outgoing' }))).toBe(false);
  });

  it('keeps entries across a reload, newest first, and deletes them', async () => {
    const h = useHistoryStore();
    await h.add(entry({ id: 'old', start: 1000 }));
    await h.add(entry({ id: 'new', start: 2000, answered: true, durationSec: 65 }));
    setActivePinia(createPinia());
    const again = useHistoryStore();
    await again.load();
    expect(again.entries.map((e) => e.id)).toEqual(['new', 'old']);
    await again.remove('old');
    await again.load();
    expect(again.entries.map((e) => e.id)).toEqual(['new']);
    await again.clear();
    await again.load();
    expect(again.entries).toEqual([]);
  });

  it('missed count survives reloads until seen', async () => {
    const h = useHistoryStore();
    await h.add(entry({ start: Date.now() + 10 }));
    expect(h.missedCount).toBe(1);
    h.markSeen();
    setActivePinia(createPinia());
    const again = useHistoryStore();
    await again.load();
    expect(again.missedCount).toBe(0);
  });
});
