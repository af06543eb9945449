import { resolve } from 'node:path';
import { z } from 'zod';

// The contact center's part of the gateway config: IVR menus, queues, agents.
// Kamailio routes the numbers named here to the call-control tier (the B2BUA in
// ../callcontrol), which answers, plays prompts and music through rtpengine and
// offers callers to agents (../contactcenter).

const name = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lowercase letters, digits and dashes');
/** An extension dialled from inside (digits, 2-8). */
const extension = z.string().regex(/^\d{2,8}$/, '2 to 8 digits, e.g. 8000');
const e164 = z.string().regex(/^\+\d{6,15}$/, 'E.164 with a leading +');
const dtmfKey = z.string().regex(/^[0-9*#]$/, 'one of 0-9, * or #');

/**
 * A prompt or music file: a bare name is looked up in `soundsDir` (prompts,
 * `.wav` added) or `musicDir` (music); a path starting with / is used as is.
 * rtpengine plays it (any format ffmpeg reads).
 */
const soundFile = z.string().min(1);

/** Where a caller goes next: exactly one of these. */
export const destinationSchema = z.union([
  z.strictObject({ queue: name }),
  z.strictObject({ ivr: name }),
  z.strictObject({ user: z.string().min(1) }),
  /** Any number or extension the gateway routes (a trunk number, a service). */
  z.strictObject({
    number: z.string().regex(/^\+?\d{2,15}$/, 'digits, optionally with a leading +'),
  }),
  z.strictObject({ hangup: z.literal(true) }),
]);
export type Destination = z.infer<typeof destinationSchema>;

const ivrSchema = z.strictObject({
  name,
  /** Extension that reaches this menu. */
  number: extension.optional(),
  /** DIDs (E.164) that reach this menu from a trunk. */
  dids: z.array(e164).default([]),
  /** Played when the caller arrives (and on each repeat). */
  greeting: z.array(soundFile).min(1),
  /** Digit → destination. */
  options: z.record(dtmfKey, destinationSchema),
  /** Seconds to wait for a digit after the greeting ends. */
  timeoutSec: z.number().int().min(1).max(60).default(5),
  /** Greeting plays this many times in all before `onTimeout` applies. */
  repeat: z.number().int().min(1).max(10).default(3),
  /** Played after a digit that has no option. */
  invalidPrompt: z.array(soundFile).default(['pm-invalid-option']),
  /** Where a caller who presses nothing (or only wrong digits) ends up. */
  onTimeout: destinationSchema.default({ hangup: true }),
  /** Language tag of the prompts, for the records and the UI. */
  language: z.string().default('en'),
});
export type IvrConfig = z.infer<typeof ivrSchema>;

export const QUEUE_STRATEGIES = [
  'longest-idle',
  'round-robin',
  'ring-all',
  'fewest-calls',
] as const;

const queueSchema = z.strictObject({
  name,
  /** Display name for the agent desktop and the wallboard. */
  displayName: z.string().default(''),
  number: extension.optional(),
  /** DIDs (E.164) that reach this queue directly from a trunk. */
  dids: z.array(e164).default([]),
  strategy: z.enum(QUEUE_STRATEGIES).default('longest-idle'),
  /** Seconds one offer rings an agent before it goes to the next. */
  ringTimeoutSec: z.number().int().min(5).max(120).default(15),
  /** A caller who waited this long goes to `overflow`. */
  maxWaitSec: z.number().int().min(10).max(7200).default(600),
  /** Callers waiting at most; the next one goes to `overflow` at once. */
  maxLength: z.number().int().min(1).max(1000).default(50),
  overflow: destinationSchema.default({ hangup: true }),
  /** Take a caller when no agent is logged in (otherwise straight to overflow). */
  joinWhenEmpty: z.boolean().default(true),
  /** Send waiting callers to overflow when the last agent logs out. */
  leaveWhenEmpty: z.boolean().default(false),
  /** Music on hold (a file or a folder of files, played in turn). */
  music: soundFile.default('macroform-cold_day'),
  /** Played once when the caller joins, before the music. */
  joinPrompt: z.array(soundFile).default([]),
  announce: z
    .strictObject({
      /** Every N seconds the music pauses for the position / wait announcement (0: never). */
      everySec: z.number().int().min(0).max(600).default(30),
      position: z.boolean().default(true),
      estimatedWait: z.boolean().default(true),
    })
    .prefault({}),
  /** A key the waiting caller may press to leave for another destination. */
  exitKey: z.strictObject({ key: dtmfKey, destination: destinationSchema }).optional(),
  /** After-call work before the agent is offered the next call. */
  wrapUpSec: z.number().int().min(0).max(3600).default(30),
  /** Unanswered offers in a row before the agent is paused (0: never). */
  autoPauseAfter: z.number().int().min(0).max(20).default(2),
  /** Disposition codes the agent picks from after a call of this queue. */
  dispositions: z.array(z.string().min(1)).default(['Resolved', 'Follow-up', 'Other']),
  /** Answered within this many seconds counts toward the service level. */
  serviceLevelSec: z.number().int().min(1).max(3600).default(20),
  /** Callers who hung up within this many seconds are short abandons, counted apart (reports, wallboard). */
  shortAbandonSec: z.number().int().min(0).max(600).default(5),
  /** Server-side recording of this queue's answered calls; files older than retentionDays are deleted. */
  recording: z
    .strictObject({
      enabled: z.boolean().default(false),
      retentionDays: z.number().int().min(1).max(3650).default(90),
    })
    .prefault({}),
});
export type QueueConfig = z.infer<typeof queueSchema>;

const agentSchema = z.strictObject({
  /** A directory user. */
  username: z.string().min(1),
  /** Queues this agent serves; penalty 0 is offered first, higher tiers only when lower ones are all busy. */
  queues: z
    .array(z.strictObject({ name, penalty: z.number().int().min(0).max(9).default(0) }))
    .min(1),
});
export type AgentConfig = z.infer<typeof agentSchema>;

const supervisorSchema = z.strictObject({
  /** A directory user; signs in on the agent API with their SIP credentials. */
  username: z.string().min(1),
  /** Queues whose wallboard, reports, recordings and agents this supervisor sees and acts on ('*': all). */
  queues: z.union([z.literal('*'), z.array(name).min(1)]),
});
export type SupervisorConfig = z.infer<typeof supervisorSchema>;

export const contactCenterSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** The call-control tier's SIP listener (TCP, loopback only: Kamailio is its only peer). */
    port: z.number().int().min(1).max(65535).default(5065),
    /** Prompts by name (Debian asterisk-core-sounds-en-wav). */
    soundsDir: z.string().default('/usr/share/asterisk/sounds/en_US_f_Allison'),
    /** Music on hold by name (Debian asterisk-moh-opsound-wav). */
    musicDir: z.string().default('/usr/share/asterisk/moh'),
    /** Not-ready reason codes agents choose from. */
    reasonCodes: z.array(z.string().min(1)).default(['Break', 'Lunch', 'Training']),
    /** Screen-pop link; {caller} is replaced by the caller's number (URL-encoded). */
    crmUrlTemplate: z.string().optional(),
    ivrs: z.array(ivrSchema).default([]),
    queues: z.array(queueSchema).default([]),
    agents: z.array(agentSchema).default([]),
    /** Supervisors (issue 8): wallboard, reports, recordings and actions for their queues. */
    supervisors: z.array(supervisorSchema).default([]),
    /** Users with every supervisor right on every queue (the admin bearer token is admin too). */
    admins: z.array(z.string().min(1)).default([]),
    /** A live call whose latest MOS sample is below this is flagged on the wallboard. */
    qualityMosThreshold: z.number().min(1).max(5).default(3.5),
    /** Queue call recordings (WAV), one folder per day; relative paths are under the data dir. */
    recordingsDir: z.string().default('recordings'),
  })
  .prefault({});
