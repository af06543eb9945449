import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portsFor, type Stack } from './harness/stack.js';
import { SipUA, digest, hdr, plainSdp, type Dialog, type SipMessage } from './harness/sipua.js';
import { DEMO, udpUser, noMediaSessions } from './harness/phones.js';
import { RtpEndpoint, sdpAudio, type ReceivedPacket } from './harness/rtp.js';
import { until } from './harness/wait.js';
import type { ContactCenter } from '../../gateway/src/contactcenter/contactCenter.js';
import { carrierCalls, startContactCenterStack } from './harness/carrier.js';
import { httpsRequest, jsonOf } from './harness/https.js';

// Listen, whisper, barge (issue 8) through the real stack: Kamailio,
// rtpengine 10.5, the call-control B2BUA and the supervisor API over HTTPS.
// A carrier caller sends tone A, agent 1003 tone B, supervisor 1001 tone C;
// each RTP endpoint's received audio is analysed per 20 ms frame (Goertzel
// power of A, B and C as a share of the frame's energy), so what each party
// RECEIVES is proven. Barge mixing happens in the agent's softphone (rtpengine
// 10.5 has no mixer; see gateway/src/callcontrol/README.md): the agent here is
// an RtpEndpoint whose uplink is its tone plus what its whisper leg receives
// (`mixIn`), exactly what the browser does; the browser's own mixing is the
// e2e test's to prove.

const BASE = 17750;
const ports = portsFor(BASE);
const DID_SALES = '+15550100801';
const DID_SUPPORT = '+15550100802';
const A = 1000; // caller
const B = 600; // agent
const C = 1400; // supervisor

let stack: Stack;
let cc: ContactCenter;
let carrier: SipUA;

beforeAll(async () => {
  ({ stack, cc, carrier } = await startContactCenterStack('cc-monitoring', BASE, {
    queues: [
      { name: 'sales', dids: [DID_SALES], announce: { everySec: 0 }, wrapUpSec: 1 },
      { name: 'support', dids: [DID_SUPPORT], announce: { everySec: 0 }, wrapUpSec: 1 },
    ],
    agents: [
      { username: '1003', queues: [{ name: 'sales', penalty: 0 }] },
      { username: '1004', queues: [{ name: 'support', penalty: 0 }] },
    ],
    supervisors: [
      { username: '1001', queues: ['sales'] },
      { username: '1002', queues: ['support'] },
    ],
  }));
});

afterAll(async () => {
  await carrier?.close();
  await stack?.stop();
});

// ---------------------------------------------------------------- HTTPS

async function api(
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; json: Record<string, unknown>; headers: Record<string, unknown> }> {
  const a = await httpsRequest(ports.http, path, {
    method,
    ...(opts.token && { token: opts.token }),
    ...(opts.body !== undefined && { json: opts.body }),
    ...(opts.headers && { headers: opts.headers }),
    timeoutMs: 30_000,
  });
  return { status: a.status, json: jsonOf(a), headers: a.headers };
}

/** The agent API's sign-in (HTTP Digest with the SIP password) → bearer token. */
async function login(user: keyof typeof DEMO): Promise<string> {
  const first = await api('POST', '/api/agent/login');
  expect(first.status).toBe(401);
  const auth = digest(String(first.headers['www-authenticate']), {
    user,
    password: DEMO[user],
    method: 'POST',
    uri: '/api/agent/login',
  });
  const r = await api('POST', '/api/agent/login', { headers: { authorization: auth } });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return String(r.json.token);
}

// ---------------------------------------------------------------- audio

/** Share of a frame's energy at `hz` (Goertzel; ~0.5 for a pure tone, 0 when absent). */
function share(pcm: Int16Array, hz: number): number {
  const k = 2 * Math.cos((2 * Math.PI * hz) / 8000);
  let s1 = 0;
  let s2 = 0;
  let energy = 0;
  for (const x of pcm) {
    const s = x + k * s1 - s2;
    s2 = s1;
    s1 = s;
    energy += x * x;
  }
  if (energy === 0) return 0;
  return (2 * (s1 * s1 + s2 * s2 - k * s1 * s2)) / (pcm.length * energy);
}

