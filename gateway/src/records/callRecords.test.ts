import { describe, it, expect } from 'vitest';
import { CallRecords } from './callRecords.js';
import { openDb } from '../store/db.js';
import { sqliteStorage } from '../store/sqlite.js';

describe('CallRecords batching', () => {
  it('writes the events of one batch in one transaction, in arrival order', async () => {
    const db = openDb(':memory:');
    let transactions = 0;
    const records = new CallRecords(sqliteStorage(db).callRecords, {
      transaction: (writes) => {
        transactions += 1;
        db.transaction(writes)();
      },
    });
    const done = [
      records.apply({ event: 'start', callId: 'a', fromUser: '1001', toUser: '1002' }),
      records.apply({ event: 'start', callId: 'b', fromUser: '1001', toUser: '1003' }),
      records.apply({ event: 'answered', callId: 'a', fromUser: '', toUser: '' }),
      records.apply({ event: 'ended', callId: 'a', fromUser: '', toUser: '' }),
      records.apply({ event: 'failed', callId: 'b', fromUser: '', toUser: '', code: 486 }),
    ];
    await Promise.all(done);
    expect(transactions).toBe(1);
    const byId = new Map((await records.recent(5)).map((r) => [r.callId, r]));
    expect(byId.get('a')).toMatchObject({ status: 'ended', fromUser: '1001', toUser: '1002' });
    expect(byId.get('a')?.answeredAt).toBeTruthy();
    expect(byId.get('b')).toMatchObject({ status: 'failed', code: 486 });
  });

  it('a reader sees queued events at once (it flushes the batch first)', async () => {
    const records = new CallRecords(sqliteStorage(openDb(':memory:')).callRecords, {
      batchMs: 60_000,
    });
    void records.apply({ event: 'start', callId: 'c', fromUser: '1001', toUser: '1002' });
    expect(await records.openCount()).toBe(1);
    expect((await records.recent(1))[0]).toMatchObject({ callId: 'c', status: 'started' });
  });

  it('an answer or a failure opens the record itself, with the start Kamailio gave (no live start event)', async () => {
    const db = openDb(':memory:');
    const records = new CallRecords(sqliteStorage(db).callRecords, {
      transaction: (writes) => db.transaction(writes)(),
    });
    records.noteDecision('t', 'outbound', 'carrier');
    const began = Date.parse('2026-12-01T10:00:00.250Z');
    await Promise.all([
      records.apply({
        event: 'answered',
        callId: 't',
        fromUser: '1001',
        toUser: '15550100',
        startedAt: began,
      }),
      // in the same batch: the end lands after the answer, not before it
      records.apply({ event: 'ended', callId: 't', fromUser: '1001', toUser: '15550100' }),
      records.apply({
        event: 'failed',
        callId: 'f',
        fromUser: '1001',
        toUser: '1002',
        code: 486,
        reason: 'Busy Here',
        startedAt: began,
      }),
    ]);
    const byId = new Map((await records.recent(5)).map((r) => [r.callId, r]));
    expect(byId.get('t')).toMatchObject({
      status: 'ended',
      fromUser: '1001',
      toUser: '15550100',
      direction: 'outbound',
      trunk: 'carrier',
      startedAt: '2026-12-01T10:00:00.250Z',
    });
    expect(byId.get('t')?.answeredAt && byId.get('t')?.endedAt).toBeTruthy();
    expect(byId.get('f')).toMatchObject({
      status: 'failed',
      code: 486,
      reason: 'Busy Here',
      answeredAt: null,
    });
    expect(await records.openCount()).toBe(0);
  });
});
