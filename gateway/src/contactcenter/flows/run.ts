import type { ContactCenterConfig, Destination, IvrConfig } from '../../config/contactCenter.js';
import { answer } from './answer.js';
import { dial } from './dial.js';
import { enqueue } from './enqueue.js';
import { gather } from './gather.js';
import { hangup } from './hangup.js';
import { play } from './play.js';
import { flowSchema, type Flow, type FlowContext, type Verb, type VerbResult } from './spec.js';

/** A caller bouncing between menus and overflowing queues forever is hung up after this many hops. */
const MAX_HOPS = 25;

/** An IVR menu as a flow: answer, then the menu. */
export function compileIvr(ivr: IvrConfig): Flow {
  return flowSchema.parse([
    { verb: 'answer' },
    {
      verb: 'gather',
      menu: ivr.name,
      prompts: ivr.greeting,
      invalidPrompts: ivr.invalidPrompt,
      timeoutSec: ivr.timeoutSec,
      attempts: ivr.repeat,
      options: ivr.options,
      onTimeout: ivr.onTimeout,
    },
  ]);
}

/** Where a destination leads, as a flow. */
export function destinationFlow(d: Destination, cc: ContactCenterConfig): Flow {
  if ('queue' in d) return flowSchema.parse([{ verb: 'enqueue', queue: d.queue }]);
  if ('ivr' in d) {
    const ivr = cc.ivrs.find((i) => i.name === d.ivr);
    if (!ivr) throw new Error(`no IVR named "${d.ivr}"`);
    return compileIvr(ivr);
  }
  if ('user' in d)
    return flowSchema.parse([{ verb: 'dial', target: { user: d.user } }, { verb: 'hangup' }]);
  if ('number' in d)
    return flowSchema.parse([{ verb: 'dial', target: { number: d.number } }, { verb: 'hangup' }]);
  return flowSchema.parse([{ verb: 'hangup' }]);
}

function runVerb(ctx: FlowContext, v: Verb): Promise<VerbResult> {
  switch (v.verb) {
    case 'answer':
      return answer(ctx, v);
    case 'play':
      return play(ctx, v);
    case 'gather':
      return gather(ctx, v);
    case 'enqueue':
      return enqueue(ctx, v);
    case 'dial':
      return dial(ctx, v);
    case 'hangup':
      return hangup(ctx, v);
  }
}

/** Run a flow to its end, following gotos; a flow that runs out of verbs hangs up. */
export async function runFlow(
  ctx: FlowContext,
  flow: Flow,
  cc: ContactCenterConfig,
): Promise<void> {
  let current = flow;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    let next: Destination | undefined;
    for (const verb of current) {
      if (ctx.call.state === 'ended') return;
      const r = await runVerb(ctx, verb);
      if ('end' in r) return;
      if ('goto' in r) {
        next = r.goto;
        break;
      }
    }
    if (!next) break;
    current = destinationFlow(next, cc);
  }
  await hangup(ctx, { verb: 'hangup', code: 480 });
}
