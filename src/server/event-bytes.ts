/**
 * An event's bytes, encoded for Node's sockets: the protocol's `formatEvent` (same field checks as
 * `encodeEvent`) into a `Buffer`.
 *
 * Why not `encodeEvent`: the protocol encodes with `TextEncoder`, the one encoder every runtime
 * has, and on Node each `encode` call allocates a new ArrayBuffer with its own backing store
 * (~2.5 µs a call for a 160-byte event, most of it in allocation and the collection of those
 * stores). `Buffer.from` carves events under 4 KiB out of a shared pool (~80 ns). On the hub's
 * batch publish, one encode per update, that cost was ~1 µs per update in the profile
 * (bench/results/publish-path).
 */
import { type EventInit, formatEvent } from '../protocol/index.js';

/** `init` as event-stream bytes, ready to write to any number of streams. Throws as `encodeEvent` does. */
export function eventBytes(init: EventInit): Buffer {
  return Buffer.from(formatEvent(init), 'utf8');
}
