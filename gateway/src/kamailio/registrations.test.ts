import { afterEach, describe, expect, it, vi } from 'vitest';
import { Registrations } from './registrations.js';

describe('Registrations', () => {
  afterEach(() => vi.useRealTimers());

  it('reports a user registered on the first contact and gone when the last one is removed', () => {
    const r = new Registrations();
    const changes: string[] = [];
    r.on('changed', (u, on) => changes.push(`${u}:${on}`));
    r.apply({ event: 'registration', user: '1003', contacts: 1, expires: 300 });
    r.apply({ event: 'registration', user: '1003', contacts: 2, expires: 300 });
    r.apply({ event: 'registration', user: '1003', contacts: 0, expires: 0 });
    expect(changes).toEqual(['1003:true', '1003:false']);
    r.stop();
  });

  it('treats an expiry without a refresh as a loss (usrloc 5.6 raises no event for it)', () => {
    vi.useFakeTimers();
    vi.setSystemTime(1_800_000_000_000);
    const r = new Registrations();
    const changes: string[] = [];
    r.on('changed', (u, on) => changes.push(`${u}:${on}`));
    r.apply({ event: 'registration', user: '1004', contacts: 1, expires: 1_800_000_060 });
    vi.advanceTimersByTime(60_000);
    expect(changes).toEqual(['1004:true']);
    vi.advanceTimersByTime(6_000);
    expect(changes).toEqual(['1004:true', '1004:false']);
    expect(r.isRegistered('1004')).toBe(false);
  });

  it('a refresh before expiry keeps the user registered', () => {
    vi.useFakeTimers();
    const r = new Registrations();
    const changes: string[] = [];
    r.on('changed', (u, on) => changes.push(`${u}:${on}`));
    r.apply({ event: 'registration', user: '1003', contacts: 1, expires: 60 });
    vi.advanceTimersByTime(50_000);
    r.apply({ event: 'registration', user: '1003', contacts: 1, expires: 60 });
    vi.advanceTimersByTime(50_000);
    expect(changes).toEqual(['1003:true']);
    r.stop();
  });

  it('a closed WebSocket takes one contact: the last one makes the user unregistered', () => {
    const r = new Registrations();
    const changes: string[] = [];
    r.on('changed', (u, on) => changes.push(`${u}:${on}`));
    r.apply({ event: 'registration', user: '1003', contacts: 2, expires: 600 });
    r.apply({ event: 'ws-closed', user: '1003', contacts: 0, expires: 0 });
    expect(r.isRegistered('1003')).toBe(true);
    r.apply({ event: 'ws-closed', user: '1003', contacts: 0, expires: 0 });
    expect(changes).toEqual(['1003:true', '1003:false']);
    r.stop();
  });
});
