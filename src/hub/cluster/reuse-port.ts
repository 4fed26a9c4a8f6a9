/**
 * How the workers of a cluster take connections. With `SO_REUSEPORT` each worker listens on a socket
 * of its own on the shared port and the kernel spreads incoming connections over those sockets (a
 * hash of the connection's addresses and ports: even, whatever each worker's load); every worker
 * accepts for itself. Without it, node:cluster's round-robin: the primary accepts every connection
 * and hands it to a worker over IPC, which made the primary the bottleneck of a mass connect (with
 * 30 workers it stalled near 322,000 subscribers where nginx's self-accepting workers took 500,000
 * in 50 s). `SCHED_NONE` (every worker accepting on one shared socket) is not used: whichever worker
 * wakes first takes a burst, so a busy worker can end up with most connections.
 */
import net from 'node:net';

/**
 * Whether `server.listen({ reusePort: true })` is honoured here: Node 22.12+ or 23.1+, on Linux
 * (where the kernel balances between the sockets; elsewhere the option is refused or only lets a
 * second socket bind). Older runtimes ignore the option, and a second worker's bind would fail.
 */
export function reusePortAvailable(
  version: string = process.versions.node,
  platform: NodeJS.Platform = process.platform,
): boolean {
  if (platform !== 'linux') return false;
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major === 22) return minor >= 12;
  if (major === 23) return minor >= 1;
  return major > 23;
}

/**
 * Checks, from the primary, that nothing listens on `host:port`, and turns port 0 into a free port
 * the workers can all bind; resolves with that port. Needed because sockets with `SO_REUSEPORT`
 * bind where another process of the same user listens with it too (a second `herald serve
 * --workers` on the same port would take half the connections instead of failing), and each
 * worker binding port 0 would get a port of its own. The check binds without `SO_REUSEPORT`, which
 * fails on any listener, and closes at once; it rejects with the listen error (`EADDRINUSE`,
 * `EACCES`, `EADDRNOTAVAIL`, with `address` and `port`).
 */
export async function claimPort(port: number, host: string | undefined): Promise<number> {
  const probe = net.createServer();
  const bound = await new Promise<number>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen({ port, host }, () => resolve((probe.address() as net.AddressInfo).port));
  });
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return bound;
}

/** The listen options of a worker that takes its own connections (see the top of this file). */
export const OWN_SOCKET: Readonly<{ exclusive: true; reusePort: true; backlog: number }> = {
  // Node's cluster would otherwise ask the primary for its shared handle.
  exclusive: true,
  reusePort: true,
  // Each worker's socket has its own accept queue, emptied only when that worker's event loop
  // gets a turn: with many workers per core, a connection storm overflowed Node's default 511 and
  // the kernel dropped SYNs (clients waited out retransmissions). The kernel caps this at
  // net.core.somaxconn (4096 on current Linux).
  backlog: 4096,
};
