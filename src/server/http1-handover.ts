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
 * node:http exposes this only for Upgrade and CONNECT, so `handOver` first checks that the connection
 * is exactly in the state node:http leaves it (its listeners by name, the parser's methods, node's
 * own `freeParser`) and otherwise does nothing: the stream then runs under node:http as before.
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

interface Parser {
  unconsume?: unknown;
  remove?: unknown;
  free?: unknown;
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
 * Releases node:http's per-connection state of `res`'s socket; returns false, changing nothing, when
 * the connection is not in the expected state. Call once the head is written, outside node's parser
 * callbacks (see `queueHandOver`).
 */
export function handOver(res: ServerResponse, socket: Socket): boolean {
  if (freeParser === undefined) return false;
  const parser = (socket as Socket & { parser?: Parser | null }).parser;
  if (
    parser == null ||
    typeof parser.unconsume !== 'function' ||
    typeof parser.remove !== 'function' ||
    typeof parser.free !== 'function'
  ) {
    return false;
  }
  const nodeListeners = NODE_LISTENERS.map(([event, name]) => [event, find(socket, event, name)] as const);
  if (nodeListeners.some(([, fn]) => fn === undefined)) return false;
  const finish = (res.listeners('finish') as ((...args: unknown[]) => void)[]).filter(
    (fn) => fn.name === 'bound resOnFinish',
  );

  for (const [event, fn] of nodeListeners) socket.removeListener(event, fn!);
  for (const [event, name] of CONSUME_LISTENERS) {
    const fn = find(socket, event, name);
    if (fn !== undefined) socket.removeListener(event, fn);
  }
  // Back to node's pool; it also takes the connection off the server's headers/request timeout list
  // (an event stream is past both) and clears `socket.parser` and `req.parser`.
  freeParser(parser, (res as { req?: object }).req ?? null, socket);
  // The request and the server's per-connection state were held by the 'finish' listener and `req`.
  for (const fn of finish) res.removeListener('finish', fn);
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
