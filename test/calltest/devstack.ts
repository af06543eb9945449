// Dev helper (not a test): the calltest test stack at base 19000, kept up until
// killed, to run the CLI by hand inside the same network namespace.
import { startStack } from '../integration/harness/stack.js';
import { STACK_OVERRIDES } from './stack-config.js';

// RTP_MIN/RTP_MAX: a wider rtpengine range for a load run by hand (in its own namespace)
const rtp =
  process.env.RTP_MIN && process.env.RTP_MAX
    ? { rtpengine: { portMin: Number(process.env.RTP_MIN), portMax: Number(process.env.RTP_MAX) } }
    : {};
const stack = await startStack('calltest-dev', Number(process.env.BASE ?? 19000), {
  ...STACK_OVERRIDES,
  ...rtp,
});
console.log('stack up', JSON.stringify(stack.ports));
const stop = () => void stack.stop().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setInterval(() => undefined, 1 << 30);
