import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { mixG711, readPcapRtp, Recorder, wavFile } from './recording.js';
import { harness } from './testing/harness.js';

// pcap (as rtpengine's pcap recording method writes it: raw IP, link type
// 101) → both directions' G.711 decoded, placed by RTP timestamp, mixed into
// one WAV; the engine asks the call-control tier to record answered calls of
// recording queues only.

function ulaw(sample: number): number {
  const sign = sample < 0 ? 0x80 : 0;
  let s = Math.min(Math.abs(sample), 32635) + 0x84;
  let e = 7;
  for (let m = 0x4000; (s & m) === 0 && e > 0; m >>= 1) e--;
  s = ~(sign | (e << 4) | ((s >> (e + 3)) & 0x0f)) & 0xff;
  return s;
}

/** One RTP/UDP/IPv4 packet from 127.0.0.1:`port` with 20 ms of a PCMU tone. */
function packet(port: number, ssrc: number, seq: number, hz: number): Buffer {
  const rtp = Buffer.alloc(12 + 160);
  rtp[0] = 0x80;
  rtp[1] = 0;
  rtp.writeUInt16BE(seq & 0xffff, 2);
  rtp.writeUInt32BE((seq * 160) >>> 0, 4);
  rtp.writeUInt32BE(ssrc, 8);
  for (let i = 0; i < 160; i++)
    rtp[12 + i] = ulaw(Math.round(6000 * Math.sin((2 * Math.PI * hz * (seq * 160 + i)) / 8000)));
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(port, 0);
  udp.writeUInt16BE(30000, 2);
  udp.writeUInt16BE(8 + rtp.length, 4);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 8 + rtp.length, 2);
  ip[8] = 64;
  ip[9] = 17;
  ip.set([127, 0, 0, 1], 12);
  ip.set([127, 0, 0, 1], 16);
  return Buffer.concat([ip, udp, rtp]);
}

