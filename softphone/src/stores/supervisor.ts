// The supervisor desktop: adapts the core's SupervisorClient (the gateway's
// supervisor API) to the UI. It borrows the agent store's signed-in client for
// its token (same Digest sign-in; a supervisor who is not an agent gets a
// token too), follows the live wallboard, runs the actions, loads reports,
// the interval chart's data and recordings (played and saved from blob: URLs
// fetched with the token in a header), and announces calls whose quality
// falls below the threshold. Loaded with the Supervisor view only.
import { defineStore } from 'pinia';
import { computed, markRaw, ref, shallowRef, watch } from 'vue';
import type {
  AgentConnectionState,
  CallHandle,
  MonitorMode,
  AgentState,
  QueueFigures,
  RecordingEntry,
  Report,
  ReportQuery,
  SelectableAgentState,
  Wallboard,
  WallboardAgent,
} from '../phone';
import { i18n, registerMessages } from '../i18n';
import en from '../i18n/supervisor.en';
import zhCN from '../i18n/supervisor.zh-CN';
import { useAgentStore, formatDuration } from './agent';
import { coreServices, loadMonitor, type SupervisorClientLike } from './core';
import { useSessionStore } from './session';
import { useUiStore } from './ui';

// The view's and the announcements' messages travel with this chunk.
registerMessages({ en, 'zh-CN': zhCN });

export type {
  QueueFigures,
  Report,
  ReportQuery,
  RecordingEntry,
  SelectableAgentState,
  Wallboard,
  WallboardAgent,
};

/** Local midnight of the day of `at`, and the next one, as ISO strings. */
export function dayRange(at = new Date()): { from: string; to: string } {
  const from = new Date(at.getFullYear(), at.getMonth(), at.getDate());
  const to = new Date(at.getFullYear(), at.getMonth(), at.getDate() + 1);
  return { from: from.toISOString(), to: to.toISOString() };
}

/** A percentage, a duration or a dash for null (nothing to average). */
export const pct = (v: number | null | undefined) =>
  v === null || v === undefined ? '—' : `${Math.round(v)} %`;
export const secs = (v: number | null | undefined) =>
  v === null || v === undefined ? '—' : formatDuration(v);

export const AGENT_STATES: AgentState[] = [
  'available',
  'offered',
  'on-call',
  'wrap-up',
  'not-ready',
  'offline',
];

