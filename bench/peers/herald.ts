/**
 * The Herald hub as users run it, `herald serve` from the build (`dist/`, which `npm run bench`
 * rebuilds first): anonymous subscribers, a publisher JWT signed with a throwaway HS256 key, the
 * memory store, `--workers N` past one process.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import type { Protocol } from '../load/subscribers.js';
import { OWN_PREFIX, type Peer, type RunningPeer, SHARED, type StartOptions } from './peer.js';
import { freePort, ROOT, spawnPinned, stopProcess, waitForPort } from './process.js';

const TOPIC_BASE = 'https://bench.example/topics/';

/**
 * The hub over one of its transports: `herald` (event streams), `herald-ws`, `herald-poll`; with
 * `noDelay`, `herald-nodelay`: event streams with `--tcp-nodelay` (Nagle's algorithm off), for the
 * comparison that chose the default.
 */
function heraldOver(protocol: Protocol, noDelay = false, root = ROOT, label?: string): Peer {
  return {
    name: label ?? (protocol === 'sse' ? (noDelay ? 'herald-nodelay' : 'herald') : `herald-${protocol}`),
    ...(protocol !== 'sse' && { suite: 'transports' as const }),
    ...(noDelay && {
      optIn:
        'the Nagle comparison: --only herald,herald-nodelay,nchan --scenarios fanout-1k-100,fanout-1k-1000',
    }),
    scales: true,
    version: () =>
      (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version,
    missing: () => undefined,
    // One process holds < 20,000 files; keep room for the listener, the publisher and the IPC channel.
    capacity: (workers) => workers * 19_000,
    async start({ core, workers, cpuProfileDir, node }: StartOptions): Promise<RunningPeer> {
      const host = '127.0.0.1';
      const port = await freePort();
      const key = randomBytes(32).toString('hex');
      const token = await new SignJWT({ mercure: { publish: ['*'] } })
        .setProtectedHeader({ alg: 'HS256' })
        .sign(new TextEncoder().encode(key));
      const flags = cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [];
      const args = [
        ...flags,
        // As the `herald` command starts it (the shebang of src/cli/main.ts).
        '--max-semi-space-size=2',
        join(root, 'dist/cli/main.js'),
        'serve',
        '--host',
        host,
        '--port',
        String(port),
      ];
      args.push('--jwt-key', key, '--anonymous', '--log-level', 'warn');
      if (workers > 1) args.push('--workers', String(workers));
      if (noDelay) args.push('--tcp-nodelay');
      const child = spawnPinned(core, node, args, 'herald');
      try {
        await waitForPort(host, port, child, 30_000 * workers);
        await waitForHealthy(host, port, workers);
      } catch (error) {
        await stopProcess(child);
        throw error;
      }
      const shared = encodeURIComponent(TOPIC_BASE + SHARED);
      const own = encodeURIComponent(`${TOPIC_BASE}${OWN_PREFIX}/`);
      const poll = protocol === 'poll' ? '&transport=poll' : '';
      return {
        host,
        port,
        pids: [child.pid!],
        protocol,
        subscribePath: (topics) =>
          topics === 'shared'
            ? `/.well-known/mercure?topic=${shared}${poll}`
            : `/.well-known/mercure?topic=${own}{i}&topic=${shared}${poll}`,
        publishTarget: {
          host,
          port,
          path: '/.well-known/mercure',
          format: 'mercure',
          topic: TOPIC_BASE + SHARED,
          headers: { authorization: `Bearer ${token}` },
        },
        batchTarget: {
          host,
          port,
          path: '/.well-known/mercure',
          format: 'mercure',
          topic: TOPIC_BASE + SHARED,
          topicPrefix: `${TOPIC_BASE}${OWN_PREFIX}/`,
          headers: { authorization: `Bearer ${token}` },
        },
        stop: () => stopProcess(child),
      };
    },
  };
}

export const herald = heraldOver('sse');
export const heraldWs = heraldOver('ws');
export const heraldPoll = heraldOver('poll');
export const heraldNoDelay = heraldOver('sse', true);
/**
 * `--baseline DIR`: the hub built in another checkout (its `dist/`, built there beforehand), as
 * `herald-base`, for before/after figures of a change from one run.
 */
export const heraldBaseline = (root: string): Peer => heraldOver('sse', false, root, 'herald-base');

/**
 * With workers, the port answers as soon as the first worker listens: ask /healthz until as many
 * different worker processes have answered... which the hub does not say, so ask it a few times per
 * worker, spaced out, and give the rest a moment.
 */
async function waitForHealthy(host: string, port: number, workers: number): Promise<void> {
  for (let i = 0; i < workers * 3; i++) {
    const res = await fetch(`http://${host}:${port}/healthz`).catch(() => undefined);
    await res?.body?.cancel();
    if (!res?.ok) i--;
    await new Promise((r) => setTimeout(r, workers > 1 ? 200 : 0));
  }
}
