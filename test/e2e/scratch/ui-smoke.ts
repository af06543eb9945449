import { startE2eStack } from '../harness/stack.ts';
import { launchPhone, loginDemo, dial, answer, waitCallState, expectTone, inboundStats, hangup, byId, sleep } from '../harness/softphone.ts';
const s = await startE2eStack('ui');
const a = await launchPhone('a', 1000, s.baseUrl);
const b = await launchPhone('b', 600, s.baseUrl);
for (const p of [a, b]) p.page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') console.log(p.name, m.type(), m.text().slice(0, 300)); });
try {
  console.log('reg a', await loginDemo(a, '1001'));
  console.log('reg b', await loginDemo(b, '1002'));
  for (let i = 0; i < 3; i++) {
    await dial(a.page, '1002');
    await byId(b.page, 'answer-button').waitFor({ timeout: 10000 });
    console.log('a state', await waitCallState(a.page, ['ringing', 'calling', 'early']));
    await answer(b.page);
    await waitCallState(a.page, 'established'); await waitCallState(b.page, 'established');
    await sleep(500);
    console.log('a hears', await expectTone(a.page, 600), await inboundStats(a.page));
    console.log('b hears', await expectTone(b.page, 1000), await inboundStats(b.page));
    await hangup(a.page);
    console.log('end', await waitCallState(b.page, ['ended', 'idle']));
    await sleep(500);
  }
} catch (e) { console.log('ERR', e); await a.page.screenshot({ path: '/tmp/a.png' }); await b.page.screenshot({ path: '/tmp/b.png' }); console.log(s.logs(20)); }
finally { await a.close(); await b.close(); await s.stop(); }
