/**
 * The demo served by `herald serve --demo`: pages from `web/` (a live front page, a clock, a stock
 * ticker, a notifications feed, a build log, and why SSE), the client bundle they import, and the
 * publishers behind them.
 *
 * @example
 * const demo = await mountDemo(hub, { publisherKey: secret });
 * http.createServer((req, res) => hub.handle(req, res, () => demo.handle(req, res)));
 */
// Both response kinds take writeHead(status, headers); TypeScript cannot call the union's overloads.
import type { ServerResponse } from 'node:http';
import { SignJWT } from 'jose';
import type { NodeRequest, NodeServerResponse } from '../../server/index.js';
import type { Hub } from '../hub.js';
import { HUB_PATH } from '../options.js';
import { readBenchFigures } from './bench-figures.js';
import { type BuildLogPace, type BuildLogState, DEFAULT_BUILD_LOG_PACE, startBuildLog } from './build-log.js';
import { startClock } from './clock.js';
import { createDropHandler, ownTransportStats, startComparePublisher, sumTransportStats } from './compare.js';
import { loadClientBundle, loadStaticFiles, serveStatic, WEB_ROOT } from './static-files.js';
import { type HubCounters, ownCounters, startStats } from './stats.js';
import { startTicker, Ticker } from './ticker.js';
import { DEMO_TOPICS } from './topics.js';

export { DEMO_TOPICS } from './topics.js';

export interface DemoOptions {
  /**
   * The HMAC secret publishers sign with. With it, the notifications page gets a token allowed to
   * publish on the notifications topic only; without it the form is disabled.
   */
  publisherKey?: string;
  /** HMAC algorithm of that key. Default: `HS256`. */
  algorithm?: string;
  /**
   * Whether this process runs the clock, ticker and stats publishers. With `--workers`, exactly one
   * worker should, or every event would be published once per worker. Default: true.
   */
  publishers?: boolean;
  /** The simulated market behind the ticker page and `/demo/ticker.json`. Default: a new one. */
  ticker?: Ticker;
  /** The client bundle to serve as `/herald-client.js`; default: `dist/browser/herald-client.js`. */
  clientBundle?: string;
  /** Pace of the simulated build log (tests speed it up). */
  buildLog?: Partial<BuildLogPace>;
  /**
   * With `--workers`: runs a demo action in every worker of the group and resolves with their
   * answers (`WorkerLink.callGroup`), each worker answering with `demoGroupAction(hub, action)`. The
   * drop button and the transport counters then cover the whole group, not only the worker that
   * took the request. Default: this process alone.
   */
  everyWorker?: (action: DemoGroupAction) => Promise<unknown[]>;
  /** Where publisher failures are reported. Default: the hub's logger. */
  onError?: (error: unknown) => void;
}

export interface Demo {
  /** Serves a demo path; anything else gets 404. */
  handle(req: NodeRequest, res: NodeServerResponse): void;
  /** Stops the publishers. */
  close(): void;
}

/** The demo's actions that concern every worker of a group. */
export type DemoGroupAction = 'drop' | 'transports' | 'stats';

/** What a worker does when a group call names a demo action: its answer, summed by the caller. */
export function demoGroupAction(hub: Hub, action: DemoGroupAction): unknown {
  if (action === 'drop') return hub.disconnectSubscribers();
  return action === 'transports' ? ownTransportStats(hub) : ownCounters(hub);
}

/** The group's counters: every worker's summed (a worker that did not answer counts as none). */
async function groupCounters(everyWorker: NonNullable<DemoOptions['everyWorker']>): Promise<HubCounters> {
  const sum: HubCounters = { connections: 0, published: 0, delivered: 0 };
  for (const report of (await everyWorker('stats')) as (HubCounters | undefined)[]) {
    if (report === undefined || report === null) continue;
    sum.connections += report.connections;
    sum.published += report.published;
    sum.delivered += report.delivered;
  }
  return sum;
}

/** How long the notifications page's token lives: the page fetches a fresh one on every load. */
const NOTIFY_TOKEN_LIFETIME = '12h';

