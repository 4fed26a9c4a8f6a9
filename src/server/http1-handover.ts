/**
 * Hands an HTTP/1.1 connection over from node:http to its event stream once the response head is out.
 *
 * An event stream's response lasts as long as its connection, so node:http keeps, for each one, what
 * it holds to read a next request that never comes: an HTTP parser (a native object of ~1.8 KB, room
 * for 32 header pairs, plus its JS wrapper and bound callbacks), the request object and the
 * connection's bound listeners. At 19,000 idle subscribers that was about a fifth of the memory of
 * each. node:http makes the same hand-over itself for an Upgrade or CONNECT request: its parser goes
 * back to node's pool and its listeners come off the socket. This does it for an event stream:
 *
 * - what the client sends afterwards is read and discarded (an EventSource sends nothing), and its
 *   FIN ends the socket, as node:http would;
 * - the stream ends the response itself and closes the connection (see `endHandedOver`): no request
 *   follows an event stream on its connection, EventSource reconnects on a new one;
 * - `res` still emits 'close' when the socket closes (node's `onServerResponseClose` stays).
 *
 * node:http exposes this only for Upgrade and CONNECT, so the hand-over reads node:http internals. They
 * differ between Node lines (Node 26 made the response's 'finish' listener a shared function, for
 * one), so `handOver` first checks, per connection, that everything it touches is exactly what it
 * expects (see `unexpected`): node's own `freeParser`, the parser's methods, fields and owner, each
 * listener by name, the request and the socket's current response. When anything differs it changes
 * nothing and the stream keeps running under node:http, through its public API, byte for byte as
 * before: a new Node line can cost memory, never a stream.
 */

