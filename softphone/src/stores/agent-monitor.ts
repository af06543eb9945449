// The agent's side of whisper and barge (gateway API.md): the call-control
// tier sends the agent's softphone a second INVITE, next to the queue call,
// with X-Monitor (whisper or barge; Kamailio strips the header from anyone
// else's INVITE). It is answered at once, silently, when it names the queue
// call the agent is on (never a line of its own, never a ring: the calls
// store keeps it out of the line list), and refused otherwise; its audio
// (the supervisor) plays locally; in barge it is also mixed into what the
// agent sends the caller, and INFO mode changes switch that on and off.
// Loaded by the agent store when such a leg arrives.
import type { CallHandle } from '../phone';
import { loadMonitor } from './core';

export function takeWhisperLeg(
  leg: CallHandle,
  currentQueueCall: () => string | undefined,
  queueHandle: () => CallHandle | undefined,
): void {
  const m = leg.monitor;
  if (!m) return;
  if (m.queueCall !== currentQueueCall()) {
    // Not for the call we are on (it ended meanwhile): it is no line to ring, refuse it.
    void leg.decline(486).catch(() => undefined);
    return;
  }
  let unmix: (() => void) | undefined;
  const apply = async () => {
    const call = queueHandle();
    const barge = leg.monitor?.mode === 'barge' && leg.state === 'established';
    if (barge && !unmix && call && call.state !== 'ended') {
      try {
        unmix = (await loadMonitor()).mixIntoCall(call, leg);
      } catch {
        // no audio from the supervisor yet: the next update tries again
      }
    } else if (!barge && unmix) {
      unmix();
      unmix = undefined;
    }
  };
  const offs = [
    leg.on('updated', () => void apply()),
    leg.on('ended', () => {
      unmix?.();
      unmix = undefined;
      for (const off of offs) off();
    }),
  ];
  leg.answer().then(apply, () => undefined);
}
