// Child process of the gateway benchmark: many SIP-over-WSS clients through
// the gateway's TLS terminator, apart from the gateway's own process so that
// process's memory is the terminator's. Commands on stdin (one JSON per line),
// one JSON answer per line on stdout:
//   {"cmd":"connect","url":...,"origin":...,"from":0,"count":N,"password":...}
//       → {"connected":n,"registered":n,"failed":n,"ms":...}
//   {"cmd":"refresh","rate":R,"seconds":S}  (REGISTER refreshes with digest, spread over the clients)
//       → {"sent":n,"ok":n,"failed":n,"p50Ms":...,"p99Ms":...}
//   {"cmd":"quit"}
// Bounded: every request times out after 10 s, and the process exits after 15 minutes whatever happens.
import { createInterface } from 'node:readline';
import { SipUA, wsTransport } from '../integration/harness/sipua.js';

setTimeout(() => process.exit(3), 15 * 60_000).unref();

const clients: SipUA[] = [];
const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
const user = (i: number) => `w${String(i).padStart(5, '0')}`;

function pct(values: number[], p: number): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

async function connect(c: {
  url: string;
  origin: string;
  from: number;
  count: number;
  password: string;
}) {
  const t0 = Date.now();
  let connected = 0;
  let registered = 0;
  let failed = 0;
  // 50 handshakes at a time: a burst of thousands of TLS handshakes is not what is measured here
  let next = c.from;
  const end = c.from + c.count;
  const worker = async () => {
    while (next < end) {
      const i = next++;
      try {
        const t = await wsTransport(c.url, { origin: c.origin });
        connected++;
        const ua = new SipUA(t, { user: user(i), password: c.password });
        const r = await ua.register({ expires: 3600, timeoutMs: 10_000 });
        if (r.final.status === 200) {
          registered++;
          clients.push(ua);
        } else {
          failed++;
          await ua.close();
        }
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: 50 }, worker));
  out({ connected, registered, failed, ms: Date.now() - t0 });
}

async function refresh(c: { rate: number; seconds: number }) {
  const total = Math.round(c.rate * c.seconds);
  const latencies: number[] = [];
  let failed = 0;
  const pending: Promise<void>[] = [];
  const t0 = Date.now();
  for (let k = 0; k < total; k++) {
    // paced: request k leaves at k / rate seconds
    const due = t0 + (k * 1000) / c.rate;
    const wait = due - Date.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const ua = clients[k % clients.length]!;
    const s = Date.now();
    pending.push(
      ua.register({ expires: 3600, timeoutMs: 10_000 }).then(
        (r) => {
          if (r.final.status === 200) latencies.push(Date.now() - s);
          else failed++;
        },
        () => {
          failed++;
        },
      ),
    );
  }
  await Promise.all(pending);
  out({
    sent: total,
    ok: latencies.length,
    failed,
    p50Ms: pct(latencies, 50),
    p99Ms: pct(latencies, 99),
    seconds: (Date.now() - t0) / 1000,
  });
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const c = JSON.parse(line) as { cmd: string } & Record<string, unknown>;
  if (c.cmd === 'connect') void connect(c as unknown as Parameters<typeof connect>[0]);
  else if (c.cmd === 'refresh') void refresh(c as unknown as Parameters<typeof refresh>[0]);
  else if (c.cmd === 'quit') {
    void Promise.all(clients.map((u) => u.close())).then(() => process.exit(0));
  }
});