/** Mean share of each tone over the audible frames received in [from, to]. */
function heard(ep: RtpEndpoint, from: number, to = Date.now()): Record<string, number> {
  const frames = ep.received.filter(
    (p: ReceivedPacket) => p.at >= from && p.at <= to && p.pcm && p.rms >= 300,
  );
  const out: Record<string, number> = { frames: frames.length };
  for (const [name, hz] of [
    ['A', A],
    ['B', B],
    ['C', C],
  ] as const) {
    out[name] = frames.length
      ? frames.reduce((s, p) => s + share(p.pcm!, hz), 0) / frames.length
      : 0;
  }
  return out;
}

/** Which of A, B, C an endpoint hears in [from, to]: a share ≥ 0.08 (absent tones measure < 0.01). */
function tones(ep: RtpEndpoint, from: number, to?: number): string {
  const h = heard(ep, from, to);
  if (h.frames! < 25) return `only ${h.frames} audible frames`;
  return (['A', 'B', 'C'] as const).filter((t) => h[t]! >= 0.08).join('+') || 'none';
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** First audible frame at or after `since` that carries `hz` (onset of a tone). */
function onset(ep: RtpEndpoint, hz: number, since: number): number | undefined {
  return ep.received.find((p) => p.at >= since && p.pcm && p.rms >= 300 && share(p.pcm, hz) >= 0.08)
    ?.at;
}

/** What each named endpoint hears in [from, to] (tones()). */
function hears(eps: Record<string, RtpEndpoint>, from: number, to: number): Record<string, string> {
  return Object.fromEntries(Object.entries(eps).map(([name, ep]) => [name, tones(ep, from, to)]));
}

/**
 * Once `arrived(since)` holds (the new mode's audio is there, within 8 s) and
 * 1.5 s more: what each endpoint heard since the change, logged as `mode`.
 */
async function hearsInMode(
  mode: string,
  what: string,
  arrived: (since: number) => unknown,
  eps: Record<string, RtpEndpoint>,
): Promise<Record<string, string>> {
  const since = Date.now();
  await until(what, () => arrived(since), 8000);
  await sleep(1500);
  const h = hears(eps, since, Date.now());
  console.log(`${mode}:`, JSON.stringify(h));
  return h;
}

/** After a change, what each endpoint hears once it settled: 1.5 s from 300 ms on. */
async function hearsAfterChange(eps: Record<string, RtpEndpoint>): Promise<Record<string, string>> {
  const since = Date.now() + 300;
  await sleep(1800);
  return hears(eps, since, Date.now());
}

/** Stop `ep`'s tone for 600 ms and start it again; gives the restart time (for onset()). */
async function restartTone(ep: RtpEndpoint, to: { host: string; port: number }): Promise<number> {
  ep.stopSending();
  await sleep(600);
  const restart = Date.now();
  ep.sendTo(to.host, to.port);
  return restart;
}

/** rtpengine's CPU time (user + system, ms) from /proc; its ng port identifies it. */
function rtpengineCpuMs(): number {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (!cmd.startsWith('rtpengine') && !cmd.includes('/rtpengine\0')) continue;
    if (!cmd.includes(`:${ports.ng}`)) continue;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields 14 and 15 (utime, stime) are 11 and 12 after the command name
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  }
  throw new Error('rtpengine process not found');
}

async function cpuOver(ms: number): Promise<number> {
  const c0 = rtpengineCpuMs();
  const t0 = Date.now();
  await sleep(ms);
  return ((rtpengineCpuMs() - c0) / (Date.now() - t0)) * 100; // % of one core
}

// ---------------------------------------------------------------- phones

interface Agent {
  ua: SipUA;
  rtp: RtpEndpoint;
  /** The whisper leg's RTP (the supervisor's voice arrives here). */
  coach: RtpEndpoint;
  call?: Dialog;
  coachDialog?: Dialog;
  coachInvites: SipMessage[];
  infos: string[];
  byes: string[];
}

