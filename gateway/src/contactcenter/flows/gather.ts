import type { FlowContext, GatherVerb, VerbResult } from './spec.js';

/**
 * An IVR menu: play the greeting, take one digit (RFC 4733 or SIP INFO, both
 * arrive as 'dtmf'; a digit during the greeting stops it), go where the digit
 * says. No digit within timeoutSec: greeting again. Unknown digit: the invalid
 * prompt, then the greeting again. After `attempts` greetings: onTimeout.
 */
export async function gather(ctx: FlowContext, v: GatherVerb): Promise<VerbResult> {
  const { call, sounds } = ctx;
  let digit: string | null = null;
  let wake: (() => void) | null = null;
  const onDtmf = (d: string) => {
    if (digit !== null) return;
    digit = d;
    void call.stopPlay().catch(() => undefined);
    wake?.();
  };
  const onEnded = () => wake?.();
  call.on('dtmf', onDtmf);
  call.on('ended', onEnded);
  const greeting = sounds.prompts(v.prompts);
  const invalid = sounds.prompts(v.invalidPrompts);
  try {
    for (let attempt = 1; attempt <= v.attempts; attempt++) {
      // A digit pressed during the invalid prompt is the next choice: no greeting then.
      if (digit === null) {
        if ((await call.play(greeting)) === 'ended') return { end: true };
        if (digit === null) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, v.timeoutSec * 1000);
            wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
          wake = null;
        }
      }
      if (call.state === 'ended') return { end: true };
      const pressed: string | null = digit;
      if (pressed === null) {
        ctx.log.debug({ callId: call.id, menu: v.menu, attempt }, 'menu timeout');
        continue;
      }
      const dest = v.options[pressed];
      if (dest) {
        ctx.log.info({ callId: call.id, menu: v.menu, digit: pressed, dest }, 'menu choice');
        return { goto: dest };
      }
      ctx.log.info({ callId: call.id, menu: v.menu, digit: pressed }, 'menu invalid digit');
      digit = null;
      if (invalid.length && (await call.play(invalid)) === 'ended') return { end: true };
    }
    return { goto: v.onTimeout };
  } finally {
    call.off('dtmf', onDtmf);
    call.off('ended', onEnded);
  }
}
