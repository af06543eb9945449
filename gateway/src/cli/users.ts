import { createInterface } from 'node:readline';
import { join, resolve } from 'node:path';
import { loadConfig, ConfigError } from '../config/load.js';
import { openDb } from '../store/db.js';
import { userRow } from '../directory/directory.js';
import { sqliteStorage } from '../store/sqlite.js';
import { openPostgres } from '../store/postgres.js';
import { PgBus } from '../store/bus.js';
import type { DirectoryStorage } from '../store/storage.js';
import { REPO_ROOT } from '../paths.js';
import { forgetDecisions } from '../kamailio/cache.js';

// `npm run users -- add <username> [--display-name "Name"] [--caller-id +15551234567]`
// `npm run users -- remove <username>` · `npm run users -- list` · `npm run users -- did <+E164> <username>`
// The password is read from the USER_PASSWORD environment variable or asked on
// the terminal, never taken as an argument (it would land in shell history and ps).
//
// A running gateway's Kamailio keeps users' HA1s and routing answers for a
// while (decision.cacheSeconds). After every change this process empties that
// cache itself, over Kamailio's RPC FIFO in <dataDir>/run: the cache lives in
// Kamailio, not in the service, and the FIFO sits next to the database this
// process just wrote, guarded by the same file permissions, so no new network
// API (and no credential for one) is needed, and it works while the service
// itself is restarting. No Kamailio running: nothing is cached.
//
// Cluster (config `cluster:`): the change goes to the shared PostgreSQL and a
// notification tells every running node, which refreshes its copy and empties
// its own Kamailio's cache.

const usage = `usage:
  npm run users -- list
  npm run users -- add <username> [--display-name NAME] [--caller-id +E164]   (password: $USER_PASSWORD or prompt)
  npm run users -- remove <username>
  npm run users -- did <+E164> <username>`;

async function readPassword(): Promise<string> {
  if (process.env.USER_PASSWORD) return process.env.USER_PASSWORD;
  if (!process.stdin.isTTY)
    throw new Error('no terminal to ask for the password: set USER_PASSWORD');
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  // Hide what is typed.
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
  process.stdout.write('password: ');
  const answer = await new Promise<string>((r) => rl.question('', r));
  rl.close();
  process.stdout.write('\n');
  return answer;
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Empties Kamailio's decision cache after a directory change; says so when it could not. */
async function forgetCached(runDir: string): Promise<void> {
  try {
    await forgetDecisions(runDir);
  } catch (err) {
    console.error(
      `warning: the running Kamailio's cache was not emptied (${(err as Error).message}); ` +
        'the change takes effect when its cached answers expire (decision.cacheSeconds)',
    );
  }
}

async function main(): Promise<number> {
  const [command, ...args] = process.argv.slice(2);
  const cfg = loadConfig({ file: process.env.GATEWAY_CONFIG });
  const dataDir = resolve(REPO_ROOT, cfg.dataDir);
  const runDir = join(dataDir, 'run');
  const db = openDb(join(dataDir, 'gateway.sqlite'));
  const cluster = cfg.cluster;
  const storage = cluster
    ? await openPostgres(cluster.databaseUrl, { node: cluster.nodeName })
    : sqliteStorage(db);
  const directory: DirectoryStorage = storage.directory;
  const realm = cfg.domain;
  /** After a change: this node's Kamailio cache, and in a cluster every other node. */
  const changed = async (why: string) => {
    if (cluster) {
      const bus = await PgBus.connect(cluster.databaseUrl, `${cluster.nodeName}-cli`);
      bus.publish('gw_directory', { why });
      await bus.ready();
      await bus.close();
    }
    await forgetCached(runDir);
  };
  try {
    switch (command) {
      case 'list':
        for (const u of await directory.listUsers()) {
          console.log(
            `${u.username}\t${u.displayName}\t${u.callerId ?? ''}${u.demo ? '\t(demo)' : ''}`,
          );
        }
        for (const d of await directory.listDids()) console.log(`DID ${d.number} → ${d.username}`);
        return 0;
      case 'add': {
        const username = args[0];
        if (!username) break;
        const password = await readPassword();
        if (password.length < 8) throw new Error('the password needs at least 8 characters');
        const callerId = option(args, '--caller-id');
        if (callerId && !/^\+\d{6,15}$/.test(callerId))
          throw new Error('--caller-id must be E.164, like +15551234567');
        await directory.upsertUser(
          userRow(
            { username, password, displayName: option(args, '--display-name'), callerId },
            realm,
          ),
        );
        await changed('user added');
        console.log(
          `user ${username}@${cfg.domain} saved (HA1 only); it can register now, no restart needed`,
        );
        return 0;
      }
      case 'remove': {
        if (!args[0]) break;
        const removed = await directory.removeUser(args[0]);
        if (removed) await changed('user removed');
        console.log(removed ? `user ${args[0]} removed` : `no user ${args[0]}`);
        return 0;
      }
      case 'did':
        if (!args[0] || !args[1]) break;
        if (!(await directory.findUser(args[1], realm))) throw new Error(`no user ${args[1]}`);
        await directory.setDid(args[0], args[1]);
        await changed('did set');
        console.log(`DID ${args[0]} now rings ${args[1]}`);
        return 0;
    }
    console.error(usage);
    return 2;
  } finally {
    if (storage.kind === 'postgres') await storage.close();
    db.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof ConfigError ? err.message : `error: ${(err as Error).message}`);
    process.exit(1);
  },
);
