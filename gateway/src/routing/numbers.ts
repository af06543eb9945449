import type { GatewayConfig } from '../config/schema.js';

type Numbering = GatewayConfig['numbering'];

/** Separators people type or paste into a number: spaces, dots, dashes, parentheses. */
const VISUAL_SEPARATORS = /[\s.\-()]/g;

/**
 * Turn a dialled string into E.164 (ITU-T E.164, "+" and 7–15 digits), using the
 * gateway's country context for national and international dialling. Returns
 * undefined when the string is not a phone number (an extension, a name).
 */
export function toE164(dialled: string, numbering: Numbering): string | undefined {
  const s = dialled.replace(VISUAL_SEPARATORS, '');
  let e164: string | undefined;
  if (/^\+\d+$/.test(s)) {
    e164 = s;
  } else if (!/^\d+$/.test(s)) {
    return undefined;
  } else if (numbering.internationalPrefix && s.startsWith(numbering.internationalPrefix)) {
    e164 = '+' + s.slice(numbering.internationalPrefix.length);
  } else if (s.length === numbering.nationalNumberLength) {
    e164 = '+' + numbering.countryCode + s;
  } else if (
    numbering.nationalPrefix &&
    s.startsWith(numbering.nationalPrefix) &&
    s.length === numbering.nationalPrefix.length + numbering.nationalNumberLength
  ) {
    e164 = '+' + numbering.countryCode + s.slice(numbering.nationalPrefix.length);
  } else if (s.startsWith('00') && numbering.internationalPrefix !== '00') {
    // Many people dial 00 abroad out of habit; it is never a national number.
    e164 = '+' + s.slice(2);
  }
  return e164 && /^\+[1-9]\d{6,14}$/.test(e164) ? e164 : undefined;
}

/** How a trunk wants the number in its Request-URI. */
export function formatForTrunk(e164: string, format: 'e164' | 'e164-no-plus'): string {
  return format === 'e164' ? e164 : e164.slice(1);
}
