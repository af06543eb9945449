import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import {
  connect as netConnect,
  createServer as createNetServer,
  type Socket as NetSocket,
} from 'node:net';
import { WebSocket } from 'ws';

// A deliberately small SIP user agent for tests (RFC 3261 subset): enough to
// send requests over UDP, TCP or WebSocket (RFC 7118), answer digest challenges
// (RFC 2617/7616 MD5, qop=auth), keep dialog state (route set, remote target,
// tags, CSeq) and answer incoming requests. sipp plays the "real" phones and
// carriers; this plays the browser (WS) and the cases sipp scenarios cannot
// parameterise (which final status came back).

export interface SipMessage {
  raw: string;
  isRequest: boolean;
  method: string;
  uri: string;
  status: number;
  reason: string;
  headers: [string, string][];
  body: string;
}

const COMPACT: Record<string, string> = {
  v: 'via',
  f: 'from',
  t: 'to',
  i: 'call-id',
  m: 'contact',
  l: 'content-length',
  c: 'content-type',
  k: 'supported',
  o: 'event',
  r: 'refer-to',
  u: 'allow-events',
};

export function parseSip(text: string): SipMessage {
  const split = text.indexOf('\r\n\r\n');
  const head = split >= 0 ? text.slice(0, split) : text;
  const body = split >= 0 ? text.slice(split + 4) : '';
  const lines = head.split('\r\n');
  const first = lines.shift() ?? '';
  const headers: [string, string][] = [];
  for (const line of lines) {
    if (/^[ \t]/.test(line) && headers.length > 0) {
      const last = headers[headers.length - 1]!;
      last[1] += ' ' + line.trim();
      continue;
    }
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    headers.push([COMPACT[name] ?? name, line.slice(i + 1).trim()]);
  }
  const status = /^SIP\/2\.0 (\d{3}) ?(.*)$/.exec(first);
  if (status) {
    return {
      raw: text,
      isRequest: false,
      method: '',
      uri: '',
      status: Number(status[1]),
      reason: status[2] ?? '',
      headers,
      body,
    };
  }
  const [method = '', uri = ''] = first.split(' ');
  return { raw: text, isRequest: true, method, uri, status: 0, reason: '', headers, body };
}

export function hdr(msg: SipMessage, name: string): string | undefined {
  const n = name.toLowerCase();
  return msg.headers.find(([k]) => k === n)?.[1];
}

export function hdrs(msg: SipMessage, name: string): string[] {
  const n = name.toLowerCase();
  return msg.headers.filter(([k]) => k === n).map(([, v]) => v);
}

export function cseqOf(msg: SipMessage): { seq: number; method: string } {
  const [seq = '0', method = ''] = (hdr(msg, 'cseq') ?? '').split(/\s+/);
  return { seq: Number(seq), method };
}

export function tagOf(header: string | undefined): string | undefined {
  return /;\s*tag=([^;>\s]+)/i.exec(header ?? '')?.[1];
}

