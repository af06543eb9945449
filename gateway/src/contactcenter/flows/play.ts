import type { FlowContext, PlayVerb, VerbResult } from './spec.js';

/** Prompts toward the caller, in order, `repeat` times; goes on when they end. */
export async function play(ctx: FlowContext, v: PlayVerb): Promise<VerbResult> {
  // the call-control tier joins a list into one gapless file (callcontrol/media.ts)
  const r = await ctx.call.play(ctx.sounds.prompts(v.prompts), { repeat: v.repeat });
  return r === 'ended' ? { end: true } : { next: true };
}
