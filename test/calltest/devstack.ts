// Dev helper: a gateway stack at base 19000 kept up until killed (not a test).
import { startStack } from '../integration/harness/stack.js';

const stack = await startStack('calltest-dev', Number(process.env.BASE ?? 19000));
console.log('stack up', JSON.stringify(stack.ports));
process.on('SIGTERM', () => void stack.stop().then(() => process.exit(0)));
process.on('SIGINT', () => void stack.stop().then(() => process.exit(0)));
setInterval(() => undefined, 1 << 30);