async function agentPhone(): Promise<Agent> {
  const ua = await udpUser(stack, '1003', 1);
  const rtp = await RtpEndpoint.open(ports.clientMedia(1), B);
  const coach = await RtpEndpoint.open(ports.clientMedia(2), B);
  rtp.keepPcm = true;
  coach.keepPcm = true;
  const a: Agent = { ua, rtp, coach, coachInvites: [], infos: [], byes: [] };
  ua.onRequest((req) => {
    const m = req.msg;
    if (m.method === 'INVITE') {
      const monitor = hdr(m, 'x-monitor');
      if (monitor) {
        // The softphone's whisper leg: its raw microphone back (never the mix), and in
        // barge its uplink to the caller becomes mic + this leg's audio.
        a.coachInvites.push(m);
        a.coachDialog = req.reply(200, 'OK', {
          body: plainSdp(coach.port),
          contentType: 'application/sdp',
        });
        const to = sdpAudio(m.body);
        coach.sendTo(to.host, to.port);
        rtp.mixIn = monitor.startsWith('barge') ? coach : undefined;
        return;
      }
      if (a.call && hdr(m, 'call-id') === a.call.callId) {
        req.reply(200, 'OK', { body: plainSdp(rtp.port), contentType: 'application/sdp' });
        return;
      }
      a.call = req.reply(200, 'OK', { body: plainSdp(rtp.port), contentType: 'application/sdp' });
      const to = sdpAudio(m.body);
      rtp.sendTo(to.host, to.port);
    } else if (m.method === 'INFO') {
      const mode = (JSON.parse(m.body) as { mode: string }).mode;
      a.infos.push(`${hdr(m, 'content-type')} ${mode}`);
      rtp.mixIn = mode === 'barge' ? coach : undefined;
      req.reply(200, 'OK');
    } else if (m.method === 'BYE') {
      a.byes.push(hdr(m, 'call-id') ?? '');
      if (hdr(m, 'call-id') === a.coachDialog?.callId) {
        rtp.mixIn = undefined;
        coach.stopSending();
      }
      req.reply(200, 'OK');
    } else if (m.method !== 'ACK') req.reply(200, 'OK');
  });
  expect((await ua.register({ expires: 300 })).final.status).toBe(200);
  await until('1003 registered', () => stack.gw.registrations.isRegistered('1003'), 3000);
  return a;
}

interface Supervisor {
  ua: SipUA;
  /** m-line 0: sends C, receives the agent's raw microphone in whisper/barge. */
  talk: RtpEndpoint;
  /** m-line 1 and 2: copies of the caller and the agent. */
  caller: RtpEndpoint;
  agent: RtpEndpoint;
  invites: SipMessage[];
  /** INVITEs without X-Monitor (refused 486, like a busy softphone). */
  others: SipMessage[];
  dialog?: Dialog;
  byes: number;
}

