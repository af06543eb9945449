import { execFileSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';

// A plain RTP endpoint in Node for tests that must know exactly what audio
// went where: it sends G.711 u-law (a sine of its own frequency, so crossed
// media is caught), records what it receives (from which port, with what
// energy and arrival times) and can send RFC 4733 digits.

export interface ReceivedPacket {
  at: number;
  fromPort: number;
  pt: number;
  /** RMS of the decoded PCMU payload (0 for other payload types). */
  rms: number;
  /** Dominant-frequency probe: zero crossings per second of the decoded payload. */
  crossingsHz: number;
  /** The decoded PCMU samples, only when the endpoint's `keepPcm` is set. */
  pcm?: Int16Array;
}

/** ITU-T G.711 u-law decode. */
export function ulawToLinear(u: number): number {
  u = ~u & 0xff;
  const sign = u & 0x80;
  const exponent = (u >> 4) & 0x07;
  const mantissa = u & 0x0f;
  const magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
  return sign ? -magnitude : magnitude;
}

/** ITU-T G.711 u-law encode. */
export function linearToUlaw(sample: number): number {
  const BIAS = 0x84;
  const sign = sample < 0 ? 0x80 : 0;
  let s = Math.min(Math.abs(sample), 32635) + BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  s = ~(sign | (exponent << 4) | mantissa) & 0xff;
  return s;
}

export class RtpEndpoint {
  readonly received: ReceivedPacket[] = [];
  private seq = Math.floor(Math.random() * 1000);
  private ts = 0;
  private phase = 0;
  private timer: NodeJS.Timeout | undefined;
  private target: { host: string; port: number } | undefined;
  private readonly ssrc = Math.floor(Math.random() * 0xffffffff);
  /** Keep each received PCMU frame decoded (`ReceivedPacket.pcm`), for spectra of mixed audio. */
  keepPcm = false;
  /** The last PCMU frame received (decoded) and when: what `mixIn` adds to our tone. */
  private last: { at: number; pcm: Int16Array } | undefined;
  /**
   * While set, every frame we send is our tone plus the other endpoint's
   * latest received frame: a softphone mixing a second stream into its
   * uplink (as the browser's local conference and barge do).
   */
  mixIn: RtpEndpoint | undefined;

  private constructor(
    private readonly sock: Socket,
    readonly port: number,
    readonly toneHz: number,
  ) {
    sock.on('message', (m, rinfo) => {
      const pt = m[1]! & 0x7f;
      let rms = 0;
      let crossings = 0;
      let pcm: Int16Array | undefined;
      if (pt === 0 && m.length > 12) {
        let sum = 0;
        let prev = 0;
        pcm = new Int16Array(m.length - 12);
        for (let i = 12; i < m.length; i++) {
          const v = ulawToLinear(m[i]!);
          pcm[i - 12] = v;
          sum += v * v;
          if (i > 12 && v >= 0 !== prev >= 0) crossings++;
          prev = v;
        }
        rms = Math.sqrt(sum / (m.length - 12));
        this.last = { at: Date.now(), pcm };
      }
      const seconds = (m.length - 12) / 8000;
      this.received.push({
        at: Date.now(),
        fromPort: rinfo.port,
        pt,
        rms,
        crossingsHz: seconds ? crossings / 2 / seconds : 0,
        ...(this.keepPcm && pcm && { pcm }),
      });
    });
  }

  static async open(port: number, toneHz: number, host = '127.0.0.1'): Promise<RtpEndpoint> {
    const sock = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, host, () => resolve());
    });
    return new RtpEndpoint(sock, port, toneHz);
  }

  /** Start sending 20 ms PCMU packets of our tone to `host:port` (the port in the far end's SDP). */
  sendTo(host: string, port: number): void {
    this.target = { host, port };
    if (this.timer) return;
    this.timer = setInterval(() => this.sendFrame(), 20);
  }

  private sendFrame(): void {
    if (!this.target) return;
    const payload = Buffer.alloc(160);
    const other = this.mixIn?.last;
    const mix = other && Date.now() - other.at < 100 ? other.pcm : undefined;
    for (let i = 0; i < 160; i++) {
      const own = 8000 * Math.sin(this.phase);
      payload[i] = linearToUlaw(Math.round(own + (mix?.[i] ?? 0)));
      this.phase += (2 * Math.PI * this.toneHz) / 8000;
    }
    this.packet(0, payload, false);
    this.ts += 160;
  }

  private packet(pt: number, payload: Buffer, marker: boolean): void {
    const h = Buffer.alloc(12);
    h[0] = 0x80;
    h[1] = pt | (marker ? 0x80 : 0);
    h.writeUInt16BE(this.seq++ & 0xffff, 2);
    h.writeUInt32BE(this.ts >>> 0, 4);
    h.writeUInt32BE(this.ssrc >>> 0, 8);
    this.sock.send(Buffer.concat([h, payload]), this.target!.port, this.target!.host);
  }

  /** One RFC 4733 digit (payload type `pt`), 100 ms long, end packet sent three times. */
  sendDigit(digit: string, pt = 101): void {
    const event = '0123456789*#'.indexOf(digit);
    if (event < 0 || !this.target) throw new Error(`cannot send digit ${digit}`);
    const ts = this.ts;
    for (let i = 1; i <= 5; i++) {
      const duration = i * 160;
      const body = Buffer.from([event, 10, (duration >> 8) & 0xff, duration & 0xff]);
      this.ts = ts;
      this.packet(pt, body, i === 1);
    }
    for (let i = 0; i < 3; i++) {
      const body = Buffer.from([event, 0x80 | 10, (800 >> 8) & 0xff, 800 & 0xff]);
      this.ts = ts;
      this.packet(pt, body, false);
    }
    this.ts = ts + 800;
  }

  stopSending(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Packets received since `since` (ms epoch) with audible energy. */
  audible(since = 0, minRms = 300): ReceivedPacket[] {
    return this.received.filter((p) => p.at >= since && p.pt === 0 && p.rms >= minRms);
  }

  /** Packets since `since` whose zero-crossing frequency is within `tolHz` of `hz`. */
  toneFrom(hz: number, since = 0, tolHz = 60): ReceivedPacket[] {
    return this.audible(since).filter((p) => Math.abs(p.crossingsHz - hz) <= tolHz);
  }

  /** RMS of every PCMU packet received since `since`, in arrival order (one per 20 ms). */
  envelope(since = 0): number[] {
    return this.received.filter((p) => p.at >= since && p.pt === 0).map((p) => p.rms);
  }

  /** Longest silence between audible packets in [from, to] (ms). */
  longestGap(from: number, to: number): number {
    const times = this.audible(from)
      .filter((p) => p.at <= to)
      .map((p) => p.at);
    let gap = times.length ? times[0]! - from : to - from;
    for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
    if (times.length) gap = Math.max(gap, to - times[times.length - 1]!);
    return gap;
  }

  close(): Promise<void> {
    this.stopSending();
    return new Promise((resolve) => this.sock.close(() => resolve()));
  }
}