/** The URI inside a name-addr (`"x" <sip:a@b>;tag=1` -> `sip:a@b`). */
export function uriOf(header: string): string {
  const m = /<([^>]+)>/.exec(header);
  return m ? m[1]! : header.split(';')[0]!.trim();
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const token = (n = 8) => randomBytes(n).toString('hex');

function parseChallenge(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /(\w+)=(?:"([^"]*)"|([^,\s]+))/g;
  for (let m = re.exec(value); m; m = re.exec(value)) out[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  return out;
}

/** Digest response header value for a 401/407 challenge. */
export function digest(
  challenge: string,
  opts: { user: string; password: string; method: string; uri: string; nc?: number },
): string {
  const c = parseChallenge(challenge);
  const realm = c.realm ?? '';
  const ha1 = md5(`${opts.user}:${realm}:${opts.password}`);
  const ha2 = md5(`${opts.method}:${opts.uri}`);
  const qop = c.qop
    ?.split(',')
    .map((q) => q.trim())
    .includes('auth')
    ? 'auth'
    : undefined;
  const nc = (opts.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = token(6);
  const response = qop
    ? md5(`${ha1}:${c.nonce}:${nc}:${cnonce}:${qop}:${ha2}`)
    : md5(`${ha1}:${c.nonce}:${ha2}`);
  const parts = [
    `username="${opts.user}"`,
    `realm="${realm}"`,
    `nonce="${c.nonce}"`,
    `uri="${opts.uri}"`,
    `response="${response}"`,
    'algorithm=MD5',
  ];
  if (qop) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce="${cnonce}"`);
  if (c.opaque) parts.push(`opaque="${c.opaque}"`);
  return `Digest ${parts.join(', ')}`;
}

/** Checks a client's digest (Authorization or Proxy-Authorization value) against a password. */
export function verifyDigest(
  value: string,
  opts: { user: string; password: string; method: string },
): boolean {
  const p = parseChallenge(value);
  if (p.username !== opts.user) return false;
  const ha1 = md5(`${opts.user}:${p.realm}:${opts.password}`);
  const ha2 = md5(`${opts.method}:${p.uri}`);
  const expected = p.qop
    ? md5(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`)
    : md5(`${ha1}:${p.nonce}:${ha2}`);
  return expected === p.response;
}

// ---------------------------------------------------------------- transports

export interface Transport {
  readonly proto: 'UDP' | 'TCP' | 'WS' | 'WSS';
  /** What goes in Via and Contact. */
  readonly viaHost: string;
  send(text: string): void;
  onMessage(cb: (text: string) => void): void;
  close(): Promise<void>;
}

export async function udpTransport(opts: {
  localHost?: string;
  localPort?: number;
  remoteHost: string;
  remotePort: number;
}): Promise<Transport> {
  const sock: Socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(opts.localPort ?? 0, opts.localHost ?? '127.0.0.1', () => resolve());
  });
  const addr = sock.address();
  let cb: (t: string) => void = () => undefined;
  sock.on('message', (m) => cb(m.toString('utf8')));
  return {
    proto: 'UDP',
    viaHost: `${addr.address}:${addr.port}`,
    send: (text) => sock.send(text, opts.remotePort, opts.remoteHost),
    onMessage: (f) => (cb = f),
    close: () => new Promise((r) => sock.close(() => r())),
  };
}

/**
 * SIP over TCP (RFC 3261 §18): a listening socket on `listenPort` (what goes in
 * Via and Contact, where Kamailio opens its connections to us) and, for the
 * requests we send, one connection to `remote` opened on first use (from
 * `localAddress`, e.g. a carrier's 127.0.0.2). Messages are framed by
 * Content-Length. A response goes back on the connection its request came in
 * on; a request goes on our own connection to `remote`.
 */
export async function tcpTransport(opts: {
  listenHost?: string;
  listenPort: number;
  remoteHost: string;
  remotePort: number;
  localAddress?: string;
}): Promise<Transport> {
  const host = opts.listenHost ?? '127.0.0.1';
  const conns = new Set<NetSocket>();
  let cb: (t: string) => void = () => undefined;
  let lastRequestFrom: NetSocket | undefined;
  const frame = (sock: NetSocket) => {
    conns.add(sock);
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        while (buf.length && (buf[0] === 0x0d || buf[0] === 0x0a)) buf = buf.subarray(1); // keepalive CRLFs
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('utf8');
        const len = Number(/^(?:content-length|l)\s*:\s*(\d+)/im.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        const text = buf.subarray(0, end + 4 + len).toString('utf8');
        buf = buf.subarray(end + 4 + len);
        if (!text.startsWith('SIP/2.0 ')) lastRequestFrom = sock;
        cb(text);
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => conns.delete(sock));
  };
  const server = createNetServer(frame);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.listenPort, host, () => resolve());
  });
  let out: NetSocket | undefined;
  const outbound = () => {
    if (out && !out.destroyed) return out;
    out = netConnect({
      host: opts.remoteHost,
      port: opts.remotePort,
      localAddress: opts.localAddress ?? host,
    });
    frame(out);
    return out;
  };
  return {
    proto: 'TCP',
    viaHost: `${host}:${opts.listenPort}`,
    send: (text) => {
      const sock =
        text.startsWith('SIP/2.0 ') && lastRequestFrom && !lastRequestFrom.destroyed
          ? lastRequestFrom
          : outbound();
      sock.write(text);
    },
    onMessage: (f) => (cb = f),
    close: () =>
      new Promise((resolve) => {
        for (const c of conns) c.destroy();
        server.close(() => resolve());
      }),
  };
}

