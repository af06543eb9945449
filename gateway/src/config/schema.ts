import { z } from 'zod';
import { contactCenterSchema, checkContactCenter } from './contactCenter.js';
import { checkCluster, clusterSchema } from './cluster.js';

// The gateway's one typed configuration. Every port, path and policy of the
// stack (Kamailio, rtpengine, coturn, the built-in test destinations) derives
// from it; nothing else in the tree hard-codes a port.

const port = z.number().int().min(1).max(65535);
const host = z.string().min(1);
const ipAddress = z.union([z.ipv4(), z.ipv6()]);

const trunkSchema = z.strictObject({
  /** Name used in logs, records and routing results. */
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lowercase letters, digits and dashes'),
  /** Where to send calls (the carrier's SIP proxy). */
  host,
  port: port.default(5060),
  transport: z.enum(['udp', 'tcp']).default('udp'),
  /** Requests from these addresses are taken as coming from this trunk (IP auth). */
  inboundAddresses: z.array(ipAddress).default([]),
  /** Digest credentials the carrier challenges for; absent when the carrier trusts our IP. */
  auth: z
    .strictObject({
      username: z.string().min(1),
      /** Clear password: give it through the environment (GATEWAY_TRUNKS__0__AUTH__PASSWORD), not the file. */
      password: z.string().min(1),
      realm: z.string().min(1).optional(),
    })
    .optional(),
  /** Send a REGISTER to the carrier so it can reach us (RFC 3261 §10). */
  register: z.boolean().default(false),
  registerExpires: z.number().int().min(60).max(86400).default(600),
  /**
   * Seconds before a failed REGISTER (refused, or no answer) is tried again. Kamailio's
   * uac has one interval for all trunks: the smallest of the registering trunks' applies.
   */
  registerRetrySeconds: z
    .number({ error: 'registerRetrySeconds must be a number of seconds' })
    .int('registerRetrySeconds must be whole seconds')
    .min(5, 'registerRetrySeconds must be at least 5 (a REGISTER waits 4 s for its answer)')
    .max(3600, 'registerRetrySeconds must be at most 3600')
    .default(30),
  /** Dialled numbers (E.164, with +) whose prefix matches go to this trunk; '' matches all. */
  prefixes: z.array(z.string().regex(/^\+?\d*$/)).default(['']),
  /** How the carrier wants numbers in the Request-URI user part. */
  numberFormat: z.enum(['e164', 'e164-no-plus']).default('e164'),
  /** Codecs the carrier takes, in order of preference (rtpengine transcodes to them). */
  codecs: z.array(z.enum(['PCMU', 'PCMA', 'G722', 'opus'])).default(['PCMU', 'PCMA']),
});

const userSchema = z.strictObject({
  username: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, underscore, dash'),
  displayName: z.string().default(''),
  /** Clear password; stored only as HA1 (RFC 2617/7616 MD5 of user:realm:password). */
  password: z.string().min(8, 'at least 8 characters'),
  /** Caller ID presented on trunk calls (E.164). */
  callerId: z
    .string()
    .regex(/^\+\d{6,15}$/, 'E.164 with a leading +')
    .optional(),
});

const didSchema = z.strictObject({
  /** The DID in E.164 (with +). */
  number: z.string().regex(/^\+\d{6,15}$/, 'E.164 with a leading +'),
  /** Local user the DID rings. */
  username: z.string().min(1),
});