/** Starts the demo publishers and returns the request handler for its pages. */
export async function mountDemo(hub: Hub, options: DemoOptions = {}): Promise<Demo> {
  const onError =
    options.onError ??
    ((error: unknown) => hub.options.logger?.warn({ err: error }, 'demo publisher failed'));
  // The comparison page shows wire bytes per update: every subscriber's socket bytes, from now on.
  hub.metrics.wire.enabled = true;
  const files = loadStaticFiles(WEB_ROOT);
  const bundle =
    options.clientBundle !== undefined
      ? new Map([
          [
            '/herald-client.js',
            { body: Buffer.from(options.clientBundle), type: 'text/javascript; charset=utf-8' },
          ],
        ])
      : loadClientBundle();
  for (const [path, file] of bundle) files.set(path, file);

  const ticker = options.ticker ?? new Ticker();
  const build: BuildLogState = { topic: null, build: 0 };
  const stops: Array<() => void> = [];
  if (options.publishers ?? true) {
    stops.push(
      startClock(hub, onError),
      startTicker(hub, ticker, onError),
      options.everyWorker === undefined
        ? startStats(hub, onError)
        : startStats(hub, onError, () => groupCounters(options.everyWorker!)),
      startComparePublisher(hub, onError),
    );
    stops.push(startBuildLog(hub, build, { ...DEFAULT_BUILD_LOG_PACE, ...options.buildLog }, onError));
  }

  const notifyToken =
    options.publisherKey === undefined
      ? null
      : await new SignJWT({ mercure: { publish: [DEMO_TOPICS.notifications] } })
          .setProtectedHeader({ alg: options.algorithm ?? 'HS256', typ: 'JWT' })
          .setIssuedAt()
          .setExpirationTime(NOTIFY_TOKEN_LIFETIME)
          .sign(new TextEncoder().encode(options.publisherKey));

  const everyWorker = options.everyWorker;
  const drop = createDropHandler(
    hub,
    Date.now,
    everyWorker === undefined
      ? async () => hub.disconnectSubscribers()
      : async () => (await everyWorker('drop')).reduce<number>((sum, n) => sum + (Number(n) || 0), 0),
  );
  const json = (res: NodeServerResponse, body: unknown) => {
    const text = JSON.stringify(body);
    (res as ServerResponse).writeHead(200, {
      'Content-Type': 'application/json; charset=utf-8',
      'Cache-Control': 'no-store',
    });
    res.end(text);
  };

  return {
    handle(req, res) {
      const path = new URL(req.url ?? '/', 'http://demo.invalid').pathname;
      if (path === '/demo/config.json') {
        // retryMs: the reconnection time the hub's event streams announce (`retry:`), which the
        // comparison page gives every transport so that they reconnect under one policy.
        return json(res, { hub: HUB_PATH, topics: DEMO_TOPICS, notifyToken, retryMs: hub.options.retryMs });
      }
      if (path === '/demo/bench.json') {
        readBenchFigures().then(
          (figures) => json(res, figures),
          (error: Error) => {
            (res as ServerResponse).writeHead(404, {
              'Content-Type': 'application/json; charset=utf-8',
              'Cache-Control': 'no-store',
            });
            res.end(JSON.stringify({ error: `no transports benchmark results: ${error.message}` }));
          },
        );
        return;
      }
      if (path === '/demo/ticker.json') return json(res, { quotes: ticker.snapshot() });
      if (path === '/demo/transports.json') {
        if (everyWorker === undefined) return json(res, ownTransportStats(hub));
        everyWorker('transports').then(
          (reports) => json(res, sumTransportStats(reports)),
          // The primary did not answer: this worker's figures rather than none.
          () => json(res, ownTransportStats(hub)),
        );
        return;
      }
      if (path === '/demo/drop') return drop(req, res);
      if (path === '/demo/build.json') {
        const url =
          build.topic === null ? null : `${HUB_PATH}/streams?topic=${encodeURIComponent(build.topic)}`;
        return json(res, { build: build.build, topic: build.topic, url });
      }
      if (path === '/herald-client.js' && !files.has(path)) {
        (res as ServerResponse).writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('the browser bundle of herald/client is missing: run `npm run build`\n');
        return;
      }
      if (serveStatic(files, req, res, path)) return;
      (res as ServerResponse).writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`not found: ${path}\n`);
    },
    close() {
      for (const stop of stops.splice(0)) stop();
    },
  };
}
