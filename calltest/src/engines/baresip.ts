import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { ConfigError } from '../scenario/load.js';

// The `baresip` engine: a real SIP endpoint (Debian's baresip-core 1.0) driven
// through its ctrl_tcp module (netstring JSON commands and events). It
// registers with the target (as outbound proxy), plays a sine (ausine) as its
// microphone, answers or dials, and handles a REFER by calling the transfer
// target itself (baresip's menu module), which is what makes a real blind
// transfer testable through a proxy. Every wait is bounded.

export interface BaresipLegOptions {
  dir: string;
  user: string;
  password: string;
  domain: string;
  /** The target, host:port. */
  proxy: string;
  transport: 'udp' | 'tcp' | 'tls';
  /** TLS: CA certificate (PEM) the far end's certificate must chain to. */
  caFile?: string;
  /** REGISTER with the target (otherwise it only places or answers calls). */
  register: boolean;
  localIp: string;
  sipPort: number;
  ctrlPort: number;
  /** First of 8 RTP ports. */
  rtpPort: number;
  toneHz: number;
}

export interface BaresipEvent {
  type: string;
  class?: string;
  param?: string;
  peeruri?: string;
  id?: string;
  /** ms since the epoch, stamped on arrival. */
  t: number;
  [k: string]: unknown;
}

export class BaresipLeg {
  private proc?: ChildProcess;
  private sock?: Socket;
  private buf = Buffer.alloc(0);
  private tokens = 0;
  private pending = new Map<string, (r: { ok: boolean; data: string }) => void>();
  readonly events: BaresipEvent[] = [];
  private waiters: { pred: (e: BaresipEvent) => boolean; resolve: (e: BaresipEvent) => void }[] =
    [];
  output = '';

  constructor(readonly o: BaresipLegOptions) {
    mkdirSync(o.dir, { recursive: true });
    writeFileSync(
      join(o.dir, 'config'),
      [
        'poll_method epoll',
        `sip_listen ${o.localIp}:${o.sipPort}`,
        'call_local_timeout 120',
        'call_max_calls 4',
        `audio_source ausine,${o.toneHz}`,
        'audio_player aubridge,calltest',
        'audio_alert aubridge,calltest-alert',
        'audio_level no',
        'ausrc_srate 48000',
        'auplay_srate 8000',
        'ausrc_channels 2',
        'auplay_channels 1',
        `rtp_ports ${o.rtpPort}-${o.rtpPort + 7}`,
        'rtcp_mux no',
        'jitter_buffer_delay 1-10',
        'module_path /usr/lib/baresip/modules',
        'module g711.so',
        'module ausine.so',
        'module aubridge.so',
        'module_tmp account.so',
        'module_app menu.so',
        'module_app ctrl_tcp.so',
        `ctrl_tcp_listen 127.0.0.1:${o.ctrlPort}`,
        'dns_server 127.0.0.1:53',
        // TLS (compiled into Debian's baresip 1.0): a client transport on sip_listen's port + 1
        ...(o.caFile ? [`sip_cafile ${o.caFile}`] : []),
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(o.dir, 'accounts'),
      `<sip:${o.user}@${o.domain}>${o.password ? `;auth_user=${o.user};auth_pass=${o.password}` : ''};outbound="sip:${o.proxy};transport=${o.transport}";regint=${o.register ? 300 : 0};audio_codecs=PCMU/8000/1,PCMA/8000/1;answermode=manual\n`,
    );
    writeFileSync(join(o.dir, 'contacts'), '');
  }

  async start(timeoutMs = 10_000): Promise<void> {
    const p = spawn('baresip', ['-4', '-n', this.o.localIp, '-f', this.o.dir], {
      stdio: ['pipe', 'pipe', 'pipe'],
      cwd: this.o.dir,
    });
    this.proc = p;
    const onData = (d: Buffer) => {
      this.output += d.toString();
      if (this.output.length > 200_000) this.output = this.output.slice(-100_000);
    };
    let spawnError: Error | undefined;
    p.on('error', (err) => (spawnError = err));
    p.stdout?.on('data', onData);
    p.stderr?.on('data', onData);
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (spawnError)
        throw new ConfigError(
          `cannot run baresip (${spawnError.message}): install Debian package "baresip-core"`,
        );
      if (p.exitCode !== null)
        throw new ConfigError(`baresip exited ${p.exitCode}: ${this.output.slice(-800)}`);
      try {
        await this.connect();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 150));
      }
    }
    throw new ConfigError(`baresip ctrl_tcp not reachable on ${this.o.ctrlPort}`);
  }

  private connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = connect(this.o.ctrlPort, '127.0.0.1');
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
        const ev = { ...msg, t: Date.now() } as BaresipEvent;
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

  command(command: string, params = '', timeoutMs = 5000): Promise<{ ok: boolean; data: string }> {
    const token = String(++this.tokens);
    const body = JSON.stringify({ command, params, token });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(token);
        reject(new Error(`baresip ${command}: no response in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(token, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.sock?.write(`${Buffer.byteLength(body)}:${body},`);
    });
  }

  /** The first event (seen or future) matching `pred`, or undefined after `timeoutMs`. */
  waitEvent(
    pred: (e: BaresipEvent) => boolean,
    timeoutMs: number,
  ): Promise<BaresipEvent | undefined> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => {
      const w = {
        pred,
        resolve: (e: BaresipEvent) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        resolve(undefined);
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** REGISTER answered 200 (event, or the console line when it came before ctrl_tcp connected). */
  async registered(timeoutMs = 10_000): Promise<boolean> {
    const re = new RegExp(`${this.o.user}@[^:]+: \\{[^}]*\\} 200 OK`);
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (this.events.some((e) => e.type === 'REGISTER_OK') || re.test(this.output)) return true;
      if (this.events.some((e) => e.type === 'REGISTER_FAIL')) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    await this.command('quit', '', 1000).catch(() => undefined);
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
