// SIP over WebSocket (RFC 7118) transport for SIP.js. Our own rather than
// SIP.js's Web.Transport so that the WebSocket constructor can be injected
// (tests), every message passes through the trace recorder, and CRLF
// keep-alives follow the PBX preset.

import { EmitterImpl, TransportState } from 'sip.js';
import type { Emitter, Transport } from 'sip.js';
import type { Logger } from 'sip.js/lib/core/log/logger.js';

/** The subset of the browser WebSocket the transport needs. */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType: BinaryType;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(
    type: 'open' | 'close' | 'error' | 'message',
    listener: (ev: Event) => void,
  ): void;
}

export type WebSocketConstructor = new (
  url: string,
  protocols?: string | string[],
) => WebSocketLike;

export interface SipWebSocketTransportOptions {
  /**
   * The edges to connect to. The transport stays on the one that works and, when
   * a connection attempt fails or an open connection is lost, takes the next for
   * the following attempt (the Phone's reconnect backoff paces the attempts; a
   * REGISTER through the new edge moves the registration there).
   */
  servers: string[];
  WebSocket: WebSocketConstructor;
  /** Seconds between CRLF keep-alives; 0 = none. */
  keepAliveIntervalSec: number;
  /** Give up on a connection attempt after this long. */
  connectionTimeoutMs: number;
  onTrace?: (direction: 'sent' | 'received', message: string) => void;
}

const WS_OPEN = 1;

export class SipWebSocketTransport implements Transport {
  onConnect: (() => void) | undefined;
  onDisconnect: ((error?: Error) => void) | undefined;
  onMessage: ((message: string) => void) | undefined;

  private _state = TransportState.Disconnected;
  private readonly stateEmitter = new EmitterImpl<TransportState>();
  private ws: WebSocketLike | undefined;
  private connecting: Promise<void> | undefined;
  private closingOnPurpose = false;
  private keepAliveTimer: ReturnType<typeof setInterval> | undefined;
  private readonly options: SipWebSocketTransportOptions;
  /** Index in options.servers of the edge in use (or tried next). */
  private edge = 0;

  constructor(
    private readonly logger: Logger,
    options: unknown,
  ) {
    this.options = options as SipWebSocketTransportOptions;
    const { servers } = this.options;
    if (servers.length === 0 || servers.some((s) => !/^wss?:\/\//i.test(s)))
      throw new Error('Invalid WebSocket server URL');
  }

  /** The edge in use, or the one the next connection attempt goes to. */
  get server(): string {
    return this.options.servers[this.edge]!;
  }

  /** Via's transport (RFC 7118): WSS or WS, after the edge in use. */
  get protocol(): string {
    return this.server.toLowerCase().startsWith('wss:') ? 'WSS' : 'WS';
  }

  /** The edge failed us: the next attempt goes to the next one. */
  private nextEdge(): void {
    const n = this.options.servers.length;
    if (n < 2) return;
    this.edge = (this.edge + 1) % n;
    this.logger.warn(`moving to the next SIP edge: ${this.server}`);
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

  connect(): Promise<void> {
    if (this._state === TransportState.Connected) return Promise.resolve();
    if (this.connecting) return this.connecting;
    this.closingOnPurpose = false;
    this.setState(TransportState.Connecting);
    this.connecting = new Promise<void>((resolve, reject) => {
      let ws: WebSocketLike;
      try {
        ws = new this.options.WebSocket(this.server, 'sip');
      } catch (err) {
        this.connecting = undefined;
        this.setState(TransportState.Disconnected);
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      this.ws = ws;
      ws.binaryType = 'arraybuffer';
      let settled = false;
      const timeout = setTimeout(() => {
        if (settled) return;
        this.logger.warn(
          `WebSocket connect timed out after ${this.options.connectionTimeoutMs} ms`,
        );
        ws.close(1000);
      }, this.options.connectionTimeoutMs);

      ws.addEventListener('open', () => onOpen());
      ws.addEventListener('message', (ev) => {
        if (ws !== this.ws) return;
        this.receive((ev as MessageEvent).data);
      });
      ws.addEventListener('error', () => {
        if (ws !== this.ws) return;
        this.logger.warn('WebSocket error');
      });
      const onOpen = () => {
        if (ws !== this.ws || settled) return;
        settled = true;
        clearTimeout(timeout);
        this.connecting = undefined;
        this.setState(TransportState.Connected);
        this.startKeepAlive();
        resolve();
        this.onConnect?.();
      };
      // A socket opened ahead of time (the app starts connecting while it
      // boots) may already be open: its 'open' event has fired.
      if (ws.readyState === WS_OPEN) queueMicrotask(onOpen);
      ws.addEventListener('close', (ev) => {
        if (ws !== this.ws) return;
        clearTimeout(timeout);
        this.stopKeepAlive();
        this.ws = undefined;
        const code = (ev as CloseEvent).code;
        const wasConnecting = !settled;
        settled = true;
        this.connecting = undefined;
        this.setState(TransportState.Disconnected);
        if (wasConnecting) {
          const failed = this.server;
          this.nextEdge();
          reject(new Error(`WebSocket connection to ${failed} failed (code ${code})`));
          return;
        }
        if (!this.closingOnPurpose) this.nextEdge();
        // An error tells SIP.js (and the Phone) the loss was not asked for.
        const error = this.closingOnPurpose
          ? undefined
          : new Error(`WebSocket closed (code ${code})`);
        this.onDisconnect?.(error);
      });
    });
    return this.connecting;
  }

  disconnect(): Promise<void> {
    const ws = this.ws;
    if (!ws) return Promise.resolve();
    this.closingOnPurpose = true;
    this.stopKeepAlive();
    this.setState(TransportState.Disconnecting);
    return new Promise<void>((resolve) => {
      ws.addEventListener('close', () => resolve());
      ws.close(1000);
    });
  }

  dispose(): Promise<void> {
    return this.disconnect();
  }

  send(message: string): Promise<void> {
    const ws = this.ws;
    if (this._state !== TransportState.Connected || !ws || ws.readyState !== WS_OPEN) {
      return Promise.reject(new Error('Not connected.'));
    }
    this.options.onTrace?.('sent', message);
    try {
      ws.send(message);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error('WebSocket send failed.'));
    }
    return Promise.resolve();
  }

  private receive(data: unknown): void {
    const text =
      typeof data === 'string'
        ? data
        : data instanceof ArrayBuffer
          ? new TextDecoder().decode(new Uint8Array(data))
          : '';
    // A bare CRLF is the pong to our CRLFCRLF ping (RFC 5626 §4.4.1), not SIP.
    if (!text || /^(\r\n)+$/.test(text)) return;
    this.options.onTrace?.('received', text);
    this.onMessage?.(text);
  }

  private startKeepAlive(): void {
    const sec = this.options.keepAliveIntervalSec;
    if (sec <= 0) return;
    this.keepAliveTimer = setInterval(() => {
      if (this.ws?.readyState === WS_OPEN) this.ws.send('\r\n\r\n');
    }, sec * 1000);
  }

  private stopKeepAlive(): void {
    if (this.keepAliveTimer !== undefined) clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
  }

  private setState(state: TransportState): void {
    if (state === this._state) return;
    this._state = state;
    this.stateEmitter.emit(state);
  }
}
