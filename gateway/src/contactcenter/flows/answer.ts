import type { AnswerVerb, FlowContext, VerbResult } from './spec.js';

/** 200 OK toward the caller (once; a flow that answers twice is harmless). */
export async function answer(ctx: FlowContext, _v: AnswerVerb): Promise<VerbResult> {
  if (ctx.call.state === 'ringing') await ctx.call.answer();
  return ctx.call.state === 'ended' ? { end: true } : { next: true };
}
