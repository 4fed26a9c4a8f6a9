/**
 * The conformance suite of herald/client: each case is an endpoint (run by the test server in Node)
 * and a client function that drives an EventSource and writes what it saw to a log. The same case
 * runs in Node (./node.test.ts) and in Chromium (./chromium.test.ts), there against Herald's bundle
 * and against the browser's own EventSource, which proves the expectations are the standard's.
 *
 * Client functions are stringified into the page: they must be arrow functions that use nothing
 * from this module, only their arguments.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventSource } from '../../src/client/index.js';

/** One request the test server received for a case. */
export interface RecordedRequest {
  method: string;
  /** The path after /c/<run>/, with the query. */
  path: string;
  server: 'main' | 'cross';
  headers: Record<string, string>;
  /** The Last-Event-ID header decoded as UTF-8, or null when absent. */
  lastEventId: string | null;
}

/** The server side of one run of a case. */
export interface CaseState {
  requests: RecordedRequest[];
  /** The case's base URL on the page's origin, and on the other origin; both end with '/'. */
  url: string;
  crossUrl: string;
  origin: string;
  crossOrigin: string;
  /** Free state for the case's endpoint. */
  data: Record<string, unknown>;
}

/** What a client function gets. */
export interface ClientContext {
  url: string;
  crossUrl: string;
  origin: string;
  crossOrigin: string;
  browser: boolean;
  log: string[];
  /** Registers a source to close when the case ends, and returns it. */
  track<T extends { close(): void }>(source: T): T;
  wait(ms: number): Promise<void>;
}

/** Where a case runs. */
export interface CaseEnvironment {
  browser: boolean;
  implementation: 'herald' | 'native';
}

export interface ConformanceCase {
  name: string;
  /** Run only in this environment. */
  only?: 'node' | 'browser';
  /** Why the browser's own EventSource is not run on this case (a Herald extension, say). */
  skipNative?: string;
  serve(req: IncomingMessage, res: ServerResponse, state: CaseState, request: RecordedRequest): void;
  client: (ES: typeof EventSource, ctx: ClientContext) => Promise<unknown>;
  expected: string[] | ((env: CaseEnvironment) => string[]);
  /** Assertions on what the server received, after the client finished. */
  checkRequests?(requests: RecordedRequest[], env: CaseEnvironment): void;
}

const EVENT_STREAM = { 'content-type': 'text/event-stream', 'cache-control': 'no-store' };

/** Answers with an event stream: writes `text`, then ends the response when `end` is true. */
function stream(res: ServerResponse, text: string, end = false): void {
  res.writeHead(200, EVENT_STREAM);
  if (end) res.end(text);
  else res.write(text);
}

