import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { InboundCall } from '../callcontrol/types.js';
import type { Logger } from '../log.js';
import type { CcStore } from './store.js';

// Server-side recording of queue calls (issue 8).
//
// Why pcap and our own mixing: Debian's rtpengine-recording-daemon takes its
// audio from rtpengine's `proc` recording method, which needs the kernel
// forwarding module; this gateway runs rtpengine userspace-only (--table=-1),
// and there rtpengine answers `start recording` with "kernel table not open"
// and writes nothing (tried here, rtpengine 10.5). The `pcap` method works in
// userspace: rtpengine writes every RTP packet it receives on the recorded
// call (both parties, decrypted) to <spool>/pcaps/<call-id>-<hex>.pcap. The
// call-control tier starts and stops it per queue call (InboundCall.record);
// once the caller's call is over (rtpengine closes the file on delete) we
// decode the G.711 payloads of each direction, place them by RTP timestamp
// and mix them into one 8 kHz 16-bit mono WAV, then remove the pcap and its
// metadata, so the audio is kept only where retention can delete it.

const ULAW = new Int16Array(256);
const ALAW = new Int16Array(256);
for (let i = 0; i < 256; i++) {
  let u = ~i & 0xff;
  const mag = ((((u & 0x0f) << 3) + 0x84) << ((u >> 4) & 7)) - 0x84;
  ULAW[i] = u & 0x80 ? -mag : mag;
  u = i ^ 0x55;
  const seg = (u >> 4) & 7;
  let a = (u & 0x0f) << 4;
  a = seg === 0 ? a + 8 : ((a + 0x108) << (seg - 1)) >>> 0;
  ALAW[i] = u & 0x80 ? a : -a;
}

export interface RtpPacket {
  /** Capture time (ms epoch). */
  at: number;
  /** Source address:port: one direction of the call. */
  source: string;
  ssrc: number;
  pt: number;
  timestamp: number;
  payload: Buffer;
}

/** UDP datagrams carrying RTP, from a pcap file (raw IP, Ethernet, Linux cooked or BSD loopback). */
export function readPcapRtp(file: string): RtpPacket[] {
  const buf = readFileSync(file);
  if (buf.length < 24) return [];
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && buf.readUInt32BE(0) !== 0xa1b2c3d4 && buf.readUInt32BE(0) !== 0xa1b23c4d)
    throw new Error(`${file}: not a pcap file`);
  const nano = (le ? magic : buf.readUInt32BE(0)) === 0xa1b23c4d;
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linktype = u32(20);
  const out: RtpPacket[] = [];
  for (let o = 24; o + 16 <= buf.length;) {
    const sec = u32(o);
    const frac = u32(o + 4);
    const incl = u32(o + 8);
    const data = buf.subarray(o + 16, o + 16 + incl);
    o += 16 + incl;
    const at = sec * 1000 + (nano ? frac / 1e6 : frac / 1e3);
    let ip = 0;
    if (linktype === 1)
      ip = 14; // Ethernet
    else if (linktype === 113)
      ip = 16; // Linux cooked
    else if (linktype === 0)
      ip = 4; // BSD loopback
    else if (linktype !== 101 && linktype !== 228 && linktype !== 12) continue;
    const p = decodeIpUdp(data.subarray(ip));
    if (!p || p.payload.length < 12 || p.payload[0]! >> 6 !== 2) continue;
    const r = p.payload;
    const cc = r[0]! & 0x0f;
    let start = 12 + cc * 4;
    if (r[0]! & 0x10 && r.length >= start + 4) start += 4 + r.readUInt16BE(start + 2) * 4;
    let end = r.length;
    if (r[0]! & 0x20) end -= r[r.length - 1]!;
    const pt = r[1]! & 0x7f;
    if (pt >= 72 && pt <= 76) continue; // RTCP muxed on the RTP port
    if (start > end) continue;
    out.push({
      at,
      source: p.source,
      ssrc: r.readUInt32BE(8),
      pt,
      timestamp: r.readUInt32BE(4),
      payload: r.subarray(start, end),
    });
  }
  return out;
}

