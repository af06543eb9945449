// Dev helper (not a test): the calltest test stack at base 19000, kept up until
// killed, to run the CLI by hand inside the same network namespace.
import { startStack } from '../integration/harness/stack.js';
import { STACK_OVERRIDES } from './stack-config.js';

const stack = await startStack('calltest-dev', Number(process.env.BASE ?? 19000), STACK_OVERRIDES);
console.log('stack up', JSON.stringify(stack.ports));
const stop = () => void stack.stop().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setInterval(() => undefined, 1 << 30);