/** The audio port and address of an SDP's first m=audio line. */
export function sdpAudio(sdp: string): { host: string; port: number } {
  const host = /^c=IN IP4 (\S+)/m.exec(sdp)?.[1] ?? '127.0.0.1';
  const port = Number(/^m=audio (\d+)/m.exec(sdp)?.[1] ?? 0);
  return { host, port };
}

/** 20 ms RMS frames of a sound file, decoded by sox to 8 kHz mono (what rtpengine plays). */
export function fileEnvelope(file: string): number[] {
  const raw = execFileSync('sox', [file, '-t', 's16', '-r', '8000', '-c', '1', '-'], {
    maxBuffer: 64 * 1024 * 1024,
  });
  const frames: number[] = [];
  for (let off = 0; off + 320 <= raw.length; off += 320) {
    let sum = 0;
    for (let i = 0; i < 320; i += 2) {
      const v = raw.readInt16LE(off + i);
      sum += v * v;
    }
    frames.push(Math.sqrt(sum / 160));
  }
  return frames;
}

/**
 * How well a received loudness envelope contains an expected one: the best
 * Pearson correlation over every alignment. Speech has a distinctive
 * envelope (syllables, pauses); music or another prompt does not line up.
 */
export function envelopeMatch(received: number[], expected: number[]): number {
  const n = expected.length;
  if (received.length < n || n < 10) return 0;
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const me = mean(expected);
  const de = expected.map((v) => v - me);
  const ne = Math.sqrt(de.reduce((s, v) => s + v * v, 0));
  let best = -1;
  for (let lag = 0; lag + n <= received.length; lag++) {
    const win = received.slice(lag, lag + n);
    const mr = mean(win);
    let num = 0;
    let nr = 0;
    for (let i = 0; i < n; i++) {
      const d = win[i]! - mr;
      num += d * de[i]!;
      nr += d * d;
    }
    if (nr > 0 && ne > 0) best = Math.max(best, num / Math.sqrt(nr * ne * ne));
  }
  return best;
}
