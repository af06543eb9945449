import { startE2eStack } from '../harness/stack.ts';
import { launchSoftphoneBrowser, dominantFrequency } from '../harness/browser.ts';
import { openBarePhone } from '../harness/bare.ts';
const s = await startE2eStack('bare');
const b = await launchSoftphoneBrowser({ toneHz: 1000, baseUrl: s.baseUrl });
try {
  b.page.on('console', (m) => console.log('page:', m.text()));
  await openBarePhone(b.page, s.baseUrl);
  console.log('register ms', await b.page.evaluate(() => (window as any).bare.register('1001', 'demo-1001-pw')));
  for (const target of ['9196', '9198', '9196']) {
    const r = await b.page.evaluate((t) => (window as any).bare.call(t), target);
    console.log(target, r);
    await b.page.waitForFunction(() => (window as any).bare.t.established, null, { timeout: 10000 });
    await new Promise((r) => setTimeout(r, 1000));
    console.log(target, await dominantFrequency(b.page, 'window.bare.remoteStream()', 1500));
    console.log(await b.page.evaluate(async () => { const st = await (window as any).bare.pc().getStats(); let o: any; st.forEach((x: any) => { if (x.type === 'inbound-rtp') o = { p: x.packetsReceived, l: x.audioLevel, c: x.codecId }; }); return o; }));
    await b.page.evaluate(() => (window as any).bare.hangup());
    await new Promise((r) => setTimeout(r, 500));
  }
} catch (e) { console.log('ERR', e); console.log(s.logs(30)); }
finally { await b.close(); await s.stop(); }
