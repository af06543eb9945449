import { z } from 'zod';

// The scenario file format. A scenario is a set of legs (each driven by an
// engine) and expectations on what the legs saw. Strict objects everywhere: a
// misspelt key is an error naming its line, never silently ignored.

const code = z.number().int().min(100).max(699);
const codes = z.union([code, z.array(code).min(1)]).transform((c) => (Array.isArray(c) ? c : [c]));
const ms = z.number().int().min(0);

export const codecName = z.enum(['PCMU', 'PCMA', 'G729', 'OPUS']);

const media = z
  .strictObject({
    /** Stream a sine tone of this frequency (Hz) after the call is answered. */
    tone_hz: z.number().int().min(100).max(3900).optional(),
    /** Send back every RTP packet received (sipp -rtp_echo). */
    echo: z.boolean().optional(),
    /** RFC 4733 digits to send after the answer (sipp pcap play of telephone-event packets). */
    dtmf: z
      .string()
      .regex(/^[0-9*#]+$/)
      .optional(),
    /** SIP INFO digits to send after the answer (application/dtmf-relay). */
    info_dtmf: z
      .string()
      .regex(/^[0-9*#]+$/)
      .optional(),
  })
  .prefault({});

const leg = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9_-]*$/, 'lowercase letters, digits, - and _'),
  engine: z.enum(['sipp', 'baresip', 'browser']).default('sipp'),
  /** uac: places the request; uas: answers calls (after registering when `register` is set). */
  role: z.enum(['uac', 'uas']),
  /** What a uac sends: a call (INVITE), a REGISTER, or an OPTIONS ping. */
  action: z.enum(['call', 'register', 'options']).default('call'),
  /**
   * Row of the credentials CSV (0-based) this leg authenticates with; a list of
   * rows (sipp calling legs): each call takes the next row in turn (sipp -inf
   * SEQUENTIAL), so a load run calls from many accounts.
   */
  creds: z.union([z.number().int().min(0), z.array(z.number().int().min(0)).min(1)]).optional(),
  /** Use this password instead of the CSV's (e.g. a wrong one on purpose). */
  password: z.string().optional(),
  /** uas acting as a carrier/trunk: challenge every INVITE with 401 and check the digest against this leg's creds (403 when wrong). */
  challenge: z.literal(401).optional(),
  /** Local address of this leg (e.g. a carrier on its own loopback address); `${var}` expands. Default --local-ip. */
  local_ip: z.string().optional(),
  /** uas: REGISTER its own address with the target before the calls, unregister after (baresip legs register only when this is set). */
  register: z.boolean().default(false),
  /** SIP transport of this leg (default --transport). `tls`: baresip legs only (sipp 3.6.1 has no TLS; browser legs speak WSS). */
  transport: z.enum(['udp', 'tcp', 'tls']).optional(),
  /** transport tls: the CA certificate (PEM) the far end's certificate must chain to; `${var}` expands. */
  tls_ca: z.string().optional(),
  /** uac call: the Request-URI user part (a number or user). `${var}` expands. */
  to: z.string().optional(),
  codecs: z.array(codecName).min(1).default(['PCMU']),
  /** uas: how it answers. */
  answer: z
    .strictObject({
      code: code.default(200),
      /** 180 Ringing this long before the final answer (ms). */
      ring_ms: ms.default(0),
      /** uas: never answer (rings until the caller or the network gives up). */
      never: z.boolean().default(false),
      /** uas, sipp: how many calls it takes before it ends (sipp -m; a transfer target gets the consultation and then the transferee's call). baresip and browser legs answer every call. */
      calls: z.number().int().min(1).max(100).default(1),
    })
    .prefault({}),
  /** uac call: hang up (BYE) this long after the answer (ms). */
  hold_ms: ms.default(3000),
  /** uac call: send CANCEL this long after the INVITE (ms) instead of waiting for an answer. */
  cancel_after_ms: ms.optional(),
  /** uac call: blind transfer (RFC 3515) of the far end to this user/number at this time after the answer: REFER, 202, NOTIFYs until the sipfrag says 200. */
  refer: z.strictObject({ to: z.string(), at_ms: ms.default(1000) }).optional(),
  /**
   * uac call, engine browser: attended transfer (RFC 5589 §7, REFER with Replaces, RFC 3891).
   * `at_ms` after the first call is answered the leg puts it on hold and calls `consult`;
   * `refer_after_ms` after that consultation call is answered it REFERs the first
   * call's far end to the consultation target with Refer-To <target>?Replaces=<the
   * consultation dialog>. The leg's calls then end by the transfer (hold_ms is not used).
   */
  attended_transfer: z
    .strictObject({
      consult: z.string(),
      at_ms: ms.default(2000),
      refer_after_ms: ms.default(2000),
    })
    .optional(),
  /** uac call: put the call on hold (re-INVITE sendonly) at this time after the answer, resume after hold.duration_ms. */
  hold: z.strictObject({ at_ms: ms, duration_ms: ms }).optional(),
  media,
  /** Escape hatch: a sipp XML file (relative to the scenario file) used instead of the generated one. */
  xml: z.string().optional(),
});

