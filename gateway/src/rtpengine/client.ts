import rtpengineClient, { type NgResponse } from 'rtpengine-client';

// The service's view of rtpengine over its ng control port: how many calls it
// anchors now and its counters (/metrics; the integration tests use it to prove
// that no call leaves a session and its ports behind), deleting the session of
// a call that failed (a backstop to Kamailio's own delete), and the commands
// the call-control tier sends for the calls it answers itself.

export interface RtpengineStats {
  /** Calls anchored now (sessions owned by this rtpengine). */
  sessions: number;
  /** Media streams going through the transcoder now. */
  transcodedMedia: number;
  /** Calls since start, and how they ended. */
  managedSessions: number;
  timeoutSessions: number;
  regularTerminatedSessions: number;
  forcedTerminatedSessions: number;
  /** RTP/RTCP packets relayed (userspace) since start. */
  relayedPackets: number;
  relayedPacketErrors: number;
}

function num(v: unknown): number {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : 0;
}

function section(r: NgResponse, name: string): Record<string, unknown> {
  const stats = r.statistics as Record<string, unknown> | undefined;
  return (stats?.[name] as Record<string, unknown> | undefined) ?? {};
}

export class RtpengineControl {
  private readonly client: InstanceType<typeof rtpengineClient.Client>;

  constructor(
    private readonly host: string,
    private readonly port: number,
    timeoutMs = 1000,
  ) {
    this.client = new rtpengineClient.Client({
      localAddress: host.includes(':') ? undefined : '127.0.0.1',
      timeout: timeoutMs,
    });
    // A late answer to a timed-out command is reported as an 'error' event: not fatal.
    this.client.on('error', () => undefined);
  }

  private check(r: NgResponse, what: string): NgResponse {
    if (r.result === 'error') throw new Error(`rtpengine ${what}: ${r['error-reason'] ?? 'error'}`);
    return r;
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.client.ping(this.port, this.host)).result === 'pong';
    } catch {
      return false;
    }
  }

  async statistics(): Promise<RtpengineStats> {
    const r = this.check(await this.client.statistics(this.port, this.host), 'statistics');
    const current = section(r, 'currentstatistics');
    const total = section(r, 'totalstatistics');
    return {
      sessions: num(current.sessionsown),
      transcodedMedia: num(current.transcodedmedia),
      managedSessions: num(total.managedsessions),
      timeoutSessions: num(total.timeoutsessions),
      regularTerminatedSessions: num(total.regularterminatedsessions),
      forcedTerminatedSessions: num(total.forcedterminatedsessions),
      relayedPackets: num(total.relayedpackets),
      relayedPacketErrors: num(total.relayedpacketerrors),
    };
  }

  /**
   * Deletes every session of a Call-ID. A call whose offer timed out in Kamailio
   * (rtpengine hung) leaves a session once rtpengine catches up on its queue;
   * this request, queued after that offer, removes it. Unknown calls are fine.
   */
  async deleteCall(callId: string): Promise<void> {
    const r = await this.client.delete(this.port, this.host, { 'call-id': callId });
    if (r.result === 'error' && !/unknown call/i.test(String(r['error-reason'] ?? '')))
      this.check(r, 'delete');
  }

  /**
   * One ng command of the call-control tier (which drives rtpengine itself
   * for the calls it answers); throws on rtpengine's error answer.
   */
  async command(
    name:
      | 'offer'
      | 'answer'
      | 'playMedia'
      | 'stopMedia'
      | 'delete'
      | 'startRecording'
      | 'stopRecording'
      | 'subscribeRequest'
      | 'subscribeAnswer'
      | 'unsubscribe',
    params: Record<string, unknown>,
  ): Promise<NgResponse> {
    return this.check(await this.client[name](this.port, this.host, params), name);
  }

  /** Calls anchored now; throws when rtpengine does not answer. */
  async sessionCount(): Promise<number> {
    return (await this.statistics()).sessions;
  }

  /** Call-IDs of the calls anchored now. */
  async callIds(limit = 1000): Promise<string[]> {
    const r = this.check(await this.client.list(this.port, this.host, { limit }), 'list');
    return Array.isArray(r.calls) ? r.calls.map(String) : [];
  }

  /** rtpengine's view of one call (tags, media, packet totals). */
  async query(callId: string): Promise<NgResponse> {
    return this.check(
      await this.client.query(this.port, this.host, { 'call-id': callId }),
      'query',
    );
  }

  close(): void {
    try {
      this.client.close();
    } catch {
      // already closed
    }
  }
}