function decodeIpUdp(d: Buffer): { source: string; payload: Buffer } | null {
  if (d.length < 20) return null;
  const v = d[0]! >> 4;
  let udp: number;
  let src: string;
  if (v === 4) {
    if (d[9] !== 17) return null;
    udp = (d[0]! & 0x0f) * 4;
    src = `${d[12]}.${d[13]}.${d[14]}.${d[15]}`;
  } else if (v === 6) {
    if (d.length < 48 || d[6] !== 17) return null;
    udp = 40;
    src = `[${d.subarray(8, 24).toString('hex')}]`;
  } else return null;
  if (d.length < udp + 8) return null;
  const port = d.readUInt16BE(udp);
  const len = d.readUInt16BE(udp + 4);
  return {
    source: `${src}:${port}`,
    payload: d.subarray(udp + 8, Math.min(d.length, udp + Math.max(8, len))),
  };
}

/**
 * Mix the G.711 (PCMU 0 / PCMA 8) streams of the packets in [from, to] into
 * 8 kHz mono samples. Each stream (source + SSRC) is placed by its RTP
 * timestamp from the capture time of its first packet, so loss leaves silence
 * instead of shifting the rest; other payloads (telephone-event, comfort
 * noise, other codecs) are skipped.
 */
export function mixG711(
  packets: RtpPacket[],
  window: { from?: number; to?: number } = {},
): { samples: Int16Array; streams: number; skipped: number } {
  const inWindow = packets.filter(
    (p) =>
      (window.from === undefined || p.at >= window.from) &&
      (window.to === undefined || p.at <= window.to),
  );
  const audio = inWindow.filter((p) => p.pt === 0 || p.pt === 8);
  if (audio.length === 0)
    return { samples: new Int16Array(0), streams: 0, skipped: inWindow.length };
  const t0 = Math.min(...audio.map((p) => p.at));
  const streams = new Map<string, { firstAt: number; firstTs: number }>();
  const placed: { offset: number; pcm: Int16Array }[] = [];
  let length = 0;
  for (const p of audio) {
    const key = `${p.source}/${p.ssrc}`;
    let s = streams.get(key);
    if (!s) streams.set(key, (s = { firstAt: p.at, firstTs: p.timestamp }));
    const table = p.pt === 0 ? ULAW : ALAW;
    const pcm = new Int16Array(p.payload.length);
    for (let i = 0; i < pcm.length; i++) pcm[i] = table[p.payload[i]!]!;
    // 32-bit wrap of the RTP timestamp handled by the unsigned difference.
    const offset = Math.round(((s.firstAt - t0) * 8000) / 1000) + ((p.timestamp - s.firstTs) >>> 0);
    if (offset < 0 || offset > 8000 * 3600 * 4) continue; // a wild timestamp: never a 4-hour gap
    placed.push({ offset, pcm });
    length = Math.max(length, offset + pcm.length);
  }
  const mix = new Int32Array(length);
  for (const { offset, pcm } of placed)
    for (let i = 0; i < pcm.length; i++) mix[offset + i]! += pcm[i]!;
  const samples = new Int16Array(length);
  for (let i = 0; i < length; i++) samples[i] = Math.max(-32768, Math.min(32767, mix[i]!));
  return { samples, streams: streams.size, skipped: inWindow.length - audio.length };
}

/** A 16-bit PCM mono WAV file. */
export function wavFile(samples: Int16Array, rate = 8000): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + samples.length * 2, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(samples.length * 2, 40);
  return Buffer.concat([h, Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength)]);
}

