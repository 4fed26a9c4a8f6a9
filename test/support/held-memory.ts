/**
 * What this process's JavaScript holds once garbage is gone, for tests that bound a hub's memory.
 * V8 frees dead buffers' backing stores concurrently, so one gc() may still count them: a second
 * pass one macrotask later reads what is really held.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap plus array buffers held after two garbage collections, in bytes. */
export async function heldBytes(): Promise<number> {
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
