import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import type { RtpengineControl } from '../rtpengine/client.js';

// One caller's media in rtpengine, driven over ng (the call-control tier's
// side of the model in types.ts). rtpengine labels the parties of a call by
// tags: the caller's From-tag, a placeholder far end while the caller waits,
// and one tag per agent offer. Every offer and answer carries `port-latching`
// so the port facing the caller never moves (the carrier keeps sending where
// our 200 OK told it to; no re-INVITE is ever needed toward the caller).

export type Ng = Pick<RtpengineControl, 'command'>;

const execFileAsync = promisify(execFile);

/** The far end the caller is tied to while nobody has answered (music, prompts). */
export const PLACEHOLDER_TAG = 'callcontrol-hold';

const isWebRtc = (sdp: string) => /UDP\/TLS\/RTP\/SAVPF|a=fingerprint:/i.test(sdp);

/** ng parameters for an SDP going toward `towardWebRtc`, sent by `fromWebRtc` (as route RTPENGINE in kamailio.cfg). */
export function legParams(towardWebRtc: boolean, fromWebRtc: boolean): Record<string, unknown> {
  const flags = ['port-latching'];
  const p: Record<string, unknown> = {
    replace: ['origin', 'session-connection'],
    SDES: ['off'],
    flags,
  };
  if (towardWebRtc) {
    Object.assign(p, {
      ICE: 'force',
      'transport-protocol': 'UDP/TLS/RTP/SAVPF',
      DTLS: 'passive',
      'rtcp-mux': ['require'],
    });
    flags.push('generate-mid');
  } else {
    Object.assign(p, {
      ICE: 'remove',
      'transport-protocol': 'RTP/AVP',
      DTLS: 'off',
      'rtcp-mux': ['demux'],
    });
  }
  // without it rtpengine starts DTLS toward a browser before the answer exists (ENVIRONMENT.md)
  if (fromWebRtc) p['DTLS-reverse'] = 'passive';
  return p;
}

/**
 * The placeholder's answer to the offer rtpengine made toward it: one codec
 * the caller offered (G.711 first: every prompt plays well in it) and
 * telephone-event, so the caller's RFC 4733 digits keep flowing. Its RTP
 * goes to the discard port: nobody listens while the caller waits.
 */
export function placeholderAnswer(offerTowardPlaceholder: string, address: string): string {
  const m = /^m=audio \d+ [^ ]+ ([\d ]+)/m.exec(offerTowardPlaceholder);
  const pts = (m?.[1] ?? '0').trim().split(/\s+/);
  const rtpmap = new Map<string, string>();
  for (const r of offerTowardPlaceholder.matchAll(/^a=rtpmap:(\d+) ([^\r\n]+)/gm))
    rtpmap.set(r[1]!, r[2]!);
  const name = (pt: string) =>
    (rtpmap.get(pt) ?? (pt === '0' ? 'PCMU/8000' : pt === '8' ? 'PCMA/8000' : '')).toLowerCase();
  const voice =
    pts.find((pt) => name(pt).startsWith('pcmu')) ??
    pts.find((pt) => name(pt).startsWith('pcma')) ??
    pts.find((pt) => !name(pt).startsWith('telephone-event'))!;
  const events = pts.find(
    (pt) => name(pt).startsWith('telephone-event') && name(pt).endsWith('/8000'),
  );
  const chosen = events ? [voice, events] : [voice];
  const ip6 = address.includes(':');
  const lines = [
    'v=0',
    `o=- ${Date.now()} 1 IN ${ip6 ? 'IP6' : 'IP4'} ${address}`,
    's=-',
    `c=IN ${ip6 ? 'IP6' : 'IP4'} ${address}`,
    't=0 0',
    `m=audio 9 RTP/AVP ${chosen.join(' ')}`,
    ...chosen.map(
      (pt) => `a=rtpmap:${pt} ${rtpmap.get(pt) ?? (pt === '0' ? 'PCMU/8000' : 'PCMA/8000')}`,
    ),
    ...(events ? [`a=fmtp:${events} 0-16`] : []),
    'a=sendrecv',
  ];
  return lines.join('\r\n') + '\r\n';
}

