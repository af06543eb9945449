// A fake WebSocket whose other end is a tiny SIP server: a digest-checking
// registrar (401 then 200), a far end that answers INVITEs with 100/180/200,
// and helpers to send requests into the phone (incoming INVITE, BYE, NOTIFY).
// Only what the unit tests need; every response is built per RFC 3261 §8.2.6.

import { createHash } from 'node:crypto';

export interface SipMessage {
  raw: string;
  firstLine: string;
  method?: string;
  requestUri?: string;
  statusCode?: number;
  headers: [string, string][];
  body: string;
  header(name: string): string | undefined;
  headerValues(name: string): string[];
}

const COMPACT: Record<string, string> = {
  i: 'call-id',
  f: 'from',
  t: 'to',
  v: 'via',
  m: 'contact',
  l: 'content-length',
  c: 'content-type',
};

export function parseSip(raw: string): SipMessage {
  const [head = '', ...rest] = raw.split('\r\n\r\n');
  const lines = head.split('\r\n');
  const firstLine = lines.shift() ?? '';
  const headers: [string, string][] = [];
  for (const line of lines) {
    if (/^[ \t]/.test(line) && headers.length) {
      const last = headers[headers.length - 1];
      if (last) last[1] += ' ' + line.trim();
      continue;
    }
    const i = line.indexOf(':');
    if (i > 0) headers.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
  }
  const norm = (n: string) => {
    const l = n.toLowerCase();
    return COMPACT[l] ?? l;
  };
  const headerValues = (name: string) =>
    headers.filter(([n]) => norm(n) === norm(name)).map(([, v]) => v);
  const req = /^([A-Z]+)\s+(\S+)\s+SIP\/2\.0$/.exec(firstLine);
  const res = /^SIP\/2\.0\s+(\d{3})/.exec(firstLine);
  return {
    raw,
    firstLine,
    method: req?.[1],
    requestUri: req?.[2],
    statusCode: res ? Number(res[1]) : undefined,
    headers,
    body: rest.join('\r\n\r\n'),
    header: (name) => headerValues(name)[0],
    headerValues,
  };
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

function digestParams(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of value.replace(/^Digest\s+/i, '').matchAll(/(\w+)=("([^"]*)"|[^,\s]+)/g)) {
    out[(m[1] ?? '').toLowerCase()] = m[3] ?? m[2] ?? '';
  }
  return out;
}

let seq = 0;
const token = () => `${Date.now().toString(36)}${(++seq).toString(36)}`;

/** An answer to `offer` with the mirrored direction (or `direction`, to answer wrongly). */
export function answerSdp(offer: string, direction?: RTCRtpTransceiverDirection): string {
  const dir = /a=(sendonly|recvonly|inactive|sendrecv)/.exec(offer)?.[1] ?? 'sendrecv';
  const answerDir =
    direction ??
    {
      sendonly: 'recvonly',
      recvonly: 'sendonly',
      inactive: 'inactive',
      sendrecv: 'sendrecv',
    }[dir];
  return [
    'v=0',
    'o=peer 1 1 IN IP4 127.0.0.1',
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    'm=audio 40000 UDP/TLS/RTP/SAVPF 111 101',
    'a=rtpmap:111 opus/48000/2',
    'a=rtpmap:101 telephone-event/8000',
    `a=${answerDir}`,
    '',
  ].join('\r\n');
}

export const OFFER_SDP = answerSdp('a=sendrecv');

interface Dialog {
  callId: string;
  serverTag: string;
  clientTag: string;
  /** Where in-dialog requests to the phone go (its Contact). */
  clientTarget: string;
  serverUri: string;
  clientUri: string;
  cseq: number;
}

type Listener = (ev: Event) => void;

/** What FakeSipServer.WebSocket returns: a WebSocket constructor whose sockets talk to it. */
export type FakeWebSocketConstructor = new (
  url: string,
  protocol?: string | string[],
) => FakeWebSocket;

export class FakeWebSocket {
  readyState = 0;
  binaryType: BinaryType = 'blob';
  private listeners = new Map<string, Listener[]>();

  constructor(
    private readonly server: FakeSipServer,
    readonly url: string,
    readonly protocol?: string | string[],
  ) {
    server.sockets.push(this);
    queueMicrotask(() => {
      if (server.acceptConnections) {
        this.readyState = 1;
        this.emit('open');
      } else {
        this.readyState = 3;
        this.emit('close', { code: 1006 });
      }
    });
  }

  addEventListener(type: string, fn: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }

  private emit(type: string, props: Record<string, unknown> = {}): void {
    const ev = Object.assign(new Event(type), props);
    for (const fn of this.listeners.get(type) ?? []) fn(ev);
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('socket not open');
    if (/^(\r\n)+$/.test(data)) {
      this.server.keepAlives++;
      return;
    }
    queueMicrotask(() => this.server.receive(this, data));
  }

