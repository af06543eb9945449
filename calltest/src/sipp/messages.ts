import { existsSync, readFileSync } from 'node:fs';

// sipp's -trace_msg log → SIP messages with time and direction → one record
// per Call-ID: final code, post-dial delay, answer, who hung up. This is what
// calltest judges calls by (sipp's own exit code only says "some call failed").

export interface SipMessage {
  /** ms since the epoch. */
  t: number;
  dir: 'sent' | 'received';
  firstLine: string;
  method?: string;
  code?: number;
  callId: string;
  cseqMethod: string;
  text: string;
  body: string;
}

const SEP = /^-{20,} (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)\.(\d+)\s*$/m;

function header(text: string, name: string, compact?: string): string | undefined {
  const re = new RegExp(`^(?:${name}${compact ? `|${compact}` : ''})\\s*:\\s*(.*)$`, 'im');
  return re.exec(text)?.[1]?.trim();
}

export function parseMessageLog(log: string): SipMessage[] {
  const parts = log.split(SEP);
  const out: SipMessage[] = [];
  // split with 3 capture groups: [pre, date, time, frac, block, date, ...]
  for (let i = 1; i + 3 < parts.length + 1; i += 4) {
    const [date, time, frac, block] = [parts[i]!, parts[i + 1]!, parts[i + 2]!, parts[i + 3] ?? ''];
    const t = new Date(`${date}T${time}.${frac.slice(0, 3).padEnd(3, '0')}`).getTime();
    const m = /message (sent|received)[^\n]*\n/.exec(block);
    if (!m) continue;
    const text = block
      .slice(m.index + m[0].length)
      .replace(/^\s*\n/, '')
      .replace(/\r/g, '');
    const firstLine = text.split('\n')[0]!.trim();
    if (!firstLine) continue;
    const resp = /^SIP\/2\.0 (\d{3})/.exec(firstLine);
    const cseq = header(text, 'CSeq') ?? '';
    const sepAt = text.indexOf('\n\n');
    out.push({
      t,
      dir: m[1] as 'sent' | 'received',
      firstLine,
      method: resp ? undefined : firstLine.split(' ')[0],
      code: resp ? Number(resp[1]) : undefined,
      callId: header(text, 'Call-ID', 'i') ?? '',
      cseqMethod: cseq.split(/\s+/)[1] ?? '',
      text: text.trim(),
      body: sepAt >= 0 ? text.slice(sepAt + 2).trim() : '',
    });
  }
  return out;
}

export function readMessageLog(file: string): SipMessage[] {
  return existsSync(file) ? parseMessageLog(readFileSync(file, 'utf8')) : [];
}

export interface CallRecord {
  callId: string;
  /** The request that started the dialog (INVITE, REGISTER, OPTIONS). */
  method: string;
  /** Did this side send (uac) or receive (uas) the initial request. */
  side: 'uac' | 'uas';
  start: number;
  finalCode?: number;
  finalReason?: string;
  finalText?: string;
  /** Initial request → first 18x or final (ms). */
  pddMs?: number;
  answeredAt?: number;
  endedAt?: number;
  durationMs?: number;
  hangupBy?: 'self' | 'remote';
  /** The BYE got its 200. */
  byeAnswered?: boolean;
  /** Far end's media address from its SDP (uac: the answer; uas: the offer). */
  remoteMedia?: { ip: string; port: number };
  localMedia?: { ip: string; port: number };
  /** INFO DTMF digits received. */
  infoDigits: string;
  /** Status codes of the sipfrag bodies of NOTIFYs received (transfer progress). */
  notifyStatus: number[];
  /** A REFER this side sent was refused with this final response (no NOTIFY follows). */
  referCode?: number;
  /** The consultation call of an attended transfer this side made. */
  consultation?: boolean;
  messages: SipMessage[];
}

