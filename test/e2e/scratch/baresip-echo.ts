import { startE2eStack } from '../harness/stack.ts';
import { Baresip } from '../harness/baresip.ts';
import { sleep } from '../harness/softphone.ts';
const s = await startE2eStack('bs');
const b = new Baresip({ user: '1003', password: 'demo-1003-pw', proxy: '127.0.0.1:20060', sipPort: 20510, ctrlPort: 20520, rtpPort: 20530, toneHz: 800 });
try {
  await b.start();
  console.log(await b.waitRegistered());
  console.log(await b.command('dial', 'sip:9196@localhost'));
  console.log(await b.waitEvent((e) => e.type === 'CALL_ESTABLISHED', 'established'));
  await sleep(3000);
  console.log(await b.command('hangup'));
  await sleep(500);
  console.log(b.recordings());
  console.log(b.events.map((e) => e.type));
} catch (e) { console.log('ERR', e); }
finally { console.log(b.output.slice(-3000)); await b.stop(); await s.stop(); }
