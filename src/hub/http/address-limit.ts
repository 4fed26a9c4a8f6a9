/**
 * Open subscriber connections per client address (`maxConnectionsPerAddress`): a subscribe
 * response, a stream reader's response or an upgraded socket counts against its address until it
 * emits 'close'; one more past the bound is refused with 429.
 */
import type { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { HubHttpError } from './errors.js';

/** Where a counted response or socket keeps its address and its limit (no closure per stream). */
const kAddress = Symbol('herald.countedAddress');
const kLimit = Symbol('herald.addressLimit');
type Counted = EventEmitter & { [kAddress]?: string; [kLimit]?: AddressLimit };

/** Shared 'close' listener of counted responses and sockets. */
function release(this: Counted): void {
  const address = this[kAddress];
  if (address !== undefined) this[kLimit]?.release(address);
}

export class AddressLimit {
  readonly #max: number;
  readonly #open = new Map<string, number>();

  /** `max`: connections allowed per address; 0 for no limit. */
  constructor(max: number) {
    this.#max = max;
  }

  get enabled(): boolean {
    return this.#max > 0;
  }

  /** Counts `req`'s address until `target` (its response or socket) closes; throws 429 past the bound. */
  count(req: IncomingMessage, target: EventEmitter): void {
    const address = req.socket?.remoteAddress ?? '';
    const open = this.#open.get(address) ?? 0;
    if (open >= this.#max) {
      throw new HubHttpError(
        429,
        'HERALD_ERR_HUB_TOO_MANY_CONNECTIONS',
        `${address} already holds ${open} subscriber streams, the most allowed per address ` +
          `(maxConnectionsPerAddress); close some or retry later`,
      );
    }
    this.#open.set(address, open + 1);
    const counted = target as Counted;
    counted[kAddress] = address;
    counted[kLimit] = this;
    target.once('close', release);
  }

  release(address: string): void {
    const open = (this.#open.get(address) ?? 1) - 1;
    if (open <= 0) this.#open.delete(address);
    else this.#open.set(address, open);
  }
}
