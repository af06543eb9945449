import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { jsonRpc } from './rpc.js';

// What Kamailio does on its own, read back over its RPC every few seconds:
// - trunk registrations: uac_reg registers trunks with `register: true` and
//   refreshes them; `uac.reg_dump` says per record whether it is online and
//   until when, but not why it is not. kamailio.cfg keeps each trunk
//   REGISTER's last final reply (or "sent" while none came) in htable
//   `trunkreg`, keyed by the REGISTER's To URI (uac builds it as
//   sip:<r_username>@<r_domain>, so the record names its own key).
// - answers Kamailio took from its decision cache (htables ha1, decided)
//   without asking the service: counted in htable `cachehits`, added to
//   gateway_decisions_total{source="cache"}.
// Never logged: a reg_dump record carries the trunk's password; only the
// fields below are kept.

/** uac_reg's record flags (uac README, uac.reg_info). */
export const UAC_REG = {
  disabled: 1,
  ongoing: 2,
  online: 4,
  authSent: 8,
  init: 16,
} as const;

/** The fields of one `uac.reg_dump` record the report needs (no credentials). */
export interface UacRegRecord {
  /** l_uuid: the trunk's name (render.ts renderUacreg). */
  uuid: string;
  /** The REGISTER's To URI, the key of htable `trunkreg`. */
  toUri: string;
  flags: number;
  /** Epoch seconds: while online, when the registration runs out; after a failure, when it is tried again. */
  timerExpires: number;
}

export type TrunkRegistrationState = 'registered' | 'registering' | 'failed';

/** A trunk's registration as the service reports it (API, log, metric). */
export interface TrunkRegistration {
  trunk: string;
  state: TrunkRegistrationState;
  /** registered: when the carrier's binding runs out unless refreshed (ISO 8601). */
  expiresAt?: string;
  /** failed: the carrier's final status (e.g. 403), or "timeout" when it did not answer. */
  lastStatus?: number | 'timeout';
  /** failed: when Kamailio tries again (ISO 8601); absent when it gave up (uac disabled the record). */
  retryAt?: string;
  /** When this state began, as seen by the service (ISO 8601). */
  since: string;
}

/** The items of a jsonrpcs `htable.dump` answer: name → value (string or integer). */
export function htableItems(result: unknown): Map<string, string | number> {
  const items = new Map<string, string | number>();
  for (const slot of Array.isArray(result) ? (result as { slot?: unknown }[]) : []) {
    for (const it of Array.isArray(slot?.slot) ? (slot.slot as Record<string, unknown>[]) : []) {
      const v = it.value;
      if (typeof it.name === 'string' && (typeof v === 'string' || typeof v === 'number'))
        items.set(it.name, v);
    }
  }
  return items;
}

/** The records of a jsonrpcs `uac.reg_dump` answer (an array of structs). */
export function parseUacRegDump(result: unknown): UacRegRecord[] {
  const out: UacRegRecord[] = [];
  for (const r of Array.isArray(result) ? (result as Record<string, unknown>[]) : []) {
    if (!r || typeof r !== 'object') continue;
    const { l_uuid, r_username, r_domain, flags, timer_expires } = r;
    if (
      typeof l_uuid !== 'string' ||
      typeof r_username !== 'string' ||
      typeof r_domain !== 'string' ||
      typeof flags !== 'number' ||
      typeof timer_expires !== 'number'
    )
      continue;
    out.push({
      uuid: l_uuid,
      toUri: `sip:${r_username}@${r_domain}`,
      flags,
      timerExpires: timer_expires,
    });
  }
  return out;
}

/** htable `trunkreg`'s value: a final status, or "sent" (no answer yet, or none ever). */
function lastStatusOf(reply: string | number | undefined): number | 'timeout' | undefined {
  if (reply === undefined) return undefined;
  if (reply === 'sent') return 'timeout';
  const n = Number(reply);
  return Number.isInteger(n) && n >= 200 ? n : undefined;
}

const iso = (epochSec: number) => new Date(epochSec * 1000).toISOString();

/**
 * A trunk's state from its uac record and last reply, given what was reported
 * before. uac clears `online` while a refresh is on its way and keeps `ongoing`
 * while any attempt is: a refresh of a binding that has not run out yet is
 * still registered, and a retry after a failure is still failed, until an
 * answer says otherwise.
 */
