import type { FlowContext, HangupVerb, VerbResult } from './spec.js';

/** BYE, or a final response when the caller was never answered (no 200 just to hang up). */
export async function hangup(ctx: FlowContext, v: HangupVerb): Promise<VerbResult> {
  const { call } = ctx;
  if (call.state === 'ringing') await call.reject(v.code);
  else if (call.state !== 'ended') await call.hangup();
  return { end: true };
}
