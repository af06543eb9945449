import pg from 'pg';

// Live fan-out between cluster nodes (issue 10): a change one node makes
// (an agent's state, a wallboard figure) reaches the SSE clients connected to
// the others. PostgreSQL's LISTEN/NOTIFY carries it: the cluster already has
// that database, so there is no second system to run, and a notification is
// sent only when the transaction that made the change commits. (Redis pub/sub
// would do the same job; the cluster's Redis is rtpengine's, kept for media.)
// Delivery is at most once and only to nodes connected at that moment: a node
// that reconnects is told so (onReconnect) and reloads what it shows.

export type BusChannel = 'gw_cc_agent' | 'gw_cc_wallboard' | 'gw_directory';

export interface BusMessage {
  /** The node that published it. */
  node: string;
  [key: string]: unknown;
}

export interface ClusterBus {
  readonly node: string;
  /** Listening now (false between a lost connection and its reconnect). */
  readonly connected: boolean;
  /** Fire and forget: a publish while the connection is down is dropped (and logged). */
  publish(channel: BusChannel, body: Record<string, unknown>): void;
  /** Messages of other nodes on the channel; returns the unsubscribe. */
  subscribe(channel: BusChannel, fn: (msg: BusMessage) => void): () => void;
  /** After a lost connection comes back (messages may have been missed). */
  onReconnect(fn: () => void): void;
  close(): Promise<void>;
}

/** NOTIFY's payload limit is 8000 bytes; messages here are a few hundred. */
const MAX_PAYLOAD = 7900;
const RECONNECT_MIN_MS = 200;
const RECONNECT_MAX_MS = 5000;

export class PgBus implements ClusterBus {
  private client: pg.Client | undefined;
  private readonly handlers = new Map<BusChannel, Set<(msg: BusMessage) => void>>();
  private readonly reconnectHandlers: (() => void)[] = [];
  private closed = false;
  private retryMs = RECONNECT_MIN_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;
  /** One query at a time on the connection (pg 9 refuses overlapping ones). */
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly url: string,
    readonly node: string,
    private readonly onError: (err: unknown, what: string) => void,
  ) {}

  get connected(): boolean {
    return this.client !== undefined;
  }

  static async connect(
    url: string,
    node: string,
    onError: (err: unknown, what: string) => void = () => undefined,
  ): Promise<PgBus> {
    const bus = new PgBus(url, node, onError);
    await bus.open();
    return bus;
  }

  private open(): Promise<void> {
    this.connecting ??= (async () => {
      const c = new pg.Client({
        connectionString: this.url,
        connectionTimeoutMillis: 5000,
        // Names the listener in pg_stat_activity.
        application_name: `gateway-bus:${this.node}`,
      });
      const lost = (err?: unknown) => {
        if (this.client !== c) return;
        this.client = undefined;
        if (err) this.onError(err, 'cluster bus connection lost');
        void c.end().catch(() => undefined);
        this.scheduleReconnect();
      };
      c.on('error', lost);
      c.on('end', () => lost());
      c.on('notification', (n) => this.deliver(n.channel as BusChannel, n.payload));
      await c.connect();
      this.tail = Promise.resolve();
      for (const ch of this.handlers.keys()) await this.query(c, `LISTEN ${ch}`);
      this.client = c;
      this.retryMs = RECONNECT_MIN_MS;
    })().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private query(c: pg.Client, sql: string, params?: unknown[]): Promise<unknown> {
    const p = this.tail.then(() => c.query(sql, params));
    this.tail = p.catch(() => undefined);
    return p;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.open().then(
        () => this.reconnectHandlers.forEach((fn) => fn()),
        (err: unknown) => {
          this.onError(err, 'cluster bus reconnect failed');
          this.retryMs = Math.min(RECONNECT_MAX_MS, this.retryMs * 2);
          this.scheduleReconnect();
        },
      );
    }, this.retryMs);
    this.retryTimer.unref();
  }

  private deliver(channel: BusChannel, payload: string | undefined): void {
    let msg: BusMessage;
    try {
      msg = JSON.parse(payload ?? '') as BusMessage;
    } catch (err) {
      this.onError(err, `cluster bus: unreadable message on ${channel}`);
      return;
    }
    // NOTIFY reaches every listener, the sender too: its own change is already applied.
    if (msg.node === this.node) return;
    for (const fn of this.handlers.get(channel) ?? []) {
      try {
        fn(msg);
      } catch (err) {
        this.onError(err, `cluster bus: handler of ${channel} failed`);
      }
    }
  }

  publish(channel: BusChannel, body: Record<string, unknown>): void {
    const payload = JSON.stringify({ ...body, node: this.node });
    if (payload.length > MAX_PAYLOAD) {
      this.onError(
        new Error(`${payload.length} bytes`),
        `cluster bus: message on ${channel} too big`,
      );
      return;
    }
    const c = this.client;
    if (!c) {
      this.onError(new Error('not connected'), `cluster bus: message on ${channel} dropped`);
      return;
    }
    this.query(c, 'SELECT pg_notify($1, $2)', [channel, payload]).catch((err: unknown) =>
      this.onError(err, `cluster bus: publish on ${channel} failed`),
    );
  }

  subscribe(channel: BusChannel, fn: (msg: BusMessage) => void): () => void {
    let set = this.handlers.get(channel);
    if (!set) {
      this.handlers.set(channel, (set = new Set()));
      const c = this.client;
      if (c)
        this.query(c, `LISTEN ${channel}`).catch((err: unknown) =>
          this.onError(err, `cluster bus: LISTEN ${channel} failed`),
        );
    }
    set.add(fn);
    return () => set.delete(fn);
  }

  /** Resolves once every LISTEN asked for so far is in effect (tests wait on it). */
  async ready(): Promise<void> {
    await this.connecting;
    if (this.client) await this.query(this.client, 'SELECT 1');
  }

  onReconnect(fn: () => void): void {
    this.reconnectHandlers.push(fn);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }
}
