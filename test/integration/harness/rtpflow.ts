import { createSocket, type Socket } from 'node:dgram';

// Plain RTP endpoints for Node SIP clients: each sends 20 ms PCMU packets with
// its own SSRC and a payload of one repeated byte, and counts what it receives
// per SSRC and payload byte. So a test measures media per direction at the
// receiver, and sees crossed or looped media (its own payload coming back).

export interface Received {
  packets: number;
  /** The payload byte of the last packet (the sender's fill byte: PCMU is relayed untouched). */
  fill: number;
}

export class RtpEndpoint {
  readonly received = new Map<number, Received>();
  private timer?: NodeJS.Timeout;
  private seq = 0;
  private ts = 0;

  private constructor(
    private readonly sock: Socket,
    readonly port: number,
  ) {
    sock.on('message', (m) => {
      if (m.length < 12 || m[0]! >> 6 !== 2) return; // RTP version 2 only (not RTCP noise)
      const pt = m[1]! & 0x7f;
      if (pt >= 72 && pt <= 76) return; // RTCP
      const ssrc = m.readUInt32BE(8);
      const r = this.received.get(ssrc) ?? { packets: 0, fill: -1 };
      r.packets++;
      r.fill = m.length > 12 ? m[12]! : -1;
      this.received.set(ssrc, r);
    });
  }

  static open(port: number, host = '127.0.0.1'): Promise<RtpEndpoint> {
    const sock = createSocket('udp4');
    return new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, host, () => {
        sock.off('error', reject);
        sock.on('error', () => undefined);
        resolve(new RtpEndpoint(sock, port));
      });
    });
  }

  /** Send a 20 ms PCMU packet (payload: 160 × `fill`) to `to` every 20 ms until stopSending(). */
  startSending(to: { host: string; port: number }, ssrc: number, fill: number): void {
    this.stopSending();
    this.timer = setInterval(() => {
      const p = Buffer.alloc(12 + 160, fill);
      p[0] = 0x80;
      p[1] = 0; // PCMU
      p.writeUInt16BE(this.seq++ & 0xffff, 2);
      p.writeUInt32BE((this.ts += 160) >>> 0, 4);
      p.writeUInt32BE(ssrc, 8);
      this.sock.send(p, to.port, to.host);
    }, 20);
  }

  stopSending(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Packets received so far (all senders). */
  total(): number {
    let n = 0;
    for (const r of this.received.values()) n += r.packets;
    return n;
  }

  /** Packets received whose payload is `fill` (one sender's stream, whatever SSRC rtpengine gave it). */
  withFill(fill: number): number {
    let n = 0;
    for (const r of this.received.values()) if (r.fill === fill) n += r.packets;
    return n;
  }

  /** Packets received during the next `ms`. */
  async countDuring(ms: number): Promise<{ total: number; byFill: Record<number, number> }> {
    const before = new Map([...this.received].map(([k, v]) => [k, v.packets]));
    await new Promise((r) => setTimeout(r, ms));
    const byFill: Record<number, number> = {};
    let total = 0;
    for (const [ssrc, r] of this.received) {
      const d = r.packets - (before.get(ssrc) ?? 0);
      total += d;
      byFill[r.fill] = (byFill[r.fill] ?? 0) + d;
    }
    return { total, byFill };
  }

  close(): Promise<void> {
    this.stopSending();
    return new Promise((resolve) => this.sock.close(() => resolve()));
  }
}

/** Where an SDP says to send its audio, and its direction attribute. */
export function audioTarget(sdp: string): { host: string; port: number; direction: string } {
  const host = /^c=IN IP4 (\S+)/m.exec(sdp)?.[1] ?? '';
  const port = Number(/^m=audio (\d+) /m.exec(sdp)?.[1] ?? 0);
  const direction = /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/m.exec(sdp)?.[1] ?? 'sendrecv';
  return { host, port, direction };
}
