import { createServer, connect, type Server, type Socket } from 'node:net';
import { EmitterImpl, TransportState } from 'sip.js';
import type { Emitter, Transport } from 'sip.js';
import type { Logger as SipLogger } from 'sip.js/lib/core/log/logger.js';
import { SipStreamFramer } from './framing.js';

// SIP.js transport for the call-control tier: SIP over TCP on loopback, with
// Kamailio as the only peer. TCP and never UDP: SIP.js's transactions have no
// retransmission timers (A, E, G), which a reliable transport does not need.
//
// Two kinds of connection, both to and from Kamailio:
//   - a listener (contactCenter.port) where Kamailio delivers requests routed
//     to IVR/queue numbers and in-dialog requests to our Contact;
//   - one client connection to Kamailio's SIP port, on which we send every
//     request and response. Kamailio matches responses to its transactions by
//     Via branch, whatever connection they arrive on, so one outbound
//     connection serves all.
//
// Cluster mode (issue 10): the contact center runs on one node, and the other
// edges' Kamailios send it their queue callers. For those (a connection from a
// peer edge, opts.peers) the replies go back on the connection the request
// came on, and our requests in those callers' dialogs (their route set starts
// at the peer edge) go straight to that edge: our own Kamailio holds no
// transaction for them and would send a reply past the peer that waits for it.

export interface TcpTransportOptions {
  /** Where to listen for Kamailio. */
  listenHost: string;
  listenPort: number;
  /** Kamailio's SIP TCP socket. */
  kamailioHost: string;
  kamailioPort: number;
  log: { warn(obj: object, msg: string): void; debug(obj: object, msg: string): void };
  /** Cluster: the other edges' addresses (requests from them are answered on their connection). */
  peers?: string[];
}

/** A message's top Via branch and CSeq method: a server transaction's key (RFC 3261 §17.2.3). */
function transactionKey(message: string): string | undefined {
  const branch = /^(?:via|v)[ \t]*:[^\r\n]*?;[ \t]*branch=([^;,\s]+)/im.exec(message)?.[1];
  const method = /^cseq[ \t]*:[ \t]*\d+[ \t]+(\S+)/im.exec(message)?.[1];
  return branch && method ? `${branch} ${method.toUpperCase()}` : undefined;
}

/** The top Route's host and port when it is one of `peers` (a caller's dialog through that edge). */
function peerHop(message: string, peers: Set<string>): { host: string; port: number } | undefined {
  const route = /^route[ \t]*:[ \t]*<sips?:(?:[^@>]*@)?(\[[^\]]+\]|[^:;>]+)(?::(\d+))?/im.exec(
    message,
  );
  if (!route) return undefined;
  const host = route[1]!.replace(/^\[|\]$/g, '');
  return peers.has(host) ? { host, port: route[2] ? Number(route[2]) : 5060 } : undefined;
}

const RECONNECT_MS = 500;

export class SipTcpTransport implements Transport {
  onConnect: (() => void) | undefined;
  onDisconnect: ((error?: Error) => void) | undefined;
  onMessage: ((message: string) => void) | undefined;
  readonly protocol = 'TCP';

  private _state = TransportState.Disconnected;
  private readonly stateEmitter = new EmitterImpl<TransportState>();
  private readonly opts: TcpTransportOptions;
  private server: Server | undefined;
  private client: Socket | undefined;
  private clientReady: Promise<void> | undefined;
  private readonly inbound = new Set<Socket>();
  private closing = false;
  private readonly peers: Set<string>;
  /** Server transactions of requests from a peer edge → the connection to reply on. */
  private readonly peerRequests = new Map<string, Socket>();
  /** Connections to peer edges for our in-dialog requests, by host:port. */
  private readonly peerClients = new Map<string, Promise<Socket>>();

  constructor(_logger: SipLogger, options: unknown) {
    this.opts = options as TcpTransportOptions;
    this.peers = new Set(this.opts.peers ?? []);
  }

  get state(): TransportState {
    return this._state;
  }

  get stateChange(): Emitter<TransportState> {
    return this.stateEmitter;
  }

  isConnected(): boolean {
    return this._state === TransportState.Connected;
  }