/** An answer to a hold offer (RFC 3264 §8.4): sendonly ↔ recvonly, inactive stays inactive. */
export function answerDirection(offer: string, answer: string): string {
  const dir = /^a=(sendonly|recvonly|inactive|sendrecv)\s*$/m.exec(offer)?.[1] ?? 'sendrecv';
  const mirrored = dir === 'sendonly' ? 'recvonly' : dir === 'recvonly' ? 'sendonly' : dir;
  const stripped = answer.replace(/^a=(sendonly|recvonly|inactive|sendrecv)\r?\n/gm, '');
  return stripped.replace(/(^m=audio[^\r\n]*\r?\n)/m, `$1a=${mirrored}\r\n`);
}

export function isHold(sdp: string): boolean {
  return /^a=(sendonly|inactive)\s*$/m.test(sdp) || /^c=IN IP4 0\.0\.0\.0/m.test(sdp);
}

export class CallMedia {
  private callerSdp: string | undefined;
  private callerWebRtc = false;
  /** The far end the caller's media is tied to now, and its last SDP. */
  private peer: { tag: string; sdp: string } | undefined;
  private deleted = false;
  /** ng exchanges of this call, one at a time: an offer must not interleave with another's answer. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ng: Ng,
    readonly callId: string,
    readonly callerTag: string,
    private readonly address: string,
  ) {}

  /** ng work on this call that must not interleave with an offer/answer exchange (monitor.ts). */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.serial(work);
  }

  /** The caller's last SDP (the offer it sent us), if any. */
  get callerOffer(): string | undefined {
    return this.callerSdp;
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    // Work queued behind the delete (an unbridge racing the hang-up) would re-create the call.
    const guarded = () =>
      this.deleted ? Promise.reject(new Error('unknown call: media deleted')) : work();
    const run = this.queue.then(guarded, guarded);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private base(fromTag: string, toTag?: string): Record<string, unknown> {
    return { 'call-id': this.callId, 'from-tag': fromTag, ...(toTag && { 'to-tag': toTag }) };
  }

  /** The caller's (initial or re-)offer: tie it to the current far end (the placeholder at first); returns our answer. */
  answerCaller(offer: string): Promise<string> {
    return this.serial(() => this.answerCallerNow(offer));
  }

  private async answerCallerNow(offer: string): Promise<string> {
    this.callerSdp = offer;
    this.callerWebRtc = isWebRtc(offer);
    const peerTag = this.peer?.tag ?? PLACEHOLDER_TAG;
    const toward = await this.ng.command('offer', {
      ...this.base(this.callerTag, peerTag),
      ...legParams(false, this.callerWebRtc),
      sdp: offer,
    });
    const peerSdp = this.peer?.sdp ?? placeholderAnswer(String(toward.sdp), this.address);
    const back = await this.ng.command('answer', {
      ...this.base(this.callerTag, peerTag),
      ...legParams(this.callerWebRtc, false),
      sdp: answerDirection(offer, peerSdp),
    });
    this.peer ??= { tag: PLACEHOLDER_TAG, sdp: peerSdp };
    return String(back.sdp);
  }

  /** The offer to send an agent: the caller's stream re-offered toward a new tag (the caller's port stays). */
  offerToward(tag: string): Promise<string> {
    return this.serial(() => this.offerTowardNow(tag));
  }

  private async offerTowardNow(tag: string): Promise<string> {
    if (!this.callerSdp) throw new Error('no caller media yet');
    const r = await this.ng.command('offer', {
      ...this.base(this.callerTag, tag),
      ...legParams(false, this.callerWebRtc),
      sdp: this.callerSdp,
    });
    return String(r.sdp);
  }

  /** The agent's answer: from now on the caller's media flows to and from this agent. */
  answerFrom(tag: string, sdp: string): Promise<void> {
    return this.serial(() => this.answerFromNow(tag, sdp));
  }

  private async answerFromNow(tag: string, sdp: string): Promise<void> {
    await this.ng.command('answer', {
      ...this.base(this.callerTag, tag),
      ...legParams(this.callerWebRtc, false),
      sdp,
    });
    this.peer = { tag, sdp };
  }

  /** An offer from the bridged agent (hold, resume, refresh): answered with the caller's last SDP, nothing sent to the caller. */
  answerAgentOffer(tag: string, offer: string): Promise<string> {
    return this.serial(() => this.answerAgentOfferNow(tag, offer));
  }

  private async answerAgentOfferNow(tag: string, offer: string): Promise<string> {
    if (!this.callerSdp) throw new Error('no caller media yet');
    await this.ng.command('offer', {
      ...this.base(tag, this.callerTag),
      ...legParams(this.callerWebRtc, false),
      sdp: offer,
    });
    const r = await this.ng.command('answer', {
      ...this.base(tag, this.callerTag),
      ...legParams(false, this.callerWebRtc),
      sdp: answerDirection(offer, this.callerSdp),
    });
    if (this.peer?.tag === tag) this.peer = { tag, sdp: offer };
    return String(r.sdp);
  }

  /** After the agent left: tie the caller to the placeholder again so prompts and music play. */
  backToPlaceholder(): Promise<void> {
    return this.serial(() => this.backToPlaceholderNow());
  }

  private async backToPlaceholderNow(): Promise<void> {
    if (!this.callerSdp || this.peer?.tag === PLACEHOLDER_TAG) return;
    this.peer = undefined;
    await this.answerCallerNow(this.callerSdp);
  }

  /** `play media` toward the caller; resolves with the length in ms of one pass. */
  play(file: string, repeat: number): Promise<number> {
    return this.serial(() => this.playNow(file, repeat));
  }

  private async playNow(file: string, repeat: number): Promise<number> {
    const r = await this.ng.command('playMedia', {
      ...this.base(this.callerTag),
      file,
      ...(repeat > 1 && { 'repeat-times': repeat }),
    });
    return Number(r.duration ?? 0);
  }

  stop(): Promise<void> {
    return this.serial(() => this.stopNow());
  }

  private async stopNow(): Promise<void> {
    try {
      await this.ng.command('stopMedia', this.base(this.callerTag));
    } catch (err) {
      // nothing playing is not a failure
      if (!/not.*play|no.*media|player/i.test((err as Error).message)) throw err;
    }
  }

  /** ng start/stop recording of the whole call (rtpengine's --recording-method=pcap). */
  record(on: boolean): Promise<void> {
    return this.serial(async () => {
      await this.ng.command(on ? 'startRecording' : 'stopRecording', this.base(this.callerTag));
    });
  }

  async delete(): Promise<void> {
    if (this.deleted) return;
    this.deleted = true;
    try {
      await this.ng.command('delete', { 'call-id': this.callId });
    } catch (err) {
      if (!/unknown call/i.test((err as Error).message)) throw err;
    }
  }
}

/**
 * rtpengine plays one file per command; a list of prompts ("there are",
 * "3", "calls waiting") is joined once with sox into a cached WAV so it plays
 * without gaps, cached by content (the same announcement is made again and
 * again). Asynchronous: a first join never blocks the calls being handled.
 */
export async function joinedPrompt(files: string[], cacheDir: string): Promise<string> {
  if (files.length === 1) return files[0]!;
  const key = createHash('sha1').update(files.join('\n')).digest('hex').slice(0, 20);
  const out = join(cacheDir, `prompt-${key}.wav`);
  if (existsSync(out)) return out;
  await mkdir(cacheDir, { recursive: true });
  const tmp = `${out}.${randomBytes(6).toString('hex')}.tmp.wav`;
  try {
    await execFileAsync('sox', [...files, '-r', '8000', '-c', '1', '-b', '16', tmp], {
      timeout: 10_000,
    });
  } catch (err) {
    throw new Error(`sox could not join prompts ${files.join(', ')}: ${(err as Error).message}`);
  }
  // rename is atomic: two calls joining the same list never see half a file
  await rename(tmp, out);
  return out;
}
