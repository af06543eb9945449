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

export interface TcpTransportOptions {
  /** Where to listen for Kamailio. */
  listenHost: string;
  listenPort: number;
  /** Kamailio's SIP TCP socket. */
  kamailioHost: string;
  kamailioPort: number;
  log: { warn(obj: object, msg: string): void; debug(obj: object, msg: string): void };
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

  constructor(_logger: SipLogger, options: unknown) {
    this.opts = options as TcpTransportOptions;
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
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    this.setState(TransportState.Disconnected);
  }

  async dispose(): Promise<void> {
    await this.disconnect();
  }

  async send(message: string): Promise<void> {
    const socket = await this.outbound();
    await new Promise<void>((resolve, reject) =>
      socket.write(message, (err) => (err ? reject(err) : resolve())),
    );
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

  private adopt(socket: Socket, kind: 'inbound' | 'outbound'): void {
    const framer = new SipStreamFramer();
    if (kind === 'inbound') this.inbound.add(socket);
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
      for (const m of messages) this.onMessage?.(m);
    });
    socket.on('error', (err) => this.opts.log.debug({ err, kind }, 'call control: socket error'));
    socket.on('close', () => {
      this.inbound.delete(socket);
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