export type ContactCenterConfig = z.infer<typeof contactCenterSchema>;

/**
 * rtpengine's --recording-dir (its pcap spool, see contactcenter/recording.ts)
 * when any queue records; undefined otherwise (rtpengine records nothing).
 */
export function recordingSpoolDir(cc: ContactCenterConfig, dataDir: string): string | undefined {
  if (!cc.enabled || !cc.queues.some((q) => q.recording.enabled)) return undefined;
  return resolve(dataDir, cc.recordingsDir, 'spool');
}

/** Demo contact center (demo.enabled): IVR 8000 → sales 8001 / support 8002, agents 1003 and 1004. */
export const DEMO_CONTACT_CENTER = {
  ivrs: [
    {
      name: 'demo-main',
      number: '8000',
      dids: ['+15550100800'],
      // Asterisk's English prompts have no "sales"/"support": "thank you... press 1, press 2".
      greeting: ['demo-thanks', 'vm-press', 'digits/1', 'vm-press', 'digits/2'],
      options: { '1': { queue: 'sales' }, '2': { queue: 'support' } },
      timeoutSec: 5,
      repeat: 3,
      onTimeout: { queue: 'support' },
    },
  ],
  queues: [
    {
      name: 'sales',
      displayName: 'Sales',
      number: '8001',
      strategy: 'longest-idle',
      exitKey: { key: '0', destination: { ivr: 'demo-main' } },
      wrapUpSec: 20,
      dispositions: ['Sale', 'No sale', 'Call back'],
    },
    {
      name: 'support',
      displayName: 'Support',
      number: '8002',
      strategy: 'round-robin',
      wrapUpSec: 20,
      dispositions: ['Solved', 'Escalated', 'Other'],
    },
  ],
  agents: [
    {
      username: '1003',
      queues: [
        { name: 'sales', penalty: 0 },
        { name: 'support', penalty: 0 },
      ],
    },
    {
      username: '1004',
      queues: [
        { name: 'sales', penalty: 0 },
        { name: 'support', penalty: 1 },
      ],
    },
  ],
} as const;

