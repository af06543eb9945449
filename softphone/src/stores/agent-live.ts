// What runs while signed in as an agent, loaded with the agent sign-in (not
// part of the first load): the queue call's quality posted every 5 s
// (agent-quality.ts) and the supervisor's whisper/barge legs (agent-monitor.ts).
import { watch } from 'vue';
import type { AgentView, QualityVerdict, CallHandle } from '../phone';
import type { AgentClientLike } from './core';
import type { Line } from './calls';
import { useSessionStore } from './session';
import { reportQuality } from './agent-quality';
import { takeWhisperLeg } from './agent-monitor';

export function install(a: {
  client: () => AgentClientLike | undefined;
  view: () => AgentView | undefined;
  callLine: () => Line | undefined;
  onVerdict: (v: QualityVerdict) => void;
}): () => void {
  let stopReporting: (() => void) | undefined;
  // While on an answered queue call, its quality goes to the gateway.
  const stopWatch = watch(
    () => {
      const call = a.view()?.call;
      return call && a.callLine()?.state === 'established' ? call.callId : '';
    },
    (callId) => {
      stopReporting?.();
      stopReporting = undefined;
      const c = a.client();
      if (!callId || !c) return;
      stopReporting = reportQuality({
        client: c,
        callId,
        samples: () => {
          const l = a.callLine();
          return l?.state === 'established' ? l.samples : undefined;
        },
        onVerdict: a.onVerdict,
      });
    },
    { immediate: true },
  );
  // The queue call's handle (barge mixes into it) and whisper legs next to it.
  let queueHandle: CallHandle | undefined;
  const stopListening = useSessionStore().listen({
    attach: (p) => [
      p.on('incomingCall', (c) => {
        if (c.queueCall) queueHandle = c;
        if (c.monitor?.supervisor)
          takeWhisperLeg(
            c,
            () => a.view()?.call?.callId,
            () => queueHandle,
          );
      }),
    ],
  });
  return () => {
    stopWatch();
    stopReporting?.();
    stopListening();
  };
}
