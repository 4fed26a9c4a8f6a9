/**
 * Subscribers over each transport for tests: a raw WebSocket reader (frames, the opening cursor,
 * the close code and reason), one long poll, and one `Feed` interface over sse, ws and poll so a
 * test can run the same steps on all three.
 */
import { once } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import WebSocket from 'ws';
import { openStream } from './hub.js';
import { bounded } from './retry.js';

/** An update as the WebSocket and poll formats carry it. */
export interface UpdateObject {
  id: string;
  type?: string;
  data: string;
  retry?: number;
}

export type TransportName = 'sse' | 'ws' | 'poll';
export const TRANSPORTS: readonly TransportName[] = ['sse', 'ws', 'poll'];

export interface OpenSocket {
  ws: WebSocket;
  /** Headers of the 101 response. */
  headers: IncomingHttpHeaders;
  /** The opening frame (`{"herald":"open",...}`). */
  opening: Promise<{ herald: string; lastEventID?: string; resumed?: boolean }>;
  /** Updates received so far. */
  readonly updates: UpdateObject[];
  /** The next update not yet returned (rejects when the socket closes first). */
  next(): Promise<UpdateObject>;
  /** Resolves with the close code and reason, however the connection ends. */
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

/** A refused upgrade: the HTTP status and body. */
export interface RefusedSocket {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function wsUrl(url: string): string {
  return url.replace(/^http/, 'ws');
}

/** Opens a WebSocket subscription; resolves once open, or with the refusal. */
export async function openSocket(
  url: string,
  headers: Record<string, string> = {},
  options: WebSocket.ClientOptions = {},
): Promise<OpenSocket | RefusedSocket> {
  const ws = new WebSocket(wsUrl(url), { headers, ...options });
  const updates: UpdateObject[] = [];
  const waiting: { resolve: (u: UpdateObject) => void; reject: (e: Error) => void }[] = [];
  let read = 0;
  let openFrame: (v: { herald: string; lastEventID?: string }) => void = () => {};
  const opening = new Promise<{ herald: string; lastEventID?: string }>((r) => (openFrame = r));
  let ended = false;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => {
      ended = true;
      for (const w of waiting.splice(0)) w.reject(new Error(`socket closed (${code} ${reason})`));
      resolve({ code, reason: reason.toString() });
    });
  });
  ws.on('message', (data, isBinary) => {
    assertText(isBinary);
    const message = JSON.parse(data.toString()) as UpdateObject & { herald?: string };
    if (message.herald !== undefined) {
      openFrame(message as { herald: string });
      return;
    }
    updates.push(message);
    const w = waiting.shift();
    if (w !== undefined) {
      read++;
      w.resolve(message);
    }
  });
  ws.on('error', () => {});
  return new Promise((resolve) => {
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    ws.once('upgrade', (res) => {
      const headersOf = res.headers;
      ws.once('open', () =>
        resolve({
          ws,
          headers: headersOf,
          opening,
          updates,
          closed,
          next() {
            if (read < updates.length) return Promise.resolve(updates[read++]!);
            if (ended) return Promise.reject(new Error('socket closed'));
            const wait = new Promise<UpdateObject>((res, rej) => waiting.push({ resolve: res, reject: rej }));
            return bounded(wait, () => `the next update on the WebSocket ${url} (${updates.length} so far)`);
          },
          close() {
            ws.close();
          },
        }),
      );
    });
  });
}

function assertText(isBinary: boolean): void {
  if (isBinary) throw new Error('the hub sent a binary frame');
}

/** Opens a socket that must be accepted. */
export async function mustOpenSocket(url: string, headers: Record<string, string> = {}): Promise<OpenSocket> {
  const s = await openSocket(url, headers);
  if (!('ws' in s)) throw new Error(`upgrade refused: ${s.status} ${s.body}`);
  return s;
}

export interface PollAnswer {
  status: number;
  headers: Headers;
  /** The parsed body when JSON, else undefined. */
  body: { lastEventID: string; resumed?: boolean; updates: UpdateObject[] } | undefined;
  text: string;
}

/** One long poll. */
export async function pollOnce(url: string, headers: Record<string, string> = {}): Promise<PollAnswer> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  const json = res.headers.get('content-type')?.startsWith('application/json') === true;
  return { status: res.status, headers: res.headers, body: json ? JSON.parse(text) : undefined, text };
}

