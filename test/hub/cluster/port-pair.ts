/**
 * Two connected IPC ports in one process, with what Node's IPC channel does to a message: it is
 * serialized as JSON, arrives in order, and never within the sender's turn of the event loop.
 */
import type { IpcPort } from '../../../src/hub/cluster/messages.js';

export function createPortPair(): [IpcPort, IpcPort] {
  const listeners: [Set<(m: unknown) => void>, Set<(m: unknown) => void>] = [new Set(), new Set()];
  const port = (side: 0 | 1): IpcPort => ({
    send(message, onWritten) {
      const text = JSON.stringify(message);
      setImmediate(() => {
        onWritten?.();
        for (const listener of listeners[1 - side]!) listener(JSON.parse(text));
      });
    },
    onMessage(listener) {
      listeners[side].add(listener);
      return () => listeners[side].delete(listener);
    },
  });
  return [port(0), port(1)];
}