import type { ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

type FreeParser = (parser: object, req: object | null, socket: Socket) => void;

/** node:http's own parser release (`_http_common.freeParser`), as its Upgrade path uses it. */
const freeParser: FreeParser | undefined = (() => {
  try {
    const common = createRequire(import.meta.url)('_http_common') as { freeParser?: unknown };
    return typeof common.freeParser === 'function' ? (common.freeParser as FreeParser) : undefined;
  } catch {
    return undefined;
  }
})();

/** The socket listeners node:http's server adds per connection (lib/_http_server.js), by event. */
const NODE_LISTENERS: ReadonlyArray<[event: string, name: string]> = [
  ['data', 'bound socketOnData'],
  ['end', 'bound socketOnEnd'],
  ['close', 'bound socketOnClose'],
  ['drain', 'bound socketOnDrain'],
];
/** Added while node's parser reads the socket natively; `unconsume` removes them in node too. */
const CONSUME_LISTENERS: ReadonlyArray<[event: string, name: string]> = [
  ['resume', 'onSocketResume'],
  ['pause', 'onSocketPause'],
];

/**
 * node:http's 'finish' listener on the response, which holds the request and the server's
 * per-connection state until the response ends: bound per response up to Node 24, a shared function
 * reading the state through a symbol from Node 26 (it then holds nothing of its own).
 */
const FINISH_BOUND = 'bound resOnFinish';
const FINISH_SHARED = 'onResponseFinish';

interface Parser {
  unconsume?: unknown;
  remove?: unknown;
  free?: unknown;
  socket?: unknown;
  _consumed?: unknown;
}

function discard(): void {}

function onClientEnd(this: Socket): void {
  // The client closed its side: end ours too (node:http does so unless httpAllowHalfOpen).
  this.end();
}

function find(socket: Socket, event: string, name: string): ((...args: unknown[]) => void) | undefined {
  const listeners = socket.listeners(event) as ((...args: unknown[]) => void)[];
  const matches = listeners.filter((fn) => fn.name === name);
  return matches.length === 1 ? matches[0] : undefined;
}

/** Something to hand over once node's parser is done with the current read. */
export interface HandOverTarget {
  handOver(): void;
}

let pending: HandOverTarget[] = [];

function runPending(): void {
  const list = pending;
  pending = [];
  for (const target of list) target.handOver();
}

/**
 * Queues `target.handOver()` for the next turn. A stream usually starts inside the request handler,
 * while node's parser is still executing the request's bytes: the parser would re-register itself
 * with the server's connection list when the message completes, after a release done right away.
 */
export function queueHandOver(target: HandOverTarget): void {
  if (pending.push(target) === 1) setImmediate(runPending);
}

/**
 * Why the connection of `res` is not in the state node:http leaves an HTTP/1.1 connection in while
 * it writes a response (lib/_http_server.js and _http_common.js, Node 20 to 26), or undefined when it
 * is. Each check guards something `handOver` relies on.
 */
export function unexpected(res: ServerResponse, socket: Socket): string | undefined {
  if (freeParser === undefined) return "node:http's _http_common.freeParser is missing";
  const parser = (socket as Socket & { parser?: Parser | null }).parser;
  if (parser == null || typeof parser !== 'object') return 'the socket has no parser';
  for (const method of ['unconsume', 'remove', 'free'] as const) {
    if (typeof parser[method] !== 'function') return `the parser has no ${method}()`;
  }
  if (parser.socket !== socket) return "the parser's socket is not the response's";
  if (typeof parser._consumed !== 'boolean') return 'the parser has no boolean _consumed';
  const req = (res as { req?: { socket?: unknown } }).req;
  if (req == null || typeof req !== 'object' || req.socket !== socket) {
    return "the response's req is not the socket's request";
  }
  if ((socket as Socket & { _httpMessage?: unknown })._httpMessage !== res) {
    return "the socket's current response is another";
  }
  for (const [event, name] of NODE_LISTENERS) {
    if (find(socket, event, name) === undefined) return `no single '${event}' listener named '${name}'`;
  }
  const finish = res
    .listeners('finish')
    .filter((fn) => fn.name === FINISH_BOUND || fn.name === FINISH_SHARED);
  if (finish.length !== 1) return "no single 'finish' listener of node:http on the response";
  return undefined;
}

/**
 * Releases node:http's per-connection state of `res`'s socket; returns false, changing nothing, when
 * the connection is not in the expected state (see `unexpected`). Call once the head is written,
 * outside node's parser callbacks (see `queueHandOver`).
 */
export function handOver(res: ServerResponse, socket: Socket): boolean {
  if (unexpected(res, socket) !== undefined) return false;
  const parser = (socket as Socket & { parser: Parser }).parser;

  for (const [event, name] of NODE_LISTENERS) socket.removeListener(event, find(socket, event, name)!);
  for (const [event, name] of CONSUME_LISTENERS) {
    const fn = find(socket, event, name);
    if (fn !== undefined) socket.removeListener(event, fn);
  }
  // Back to node's pool; it also takes the connection off the server's headers/request timeout list
  // (an event stream is past both) and clears `socket.parser` and `req.parser`.
  freeParser!(parser, (res as { req?: object }).req ?? null, socket);
  // The request and the server's per-connection state were held by a bound 'finish' listener and
  // `req`; Node 26's shared listener holds nothing and is left in place.
  const bound = res.listeners('finish').find((fn) => fn.name === FINISH_BOUND);
  if (bound !== undefined) res.removeListener('finish', bound as (...args: unknown[]) => void);
  (res as { req: unknown }).req = null;

  socket.on('data', discard);
  socket.on('end', onClientEnd);
  socket.resume();
  return true;
}

const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

/** Ends a handed-over response: `framed` (an HTTP/1.1 chunk, or null), the last chunk, then FIN. */
export function endHandedOver(socket: Socket, framed: Uint8Array | null): void {
  // Already ended: the client's FIN came first (onClientEnd).
  if (socket.destroyed || socket.writableEnded) return;
  if (framed !== null) socket.write(framed);
  socket.end(LAST_CHUNK);
}
