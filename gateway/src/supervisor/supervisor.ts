import { spawn, type ChildProcess } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  readFileSync,
  writeFileSync,
  rmSync,
  type WriteStream,
} from 'node:fs';
import { createSocket } from 'node:dgram';
import { createConnection, createServer } from 'node:net';
import { join, delimiter } from 'node:path';
import { EventEmitter } from 'node:events';
import type { ProcessSpec, ReadinessProbe, RuntimeDirs } from './types.js';
import type { Logger } from '../log.js';

// Runs the stack's components as child processes (no systemd here): checks
// binaries and ports before anything starts, waits for each to answer before
// the next, restarts a crashed one with exponential backoff, stops them in
// reverse order. No library does this for arbitrary daemons with readiness
// probes and stays small, so it is written here.

export type ComponentState = 'stopped' | 'starting' | 'ready' | 'backoff' | 'failed';

export interface ComponentStatus {
  name: string;
  state: ComponentState;
  pid?: number;
  restarts: number;
  lastExit?: { code: number | null; signal: string | null; at: string };
}

export class StartupError extends Error {
  override name = 'StartupError';
}

const READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** A component that ran this long without exiting has its backoff reset. */
const STABLE_AFTER_MS = 60_000;

interface Component {
  spec: ProcessSpec;
  state: ComponentState;
  child?: ChildProcess;
  restarts: number;
  failuresInRow: number;
  startedAt?: number;
  lastExit?: ComponentStatus['lastExit'];
  restartTimer?: NodeJS.Timeout;
  livenessTimer?: NodeJS.Timeout;
  logStream?: WriteStream;
}

