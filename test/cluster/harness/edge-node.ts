import { join, resolve } from 'node:path';
import { parseConfig } from '../../../gateway/src/config/load.js';
import {
  renderKamailioCluster,
  kamailioClusterSpec,
} from '../../../gateway/src/kamailio/cluster.js';
import { createLogger } from '../../../gateway/src/log.js';
import { REPO_ROOT, startGateway } from '../../../gateway/src/main.js';

// One edge node of the cluster test, run inside its host's network namespace
// (`ip netns exec <ns> node --import tsx edge-node.ts '<json>'`): the gateway
// service with its Kamailio in cluster mode. The cluster defines are written
// (from the config's cluster: section) into the run folder before the gateway
// renders and starts Kamailio; the gateway itself does not write them yet.
// Prints one line `READY` when the stack is up; SIGTERM stops it cleanly.

interface EdgeInput {
  name: string;
  config: Record<string, unknown>;
}

const input = JSON.parse(process.argv[2] ?? '{}') as EdgeInput;
const cfg = parseConfig(input.config, `cluster:${input.name}`);
const data = resolve(REPO_ROOT, cfg.dataDir);
const spec = kamailioClusterSpec(cfg);
if (!spec) throw new Error(`${input.name}: the edge config has no cluster: section`);
renderKamailioCluster(spec, {
  root: REPO_ROOT,
  data,
  run: join(data, 'run'),
  log: join(data, 'log'),
});
const gw = await startGateway(cfg, { log: createLogger(process.env.TEST_LOG_LEVEL ?? 'warn') });
process.stdout.write('READY\n');

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  gw.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
