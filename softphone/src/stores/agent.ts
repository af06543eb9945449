// The agent desktop: adapts the core's AgentClient (the gateway's agent API)
// to the UI. Signs in to it with the SIP credentials when the phone signs in
// (in parallel with REGISTER), follows the live AgentView, ties the offered
// queue call to its SIP INVITE (X-Queue-Call) so answer/decline act on that
// call, counts time in state and the wrap-up down, and announces changes.
// A user the gateway refuses (403) is not an agent: no Agent view.
import { whenIdle } from '../phone/idle';
import { defineStore } from 'pinia';
import { computed, markRaw, ref, shallowRef, watch } from 'vue';
import type {
  AgentConnectionState,
  AgentState,
  AgentView,
  ContactCenterRole,
  QualityVerdict,
  ScreenPop,
} from '../phone';

export type { AgentState, AgentView, ContactCenterRole, ScreenPop };
import { i18n } from '../i18n';
import { loadSettings } from '../storage/settings';
import { mark } from './account';
import { displayName, useCallsStore, type Line } from './calls';
import { coreServices, type AgentClientLike, type PhoneLike } from './core';
import { useSessionStore } from './session';
import { useUiStore } from './ui';

export type AgentStatus = 'none' | 'checking' | 'agent' | 'not-agent' | 'error';