/** Cross-references inside the section: every queue, IVR and number named must exist and be unique. */
export function checkContactCenter(
  cc: ContactCenterConfig,
  knownUsers: Set<string>,
  addIssue: (path: (string | number)[], message: string) => void,
): void {
  const queues = new Set(cc.queues.map((q) => q.name));
  const ivrs = new Set(cc.ivrs.map((i) => i.name));
  const numbers = new Map<string, string>();
  const claim = (num: string | undefined, path: (string | number)[]) => {
    if (!num) return;
    const prior = numbers.get(num);
    if (prior) addIssue(path, `number ${num} is already ${prior}; choose another`);
    else numbers.set(num, path.join('.'));
  };
  const checkDest = (d: Destination, path: (string | number)[]) => {
    if ('queue' in d && !queues.has(d.queue))
      addIssue([...path, 'queue'], `no queue named "${d.queue}" in contactCenter.queues`);
    if ('ivr' in d && !ivrs.has(d.ivr))
      addIssue([...path, 'ivr'], `no IVR named "${d.ivr}" in contactCenter.ivrs`);
    if ('user' in d && knownUsers.size > 0 && !knownUsers.has(d.user))
      addIssue([...path, 'user'], `no user "${d.user}" in users (or the demo users)`);
  };
  const seen = new Set<string>();
  cc.ivrs.forEach((ivr, i) => {
    if (seen.has(ivr.name))
      addIssue(['contactCenter', 'ivrs', i, 'name'], `duplicate name "${ivr.name}"`);
    seen.add(ivr.name);
    claim(ivr.number, ['contactCenter', 'ivrs', i, 'number']);
    ivr.dids.forEach((d, j) => claim(d, ['contactCenter', 'ivrs', i, 'dids', j]));
    for (const [key, d] of Object.entries(ivr.options))
      checkDest(d, ['contactCenter', 'ivrs', i, 'options', key]);
    checkDest(ivr.onTimeout, ['contactCenter', 'ivrs', i, 'onTimeout']);
  });
  seen.clear();
  cc.queues.forEach((q, i) => {
    if (seen.has(q.name))
      addIssue(['contactCenter', 'queues', i, 'name'], `duplicate name "${q.name}"`);
    seen.add(q.name);
    claim(q.number, ['contactCenter', 'queues', i, 'number']);
    q.dids.forEach((d, j) => claim(d, ['contactCenter', 'queues', i, 'dids', j]));
    checkDest(q.overflow, ['contactCenter', 'queues', i, 'overflow']);
    if (q.exitKey)
      checkDest(q.exitKey.destination, ['contactCenter', 'queues', i, 'exitKey', 'destination']);
    if ('queue' in q.overflow && q.overflow.queue === q.name)
      addIssue(['contactCenter', 'queues', i, 'overflow'], 'a queue cannot overflow into itself');
  });
  cc.agents.forEach((a, i) => {
    if (knownUsers.size > 0 && !knownUsers.has(a.username))
      addIssue(
        ['contactCenter', 'agents', i, 'username'],
        `no user "${a.username}" in users (or the demo users)`,
      );
    a.queues.forEach((q, j) => {
      if (!queues.has(q.name))
        addIssue(['contactCenter', 'agents', i, 'queues', j, 'name'], `no queue named "${q.name}"`);
    });
  });
  seen.clear();
  cc.supervisors.forEach((s, i) => {
    if (seen.has(s.username))
      addIssue(['contactCenter', 'supervisors', i, 'username'], `duplicate "${s.username}"`);
    seen.add(s.username);
    if (knownUsers.size > 0 && !knownUsers.has(s.username))
      addIssue(
        ['contactCenter', 'supervisors', i, 'username'],
        `no user "${s.username}" in users (or the demo users)`,
      );
    if (s.queues !== '*')
      s.queues.forEach((q, j) => {
        if (!queues.has(q))
          addIssue(['contactCenter', 'supervisors', i, 'queues', j], `no queue named "${q}"`);
      });
  });
  cc.admins.forEach((u, i) => {
    if (knownUsers.size > 0 && !knownUsers.has(u))
      addIssue(['contactCenter', 'admins', i], `no user "${u}" in users (or the demo users)`);
  });
}

/**
 * With demo accounts on and no contact center configured, the demo one is
 * used, so `npm start` has an IVR and queues to try at once. A config that
 * names any IVR, queue or agent gets exactly what it names.
 */
export function withDemoContactCenter(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null) return raw;
  const r = raw as Record<string, unknown>;
  const demo = r.demo as { enabled?: unknown } | undefined;
  if (demo?.enabled === false) return raw;
  const cc = (r.contactCenter ?? {}) as Record<string, unknown>;
  if (typeof cc !== 'object' || cc.ivrs || cc.queues || cc.agents) return raw;
  return { ...r, contactCenter: { ...cc, ...structuredClone(DEMO_CONTACT_CENTER) } };
}
