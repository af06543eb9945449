// What the supervisor needs to run one component of the stack. Each component's
// renderer (kamailio/, rtpengine/, turn/, services/) writes its config files and
// returns one of these; the supervisor owns spawning, readiness, restart, stop.

/** Folders under config.dataDir, created before any renderer runs. */
export interface RuntimeDirs {
  /** Absolute repo root (templates live in <root>/infra). */
  root: string;
  /** Absolute dataDir. */
  data: string;
  /** Rendered configs and pid files: <data>/run. */
  run: string;
  /** Component logs: <data>/log. */
  log: string;
}

/** How the supervisor knows a component is up: a port that answers. */
export type ReadinessProbe =
  | { kind: 'tcp'; host: string; port: number }
  /** Send `payload` over UDP and wait for any answer (rtpengine ng ping, SIP OPTIONS). */
  | { kind: 'udp'; host: string; port: number; payload: Buffer };

export interface ProcessSpec {
  /** Short name for logs, /healthz and metrics: kamailio, rtpengine, coturn, echo, tone. */
  name: string;
  /** Binary looked up on PATH (a missing binary is a one-line error naming it and its Debian package). */
  command: string;
  debianPackage: string;
  args: string[];
  env?: Record<string, string>;
  /** Ports the component binds; checked free before start ("port already in use" names it). */
  ports: { proto: 'udp' | 'tcp'; host: string; port: number }[];
  readiness: ReadinessProbe;
  /** Components started before this one and required ready (kamailio after rtpengine). */
  after?: string[];
  /**
   * Run before every start, restarts included (Kamailio: its presence tables
   * lose the call states of the run that died). A throw is logged, not fatal.
   */
  beforeStart?: () => void;
  /**
   * Asked while ready: a process can hang without exiting (rtpengine under
   * SIGSTOP or deadlocked). `misses` unanswered probes in a row, each given
   * `timeoutMs`, one every `everyMs`, and it is killed and restarted; a busy
   * one still answers some, which resets the count.
   */
  liveness?: { probe: ReadinessProbe; everyMs: number; timeoutMs: number; misses: number };
}
