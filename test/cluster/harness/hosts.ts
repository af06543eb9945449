import {
  execFile,
  execFileSync,
  spawn,
  type ChildProcess,
  type SpawnOptions,
} from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

// Several "hosts" on one machine for the cluster test: each host is a network
// namespace with one veth interface into a bridge, the bridge lives in a
// namespace of its own (never the machine's root namespace), and every address
// is in 192.0.2.0/24 (TEST-NET-1, RFC 5737), created here and gone with the
// namespaces. The test process's own namespace can join as one more host
// (`self`), so in-process SIP/RTP clients sit on the same segment; that is only
// allowed when the test runs in a private namespace (`unshare -n`), so the
// machine's real network is never touched.
//
// Every namespace name starts with `clu-<pid base 36>-<random>-`: a run killed
// with SIGKILL leaves namespaces whose pid is gone, and the next run removes them.

const run = promisify(execFile);

export const SUBNET_PREFIX = '192.0.2.';
const NS_PREFIX = 'clu-';
const SELF_IF_PREFIX = 'clu';

export interface HostSpec {
  name: string;
  /** Last octet in 192.0.2.0/24 (2..254; .1 is unused so no host looks like a gateway). */
  octet: number;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
}

export interface Host {
  name: string;
  /** The namespace name, or '' for the test process's own namespace. */
  ns: string;
  addr: string;
  /** Runs a command inside the host and waits for it; rejects on a non-zero exit. */
  exec(cmd: string, args?: string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
  /** Starts a long-running command inside the host (killed by Topology.destroy at the latest). */
  spawn(cmd: string, args?: string[], opts?: SpawnOptions): ChildProcess;
  /** SIGKILLs every process in the host whose command name is `comm` (all, when omitted). */
  kill(comm?: string): Promise<number>;
}

/**
 * True unless this process's namespace has only loopback (and this harness's own
 * veths): the namespace the machine's real interfaces live in must never get a
 * test interface. (Comparing /proc/1/ns/net is not reliable in every sandbox.)
 */
export function inRootNamespace(): boolean {
  const links = execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(':')[1]!.trim().split('@')[0]!);
  return links.some((name) => name !== 'lo' && !name.startsWith(SELF_IF_PREFIX));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function listNamespaces(): string[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.split(' ')[0]!.trim())
    .filter(Boolean);
}