  close(code = 1000): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    queueMicrotask(() => this.emit('close', { code }));
  }

  /** The server side drops the connection (network loss, gateway restart). */
  drop(code = 1006): void {
    this.close(code);
  }

  deliver(text: string): void {
    queueMicrotask(() => {
      if (this.readyState === 1) this.emit('message', { data: text });
    });
  }
}

export interface FakeSipServerOptions {
  realm?: string;
  users?: Record<string, string>;
  grantedExpires?: number;
}

export class FakeSipServer {
  readonly realm: string;
  readonly users: Record<string, string>;
  grantedExpires: number;
  acceptConnections = true;
  keepAlives = 0;
  readonly sockets: FakeWebSocket[] = [];
  readonly received: SipMessage[] = [];
  /** Registered contacts by user. */
  readonly bindings = new Map<string, string>();
  readonly dialogs = new Map<string, Dialog>();
  /** Per-method overrides; return true when handled. */
  readonly handlers: Partial<
    Record<string, (req: SipMessage, ws: FakeWebSocket) => boolean | void>
  > = {};
  /** How the far end treats a new INVITE. */
  inviteBehavior: 'answer' | 'ring' | { reject: number; reason: string } = 'answer';
  /**
   * Direction the far end puts in its answers to re-INVITEs instead of the
   * mirrored one; 'sendrecv' is what sipp's echo service (9196) answers to a hold.
   */
  reinviteAnswerDirection: RTCRtpTransceiverDirection | undefined;
  private nonce = token();
  private waiters: {
    pred: (m: SipMessage) => boolean;
    remaining: number;
    resolve: (m: SipMessage) => void;
  }[] = [];
  private pendingInvites = new Map<string, SipMessage>();
  private sentInvites = new Map<string, string[]>();

  constructor(options: FakeSipServerOptions = {}) {
    this.realm = options.realm ?? 'localhost';
    this.users = options.users ?? { '1001': 'demo-1001-pw' };
    this.grantedExpires = options.grantedExpires ?? 300;
  }

  /**
   * A WebSocket constructor bound to this server, for PhoneDependencies.WebSocket.
   * The return type is spelled out: a declaration (composite project) cannot
   * name the anonymous subclass, whose inherited private members TS4094 forbids.
   */
  get WebSocket(): FakeWebSocketConstructor {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const server = this;
    return class extends FakeWebSocket {
      constructor(url: string, protocol?: string | string[]) {
        super(server, url, protocol);
      }
    };
  }

  get socket(): FakeWebSocket {
    const ws = [...this.sockets].reverse().find((s) => s.readyState === 1);
    if (!ws) throw new Error('no open socket');
    return ws;
  }

  requests(method: string): SipMessage[] {
    return this.received.filter((m) => m.method === method);
  }