function pcap(records: { at: number; data: Buffer }[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(101, 20);
  const parts: Buffer[] = [head];
  for (const r of records) {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(Math.floor(r.at / 1000), 0);
    h.writeUInt32LE(Math.round((r.at % 1000) * 1000), 4);
    h.writeUInt32LE(r.data.length, 8);
    h.writeUInt32LE(r.data.length, 12);
    parts.push(h, r.data);
  }
  return Buffer.concat(parts);
}

/** Relative power of `hz` in the samples (Goertzel), per sample. */
export function tonePower(samples: Int16Array, hz: number, rate = 8000): number {
  const k = 2 * Math.cos((2 * Math.PI * hz) / rate);
  let s1 = 0;
  let s2 = 0;
  for (const x of samples) {
    const s = x + k * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  return (s1 * s1 + s2 * s2 - k * s1 * s2) / samples.length / samples.length;
}

/** 2 s: the caller (port 40000) sends 440 Hz, the agent (port 40002) 1000 Hz, from 1 s on. */
function twoParties(t0: number, lose: Set<number> = new Set()): Buffer {
  const recs: { at: number; data: Buffer }[] = [];
  for (let i = 0; i < 100; i++) {
    if (!lose.has(i)) recs.push({ at: t0 + i * 20, data: packet(40000, 111, i, 440) });
    if (i >= 50) recs.push({ at: t0 + i * 20 + 3, data: packet(40002, 222, i - 50, 1000) });
  }
  return pcap(recs);
}

describe('pcap → mixed WAV', () => {
  it('contains both parties, each where it spoke; lost packets leave silence, not a shift', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-pcap-'));
    const file = join(dir, 'call.pcap');
    const t0 = Date.parse('2026-11-30T12:00:00Z');
    writeFileSync(file, twoParties(t0, new Set([10, 11, 12])));
    const packets = readPcapRtp(file);
    expect(packets).toHaveLength(97 + 50);
    expect(new Set(packets.map((p) => p.source))).toEqual(
      new Set(['127.0.0.1:40000', '127.0.0.1:40002']),
    );
    const { samples, streams } = mixG711(packets);
    expect(streams).toBe(2);
    // The agent's first packet came 3 ms after the caller's 50th: 24 samples later.
    expect(samples.length).toBe(16024);
    const first = samples.subarray(0, 8000);
    const second = samples.subarray(8000);
    expect(tonePower(first, 440)).toBeGreaterThan(100 * tonePower(first, 1000));
    expect(tonePower(second, 1000)).toBeGreaterThan(1000);
    expect(tonePower(second, 440)).toBeGreaterThan(1000);
    // Packets 10-12 lost: 60 ms of silence at 200 ms, the rest in place.
    expect(Math.max(...samples.subarray(1600, 2080).map(Math.abs))).toBe(0);
    expect(Math.max(...samples.subarray(2080, 2240).map(Math.abs))).toBeGreaterThan(3000);
    const wav = wavFile(samples);
    expect(wav.subarray(0, 4).toString()).toBe('RIFF');
    expect(wav.readUInt32LE(24)).toBe(8000);
    expect(wav.length).toBe(44 + 2 * 16024);
    // A window keeps only that part of the call.
    expect(mixG711(packets, { from: t0 + 1000 }).samples.length).toBe(8024);
  });

  it('the recorder turns the spool pcap of a call into one WAV per queue call and removes the pcap', async () => {
    const h = harness({
      queues: [
        { name: 'sales', number: '8001', announce: { everySec: 0 }, recording: { enabled: true } },
      ],
      agents: [{ username: '1003', queues: [{ name: 'sales' }] }],
    });
    h.cc.start();
    const spool = mkdtempSync(join(tmpdir(), 'cc-spool-'));
    const out = mkdtempSync(join(tmpdir(), 'cc-out-'));
    const rec = new Recorder({
      spoolDir: spool,
      outDir: out,
      store: h.cc.store,
      log: createLogger('fatal'),
      settleMs: 0,
    });
    h.cc.setState('1003', 'available');
    const c = h.callControl.call('8001', '+15550000001');
    await new Promise((r) => setImmediate(r));
    c.offerTo('1003').settle('answered');
    await new Promise((r) => setImmediate(r));
    const id = h.cc.view('1003').call!.callId;
    // The engine asked the call-control tier to record the answered call.
    expect(c.recording).toEqual([true]);
    const t0 = Date.now();
    rec.start(c, id);
    mkdirSync(join(spool, 'pcaps'));
    mkdirSync(join(spool, 'metadata'));
    const pcapFile = join(spool, 'pcaps', `${c.id}-0123abcd.pcap`);
    writeFileSync(pcapFile, twoParties(t0));
    writeFileSync(join(spool, 'metadata', `rtpengine-meta-${c.id}-0123abcd.txt`), pcapFile);
    c.agentHangsUp();
    await new Promise((r) => setTimeout(r, 20));
    // The agent hung up: the engine hangs up the caller, so no stop is needed (rtpengine deletes the call).
    expect(c.recording).toEqual([true, true]);
    const file = h.cc.store.recording(id)!.file!;
    expect(file).toMatch(/^\d{4}-\d{2}-\d{2}\/.+\.wav$/);
    const wav = readFileSync(join(out, file));
    const samples = new Int16Array(
      wav.buffer.slice(wav.byteOffset + 44, wav.byteOffset + wav.length),
    );
    expect(tonePower(samples, 440)).toBeGreaterThan(1000);
    expect(tonePower(samples, 1000)).toBeGreaterThan(1000);
    expect(existsSync(pcapFile)).toBe(false);
    h.cc.stop();
  });

  it('a queue without recording never asks the call-control tier to record', async () => {
    const h = harness({
      queues: [{ name: 'sales', number: '8001', announce: { everySec: 0 } }],
      agents: [{ username: '1003', queues: [{ name: 'sales' }] }],
    });
    h.cc.start();
    h.cc.setState('1003', 'available');
    const c = h.callControl.call('8001', '+15550000001');
    await new Promise((r) => setImmediate(r));
    c.offerTo('1003').settle('answered');
    await new Promise((r) => setImmediate(r));
    expect(h.cc.view('1003').call!.recorded).toBe(false);
    c.agentHangsUp();
    expect(c.recording).toEqual([]);
    h.cc.stop();
  });
});
