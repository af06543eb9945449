// Lines and calls: adapts the core's CallHandles to reactive line state, runs
// the actions the UI dispatches, samples call quality every second, rings,
// and writes the history entry when a call ends.
import { defineStore } from 'pinia';
import { computed, markRaw, ref, shallowRef, watch } from 'vue';
import type {
  CallDirection,
  CallEndCause,
  CallHandle,
  CallState,
  CallStats,
  CallTimestamps,
  QueueCallInfo,
  TransferProgress,
} from '../phone';
import { i18n } from '../i18n';
import { newId } from '../storage/db';
import { playTone, RINGBACK, RINGTONE, type TonePlayer } from '../sound/tones';
import { useAccountStore } from './account';
import { coreServices, type ConferenceLike } from './core';
import { useDevicesStore } from './devices';
import { useSessionStore } from './session';
import { summarizeQuality, useHistoryStore } from './history';
import { useUiStore } from './ui';

export const LINE_COUNT = 4;
/** Samples kept per call for the sparklines (one per second). */
export const GRAPH_SAMPLES = 60;
/** An ended call stays visible on its line this long (unless a new call needs the line). */
export const ENDED_LINGER_MS = 2500;
const SUMMARY_SAMPLES = 7200;

export interface Line {
  /** 1-based line number. */
  n: number;
  id: string;
  direction: CallDirection;
  remoteUri: string;
  remoteName?: string;
  state: CallState;
  muted: boolean;
  remoteHold: boolean;
  video: boolean;
  screenSharing: boolean;
  recording: boolean;
  autoAnswerRequested: boolean;
  /** Incoming: the INVITE offered video. */
  videoOffered: boolean;
  /** Incoming: a queue call offered to this agent (the INVITE's X-Queue headers). */
  queueCall?: QueueCallInfo;
  transfer?: TransferProgress;
  timestamps: CallTimestamps;
  endCause?: CallEndCause;
  remoteStream?: MediaStream;
  localStream?: MediaStream;
  hasRemoteVideo: boolean;
  hasLocalVideo: boolean;
  /** Bumped on every update so media elements re-check their tracks. */
  version: number;
  samples: CallStats[];
  inConference: boolean;
  /** Name of an action in progress (buttons are disabled meanwhile). */
  busy?: string;
}

export interface Recording {
  id: string;
  url: string;
  fileName: string;
  size: number;
  remote: string;
  time: number;
}

const LIVE_STATES: readonly CallState[] = [
  'idle',
  'calling',
  'ringing',
  'early',
  'incoming',
  'answering',
  'established',
  'held',
];
const MEDIA_STATES: readonly CallState[] = ['established', 'held'];

const hasTracks = (s: MediaStream | undefined, kind: 'video' | 'audio') =>
  !!s &&
  typeof s.getTracks === 'function' &&
  s.getTracks().some((t) => t.kind === kind && t.readyState !== 'ended');

/** "Alice <sip:1002@x>" → "Alice"; "sip:1002@x" → "1002". */
export function displayName(line: Pick<Line, 'remoteName' | 'remoteUri'>): string {
  if (line.remoteName) return line.remoteName;
  const m = /^sips?:([^@;]+)@/i.exec(line.remoteUri);
  return m?.[1] ? decodeURIComponent(m[1]) : line.remoteUri;
}

function snapshot(h: CallHandle, n: number, previous?: Line | null): Line {
  return {
    n,
    id: h.id,
    direction: h.direction,
    remoteUri: h.remoteUri,
    remoteName: h.remoteDisplayName,
    state: h.state,
    // The user's mute; hold silences the call in the core without touching it.
    muted: h.muted,
    remoteHold: h.remoteHold,
    video: h.video,
    screenSharing: h.screenSharing,
    recording: h.recording,
    autoAnswerRequested: h.autoAnswerRequested,
    videoOffered: h.videoOffered,
    queueCall: h.queueCall ? { ...h.queueCall } : undefined,
    transfer: h.transfer ? { ...h.transfer } : undefined,
    timestamps: { ...h.timestamps },
    endCause: h.endCause ? { ...h.endCause } : undefined,
    remoteStream: h.remoteStream ? markRaw(h.remoteStream) : undefined,
    localStream: h.localStream ? markRaw(h.localStream) : undefined,
    hasRemoteVideo: hasTracks(h.remoteStream, 'video'),
    hasLocalVideo: hasTracks(h.localStream, 'video'),
    version: (previous?.version ?? 0) + 1,
    samples: previous?.samples ?? [],
    inConference: previous?.inConference ?? false,
    busy: previous?.busy,
  };
}

