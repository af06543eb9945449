import { describe, it, expect } from 'vitest';
import { openDb } from '../store/db.js';
import { Directory, DEMO_USERS } from './directory.js';
import { parseConfig } from '../config/load.js';
import { computeHa1 } from './ha1.js';

describe('directory', () => {
  it('stores HA1, never the password, and seeds demo users and their DID', () => {
    const db = openDb(':memory:');
    const dir = new Directory(db, 'localhost');
    dir.syncFromConfig(parseConfig({ users: [{ username: 'eve', password: 'correct horse' }] }));
    expect(dir.listUsers().map((u) => u.username)).toEqual(['1001', '1002', '1003', '1004', 'eve']);
    expect(dir.findUser('eve')?.ha1).toBe(computeHa1('eve', 'localhost', 'correct horse'));
    const dump = JSON.stringify(db.prepare('SELECT * FROM users').all());
    expect(dump).not.toContain('correct horse');
    for (const u of DEMO_USERS) expect(dump).not.toContain(u.password);
    expect(dir.findDid('+15550100100')).toBe('1001');
  });

  it('removes demo users when demo is disabled', () => {
    const db = openDb(':memory:');
    const dir = new Directory(db, 'localhost');
    dir.syncFromConfig(parseConfig({}));
    dir.syncFromConfig(parseConfig({ demo: { enabled: false } }));
    expect(dir.listUsers()).toEqual([]);
  });

  it('a user whose HA1 was made for another realm is unknown here', () => {
    const db = openDb(':memory:');
    new Directory(db, 'old.example').upsertUser({ username: 'bob', password: 'password1' });
    expect(new Directory(db, 'localhost').findUser('bob')).toBeUndefined();
  });
});
