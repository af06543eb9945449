import { describe, it, expect } from 'vitest';
import { computeHa1 } from './ha1.js';

describe('HA1', () => {
  it('is MD5(user:realm:password) as in RFC 2617', () => {
    // RFC 2617 §3.5 example: Mufasa / testrealm@host.com / Circle Of Life.
    expect(computeHa1('Mufasa', 'testrealm@host.com', 'Circle Of Life')).toBe(
      '939e7578ed9e3c518a452acee763bce9',
    );
  });
});
