import type { FlowContext, PlayVerb, VerbResult } from './spec.js';

/** Prompts toward the caller, in order, `repeat` times; goes on when they end. */
export async function play(ctx: FlowContext, v: PlayVerb): Promise<VerbResult> {
  const files = await ctx.sounds.sequence(ctx.sounds.prompts(v.prompts));
  const r = await ctx.call.play(files, { repeat: v.repeat });
  return r === 'ended' ? { end: true } : { next: true };
}
