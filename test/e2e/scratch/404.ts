import { startE2eStack } from '../harness/stack.ts';
import { launchPhone } from '../harness/softphone.ts';
const s = await startE2eStack('x');
const a = await launchPhone('a', 1000, s.baseUrl);
a.page.on('response', (r) => { if (r.status() >= 400) console.log('HTTP', r.status(), r.url()); });
await a.page.goto('/'); await new Promise((r) => setTimeout(r, 2000));
await a.close(); await s.stop();
