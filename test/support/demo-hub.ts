/**
 * A hub with its demo mounted (pages, and /herald-client.js bundled from the sources) on a loopback
 * node:http server with every transport wired (requests and WebSocket upgrades), closed after the
 * test: what the Chromium suites open pages of.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { type DemoOptions, mountDemo } from '../../src/hub/demo/index.js';
import { createHub, type Hub, type HubOptions } from '../../src/hub/index.js';
import { bundleClient } from './browser.js';

export async function startDemoHub(
  t: TestContext,
  hubOptions: HubOptions,
  demoOptions: Omit<DemoOptions, 'clientBundle'> = {},
): Promise<{ hub: Hub; origin: string }> {
  const hub = createHub(hubOptions);
  const demo = await mountDemo(hub, { ...demoOptions, clientBundle: await bundleClient() });
  const server = http.createServer((req, res) => hub.handle(req, res, () => demo.handle(req, res)));
  server.on('upgrade', (req, socket, head) => hub.handleUpgrade(req, socket, head));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    demo.close();
    await hub.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { hub, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
