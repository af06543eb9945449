import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topology } from './harness/hosts.js';

// The multi-host harness on its own: two namespaced hosts and the test process
// joined through a bridge in its own namespace; a TCP echo crosses it, and
// nothing is left behind afterwards.

describe('cluster harness: hosts in network namespaces', () => {
  let topo: Topology;

  beforeAll(async () => {
    topo = await Topology.create({
      hosts: [
        { name: 'alpha', octet: 201 },
        { name: 'beta', octet: 202 },
      ],
      self: { name: 'self', octet: 203 },
    });
  });

  afterAll(async () => {
    await topo?.destroy();
  });

  it('carries a TCP echo from one host to another, and from the test process to a host', async () => {
    const alpha = topo.host('alpha');
    const beta = topo.host('beta');
    // A TCP echo server on beta (Node, bound to beta's own address only).
    const server = beta.spawn(process.execPath, [
      '-e',
      `require('net').createServer((s) => s.pipe(s)).listen(7007, '${beta.addr}', () => console.log('listening'))`,
    ]);
    await new Promise<void>((resolve, reject) => {
      server.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
      server.on('exit', (code) => reject(new Error(`echo server exited ${code}`)));
    });

    // alpha -> beta, from inside alpha's namespace
    const { stdout } = await alpha.exec(process.execPath, [
      '-e',
      `const s=require('net').connect(7007,'${beta.addr}',()=>s.end('ping-from-alpha'));let b='';s.on('data',d=>b+=d);s.on('close',()=>console.log(b))`,
    ]);
    expect(stdout.trim()).toBe('ping-from-alpha');

    // the test process (self host) -> beta
    const echoed = await new Promise<string>((resolve, reject) => {
      const s = connect(7007, beta.addr, () => s.end('ping-from-self'));
      let b = '';
      s.on('data', (d) => (b += d.toString()));
      s.on('close', () => resolve(b));
      s.on('error', reject);
    });
    expect(echoed).toBe('ping-from-self');

    // beta's address exists only inside beta: alpha's namespace does not have it
    const addrs = await alpha.exec('ip', ['-4', '-o', 'addr']);
    expect(addrs.stdout).toContain(alpha.addr);
    expect(addrs.stdout).not.toContain(`${beta.addr}/`);
  });

  it('kills the host processes and removes every namespace on destroy', async () => {
    const names = topo.namespaceNames;
    expect(names.length).toBe(3); // bridge + two hosts
    await topo.destroy();
    const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    for (const ns of names) expect(left).not.toContain(ns);
  });
});