export async function wsTransport(
  url: string,
  opts: { origin?: string; headers?: Record<string, string> } = {},
): Promise<Transport> {
  const ws = new WebSocket(url, 'sip', {
    rejectUnauthorized: false,
    origin: opts.origin,
    headers: opts.headers,
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) =>
      reject(new Error(`WebSocket handshake refused: ${res.statusCode}`)),
    );
  });
  let cb: (t: string) => void = () => undefined;
  ws.on('message', (data) => cb(data.toString()));
  return {
    proto: url.startsWith('wss:') ? 'WSS' : 'WS',
    viaHost: `${token(5)}.invalid`,
    send: (text) => ws.send(text),
    onMessage: (f) => (cb = f),
    close: () =>
      new Promise((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.once('close', () => resolve());
        ws.close();
        setTimeout(() => {
          ws.terminate();
          resolve();
        }, 1000).unref();
      }),
  };
}

// ---------------------------------------------------------------- the UA

export interface Dialog {
  callId: string;
  localTag: string;
  remoteTag: string;
  localUri: string;
  remoteUri: string;
  remoteTarget: string;
  routeSet: string[];
  localSeq: number;
}

export interface RequestResult {
  final: SipMessage;
  provisional: SipMessage[];
  /** The request as last sent (after any digest retry). */
  sent: string;
  elapsedMs: number;
}

interface Pending {
  branch: string;
  method: string;
  provisional: SipMessage[];
  resolve: (m: SipMessage) => void;
  onProvisional?: (m: SipMessage) => void;
}

export interface IncomingRequest {
  msg: SipMessage;
  /** Reply; for INVITE a 2xx creates the dialog (returned). */
  reply(
    status: number,
    reason: string,
    opts?: { body?: string; contentType?: string; headers?: string[] },
  ): Dialog | undefined;
}

export class SipUA {
  readonly user: string;
  readonly domain: string;
  private readonly password: string;
  private readonly pending = new Map<string, Pending>();
  private readonly ackWaiters = new Map<string, () => void>();
  private requestHandler: (req: IncomingRequest) => void = (req) => {
    if (req.msg.method !== 'ACK') req.reply(200, 'OK');
  };
  readonly contactUser = `u${token(4)}`;

  constructor(
    readonly transport: Transport,
    opts: { user: string; password?: string; domain?: string },
  ) {
    this.user = opts.user;
    this.password = opts.password ?? '';
    this.domain = opts.domain ?? 'localhost';
    transport.onMessage((text) => this.receive(text));
  }

  get contact(): string {
    const p = this.transport.proto;
    const t = p === 'UDP' ? '' : p === 'TCP' ? ';transport=tcp' : ';transport=ws';
    return `<sip:${this.contactUser}@${this.transport.viaHost}${t}>`;
  }

  private via(branch: string): string {
    const rport = this.transport.proto === 'UDP' ? ';rport' : '';
    const p = this.transport.proto;
    const via = p === 'UDP' || p === 'TCP' ? p : 'WS';
    return `SIP/2.0/${via} ${this.transport.viaHost};branch=${branch}${rport}`;
  }

  onRequest(handler: (req: IncomingRequest) => void): void {
    this.requestHandler = handler;
  }