export class Supervisor extends EventEmitter<{
  state: [ComponentStatus];
  restart: [string];
  /** A component stopped answering its liveness probe and was killed (then restarts). */
  hung: [string];
}> {
  private readonly components: Component[];
  private stopping = false;

  constructor(
    specs: ProcessSpec[],
    private readonly dirs: RuntimeDirs,
    private readonly log: Logger,
  ) {
    super();
    this.components = orderByDependencies(specs).map((spec) => ({
      spec,
      state: 'stopped',
      restarts: 0,
      failuresInRow: 0,
    }));
  }

  status(): ComponentStatus[] {
    return this.components.map((c) => ({
      name: c.spec.name,
      state: c.state,
      pid: c.child?.pid,
      restarts: c.restarts,
      lastExit: c.lastExit,
    }));
  }

  /** Preflight every component, then start them in dependency order, each ready before the next. */
  async start(): Promise<void> {
    for (const c of this.components) await killStale(this.pidFile(c), c.spec.command);
    // Detached children would outlive a crashed service: take them down with it.
    process.once('exit', this.killAllNow);
    for (const c of this.components) {
      if (!findOnPath(c.spec.command)) {
        throw new StartupError(
          `${c.spec.name}: binary "${c.spec.command}" not found on PATH; install Debian package "${c.spec.debianPackage}" (npm start installs it when run as root)`,
        );
      }
    }
    for (const c of this.components) {
      for (const p of c.spec.ports) {
        if (!(await portFree(p.proto, p.host, p.port))) {
          throw new StartupError(
            `${c.spec.name}: ${p.proto.toUpperCase()} port ${p.host}:${p.port} is already in use; stop what holds it (ss -lntup | grep ${p.port}) or change the port in the config`,
          );
        }
      }
    }
    for (const c of this.components) {
      await this.launch(c);
      try {
        await waitReady(c.spec.readiness, READY_TIMEOUT_MS, () => c.state === 'starting');
      } catch {
        throw new StartupError(
          `${c.spec.name}: did not answer on ${describeProbe(c.spec.readiness)} within ${READY_TIMEOUT_MS / 1000}s; see ${this.logFile(c)}\n${tail(this.logFile(c))}`,
        );
      }
      this.setState(c, 'ready');
      this.watch(c);
      this.log.info({ component: c.spec.name, pid: c.child?.pid }, 'component ready');
    }
  }

  private readonly killAllNow = () => {
    for (const c of this.components) if (c.child) signalGroup(c.child, 'SIGKILL');
  };

  async stop(): Promise<void> {
    this.stopping = true;
    process.removeListener('exit', this.killAllNow);
    for (const c of [...this.components].reverse()) {
      clearTimeout(c.restartTimer);
      clearTimeout(c.livenessTimer);
      await this.terminate(c);
      this.setState(c, 'stopped');
      c.logStream?.end();
    }
  }

  /** Kill a component as if it crashed (tests use this to prove the restart path). */
  kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): boolean {
    const c = this.components.find((x) => x.spec.name === name);
    return c?.child ? signalGroup(c.child, signal) : false;
  }

  private async launch(c: Component): Promise<void> {
    this.setState(c, 'starting');
    c.logStream ??= createWriteStream(this.logFile(c), { flags: 'a' });
    c.logStream.write(
      `\n--- ${new Date().toISOString()} starting ${c.spec.command} ${c.spec.args.join(' ')}\n`,
    );
    try {
      c.spec.beforeStart?.();
    } catch (err) {
      this.log.error({ component: c.spec.name, err }, 'preparing the start failed');
    }
    const child = spawn(c.spec.command, c.spec.args, {
      env: { ...process.env, ...c.spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: this.dirs.run,
      // Its own process group: Kamailio forks dozens of workers, and a signal to
      // the main process alone would orphan them still holding the SIP ports.
      detached: true,
    });
    c.child = child;
    c.startedAt = Date.now();
    child.stdout?.pipe(c.logStream, { end: false });
    child.stderr?.pipe(c.logStream, { end: false });
    if (child.pid) writeFileSync(this.pidFile(c), String(child.pid));
    child.once('error', (err) => this.log.error({ component: c.spec.name, err }, 'spawn failed'));
    child.once('exit', (code, signal) => this.onExit(c, child, code, signal));
    // The supervisor's own event loop must not wait on a detached child.
    child.unref();
  }

  private onExit(
    c: Component,
    child: ChildProcess,
    code: number | null,
    signal: string | null,
  ): void {
    if (c.child !== child) return;
    c.child = undefined;
    c.lastExit = { code, signal, at: new Date().toISOString() };
    rmSync(this.pidFile(c), { force: true });
    if (this.stopping) return;
    const ranFor = Date.now() - (c.startedAt ?? Date.now());
    c.failuresInRow = ranFor > STABLE_AFTER_MS ? 1 : c.failuresInRow + 1;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (c.failuresInRow - 1));
    this.log.error(
      {
        component: c.spec.name,
        code,
        signal,
        ranForMs: ranFor,
        restartInMs: delay,
        log: this.logFile(c),
      },
      'component exited; restarting',
    );
    this.setState(c, 'backoff');
    c.restartTimer = setTimeout(() => void this.restart(c), delay);
  }

  private async restart(c: Component): Promise<void> {
    if (this.stopping) return;
    c.restarts += 1;
    this.emit('restart', c.spec.name);
    await this.launch(c);
    try {
      await waitReady(c.spec.readiness, READY_TIMEOUT_MS, () => c.state === 'starting');
      this.setState(c, 'ready');
      this.watch(c);
      this.log.info(
        { component: c.spec.name, pid: c.child?.pid, restarts: c.restarts },
        'component back',
      );
    } catch {
      // Still not answering: the exit handler (or the next kill) schedules the next try.
      if (c.state === 'starting') {
        this.log.error(
          { component: c.spec.name },
          'component not ready after restart; killing it to retry',
        );
        c.child?.kill('SIGKILL');
      }
    }
  }

  /** Liveness checks of one running instance; they end when it exits or the stack stops. */
  private watch(c: Component): void {
    const l = c.spec.liveness;
    const child = c.child;
    if (!l || !child) return;
    clearTimeout(c.livenessTimer);
    let misses = 0;
    const current = () => !this.stopping && c.child === child && c.state === 'ready';
    const tick = async () => {
      if (!current()) return;
      const ok = await probeOnce(l.probe, l.timeoutMs);
      if (!current()) return;
      misses = ok ? 0 : misses + 1;
      if (misses >= l.misses) {
        this.log.error(
          { component: c.spec.name, pid: child.pid, misses, everyMs: l.everyMs },
          'component stopped answering its probe; killing it to restart',
        );
        this.emit('hung', c.spec.name);
        // SIGKILL also ends a stopped process; the exit handler restarts it.
        signalGroup(child, 'SIGKILL');
        return;
      }
      c.livenessTimer = setTimeout(() => void tick(), l.everyMs);
      c.livenessTimer.unref();
    };
    c.livenessTimer = setTimeout(() => void tick(), l.everyMs);
    c.livenessTimer.unref();
  }

  private async terminate(c: Component): Promise<void> {
    const child = c.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    signalGroup(child, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
    // Workers that outlive their main process go too, and stop() returns only
    // once the whole group is gone, so its ports are free for the next start.
    signalGroup(child, 'SIGKILL');
    const deadline = Date.now() + STOP_GRACE_MS;
    while (signalGroup(child, 0) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
  }

  private setState(c: Component, state: ComponentState): void {
    c.state = state;
    this.emit('state', {
      name: c.spec.name,
      state,
      pid: c.child?.pid,
      restarts: c.restarts,
      lastExit: c.lastExit,
    });
  }

  private logFile(c: Component): string {
    return join(this.dirs.log, `${c.spec.name}.log`);
  }

  private pidFile(c: Component): string {
    return join(this.dirs.run, `${c.spec.name}.pid`);
  }
}

function orderByDependencies(specs: ProcessSpec[]): ProcessSpec[] {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const out: ProcessSpec[] = [];
  const visiting = new Set<string>();
  const visit = (s: ProcessSpec) => {
    if (out.includes(s)) return;
    if (visiting.has(s.name)) throw new StartupError(`dependency cycle at ${s.name}`);
    visiting.add(s.name);
    for (const dep of s.after ?? []) {
      const d = byName.get(dep);
      if (d) visit(d);
    }
    out.push(s);
  };
  specs.forEach(visit);
  return out;
}

export function findOnPath(command: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin']);
  return dirs.map((d) => join(d, command)).find((p) => existsSync(p));
}

/** Signal a component's whole process group (its pid is the group id: spawned detached). */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals | 0): boolean {
  if (!child.pid) return false;
  try {
    process.kill(-child.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** A previous run killed without stopping its children (SIGKILL, power loss) leaves them holding ports. */
async function killStale(pidFile: string, command: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  rmSync(pidFile, { force: true });
  try {
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(command)) return;
    process.kill(-pid, 'SIGKILL');
  } catch {
    return; // Not running any more.
  }
  const deadline = Date.now() + STOP_GRACE_MS;
  while (Date.now() < deadline && existsSync(`/proc/${pid}`))
    await new Promise((r) => setTimeout(r, 20));
}

export function portFree(proto: 'udp' | 'tcp', host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (proto === 'udp') {
      const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      sock.once('error', () => resolve(false));
      sock.bind(port, host, () => sock.close(() => resolve(true)));
    } else {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, host, () => srv.close(() => resolve(true)));
    }
  });
}

function probeOnce(probe: ReadinessProbe, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    if (probe.kind === 'tcp') {
      const sock = createConnection({ host: probe.host, port: probe.port });
      sock.setTimeout(timeoutMs);
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
      sock.once('timeout', () => {
        sock.destroy();
        resolve(false);
      });
      return;
    }
    const sock = createSocket(probe.host.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      sock.close();
      resolve(false);
    }, timeoutMs);
    sock.once('message', () => {
      clearTimeout(timer);
      sock.close();
      resolve(true);
    });
    sock.once('error', () => {
      clearTimeout(timer);
      sock.close();
      resolve(false);
    });
    sock.send(probe.payload, probe.port, probe.host);
  });
}

export async function waitReady(
  probe: ReadinessProbe,
  timeoutMs: number,
  stillTrying: () => boolean = () => true,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && stillTrying()) {
    if (await probeOnce(probe)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready: ${describeProbe(probe)}`);
}

function describeProbe(p: ReadinessProbe): string {
  return `${p.kind.toUpperCase()} ${p.host}:${p.port}`;
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