/** A supervisor softphone: auto-answers the monitoring INVITE with three m-lines. */
async function supervisorPhone(): Promise<Supervisor> {
  const ua = await udpUser(stack, '1001', 3);
  const talk = await RtpEndpoint.open(ports.clientMedia(3), C);
  const caller = await RtpEndpoint.open(ports.clientMedia(4), 0);
  const agent = await RtpEndpoint.open(ports.clientMedia(5), 0);
  for (const ep of [talk, caller, agent]) ep.keepPcm = true;
  const s: Supervisor = { ua, talk, caller, agent, invites: [], others: [], byes: 0 };
  ua.onRequest((req) => {
    const m = req.msg;
    if (m.method === 'INVITE' && hdr(m, 'x-monitor')) {
      s.invites.push(m);
      const offered = [...m.body.matchAll(/^m=audio (\d+)/gm)].map((x) => Number(x[1]));
      const dirs = [...m.body.matchAll(/^a=(sendrecv|sendonly|recvonly|inactive)/gm)].map(
        (x) => x[1],
      );
      if (offered.length !== 3 || dirs.join() !== 'sendrecv,sendonly,sendonly') {
        req.reply(488, 'Not Acceptable Here');
        return;
      }
      const section = (port: number, dir: string) =>
        [
          `m=audio ${port} RTP/AVP 0 101`,
          'a=rtpmap:0 PCMU/8000',
          'a=rtpmap:101 telephone-event/8000',
          `a=${dir}`,
        ].join('\r\n');
      const body =
        [
          'v=0',
          `o=- ${Date.now()} 1 IN IP4 127.0.0.1`,
          's=-',
          'c=IN IP4 127.0.0.1',
          't=0 0',
          section(talk.port, 'sendrecv'),
          section(caller.port, 'recvonly'),
          section(agent.port, 'recvonly'),
        ].join('\r\n') + '\r\n';
      s.dialog = req.reply(200, 'OK', { body, contentType: 'application/sdp' });
      const host = /^c=IN IP4 (\S+)/m.exec(m.body)?.[1] ?? '127.0.0.1';
      talk.sendTo(host, offered[0]!);
    } else if (m.method === 'INVITE') {
      s.others.push(m);
      req.reply(486, 'Busy Here');
    } else if (m.method === 'BYE') {
      s.byes += 1;
      talk.stopSending();
      req.reply(200, 'OK');
    } else if (m.method !== 'ACK') req.reply(200, 'OK');
  });
  expect((await ua.register({ expires: 300 })).final.status).toBe(200);
  await until('1001 registered', () => stack.gw.registrations.isRegistered('1001'), 3000);
  return s;
}

/** The carrier's caller (tone A) calls sales and is answered. */
async function callSales(opts: { callId: string; from?: string; keepPcm?: boolean }) {
  const call = await carrierCalls(carrier, ports, DID_SALES, { hz: A, ...opts });
  expect(call.inv.final.status).toBe(200);
  return call;
}

/** The queue call of the carrier's `callId` and its monitoring URL. */
function monitorUrlOf(callId: string): { queueCallId: string; url: string } {
  const queueCallId = cc.store.queueCalls().find((r) => r.callId === callId)!.id;
  return {
    queueCallId,
    url: `/api/supervisor/calls/${encodeURIComponent(queueCallId)}/monitor`,
  };
}

/** Every tone stopped (in `finally`: a failed assertion leaves nothing sending). */
function stopTones(caller: RtpEndpoint, agent: Agent, sup: Supervisor): void {
  caller.stopSending();
  agent.rtp.stopSending();
  agent.coach.stopSending();
  sup.talk.stopSending();
}

/** Endpoints closed, phones unregistered, and nothing left in rtpengine. */
async function closePhones(caller: RtpEndpoint, agent: Agent, sup: Supervisor): Promise<void> {
  for (const ep of [caller, agent.rtp, agent.coach, sup.talk, sup.caller, sup.agent])
    await ep.close();
  for (const ua of [agent.ua, sup.ua]) {
    await ua.register({ expires: 0 }).catch(() => undefined);
    await ua.close();
  }
  const left = await noMediaSessions(stack, 5000);
  expect(left, `rtpengine still has ${(await stack.gw.rtpengine.callIds()).join(', ')}`).toBe(0);
}

// ---------------------------------------------------------------- the test

