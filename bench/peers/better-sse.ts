/** better-sse (devDependency) in a one-process node:http server: bench/peers/better-sse-server.ts. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { OWN_PREFIX, type Peer, type RunningPeer, SHARED, type StartOptions } from './peer.js';
import { freePort, ROOT, spawnPinned, stopProcess, waitForPort } from './process.js';

const require = createRequire(import.meta.url);

export const betterSse: Peer = {
  name: 'better-sse',
  scales: false,
  version() {
    try {
      // Its package.json is not exported: read the file.
      const file = join(ROOT, 'node_modules', 'better-sse', 'package.json');
      return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  },
  missing() {
    try {
      require.resolve('better-sse');
      return undefined;
    } catch {
      return 'install it with: npm install --no-save better-sse';
    }
  },
  capacity: () => 19_500,
  async start({ core, node }: StartOptions): Promise<RunningPeer> {
    const host = '127.0.0.1';
    const port = await freePort();
    const args = ['--import', 'tsx', join(ROOT, 'bench/peers/better-sse-server.ts'), String(port)];
    const child = spawnPinned(core, node, args, 'better-sse');
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
        topics === 'shared' ? `/sub?topic=${SHARED}` : `/sub?topic=${OWN_PREFIX}{i}&topic=${SHARED}`,
      publishTarget: { host, port, path: `/pub/${SHARED}`, format: 'raw', topic: SHARED, headers: {} },
      stop: () => stopProcess(child),
    };
  },
};
