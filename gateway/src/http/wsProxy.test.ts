import { describe, it, expect } from 'vitest';
import { originAllowed } from './wsProxy.js';

describe('WebSocket Origin check', () => {
  it('allows the gateway’s own origin and configured ones, refuses others', () => {
    expect(originAllowed('https://127.0.0.1:8443', '127.0.0.1:8443', [])).toBe(true);
    expect(
      originAllowed('https://phone.example', '127.0.0.1:8443', ['https://phone.example']),
    ).toBe(true);
    expect(originAllowed('https://evil.example', '127.0.0.1:8443', ['https://phone.example'])).toBe(
      false,
    );
    // Plain http pages of the same host are not the gateway's origin.
    expect(originAllowed('http://127.0.0.1:8443', '127.0.0.1:8443', [])).toBe(false);
  });

  it('allows non-browser clients, which send no Origin', () => {
    expect(originAllowed(undefined, '127.0.0.1:8443', [])).toBe(true);
  });
});
