import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// A real SIP endpoint (baresip 1.0, Debian's baresip-core) registered over UDP:
// `ausine` plays a sine as its microphone, `sndfile` records what it sends and
// receives to WAV files, `ctrl_tcp` takes netstring-JSON commands and reports
// events (registration, incoming call, DTMF). Every wait is bounded.

export interface BaresipOptions {
  user: string;
  password: string;
  domain?: string;
  /** Kamailio's SIP address (host:port), where REGISTER and calls go (outbound proxy). */
  proxy: string;
  /** Local SIP port (UDP). */
  sipPort: number;
  /** ctrl_tcp port. */
  ctrlPort: number;
  /** RTP port range start (10 ports are used). */
  rtpPort: number;
  toneHz: number;
  /**
   * Play a carrier instead of a registered user: listen on this loopback
   * address (a trunk's inboundAddresses), never register, no credentials.
   */
  carrierAddress?: string;
  /** Audio codecs it offers (default G.711: PCMU, PCMA); 'opus' offers Opus only. */
  codecs?: 'g711' | 'opus';
  /** Calls at once (default 4); the RTP range grows to fit (benchmarks). */
  maxCalls?: number;
  /** Record both directions to WAV with sndfile (default true). */
  record?: boolean;
}

export interface BaresipEvent {
  type: string;
  class?: string;
  param?: string;
  peeruri?: string;
  [k: string]: unknown;
}

export class Baresip {
  readonly dir: string;
  readonly recordDir: string;
  private proc?: ChildProcess;
  private sock?: Socket;
  private buf = Buffer.alloc(0);
  private tokens = 0;
  private pending = new Map<string, (r: { ok: boolean; data: string }) => void>();
  readonly events: BaresipEvent[] = [];
  private waiters: { pred: (e: BaresipEvent) => boolean; resolve: (e: BaresipEvent) => void }[] =
    [];
  output = '';

  constructor(readonly opts: BaresipOptions) {
    this.dir = mkdtempSync(join(tmpdir(), `e2e-baresip-${opts.user}-`));
    this.recordDir = join(this.dir, 'rec');
    mkdirSync(this.recordDir, { recursive: true });
    const domain = opts.domain ?? 'localhost';
    writeFileSync(
      join(this.dir, 'config'),
      [
        'poll_method epoll',
        `sip_listen ${opts.carrierAddress ?? '127.0.0.1'}:${opts.sipPort}`,
        'call_local_timeout 120',
        `call_max_calls ${opts.maxCalls ?? 4}`,
        // ausine is the microphone; aufile as the "speaker" is not a player in 1.0,
        // so decoded audio goes nowhere audible: sndfile records it on the way.
        `audio_source ausine,${opts.toneHz}`,
        'audio_player aubridge,e2e',
        'audio_alert aubridge,e2e-alert',
        'audio_level no',
        'ausrc_srate 48000',
        'auplay_srate 8000',
        'ausrc_channels 2',
        'auplay_channels 1',
        'audio_buffer 20-160',
        // RTP + RTCP per call, picked at random in the range: room to spare, or a dial fails (EADDRINUSE)
        `rtp_ports ${opts.rtpPort}-${opts.rtpPort + (opts.maxCalls ? opts.maxCalls * 4 + 9 : 9)}`,
        'rtcp_mux no',
        'jitter_buffer_delay 1-10',
        'module_path /usr/lib/baresip/modules',
        'module g711.so',
        ...(opts.codecs === 'opus' ? ['module opus.so'] : []),
        'module ausine.so',
        'module aubridge.so',
        ...(opts.record === false ? [] : ['module sndfile.so']),
        'module_tmp account.so',
        'module_app menu.so',
        'module_app ctrl_tcp.so',
        `ctrl_tcp_listen 127.0.0.1:${opts.ctrlPort}`,
        `snd_path ${this.recordDir}`,
        'dns_server 127.0.0.1:53',
        '',
      ].join('\n'),
    );
    // PCMU first: the gateway's plain-SIP side is G.711; the account asks for answer mode manual.
    const codecs = opts.codecs === 'opus' ? 'opus/48000/2' : 'PCMU/8000/1,PCMA/8000/1';
    writeFileSync(
      join(this.dir, 'accounts'),
      opts.carrierAddress
        ? `<sip:${opts.user}@${opts.carrierAddress}>;outbound="sip:${opts.proxy};transport=udp";regint=0;audio_codecs=${codecs};answermode=manual\n`
        : `<sip:${opts.user}@${domain}>;auth_user=${opts.user};auth_pass=${opts.password};outbound="sip:${opts.proxy};transport=udp";regint=300;audio_codecs=${codecs};answermode=manual\n`,
    );
    writeFileSync(join(this.dir, 'contacts'), '');
  }