export type Leg = z.infer<typeof leg>;

const audio = z.strictObject({
  /** Both directions of the leg carry RTP with sound. */
  both_ways: z.boolean().default(false),
  /** Dominant frequency the leg must receive (Hz). */
  tone_hz: z.number().int().min(100).max(3900).optional(),
  tolerance_hz: z.number().int().min(1).default(30),
  /** Longest stretch of silence or missing packets allowed in what the leg receives (ms). */
  max_silence_ms: ms.optional(),
  /** Hold/resume: a silence of at least this long (ms) in what the leg receives, with audio after it. */
  gap_min_ms: ms.optional(),
  /** The leg must receive no RTP at all (e.g. during a refused call). */
  none: z.boolean().default(false),
});

const expectation = z.strictObject({
  /** Final response code(s) the leg must get (uac) — any of them. */
  final: codes.optional(),
  /** Headers of the final response, each matched by a regular expression. */
  headers: z.record(z.string(), z.string()).optional(),
  /** Post-dial delay (request sent → first 180/183 or final), maximum (ms). */
  pdd_max_ms: ms.optional(),
  /** Answer → BYE, bounds (ms). */
  duration_ms: z.strictObject({ min: ms.optional(), max: ms.optional() }).optional(),
  audio: audio.optional(),
  /** Minimum E-model MOS of every stream the leg receives. */
  mos_min: z.number().min(1).max(4.5).optional(),
  /** DTMF digits the leg must receive (RFC 4733 events on the wire, or SIP INFO). */
  dtmf: z.string().optional(),
  /**
   * Transfer completed: a NOTIFY whose sipfrag is "SIP/2.0 200" reached this leg.
   * For a leg with attended_transfer also: the target ended the consultation call
   * itself (its BYE after it accepted the INVITE with Replaces), not this leg.
   */
  transfer: z.boolean().optional(),
  /**
   * Which of the leg's calls the per-call checks judge. A transfer leaves the
   * transferee and the target with a second call: `last` judges that one.
   */
  call: z.enum(['first', 'last']).optional(),
  /** The leg saw exactly this many calls, and every one was answered and has ended. */
  calls: z.number().int().min(1).optional(),
  /** Who must send the BYE: this leg ("self") or the other side ("remote"). */
  hangup_by: z.enum(['self', 'remote']).optional(),
});

export type Expectation = z.infer<typeof expectation>;

export const scenarioSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
    description: z.string().default(''),
    /** Defaults for `${name}` in strings; `--var name=value` overrides. */
    vars: z.record(z.string(), z.union([z.string(), z.number()])).default({}),
    legs: z.array(leg).min(1),
    /** Per leg id. */
    expect: z.record(z.string(), expectation).default({}),
    /**
     * Makes it a load scenario: `calltest run` places its calling leg at these rates
     * (the same as `calltest load --cps ... --step ... --duration ... --max-calls ... --assert ...`,
     * whose flags override these).
     */
    load: z
      .strictObject({
        cps: z.string().regex(/^\d+(\.\d+)?(:\d+(\.\d+)?)?$/, 'START[:MAX], e.g. 5:50'),
        step: z.string().optional(),
        duration: z.string().default('60s'),
        max_calls: z.number().int().min(1).optional(),
        assert: z.string().default('asr>=99'),
      })
      .optional(),
    /** Whole-scenario bound (s): a scenario still running then fails. */
    timeout_s: z.number().int().min(1).max(3600).default(30),
  })
  .superRefine((s, ctx) => {
    const ids = new Set<string>();
    s.legs.forEach((l, i) => {
      if (ids.has(l.id))
        ctx.addIssue({
          code: 'custom',
          path: ['legs', i, 'id'],
          message: `duplicate leg id "${l.id}"`,
        });
      ids.add(l.id);
      if (l.role === 'uac' && l.action === 'call' && !l.to && !l.xml)
        ctx.addIssue({
          code: 'custom',
          path: ['legs', i, 'to'],
          message: 'a calling leg needs "to"',
        });
      if (
        l.attended_transfer &&
        (l.engine !== 'browser' || l.role !== 'uac' || l.action !== 'call')
      )
        // a transferor holds two dialogs at once and puts the second one's identifiers in
        // the REFER: only the browser engine (the softphone core) can; sipp and baresip 1.0 cannot
        ctx.addIssue({
          code: 'custom',
          path: ['legs', i, 'attended_transfer'],
          message: 'attended_transfer needs engine: browser, role: uac, action: call',
        });
    });
    for (const id of Object.keys(s.expect))
      if (!ids.has(id))
        ctx.addIssue({
          code: 'custom',
          path: ['expect', id],
          message: `no leg "${id}" (legs: ${[...ids].join(', ')})`,
        });
  });

export type Scenario = z.infer<typeof scenarioSchema>;

/** A suite: a list of scenario files or builtins, run in order. */
export const suiteSchema = z.strictObject({
  suite: z.string(),
  scenarios: z.array(z.string()).min(1),
  vars: z.record(z.string(), z.union([z.string(), z.number()])).default({}),
});