/** Adds query parameters to a URL. */
export function withQuery(url: string, params: [string, string][]): string {
  const u = new URL(url);
  for (const [k, v] of params) u.searchParams.append(k, v);
  return u.toString();
}

/**
 * One subscription over any transport: `next()` gives updates in order; `lastEventId` is the
 * cursor to resume from (the last update's ID, or the opening cursor); `close()` drops it.
 */
export interface Feed {
  readonly transport: TransportName;
  next(): Promise<UpdateObject>;
  readonly lastEventId: string | undefined;
  /** Resolves once the subscription is live (updates published from now on will arrive). */
  ready: Promise<void>;
  close(): void;
}

/**
 * Subscribes over `transport` to `url` (a hub URL with its selectors), from `lastEventId` if given.
 * A poll feed keeps polling with the cursor of each answer until closed.
 */
export async function openFeed(
  transport: TransportName,
  url: string,
  headers: Record<string, string> = {},
  lastEventId?: string,
): Promise<Feed> {
  const target = lastEventId === undefined ? url : withQuery(url, [['lastEventID', lastEventId]]);
  if (transport === 'sse') {
    // A connection of its own: a stream the hub ends closes its connection (while its head says
    // keep-alive), which a pooling agent would otherwise hand to the next request.
    const stream = await openStream(target, headers, false);
    if (stream.status !== 200) throw new Error(`sse refused: ${stream.status} ${stream.text}`);
    let last = lastEventId ?? (stream.headers['last-event-id'] as string | undefined);
    return {
      transport,
      get lastEventId() {
        return last;
      },
      ready: Promise.resolve(),
      async next() {
        const e = await stream.next();
        last = e.lastEventId;
        const u: UpdateObject = { id: e.lastEventId, data: e.data };
        if (e.type !== 'message') u.type = e.type;
        return u;
      },
      close: () => stream.close(),
    };
  }
  if (transport === 'ws') {
    const s = await mustOpenSocket(target, headers);
    const opening = await s.opening;
    let last = opening.lastEventID;
    return {
      transport,
      get lastEventId() {
        return last;
      },
      ready: Promise.resolve(),
      async next() {
        const u = await s.next();
        last = u.id;
        return u;
      },
      close: () => s.ws.terminate(),
    };
  }
  // poll: a loop of polls; each answer's updates are queued in order.
  const queue: UpdateObject[] = [];
  const waiting: { resolve: (u: UpdateObject) => void; reject: (e: Error) => void }[] = [];
  let cursor = lastEventId;
  let stopped: Error | undefined;
  const controller = new AbortController();
  const stop = (error: Error) => {
    stopped ??= error;
    controller.abort();
    for (const w of waiting.splice(0)) w.reject(stopped);
  };
  const loop = async () => {
    while (stopped === undefined) {
      const params: [string, string][] = [['transport', 'poll']];
      if (cursor !== undefined) params.push(['lastEventID', cursor]);
      const res = await fetch(withQuery(url, params), { headers, signal: controller.signal });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`poll answered ${res.status}: ${text}`);
      const body = JSON.parse(text) as { lastEventID: string; updates: UpdateObject[] };
      cursor = body.lastEventID;
      for (const u of body.updates) {
        const w = waiting.shift();
        if (w !== undefined) w.resolve(u);
        else queue.push(u);
      }
    }
  };
  loop().catch((error: Error) => stop(error));
  return {
    transport,
    get lastEventId() {
      return cursor;
    },
    ready: Promise.resolve(),
    next() {
      const u = queue.shift();
      if (u !== undefined) return Promise.resolve(u);
      if (stopped !== undefined) return Promise.reject(stopped);
      const wait = new Promise<UpdateObject>((resolve, reject) => waiting.push({ resolve, reject }));
      return bounded(wait, () => `the next update polled from ${url}`);
    },
    close() {
      stop(new Error('feed closed'));
    },
  };
}

/** Waits for `emitter` to emit `event`. */
export async function waitFor(emitter: NodeJS.EventEmitter, event: string): Promise<unknown[]> {
  return once(emitter, event);
}
