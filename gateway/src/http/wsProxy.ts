import type { IncomingMessage } from 'node:http';
import { createConnection } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Metrics } from '../metrics.js';
import type { Logger } from '../log.js';

// The TLS terminator for SIP over secure WebSocket (RFC 7118). Kamailio 5.6.3's
// own TLS crashes with OpenSSL 3, so browsers speak WSS to this server, which
// checks Origin and then pipes the upgraded connection byte for byte to
// Kamailio's plain WS listener on loopback. A raw pipe (not a WebSocket
// library) keeps frames untouched and costs one socket pair per client.

export interface WsProxyOptions {
  kamailioHost: string;
  kamailioWsPort: number;
  /** Extra allowed origins besides the gateway's own. */
  allowedOrigins: string[];
  metrics: Metrics;
  log: Logger;
  /** Every client socket this proxy holds; the server destroys them on close. */
  open: Set<Duplex>;
}

export function originAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowed: string[],
): boolean {
  // Non-browser clients send no Origin; they cannot be driven cross-site, and
  // every request they make is digest-authenticated anyway.
  if (!origin) return true;
  if (host && origin === `https://${host}`) return true;
  return allowed.includes(origin);
}

export function handleUpgrade(
  opts: WsProxyOptions,
  req: IncomingMessage,
  client: Duplex,
  head: Buffer,
): void {
  const refuse = (status: string, reason: string) => {
    opts.metrics.wsRejected.inc({ reason });
    client.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };
  if ((req.url ?? '').split('?')[0] !== '/ws') return refuse('404 Not Found', 'path');
  const protocols = String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim());
  if (!protocols.includes('sip')) return refuse('400 Bad Request', 'subprotocol');
  if (!originAllowed(req.headers.origin, req.headers.host, opts.allowedOrigins)) {
    opts.log.warn({ origin: req.headers.origin }, 'WebSocket origin refused');
    return refuse('403 Forbidden', 'origin');
  }

  // An upgraded socket is no longer the HTTP server's to close, so the proxy
  // tracks it: a shutdown must not wait for a browser that keeps its end open.
  opts.open.add(client);
  client.once('close', () => opts.open.delete(client));
  const upstream = createConnection({ host: opts.kamailioHost, port: opts.kamailioWsPort });
  const clientIp = req.socket.remoteAddress ?? '';
  upstream.once('connect', () => {
    const lines = [`GET /ws HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i] ?? '';
      if (name.toLowerCase() === 'x-forwarded-for') continue;
      lines.push(`${name}: ${req.rawHeaders[i + 1] ?? ''}`);
    }
    lines.push(`X-Forwarded-For: ${clientIp}`, `X-Forwarded-Proto: wss`);
    upstream.write(lines.join('\r\n') + '\r\n\r\n');
    if (head.length) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
    opts.metrics.wsConnections.inc();
  });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    if (upstream.readyState !== 'opening') opts.metrics.wsConnections.dec();
    upstream.destroy();
    client.destroy();
  };
  upstream.once('error', (err) => {
    if (upstream.readyState === 'opening' || !upstream.remoteAddress) {
      opts.log.error({ err: err.message }, 'Kamailio WebSocket listener unreachable');
      opts.metrics.wsRejected.inc({ reason: 'upstream' });
      client.end('HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n');
      // end() only half-closes; a client that never closes its side would hold the socket
      setTimeout(() => client.destroy(), 2000).unref();
      closed = true;
      return;
    }
    close();
  });
  upstream.once('close', close);
  client.once('error', close);
  client.once('close', close);
}
