import type { DialVerb, FlowContext, VerbResult } from './spec.js';

/**
 * Ring a user or number and bridge on answer (a blind B2BUA transfer). An
 * answered caller hears music while it rings; an unanswered one keeps hearing
 * ringback from their own side. Unanswered: the flow goes on (to a hang-up).
 */
export async function dial(ctx: FlowContext, v: DialVerb): Promise<VerbResult> {
  const { call } = ctx;
  const target = 'user' in v.target ? v.target.user : v.target.number;
  if (call.state === 'answered' && ctx.ringMusic.length)
    void call.play(ctx.ringMusic, { repeat: 10 }).catch(() => undefined);
  const offer = call.connect(target, { timeoutSec: v.timeoutSec });
  const onEnded = () => offer.cancel();
  call.on('ended', onEnded);
  const outcome = await offer.outcome.catch(() => 'failed' as const);
  call.off('ended', onEnded);
  ctx.log.info({ callId: call.id, target, outcome }, 'dial outcome');
  if (call.state === 'ended') return { end: true };
  if (outcome !== 'answered') return { next: true };
  // Bridged: the call is over when either side leaves.
  await new Promise<void>((resolve) => {
    const done = () => {
      call.off('ended', done);
      call.off('agentLeft', left);
      resolve();
    };
    const left = () => {
      void call.hangup().catch(() => undefined);
      done();
    };
    call.on('ended', done);
    call.on('agentLeft', left);
  });
  return { end: true };
}