/** Users this browser has seen as agents: their agent sign-in runs alongside REGISTER. */
const KNOWN_AGENT_KEY = 'softphone.agents';
function knownAgents(): string[] {
  try {
    const v: unknown = JSON.parse(localStorage.getItem(KNOWN_AGENT_KEY) ?? '[]');
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
function rememberAgent(username: string, agent: boolean): void {
  try {
    const set = new Set(knownAgents());
    if (agent) set.add(username);
    else set.delete(username);
    localStorage.setItem(KNOWN_AGENT_KEY, JSON.stringify([...set]));
  } catch {
    // Only a start-up speed-up.
  }
}

/** The agent API's Digest challenge, asked for at page start-up (see startEarlyAgentSignIn). */
let earlyChallenge: Promise<Response> | undefined;

/**
 * A known agent who signs in automatically gets the agent API's Digest
 * challenge while the page is still starting: the sign-in then needs one
 * round trip instead of two, on a connection already open. The request
 * carries nothing secret and answers 401.
 */
export function startEarlyAgentSignIn(): void {
  if (typeof fetch !== 'function') return;
  const s = loadSettings();
  const username =
    s.account.authUser.trim() || (/^sips?:([^@;]+)@/i.exec(s.account.sipUri.trim())?.[1] ?? '');
  if (!s.autoLogin || !username || !knownAgents().includes(username)) return;
  // The AgentClient's default base (api/agent/, relative to the page).
  earlyChallenge = fetch('api/agent/login', {
    method: 'POST',
    cache: 'no-store',
    credentials: 'omit',
  });
  earlyChallenge.catch(() => undefined);
}

function takeEarlyChallenge(username: string): Promise<Response> | undefined {
  const c = earlyChallenge;
  earlyChallenge = undefined;
  return c && knownAgents().includes(username) ? c : undefined;
}

/** "+15550101001" or "sip:+15550101001@x" → digits and + only, for matching numbers. */
export function normalizeNumber(s: string): string {
  const user = /^sips?:([^@;]+)/i.exec(s)?.[1] ?? s;
  return decodeURIComponent(user).replace(/[^\d+]/g, '');
}

/** Whole seconds as m:ss or h:mm:ss. */
export function formatDuration(totalSec: number): string {
  const s = Math.max(0, Math.floor(totalSec));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

export const useAgentStore = defineStore('agent', () => {
  const status = ref<AgentStatus>('none');
  const view = ref<AgentView | undefined>();
  const connection = ref<AgentConnectionState>('closed');
  const error = ref<string | undefined>();
  /** An action in progress (buttons are disabled meanwhile). */
  const busy = ref<string | undefined>();
  /** Ticks every second while signed in as an agent (time in state, wrap-up countdown). */
  const now = ref(Date.now());
  const client = shallowRef<AgentClientLike | undefined>();
  /** Contact-center roles from the sign-in ([] for a plain phone user). */
  const roles = ref<ContactCenterRole[]>([]);
  /** The gateway's answer to the last quality sample sent for the current call. */
  const lastQuality = ref<QualityVerdict | undefined>();
  let ticker: ReturnType<typeof setInterval> | undefined;
  let off: (() => void)[] = [];
  let generation = 0;

  const t = (key: string, params?: Record<string, unknown>) =>
    params ? i18n.global.t(key, params) : i18n.global.t(key);

  const isAgent = computed(() => status.value === 'agent');
  const isSupervisor = computed(
    () => roles.value.includes('supervisor') || roles.value.includes('admin'),
  );
  const state = computed(() => view.value?.state ?? 'offline');
  const secondsInState = computed(() => {
    const since = view.value ? Date.parse(view.value.since) : NaN;
    return Number.isFinite(since) ? Math.max(0, Math.floor((now.value - since) / 1000)) : 0;
  });
  const wrapUpSecondsLeft = computed(() => {
    const w = view.value?.wrapUp;
    if (!w) return 0;
    const ends = Date.parse(w.endsAt);
    return Number.isFinite(ends) ? Math.max(0, Math.ceil((ends - now.value) / 1000)) : 0;
  });
  /** The SIP call ringing for the offered queue call (matched by X-Queue-Call). */
  const offerLine = computed<Line | undefined>(() => {
    const offer = view.value?.offer;
    const calls = useCallsStore();
    const ringing = calls.incoming;
    if (offer) {
      const exact = ringing.find((l) => l.queueCall?.callId === offer.callId);
      if (exact) return exact;
    }
    // The INVITE may arrive before the stream says "offered": it carries the queue headers.
    return ringing.find((l) => !!l.queueCall);
  });
  /** The SIP call of the queue call the agent is on. */
  const callLine = computed<Line | undefined>(() => {
    const c = view.value?.call;
    const calls = useCallsStore();
    if (!c) return undefined;
    return (
      calls.live.find((l) => l.queueCall?.callId === c.callId) ??
      calls.live.find((l) => l.state === 'established' && !!l.queueCall)
    );
  });

  // --- lifecycle -------------------------------------------------------------------

  async function start(phone: PhoneLike): Promise<void> {
    const gen = ++generation;
    status.value = 'checking';
    error.value = undefined;
    mark('agent-signin');
    try {
      const challenge = takeEarlyChallenge(phone.credentials.username);
      const c = markRaw(
        await coreServices().createAgentClient({
          credentials: phone.credentials,
          ...(challenge ? { challenge } : {}),
        }),
      );
      if (gen !== generation) return c.stop();
      client.value = c;
      off = [
        c.on('view', (v) => onView(v)),
        c.on('connection', (e) => (connection.value = e.state)),
        c.on('error', (e) => (error.value = e.message)),
      ];
      const signedIn = await c.login();
      mark('agent-token');
      if (gen !== generation) return;
      const agent = signedIn && c.roles.includes('agent');
      // Supervisors who are not agents also sign in alongside REGISTER next time.
      rememberAgent(phone.credentials.username, signedIn);
      if (!agent) {
        if (signedIn) {
          // A supervisor (or admin) only: keep the client, whose token the supervisor view uses.
          roles.value = [...c.roles];
          status.value = 'not-agent';
          return;
        }
        stop();
        status.value = 'not-agent';
        return;
      }
      roles.value = [...c.roles];
      status.value = 'agent';
      ticker ??= setInterval(() => (now.value = Date.now()), 1000);
      await c.connect();
    } catch (e) {
      if (gen !== generation) return;
      error.value = e instanceof Error ? e.message : String(e);
      status.value = 'error';
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
    view.value = undefined;
    connection.value = 'closed';
    status.value = 'none';
    busy.value = undefined;
    roles.value = [];
  }

  // --- while signed in as an agent: quality posts, whisper/barge legs -----------------

  // agent-live.ts (a chunk of its own, loaded at the agent sign-in)
  let undoLive: (() => void) | undefined;
  watch(isAgent, (yes) => {
    undoLive?.();
    undoLive = undefined;
    lastQuality.value = undefined;
    if (yes)
      void import('./agent-live').then((m) => {
        if (isAgent.value && !undoLive)
          undoLive = m.install({
            client: () => client.value,
            view: () => view.value,
            callLine: () => callLine.value,
            onVerdict: (v) => (lastQuality.value = v),
          });
      });
  });

  function onView(next: AgentView): void {
    const before = view.value;
    if (!before) mark('agent-state');
    view.value = next;
    now.value = Date.now();
    const ui = useUiStore();
    if (!before || before.state !== next.state || before.reason !== next.reason) {
      ui.announce(
        t('agent.announce.state', {
          state: stateLabel(next.state, next.reason),
        }),
      );
    }
    if (next.offer && next.offer.callId !== before?.offer?.callId) {
      ui.announce(
        t('agent.announce.offer', {
          who: next.offer.caller.name || next.offer.caller.number,
          queue: next.offer.queueDisplayName,
          waited: formatDuration(next.offer.waitedSec),
        }),
      );
    }
  }

  function stateLabel(s: AgentState, reason: string | null): string {
    const name = t(`agent.states.${s}`);
    return s === 'not-ready' && reason ? `${name} (${reasonLabel(reason)})` : name;
  }

  function reasonLabel(reason: string): string {
    return reason === 'no-answer' ? t('agent.noAnswer') : reason;
  }

  // --- actions ---------------------------------------------------------------------

  async function act(name: string, fn: (c: AgentClientLike) => Promise<unknown>): Promise<boolean> {
    const c = client.value;
    if (!c || busy.value) return false;
    busy.value = name;
    try {
      await fn(c);
      return true;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      useUiStore().toast(t('agent.failed', { error: msg }));
      return false;
    } finally {
      busy.value = undefined;
    }
  }

  const setReady = () => act('state', (c) => c.setState('available'));
  const setNotReady = (reason: string) => act('state', (c) => c.setState('not-ready', reason));
  const goOffline = () => act('state', (c) => c.setState('offline'));
  /** Ready ⇄ not ready (with the first reason code, or the one given). */
  function toggleReady(reason?: string): Promise<boolean> {
    const v = view.value;
    if (!v) return Promise.resolve(false);
    if (v.state === 'offered') return Promise.resolve(false);
    // On a call: choose what comes after it (the gateway keeps it in `next`).
    if (v.state === 'available' || (v.state === 'on-call' && !v.next))
      return setNotReady(reason ?? v.reasonCodes[0] ?? 'Break');
    return setReady();
  }
  const setQueue = (queue: string | undefined, loggedIn: boolean) =>
    act('queue', (c) => c.setQueue(queue, loggedIn));

  async function saveWrapUp(disposition: string, notes: string): Promise<boolean> {
    const w = view.value?.wrapUp;
    if (!w || !disposition) return false;
    const ok = await act('wrapup', (c) => c.saveWrapUp(w.callId, disposition, notes.trim()));
    if (ok) useUiStore().announce(t('agent.announce.wrapUpSaved'));
    return ok;
  }

  /** Answers the offered queue call's SIP INVITE. */
  async function answerOffer(): Promise<boolean> {
    const line = offerLine.value;
    if (!line) return false;
    await useCallsStore().answer(line.n);
    return true;
  }

  async function declineOffer(): Promise<boolean> {
    const line = offerLine.value;
    if (!line) return false;
    await useCallsStore().decline(line.n);
    return true;
  }

  /** Hangs up the queue call (or the current line). */
  async function hangup(): Promise<boolean> {
    const calls = useCallsStore();
    const line = callLine.value ?? calls.active ?? undefined;
    if (!line || line.state === 'ended') return false;
    await calls.hangup(line.n);
    return true;
  }

  // The offer is announced by the stream; when the INVITE comes first, say who rings.
  watch(
    () => offerLine.value?.id,
    (id, old) => {
      if (!id || id === old || view.value?.offer) return;
      const l = offerLine.value;
      if (l) useUiStore().announce(t('announce.incoming', { who: displayName(l) }));
    },
  );

  // A known agent signs in to the agent API at once, alongside REGISTER (the
  // desktop is up sooner); anyone else only once registered, so the check
  // never slows a plain phone user's sign-in.
  useSessionStore().listen({
    attach: (p) => {
      if (knownAgents().includes(p.credentials.username)) {
        void start(p);
        return [];
      }
      let started = false;
      return [
        p.on('registration', (ev) => {
          if (ev.state !== 'registered' || started) return;
          started = true;
          // In an idle moment, so the "registered" badge renders first.
          whenIdle(() => void start(p));
        }),
      ];
    },
    detach: stop,
  });

  return {
    status,
    view,
    roles,
    isSupervisor,
    client,
    lastQuality,
    connection,
    error,
    busy,
    now,
    isAgent,
    state,
    secondsInState,
    wrapUpSecondsLeft,
    offerLine,
    callLine,
    start,
    stop,
    setReady,
    setNotReady,
    goOffline,
    toggleReady,
    setQueue,
    saveWrapUp,
    answerOffer,
    declineOffer,
    hangup,
    reasonLabel,
    stateLabel,
  };
});