export const useCallsStore = defineStore('calls', () => {
  const lines = ref<(Line | null)[]>(Array.from({ length: LINE_COUNT }, () => null));
  const activeLine = ref(1);
  const recordings = ref<Recording[]>([]);
  const conference = shallowRef<ConferenceLike | undefined>();
  const handles = new Map<string, CallHandle>();
  /** Recordings already offered for download (a Blob comes back from stopRecording and the event). */
  const offered = new WeakSet<Blob>();
  const allSamples = new Map<string, CallStats[]>();
  const lingerTimers = new Map<string, ReturnType<typeof setTimeout>>();
  let pendingSlot: number | undefined;
  let sampler: ReturnType<typeof setInterval> | undefined;
  let notification: Notification | undefined;

  const t = (key: string, params?: Record<string, unknown>) =>
    params ? i18n.global.t(key, params) : i18n.global.t(key);

  const active = computed(() => lines.value[activeLine.value - 1] ?? null);
  const live = computed(() =>
    lines.value.filter((l): l is Line => !!l && LIVE_STATES.includes(l.state)),
  );
  const incoming = computed(() => live.value.filter((l) => l.state === 'incoming'));
  const inCall = computed(() => live.value.length > 0);

  function lineOf(id: string): Line | undefined {
    return lines.value.find((l) => l?.id === id) ?? undefined;
  }
  function handleOf(n: number): CallHandle | undefined {
    const l = lines.value[n - 1];
    return l ? handles.get(l.id) : undefined;
  }
  /**
   * A line for a new call: the preferred one if it has no live call, else an
   * empty one, else one that only shows an ended call (which then gives way
   * at once, so quick calls in a row never find every line "busy").
   */
  function freeSlot(preferred?: number): number | undefined {
    const free = (l: Line | null | undefined) => !l || l.state === 'ended';
    if (preferred && free(lines.value[preferred - 1])) return preferred;
    const i = lines.value.findIndex((l) => !l);
    if (i >= 0) return i + 1;
    const j = lines.value.findIndex(free);
    return j >= 0 ? j + 1 : undefined;
  }
  function setLine(n: number, line: Line | null): void {
    const old = lines.value[n - 1];
    if (old && old.id !== line?.id) {
      clearTimeout(lingerTimers.get(old.id));
      lingerTimers.delete(old.id);
    }
    lines.value[n - 1] = line;
  }
  function update(h: CallHandle): Line | undefined {
    const current = lineOf(h.id);
    if (!current) return undefined;
    const next = snapshot(h, current.n, current);
    setLine(current.n, next);
    return next;
  }

  function fail(action: string, e: unknown): void {
    const error = e instanceof Error ? e.message : String(e);
    useUiStore().toast(t('errors.actionFailed', { action, error }));
  }

  /** Runs an action on a line, marking it busy and reporting failures. */
  async function run(
    n: number,
    action: string,
    label: string,
    fn: (h: CallHandle) => Promise<unknown> | unknown,
  ): Promise<boolean> {
    const h = handleOf(n);
    const line = lines.value[n - 1];
    if (!h || !line) return false;
    line.busy = action;
    try {
      await fn(h);
      return true;
    } catch (e) {
      fail(label, e);
      return false;
    } finally {
      const l = lineOf(h.id);
      if (l) l.busy = undefined;
      update(h);
    }
  }

  // --- events from the phone ---------------------------------------------------

  // --- a supervisor's whisper/barge leg to this agent -----------------------------------
  // Not a line: the agent store answers it silently next to the queue call
  // (agent-monitor.ts); here it only needs its audio played. Only the
  // call-control tier can mark a leg so (Kamailio strips X-Monitor from anyone
  // else's INVITE).
  const whispers = ref<{ id: string; remoteStream?: MediaStream; version: number }[]>([]);
  const isWhisperLeg = (h: CallHandle) => !!h.monitor?.supervisor;
  function whisperChanged(h: CallHandle): void {
    const rest = whispers.value.filter((w) => w.id !== h.id);
    const before = whispers.value.find((w) => w.id === h.id);
    whispers.value =
      h.state === 'ended'
        ? rest
        : [
            ...rest,
            {
              id: h.id,
              remoteStream: h.remoteStream ? markRaw(h.remoteStream) : undefined,
              version: (before?.version ?? 0) + 1,
            },
          ];
  }

  function onCallAdded(h: CallHandle): void {
    if (isWhisperLeg(h)) return whisperChanged(h);
    if (handles.has(h.id)) return;
    const n = freeSlot(pendingSlot);
    if (n === undefined) {
      // Every line is taken: refuse rather than lose track of a call.
      if (h.direction === 'incoming') void h.decline(486).catch(() => undefined);
      else void h.hangup().catch(() => undefined);
      return;
    }
    handles.set(h.id, h);
    allSamples.set(h.id, []);
    setLine(n, snapshot(h, n, null));
  }

  function onIncoming(h: CallHandle): void {
    onCallAdded(h);
    if (isWhisperLeg(h)) return;
    const line = lineOf(h.id);
    if (!line) return;
    const who = displayName(line);
    useUiStore().announce(t('announce.incoming', { who }));
    showNotification(line);
    // Auto-answer is the core's (Phone.setAutoAnswer, see the account store).
  }

  function onCallUpdated(h: CallHandle): void {
    if (isWhisperLeg(h)) return whisperChanged(h);
    const before = lineOf(h.id);
    if (!before) return;
    const prevState = before.state;
    const prevTransfer = before.transfer?.state;
    const after = update(h);
    if (!after) return;
    const ui = useUiStore();
    // Answered without us (auto-answer): show it if the current line has no call.
    const current = active.value;
    if (
      prevState === 'incoming' &&
      after.state !== 'ended' &&
      (!current || current.state === 'ended')
    )
      activeLine.value = after.n;
    if (after.state !== prevState && after.state !== 'ended') {
      ui.announce(
        t('announce.state', { who: displayName(after), state: t(`callState.${after.state}`) }),
      );
    }
    if (after.transfer && after.transfer.state !== prevTransfer) {
      ui.announce(t('announce.transfer', { state: t(`transferState.${after.transfer.state}`) }));
    }
    ensureSampler();
  }

  function onCallEnded(h: CallHandle): void {
    if (isWhisperLeg(h)) return whisperChanged(h);
    const line = update(h);
    handles.delete(h.id);
    const samples = allSamples.get(h.id) ?? [];
    allSamples.delete(h.id);
    ensureSampler();
    if (!line) return;
    line.inConference = false;
    if (conference.value && conference.value.participants.length < 2) endConference();
    const ts = h.timestamps;
    const cause = h.endCause;
    const answered = ts.establishedAt !== undefined;
    void useHistoryStore()
      .add({
        id: `${h.id}-${ts.createdAt}-${newId().slice(0, 8)}`,
        direction: h.direction,
        remote: h.remoteUri,
        remoteName: h.remoteDisplayName,
        start: ts.createdAt,
        durationSec: answered
          ? Math.max(0, Math.round(((ts.endedAt ?? Date.now()) - (ts.establishedAt ?? 0)) / 1000))
          : 0,
        answered,
        endCause: cause ? [cause.code, cause.reason].filter(Boolean).join(' ') : '',
        endedBy: cause?.by,
        quality: summarizeQuality(samples),
      })
      .catch(() => undefined);
    useUiStore().announce(t('announce.ended', { who: displayName(line) }));
    const id = h.id;
    lingerTimers.set(
      id,
      setTimeout(() => {
        lingerTimers.delete(id);
        const l = lineOf(id);
        if (!l || l.state !== 'ended') return;
        setLine(l.n, null);
        // Follow the user to a line that still has a call.
        if (l.n === activeLine.value && live.value[0]) activeLine.value = live.value[0].n;
      }, ENDED_LINGER_MS),
    );
  }

  // --- quality sampling ----------------------------------------------------------

  function ensureSampler(): void {
    const need = live.value.some((l) => MEDIA_STATES.includes(l.state));
    if (need && !sampler) sampler = setInterval(() => void sampleAll(), 1000);
    if (!need && sampler) {
      clearInterval(sampler);
      sampler = undefined;
    }
  }

  async function sampleAll(): Promise<void> {
    await Promise.all(
      live.value
        .filter((l) => MEDIA_STATES.includes(l.state))
        .map(async (l) => {
          const h = handles.get(l.id);
          if (!h) return;
          try {
            const s = await h.getStats();
            const all = allSamples.get(l.id);
            if (all && all.length < SUMMARY_SAMPLES) all.push(s);
            const line = lineOf(l.id);
            if (line) line.samples = [...line.samples.slice(-(GRAPH_SAMPLES - 1)), s];
          } catch {
            // The peer connection may be closing; the next tick will tell.
          }
        }),
    );
  }

  // --- ringing, notifications ---------------------------------------------------------

  let ringer: Promise<TonePlayer | undefined> | undefined;
  let ringback: Promise<TonePlayer | undefined> | undefined;
  const stopTone = (p: Promise<TonePlayer | undefined> | undefined) =>
    void p?.then((x) => x?.stop()).catch(() => undefined);
  const tryTone = (opts: Parameters<typeof playTone>[0]) => playTone(opts).catch(() => undefined);

  watch(
    () => incoming.value.length > 0,
    (ringing) => {
      if (ringing && !ringer) {
        const devices = useDevicesStore();
        // A call waiting while we talk gets a discreet beep instead of the full ring.
        const talking = live.value.some((l) => l.state === 'established');
        ringer = tryTone(
          talking
            ? {
                frequencies: [440],
                onMs: 300,
                offMs: 3000,
                volume: 0.15,
                sinkId: devices.selection.speaker,
              }
            : { ...RINGTONE, sinkId: devices.selection.ringer },
        );
      } else if (!ringing && ringer) {
        stopTone(ringer);
        ringer = undefined;
        notification?.close();
        notification = undefined;
      }
    },
  );

  watch(
    () => active.value?.direction === 'outgoing' && active.value.state === 'ringing',
    (on) => {
      if (on && !ringback)
        ringback = tryTone({ ...RINGBACK, sinkId: useDevicesStore().selection.speaker });
      else if (!on && ringback) {
        stopTone(ringback);
        ringback = undefined;
      }
    },
  );

  function showNotification(line: Line): void {
    const N = globalThis.Notification;
    if (!useAccountStore().settings.call.notifications || !N || N.permission !== 'granted') return;
    if (typeof document !== 'undefined' && !document.hidden) return;
    try {
      notification = new N(t('phone.notificationTitle'), {
        body: t('phone.incomingFrom', { who: displayName(line) }),
        tag: 'softphone-incoming',
        requireInteraction: true,
      });
      notification.onclick = () => {
        window.focus();
        useUiStore().go('phone');
        notification?.close();
      };
    } catch {
      // Some browsers only allow notifications from a service worker.
    }
  }

  // --- actions -----------------------------------------------------------------------------

  /** Puts every other established call (not in the conference) on hold. */
  async function holdOthers(except: number): Promise<void> {
    for (const l of live.value) {
      if (l.n === except || l.state !== 'established' || l.inConference) continue;
      await run(l.n, 'hold', t('phone.hold'), (h) => h.hold());
    }
  }

  async function dial(target: string, opts: { video?: boolean } = {}): Promise<boolean> {
    const ui = useUiStore();
    const phone = useAccountStore().phone;
    if (!phone) {
      ui.toast(t('errors.notSignedIn'));
      return false;
    }
    const dest = target.trim();
    if (!dest) {
      ui.toast(t('errors.noTarget'));
      return false;
    }
    const n = freeSlot(activeLine.value);
    if (n === undefined) {
      ui.toast(t('phone.noLineFree'));
      return false;
    }
    await holdOthers(n);
    pendingSlot = n;
    try {
      const h = phone.call(dest, { video: opts.video ?? false });
      onCallAdded(h);
      activeLine.value = lineOf(h.id)?.n ?? n;
      ensureSampler();
      return true;
    } catch (e) {
      ui.toast(t('errors.callFailed', { error: e instanceof Error ? e.message : String(e) }));
      return false;
    } finally {
      pendingSlot = undefined;
    }
  }

  async function answer(n: number, video = false): Promise<void> {
    await holdOthers(n);
    activeLine.value = n;
    await run(n, 'answer', t('phone.answer'), (h) => h.answer({ video }));
  }

  async function decline(n: number): Promise<void> {
    await run(n, 'decline', t('phone.decline'), (h) => h.decline());
  }

  async function hangup(n = activeLine.value): Promise<void> {
    // A recording in progress is finished by the core and arrives through onRecording.
    await run(n, 'hangup', t('phone.hangup'), (h) => h.hangup());
  }

  async function toggleHold(n = activeLine.value): Promise<void> {
    const line = lines.value[n - 1];
    if (!line) return;
    if (line.state === 'held') {
      await holdOthers(n);
      activeLine.value = n;
      await run(n, 'unhold', t('phone.resume'), (h) => h.unhold());
    } else if (line.state === 'established') {
      await run(n, 'hold', t('phone.hold'), (h) => h.hold());
    }
  }

  /** Makes line n the current one; a held call there is resumed (and the others held). */
  async function switchTo(n: number): Promise<void> {
    activeLine.value = n;
    const line = lines.value[n - 1];
    if (line?.state === 'held' && !line.inConference) await toggleHold(n);
  }

  async function toggleMute(n = activeLine.value): Promise<void> {
    const line = lines.value[n - 1];
    if (!line) return;
    const muting = !line.muted;
    const ok = await run(n, 'mute', t(muting ? 'phone.mute' : 'phone.unmute'), (h) =>
      muting ? h.mute() : h.unmute(),
    );
    if (ok) useUiStore().announce(t(muting ? 'announce.muted' : 'announce.unmuted'));
  }

  async function sendDtmf(digits: string, n = activeLine.value): Promise<void> {
    await run(n, 'dtmf', 'DTMF', (h) => h.sendDtmf(digits));
  }

  async function blindTransfer(target: string, n = activeLine.value): Promise<void> {
    if (!target.trim()) {
      useUiStore().toast(t('errors.noTarget'));
      return;
    }
    await run(n, 'transfer', t('phone.blindTransfer'), (h) => h.blindTransfer(target.trim()));
  }

  /**
   * Attended transfer (RFC 5589): the party on line `transferee` (usually the
   * one on hold) is connected with the party on line `consultation` (usually
   * the current line, the call we made to the target). The REFER goes to the
   * transferee, as the core expects.
   */
  async function attendedTransfer(
    transferee: number,
    consultation = activeLine.value,
  ): Promise<void> {
    const target = handleOf(consultation);
    if (!target || transferee === consultation) return;
    await run(transferee, 'transfer', t('phone.attendedTransfer'), (h) =>
      h.attendedTransfer(target),
    );
  }

  /** Opens the microphone and a spare peer connection ahead of a call (dial pad focused). */
  function warmUp(): void {
    const phone = useAccountStore().phone;
    if (phone && !inCall.value) void phone.warmUp().catch(() => undefined);
  }

  /** Three-way (or more) conference of every connected line, mixed in this browser. */
  async function merge(): Promise<void> {
    const candidates = live.value.filter((l) => MEDIA_STATES.includes(l.state));
    if (candidates.length < 2) return;
    for (const l of candidates) {
      if (l.state === 'held') await run(l.n, 'unhold', t('phone.resume'), (h) => h.unhold());
    }
    const ready = candidates
      .map((l) => handles.get(l.id))
      .filter((h): h is CallHandle => !!h && h.state === 'established');
    try {
      if (conference.value) {
        for (const h of ready) conference.value.add(h);
      } else {
        conference.value = markRaw(await coreServices().createConference(ready));
      }
      for (const h of ready) {
        const l = lineOf(h.id);
        if (l) l.inConference = true;
      }
      useUiStore().announce(t('announce.conference'));
    } catch (e) {
      fail(t('phone.merge'), e);
    }
  }

  function endConference(): void {
    conference.value?.end();
    conference.value = undefined;
    for (const l of lines.value) if (l) l.inConference = false;
  }

  async function toggleVideo(n = activeLine.value): Promise<void> {
    const line = lines.value[n - 1];
    if (!line) return;
    await run(n, 'video', t(line.video ? 'phone.stopVideo' : 'phone.video'), (h) =>
      h.video && !h.screenSharing ? h.stopVideo() : h.startVideo(),
    );
  }

  async function toggleScreenShare(n = activeLine.value): Promise<void> {
    const line = lines.value[n - 1];
    if (!line) return;
    await run(
      n,
      'screen',
      t(line.screenSharing ? 'phone.stopScreenShare' : 'phone.screenShare'),
      (h) => (h.screenSharing ? h.stopScreenShare() : h.startScreenShare()),
    );
  }

  async function switchCamera(deviceId: string, n = activeLine.value): Promise<void> {
    const line = lines.value[n - 1];
    if (!line?.video || line.screenSharing) return;
    await run(n, 'camera', t('phone.camera'), (h) => h.switchCamera(deviceId));
  }

  async function toggleRecording(n = activeLine.value): Promise<void> {
    const line = lines.value[n - 1];
    if (!line) return;
    if (!line.recording) {
      await run(n, 'record', t('phone.record'), (h) => h.startRecording());
      return;
    }
    await run(n, 'record', t('phone.stopRecord'), async (h) =>
      onRecording(h, await h.stopRecording()),
    );
  }

  /**
   * Offers a finished recording for download: stopped here, or finished by
   * the core when the call ended (either side hanging up). Each file once.
   */
  function onRecording(h: CallHandle, blob: Blob): void {
    if (offered.has(blob)) return;
    offered.add(blob);
    const who = displayName({ remoteName: h.remoteDisplayName, remoteUri: h.remoteUri });
    const ext = /ogg/.test(blob.type) ? 'ogg' : 'webm';
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
    recordings.value.push({
      id: newId(),
      url: URL.createObjectURL(blob),
      fileName: `call-${who.replace(/[^\w+-]+/g, '_')}-${stamp}.${ext}`,
      size: blob.size,
      remote: h.remoteUri,
      time: Date.now(),
    });
  }

  function removeRecording(id: string): void {
    const r = recordings.value.find((x) => x.id === id);
    if (r) URL.revokeObjectURL(r.url);
    recordings.value = recordings.value.filter((x) => x.id !== id);
  }

  // Device changes follow live calls: a new microphone or camera is switched in without a re-INVITE.
  const devices = useDevicesStore();
  watch(
    () => devices.selection.microphone,
    (id) => {
      for (const l of live.value) {
        if (MEDIA_STATES.includes(l.state))
          void run(l.n, 'microphone', t('settings.microphone'), (h) => h.switchMicrophone(id));
      }
    },
  );
  watch(
    () => devices.selection.camera,
    (id) => {
      for (const l of live.value) if (l.video && !l.screenSharing) void switchCamera(id, l.n);
    },
  );

  /** Signed out: forget every line (the phone already hung up). */
  function reset(): void {
    for (const timer of lingerTimers.values()) clearTimeout(timer);
    lingerTimers.clear();
    handles.clear();
    allSamples.clear();
    if (sampler) clearInterval(sampler);
    sampler = undefined;
    conference.value = undefined;
    whispers.value = [];
    lines.value = Array.from({ length: LINE_COUNT }, () => null);
    activeLine.value = 1;
  }

  useSessionStore().listen({
    attach: (p) => [
      p.on('callAdded', (h) => onCallAdded(h)),
      p.on('incomingCall', (h) => onIncoming(h)),
      p.on('callUpdated', (h) => onCallUpdated(h)),
      p.on('callEnded', (h) => onCallEnded(h)),
      p.on('recording', (ev) => onRecording(ev.call, ev.blob)),
    ],
    detach: reset,
  });

  return {
    lines,
    whispers,
    activeLine,
    recordings,
    conference,
    active,
    live,
    incoming,
    inCall,
    onCallAdded,
    onIncoming,
    onCallUpdated,
    onCallEnded,
    onRecording,
    sampleAll,
    dial,
    answer,
    decline,
    hangup,
    toggleHold,
    switchTo,
    toggleMute,
    sendDtmf,
    blindTransfer,
    attendedTransfer,
    warmUp,
    merge,
    endConference,
    toggleVideo,
    toggleScreenShare,
    switchCamera,
    toggleRecording,
    removeRecording,
    reset,
  };
});