  /** Resolves when an ACK for the dialog's 2xx arrives. */
  waitAck(callId: string, timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ACK for ${callId}`)), timeoutMs);
      this.ackWaiters.set(callId, () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private receive(text: string): void {
    let msg: SipMessage;
    try {
      msg = parseSip(text);
    } catch {
      return;
    }
    if (!msg.isRequest) {
      const branch = /branch=([^;\s,]+)/.exec(hdr(msg, 'via') ?? '')?.[1] ?? '';
      const method = cseqOf(msg).method;
      const p = this.pending.get(`${branch}|${method}`);
      if (!p) return;
      if (msg.status < 200) {
        p.provisional.push(msg);
        p.onProvisional?.(msg);
        return;
      }
      this.pending.delete(`${branch}|${method}`);
      p.resolve(msg);
      return;
    }
    if (msg.method === 'ACK') {
      const callId = hdr(msg, 'call-id') ?? '';
      this.ackWaiters.get(callId)?.();
      this.ackWaiters.delete(callId);
      return;
    }
    const localTag = token(4);
    this.requestHandler({
      msg,
      reply: (status, reason, opts = {}) => {
        const to = hdr(msg, 'to') ?? '';
        const toWithTag = tagOf(to) ? to : `${to};tag=${localTag}`;
        const lines = [
          `SIP/2.0 ${status} ${reason}`,
          ...hdrs(msg, 'via').map((v) => `Via: ${v}`),
          ...hdrs(msg, 'record-route').map((v) => `Record-Route: ${v}`),
          `From: ${hdr(msg, 'from')}`,
          `To: ${status === 100 ? to : toWithTag}`,
          `Call-ID: ${hdr(msg, 'call-id')}`,
          `CSeq: ${hdr(msg, 'cseq')}`,
          ...(status >= 200 && status < 300 && msg.method !== 'BYE'
            ? [`Contact: ${this.contact}`]
            : []),
          ...(opts.headers ?? []),
        ];
        this.sendWithBody(lines, opts.body, opts.contentType);
        if (msg.method === 'INVITE' && status >= 200 && status < 300) {
          return {
            callId: hdr(msg, 'call-id') ?? '',
            localTag: tagOf(toWithTag) ?? localTag,
            remoteTag: tagOf(hdr(msg, 'from')) ?? '',
            localUri: uriOf(to),
            remoteUri: uriOf(hdr(msg, 'from') ?? ''),
            remoteTarget: uriOf(hdr(msg, 'contact') ?? ''),
            routeSet: hdrs(msg, 'record-route')
              .flatMap((v) => v.split(/,(?=\s*<)/))
              .map((v) => v.trim()),
            localSeq: 100,
          };
        }
        return undefined;
      },
    });
  }

  private sendWithBody(lines: string[], body?: string, contentType = 'application/sdp'): string {
    const b = body ?? '';
    const text = [
      ...lines,
      ...(b ? [`Content-Type: ${contentType}`] : []),
      `Content-Length: ${Buffer.byteLength(b)}`,
      '',
      b,
    ].join('\r\n');
    this.transport.send(text);
    return text;
  }

  /**
   * Sends one request and waits for its final response. UDP requests are
   * retransmitted until a response arrives (RFC 3261 timer A/E, simplified).
   */
  private transaction(
    lines: (branch: string) => string[],
    method: string,
    opts: {
      body?: string;
      contentType?: string;
      timeoutMs?: number;
      onProvisional?: (m: SipMessage) => void;
      /** CANCEL reuses its INVITE's branch. */
      branch?: string;
    },
  ): Promise<{ final: SipMessage; provisional: SipMessage[]; sent: string; branch: string }> {
    const branch = opts.branch ?? `z9hG4bK${token(8)}`;
    return new Promise((resolve, reject) => {
      let sent = '';
      const send = () => (sent = this.sendWithBody(lines(branch), opts.body, opts.contentType));
      const p: Pending = {
        branch,
        method,
        provisional: [],
        onProvisional: opts.onProvisional,
        resolve: (final) => {
          clearTimeout(timer);
          clearInterval(retrans);
          resolve({ final, provisional: p.provisional, sent, branch });
        },
      };
      this.pending.set(`${branch}|${method}`, p);
      send();
      const retrans = setInterval(() => {
        if (this.transport.proto === 'UDP' && p.provisional.length === 0) send();
      }, 500);
      const timer = setTimeout(() => {
        clearInterval(retrans);
        this.pending.delete(`${branch}|${method}`);
        reject(new Error(`${method}: no final response within ${opts.timeoutMs ?? 10000} ms`));
      }, opts.timeoutMs ?? 10000);
    });
  }

  /**
   * An out-of-dialog request (REGISTER, INVITE, MESSAGE, OPTIONS) with one
   * digest retry on 401/407. INVITE final responses are ACKed.
   */
  async request(
    method: string,
    opts: {
      uri: string;
      to?: string;
      from?: string;
      headers?: string[];
      body?: string;
      contentType?: string;
      authenticate?: boolean;
      /** Credentials to use instead of the UA's own (wrong-password tests). */
      credentials?: { user: string; password: string };
      timeoutMs?: number;
      callId?: string;
      fromTag?: string;
      /** SDP for the ACK of a 2xx (late offer: the INVITE had none). */
      ackBody?: string | ((final: SipMessage) => string);
      onProvisional?: (m: SipMessage, branch: string) => void;
    },
  ): Promise<RequestResult & { dialog?: Dialog; branch: string; inviteCseq: number }> {
    const started = Date.now();
    const callId = opts.callId ?? `${token(10)}@test`;
    const fromTag = opts.fromTag ?? token(4);
    const to = opts.to ?? `<${opts.uri}>`;
    const from = opts.from ?? `<sip:${this.user}@${this.domain}>`;
    let seq = 1;
    let authHeader: string | undefined;
    const provisional: SipMessage[] = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      const cseq = seq;
      let currentBranch = '';
      const result = await this.transaction(
        (branch) => {
          currentBranch = branch;
          return [
            `${method} ${opts.uri} SIP/2.0`,
            `Via: ${this.via(branch)}`,
            'Max-Forwards: 70',
            `From: ${from};tag=${fromTag}`,
            `To: ${to}`,
            `Call-ID: ${callId}`,
            `CSeq: ${cseq} ${method}`,
            `Contact: ${this.contact}`,
            'User-Agent: gateway-integration-tests',
            ...(authHeader ? [authHeader] : []),
            ...(opts.headers ?? []),
          ];
        },
        method,
        {
          body: opts.body,
          contentType: opts.contentType,
          timeoutMs: opts.timeoutMs,
          onProvisional: (m) => opts.onProvisional?.(m, currentBranch),
        },
      );
      provisional.push(...result.provisional);
      const final = result.final;
      if (method === 'INVITE' && final.status >= 300)
        this.ackNon2xx(opts.uri, result.branch, final, cseq, from, fromTag, callId);
      const challenge =
        final.status === 401
          ? hdr(final, 'www-authenticate')
          : final.status === 407
            ? hdr(final, 'proxy-authenticate')
            : undefined;
      if (challenge && attempt === 0 && opts.authenticate !== false) {
        const creds = opts.credentials ?? { user: this.user, password: this.password };
        authHeader = `${final.status === 401 ? 'Authorization' : 'Proxy-Authorization'}: ${digest(challenge, { ...creds, method, uri: opts.uri })}`;
        seq += 1;
        continue;
      }
      let dialog: Dialog | undefined;
      if (method === 'INVITE' && final.status >= 200 && final.status < 300) {
        dialog = {
          callId,
          localTag: fromTag,
          remoteTag: tagOf(hdr(final, 'to')) ?? '',
          localUri: uriOf(from),
          remoteUri: uriOf(to),
          remoteTarget: uriOf(hdr(final, 'contact') ?? opts.uri),
          routeSet: hdrs(final, 'record-route')
            .flatMap((v) => v.split(/,(?=\s*<)/))
            .map((v) => v.trim())
            .reverse(),
          localSeq: cseq,
        };
        this.ack(
          dialog,
          cseq,
          typeof opts.ackBody === 'function' ? opts.ackBody(final) : opts.ackBody,
        );
      }
      return {
        final,
        provisional,
        sent: result.sent,
        elapsedMs: Date.now() - started,
        dialog,
        branch: result.branch,
        inviteCseq: cseq,
      };
    }
    throw new Error('unreachable');
  }

  private ackNon2xx(
    uri: string,
    branch: string,
    final: SipMessage,
    cseq: number,
    from: string,
    fromTag: string,
    callId: string,
  ): void {
    this.sendWithBody([
      `ACK ${uri} SIP/2.0`,
      `Via: ${this.via(branch)}`,
      'Max-Forwards: 70',
      `From: ${from};tag=${fromTag}`,
      `To: ${hdr(final, 'to')}`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} ACK`,
    ]);
  }

  /** ACK for a 2xx (a new transaction, in the dialog). */
  ack(d: Dialog, cseq: number, body?: string): void {
    this.sendWithBody(this.inDialogLines(d, 'ACK', cseq, `z9hG4bK${token(8)}`), body);
  }

  private inDialogLines(d: Dialog, method: string, cseq: number, branch: string): string[] {
    return [
      `${method} ${d.remoteTarget} SIP/2.0`,
      `Via: ${this.via(branch)}`,
      'Max-Forwards: 70',
      ...d.routeSet.map((r) => `Route: ${r}`),
      `From: <${d.localUri}>;tag=${d.localTag}`,
      `To: <${d.remoteUri}>;tag=${d.remoteTag}`,
      `Call-ID: ${d.callId}`,
      `CSeq: ${cseq} ${method}`,
      `Contact: ${this.contact}`,
    ];
  }

  /** A request inside a dialog (BYE, re-INVITE, UPDATE, REFER, INFO, MESSAGE). */
  async inDialog(
    d: Dialog,
    method: string,
    opts: { body?: string; contentType?: string; headers?: string[]; timeoutMs?: number } = {},
  ): Promise<SipMessage> {
    d.localSeq += 1;
    const seq = d.localSeq;
    const { final } = await this.transaction(
      (branch) => [...this.inDialogLines(d, method, seq, branch), ...(opts.headers ?? [])],
      method,
      opts,
    );
    if (method === 'INVITE' && final.status >= 200 && final.status < 300) this.ack(d, seq);
    return final;
  }

  /** CANCEL a pending INVITE (same branch and CSeq number). */
  async cancel(inv: {
    uri: string;
    branch: string;
    callId: string;
    from: string;
    fromTag: string;
    to: string;
    cseq: number;
  }): Promise<SipMessage> {
    const { final } = await this.transaction(
      () => [
        `CANCEL ${inv.uri} SIP/2.0`,
        `Via: ${this.via(inv.branch)}`,
        'Max-Forwards: 70',
        `From: ${inv.from};tag=${inv.fromTag}`,
        `To: ${inv.to}`,
        `Call-ID: ${inv.callId}`,
        `CSeq: ${inv.cseq} CANCEL`,
      ],
      'CANCEL',
      { branch: inv.branch },
    );
    return final;
  }

  async register(
    opts: {
      expires?: number;
      credentials?: { user: string; password: string };
      timeoutMs?: number;
    } = {},
  ): Promise<RequestResult> {
    return this.request('REGISTER', {
      uri: `sip:${this.domain}`,
      to: `<sip:${this.user}@${this.domain}>`,
      from: `<sip:${this.user}@${this.domain}>`,
      headers: [`Expires: ${opts.expires ?? 600}`],
      credentials: opts.credentials,
      timeoutMs: opts.timeoutMs,
    });
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}

