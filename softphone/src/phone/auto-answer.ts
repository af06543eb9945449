export interface AutoAnswerRequest {
  /** Seconds to wait before answering (0 = at once). */
  delaySec: number;
  /** Which header asked for it. */
  source: 'Call-Info' | 'Alert-Info';
}

/**
 * Detects a request to answer automatically (intercom/paging) in an incoming
 * INVITE. There is no single standard, so the common vendor forms are honoured:
 * - Call-Info: <sip:...>;answer-after=0                (RFC 7462 draft lineage, Polycom/Yealink/Kamailio)
 * - Alert-Info: <http://...>;info=alert-autoanswer;delay=0   (Broadsoft/Cisco)
 * - Alert-Info: <...>;info=auto-answer / Alert-Info: Auto Answer / Ring Answer (Snom, Polycom)
 * `header(name)` returns every value of that header (already split per header line).
 */
export function detectAutoAnswer(
  header: (name: string) => string[],
): AutoAnswerRequest | undefined {
  for (const value of header('Call-Info')) {
    const m = /;\s*answer-after\s*=\s*(\d+)/i.exec(value);
    if (m) return { delaySec: Number(m[1]), source: 'Call-Info' };
  }
  for (const value of header('Alert-Info')) {
    if (/info\s*=\s*alert-autoanswer|auto-?\s?answer|ring\s*answer/i.test(value)) {
      const delay = /;\s*delay\s*=\s*(\d+)/i.exec(value);
      return { delaySec: delay ? Number(delay[1]) : 0, source: 'Alert-Info' };
    }
  }
  return undefined;
}
