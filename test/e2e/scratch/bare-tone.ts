import { startE2eStack } from '../harness/stack.ts';
import { launchSoftphoneBrowser, dominantFrequency } from '../harness/browser.ts';
import { openBarePhone } from '../harness/bare.ts';
const s = await startE2eStack('bare');
const b = await launchSoftphoneBrowser({ toneHz: 1000, baseUrl: s.baseUrl });
try {
  await openBarePhone(b.page, s.baseUrl);
  console.log('register ms', await b.page.evaluate(() => (window as any).bare.register('1001', 'demo-1001-pw')));
  const r = await b.page.evaluate(() => (window as any).bare.call('9198'));
  console.log(r);
  await new Promise((r) => setTimeout(r, 2500));
  console.log(await b.page.evaluate(() => ({ log: (window as any).bare.log, t: (window as any).bare.t, pc: !!(window as any).bare.pc(), rs: (window as any).bare.remoteStream()?.getTracks().length })));
  console.log(await dominantFrequency(b.page, 'window.bare.remoteStream()', 1500));
  console.log(await b.page.evaluate(async () => { const st = await (window as any).bare.pc().getStats(); const o: any[] = []; st.forEach((x: any) => { if (x.type === 'inbound-rtp' || x.type==='transport') o.push(x); }); return o; }));
  for (const id of await s.gateway.rtpengine.callIds()) console.log(JSON.stringify(await s.gateway.rtpengine.query(id), null, 1).slice(0, 6000));
} catch (e) { console.log('ERR', e); }
finally {  await b.close(); await s.stop(); }
