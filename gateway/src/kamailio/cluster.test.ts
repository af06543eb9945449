import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { REPO_ROOT } from '../paths.js';
import {
  CLUSTER_DEFINES_FILE,
  kamailioClusterSpec,
  renderClusterDefines,
  renderDispatcherList,
  renderKamailioCluster,
  rtpengineSocketList,
  type KamailioClusterSpec,
} from './cluster.js';

const TEMPLATE = join(REPO_ROOT, 'infra', 'kamailio', 'kamailio.cfg');
const work = mkdtempSync(join(tmpdir(), 'kamailio-cluster-'));
const dirs = { root: REPO_ROOT, data: work, run: join(work, 'run'), log: join(work, 'log') };

afterAll(() => rmSync(work, { recursive: true, force: true }));

const spec: KamailioClusterSpec = {
  self: { address: '192.0.2.11', port: 5060 },
  peers: [{ address: '192.0.2.12', port: 5060 }],
  rtpengines: [
    { address: '192.0.2.21', ngPort: 2223, weight: 2 },
    { address: '192.0.2.22', ngPort: 2223, weight: 1 },
  ],
  trunkGateways: [
    {
      trunk: 'carrier',
      gateways: [
        { host: '192.0.2.41', port: 5060 },
        { host: '192.0.2.42', port: 5060, transport: 'tcp' },
      ],
    },
  ],
};

/**
 * `kamailio --cfg-print`: the config as Kamailio reads it (includes and #!ifdef
 * evaluated). It keeps comments and prints an import_file as an empty line;
 * those are dropped so what is compared is every statement Kamailio parses.
 */
function cfgPrint(file: string, cwd: string): string {
  const r = spawnSync('kamailio', ['--cfg-print', '-f', file], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`kamailio --cfg-print failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '' && !/^\s*#(?!!)/.test(l))
    .join('\n');
}

describe('kamailio cluster config', () => {
  it('renders the defines: peers, the rtpengine set with weights, dispatcher sets per trunk', () => {
    const text = renderClusterDefines(spec, dirs);
    expect(text).toContain('#!define WITH_CLUSTER');
    expect(text).toContain('#!define CLUSTER_SELF "sip:192.0.2.11:5060"');
    expect(text).toContain('#!define CLUSTER_NOTIFY "sip:192.0.2.12:5060"');
    expect(text).toContain('#!define CLUSTER_PEERS "192.0.2.11/32,192.0.2.12/32"');
    expect(text).toContain(
      '#!redefine RTPENGINE_SOCK "udp:192.0.2.21:2223=2 udp:192.0.2.22:2223=1"',
    );
    expect(text).toContain('#!define DISPATCHER_TRUNK_SETS "carrier=1"');
    expect(renderDispatcherList(spec)).toContain(
      '1 sip:192.0.2.41:5060 0 0\n1 sip:192.0.2.42:5060;transport=tcp 0 0\n',
    );
  });

  it('refuses a malformed spec, naming the field', () => {
    expect(() => renderClusterDefines({ ...spec, peers: [] }, dirs)).toThrow(/peers/);
    expect(() =>
      renderClusterDefines({ ...spec, self: { address: 'edge-a', port: 5060 } }, dirs),
    ).toThrow(/self\.address must be an IP address/);
    expect(() =>
      renderClusterDefines({ ...spec, rtpengines: [{ address: '192.0.2.21', ngPort: 0 }] }, dirs),
    ).toThrow(/rtpengines\[0\]\.ngPort/);
    expect(() => renderClusterDefines({ ...spec, peers: [spec.self] }, dirs)).toThrow(
      /peers\[0\] is this node itself/,
    );
  });

  it('without the cluster defines, Kamailio reads exactly the single-machine config', () => {
    // The template with every cluster hook cut out: the import line and each
    // `#!ifdef WITH_CLUSTER ... #!endif` block.
    const template = readFileSync(TEMPLATE, 'utf8');
    const stripped = template
      .replace(/^# cluster mode:.*\nimport_file "kamailio-cluster-defines\.cfg"\n/m, '')
      .replace(/^#!ifdef WITH_CLUSTER\n(?:(?!#!endif).*\n)*?#!endif\n/gm, '');
    expect(stripped).not.toContain('CLUSTER');
    const single = join(work, 'single');
    rmSync(single, { recursive: true, force: true });
    spawnSync('mkdir', ['-p', single]);
    const strippedFile = join(single, 'kamailio.cfg');
    writeFileSync(strippedFile, stripped);
    // Same folder for both, so the import of kamailio-defines.cfg (absent here) is the same.
    expect(cfgPrint(TEMPLATE, single)).toBe(cfgPrint(strippedFile, single));
  });

  it('with the cluster defines, Kamailio accepts the config (kamailio -c) with DMQ, Path, dispatcher', () => {
    renderKamailioCluster(spec, dirs);
    const printed = cfgPrint(TEMPLATE, dirs.run);
    expect(printed).toContain('loadmodule "dmq_usrloc.so"');
    expect(printed).toContain('modparam("dialog", "enable_dmq", 1)');
    expect(printed).toContain('loadmodule "dispatcher.so"');
    expect(readFileSync(join(dirs.run, CLUSTER_DEFINES_FILE), 'utf8')).toContain('WITH_CLUSTER');
    const check = spawnSync('kamailio', ['-c', '-f', TEMPLATE], {
      cwd: dirs.run,
      encoding: 'utf8',
    });
    expect(check.stderr).not.toMatch(/ERROR: bad config/);
    expect(check.status).toBe(0);
    // out of the cluster again: the files go, the single-machine config is back
    renderKamailioCluster(undefined, dirs);
    expect(cfgPrint(TEMPLATE, dirs.run)).not.toContain('dmq_usrloc');
  });

  it("maps the config's cluster section (media nodes, peers, trunk gateways)", () => {
    const base = {
      listenAddress: '192.0.2.11',
      demo: { enabled: false },
      trunks: [{ name: 'carrier', host: '192.0.2.41' }],
    };
    const cluster = {
      nodeName: 'edge-a',
      peers: [{ name: 'edge-b', address: '192.0.2.12' }],
      databaseUrl: 'postgres://gateway@192.0.2.30:5432/gateway',
    };
    expect(kamailioClusterSpec(parseConfig(base))).toBeUndefined();
    const spec = kamailioClusterSpec(
      parseConfig({
        ...base,
        cluster: {
          ...cluster,
          rtpengines: [{ address: '192.0.2.21', weight: 3 }],
          trunkGateways: [
            { trunk: 'carrier', gateways: [{ host: '192.0.2.41' }, { host: '192.0.2.42' }] },
          ],
        },
      }),
    )!;
    expect(spec.self).toEqual({ address: '192.0.2.11', port: 5060 });
    expect(spec.peers).toEqual([{ address: '192.0.2.12', port: 5060 }]);
    expect(rtpengineSocketList(spec)).toBe('udp:192.0.2.21:2223=3');
    expect(renderDispatcherList(spec)).toContain('1 sip:192.0.2.42:5060 0 0');
    // no media nodes listed: this node's own rtpengine
    const own = kamailioClusterSpec(parseConfig({ ...base, cluster }))!;
    expect(rtpengineSocketList(own)).toBe('udp:192.0.2.11:2223');
  });
});