describe('listen, whisper, barge through the real stack', () => {
  it('supervisor of sales monitors 1003: listen, whisper, barge, back, leaves; access refused to others', async () => {
    const agent = await agentPhone();
    const sup = await supervisorPhone();
    cc.setState('1003', 'available');

    // Softphones auto-answer X-Monitor INVITEs: Kamailio removes the header from anyone
    // but the call-control tier, so a user cannot make a supervisor's phone answer.
    const spoofer = await udpUser(stack, '1002', 6);
    const spoof = await spoofer.request('INVITE', {
      uri: `sip:1001@${stack.cfg.domain}`,
      headers: ['X-Monitor: listen;id=evil;queue-call=x;agent=1003'],
      body: plainSdp(ports.clientMedia(6)),
      contentType: 'application/sdp',
      timeoutMs: 8000,
    });
    expect(spoof.final.status).toBe(486);
    expect(sup.others).toHaveLength(1);
    expect(hdr(sup.others[0]!, 'x-monitor')).toBeUndefined();
    expect(sup.invites).toHaveLength(0);
    await spoofer.close();

    // Requests the carrier receives on the caller's dialog: none may be a re-INVITE.
    const carrierRequests: string[] = [];
    carrier.onRequest((req) => {
      carrierRequests.push(req.msg.method);
      if (req.msg.method !== 'ACK') req.reply(200, 'OK');
    });

    const {
      inv,
      rtp: callerRtp,
      callId,
    } = await callSales({ callId: `mon-${Date.now()}@carrier`, keepPcm: true });
    const media = sdpAudio(inv.final.body);
    const figures: string[] = [];
    try {
      await until('agent answered', () => agent.call, 8000);
      let since = Date.now();
      await until(
        'caller and agent hear each other',
        () =>
          callerRtp.toneFrom(B, since).length >= 25 && agent.rtp.toneFrom(A, since).length >= 25,
        8000,
      );
      const { queueCallId, url } = monitorUrlOf(callId);
      const callerPorts = () => new Set(callerRtp.received.map((p) => p.fromPort));
      const agentPorts = () => new Set(agent.rtp.received.map((p) => p.fromPort));
      const callerPortsBefore = callerPorts();
      const agentPortsBefore = agentPorts();
      const cpuBase = await cpuOver(6000);

      // ---------------------------------------------------- access control
      const [t1001, t1002, t1003] = [await login('1001'), await login('1002'), await login('1003')];
      const other = await api('POST', url, { token: t1002, body: { mode: 'listen' } });
      expect(other.status, JSON.stringify(other.json)).toBe(403);
      const asAgent = await api('POST', url, { token: t1003, body: { mode: 'listen' } });
      expect(asAgent.status).toBe(403);
      expect((await api('POST', url, { token: t1001, body: { mode: 'spy' } })).status).toBe(400);
      const refusals = cc.store.auditLog().filter((r) => !r.allowed);
      expect(refusals.some((r) => r.actor === '1002' && r.target === queueCallId)).toBe(true);
      expect(refusals.some((r) => r.actor === '1003')).toBe(true);
      expect(sup.invites).toHaveLength(0);

      // ---------------------------------------------------- listen
      const started = await api('POST', url, { token: t1001, body: { mode: 'listen' } });
      expect(started.status, JSON.stringify(started.json)).toBe(200);
      expect(started.json.monitor).toMatchObject({
        queueCallId,
        queue: 'sales',
        agent: '1003',
        supervisor: '1001',
        mode: 'listen',
      });
      expect(hdr(sup.invites[0]!, 'x-monitor')).toMatch(
        new RegExp(`^listen;id=[0-9a-f-]+;queue-call=${esc(queueCallId)};agent=1003$`),
      );
      const listen = await hearsInMode(
        'listen',
        'supervisor hears caller and agent',
        (from) =>
          sup.caller.toneFrom(A, from).length >= 25 && sup.agent.toneFrom(B, from).length >= 25,
        {
          supCaller: sup.caller,
          supAgent: sup.agent,
          supTalk: sup.talk,
          caller: callerRtp,
          agent: agent.rtp,
        },
      );
      expect(listen).toEqual({
        supCaller: 'A',
        supAgent: 'B',
        supTalk: expect.stringMatching(/^only \d+ audible frames$/) as unknown,
        caller: 'B',
        agent: 'A',
      });
      // Nothing changed on either leg: no INVITE to the agent, no request to the carrier, same ports.
      expect(agent.coachInvites).toHaveLength(0);
      expect(carrierRequests).toEqual([]);
      expect(callerPorts()).toEqual(callerPortsBefore);
      expect(agentPorts()).toEqual(agentPortsBefore);
      const board = await api('GET', '/api/supervisor/wallboard', { token: t1001 });
      const row = (board.json.agents as { username: string; call: { monitors: unknown } }[]).find(
        (a) => a.username === '1003',
      );
      expect(row?.call.monitors).toEqual([{ supervisor: '1001', mode: 'listen' }]);

      // The carrier refreshes its session (re-INVITE, same SDP) while the supervisor listens.
      const refresh = await carrier.inDialog(inv.dialog!, 'INVITE', {
        body: plainSdp(callerRtp.port),
        contentType: 'application/sdp',
      });
      expect(refresh.status).toBe(200);
      expect(
        await hearsAfterChange({
          supCaller: sup.caller,
          supAgent: sup.agent,
          caller: callerRtp,
          agent: agent.rtp,
        }),
      ).toEqual({ supCaller: 'A', supAgent: 'B', caller: 'B', agent: 'A' });

      // Delay added: the caller's tone restarts; its onset at the supervisor vs at the agent.
      const restart = await restartTone(callerRtp, media);
      await until(
        'tone A back at the agent and the supervisor',
        () => onset(agent.rtp, A, restart) && onset(sup.caller, A, restart),
        5000,
      );
      const atAgent = onset(agent.rtp, A, restart)! - restart;
      const atSup = onset(sup.caller, A, restart)! - restart;
      figures.push(
        `listen: tone A onset at the agent ${atAgent} ms, at the supervisor ${atSup} ms after sending (added ${atSup - atAgent} ms)`,
      );
      const cpuListen = await cpuOver(6000);
      figures.push(
        `rtpengine CPU: caller+agent ${cpuBase.toFixed(2)} % of a core, with a listening supervisor ${cpuListen.toFixed(2)} % (+${(cpuListen - cpuBase).toFixed(2)} % per monitored call)`,
      );

      // ---------------------------------------------------- whisper
      const whisper = await api('POST', url, { token: t1001, body: { mode: 'whisper' } });
      expect(whisper.status, JSON.stringify(whisper.json)).toBe(200);
      expect(whisper.json.monitor).toMatchObject({ mode: 'whisper' });
      expect(agent.coachInvites).toHaveLength(1);
      expect(hdr(agent.coachInvites[0]!, 'x-monitor')).toMatch(
        new RegExp(`^whisper;id=[0-9a-f-]+;queue-call=${esc(queueCallId)};supervisor=1001$`),
      );
      expect(sup.invites).toHaveLength(1); // same supervisor dialog, no re-dial
      const wh = await hearsInMode(
        'whisper',
        'agent hears the supervisor',
        (from) => agent.coach.toneFrom(C, from).length >= 25,
        {
          agent: agent.rtp,
          agentWhisperLeg: agent.coach,
          caller: callerRtp,
          supCaller: sup.caller,
          supAgent: sup.agent,
          supTalk: sup.talk,
        },
      );
      expect(wh).toEqual({
        agent: 'A',
        agentWhisperLeg: 'C',
        caller: 'B',
        supCaller: 'A',
        supAgent: 'B',
        supTalk: 'B',
      });
      const talkTarget = {
        host: /^c=IN IP4 (\S+)/m.exec(sup.invites[0]!.body)?.[1] ?? '127.0.0.1',
        port: Number(/^m=audio (\d+)/m.exec(sup.invites[0]!.body)![1]),
      };
      const cRestart = await restartTone(sup.talk, talkTarget);
      await until('tone C back at the agent', () => onset(agent.coach, C, cRestart), 5000);
      figures.push(
        `whisper: supervisor → agent tone C onset ${onset(agent.coach, C, cRestart)! - cRestart} ms after sending`,
      );

      // ---------------------------------------------------- barge
      const barge = await api('POST', url, { token: t1001, body: { mode: 'barge' } });
      expect(barge.status, JSON.stringify(barge.json)).toBe(200);
      expect(agent.infos).toEqual(['application/x-monitor+json barge']);
      expect(agent.coachInvites).toHaveLength(1);
      const bg = await hearsInMode(
        'barge',
        'caller hears the supervisor',
        (from) => heard(callerRtp, from).C! >= 0.08,
        {
          caller: callerRtp,
          agent: agent.rtp,
          agentWhisperLeg: agent.coach,
          supCaller: sup.caller,
          supTalk: sup.talk,
          supAgent: sup.agent,
        },
      );
      // Caller: agent + supervisor (mixed by the agent's softphone). Agent: caller and
      // supervisor. Supervisor: caller (m-line 1) and the agent's own mic (m-line 0);
      // m-line 2 carries the agent's mix (B+C), which its softphone does not play in barge.
      expect(bg).toEqual({
        caller: 'B+C',
        agent: 'A',
        agentWhisperLeg: 'C',
        supCaller: 'A',
        supTalk: 'B',
        supAgent: 'B+C',
      });
      // Delay of the supervisor's voice: to the agent directly, to the caller through the agent's mix.
      const bRestart = await restartTone(sup.talk, talkTarget);
      await until(
        'tone C back at the agent and the caller',
        () => onset(agent.coach, C, bRestart) && onset(callerRtp, C, bRestart),
        5000,
      );
      figures.push(
        `barge: tone C onset at the agent ${onset(agent.coach, C, bRestart)! - bRestart} ms, at the caller (through the agent's mix, no jitter buffer in this test) ${onset(callerRtp, C, bRestart)! - bRestart} ms after sending`,
      );
      const cpuBarge = await cpuOver(6000);
      figures.push(
        `rtpengine CPU in barge ${cpuBarge.toFixed(2)} % of a core (+${(cpuBarge - cpuBase).toFixed(2)} % over the unmonitored call)`,
      );

      // ---------------------------------------------------- back to whisper, then listen
      expect((await api('POST', url, { token: t1001, body: { mode: 'whisper' } })).status).toBe(
        200,
      );
      expect(agent.infos).toEqual([
        'application/x-monitor+json barge',
        'application/x-monitor+json whisper',
      ]);
      expect(await hearsAfterChange({ caller: callerRtp })).toEqual({ caller: 'B' });
      const back = await api('POST', url, { token: t1001, body: { mode: 'listen' } });
      expect(back.status).toBe(200);
      await until('whisper leg ended', () => agent.byes.includes(agent.coachDialog!.callId), 3000);
      expect(
        await hearsAfterChange({
          caller: callerRtp,
          agent: agent.rtp,
          supCaller: sup.caller,
          supAgent: sup.agent,
        }),
      ).toEqual({ caller: 'B', agent: 'A', supCaller: 'A', supAgent: 'B' });

      // ---------------------------------------------------- the supervisor leaves
      const left = await api('DELETE', url, { token: t1001 });
      expect(left.status, JSON.stringify(left.json)).toBe(200);
      await until('supervisor leg ended', () => sup.byes === 1, 3000);
      since = Date.now() + 300;
      await sleep(1800);
      const t = Date.now();
      expect({
        caller: tones(callerRtp, since, t),
        agent: tones(agent.rtp, since, t),
        supCaller: heard(sup.caller, since, t).frames,
      }).toEqual({ caller: 'B', agent: 'A', supCaller: 0 });
      expect(carrierRequests).toEqual([]);
      expect(callerPorts()).toEqual(callerPortsBefore);

      const actions = cc.store
        .auditLog()
        .filter((r) => r.target === queueCallId && r.allowed)
        .map(
          (r) =>
            `${r.action} ${(r.detail as { to?: string; mode?: string }).to ?? (r.detail as { mode?: string }).mode}`,
        )
        .reverse();
      expect(actions).toEqual([
        'monitor-start listen',
        'monitor-mode whisper',
        'monitor-mode barge',
        'monitor-mode whisper',
        'monitor-mode listen',
        'monitor-end listen',
      ]);
      const end = cc.store.auditLog().find((r) => r.action === 'monitor-end')!;
      expect(end).toMatchObject({ actor: '1001', target: queueCallId });
      expect(end.detail).toMatchObject({ reason: 'supervisor', agent: '1003', queue: 'sales' });

      // ---------------------------------------------------- the agent's softphone dies mid-barge
      // A dead tab closes its WebSocket (Kamailio: ws-closed) and its registration goes; a
      // REGISTER with Expires 0 takes the same path through Kamailio's registration events.
      // The agent's leg may stay up (nobody sends BYE): the supervisor is ended, audited.
      expect((await api('POST', url, { token: t1001, body: { mode: 'barge' } })).status).toBe(200);
      await until('second whisper leg', () => agent.coachInvites.length === 2, 3000);
      expect(hdr(agent.coachInvites[1]!, 'x-monitor')).toMatch(/^barge;/);
      await agent.ua.register({ expires: 0 });
      await until('supervisor leg ended after the agent unregistered', () => sup.byes === 2, 5000);
      await until('whisper leg ended', () => agent.byes.includes(agent.coachDialog!.callId), 3000);
      const endUnreg = await until(
        'monitor-end audited (agent-unregistered)',
        () =>
          cc.store
            .auditLog()
            .find((r) => r.action === 'monitor-end' && r.id !== end.id && r.target === queueCallId),
        3000,
      );
      expect(endUnreg.detail).toMatchObject({ reason: 'agent-unregistered', mode: 'barge' });

      // The agent's leg ends (its BYE): the supervisor's session ends with it (agent-left).
      expect((await agent.ua.register({ expires: 300 })).final.status).toBe(200);
      await until('1003 registered again', () => stack.gw.registrations.isRegistered('1003'), 3000);
      await sleep(1200);
      expect((await api('POST', url, { token: t1001, body: { mode: 'barge' } })).status).toBe(200);
      await until('third whisper leg', () => agent.coachInvites.length === 3, 3000);
      expect(await agent.ua.inDialog(agent.call!, 'BYE').then((r) => r.status)).toBe(200);
      await until('supervisor leg ended after the agent left', () => sup.byes === 3, 5000);
      const endLeft = await until(
        'monitor-end audited (agent-left)',
        () => cc.store.auditLog().find((r) => r.action === 'monitor-end' && r.id > endUnreg.id),
        3000,
      );
      expect(endLeft.detail).toMatchObject({ reason: 'agent-left', mode: 'barge' });
      expect((await api('POST', url, { token: t1001, body: { mode: 'listen' } })).status).toBe(409);
    } finally {
      for (const f of figures) console.log(f);
      stopTones(callerRtp, agent, sup);
    }
    await closePhones(callerRtp, agent, sup);
  });

  it('the caller hangs up while a supervisor whispers: both monitoring legs are ended (call-ended), nothing left in rtpengine', async () => {
    const agent = await agentPhone();
    const sup = await supervisorPhone();
    cc.setState('1003', 'available');
    carrier.onRequest((req) => {
      if (req.msg.method !== 'ACK') req.reply(200, 'OK');
    });
    const {
      inv,
      rtp: callerRtp,
      callId,
    } = await callSales({
      callId: `mon2-${Date.now()}@carrier`,
      from: `"Caller" <sip:+15550109998@127.0.0.2>`,
    });
    try {
      await until('agent answered', () => agent.call, 8000);
      await until('bridged', () => cc.view('1003').call, 5000);
      const { queueCallId, url } = monitorUrlOf(callId);
      const token = await login('1001');
      const started = await api('POST', url, { token, body: { mode: 'whisper' } });
      expect(started.status, JSON.stringify(started.json)).toBe(200);
      const since = Date.now();
      await until(
        'supervisor hears the caller',
        () => sup.caller.toneFrom(A, since).length >= 10,
        5000,
      );
      const mine = await api('GET', '/api/supervisor/monitors', { token });
      expect(mine.json.monitors).toMatchObject([{ queueCallId, mode: 'whisper', agent: '1003' }]);
      expect(await carrier.inDialog(inv.dialog!, 'BYE').then((r) => r.status)).toBe(200);
      await until('supervisor leg ended with the call', () => sup.byes === 1, 5000);
      await until('whisper leg ended with the call', () => agent.byes.length >= 2, 5000);
      const end = await until(
        'monitor-end audited',
        () =>
          cc.store.auditLog().find((r) => r.action === 'monitor-end' && r.target === queueCallId),
        3000,
      );
      expect(end.detail).toMatchObject({ reason: 'call-ended', mode: 'whisper' });
      expect((await api('GET', '/api/supervisor/monitors', { token })).json.monitors).toEqual([]);
    } finally {
      stopTones(callerRtp, agent, sup);
    }
    await closePhones(callerRtp, agent, sup);
  });
});