function unescape(name: string): string {
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

/** rtpengine's pcap and metadata files of a call-id in the spool (newest last). */
export function spoolFiles(
  spoolDir: string,
  callId: string,
): { pcaps: string[]; metadata: string[] } {
  const list = (sub: string, prefix: string) => {
    try {
      return (
        readdirSync(join(spoolDir, sub))
          // rtpengine percent-escapes the call-id in file names (e.g. @ → %40).
          .filter((f) => unescape(f).startsWith(prefix))
          .map((f) => join(spoolDir, sub, f))
          .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs)
      );
    } catch {
      return [];
    }
  };
  return {
    pcaps: list('pcaps', `${callId}-`),
    metadata: list('metadata', `rtpengine-meta-${callId}-`),
  };
}

interface Pending {
  queueCallId: string;
  from: number;
  to: number | null;
}

/**
 * Starts and stops rtpengine's recording of a caller's call per queue call
 * (from the agent's answer to the end of the bridge), and turns the pcap
 * into one WAV per queue call once the caller's call is over.
 */
export class Recorder {
  private readonly pending = new Map<string, Pending[]>();

  constructor(
    private readonly d: {
      spoolDir: string;
      outDir: string;
      store: CcStore;
      log: Logger;
      /** How long after the call ends rtpengine has closed the pcap (its delete). */
      settleMs?: number;
    },
  ) {}

  /** The agent answered a queue call of a recording queue. */
  start(call: InboundCall, queueCallId: string): void {
    if (!call.record) {
      this.d.log.warn(
        { callId: call.id },
        'call-control tier cannot record: queue call not recorded',
      );
      return;
    }
    let list = this.pending.get(call.id);
    if (!list) {
      this.pending.set(call.id, (list = []));
      const onEnded = () => {
        call.off('ended', onEnded);
        setTimeout(() => this.convert(call.id), this.d.settleMs ?? 1000).unref();
      };
      call.on('ended', onEnded);
    }
    list.push({ queueCallId, from: Date.now(), to: null });
    call
      .record(true)
      .catch((err: unknown) =>
        this.d.log.warn({ err, callId: call.id, queueCallId }, 'start recording failed'),
      );
  }

  /** The bridge of a recorded queue call is over. */
  stop(call: InboundCall, queueCallId: string): void {
    const p = this.pending.get(call.id)?.find((x) => x.queueCallId === queueCallId);
    if (!p || p.to !== null) return;
    p.to = Date.now();
    if (call.state !== 'ended' && call.record)
      call
        .record(false)
        .catch((err: unknown) =>
          this.d.log.debug({ err, callId: call.id }, 'stop recording failed'),
        );
  }

  /** The caller's call is over: one WAV per recorded queue call, then the spool files go. */
  convert(callId: string): void {
    const list = this.pending.get(callId) ?? [];
    this.pending.delete(callId);
    const { pcaps, metadata } = spoolFiles(this.d.spoolDir, callId);
    if (pcaps.length === 0) {
      if (list.length) this.d.log.warn({ callId }, 'no recording pcap from rtpengine');
      return;
    }
    try {
      const packets = pcaps.flatMap((f) => readPcapRtp(f));
      for (const p of list) {
        // Not stopped before the call ended (the caller or agent hung up): to the end of the pcap.
        const { samples, streams } = mixG711(packets, {
          from: p.from - 500,
          to: p.to === null ? undefined : p.to + 500,
        });
        const day = new Date(p.from).toISOString().slice(0, 10);
        const out = join(this.d.outDir, day, `${p.queueCallId}.wav`);
        mkdirSync(dirname(out), { recursive: true });
        const tmp = `${out}.tmp`;
        writeFileSync(tmp, wavFile(samples));
        renameSync(tmp, out);
        this.d.store.setRecording(p.queueCallId, relative(this.d.outDir, out));
        this.d.log.info(
          { callId, queueCall: p.queueCallId, file: out, streams, seconds: samples.length / 8000 },
          'queue call recording saved',
        );
      }
      for (const f of [...pcaps, ...metadata]) unlinkSync(f);
    } catch (err) {
      this.d.log.error({ err, callId }, 'recording conversion failed (pcap kept in the spool)');
    }
  }
}
