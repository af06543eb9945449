import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { GatewayConfig } from '../config/schema.js';
import type { ProcessSpec, RuntimeDirs } from '../supervisor/types.js';
import { optionsProbe } from '../kamailio/render.js';

// The two built-in destinations a newcomer can dial at once, each a
// long-running sipp UAS (scenarios in infra/sipp/):
//   echo (services.echoExtension): answers and sends every RTP packet back (-rtp_echo)
//   tone (services.toneExtension): answers and streams a 440 Hz tone (rtp_stream)
// Both speak G.711 u-law; rtpengine transcodes for callers that cannot.
//
// Ports, from services.mediaPortBase (B, default 5100):
//   echo: B (RTP) and B+2 (sipp's second echo socket), control socket B+6
//   tone: from B+10 upward (sipp's rtp_stream sockets), control socket B+7
// Every port is passed explicitly (-mp, -cp): sipp's own defaults (media 6000 and
// 6002, control 8888) belong to whoever runs sipp on the same machine.

/** The tone file sipp streams; tone-uas.xml names it relative to its working directory (dirs.run). */
export const TONE_FILE = 'tone-uas.ulaw';
export const TONE_HZ = 440;
const TONE_SECONDS = 30;

/** The tone file of the tone service, made once in `dir`. */
export function ensureToneFile(dir: string, hz = TONE_HZ, seconds = TONE_SECONDS): string {
  return ensureUlawTone(join(dir, TONE_FILE), hz, seconds);
}

/** Raw 8 kHz mono u-law sine, as sipp's rtp_stream wants (not WAV). Made with sox unless already there. */
export function ensureUlawTone(file: string, hz: number, seconds: number): string {
  const bytes = 8000 * seconds;
  if (!existsSync(file) || statSync(file).size !== bytes) {
    try {
      execFileSync(
        'sox',
        [
          '-n',
          '-r',
          '8000',
          '-c',
          '1',
          '-t',
          'ul',
          file,
          'synth',
          String(seconds),
          'sine',
          String(hz),
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
    } catch (err) {
      throw new Error(
        `"sox" could not make ${file} (install Debian package "sox"): ${(err as Error).message}`,
      );
    }
  }
  return file;
}

function sippSpec(
  name: 'echo' | 'tone',
  cfg: GatewayConfig,
  dirs: RuntimeDirs,
  port: number,
  extra: string[],
  mediaPorts: number[],
): ProcessSpec {
  const host = cfg.listenAddress;
  return {
    name,
    command: 'sipp',
    debianPackage: 'sip-tester',
    args: [
      '-sf',
      join(dirs.root, 'infra', 'sipp', `${name}-uas.xml`),
      '-i',
      host,
      '-p',
      String(port),
      '-mi',
      host,
      ...extra,
      // unexpected INFO/NOTIFY/OPTIONS/UPDATE in a call get a 200, not an aborted call
      '-aa',
      '-nostdin',
      // no statistics screen on stdout: it would fill the component log
      '-trace_err',
      '-error_file',
      join(dirs.log, `${name}-sipp-errors.log`),
    ],
    ports: [
      { proto: 'udp', host, port },
      ...mediaPorts.map((p) => ({ proto: 'udp' as const, host, port: p })),
    ],
    readiness: { kind: 'udp', host, port, payload: optionsProbe(host, port, name) },
  };
}

export function renderServices(cfg: GatewayConfig, dirs: RuntimeDirs): ProcessSpec[] {
  const base = cfg.services.mediaPortBase;
  ensureToneFile(dirs.run);
  return [
    sippSpec(
      'echo',
      cfg,
      dirs,
      cfg.services.echoPort,
      ['-mp', String(base), '-rtp_echo', '-cp', String(base + 6)],
      [base, base + 2],
    ),
    sippSpec(
      'tone',
      cfg,
      dirs,
      cfg.services.tonePort,
      ['-mp', String(base + 10), '-cp', String(base + 7)],
      [base + 10],
    ),
  ];
}
