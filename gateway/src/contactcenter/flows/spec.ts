import { z } from 'zod';
import { destinationSchema, type Destination } from '../../config/contactCenter.js';
import type { InboundCall } from '../../callcontrol/types.js';
import type { Logger } from '../../log.js';
import type { Sounds } from '../sounds.js';

// A call flow is a short list of typed verbs (after jambonz's feature server):
// each verb lives in its own file, and a whole flow is validated against this
// one schema before it runs, so a compiled IVR that makes no sense is refused
// at start rather than on a live call.

const name = z.string().regex(/^[a-z0-9][a-z0-9-]*$/);
const prompts = z.array(z.string().min(1));

export const answerVerb = z.strictObject({ verb: z.literal('answer') });
export const playVerb = z.strictObject({
  verb: z.literal('play'),
  /** Prompt names (see Sounds.prompt). */
  prompts: prompts.min(1),
  repeat: z.number().int().min(1).max(10).default(1),
});
export const gatherVerb = z.strictObject({
  verb: z.literal('gather'),
  /** The IVR this menu came from (logs and records). */
  menu: name,
  prompts: prompts.min(1),
  invalidPrompts: prompts,
  timeoutSec: z.number().int().min(1).max(60),
  /** Greeting plays this many times in all (an invalid digit uses one up) before onTimeout. */
  attempts: z.number().int().min(1).max(10),
  options: z.record(z.string().regex(/^[0-9*#]$/), destinationSchema),
  onTimeout: destinationSchema,
});
export const enqueueVerb = z.strictObject({ verb: z.literal('enqueue'), queue: name });
export const dialVerb = z.strictObject({
  verb: z.literal('dial'),
  target: z.union([
    z.strictObject({ user: z.string().min(1) }),
    z.strictObject({ number: z.string().min(1) }),
  ]),
  timeoutSec: z.number().int().min(5).max(300).default(30),
});
export const hangupVerb = z.strictObject({
  verb: z.literal('hangup'),
  /** SIP code when the caller was never answered (a final response instead of BYE). */
  code: z.number().int().min(400).max(699).default(480),
});

export const verbSchema = z.discriminatedUnion('verb', [
  answerVerb,
  playVerb,
  gatherVerb,
  enqueueVerb,
  dialVerb,
  hangupVerb,
]);
export const flowSchema = z.array(verbSchema).min(1);

export type Verb = z.infer<typeof verbSchema>;
export type Flow = z.infer<typeof flowSchema>;
export type AnswerVerb = z.infer<typeof answerVerb>;
export type PlayVerb = z.infer<typeof playVerb>;
export type GatherVerb = z.infer<typeof gatherVerb>;
export type EnqueueVerb = z.infer<typeof enqueueVerb>;
export type DialVerb = z.infer<typeof dialVerb>;
export type HangupVerb = z.infer<typeof hangupVerb>;

/** What a verb tells the runner: go on with the next verb, go elsewhere, or stop (the call is over). */
export type VerbResult = { next: true } | { goto: Destination } | { end: true };

export interface FlowContext {
  call: InboundCall;
  sounds: Sounds;
  log: Logger;
  /** Music the caller hears while a user or number rings. */
  ringMusic: string[];
  /** Where a REFER from the bridged party leads (queue, IVR, user or number). */
  transferTarget(user: string): Destination;
  /** The queue engine: takes the caller, settles when they leave the queue. */
  enqueue(call: InboundCall, queue: string): Promise<VerbResult>;
}

/** The call ended while the verb ran (the caller hung up): nothing more to do. */
export function isOver(call: InboundCall): boolean {
  return call.state === 'ended';
}
