import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { pino } from 'pino';
import { Supervisor, StartupError } from './supervisor.js';
import type { ProcessSpec, RuntimeDirs } from './types.js';

// Real child processes (node one-liners listening on a TCP port) stand in for
// Kamailio here: what is under test is the supervision, not the daemon.

/**
 * This file's ports: 31100-31109, in the unit tests' block (31000-31999, see
 * test/README.md "Port blocks"), apart from every block a real stack uses
 * (integration 15000-19999, e2e 20000-24999, benchmarks 25000-29999), which may
 * run at the same time on a machine with more cores.
 */
const PORT = (i: number) => 31100 + i;

const log = pino({ level: 'silent' });
let supervisor: Supervisor | undefined;
afterEach(async () => supervisor?.stop());

function dirs(): RuntimeDirs {
  const data = mkdtempSync(join(tmpdir(), 'sup-'));
  return { root: data, data, run: data, log: data };
}

function listener(name: string, port: number, extra: Partial<ProcessSpec> = {}): ProcessSpec {
  return {
    name,
    command: 'node',
    debianPackage: 'nodejs',
    args: ['-e', `require('net').createServer(s=>s.end()).listen(${port}, '127.0.0.1')`],
    ports: [{ proto: 'tcp', host: '127.0.0.1', port }],
    readiness: { kind: 'tcp', host: '127.0.0.1', port },
    ...extra,
  };
}

describe('supervisor', () => {
  it('starts in dependency order and reports ready', async () => {
    const order: string[] = [];
    supervisor = new Supervisor(
      [listener('kamailio', PORT(1), { after: ['rtpengine'] }), listener('rtpengine', PORT(2))],
      dirs(),
      log,
    );
    supervisor.on('state', (s) => s.state === 'ready' && order.push(s.name));
    await supervisor.start();
    expect(order).toEqual(['rtpengine', 'kamailio']);
    expect(supervisor.status().every((c) => c.state === 'ready' && c.pid)).toBe(true);
  });

  it('restarts a crashed component and counts the restart', async () => {
    supervisor = new Supervisor([listener('rtpengine', PORT(3))], dirs(), log);
    await supervisor.start();
    const firstPid = supervisor.status()[0]?.pid;
    const back = new Promise<void>((resolve) =>
      supervisor!.on('state', (s) => s.state === 'ready' && resolve()),
    );
    expect(supervisor.kill('rtpengine')).toBe(true);
    await back;
    const [status] = supervisor.status();
    expect(status?.restarts).toBe(1);
    expect(status?.pid).not.toBe(firstPid);
    expect(status?.lastExit?.signal).toBe('SIGKILL');
  });

  it('runs beforeStart before every start, restarts included', async () => {
    let prepared = 0;
    supervisor = new Supervisor(
      [listener('kamailio', PORT(9), { beforeStart: () => void prepared++ })],
      dirs(),
      log,
    );
    await supervisor.start();
    expect(prepared).toBe(1);
    const back = new Promise<void>((resolve) =>
      supervisor!.on('state', (s) => s.state === 'ready' && resolve()),
    );
    supervisor.kill('kamailio');
    await back;
    expect(prepared).toBe(2);
  });

  it('kills the whole process group, so a forked worker cannot keep the port', async () => {
    // Like Kamailio: the main process forks a worker that holds the listening socket.
    const forking: ProcessSpec = {
      ...listener('kamailio', PORT(6)),
      command: 'sh',
      args: [
        '-c',
        `node -e "require('net').createServer(s=>s.end()).listen(${PORT(6)}, '127.0.0.1')" & wait`,
      ],
    };
    supervisor = new Supervisor([forking], dirs(), log);
    await supervisor.start();
    const back = new Promise<void>((resolve) =>
      supervisor!.on('state', (s) => s.state === 'ready' && resolve()),
    );
    supervisor.kill('kamailio');
    await back;
    expect(supervisor.status()[0]?.restarts).toBe(1);
    await supervisor.stop();
    // After stop nothing listens any more: the worker went with its group.
    const { portFree } = await import('./supervisor.js');
    expect(await portFree('tcp', '127.0.0.1', PORT(6))).toBe(true);
  });

  it('a missing binary is one line naming it and its Debian package', async () => {
    supervisor = new Supervisor(
      [
        {
          ...listener('kamailio', PORT(4)),
          command: 'kamailio-not-here',
          debianPackage: 'kamailio',
        },
      ],
      dirs(),
      log,
    );
    await expect(supervisor.start()).rejects.toThrow(
      /kamailio: binary "kamailio-not-here" not found on PATH; install Debian package "kamailio"/,
    );
  });

  it('a port already in use is one line naming the port', async () => {
    const squatter = createServer().listen(PORT(5), '127.0.0.1');
    await new Promise((r) => squatter.once('listening', r));
    supervisor = new Supervisor([listener('kamailio', PORT(5))], dirs(), log);
    try {
      const err = await supervisor.start().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StartupError);
      expect((err as Error).message).toMatch(
        new RegExp(`kamailio: TCP port 127\\.0\\.0\\.1:${PORT(5)} is already in use`),
      );
    } finally {
      squatter.close();
    }
  });
});

/** A UDP responder like rtpengine's ng port; `busyEvery` > 0 leaves all but every n-th ping unanswered. */
function udpResponder(name: string, port: number, busyEvery = 0): ProcessSpec {
  const probe = { kind: 'udp' as const, host: '127.0.0.1', port, payload: Buffer.from('ping') };
  return {
    name,
    command: 'node',
    debianPackage: 'nodejs',
    args: [
      '-e',
      `let n=0;const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>{n++;if(${busyEvery}===0||n%${busyEvery}===0)s.send('pong',r.port,r.address)});s.bind(${port},'127.0.0.1')`,
    ],
    ports: [{ proto: 'udp', host: '127.0.0.1', port }],
    readiness: probe,
    liveness: { probe, everyMs: 100, timeoutMs: 100, misses: 3 },
  };
}

describe('supervisor liveness', () => {
  it('kills and restarts a component that stops answering (SIGSTOP)', async () => {
    supervisor = new Supervisor([udpResponder('rtpengine', PORT(7))], dirs(), log);
    await supervisor.start();
    const firstPid = supervisor.status()[0]?.pid;
    const hung = new Promise<string>((resolve) => supervisor!.once('hung', resolve));
    const back = new Promise<void>((resolve) =>
      supervisor!.on('state', (s) => s.state === 'ready' && resolve()),
    );
    expect(supervisor.kill('rtpengine', 'SIGSTOP')).toBe(true);
    expect(await hung).toBe('rtpengine');
    await back;
    const now = supervisor.status()[0]!;
    expect(now.pid).not.toBe(firstPid);
    expect(now.restarts).toBe(1);
    expect(now.lastExit?.signal).toBe('SIGKILL');
  });

  it('leaves a busy component that still answers some probes alone', async () => {
    // answers one ping in two: never three misses in a row
    supervisor = new Supervisor([udpResponder('rtpengine', PORT(8), 2)], dirs(), log);
    const probe = supervisor;
    let hung = false;
    probe.on('hung', () => (hung = true));
    // readiness needs one answer: the second ping gets it
    await probe.start();
    await new Promise((r) => setTimeout(r, 2000));
    expect(hung).toBe(false);
    expect(probe.status()[0]).toMatchObject({ state: 'ready', restarts: 0 });
  });
});