export const configSchema = z
  .strictObject({
    /** SIP domain and digest realm of this gateway. */
    domain: z.string().min(1).default('localhost'),
    /** Address every component binds to. Loopback by default: nothing is exposed until you say so. */
    listenAddress: ipAddress.default('127.0.0.1'),
    /** Address put in SDP and Record-Route when the gateway is behind NAT; defaults to listenAddress. */
    advertisedAddress: z.string().min(1).optional(),
    /** Folder for rendered configs, logs, the store, certificates. Relative to the repo root. */
    dataDir: z.string().default('var'),

    http: z
      .strictObject({
        /** HTTPS: the softphone, /ws (SIP over secure WebSocket), /api, /healthz, /metrics. */
        port: port.default(8443),
        /** PEM certificate and key; created self-signed in dataDir/tls when absent. */
        certFile: z.string().optional(),
        keyFile: z.string().optional(),
        /** Origins allowed to open the SIP WebSocket (RFC 6455 §10.2). The gateway's own origin is always allowed. */
        allowedOrigins: z.array(z.url()).default([]),
        /** Folder of the built softphone. */
        softphoneDir: z.string().default('softphone/dist'),
      })
      .prefault({}),

    sip: z
      .strictObject({
        /** UDP and TCP for SIP phones, PBXs and trunks. */
        port: port.default(5060),
        /** Plain WebSocket inside the host; browsers reach it only through the HTTPS terminator. */
        wsPort: port.default(5066),
        /** Kamailio SIP worker processes per listener. */
        children: z.number().int().min(1).max(64).default(4),
        /** Workers that wait on the decision service, so SIP workers never block on it. */
        asyncWorkers: z.number().int().min(1).max(64).default(8),
        sharedMemoryMb: z.number().int().min(64).default(256),
        privateMemoryMb: z.number().int().min(4).default(16),
        /** Registration lifetime bounds (RFC 3261 §10.2.1.1). */
        minExpires: z.number().int().min(30).default(60),
        maxExpires: z.number().int().min(60).default(3600),
        /** Domains a browser may call directly by SIP URI; ['*'] allows any. */
        allowedUriDomains: z.array(z.string()).default(['*']),
      })
      .prefault({}),

    decision: z
      .strictObject({
        /** Loopback HTTP port where Kamailio asks the service for auth and routing. */
        port: port.default(5081),
        /** Loopback TCP port of Kamailio's evapi, where the service receives call-record events. */
        eventsPort: port.default(5082),
        /**
         * After this, Kamailio stops waiting and answers 503 with Retry-After.
         * Whole seconds: Kamailio 5.6's http_client has no finer timeout.
         */
        timeoutMs: z
          .number()
          .int()
          .min(1000)
          .max(10_000)
          .multipleOf(1000, 'whole seconds only (Kamailio 5.6 http_client), e.g. 1000 or 2000')
          .default(1000),
        /** Override the URL Kamailio asks (tests point it at a dead or slow server). */
        url: z.url().optional(),
        /**
         * How long Kamailio keeps a user's HA1 and a user's routing answer (htable)
         * instead of asking again; directory changes clear them at once (CLI →
         * Kamailio RPC), so this only bounds staleness if that clearing is missed.
         * 0 = ask on every request.
         */
        cacheSeconds: z.number().int().min(0).max(3600).default(300),
      })
      .prefault({}),

    rtpengine: z
      .strictObject({
        /** ng control protocol port, loopback only. */
        ngPort: port.default(2223),
        portMin: port.default(30000),
        portMax: port.default(30999),
        /** Seconds rtpengine keeps an ended call's ports; 0 frees them at once (see ENVIRONMENT.md). */
        deleteDelay: z.number().int().min(0).default(0),
        /** Seconds without RTP before rtpengine drops a call. */
        timeout: z.number().int().min(10).default(60),
        /**
         * Hung rtpengine (a live process that no longer answers): an ng ping every
         * `everyMs`; `misses` unanswered in a row (each waited `timeoutMs`) and the
         * supervisor kills and restarts it. A busy rtpengine still answers pings.
         */
        hangCheck: z
          .strictObject({
            everyMs: z.number().int().min(200).default(5000),
            timeoutMs: z.number().int().min(100).default(1000),
            misses: z.number().int().min(2).default(4),
          })
          .prefault({}),
      })
      .prefault({}),

    turn: z
      .strictObject({
        enabled: z.boolean().default(true),
        port: port.default(3478),
        /** Shared secret of the TURN REST API (ephemeral credentials); generated into dataDir when absent. */
        secret: z.string().min(16).optional(),
        relayPortMin: port.default(49152),
        relayPortMax: port.default(49252),
      })
      .prefault({}),

    /** Built-in destinations a newcomer can dial at once. */
    services: z
      .strictObject({
        echoExtension: z.string().default('9196'),
        toneExtension: z.string().default('9198'),
        /** sipp UAS ports behind those extensions. */
        echoPort: port.default(5090),
        tonePort: port.default(5092),
        /**
         * First of the services' own UDP ports (B): echo RTP B and B+2, sipp control
         * sockets B+6 (echo) and B+7 (tone), tone RTP from B+10. Not 6000: sipp's
         * defaults (media 6000/6002, control 8888) stay free for a user's own sipp.
         */
        mediaPortBase: port.default(5100),
      })
      .prefault({}),

    /** Country context for turning dialled national numbers into E.164. */
    numbering: z
      .strictObject({
        countryCode: z
          .string()
          .regex(/^\d{1,3}$/)
          .default('1'),
        /** Trunk prefix dialled before national numbers (0 in most of the world, 1 in NANP). */
        nationalPrefix: z.string().regex(/^\d*$/).default('1'),
        /** Prefix for international calls (00 in most of the world, 011 in NANP). */
        internationalPrefix: z.string().regex(/^\d*$/).default('011'),
        /** Length of a national significant number, used to tell it from an extension. */
        nationalNumberLength: z.number().int().min(4).max(14).default(10),
      })
      .prefault({}),

    protection: z
      .strictObject({
        /** Requests per 2 s from one address before pike blocks it. */
        pikeReqsDensity: z.number().int().min(5).default(200),
        /** Failed digest attempts per address within the window before requests are refused. */
        failedAuthLimit: z.number().int().min(1).default(10),
        failedAuthWindowSec: z.number().int().min(10).default(300),
      })
      .prefault({}),

    demo: z
      .strictObject({
        /** Seed demo users 1001-1004 and a demo DID. Their passwords are public: loopback only. */
        enabled: z.boolean().default(true),
      })
      .prefault({}),

    /** IVR menus, queues and agents, answered by the call-control tier (./contactCenter.ts). */
    contactCenter: contactCenterSchema,

    /** Several nodes on one PostgreSQL (./cluster.ts); absent: one machine on SQLite. */
    cluster: clusterSchema.optional(),

    users: z.array(userSchema).default([]),
    trunks: z.array(trunkSchema).default([]),
    dids: z.array(didSchema).default([]),

    log: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
        /** Kamailio debug level (-1..3); 2 shows every request route decision. */
        kamailioDebug: z.number().int().min(-1).max(3).default(1),
      })
      .prefault({}),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.rtpengine.portMin >= cfg.rtpengine.portMax) {
      ctx.addIssue({
        code: 'custom',
        path: ['rtpengine', 'portMax'],
        message: `must be above rtpengine.portMin (${cfg.rtpengine.portMin})`,
      });
    }
    if (cfg.sip.minExpires > cfg.sip.maxExpires) {
      ctx.addIssue({
        code: 'custom',
        path: ['sip', 'maxExpires'],
        message: `must be at least sip.minExpires (${cfg.sip.minExpires})`,
      });
    }
    const loopback = /^127\.|^::1$/.test(cfg.listenAddress);
    if (cfg.demo.enabled && !loopback) {
      ctx.addIssue({
        code: 'custom',
        path: ['demo', 'enabled'],
        message:
          'demo accounts have public passwords; set demo.enabled=false when listening on a non-loopback address',
      });
    }
    // TCP listeners on the same machine: two of them on one port cannot both start.
    const tcpPorts: [string[], number][] = [
      [['http', 'port'], cfg.http.port],
      [['sip', 'port'], cfg.sip.port],
      [['sip', 'wsPort'], cfg.sip.wsPort],
      [['decision', 'port'], cfg.decision.port],
      [['decision', 'eventsPort'], cfg.decision.eventsPort],
      [['contactCenter', 'port'], cfg.contactCenter.port],
    ];
    tcpPorts.forEach(([path, p], i) => {
      const first = tcpPorts.findIndex(([, q]) => q === p);
      if (first < i) {
        ctx.addIssue({
          code: 'custom',
          path,
          message: `port ${p} is already ${tcpPorts[first]![0].join('.')}; choose another`,
        });
      }
    });
    const knownUsers = new Set(cfg.users.map((u) => u.username));
    if (cfg.demo.enabled) ['1001', '1002', '1003', '1004'].forEach((u) => knownUsers.add(u));
    checkContactCenter(cfg.contactCenter, knownUsers, (path, message) =>
      ctx.addIssue({ code: 'custom', path, message }),
    );
    checkCluster(cfg.cluster, new Set(cfg.trunks.map((t) => t.name)), (path, message) =>
      ctx.addIssue({ code: 'custom', path, message }),
    );
    const names = new Set<string>();
    cfg.trunks.forEach((t, i) => {
      if (names.has(t.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['trunks', i, 'name'],
          message: `duplicate trunk name "${t.name}"`,
        });
      }
      names.add(t.name);
      if (t.register && !t.auth) {
        ctx.addIssue({
          code: 'custom',
          path: ['trunks', i, 'auth'],
          message: 'a trunk that registers needs auth.username and auth.password',
        });
      }
    });
  });

export type GatewayConfig = z.infer<typeof configSchema>;
export type TrunkConfig = z.infer<typeof trunkSchema>;
export type UserConfig = z.infer<typeof userSchema>;
export type DidConfig = z.infer<typeof didSchema>;
