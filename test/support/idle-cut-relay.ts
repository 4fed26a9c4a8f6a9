/**
 * A TCP relay that behaves like a proxy with an idle timeout (nginx `proxy_read_timeout`, HAProxy
 * `timeout server`): it forwards bytes both ways and cuts a connection, both sides, once the
 * upstream has sent nothing for `idleMs`.
 */
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';

export interface IdleCutRelay {
  /** The port clients connect to. */
  port: number;
  /** Connections cut for silence so far. */
  readonly cuts: number;
  /** Stops listening and ends every relayed connection. */
  close(): Promise<void>;
}

/** Starts a relay on 127.0.0.1, port 0, in front of `127.0.0.1:upstreamPort`. */
export async function startIdleCutRelay(upstreamPort: number, idleMs: number): Promise<IdleCutRelay> {
  const sockets = new Set<net.Socket>();
  let cuts = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    const cut = setTimeout(() => {
      cuts++;
      client.destroy();
      upstream.destroy();
    }, idleMs);
    const end = () => {
      clearTimeout(cut);
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    upstream.on('data', () => cut.refresh());
    client.pipe(upstream);
    upstream.pipe(client);
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    get cuts() {
      return cuts;
    },
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
