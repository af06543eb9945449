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
  // Bridged: over when either side leaves, or elsewhere when the far end transfers.
  return new Promise<VerbResult>((resolve) => {
    const finish = (r: VerbResult) => {
      call.off('ended', ended);
      call.off('agentLeft', left);
      call.off('transfer', transfer);
      resolve(r);
    };
    const ended = () => finish({ end: true });
    const left = () => {
      void call.hangup().catch(() => undefined);
      finish({ end: true });
    };
    const transfer = (t: { user: string }) => finish({ goto: ctx.transferTarget(t.user) });
    call.on('ended', ended);
    call.on('agentLeft', left);
    call.on('transfer', transfer);
  });
}