// ---------------------------------------------------------------- SDP

/** A browser-like (Chrome) audio offer: ICE, DTLS fingerprint, rtcp-mux, a=mid, Opus first. */
export function webrtcOffer(opts: { port?: number; codecs?: 'chrome' | 'opus-only' } = {}): string {
  const port = opts.port ?? 50000;
  const payloads = opts.codecs === 'opus-only' ? '111 126' : '111 63 9 0 8 13 110 126';
  const maps =
    opts.codecs === 'opus-only'
      ? [
          'a=rtpmap:111 opus/48000/2',
          'a=fmtp:111 minptime=10;useinbandfec=1',
          'a=rtpmap:126 telephone-event/8000',
        ]
      : [
          'a=rtpmap:111 opus/48000/2',
          'a=rtcp-fb:111 transport-cc',
          'a=fmtp:111 minptime=10;useinbandfec=1',
          'a=rtpmap:63 red/48000/2',
          'a=fmtp:63 111/111',
          'a=rtpmap:9 G722/8000',
          'a=rtpmap:0 PCMU/8000',
          'a=rtpmap:8 PCMA/8000',
          'a=rtpmap:13 CN/8000',
          'a=rtpmap:110 telephone-event/48000',
          'a=rtpmap:126 telephone-event/8000',
        ];
  return webrtcSdp(port, payloads, maps, 'actpass');
}

