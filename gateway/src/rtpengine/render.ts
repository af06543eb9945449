import { recordingSpoolDir } from '../config/contactCenter.js';
import type { GatewayConfig } from '../config/schema.js';
import type { ProcessSpec, RuntimeDirs } from '../supervisor/types.js';

// rtpengine (userspace only here: no kernel forwarding table) anchors every
// call's media and bridges WebRTC (ICE, DTLS-SRTP, rtcp-mux) to plain RTP.
// Kamailio drives it over the ng protocol on loopback; the per-call flags live
// in infra/kamailio/kamailio.cfg, route[RTPENGINE].

/** Map the service's log level onto rtpengine's syslog-style levels. */
const LOG_LEVELS: Record<GatewayConfig['log']['level'], number> = {
  fatal: 2,
  error: 3,
  warn: 4,
  info: 5,
  debug: 6,
  trace: 7,
};

/** An ng `ping`: `<cookie> d7:command4:pinge` (bencode), answered with `<cookie> d6:result4:ponge`. */
export function ngPing(cookie = 'ready'): Buffer {
  return Buffer.from(`${cookie} d7:command4:pinge`);
}

export function rtpengineArgs(cfg: GatewayConfig, dataDir?: string): string[] {
  // Queue call recording (contactcenter/recording.ts): pcap, the one method that works userspace-only.
  const spool = dataDir ? recordingSpoolDir(cfg.contactCenter, dataDir) : undefined;
  const listen = cfg.listenAddress;
  const ng = listen.includes(':')
    ? `[${listen}]:${cfg.rtpengine.ngPort}`
    : `${listen}:${cfg.rtpengine.ngPort}`;
  // NAT: media bound on listenAddress, advertised in SDP as advertisedAddress.
  const advertised =
    cfg.advertisedAddress && cfg.advertisedAddress !== listen ? `!${cfg.advertisedAddress}` : '';
  return [
    // never read /etc/rtpengine/rtpengine.conf: everything comes from the gateway config
    '--config-file=none',
    '--foreground',
    '--table=-1',
    `--interface=${listen}${advertised}`,
    `--listen-ng=${ng}`,
    `--port-min=${cfg.rtpengine.portMin}`,
    `--port-max=${cfg.rtpengine.portMax}`,
    `--delete-delay=${cfg.rtpengine.deleteDelay}`,
    `--timeout=${cfg.rtpengine.timeout}`,
    `--silent-timeout=${cfg.rtpengine.timeout * 2}`,
    // a call Kamailio offered but never answered (lost 200 OK) does not hold ports forever
    '--offer-timeout=120',
    '--log-stderr',
    `--log-level=${LOG_LEVELS[cfg.log.level]}`,
    '--num-threads=2',
    // DTMF the callers of IVRs and queues press (RFC 4733), one JSON datagram per digit to the call-control tier
    ...(cfg.contactCenter.enabled
      ? [
          `--dtmf-log-dest=${listen.includes(':') ? `[${listen}]` : listen}:${cfg.contactCenter.port}`,
        ]
      : []),
    ...(spool ? [`--recording-dir=${spool}`, '--recording-method=pcap'] : []),
  ];
}

export function renderRtpengine(cfg: GatewayConfig, dirs: RuntimeDirs): ProcessSpec {
  const host = cfg.listenAddress;
  return {
    name: 'rtpengine',
    command: 'rtpengine',
    debianPackage: 'rtpengine',
    args: rtpengineArgs(cfg, dirs.data),
    ports: [
      { proto: 'udp', host, port: cfg.rtpengine.ngPort },
      // the first and last media ports stand for the range
      { proto: 'udp', host, port: cfg.rtpengine.portMin },
      { proto: 'udp', host, port: cfg.rtpengine.portMax },
    ],
    readiness: { kind: 'udp', host, port: cfg.rtpengine.ngPort, payload: ngPing() },
    liveness: {
      probe: { kind: 'udp', host, port: cfg.rtpengine.ngPort, payload: ngPing('alive') },
      ...cfg.rtpengine.hangCheck,
    },
  };
}
