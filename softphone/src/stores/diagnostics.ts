// The SIP trace (for the ladder view and the redacted export) and the
// pre-call check results.
import { defineStore } from 'pinia';
import { computed, ref, shallowRef, triggerRef } from 'vue';
import type { TraceEntry } from '../phone';
import { i18n } from '../i18n';
import { playTone } from '../sound/tones';
import { useAccountStore } from './account';
import { useDevicesStore } from './devices';
import { useSessionStore } from './session';
import type { CheckName, CheckResult, CheckStatus } from './precall';

const TRACE_LIMIT = 2000;

/** Same layout as the core's export, for when no phone exists (signed out). */
export function formatTrace(entries: readonly TraceEntry[]): string {
  return entries
    .map((e) => {
      const arrow = e.direction === 'sent' ? '>>> sent' : '<<< received';
      return `${new Date(e.time).toISOString()} ${arrow}\n${e.text.replace(/\r\n/g, '\n')}`;
    })
    .join('\n\n');
}

export type OverallStatus = CheckStatus | 'running' | 'idle';

export const useDiagnosticsStore = defineStore('diagnostics', () => {
  const trace = shallowRef<TraceEntry[]>([]);
  const results = ref<Partial<Record<CheckName, CheckResult>>>({});
  const running = ref(false);
  const current = ref<CheckName | undefined>();
  const micLevel = ref(0);
  const toneSinkApplied = ref<boolean | undefined>();
  const finishedAt = ref<number | undefined>();
  let required: readonly CheckName[] = [];

  const t = (key: string, params?: Record<string, unknown>) =>
    params ? i18n.global.t(key, params) : i18n.global.t(key);

  function onTrace(e: TraceEntry): void {
    const list = trace.value;
    list.push(e);
    if (list.length > TRACE_LIMIT) list.splice(0, list.length - TRACE_LIMIT);
    triggerRef(trace);
  }

  function clearTrace(): void {
    trace.value = [];
  }

  /** The redacted export (the core's, which redacts again; ours when signed out). */
  function exportTrace(): string {
    const phone = useAccountStore().phone;
    return phone ? phone.exportTrace() : formatTrace(trace.value);
  }

  const overall = computed<OverallStatus>(() => {
    if (running.value) return 'running';
    if (!finishedAt.value) return 'idle';
    return required.every((n) => results.value[n]?.status === 'pass') ? 'pass' : 'fail';
  });

  async function runPrecall(): Promise<void> {
    if (running.value) return;
    running.value = true;
    results.value = {};
    finishedAt.value = undefined;
    const account = useAccountStore();
    const devices = useDevicesStore();
    try {
      const p = await import('./precall');
      required = p.REQUIRED_CHECKS;
      const env = p.browserEnv();
      const step = async (name: CheckName, fn: () => Promise<CheckResult> | CheckResult) => {
        current.value = name;
        try {
          results.value[name] = await fn();
        } catch (e) {
          results.value[name] = {
            name,
            status: 'fail',
            detail: 'error',
            params: { error: e instanceof Error ? e.message : String(e) },
          };
        }
      };
      await step('webrtc', () => p.checkWebRtc(env));
      await step('permission', () => p.checkPermission(env));
      await step('devices', () => p.checkDevices(env));
      void devices.refresh().catch(() => undefined);
      await step('microphone', () =>
        p.checkMicrophone(env, devices.selection.microphone, (v) => (micLevel.value = v)),
      );
      await step('speaker', () => playTestTone(1000));
      const iceServers = await account.effectiveIceServers().catch(() => []);
      await step('websocket', () =>
        p.checkWebSocket(env, account.effectiveWsUrl, account.effectiveDomain || 'localhost'),
      );
      await step('ice', () => p.checkIce(env, iceServers));
      await step('turn', () => p.checkTurn(env, iceServers));
    } finally {
      current.value = undefined;
      running.value = false;
      finishedAt.value = Date.now();
    }
  }

  /** 440 Hz through the chosen speaker (WebAudio oscillator → <audio> with setSinkId). */
  async function playTestTone(ms = 1500): Promise<CheckResult> {
    const devices = useDevicesStore();
    const player = await playTone({
      frequencies: [440],
      onMs: ms,
      offMs: 0,
      volume: 0.3,
      sinkId: devices.selection.speaker,
      maxDurationMs: ms,
    });
    toneSinkApplied.value = player.sinkApplied;
    await new Promise((r) => setTimeout(r, ms));
    player.stop();
    const chosen = !!devices.selection.speaker && player.sinkApplied;
    return {
      name: 'speaker',
      status: devices.selection.speaker && !player.sinkApplied ? 'warn' : 'pass',
      detail: chosen || devices.sinkSupported ? 'speakerPlayed' : 'speakerDefault',
      data: { sinkId: devices.selection.speaker || 'default', sinkApplied: player.sinkApplied },
    };
  }

  /** Plain-text report for the Copy button. */
  const report = computed(() => {
    const lines = [
      `${t('precall.title')} — ${finishedAt.value ? new Date(finishedAt.value).toISOString() : '-'}`,
      `${t('precall.overall.' + overall.value)}`,
      `User agent: ${globalThis.navigator?.userAgent ?? '?'}`,
      '',
    ];
    for (const r of Object.values(results.value)) {
      if (!r) continue;
      lines.push(
        `[${r.status.toUpperCase()}] ${t('precall.checks.' + r.name)}: ${t('precall.detail.' + r.detail, r.params ?? {})}`,
      );
      if (r.data) {
        for (const [k, v] of Object.entries(r.data)) lines.push(`    ${k}: ${String(v)}`);
      }
    }
    return lines.join('\n');
  });

  useSessionStore().listen({ attach: (p) => [p.on('trace', (e) => onTrace(e))] });

  return {
    trace,
    results,
    running,
    current,
    micLevel,
    toneSinkApplied,
    overall,
    report,
    onTrace,
    clearTrace,
    exportTrace,
    runPrecall,
    playTestTone,
  };
});