  async start(timeoutMs = 10_000): Promise<void> {
    this.proc = spawn(
      'baresip',
      ['-4', '-n', this.opts.carrierAddress ?? '127.0.0.1', '-f', this.dir],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
        cwd: this.dir,
      },
    );
    const onData = (d: Buffer) => {
      this.output += d.toString();
      if (this.output.length > 200_000) this.output = this.output.slice(-100_000);
    };
    this.proc.on('error', (err) =>
      onData(
        Buffer.from(`\nspawn baresip: ${String(err)} (is Debian's "baresip-core" installed?)\n`),
      ),
    );
    this.proc.stdout?.on('data', onData);
    this.proc.stderr?.on('data', onData);
    const end = Date.now() + timeoutMs;
    let lastErr: unknown;
    while (Date.now() < end) {
      if (this.proc.exitCode !== null || this.output.includes('spawn baresip:'))
        throw new Error(`baresip exited ${this.proc.exitCode}:\n${this.output.slice(-2000)}`);
      try {
        await this.connect();
        return;
      } catch (err) {
        lastErr = err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    throw new Error(
      `baresip ctrl_tcp not reachable on ${this.opts.ctrlPort}: ${String(lastErr)}\n${this.output.slice(-2000)}`,
    );
  }

  private connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = connect(this.opts.ctrlPort, '127.0.0.1');
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        s.on('error', () => undefined);
        this.sock = s;
        s.on('data', (d) => this.onData(d));
        resolve();
      });
    });
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const colon = this.buf.indexOf(0x3a);
      if (colon < 0) return;
      const len = Number(this.buf.subarray(0, colon).toString());
      if (!Number.isFinite(len) || this.buf.length < colon + 1 + len + 1) return;
      const json = this.buf.subarray(colon + 1, colon + 1 + len).toString();
      this.buf = this.buf.subarray(colon + 1 + len + 1);
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(json) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (msg.response) {
        const token = String(msg.token ?? '');
        this.pending.get(token)?.({ ok: Boolean(msg.ok), data: String(msg.data ?? '') });
        this.pending.delete(token);
      } else if (msg.event) {
        const ev = msg as BaresipEvent;
        this.events.push(ev);
        this.waiters = this.waiters.filter((w) => {
          if (w.pred(ev)) {
            w.resolve(ev);
            return false;
          }
          return true;
        });
      }
    }
  }

  /** Send one ctrl_tcp command; resolves with baresip's response. */
  command(command: string, params = '', timeoutMs = 5000): Promise<{ ok: boolean; data: string }> {
    const token = String(++this.tokens);
    const body = JSON.stringify({ command, params, token });
    const frame = `${Buffer.byteLength(body)}:${body},`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(token);
        reject(new Error(`baresip command ${command} ${params}: no response in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(token, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.sock?.write(frame);
    });
  }

  /** The first event (already seen or future) matching `pred`, within `timeoutMs`. */
  waitEvent(
    pred: (e: BaresipEvent) => boolean,
    what: string,
    timeoutMs = 10_000,
    since = 0,
  ): Promise<BaresipEvent> {
    const seen = this.events.slice(since).find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (e: BaresipEvent) => (clearTimeout(timer), resolve(e)) };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(
          new Error(
            `baresip ${this.opts.user}: no ${what} within ${timeoutMs} ms; events: ${this.events
              .slice(since)
              .map((e) => `${e.type}${e.param ? `(${e.param})` : ''}`)
              .join(', ')}\n${this.output.slice(-1500)}`,
          ),
        );
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Resolves when baresip's console output matches `re` (bounded). */
  async waitOutput(re: RegExp, what: string, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const m = this.output.match(re);
      if (m) return m;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(
      `baresip ${this.opts.user}: no ${what} within ${timeoutMs} ms\n${this.output.slice(-1500)}`,
    );
  }

  /** The REGISTER may finish before ctrl_tcp is connected: the console line counts too. */
  async waitRegistered(timeoutMs = 10_000): Promise<void> {
    const re = new RegExp(`${this.opts.user}@[^:]+: \\{[^}]*\\} 200 OK`);
    await Promise.any([
      this.waitEvent((e) => e.type === 'REGISTER_OK', 'REGISTER_OK', timeoutMs),
      this.waitOutput(re, 'REGISTER 200 OK', timeoutMs),
    ]).catch(() => {
      throw new Error(
        `baresip ${this.opts.user} did not register within ${timeoutMs} ms\n${this.output.slice(-1500)}`,
      );
    });
  }

  /** WAV files sndfile wrote (…-enc.wav: what baresip sent, …-dec.wav: what it received). */
  recordings(): { file: string; size: number }[] {
    return readdirSync(this.recordDir)
      .filter((f) => f.endsWith('.wav'))
      .map((f) => ({
        file: join(this.recordDir, f),
        size: statSync(join(this.recordDir, f)).size,
      }));
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    try {
      await this.command('quit', '', 1000);
    } catch {
      // fall through to the signal
    }
    this.sock?.destroy();
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        p.kill('SIGKILL');
        resolve();
      }, 2000);
      p.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      p.kill('SIGTERM');
    });
  }
}
