import { afterEach, describe, expect, it, vi } from 'vitest';
import { warmUpCode } from './warm';

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('warmUpCode', () => {
  it('builds and parses without connecting, timers or errors', () => {
    vi.useFakeTimers();
    const ws = vi.fn();
    vi.stubGlobal('WebSocket', ws);
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(() => warmUpCode()).not.toThrow();
    expect(ws).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
    expect(errors).not.toHaveBeenCalled();
    errors.mockRestore();
  });
});
