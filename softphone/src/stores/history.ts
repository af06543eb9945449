// Call history in IndexedDB, newest first, with a missed-call counter that is
// cleared when the history view is opened.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { db, type HistoryEntry, type QualitySummary } from '../storage/db';
import type { CallStats } from '../phone';

const SEEN_KEY = 'softphone.history.seen';
const MAX_ENTRIES = 500;

export function isMissed(e: HistoryEntry): boolean {
  return e.direction === 'incoming' && !e.answered && e.endedBy !== 'local';
}

/** Averages of the per-second samples of one call. */
export function summarizeQuality(samples: readonly CallStats[]): QualitySummary | undefined {
  if (samples.length === 0) return undefined;
  const avg = (xs: number[]) =>
    xs.length ? Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 100) / 100 : undefined;
  const defined = (xs: (number | undefined)[]) => xs.filter((x): x is number => x !== undefined);
  const mos = samples.map((s) => s.mos);
  return {
    samples: samples.length,
    mosAvg: avg(mos),
    mosMin: Math.round(Math.min(...mos) * 100) / 100,
    rttAvgMs: avg(defined(samples.map((s) => s.rttMs))),
    jitterAvgMs: avg(defined(samples.map((s) => s.jitterMs))),
    lossAvgPct: avg(samples.map((s) => s.packetLossPct)),
    codec: [...samples].reverse().find((s) => s.codec)?.codec,
  };
}

function readSeen(): number {
  const v = Number(localStorage.getItem(SEEN_KEY) ?? 0);
  return Number.isFinite(v) ? v : 0;
}

export const useHistoryStore = defineStore('history', () => {
  const entries = ref<HistoryEntry[]>([]);
  const loaded = ref(false);
  const seenUntil = ref(readSeen());

  const missedCount = computed(
    () => entries.value.filter((e) => isMissed(e) && e.start > seenUntil.value).length,
  );

  async function load(): Promise<void> {
    const all = await (await db()).getAllFromIndex('history', 'start');
    entries.value = all.reverse();
    loaded.value = true;
  }

  async function add(entry: HistoryEntry): Promise<void> {
    entries.value = [entry, ...entries.value.filter((e) => e.id !== entry.id)];
    const d = await db();
    await d.put('history', JSON.parse(JSON.stringify(entry)) as HistoryEntry);
    if (entries.value.length > MAX_ENTRIES) {
      const extra = entries.value.slice(MAX_ENTRIES);
      entries.value = entries.value.slice(0, MAX_ENTRIES);
      const tx = d.transaction('history', 'readwrite');
      await Promise.all([...extra.map((e) => tx.store.delete(e.id)), tx.done]);
    }
  }

  async function remove(id: string): Promise<void> {
    entries.value = entries.value.filter((e) => e.id !== id);
    await (await db()).delete('history', id);
  }

  async function clear(): Promise<void> {
    entries.value = [];
    await (await db()).clear('history');
  }

  /** The user looked at the history: missed calls so far are seen. */
  function markSeen(): void {
    seenUntil.value = Math.max(Date.now(), ...entries.value.map((e) => e.start));
    localStorage.setItem(SEEN_KEY, String(seenUntil.value));
  }

  return { entries, loaded, missedCount, load, add, remove, clear, markSeen };
});
