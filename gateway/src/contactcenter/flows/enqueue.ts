import type { EnqueueVerb, FlowContext, VerbResult } from './spec.js';

/**
 * Hand the caller to the queue engine. It answers when the queue takes them,
 * and settles when they leave: bridged call over (end), or overflow / exit key
 * (goto).
 */
export function enqueue(ctx: FlowContext, v: EnqueueVerb): Promise<VerbResult> {
  return ctx.enqueue(ctx.call, v.queue);
}
