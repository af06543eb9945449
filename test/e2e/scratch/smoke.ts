import { startE2eStack } from '/work/main/test/e2e/harness/stack.ts';
const t0 = Date.now();
const s = await startE2eStack('smoke');
console.log('up in', Date.now() - t0, s.dataDir);
const r = await fetch(s.baseUrl + '/healthz').catch(e => String(e));
console.log(typeof r === 'string' ? r : await r.text());
await s.stop();