export function sdpAddress(body: string): { ip: string; port: number } | undefined {
  const c = /^c=IN IP[46] (\S+)/m.exec(body);
  const m = /^m=audio (\d+)/m.exec(body);
  return c && m ? { ip: c[1]!, port: Number(m[1]) } : undefined;
}

const IN_DIALOG = new Set(['ACK', 'CANCEL', 'BYE', 'INFO', 'UPDATE', 'PRACK', 'NOTIFY', 'REFER']);

/** One record per Call-ID of the log (calls, registrations, pings). */
export function callRecords(msgs: SipMessage[]): CallRecord[] {
  const by = new Map<string, SipMessage[]>();
  for (const m of msgs) {
    if (!m.callId) continue;
    const list = by.get(m.callId) ?? [];
    list.push(m);
    by.set(m.callId, list);
  }
  const out: CallRecord[] = [];
  for (const [callId, list] of by) {
    // a dialog or transaction starts with an out-of-dialog request; a stray in-dialog
    // request (a BYE retransmitted from an earlier test) is no call
    const first = list.find((m) => m.method && !IN_DIALOG.has(m.method));
    if (!first) continue;
    const side = first.dir === 'sent' ? 'uac' : 'uas';
    const method = first.method!;
    const mine = (m: SipMessage) => (side === 'uac' ? m.dir === 'received' : m.dir === 'sent');
    const rec: CallRecord = {
      callId,
      method,
      side,
      start: first.t,
      infoDigits: '',
      notifyStatus: [],
      messages: list,
    };
    const responses = list.filter(
      (m) => m.code !== undefined && m.cseqMethod === method && mine(m),
    );
    // post-dial delay: to the first ringing/progress or final answer, digest challenges excluded
    const firstProgress = responses.find((m) => m.code! >= 180 && m.code !== 401 && m.code !== 407);
    if (firstProgress) rec.pddMs = firstProgress.t - first.t;
    // the last final answer to the initial request (after any digest challenge)
    const finals = responses.filter((m) => m.code! >= 200);
    // the answer is the first 2xx (later ones answer re-INVITEs); else the last final
    const fin = finals.find((m) => m.code! < 300) ?? finals[finals.length - 1];
    if (fin) {
      rec.finalCode = fin.code;
      rec.finalReason = fin.firstLine.replace(/^SIP\/2\.0 \d{3}\s*/, '');
      rec.finalText = fin.text;
      if (fin.code! < 300) rec.answeredAt = fin.t;
      // the offer is the INVITE this final answered (a retry after a challenge may carry new ports)
      const offerMsg =
        [...list].reverse().find((m) => m.method === method && m.t <= fin.t && m.body) ?? first;
      const remote = side === 'uac' ? fin.body : offerMsg.body;
      const local = side === 'uac' ? offerMsg.body : fin.body;
      rec.remoteMedia = sdpAddress(remote);
      rec.localMedia = sdpAddress(local);
    }
    const bye = list.find((m) => m.method === 'BYE');
    if (bye) {
      rec.endedAt = bye.t;
      rec.hangupBy = bye.dir === 'sent' ? 'self' : 'remote';
      rec.byeAnswered = list.some(
        (m) => m.cseqMethod === 'BYE' && m.code === 200 && m.dir !== bye.dir,
      );
      if (rec.answeredAt) rec.durationMs = bye.t - rec.answeredAt;
    }
    for (const n of list.filter((m) => m.method === 'NOTIFY' && m.dir === 'received')) {
      const st = /^SIP\/2\.0 (\d{3})/m.exec(n.body);
      if (st) rec.notifyStatus.push(Number(st[1]));
    }
    for (const info of list.filter((m) => m.method === 'INFO' && m.dir === 'received')) {
      const d = /Signal\s*=\s*([0-9*#A-D])/i.exec(info.body);
      if (d) rec.infoDigits += d[1];
    }
    out.push(rec);
  }
  return out.sort((a, b) => a.start - b.start);
}
