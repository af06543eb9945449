import type { TraceDirection, TraceEntry } from './types';

const REDACTED = '[REDACTED]';

/** Headers whose value is a credential (RFC 3261 §20.7, §20.28). Names are kept, values go. */
const CREDENTIAL_HEADERS = /^(authorization|proxy-authorization)$/i;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Removes secrets from a SIP message or log line:
 * - the value of every Authorization / Proxy-Authorization header, including
 *   folded continuation lines (the digest response is a password equivalent
 *   for replay within the nonce's lifetime);
 * - every literal occurrence of a known secret (the password), wherever it is;
 * - `password=`/`"password":` style pairs in free text.
 */
export function redactSip(text: string, secrets: readonly string[] = []): string {
  const lines = text.split(/\r?\n/);
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const out: string[] = [];
  let inCredential = false;
  let inHeaders = true;
  for (const [i, line] of lines.entries()) {
    if (i > 0 && line === '') inHeaders = false;
    if (inHeaders && i > 0) {
      if (inCredential && /^[ \t]/.test(line)) continue; // folded part of a credential header
      const colon = line.indexOf(':');
      const name = colon > 0 ? line.slice(0, colon).trim() : '';
      inCredential = CREDENTIAL_HEADERS.test(name);
      if (inCredential) {
        out.push(`${line.slice(0, colon)}: ${REDACTED}`);
        continue;
      }
    }
    out.push(line);
  }
  let result = out.join(eol);
  for (const secret of secrets) {
    if (secret) result = result.replace(new RegExp(escapeRegExp(secret), 'g'), REDACTED);
  }
  return result.replace(/("?password"?\s*[:=]\s*)("[^"]*"|[^\s,;&}]+)/gi, `$1${REDACTED}`);
}

function headerValue(text: string, long: string, compact: string): string | undefined {
  const re = new RegExp(`^(?:${long}|${compact})[ \\t]*:[ \\t]*(.*)$`, 'im');
  return re.exec(text)?.[1]?.trim();
}

/**
 * Keeps the SIP messages this phone sent and received, already redacted, for a
 * ladder diagram and for bug reports. Bounded so a long-lived tab does not grow
 * without limit.
 */
export class TraceRecorder {
  private readonly entries: TraceEntry[] = [];
  private seq = 0;

  constructor(
    private readonly secrets: () => readonly string[] = () => [],
    private readonly limit = 2000,
    private readonly now: () => number = Date.now,
  ) {}

  record(direction: TraceDirection, raw: string): TraceEntry {
    const text = redactSip(raw, this.secrets());
    const firstLine = text.split(/\r?\n/, 1)[0] ?? '';
    const cseq = headerValue(text, 'CSeq', 'CSeq');
    const entry: TraceEntry = {
      seq: ++this.seq,
      direction,
      time: this.now(),
      firstLine,
      callId: headerValue(text, 'Call-ID', 'i'),
      method: cseq?.split(/\s+/)[1]?.toUpperCase(),
      text,
    };
    this.entries.push(entry);
    if (this.entries.length > this.limit) this.entries.splice(0, this.entries.length - this.limit);
    return entry;
  }

  list(): readonly TraceEntry[] {
    return this.entries;
  }

  clear(): void {
    this.entries.length = 0;
  }

  /** Plain-text export in the usual "time direction" + message layout. Redacted again for safety. */
  exportTrace(): string {
    const secrets = this.secrets();
    return this.entries
      .map((e) => {
        const arrow = e.direction === 'sent' ? '>>> sent' : '<<< received';
        return `${new Date(e.time).toISOString()} ${arrow}\n${redactSip(e.text, secrets).replace(/\r\n/g, '\n')}`;
      })
      .join('\n\n');
  }
}

/**
 * A console logger that passes everything through redactSip first, so the
 * password and digest credentials never reach the console either.
 */
export function redactingLogger(secrets: () => readonly string[]) {
  return (level: 'debug' | 'log' | 'warn' | 'error', category: string, content: string): void => {
    const line = `[phone:${category}] ${redactSip(content, secrets())}`;
    if (level === 'error') console.error(line);
    else if (level === 'warn') console.warn(line);
    else if (level === 'log') console.info(line);
    else console.debug(line);
  };
}