export function trunkRegistrationState(
  rec: UacRegRecord,
  lastReply: string | number | undefined,
  prev: TrunkRegistration | undefined,
  nowSec: number,
): TrunkRegistration {
  const at = (s: Omit<TrunkRegistration, 'trunk' | 'since'>): TrunkRegistration => {
    // a refresh moves expiresAt, not since
    const same = prev && prev.state === s.state && prev.lastStatus === s.lastStatus;
    return { trunk: rec.uuid, ...s, since: same ? prev.since : iso(nowSec) };
  };
  const status = lastStatusOf(lastReply);
  if (rec.flags & UAC_REG.disabled) return at({ state: 'failed', lastStatus: status ?? 'timeout' });
  if (rec.flags & UAC_REG.online && rec.timerExpires > nowSec)
    return at({ state: 'registered', expiresAt: iso(rec.timerExpires) });
  // under way, not started yet, nothing answered yet, or online but run out (refresh due)
  if (
    rec.flags & (UAC_REG.ongoing | UAC_REG.online) ||
    !(rec.flags & UAC_REG.init) ||
    status === undefined
  ) {
    if (
      prev?.state === 'registered' &&
      prev.expiresAt &&
      Date.parse(prev.expiresAt) > nowSec * 1000
    )
      return { ...prev };
    if (prev?.state === 'failed') return { ...prev };
    return at({ state: 'registering' });
  }
  // An attempt is over and the record is not online: refused, or no answer
  // (a 200 without our Contact too). uac tries again at timer_expires.
  return at({
    state: 'failed',
    lastStatus: status,
    ...(rec.timerExpires > nowSec && { retryAt: iso(rec.timerExpires) }),
  });
}

export interface RpcStatusOptions {
  runDir: string;
  /** Trunks Kamailio registers (config `register: true` with credentials). */
  registeringTrunks: string[];
  /** Count the decision cache's answers (decision.cacheSeconds > 0). */
  decisionCache: boolean;
  metrics: Metrics;
  log: Logger;
  intervalMs?: number;
  /** The RPC (tests give a fake). */
  rpc?: (method: string, params: unknown[]) => Promise<unknown>;
  now?: () => number;
}

/** Polls Kamailio's RPC for trunk registrations and decision-cache answers. */
export class KamailioRpcStatus {
  private readonly states = new Map<string, TrunkRegistration>();
  private readonly cacheCounts = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private readonly rpc: (method: string, params: unknown[]) => Promise<unknown>;
  private readonly now: () => number;

  constructor(private readonly opts: RpcStatusOptions) {
    this.rpc = opts.rpc ?? ((m, p) => jsonRpc(opts.runDir, m, p, 5000));
    this.now = opts.now ?? (() => Date.now());
    for (const trunk of opts.registeringTrunks) {
      this.states.set(trunk, {
        trunk,
        state: 'registering',
        since: new Date(this.now()).toISOString(),
      });
      opts.metrics.trunkRegistered.set({ trunk }, 0);
    }
  }

  start(): void {
    if (this.timer || (!this.opts.registeringTrunks.length && !this.opts.decisionCache)) return;
    this.timer = setInterval(() => void this.poll(), this.opts.intervalMs ?? 2000);
    this.timer.unref();
    void this.poll();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Every registering trunk's latest state. */
  trunkRegistrations(): TrunkRegistration[] {
    return [...this.states.values()].map((s) => ({ ...s }));
  }

  /** One round of reading (a round under way is joined, not doubled). */
  poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    const { log } = this.opts;
    try {
      if (this.opts.registeringTrunks.length) await this.readRegistrations();
      if (this.opts.decisionCache) await this.readCacheHits();
    } catch (err) {
      // Kamailio starting, restarting or stopping: the next round tries again.
      log.debug({ err }, 'Kamailio RPC status not read');
    }
  }

  private async readRegistrations(): Promise<void> {
    const records = parseUacRegDump(await this.rpc('uac.reg_dump', []));
    const replies = htableItems(await this.rpc('htable.dump', ['trunkreg']));
    const nowSec = Math.floor(this.now() / 1000);
    for (const rec of records) {
      if (!this.states.has(rec.uuid)) continue;
      const prev = this.states.get(rec.uuid);
      const next = trunkRegistrationState(rec, replies.get(rec.toUri), prev, nowSec);
      this.states.set(rec.uuid, next);
      this.opts.metrics.trunkRegistered.set(
        { trunk: rec.uuid },
        next.state === 'registered' ? 1 : 0,
      );
      if (prev?.state === next.state && prev.lastStatus === next.lastStatus) continue;
      // once per change of state (a refresh that moves the expiry is not one)
      const { trunk, state, expiresAt, lastStatus, retryAt } = next;
      const fields = { trunk, state, expiresAt, lastStatus, retryAt };
      if (state === 'failed') this.opts.log.warn(fields, 'trunk registration failed');
      else this.opts.log.info(fields, `trunk ${state}`);
    }
  }

  private async readCacheHits(): Promise<void> {
    const counts = htableItems(await this.rpc('htable.dump', ['cachehits']));
    for (const [key, raw] of counts) {
      const count = Number(raw);
      const [kind, outcome] = key.split('|');
      if (!kind || !outcome || !Number.isFinite(count)) continue;
      const before = this.cacheCounts.get(key) ?? 0;
      // a restarted Kamailio counts from 0 again: all of its count is new
      const added = count >= before ? count - before : count;
      this.cacheCounts.set(key, count);
      if (added > 0) this.opts.metrics.decisions.inc({ kind, outcome, source: 'cache' }, added);
    }
  }
}
