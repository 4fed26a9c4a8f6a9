/** A plain `ws` broadcast server (bench/peers/ws-broadcast-server.ts): the WebSocket peer of the hub. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Peer, type RunningPeer, SHARED, type StartOptions } from './peer.js';
import { freePort, ROOT, spawnPinned, stopProcess, waitForPort } from './process.js';

export const wsBroadcast: Peer = {
  name: 'ws',
  suite: 'transports',
  scales: false,
  version() {
    try {
      const file = join(ROOT, 'node_modules', 'ws', 'package.json');
      return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  },
  missing: () => undefined,
  capacity: () => 19_500,
  async start({ core, node }: StartOptions): Promise<RunningPeer> {
    const host = '127.0.0.1';
    const port = await freePort();
    const args = ['--import', 'tsx', join(ROOT, 'bench/peers/ws-broadcast-server.ts'), String(port)];
    const child = spawnPinned(core, node, args, 'ws');
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
      protocol: 'ws',
      subscribePath: () => '/sub',
      publishTarget: { host, port, path: `/pub/${SHARED}`, format: 'raw', topic: SHARED, headers: {} },
      stop: () => stopProcess(child),
    };
  },
};