  /** Resolves with the (skip+1)-th message matching pred, already received or yet to come. */
  waitFor(pred: (m: SipMessage) => boolean, skip = 0): Promise<SipMessage> {
    const matched = this.received.filter(pred);
    const found = matched[skip];
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => {
      this.waiters.push({ pred, remaining: skip - matched.length, resolve });
    });
  }

  waitForRequest(method: string, skip = 0): Promise<SipMessage> {
    return this.waitFor((m) => m.method === method, skip);
  }

  receive(ws: FakeWebSocket, raw: string): void {
    const msg = parseSip(raw);
    this.received.push(msg);
    for (const w of [...this.waiters]) {
      if (!w.pred(msg)) continue;
      if (w.remaining-- > 0) continue;
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve(msg);
    }
    if (msg.method) {
      if (this.handlers[msg.method]?.(msg, ws)) return;
      this.handleRequest(msg, ws);
    } else {
      this.handleResponse(msg);
    }
  }

  response(
    req: SipMessage,
    code: number,
    reason: string,
    opts: { toTag?: string; headers?: string[]; body?: string } = {},
  ): string {
    const lines = [`SIP/2.0 ${code} ${reason}`];
    for (const v of req.headerValues('via')) lines.push(`Via: ${v}`);
    lines.push(`From: ${req.header('from')}`);
    const to = req.header('to') ?? '';
    lines.push(`To: ${opts.toTag && !/;tag=/.test(to) ? `${to};tag=${opts.toTag}` : to}`);
    lines.push(`Call-ID: ${req.header('call-id')}`, `CSeq: ${req.header('cseq')}`);
    lines.push(...(opts.headers ?? []));
    if (opts.body) lines.push('Content-Type: application/sdp');
    lines.push(`Content-Length: ${Buffer.byteLength(opts.body ?? '')}`);
    return lines.join('\r\n') + '\r\n\r\n' + (opts.body ?? '');
  }

  reply(
    ws: FakeWebSocket,
    req: SipMessage,
    code: number,
    reason: string,
    opts: Parameters<FakeSipServer['response']>[3] = {},
  ): void {
    ws.deliver(this.response(req, code, reason, opts));
  }

  private handleRequest(req: SipMessage, ws: FakeWebSocket): void {
    switch (req.method) {
      case 'REGISTER':
        return this.register(req, ws);
      case 'INVITE':
        return this.invite(req, ws);
      case 'ACK':
        return;
      case 'CANCEL': {
        this.reply(ws, req, 200, 'OK');
        const invite = this.pendingInvites.get(req.header('call-id') ?? '');
        if (invite) this.reply(ws, invite, 487, 'Request Terminated', { toTag: token() });
        return;
      }
      case 'REFER':
        return this.reply(ws, req, 202, 'Accepted');
      default:
        return this.reply(ws, req, 200, 'OK');
    }
  }

  private handleResponse(res: SipMessage): void {
    // Phone answered our INVITE: remember the dialog from the phone's side.
    const callId = res.header('call-id') ?? '';
    const d = this.dialogs.get(callId);
    if (
      d &&
      res.statusCode &&
      res.statusCode >= 200 &&
      res.statusCode < 300 &&
      /INVITE/.test(res.header('cseq') ?? '')
    ) {
      d.clientTag = /;tag=([^;]+)/.exec(res.header('to') ?? '')?.[1] ?? '';
      d.clientTarget = /<([^>]+)>/.exec(res.header('contact') ?? '')?.[1] ?? d.clientTarget;
      this.sendInDialog(callId, 'ACK', { cseq: d.cseq });
    }
  }

  private register(req: SipMessage, ws: FakeWebSocket): void {
    const auth = req.header('authorization');
    if (!auth) {
      this.reply(ws, req, 401, 'Unauthorized', {
        toTag: token(),
        headers: [
          `WWW-Authenticate: Digest realm="${this.realm}", nonce="${this.nonce}", qop="auth", algorithm=MD5`,
        ],
      });
      return;
    }
    const p = digestParams(auth);
    const password = this.users[p.username ?? ''];
    const ha1 = md5(`${p.username}:${p.realm}:${password}`);
    const ha2 = md5(`REGISTER:${p.uri}`);
    const expected = p.qop
      ? md5(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`)
      : md5(`${ha1}:${p.nonce}:${ha2}`);
    if (password === undefined || p.response !== expected || p.nonce !== this.nonce) {
      this.reply(ws, req, 403, 'Forbidden', { toTag: token() });
      return;
    }
    const contact = req.header('contact') ?? '';
    const user = /sip:([^@]+)@/.exec(req.header('to') ?? '')?.[1] ?? '';
    const requested = /;expires=(\d+)/.exec(contact)?.[1];
    if (requested === '0') {
      this.bindings.delete(user);
      this.reply(ws, req, 200, 'OK', { toTag: token() });
      return;
    }
    const uri = /<([^>]+)>/.exec(contact)?.[1] ?? '';
    this.bindings.set(user, uri);
    const params = contact.replace(/^<[^>]+>/, '').replace(/;expires=\d+/, '');
    this.reply(ws, req, 200, 'OK', {
      toTag: token(),
      headers: [`Contact: <${uri}>${params};expires=${this.grantedExpires}`],
    });
  }

  private invite(req: SipMessage, ws: FakeWebSocket): void {
    const callId = req.header('call-id') ?? '';
    const existing = this.dialogs.get(callId);
    if (existing && /;tag=/.test(req.header('to') ?? '')) {
      // re-INVITE: answer with the mirrored direction (hold → recvonly).
      const forced = this.reinviteAnswerDirection;
      this.reply(ws, req, 200, 'OK', {
        headers: ['Contact: <sip:peer@127.0.0.1:5060;transport=ws>'],
        body: answerSdp(req.body, forced),
      });
      return;
    }
    const serverTag = token();
    this.dialogs.set(callId, {
      callId,
      serverTag,
      clientTag: /;tag=([^;]+)/.exec(req.header('from') ?? '')?.[1] ?? '',
      clientTarget: /<([^>]+)>/.exec(req.header('contact') ?? '')?.[1] ?? '',
      serverUri: /<([^>]+)>/.exec(req.header('to') ?? '')?.[1] ?? req.requestUri ?? '',
      clientUri: /<([^>]+)>/.exec(req.header('from') ?? '')?.[1] ?? '',
      cseq: 100,
    });
    this.reply(ws, req, 100, 'Trying');
    const b = this.inviteBehavior;
    if (typeof b === 'object') {
      this.reply(ws, req, b.reject, b.reason, { toTag: serverTag });
      return;
    }
    this.pendingInvites.set(callId, req);
    this.reply(ws, req, 180, 'Ringing', {
      toTag: serverTag,
      headers: ['Contact: <sip:peer@127.0.0.1:5060;transport=ws>'],
    });
    if (b === 'answer') this.answer(callId);
  }

  /** The far end picks up a ringing outgoing call. */
  answer(callId: string): void {
    const req = this.pendingInvites.get(callId);
    const d = this.dialogs.get(callId);
    if (!req || !d) throw new Error(`no pending INVITE ${callId}`);
    this.pendingInvites.delete(callId);
    this.reply(this.socket, req, 200, 'OK', {
      toTag: d.serverTag,
      headers: ['Contact: <sip:peer@127.0.0.1:5060;transport=ws>'],
      body: answerSdp(req.body),
    });
  }

  /** Sends a request inside an existing dialog to the phone (BYE, NOTIFY, INFO...). */
  sendInDialog(
    callId: string,
    method: string,
    opts: { headers?: string[]; body?: string; contentType?: string; cseq?: number } = {},
  ): void {
    const d = this.dialogs.get(callId);
    if (!d) throw new Error(`no dialog ${callId}`);
    const cseq = opts.cseq ?? ++d.cseq;
    const lines = [
      `${method} ${d.clientTarget} SIP/2.0`,
      `Via: SIP/2.0/WSS 127.0.0.1:8443;branch=z9hG4bK${token()}`,
      'Max-Forwards: 70',
      `From: <${d.serverUri}>;tag=${d.serverTag}`,
      `To: <${d.clientUri}>;tag=${d.clientTag}`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} ${method}`,
      'Contact: <sip:peer@127.0.0.1:5060;transport=ws>',
      ...(opts.headers ?? []),
    ];
    if (opts.body) lines.push(`Content-Type: ${opts.contentType ?? 'text/plain'}`);
    lines.push(`Content-Length: ${Buffer.byteLength(opts.body ?? '')}`);
    this.socket.deliver(lines.join('\r\n') + '\r\n\r\n' + (opts.body ?? ''));
  }

  /** Sends a new INVITE to the registered contact of `user` (an incoming call for the phone). */
  sendInvite(
    user: string,
    opts: { from?: string; headers?: string[]; body?: string } = {},
  ): string {
    const target = this.bindings.get(user);
    if (!target) throw new Error(`${user} is not registered`);
    const callId = `in-${token()}`;
    const serverTag = token();
    const from = opts.from ?? 'sip:1002@localhost';
    const aor = `sip:${user}@${this.realm}`;
    this.dialogs.set(callId, {
      callId,
      serverTag,
      clientTag: '',
      clientTarget: target,
      serverUri: from,
      clientUri: aor,
      cseq: 1,
    });
    const body = opts.body ?? OFFER_SDP;
    const lines = [
      `INVITE ${target} SIP/2.0`,
      `Via: SIP/2.0/WSS 127.0.0.1:8443;branch=z9hG4bK${token()}`,
      'Max-Forwards: 70',
      `From: "Bob" <${from}>;tag=${serverTag}`,
      `To: <${aor}>`,
      `Call-ID: ${callId}`,
      'CSeq: 1 INVITE',
      'Contact: <sip:peer@127.0.0.1:5060;transport=ws>',
      ...(opts.headers ?? []),
      'Content-Type: application/sdp',
      `Content-Length: ${Buffer.byteLength(body)}`,
    ];
    this.socket.deliver(lines.join('\r\n') + '\r\n\r\n' + body);
    this.sentInvites.set(callId, lines);
    return callId;
  }

  /** The caller gives up on an incoming call (CANCEL matches the INVITE's branch, RFC 3261 §9.1). */
  cancelInvite(callId: string, reason?: string): void {
    const invite = this.sentInvites.get(callId);
    if (!invite) throw new Error(`no INVITE ${callId}`);
    const keep = invite.filter((l) => /^(Via|Max-Forwards|From|To|Call-ID):/.test(l));
    const uri = (invite[0] ?? '').split(' ')[1];
    this.sendRequest([
      `CANCEL ${uri} SIP/2.0`,
      ...keep,
      'CSeq: 1 CANCEL',
      ...(reason ? [`Reason: ${reason}`] : []),
    ]);
  }

  /** An out-of-dialog request to the phone (MESSAGE, CANCEL...). */
  sendRequest(lines: string[], body = ''): void {
    this.socket.deliver(
      [...lines, `Content-Length: ${Buffer.byteLength(body)}`].join('\r\n') + '\r\n\r\n' + body,
    );
  }
}