  async connect(): Promise<void> {
    if (this.server) return;
    this.closing = false;
    this.setState(TransportState.Connecting);
    this.server = createServer((socket) => this.adopt(socket, 'inbound'));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.opts.listenPort, this.opts.listenHost, () => {
        this.server!.off('error', reject);
        resolve();
      });
    });
    this.setState(TransportState.Connected);
    this.onConnect?.();
  }

  async disconnect(): Promise<void> {
    this.closing = true;
    this.client?.destroy();
    this.client = undefined;
    for (const s of this.inbound) s.destroy();
    this.inbound.clear();
    for (const p of this.peerClients.values())
      void p.then((s) => s.destroy()).catch(() => undefined);
    this.peerClients.clear();
    this.peerRequests.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    this.setState(TransportState.Disconnected);
  }

  async dispose(): Promise<void> {
    await this.disconnect();
  }

  async send(message: string): Promise<void> {
    const socket =
      (this.peers.size > 0 && (await this.peerSocket(message))) || (await this.outbound());
    await new Promise<void>((resolve, reject) =>
      socket.write(message, (err) => (err ? reject(err) : resolve())),
    );
  }

  /** Cluster: the connection a peer edge's message goes on, if it is one. */
  private async peerSocket(message: string): Promise<Socket | undefined> {
    if (message.startsWith('SIP/2.0 ')) {
      const key = transactionKey(message);
      const socket = key ? this.peerRequests.get(key) : undefined;
      if (!socket || socket.destroyed) return undefined;
      // a final answer ends the server transaction (over TCP nothing is retransmitted)
      if (!/^SIP\/2\.0 1\d\d /.test(message)) this.peerRequests.delete(key!);
      return socket;
    }
    const hop = peerHop(message, this.peers);
    if (!hop) return undefined;
    const id = `${hop.host}:${hop.port}`;
    let p = this.peerClients.get(id);
    if (!p) {
      const socket = connect({ host: hop.host, port: hop.port });
      socket.setNoDelay(true);
      p = new Promise<Socket>((resolve, reject) => {
        socket.once('connect', () => resolve(socket));
        socket.once('error', reject);
      });
      this.peerClients.set(id, p);
      socket.on('close', () => {
        if (this.peerClients.get(id) === p) this.peerClients.delete(id);
      });
      this.adopt(socket, 'peer');
    }
    return p;
  }

  /** The client connection to Kamailio, opened on first use and again after it drops. */
  private outbound(): Promise<Socket> {
    if (this.client && !this.client.destroyed && this.clientReady)
      return this.clientReady.then(() => this.client!);
    const socket = connect({ host: this.opts.kamailioHost, port: this.opts.kamailioPort });
    socket.setNoDelay(true);
    this.client = socket;
    this.clientReady = new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', (err) => {
        if (this.client === socket) this.client = undefined;
        reject(err);
      });
    });
    this.adopt(socket, 'outbound');
    return this.clientReady.then(() => socket);
  }

  private adopt(socket: Socket, kind: 'inbound' | 'outbound' | 'peer'): void {
    const framer = new SipStreamFramer();
    if (kind === 'inbound') this.inbound.add(socket);
    const fromPeer =
      kind === 'peer' ||
      (kind === 'inbound' && this.peers.has((socket.remoteAddress ?? '').replace(/^::ffff:/, '')));
    socket.on('data', (chunk: Buffer) => {
      let messages: string[];
      try {
        messages = framer.push(chunk);
      } catch (err) {
        // Not SIP (or not framed): nothing on this stream can be trusted any more.
        this.opts.log.warn({ err, kind }, 'call control: dropping a broken SIP stream');
        socket.destroy();
        return;
      }
      for (const m of messages) {
        if (fromPeer && !m.startsWith('SIP/2.0 ')) {
          const key = transactionKey(m);
          if (key && !key.endsWith(' ACK')) this.peerRequests.set(key, socket);
        }
        this.onMessage?.(m);
      }
    });
    socket.on('error', (err) => this.opts.log.debug({ err, kind }, 'call control: socket error'));
    socket.on('close', () => {
      this.inbound.delete(socket);
      for (const [key, s] of this.peerRequests) if (s === socket) this.peerRequests.delete(key);
      if (kind === 'outbound' && this.client === socket) {
        this.client = undefined;
        // reconnect early so the next send does not wait for the handshake
        if (!this.closing)
          setTimeout(() => void this.outbound().catch(() => undefined), RECONNECT_MS).unref();
      }
    });
  }

  private setState(state: TransportState): void {
    if (this._state === state) return;
    this._state = state;
    this.stateEmitter.emit(state);
  }
}
