/**
 * Runs the conformance cases of ./conformance.ts: one node:http server on port 0 serves a test page,
 * the client bundle and each case's endpoints under /c/<run>/; a second server (another port, so
 * another origin) serves the same endpoints for cross-origin cases. A case's client function runs
 * either here in Node or, stringified, inside a Chromium page, against Herald's EventSource or the
 * browser's own.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import type { EventSource } from '../../src/client/index.js';
import type { CaseState, ClientContext, ConformanceCase, RecordedRequest } from './conformance.js';

/** How long one case may run before its log is returned as it stands (and the check fails). */
const CASE_TIMEOUT_MS = 5000;

export interface ConformanceServer {
  /** e.g. http://127.0.0.1:40123 */
  origin: string;
  crossOrigin: string;
  /** Registers a run of a case and returns the base URL path of its endpoints, `/c/<run>/`. */
  register(testCase: ConformanceCase): { path: string; state: CaseState };
  close(): Promise<void>;
}

function decodeLatin1AsUtf8(value: string): string {
  return Buffer.from(value, 'latin1').toString('utf8');
}

function recordOf(req: IncomingMessage, server: 'main' | 'cross', rest: string): RecordedRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers[name] = value;
  }
  const lastEventId = headers['last-event-id'];
  return {
    method: req.method ?? 'GET',
    path: rest,
    server,
    headers,
    lastEventId: lastEventId === undefined ? null : decodeLatin1AsUtf8(lastEventId),
  };
}

/** Starts the two servers. `bundle` is the client bundle served as /herald-client.js. */
export async function startConformanceServer(bundle = ''): Promise<ConformanceServer> {
  const runs = new Map<string, { testCase: ConformanceCase; state: CaseState }>();
  let nextRun = 0;
  const sockets = new Set<import('node:net').Socket>();

  function handle(server: 'main' | 'cross', req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    if (server === 'main' && url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        '<!doctype html><meta charset="utf-8"><title>herald client conformance</title>' +
          '<script type="module">import * as Herald from "/herald-client.js"; ' +
          'window.Herald = Herald; window.heraldReady = true;</script>',
      );
      return;
    }
    if (server === 'main' && url.pathname === '/herald-client.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      res.end(bundle);
      return;
    }
    const match = /^\/c\/(\d+)\/(.*)$/.exec(url.pathname);
    const run = match ? runs.get(match[1]!) : undefined;
    if (!match || !run) {
      res.writeHead(404).end();
      return;
    }
    const record = recordOf(req, server, match[2]! + url.search);
    run.state.requests.push(record);
    run.testCase.serve(req, res, run.state, record);
  }

  const main = createServer((req, res) => handle('main', req, res));
  const cross = createServer((req, res) => handle('cross', req, res));
  for (const server of [main, cross]) {
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  }
  const originOf = (server: Server): string => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const origin = originOf(main);
  const crossOrigin = originOf(cross);

  return {
    origin,
    crossOrigin,
    register(testCase) {
      const id = String(nextRun++);
      const path = `/c/${id}/`;
      const state: CaseState = {
        requests: [],
        url: `${origin}${path}`,
        crossUrl: `${crossOrigin}${path}`,
        origin,
        crossOrigin,
        data: {},
      };
      runs.set(id, { testCase, state });
      return { path, state };
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await Promise.all([main, cross].map((s) => new Promise((resolve) => s.close(resolve))));
    },
  };
}

/** What a case's client function returned, or its log so far when it timed out. */
export interface CaseResult {
  log: string[];
  timedOut: boolean;
}

/** Runs a case's client in this Node process against `EventSourceClass`. */
export async function runInNode(
  testCase: ConformanceCase,
  state: CaseState,
  EventSourceClass: typeof EventSource,
): Promise<CaseResult> {
  const sources: { close(): void }[] = [];
  const log: string[] = [];
  const ctx: ClientContext = {
    url: state.url,
    crossUrl: state.crossUrl,
    origin: state.origin,
    crossOrigin: state.crossOrigin,
    browser: false,
    log,
    track: (source) => {
      sources.push(source);
      return source;
    },
    wait: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), CASE_TIMEOUT_MS);
  });
  try {
    const outcome = await Promise.race([testCase.client(EventSourceClass, ctx), timeout]);
    return { log, timedOut: outcome === 'timeout' };
  } finally {
    clearTimeout(timer);
    for (const source of sources) source.close();
  }
}

/** Which EventSource a page run uses: Herald's bundle or the browser's own. */
export type PageImplementation = 'herald' | 'native';

/** Runs a case's client inside `page` (already on the test page). */
export async function runInPage(
  page: Page,
  testCase: ConformanceCase,
  state: CaseState,
  implementation: PageImplementation,
): Promise<CaseResult> {
  return page.evaluate(
    async ({ code, implementation, state, timeoutMs }) => {
      // tsx may wrap named functions in __name(); a no-op here.
      (globalThis as Record<string, unknown>).__name = (f: unknown) => f;
      const client = new Function(`return (${code});`)() as ConformanceCase['client'];
      const win = globalThis as unknown as { Herald: { EventSource: unknown }; EventSource: unknown };
      const EventSourceClass = (
        implementation === 'native' ? win.EventSource : win.Herald.EventSource
      ) as never;
      const sources: { close(): void }[] = [];
      const log: string[] = [];
      const ctx: ClientContext = {
        url: state.url,
        crossUrl: state.crossUrl,
        origin: state.origin,
        crossOrigin: state.crossOrigin,
        browser: true,
        log,
        track: (source) => {
          sources.push(source);
          return source;
        },
        wait: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      };
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      try {
        const outcome = await Promise.race([client(EventSourceClass, ctx), timeout]);
        return { log, timedOut: outcome === 'timeout' };
      } catch (error) {
        log.push(`threw:${String(error)}`);
        return { log, timedOut: false };
      } finally {
        clearTimeout(timer);
        for (const source of sources) source.close();
      }
    },
    {
      code: testCase.client.toString(),
      implementation,
      state: { ...state, requests: [], data: {} },
      timeoutMs: CASE_TIMEOUT_MS,
    },
  );
}