function pidsIn(ns: string): number[] {
  try {
    return execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' })
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function killAllIn(ns: string): void {
  for (const pid of pidsIn(ns)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function deleteNamespace(ns: string): void {
  killAllIn(ns);
  try {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

/** Removes namespaces left by earlier runs whose process is gone (killed before its clean-up). */
export function removeStale(): string[] {
  const removed: string[] = [];
  for (const ns of listNamespaces()) {
    const m = /^clu-([0-9a-z]+)-/.exec(ns);
    if (!m) continue;
    if (alive(parseInt(m[1]!, 36))) continue;
    deleteNamespace(ns);
    removed.push(ns);
  }
  return removed;
}

const live = new Set<Topology>();
let hooksInstalled = false;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // Synchronous: on 'exit' nothing asynchronous runs any more.
  process.on('exit', () => {
    for (const t of live) t.destroySync();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const t of live) t.destroySync();
      process.kill(process.pid, signal);
    });
  }
}

export class Topology {
  readonly runId: string;
  readonly bridgeNs: string;
  private readonly hosts = new Map<string, Host>();
  private readonly namespaces: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private destroyed = false;

  private constructor(runId: string) {
    this.runId = runId;
    this.bridgeNs = `${NS_PREFIX}${runId}-br`;
  }

  /**
   * Builds the bridge namespace, one namespace per host joined to the bridge by
   * a veth pair, and (`self`) the test process's own namespace as one more host.
   */
  static async create(opts: { hosts: HostSpec[]; self?: HostSpec }): Promise<Topology> {
    if (process.getuid?.() !== 0) {
      throw new Error(
        'cluster harness: creating network namespaces (ip netns) needs root; run the cluster test as root (npm run test:cluster, or npm test as root)',
      );
    }
    if (opts.self && inRootNamespace()) {
      throw new Error(
        'cluster harness: the test process is in the machine root network namespace; run it inside `unshare -n` (npm run test:cluster does)',
      );
    }
    const octets = [...opts.hosts, ...(opts.self ? [opts.self] : [])].map((h) => h.octet);
    if (new Set(octets).size !== octets.length)
      throw new Error('cluster harness: duplicate host address');
    removeStale();
    installHooks();
    const runId = `${process.pid.toString(36)}-${randomBytes(2).toString('hex')}`;
    const t = new Topology(runId);
    live.add(t);
    try {
      await t.addNamespace(t.bridgeNs);
      await ip(t.bridgeNs, 'link', 'add', 'br0', 'type', 'bridge');
      await ip(t.bridgeNs, 'link', 'set', 'br0', 'up');
      let i = 0;
      for (const spec of opts.hosts) {
        const ns = `${NS_PREFIX}${runId}-${spec.name}`;
        await t.addNamespace(ns);
        const port = `p${i++}`;
        // Created inside the bridge namespace, the far end moved straight into the host's:
        // no interface ever exists in the root namespace.
        await ip(
          t.bridgeNs,
          'link',
          'add',
          port,
          'type',
          'veth',
          'peer',
          'name',
          'eth0',
          'netns',
          ns,
        );
        await t.attach(port);
        await ip(ns, 'addr', 'add', `${SUBNET_PREFIX}${spec.octet}/24`, 'dev', 'eth0');
        await ip(ns, 'link', 'set', 'eth0', 'up');
        t.hosts.set(spec.name, t.makeHost(spec.name, ns, `${SUBNET_PREFIX}${spec.octet}`));
      }
      if (opts.self) {
        const port = `p${i++}`;
        const ifname = `${SELF_IF_PREFIX}${randomBytes(3).toString('hex')}`;
        await run('ip', [
          'link',
          'add',
          ifname,
          'type',
          'veth',
          'peer',
          'name',
          port,
          'netns',
          t.bridgeNs,
        ]);
        await t.attach(port);
        await run('ip', ['addr', 'add', `${SUBNET_PREFIX}${opts.self.octet}/24`, 'dev', ifname]);
        await run('ip', ['link', 'set', ifname, 'up']);
        t.hosts.set(
          opts.self.name,
          t.makeHost(opts.self.name, '', `${SUBNET_PREFIX}${opts.self.octet}`),
        );
      }
    } catch (err) {
      t.destroySync();
      throw err;
    }
    return t;
  }

  host(name: string): Host {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`cluster harness: no host ${name}`);
    return h;
  }

  /** All namespaces of this run (for checks and clean-up). */
  get namespaceNames(): string[] {
    return [...this.namespaces];
  }

  /** Stops every process of the run and deletes its namespaces (the veths go with them). */
  async destroy(): Promise<void> {
    this.destroySync();
  }

  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
    // Host namespaces first: deleting the bridge's namespace also removes the self veth.
    for (const ns of [...this.namespaces].reverse()) deleteNamespace(ns);
    live.delete(this);
  }

  private async addNamespace(ns: string): Promise<void> {
    await run('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    await ip(ns, 'link', 'set', 'lo', 'up');
  }

  private async attach(port: string): Promise<void> {
    await ip(this.bridgeNs, 'link', 'set', port, 'master', 'br0');
    await ip(this.bridgeNs, 'link', 'set', port, 'up');
  }

  private makeHost(name: string, ns: string, addr: string): Host {
    const wrap = (cmd: string, args: string[]): [string, string[]] =>
      ns ? ['ip', ['netns', 'exec', ns, cmd, ...args]] : [cmd, args];
    return {
      name,
      ns,
      addr,
      exec: async (cmd, args = [], opts = {}) => {
        const [c, a] = wrap(cmd, args);
        const { stdout, stderr } = await run(c, a, {
          timeout: opts.timeoutMs ?? 30_000,
          maxBuffer: 16 * 1024 * 1024,
        });
        return { stdout: String(stdout), stderr: String(stderr) };
      },
      spawn: (cmd, args = [], opts = {}) => {
        const [c, a] = wrap(cmd, args);
        const child = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
        this.children.add(child);
        child.on('exit', () => this.children.delete(child));
        return child;
      },
      kill: async (comm) => {
        if (!ns) throw new Error('cluster harness: kill() is for namespaced hosts only');
        let n = 0;
        for (const pid of pidsIn(ns)) {
          if (comm) {
            let name = '';
            try {
              name = execFileSync('cat', [`/proc/${pid}/comm`], { encoding: 'utf8' }).trim();
            } catch {
              continue;
            }
            if (name !== comm) continue;
          }
          try {
            process.kill(pid, 'SIGKILL');
            n++;
          } catch {
            // gone meanwhile
          }
        }
        return n;
      },
    };
  }
}

async function ip(ns: string, ...args: string[]): Promise<void> {
  await run('ip', ['-n', ns, ...args]);
}
