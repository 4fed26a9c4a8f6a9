/**
 * Pushpin (the GRIP proxy) in front of a tiny origin (pushpin-origin.ts): subscribers GET through
 * Pushpin, which asks the origin and holds the stream; events are published to Pushpin's HTTP publish
 * endpoint. Its config is the packaged one with ports, run and log folders moved to the scratch
 * folder. Only Pushpin's processes are measured: the origin sees one request per subscriber and
 * nothing after.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OWN_PREFIX, type Peer, type RunningPeer, SHARED, type StartOptions } from './peer.js';
import { freePort, onPath, ROOT, spawnPinned, stopProcess, waitForPort } from './process.js';

const PACKAGED_CONF = '/etc/pushpin/pushpin.conf';
/** The handler's HTTP publish port before `port_offset` (pushpin.conf, [handler] push_in_http_port). */
const PUBLISH_PORT = 5561;

export const pushpin: Peer = {
  name: 'pushpin',
  scales: false,
  // Seen on Debian 12's pushpin 1.36: the proxy logs its request to the origin ("zhttp client: OUT")
  // but neither condure nor zurl opens the connection, and every subscriber gets 502 after 5 s.
  optIn:
    'installed, but its proxy never reached the origin here (502 Bad Gateway on every subscribe); run it with --only pushpin',
  version() {
    try {
      return execFileSync('pushpin', ['--version'], { encoding: 'utf8' })
        .trim()
        .replace(/^pushpin /, '');
    } catch {
      return 'unknown';
    }
  },
  missing: () => (onPath('pushpin') ? undefined : 'install it with: apt-get install -y pushpin'),
  // condure's client limit is 50,000, but one process holds < 20,000 files.
  capacity: () => 19_000,
  async start({ core, scratch }: StartOptions): Promise<RunningPeer> {
    const host = '127.0.0.1';
    const port = await freePort();
    const originPort = await freePort();
    // Moves every internal port (5560-5563 and the rest) away from a concurrent run's.
    const offset = 1000 + Math.floor(Math.random() * 3000);
    const dir = join(scratch, 'pushpin');
    mkdirSync(join(dir, 'run'), { recursive: true });
    mkdirSync(join(dir, 'log'), { recursive: true });
    const conf = readFileSync(PACKAGED_CONF, 'utf8')
      .replace(/^rundir=.*$/m, `rundir=${join(dir, 'run')}`)
      .replace(/^logdir=.*$/m, `logdir=${join(dir, 'log')}`)
      .replace(/^port_offset=.*$/m, `port_offset=${offset}`)
      .replace(/^http_port=.*$/m, `http_port=${port}`)
      .replace(/^routesfile=.*$/m, `routesfile=${join(dir, 'routes')}`);
    writeFileSync(join(dir, 'pushpin.conf'), conf);
    writeFileSync(join(dir, 'routes'), `* ${host}:${originPort}\n`);
    const origin = spawnPinned(
      core,
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'bench/peers/pushpin-origin.ts'), String(originPort)],
      'pushpin-origin',
    );
    let proxy: ChildProcess | undefined;
    try {
      await waitForPort(host, originPort, origin);
      proxy = spawnPinned(core, 'pushpin', ['--config', join(dir, 'pushpin.conf')], 'pushpin');
      await waitForPort(host, port, proxy);
      await waitForPort(host, PUBLISH_PORT + offset, proxy);
    } catch (error) {
      if (proxy) await stopProcess(proxy);
      await stopProcess(origin);
      throw error;
    }
    const running = proxy;
    return {
      host,
      port,
      pids: [running.pid!],
      subscribePath: (topics) =>
        topics === 'shared' ? `/sub?c=${SHARED}` : `/sub?c=${OWN_PREFIX}{i},${SHARED}`,
      publishTarget: {
        host,
        port: PUBLISH_PORT + offset,
        path: '/publish/',
        format: 'pushpin',
        topic: SHARED,
        headers: {},
      },
      async stop() {
        await stopProcess(running);
        await stopProcess(origin);
      },
    };
  },
};
