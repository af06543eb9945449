import { startE2eStack } from '../harness/stack.ts';
import { execFileSync } from 'node:child_process';
const s = await startE2eStack('tonedirect');
try {
  try { execFileSync('sipp', ['-sf', '/tmp/tonetest/withrtp.xml', '-i', '127.0.0.1', '-p', '20594', '-mp', '20620', '-m', '1', '-nostdin', '-timeout', '10', '127.0.0.1:20092'], { stdio: 'ignore' }); console.log('uac ok'); } catch (e) { console.log('uac failed'); }
} finally { await s.stop(); }
