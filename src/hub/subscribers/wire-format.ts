/**
 * The wire formats a subscriber can receive updates in, one per transport. Routing, privacy, expiry,
 * presence and the subscriptions API do not depend on it; only the bytes written do (see
 * update-frames.ts).
 */

/**
 * `sse`: `text/event-stream` events; `ws`: one WebSocket text frame per update, a JSON object;
 * `poll`: the same JSON object, collected into a long-poll response's array.
 */
export type WireFormat = 'sse' | 'ws' | 'poll';

/** Every wire format, in the order they are documented. */
export const WIRE_FORMATS: readonly WireFormat[] = Object.freeze(['sse', 'ws', 'poll']);
