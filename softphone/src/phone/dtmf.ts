/** Digits a telephone-event (RFC 4733 §3.2) or dtmf-relay INFO can carry. */
export const DTMF_TONES = /^[0-9A-D*#]+$/i;

/** Default tone length: 160 ms is what most PBXs and IVRs recognise reliably. */
export const DTMF_DURATION_MS = 160;
/** Gap between tones so an IVR sees distinct digits. */
export const DTMF_INTER_TONE_GAP_MS = 70;

/** Body of a SIP INFO with Content-Type application/dtmf-relay (the de-facto Cisco format). */
export function dtmfInfoBody(digit: string, durationMs = DTMF_DURATION_MS): string {
  if (digit.length !== 1 || !DTMF_TONES.test(digit))
    throw new Error(`invalid DTMF digit '${digit}'`);
  return `Signal=${digit.toUpperCase()}\r\nDuration=${durationMs}\r\n`;
}

/** Reads a received INFO (application/dtmf-relay or application/dtmf) into a digit. */
export function parseDtmfInfo(
  contentType: string,
  body: string,
): { digit: string; durationMs?: number } | undefined {
  const type = contentType.split(';')[0]?.trim().toLowerCase();
  if (type === 'application/dtmf') {
    const digit = body.trim();
    return digit.length === 1 && DTMF_TONES.test(digit)
      ? { digit: digit.toUpperCase() }
      : undefined;
  }
  if (type !== 'application/dtmf-relay') return undefined;
  const signal = /^\s*Signal\s*=\s*(\S)\s*$/im.exec(body)?.[1];
  if (!signal || !DTMF_TONES.test(signal)) return undefined;
  const duration = /^\s*Duration\s*=\s*(\d+)\s*$/im.exec(body)?.[1];
  return { digit: signal.toUpperCase(), durationMs: duration ? Number(duration) : undefined };
}