/** Saves a Blob under a file name through a temporary blob: link. */
export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const useSupervisorStore = defineStore('supervisor', () => {
  const agent = useAgentStore();
  const client = shallowRef<SupervisorClientLike | undefined>();
  const wallboard = ref<Wallboard | undefined>();
  /** When the wallboard arrived (local clock), to tick durations between pushes. */
  const receivedAt = ref(0);
  const now = ref(Date.now());
  const connection = ref<AgentConnectionState>('closed');
  const error = ref<string | undefined>();
  const busy = ref<string | undefined>();
  /** Today's queue figures by 15 minutes (the interval chart). */
  const intervals = ref<QueueFigures[]>([]);
  const report = ref<Report | undefined>();
  const recordings = ref<RecordingEntry[]>([]);
  /** blob: URLs of recordings being played, by queue call id. */
  const playing = ref<Record<string, string>>({});
  let ticker: ReturnType<typeof setInterval> | undefined;
  let off: (() => void)[] = [];
  let generation = 0;
  let announcedFlags = new Set<string>();
  /** This supervisor's monitoring: the queue call, the mode, and our leg once answered. */
  const monitoring = ref<
    { queueCallId: string; mode: MonitorMode; answered: boolean } | undefined
  >();
  /** A POST …/monitor waits for our softphone to answer: only then is its INVITE auto-answered. */
  const pendingMonitor = new Set<string>();
  let monitorLeg: CallHandle | undefined;

  const t = (key: string, params?: Record<string, unknown>) =>
    params ? i18n.global.t(key, params) : i18n.global.t(key);
  const fail = (e: unknown) => {
    const msg = e instanceof Error ? e.message : String(e);
    useUiStore().toast(t('supervisor.failed', { error: msg }));
  };

  const ready = computed(() => !!wallboard.value);
  /** Seconds since the wallboard was computed (durations tick between pushes). */
  const drift = computed(() =>
    wallboard.value ? Math.max(0, Math.floor((now.value - receivedAt.value) / 1000)) : 0,
  );
  const flaggedIds = computed(() => new Set(wallboard.value?.flagged.map((f) => f.queueCallId)));
  const availableAgents = computed(
    () => wallboard.value?.agents.filter((a) => a.state === 'available') ?? [],
  );

  function agentName(username: string): string {
    const a = wallboard.value?.agents.find((x) => x.username === username);
    return a?.displayName || username;
  }

  // --- lifecycle ---------------------------------------------------------------------

  async function start(): Promise<void> {
    const auth = agent.client;
    if (!auth || client.value) return;
    const gen = ++generation;
    error.value = undefined;
    try {
      const c = markRaw(await coreServices().createSupervisorClient({ auth }));
      if (gen !== generation) return c.stop();
      client.value = c;
      off = [
        c.on('wallboard', onWallboard),
        c.on('connection', (e) => (connection.value = e.state)),
        c.on('error', (e) => (error.value = e.message)),
      ];
      ticker ??= setInterval(() => (now.value = Date.now()), 1000);
      await c.connect();
      if (gen === generation) void loadIntervals();
    } catch (e) {
      if (gen !== generation) return;
      error.value = e instanceof Error ? e.message : String(e);
    }
  }

  function stop(): void {
    generation++;
    for (const u of off) u();
    off = [];
    client.value?.stop();
    client.value = undefined;
    if (ticker) clearInterval(ticker);
    ticker = undefined;
    wallboard.value = undefined;
    connection.value = 'closed';
    intervals.value = [];
    report.value = undefined;
    recordings.value = [];
    for (const url of Object.values(playing.value)) URL.revokeObjectURL(url);
    playing.value = {};
    announcedFlags = new Set();
    monitoring.value = undefined;
    pendingMonitor.clear();
    monitorLeg = undefined;
  }

  let lastIntervalLoad = 0;
  function onWallboard(w: Wallboard): void {
    const before = wallboard.value;
    wallboard.value = w;
    receivedAt.value = Date.now();
    now.value = receivedAt.value;
    // A call newly below the threshold is announced once.
    const flags = new Set(w.flagged.map((f) => f.queueCallId));
    for (const f of w.flagged) {
      if (announcedFlags.has(f.queueCallId)) continue;
      useUiStore().announce(
        t('supervisor.announce.flagged', {
          agent: agentName(f.agent),
          queue: w.queues.find((q) => q.name === f.queue)?.displayName ?? f.queue,
          mos: f.mos.toFixed(1),
        }),
      );
    }
    announcedFlags = flags;
    // The chart follows the day's figures: reload when they moved (at most every 10 s).
    const moved =
      !before ||
      JSON.stringify(before.queues.map((q) => q.today)) !==
        JSON.stringify(w.queues.map((q) => q.today));
    if (moved && Date.now() - lastIntervalLoad > 10_000) void loadIntervals();
  }

  // --- actions -----------------------------------------------------------------------

  async function act(name: string, fn: (c: SupervisorClientLike) => Promise<unknown>) {
    const c = client.value;
    if (!c || busy.value) return false;
    busy.value = name;
    try {
      await fn(c);
      return true;
    } catch (e) {
      fail(e);
      return false;
    } finally {
      busy.value = undefined;
    }
  }

  async function forceState(
    username: string,
    state: SelectableAgentState,
    reason?: string,
  ): Promise<boolean> {
    const ok = await act('state', (c) => c.forceState(username, state, reason));
    if (ok)
      useUiStore().announce(
        t('supervisor.announce.forced', {
          agent: agentName(username),
          state: t(`agent.states.${state}`),
        }),
      );
    return ok;
  }

  async function logoutAgent(username: string): Promise<boolean> {
    const ok = await act('logout', (c) => c.logoutAgent(username));
    if (ok)
      useUiStore().announce(t('supervisor.announce.loggedOut', { agent: agentName(username) }));
    return ok;
  }

  async function sendCaller(queueCallId: string, to: string): Promise<boolean> {
    const ok = await act('send', (c) => c.sendCaller(queueCallId, to));
    if (ok) useUiStore().announce(t('supervisor.announce.sent', { agent: agentName(to) }));
    return ok;
  }

  // --- listen, whisper, barge --------------------------------------------------------

  /** Plays the m-lines of the mode on our monitoring leg (core/monitor.ts). */
  async function applyMode(): Promise<void> {
    const leg = monitorLeg;
    const m = monitoring.value;
    if (!leg || !m || leg.state !== 'established') return;
    (await loadMonitor()).playMonitorLegs(leg, m.mode);
  }

  /**
   * Listen to, whisper to or barge into an agent's call. The first time, the
   * gateway calls our softphone (auto-answered: the INVITE carries X-Monitor
   * for this queue call while the request is pending); after that the mode
   * changes at once, without re-dialling.
   */
  async function monitor(queueCallId: string, mode: MonitorMode): Promise<boolean> {
    const first = monitoring.value?.queueCallId !== queueCallId;
    if (first && monitoring.value) await stopMonitor();
    if (first) pendingMonitor.add(queueCallId);
    const ok = await act('monitor', async (c) => {
      const v = await c.monitor(queueCallId, mode);
      monitoring.value = { queueCallId, mode: v.mode, answered: true };
    });
    pendingMonitor.delete(queueCallId);
    if (ok) {
      await applyMode();
      const a = wallboard.value?.agents.find((x) => x.call?.queueCallId === queueCallId);
      useUiStore().announce(
        t('supervisor.announce.monitor', {
          mode: t(`supervisor.monitor.${mode}`),
          agent: a ? agentName(a.username) : '',
        }),
      );
    } else if (first) monitoring.value = undefined;
    return ok;
  }

  async function stopMonitor(): Promise<boolean> {
    const m = monitoring.value;
    if (!m) return false;
    const ok = await act('monitor', (c) => c.stopMonitor(m.queueCallId));
    monitoring.value = undefined;
    monitorLeg = undefined;
    if (ok) useUiStore().announce(t('supervisor.announce.monitorEnd'));
    return ok;
  }

  useSessionStore().listen({
    attach: (p) => [
      p.on('incomingCall', (call) => {
        const q = call.monitor?.queueCall;
        if (!q || !pendingMonitor.has(q)) return;
        monitorLeg = call;
        call.answer().catch((e: unknown) => fail(e));
      }),
      p.on('callUpdated', (call) => {
        if (call === monitorLeg) void applyMode();
      }),
      p.on('callEnded', (call) => {
        // The call ended, the agent left or the gateway ended it: so has our session.
        if (call !== monitorLeg) return;
        monitorLeg = undefined;
        monitoring.value = undefined;
      }),
    ],
  });

  // --- reports, charts, recordings ----------------------------------------------------

  async function loadIntervals(): Promise<void> {
    const c = client.value;
    if (!c) return;
    lastIntervalLoad = Date.now();
    try {
      const r = await c.report({ ...dayRange(), interval: '15m', by: 'queue' });
      intervals.value = r.rows as QueueFigures[];
    } catch (e) {
      error.value = e instanceof Error ? e.message : String(e);
    }
  }

  async function loadReport(q: ReportQuery): Promise<boolean> {
    return act('report', async (c) => {
      report.value = await c.report(q);
    });
  }

  async function downloadReport(q: ReportQuery): Promise<boolean> {
    return act('csv', async (c) => {
      const blob = await c.reportCsv(q);
      const day = (q.from ?? dayRange().from).slice(0, 10);
      saveBlob(blob, `report-${q.by ?? 'queue'}-${q.interval ?? '15m'}-${day}.csv`);
    });
  }

  async function loadRecordings(q: { from?: string; to?: string; queue?: string }) {
    return act('recordings', async (c) => {
      recordings.value = await c.recordings(q);
    });
  }

  /** Fetches the recording (token in a header) and plays it from a blob: URL. */
  async function play(queueCallId: string): Promise<boolean> {
    if (playing.value[queueCallId]) return true;
    return act('play', async (c) => {
      const blob = await c.recording(queueCallId);
      playing.value = { ...playing.value, [queueCallId]: URL.createObjectURL(blob) };
    });
  }

  async function download(queueCallId: string): Promise<boolean> {
    return act('download', async (c) => {
      saveBlob(await c.recording(queueCallId, true), `recording-${queueCallId}.wav`);
    });
  }

  // Follows the agent store's sign-in: a supervisor's client appears, a sign-out removes it.
  watch(
    () => (agent.isSupervisor ? agent.client : undefined),
    (c) => {
      stop();
      if (c) void start();
    },
    { immediate: true },
  );

  return {
    client,
    wallboard,
    connection,
    error,
    busy,
    now,
    drift,
    ready,
    flaggedIds,
    availableAgents,
    intervals,
    report,
    recordings,
    playing,
    agentName,
    start,
    stop,
    forceState,
    logoutAgent,
    sendCaller,
    monitoring,
    monitor,
    stopMonitor,
    loadIntervals,
    loadReport,
    downloadReport,
    loadRecordings,
    play,
    download,
  };
});
