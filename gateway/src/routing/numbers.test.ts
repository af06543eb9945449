import { describe, it, expect } from 'vitest';
import { toE164, formatForTrunk } from './numbers.js';

const nanp = {
  countryCode: '1',
  nationalPrefix: '1',
  internationalPrefix: '011',
  nationalNumberLength: 10,
};
const uk = {
  countryCode: '44',
  nationalPrefix: '0',
  internationalPrefix: '00',
  nationalNumberLength: 10,
};

describe('E.164 normalisation', () => {
  it.each([
    ['+14155550100', '+14155550100'],
    ['4155550100', '+14155550100'],
    ['14155550100', '+14155550100'],
    ['(415) 555-0100', '+14155550100'],
    ['011442079460000', '+442079460000'],
    ['00442079460000', '+442079460000'],
  ])('NANP: %s → %s', (dialled, e164) => expect(toE164(dialled, nanp)).toBe(e164));

  it.each([
    ['02079460000', '+442079460000'],
    ['2079460000', '+442079460000'],
    ['0033142685300', '+33142685300'],
  ])('UK: %s → %s', (dialled, e164) => expect(toE164(dialled, uk)).toBe(e164));

  it.each(['1001', 'alice', '+12', '+0123456789', '', '555'])('not a phone number: %s', (s) =>
    expect(toE164(s, nanp)).toBeUndefined(),
  );

  it('formats for the trunk', () => {
    expect(formatForTrunk('+14155550100', 'e164')).toBe('+14155550100');
    expect(formatForTrunk('+14155550100', 'e164-no-plus')).toBe('14155550100');
  });
});
