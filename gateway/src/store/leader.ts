import pg from 'pg';
import type { PgQuery } from './ccMirror.js';

// Which node runs the contact center (issue 10): exactly one at a time, the
// holder of a PostgreSQL session advisory lock on a connection of its own. The
// lock goes with that connection: a leader whose process dies (or whose host
// stops answering PostgreSQL's TCP keepalives) loses it, and the next standby
// to poll takes it. The leader then writes the cc_leader row (address of its
// call-control tier and HTTPS API, a term that grows with every takeover), which
// every node reads each poll to route queue calls and agent requests there.

/** Any number that names the contact center's lock among the advisory locks ('gacc'). */
export const CC_LEADER_LOCK = 0x67616363;

export interface LeaderInfo {
  node: string;
  /** The call-control tier: SIP over TCP at address:port. */
  address: string;
  port: number;
  /** Base URL of the leader's HTTPS API (agents, supervisors). */
  https: string;
  term: number;
  since: string;
}

export interface LeadershipOptions {
  url: string;
  node: string;
  /** What this node publishes in cc_leader when it leads. */
  self: { address: string; port: number; https: string };
  /** How often a standby tries the lock and everyone reads cc_leader. */
  pollMs?: number;
  /** With the lock held, before cc_leader names this node: load the state, start the engine. */
  onLead: (query: PgQuery) => Promise<void>;
  /** The lock can no longer be proven held: stop driving calls and writing at once. */
  onLost: (why: string) => void;
  /** cc_leader changed (another node took over, or this one). */
  onLeaderChanged?: (leader: LeaderInfo | undefined) => void;
  log: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
  };
}

export class Leadership {
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private stopped = false;
  private leadingNow = false;
  /** Lost the lock once: this node stands aside until it is restarted. */
  private steppedDown = false;
  private current: LeaderInfo | undefined;

  constructor(private readonly o: LeadershipOptions) {}

  get leading(): boolean {
    return this.leadingNow;
  }

  get stoodDown(): boolean {
    return this.steppedDown;
  }

  /** The leader as last read from cc_leader (may be a dead one until a standby takes over). */
  get leader(): LeaderInfo | undefined {
    return this.current;
  }

  /** First attempt now (a lone node leads before it takes calls), then every pollMs. */
  async start(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.o.pollMs ?? 1000);
    this.timer.unref();
  }

  private async connect(): Promise<pg.Client> {
    const c = new pg.Client({
      connectionString: this.o.url,
      connectionTimeoutMillis: 3000,
      // a query on a connection to a host that went silent must not hang the poll
      query_timeout: 3000,
      keepAlive: true,
      application_name: `gateway-cc-leader:${this.o.node}`,
    });
    c.on('error', (err) => this.dropped(c, err));
    c.on('end', () => this.dropped(c, new Error('connection ended')));
    await c.connect();
    // PostgreSQL's side: a leader host that vanished (no FIN) frees the lock in ~5 s
    await c.query(
      'SET tcp_keepalives_idle = 2; SET tcp_keepalives_interval = 1; SET tcp_keepalives_count = 3',
    );
    return c;
  }

  private dropped(c: pg.Client, err: unknown): void {
    if (this.client !== c) return;
    this.client = undefined;
    void c.end().catch(() => undefined);
    if (this.leadingNow) this.lose(`lock connection lost: ${(err as Error).message}`);
  }

  private lose(why: string): void {
    this.leadingNow = false;
    this.steppedDown = true;
    this.o.log.error({ why }, 'contact center: leadership lost; this node stands aside');
    this.o.onLost(why);
  }

  private async tick(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      this.client ??= await this.connect();
      const c = this.client;
      if (!this.leadingNow && !this.steppedDown) {
        const got = (
          await c.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1) AS got', [
            CC_LEADER_LOCK,
          ])
        ).rows[0]?.got;
        if (got) await this.takeOver(c);
      }
      const row = (
        await c.query<LeaderInfo>(
          'SELECT node, address, port, https, term, since FROM cc_leader WHERE id = 1',
        )
      ).rows[0];
      if (row?.term !== this.current?.term || row?.node !== this.current?.node) {
        this.current = row;
        this.o.onLeaderChanged?.(row);
      }
    } catch (err) {
      this.o.log.warn({ err }, 'contact center: leader poll failed');
      const c = this.client;
      if (c) this.dropped(c, err);
    } finally {
      this.busy = false;
    }
  }

  private async takeOver(c: pg.Client): Promise<void> {
    const t0 = Date.now();
    try {
      await this.o.onLead((sql, params) => c.query(sql, params));
    } catch (err) {
      // could not load: let another node (or the next poll) try
      await c.query('SELECT pg_advisory_unlock($1)', [CC_LEADER_LOCK]).catch(() => undefined);
      throw err;
    }
    const { address, port, https } = this.o.self;
    await c.query(
      `INSERT INTO cc_leader (id, node, address, port, https, term, since)
       VALUES (1, $1, $2, $3, $4, 1, $5)
       ON CONFLICT (id) DO UPDATE SET node = excluded.node, address = excluded.address,
         port = excluded.port, https = excluded.https, term = cc_leader.term + 1, since = excluded.since`,
      [this.o.node, address, port, https, new Date().toISOString()],
    );
    this.leadingNow = true;
    this.o.log.info({ node: this.o.node, tookMs: Date.now() - t0 }, 'contact center: leading');
  }

  /** Service stop: the lock is released at once, so a standby takes over at its next poll. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    const c = this.client;
    this.client = undefined;
    this.leadingNow = false;
    await c?.end().catch(() => undefined);
  }
}