/** CORS headers allowing the requesting page, with credentials. */
function corsHeaders(req: IncomingMessage): Record<string, string> {
  const origin = req.headers.origin;
  return origin === undefined
    ? {}
    : { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true' };
}

function count(state: CaseState): number {
  return state.requests.length;
}

function assertEqual(actual: unknown, expected: unknown, what: string): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

export const cases: ConformanceCase[] = [
  {
    name: 'opens, then dispatches a MessageEvent with data, lastEventId and origin, handlers bound to the source',
    serve(_req, res) {
      stream(res, 'id: 7\ndata: hello\ndata: world\n\n');
    },
    client: async (ES, ctx) => {
      const log = ctx.log;
      const es = ctx.track(new ES(`${ctx.url}stream`));
      log.push(`constants:${ES.CONNECTING}${ES.OPEN}${ES.CLOSED}${es.CONNECTING}${es.OPEN}${es.CLOSED}`);
      log.push(`initial:${es.readyState}:${es.url === `${ctx.url}stream`}:${es.withCredentials}`);
      log.push(`eventtarget:${es instanceof EventTarget}`);
      await new Promise<void>((resolve) => {
        es.onopen = function (this: unknown, e: Event) {
          log.push(`open:${es.readyState}:${this === es}:${e.currentTarget === es}:${e.type}`);
        };
        es.onmessage = function (this: unknown, e: MessageEvent) {
          log.push(
            `message:${JSON.stringify(e.data)}:${e.lastEventId}:${e.origin === ctx.origin}:${this === es}:${e.currentTarget === es}:${e instanceof MessageEvent}`,
          );
          resolve();
        };
      });
      es.close();
      es.close();
      log.push(`closed:${es.readyState}`);
    },
    expected: [
      'constants:012012',
      'initial:0:true:false',
      'eventtarget:true',
      'open:1:true:true:open',
      'message:"hello\\nworld":7:true:true:true:true',
      'closed:2',
    ],
    checkRequests(requests) {
      assertEqual(requests.length, 1, 'requests');
      const headers = requests[0]!.headers;
      assertEqual(headers.accept, 'text/event-stream', 'Accept');
      // Fetch adds both for the no-store cache mode the standard sets (HTTP-network-or-cache fetch).
      assertEqual(headers['cache-control'], 'no-cache', 'Cache-Control');
      assertEqual(headers.pragma, 'no-cache', 'Pragma');
      assertEqual(requests[0]!.lastEventId, null, 'Last-Event-ID on the first request');
    },
  },
  {
    name: 'runs onmessage in its place among listeners; setting it to null and back moves it last',
    serve(_req, res) {
      stream(res, 'data: 1\n\ndata: 2\n\ndata: 3\n\n');
    },
    client: async (ES, ctx) => {
      const log = ctx.log;
      const es = ctx.track(new ES(`${ctx.url}stream`));
      await new Promise<void>((resolve) => {
        es.addEventListener('message', (e) => log.push(`A${e.data}`));
        es.onmessage = (e) => log.push(`B${e.data}`);
        es.addEventListener('message', (e) => {
          log.push(`C${e.data}`);
          if (e.data === '1') es.onmessage = (e2) => log.push(`B2-${e2.data}`);
          if (e.data === '2') {
            es.onmessage = null;
            es.onmessage = (e3) => log.push(`B3-${e3.data}`);
          }
          // After this dispatch ends: a browser runs microtasks between listeners.
          if (e.data === '3') setTimeout(resolve, 0);
        });
      });
      log.push(`handler:${typeof es.onmessage}`);
      es.onmessage = null;
      log.push(`handler:${es.onmessage}`);
    },
    expected: ['A1', 'B1', 'C1', 'A2', 'B2-2', 'C2', 'A3', 'C3', 'B3-3', 'handler:function', 'handler:null'],
  },
  {
    name: 'dispatches named events to their listeners; an empty or absent event name means message',
    serve(_req, res) {
      stream(
        res,
        'event: price\ndata: 1\n\nevent: message\ndata: 2\n\nevent:\ndata: 3\n\nevent: Price\ndata: 4\n\n' +
          ': a comment\nevent: done\ndata\n\n',
      );
    },
    client: async (ES, ctx) => {
      const log = ctx.log;
      const es = ctx.track(new ES(`${ctx.url}stream`));
      await new Promise<void>((resolve) => {
        es.onmessage = (e) => log.push(`onmessage:${e.type}:${e.data}`);
        es.addEventListener('price', (e) => log.push(`price:${(e as MessageEvent).data}`));
        es.addEventListener('Price', (e) => log.push(`Price:${(e as MessageEvent).data}`));
        es.addEventListener('done', (e) => {
          log.push(`done:${JSON.stringify((e as MessageEvent).data)}`);
          resolve();
        });
      });
    },
    expected: ['price:1', 'onmessage:message:2', 'onmessage:message:3', 'Price:4', 'done:""'],
  },
  {
    name: 'parses the stream format: BOM, CR/LF/CRLF, comments, spaces, unknown fields, events without data',
    serve(_req, res) {
      stream(
        res,
        '\uFEFFdata: a\r\ndata:b\r\rdata:  c\n\n: comment\ndata: d\nid: 1\nunknown: x\ndata\n\n' +
          'event: nodata\n\nretry: 5000\ndata: e\n\n',
      );
    },
    client: async (ES, ctx) => {
      const log = ctx.log;
      const es = ctx.track(new ES(`${ctx.url}stream`));
      await new Promise<void>((resolve) => {
        es.addEventListener('nodata', () => log.push('nodata'));
        es.onmessage = (e) => {
          log.push(`${e.type}:${JSON.stringify(e.data)}:${e.lastEventId}`);
          if (e.data === 'e') resolve();
        };
      });
    },
    expected: ['message:"a\\nb":', 'message:" c":', 'message:"d\\n":1', 'message:"e":1'],
  },
  {
    name: 'reconnects after the body ends, after the retry: time, with a non-ASCII Last-Event-ID',
    serve(_req, res, state) {
      if (count(state) === 1) stream(res, 'retry: 20\nid: 1\ndata: a\n\nid: ünï€😀\ndata: b\n\n', true);
      else if (count(state) === 2) stream(res, 'data: c\n\n');
      else res.writeHead(204).end();
    },
    client: async (ES, ctx) => {
      const log = ctx.log;
      const es = ctx.track(new ES(`${ctx.url}stream`));
      await new Promise<void>((resolve) => {
        es.onopen = () => log.push(`open:${es.readyState}`);
        es.onerror = () => log.push(`error:${es.readyState}`);
        es.onmessage = (e) => {
          log.push(`message:${e.data}:${e.lastEventId}`);
          if (e.data === 'c') resolve();
        };
      });
    },
    expected: ['open:1', 'message:a:1', 'message:b:ünï€😀', 'error:0', 'open:1', 'message:c:ünï€😀'],
    checkRequests(requests) {
      assertEqual(
        requests.map((r) => r.lastEventId),
        [null, 'ünï€😀'],
        'Last-Event-ID of each request',
      );
    },
  },
  {
    name: 'omits Last-Event-ID after an empty id: field; ignores an id holding NUL',
    serve(_req, res, state) {
      if (count(state) === 1) stream(res, 'retry: 20\nid: 1\ndata: a\n\nid\ndata: b\n\n', true);
      else if (count(state) === 2) stream(res, 'id: x\0y\ndata: c\n\n', true);
      else stream(res, 'data: d\n\n');
    },
    client: async (ES, ctx) => {
      const log = ctx.log;
      const es = ctx.track(new ES(`${ctx.url}stream`));
      await new Promise<void>((resolve) => {
        es.onerror = () => log.push(`error:${es.readyState}`);
        es.onmessage = (e) => {
          log.push(`message:${e.data}:${JSON.stringify(e.lastEventId)}`);
          if (e.data === 'd') resolve();
        };
      });
    },
    expected: ['message:a:"1"', 'message:b:""', 'error:0', 'message:c:""', 'error:0', 'message:d:""'],
    checkRequests(requests) {
      assertEqual(
        requests.map((r) => r.lastEventId),
        [null, null, null],
        'Last-Event-ID of each request',
      );
    },
  },
  {
    name: 'reconnects after a network error mid-stream',
    serve(_req, res, state) {
      if (count(state) === 1) {
        stream(res, 'retry: 20\nid: n1\ndata: a\n\n');
        // Late enough for the page to have read the event: a fetch body stream that errors drops
        // the chunks it still holds.
        setTimeout(() => res.socket?.destroy(), 200);
      } else stream(res, 'data: b\n\n');
    },
    client: async (ES, ctx) => {
      const log = ctx.log;
      const es = ctx.track(new ES(`${ctx.url}stream`));
      await new Promise<void>((resolve) => {
        es.onopen = () => log.push(`open:${es.readyState}`);
        es.onerror = () => log.push(`error:${es.readyState}`);
        es.onmessage = (e) => {
          log.push(`message:${e.data}:${e.lastEventId}`);
          if (e.data === 'b') resolve();
        };
      });
    },
    expected: ['open:1', 'message:a:n1', 'error:0', 'open:1', 'message:b:n1'],
    checkRequests(requests) {
      assertEqual(
        requests.map((r) => r.lastEventId),
        [null, 'n1'],
        'Last-Event-ID of each request',
      );
    },
  },
  {
    name: 'follows 301, 302, 303, 307 and 308 redirects; origin is that of the final URL',
    serve(req, res, state, request) {
      const path = request.path;
      const redirect = /^r(30[1378])$/.exec(path);
      if (redirect) res.writeHead(Number(redirect[1]), { location: 'stream' }).end();
      else if (path === 'rcross') res.writeHead(302, { location: `${state.crossUrl}stream` }).end();
      else if (req.method === 'OPTIONS') {
        res
          .writeHead(204, {
            ...corsHeaders(req),
            'access-control-allow-headers': req.headers['access-control-request-headers'] ?? '',
          })
          .end();
      } else {
        res.writeHead(200, { ...EVENT_STREAM, ...corsHeaders(req) });
        res.write(`data: ${request.server}\n\n`);
      }
    },
    client: async (ES, ctx) => {
      const log = ctx.log;
      for (const [path, origin] of [
        ['r301', ctx.origin],
        ['r303', ctx.origin],
        ['r307', ctx.origin],
        ['r308', ctx.origin],
        ['rcross', ctx.crossOrigin],
      ]) {
        const es = ctx.track(new ES(`${ctx.url}${path}`));
        await new Promise<void>((resolve) => {
          es.onerror = () => {
            log.push(`${path}:error:${es.readyState}`);
            resolve();
          };
          es.onmessage = (e) => {
            log.push(`${path}:${e.data}:${e.origin === origin}:${es.url === `${ctx.url}${path}`}`);
            resolve();
          };
        });
        es.close();
      }
    },
    expected: [
      'r301:main:true:true',
      'r303:main:true:true',
      'r307:main:true:true',
      'r308:main:true:true',
      'rcross:cross:true:true',
    ],
  },
  {
    name: 'fails the connection on any status but 200, 204 included: CLOSED, one error, no reconnect',
    serve(_req, res, _state, request) {
      const status = Number(new URL(request.path, 'http://x').searchParams.get('status'));
      res.writeHead(status, EVENT_STREAM);
      res.end(status === 204 ? undefined : 'retry: 10\ndata: no\n\n');
    },
    client: async (ES, ctx) => {
      const log = ctx.log;
      for (const status of [204, 201, 202, 205, 206, 299, 404, 410, 500, 502, 503, 504]) {
        // Herald retries 502, 503 and 504 unless told not to; the native source ignores the option.
        const es = ctx.track(new ES(`${ctx.url}status?status=${status}`, { retryOnStatus: false }));
        await new Promise<void>((resolve) => {
          es.onopen = () => log.push(`${status}:open`);
          es.onmessage = () => log.push(`${status}:message`);
          es.onerror = () => {
            log.push(`${status}:error:${es.readyState}`);
            resolve();
          };
        });
      }
    },
    expected: [204, 201, 202, 205, 206, 299, 404, 410, 500, 502, 503, 504].map(
      (status) => `${status}:error:2`,
    ),
    checkRequests(requests) {
      assertEqual(requests.length, 12, 'one request per status');
    },
  },
  {
    name: 'takes null and undefined as no options; any other value that is not an object is a TypeError',
    serve(_req, res) {
      stream(res, 'data: ok\n\n');
    },
    client: async (ES, ctx) => {
      const log = ctx.log;
      for (const init of [null, undefined]) {
        const es = ctx.track(new ES(`${ctx.url}stream`, init));
        await new Promise<void>((resolve) => {
          es.onmessage = (e) => {
            log.push(`${String(init)}:${e.data}:${es.withCredentials}`);
            resolve();
          };
        });
        es.close();
      }
      for (const init of [5, 'x', true]) {
        try {
          ctx.track(new ES(`${ctx.url}stream`, init as never));
          log.push(`${typeof init}:constructed`);
        } catch (error) {
          log.push(`${typeof init}:${(error as Error).name}`);
        }
      }
    },
    expected: [
      'null:ok:false',
      'undefined:ok:false',
      'number:TypeError',
      'string:TypeError',
      'boolean:TypeError',
    ],
  },
  {
    name: 'after a stream ends, a failing reconnect closes it for good even with a short retry: time',
    serve(_req, res, state) {
      if (count(state) === 1) stream(res, 'retry: 5\ndata: a\n\n', true);
      else res.writeHead(500, { 'content-type': 'text/plain' }).end('down');
    },
    client: async (ES, ctx) => {
      const log = ctx.log;
      const es = ctx.track(new ES(`${ctx.url}stream`));
      await new Promise<void>((resolve) => {
        es.onopen = () => log.push(`open:${es.readyState}`);
        es.onmessage = (e) => log.push(`message:${e.data}`);
        es.onerror = () => {
          log.push(`error:${es.readyState}`);
          if (es.readyState === 2) resolve();
        };
      });
      // Twenty reconnection times: a source that reconnected would have asked again by now.
      await ctx.wait(100);
    },
    expected: ['open:1', 'message:a', 'error:0', 'error:2'],
    checkRequests(requests) {
      assertEqual(requests.length, 2, 'requests');
    },
  },
  {
    name: 'opens only on the text/event-stream media type: case-insensitive, parameters allowed',
    serve(_req, res, _state, request) {
      const type = new URL(request.path, 'http://x').searchParams.get('type')!;
      res.writeHead(200, type === '' ? {} : { 'content-type': type });
      res.end('retry: 10\ndata: ok\n\n');
    },
    client: async (ES, ctx) => {
      const log = ctx.log;
      for (const type of [
        'text/event-stream',
        'Text/Event-Stream',
        'text/event-stream;charset=utf-8',
        'text/event-stream; charset=UTF-8; foo=bar',
        'text/event-stream;',
        'text/event-streamx',
        'text/event-stream-x',
        'text/plain',
        'application/octet-stream',
        '',
      ]) {
        const es = ctx.track(new ES(`${ctx.url}type?type=${encodeURIComponent(type)}`));
        await new Promise<void>((resolve) => {
          es.onmessage = (e) => {
            log.push(`${type}:${e.data}`);
            es.close();
            resolve();
          };
          es.onerror = () => {
            log.push(`${type}:error:${es.readyState}`);
            resolve();
          };
        });
        es.close();
      }
    },
    expected: [
      'text/event-stream:ok',
      'Text/Event-Stream:ok',
      'text/event-stream;charset=utf-8:ok',
      'text/event-stream; charset=UTF-8; foo=bar:ok',
      'text/event-stream;:ok',
      'text/event-streamx:error:2',
      'text/event-stream-x:error:2',
      'text/plain:error:2',
      'application/octet-stream:error:2',
      ':error:2',
    ],
  },
  {
    name: 'throws a SyntaxError DOMException for an invalid URL',
    serve(_req, res) {
      res.writeHead(404).end();
    },
    client: async (ES, ctx) => {
      for (const url of ['http://[::1', 'http://example.com:65536/', 'http://:80/']) {
        try {
          ctx.track(new ES(url));
          ctx.log.push(`${url}:constructed`);
        } catch (error) {
          const e = error as DOMException;
          ctx.log.push(`${url}:${e.name}:${e instanceof DOMException}:${e.code}`);
        }
      }
    },
    expected: [
      'http://[::1:SyntaxError:true:12',
      'http://example.com:65536/:SyntaxError:true:12',
      'http://:80/:SyntaxError:true:12',
    ],
  },
  {
    name: 'fails the connection, asynchronously, for a scheme other than http(s)',
    serve(_req, res) {
      res.writeHead(404).end();
    },
    client: async (ES, ctx) => {
      const es = ctx.track(new ES('ftp://127.0.0.1:1/stream'));
      ctx.log.push(`constructed:${es.readyState}`);
      await new Promise<void>((resolve) => {
        es.onopen = () => ctx.log.push('open');
        es.onerror = () => {
          ctx.log.push(`error:${es.readyState}`);
          resolve();
        };
      });
    },
    expected: ['constructed:0', 'error:2'],
  },
  {
    name: 'close() in a handler stops the rest of the chunk; no error event follows',
    serve(_req, res) {
      stream(res, 'data: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\n');
    },
    client: async (ES, ctx) => {
      const log = ctx.log;
      const es = ctx.track(new ES(`${ctx.url}stream`));
      await new Promise<void>((resolve) => {
        es.onerror = () => log.push('error');
        es.onmessage = (e) => {
          log.push(`message:${e.data}`);
          if (e.data === '2') {
            es.close();
            log.push(`closed:${es.readyState}`);
            resolve();
          }
        };
      });
      await ctx.wait(50);
    },
    expected: ['message:1', 'message:2', 'closed:2'],
  },
  {
    name: 'close() while connecting or while waiting to reconnect: no event, no request after',
    serve(_req, res, _state, request) {
      if (request.path === 'hang') return; // never answers
      stream(res, 'retry: 10\ndata: a\n\n', true);
    },
    client: async (ES, ctx) => {
      const log = ctx.log;
      const hanging = ctx.track(new ES(`${ctx.url}hang`));
      hanging.onopen = () => log.push('hang:open');
      hanging.onerror = () => log.push('hang:error');
      hanging.close();
      log.push(`hang:${hanging.readyState}`);

      const es = ctx.track(new ES(`${ctx.url}ends`));
      await new Promise<void>((resolve) => {
        es.onmessage = (e) => log.push(`message:${e.data}`);
        es.onerror = () => {
          log.push(`error:${es.readyState}`);
          es.close();
          resolve();
        };
      });
      await ctx.wait(100); // ten reconnection times
      log.push(`later:${es.readyState}`);
    },
    expected: ['hang:2', 'message:a', 'error:0', 'later:2'],
    checkRequests(requests) {
      assertEqual(requests.filter((r) => r.path === 'ends').length, 1, 'no reconnect after close()');
    },
  },
  {
    name: 'resolves a relative URL against the page (in Node, with no page, it is a SyntaxError)',
    serve(_req, res) {
      stream(res, 'data: ok\n\n');
    },
    client: async (ES, ctx) => {
      const path = `${ctx.url.slice(ctx.origin.length)}stream`;
      try {
        const es = ctx.track(new ES(path));
        ctx.log.push(`url:${es.url === `${ctx.url}stream`}`);
        await new Promise<void>((resolve) => {
          es.onmessage = (e) => {
            ctx.log.push(`message:${e.data}`);
            resolve();
          };
        });
      } catch (error) {
        ctx.log.push(`threw:${(error as Error).name}`);
      }
    },
    expected: (env) => (env.browser ? ['url:true', 'message:ok'] : ['threw:SyntaxError']),
  },
  {
    name: 'reconnects cross-origin with Last-Event-ID (the server answers the CORS preflight)',
    only: 'browser',
    serve(req, res, state) {
      if (req.method === 'OPTIONS') {
        res
          .writeHead(204, {
            ...corsHeaders(req),
            'access-control-allow-headers': req.headers['access-control-request-headers'] ?? '',
          })
          .end();
        return;
      }
      const streams = state.requests.filter((r) => r.method !== 'OPTIONS').length;
      res.writeHead(200, { ...EVENT_STREAM, ...corsHeaders(req) });
      if (streams === 1) res.end('retry: 10\nid: é1\ndata: a\n\n');
      else res.write('data: b\n\n');
    },
    client: async (ES, ctx) => {
      const es = ctx.track(new ES(`${ctx.crossUrl}stream`));
      await new Promise<void>((resolve) => {
        es.onerror = () => ctx.log.push(`error:${es.readyState}`);
        es.onmessage = (e) => {
          ctx.log.push(`${e.data}:${e.lastEventId}:${e.origin === ctx.crossOrigin}`);
          if (e.data === 'b') resolve();
        };
      });
    },
    expected: ['a:é1:true', 'error:0', 'b:é1:true'],
    checkRequests(requests) {
      const streams = requests.filter((r) => r.method !== 'OPTIONS');
      assertEqual(
        streams.map((r) => r.lastEventId),
        [null, 'é1'],
        'Last-Event-ID of each request',
      );
    },
  },
  {
    name: 'lastEventIdParam: a cross-origin reconnect carries the ID in the query, without a preflight',
    only: 'browser',
    skipNative: 'lastEventIdParam is a Herald extension',
    serve(req, res, _state, request) {
      if (req.method === 'OPTIONS') {
        res.writeHead(404).end(); // this server does not do preflights
        return;
      }
      const id = new URL(request.path, 'http://x').searchParams.get('lastEventID');
      res.writeHead(200, { ...EVENT_STREAM, ...corsHeaders(req) });
      if (id === null) res.end('retry: 10\nid: é1\ndata: a\n\n');
      else res.write(`data: b after ${id}\n\n`);
    },
    client: async (ES, ctx) => {
      const es = ctx.track(new ES(`${ctx.crossUrl}stream?topic=x`, { lastEventIdParam: 'lastEventID' }));
      await new Promise<void>((resolve) => {
        es.onerror = () => ctx.log.push(`error:${es.readyState}`);
        es.onmessage = (e) => {
          ctx.log.push(`${e.data}:${e.lastEventId}`);
          if (e.data.startsWith('b')) resolve();
        };
      });
    },
    expected: ['a:é1', 'error:0', 'b after é1:é1'],
    checkRequests(requests) {
      assertEqual(
        requests.map((r) => `${r.method} ${r.lastEventId}`),
        ['GET null', 'GET null'],
        'no preflight, no Last-Event-ID header',
      );
    },
  },
  {
    // HTML lets the user agent fail the connection on a network error it "knows to be futile":
    // Chromium does so for a CORS failure. Through fetch a CORS failure cannot be told from any
    // other network error, so Herald reconnects (use backoff.maxRetries to bound it).
    name: 'a CORS failure (credentials with a wildcard origin) reports an error',
    only: 'browser',
    serve(_req, res) {
      res.writeHead(200, { ...EVENT_STREAM, 'access-control-allow-origin': '*' });
      res.write('retry: 10\ndata: hidden\n\n');
    },
    client: async (ES, ctx) => {
      const es = ctx.track(new ES(`${ctx.crossUrl}stream`, { withCredentials: true }));
      await new Promise<void>((resolve) => {
        es.onmessage = () => ctx.log.push('message');
        es.onerror = () => {
          ctx.log.push(`error:${es.readyState}`);
          resolve();
        };
      });
      await ctx.wait(100);
      ctx.log.push(`later:${es.readyState}`);
    },
    expected: (env) => (env.implementation === 'native' ? ['error:2', 'later:2'] : ['error:0', 'later:0']),
  },
  {
    name: 'withCredentials sends cookies cross-origin (CORS with credentials); without, none',
    only: 'browser',
    serve(req, res, _state, request) {
      if (request.path === 'setcookie') {
        res.writeHead(200, { 'set-cookie': 'herald=yes; Path=/', 'content-type': 'text/plain' }).end('ok');
        return;
      }
      res.writeHead(200, { ...EVENT_STREAM, ...corsHeaders(req) });
      res.write(`data: cookie=${(req.headers.cookie ?? '').includes('herald=yes')}\n\n`);
    },
    client: async (ES, ctx) => {
      await fetch(`${ctx.url}setcookie`);
      for (const withCredentials of [true, false]) {
        const es = ctx.track(new ES(`${ctx.crossUrl}stream`, { withCredentials }));
        ctx.log.push(`withCredentials:${es.withCredentials}`);
        await new Promise<void>((resolve) => {
          es.onmessage = (e) => {
            ctx.log.push(`${e.data}:${e.origin === ctx.crossOrigin}`);
            resolve();
          };
          es.onerror = () => {
            ctx.log.push(`error:${es.readyState}`);
            resolve();
          };
        });
        es.close();
      }
    },
    expected: ['withCredentials:true', 'cookie=true:true', 'withCredentials:false', 'cookie=false:true'],
  },
  {
    name: 'extension: headers function per connect, POST with a body',
    skipNative: 'a Herald extension',
    serve(req, res, state, request) {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        body += chunk;
      });
      req.on('end', () => {
        res.writeHead(200, EVENT_STREAM);
        const n = state.requests.length;
        const seen = `${request.method}|${request.headers['x-token']}|${body}`;
        if (n === 1) res.end(`retry: 10\nid: 1\ndata: ${seen}\n\n`);
        else res.write(`data: ${seen}\n\n`);
      });
    },
    client: async (ES, ctx) => {
      let calls = 0;
      const es = ctx.track(
        new ES(`${ctx.url}stream`, {
          method: 'POST',
          headers: async () => ({ 'X-Token': `t${++calls}` }),
          body: () => `attempt ${calls}`,
        }),
      );
      await new Promise<void>((resolve) => {
        es.onmessage = (e) => {
          ctx.log.push(e.data);
          if (ctx.log.length === 2) resolve();
        };
      });
    },
    expected: ['POST|t1|attempt 1', 'POST|t2|attempt 2'],
  },
  {
    name: 'extension: 502, 503 and 504 (a proxy whose server is down) are retried like a dropped connection',
    skipNative: 'a Herald extension (the native source fails for good)',
    serve(_req, res, state) {
      const n = count(state);
      if (n <= 3)
        res.writeHead([502, 503, 504][n - 1]!, { 'content-type': 'text/html' }).end('<h1>down</h1>');
      else stream(res, 'id: 1\ndata: back\n\n');
    },
    client: async (ES, ctx) => {
      const es = ctx.track(
        new ES(`${ctx.url}stream`, { backoff: { initialMs: 10, factor: 1, jitter: 'none' } }),
      );
      await new Promise<void>((resolve) => {
        es.onerror = (e) => {
          const event = e as Event & { code?: string; status?: number; retryDelayMs?: number };
          ctx.log.push(`error:${event.code}:${event.status}:${event.retryDelayMs}:${es.readyState}`);
        };
        es.onopen = () => ctx.log.push(`open:${es.readyState}`);
        es.onmessage = (e) => {
          ctx.log.push(`message:${e.data}:${e.lastEventId}`);
          resolve();
        };
      });
    },
    expected: [
      'error:HERALD_ERR_BAD_STATUS:502:10:0',
      'error:HERALD_ERR_BAD_STATUS:503:10:0',
      'error:HERALD_ERR_BAD_STATUS:504:10:0',
      'open:1',
      'message:back:1',
    ],
    checkRequests(requests) {
      assertEqual(requests.length, 4, 'requests');
    },
  },
  {
    name: 'extension: typed error events and for await',
    skipNative: 'a Herald extension',
    serve(_req, res, state) {
      if (state.requests.length === 1) stream(res, 'retry: 10\nevent: price\ndata: 1\n\ndata: 2\n\n', true);
      else res.writeHead(401, { 'content-type': 'text/plain' }).end('no');
    },
    client: async (ES, ctx) => {
      const es = ctx.track(new ES(`${ctx.url}stream`));
      // Listeners run at dispatch, the loop body in a later microtask: two logs, so that the
      // order between them (which differs between runtimes) does not matter.
      const errors: string[] = [];
      es.onerror = (e) => {
        const event = e as Event & { code?: string; status?: number; retryDelayMs?: number };
        errors.push(`error:${event.code}:${event.status}:${event.retryDelayMs}:${es.readyState}`);
      };
      try {
        for await (const event of es) ctx.log.push(`${event.type}:${event.data}`);
      } catch (error) {
        const e = error as Error & { code?: string; status?: number };
        ctx.log.push(`threw:${e.name}:${e.code}:${e.status}`);
      }
      ctx.log.push(...errors);
    },
    expected: [
      'price:1',
      'message:2',
      'threw:EventSourceError:HERALD_ERR_BAD_STATUS:401',
      'error:HERALD_ERR_STREAM_ENDED:200:10:0',
      'error:HERALD_ERR_BAD_STATUS:401:undefined:2',
    ],
  },
];