/** A browser-like answer to an offer toward the browser (accepts the first codec offered). */
export function webrtcAnswer(offer: string, port = 50002): string {
  const m = /^m=audio \d+ \S+ (\d+)/m.exec(offer);
  const pt = m?.[1] ?? '111';
  const rtpmap =
    new RegExp(`^a=rtpmap:${pt} .*$`, 'm').exec(offer)?.[0] ?? `a=rtpmap:${pt} opus/48000/2`;
  return webrtcSdp(port, pt, [rtpmap], 'active');
}

function webrtcSdp(port: number, payloads: string, maps: string[], setup: string): string {
  const fp = Array.from({ length: 32 }, () => token(1).toUpperCase()).join(':');
  return [
    'v=0',
    `o=- ${Date.now()} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'a=msid-semantic: WMS',
    `m=audio ${port} UDP/TLS/RTP/SAVPF ${payloads}`,
    'c=IN IP4 127.0.0.1',
    'a=rtcp:9 IN IP4 0.0.0.0',
    `a=candidate:1 1 udp 2113937151 127.0.0.1 ${port} typ host generation 0`,
    `a=ice-ufrag:${token(2)}`,
    `a=ice-pwd:${token(12)}`,
    'a=ice-options:trickle',
    `a=fingerprint:sha-256 ${fp}`,
    `a=setup:${setup}`,
    'a=mid:0',
    'a=sendrecv',
    'a=rtcp-mux',
    ...maps,
    '',
  ].join('\r\n');
}

/** A plain SIP phone's G.711 offer/answer. */
export function plainSdp(port: number, direction = 'sendrecv'): string {
  return [
    'v=0',
    `o=- ${Date.now()} 1 IN IP4 127.0.0.1`,
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${port} RTP/AVP 0 8 101`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-15',
    `a=${direction}`,
    '',
  ].join('\r\n');
}
