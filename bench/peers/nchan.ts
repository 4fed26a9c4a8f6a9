/**
 * nchan (the nginx module), from the team's one-worker config (/work/shared/peers/nchan-nginx.conf,
 * kept here as nchan-nginx.conf): `worker_processes` set to the run's workers, and one more location
 * that subscribes to two channels at once (nchan's multiplexing) for the own-topic scenario.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OWN_PREFIX, type Peer, type RunningPeer, SHARED, type StartOptions } from './peer.js';
import { freePort, onPath, spawnPinned, stopProcess, waitForPort } from './process.js';

const TEMPLATE = join(dirname(fileURLToPath(import.meta.url)), 'nchan-nginx.conf');
const MODULE = '/usr/lib/nginx/modules/ngx_nchan_module.so';

const MULTIPLEX = `
    # Two channels on one subscriber (nchan multiplexing): a channel of its own plus the shared one.
    location ~ ^/msub/(?<a>[^/?]+)/(?<b>[^/?]+)$ {
      nchan_subscriber eventsource;
      nchan_channel_id $a $b;
      nchan_subscriber_first_message newest;
    }

    location = /nchan_status`;

export const nchan: Peer = {
  name: 'nchan',
  scales: true,
  version() {
    try {
      // `dpkg-query -W` prints the package name, a tab, its version.
      const out = execFileSync('dpkg-query', ['-W', 'libnginx-mod-nchan'], { encoding: 'utf8' });
      return out.trim().split('\t')[1] ?? 'unknown';
    } catch {
      return 'unknown';
    }
  },
  missing: () =>
    onPath('nginx') && existsSync(MODULE)
      ? undefined
      : 'install it with: apt-get install -y nginx libnginx-mod-nchan',
  // worker_connections 19,900 per worker (set below), less a margin for the publisher and nchan itself.
  capacity: (workers) => workers * 19_400,
  async start({ core, workers, scratch }: StartOptions): Promise<RunningPeer> {
    const host = '127.0.0.1';
    const port = await freePort();
    const dir = join(scratch, 'nchan');
    mkdirSync(join(dir, 'tmp'), { recursive: true });
    // nginx started as root runs its workers as nobody: they must be able to write the temp folders.
    execFileSync('chmod', ['-R', '777', scratch]);
    const conf = readFileSync(TEMPLATE, 'utf8')
      .replaceAll('@DIR@', scratch)
      .replace('127.0.0.1:8090', `${host}:${port}`)
      .replace(/worker_processes \d+;/, `worker_processes ${workers};`)
      // 19,500 slots gave "worker_connections are not enough" at 19,000 subscribers: nchan holds a
      // few more per worker. The files limit (20,000) still bounds it.
      .replace(/worker_connections \d+;/, 'worker_connections 19900;')
      .replace('\n    location = /nchan_status', MULTIPLEX);
    const confPath = join(dir, 'nginx.conf');
    writeFileSync(confPath, conf);
    const child = spawnPinned(
      core,
      'nginx',
      ['-p', dir, '-c', confPath, '-e', join(dir, 'error.log')],
      'nchan',
    );
    try {
      await waitForPort(host, port, child);
    } catch (error) {
      await stopProcess(child);
      throw error;
    }
    return {
      host,
      port,
      pids: [child.pid!],
      subscribePath: (topics) =>
        topics === 'shared' ? `/sub/${SHARED}` : `/msub/${OWN_PREFIX}{i}/${SHARED}`,
      publishTarget: { host, port, path: `/pub/${SHARED}`, format: 'raw', topic: SHARED, headers: {} },
      stop: () => stopProcess(child),
    };
  },
};
