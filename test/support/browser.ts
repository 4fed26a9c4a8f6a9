/**
 * Real Chromium for tests, through playwright-core (no bundled browser download): the system
 * binary at /usr/bin/chromium, or CHROMIUM_PATH. Missing binary: the test skips (fails under CI).
 */
import { accessSync, constants } from 'node:fs';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, LaunchOptions } from 'playwright-core';
import { requirePart } from './requirements.js';

/** Where the Chromium binary is looked for. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Flags for a headless run in a container: no sandbox (no user namespaces there), no GPU, and no
 * QUIC so that every request is plain HTTP/1.1 or HTTP/2 to the test server.
 */
export const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-quic'];

function missingReason(): string | null {
  try {
    accessSync(chromiumPath, constants.X_OK);
    return null;
  } catch {
    return `no executable at ${chromiumPath} (set CHROMIUM_PATH)`;
  }
}

/**
 * Launches headless Chromium, closed by `t.after`. Returns `null` when the test was skipped because
 * the binary is missing (under CI that throws instead).
 *
 * @example
 * const browser = await launchChromium(t);
 * if (!browser) return;
 * const page = await browser.newPage();
 */
export async function launchChromium(
  t: TestContext,
  options: Omit<LaunchOptions, 'executablePath'> = {},
): Promise<Browser | null> {
  if (!requirePart(t, 'chromium', missingReason())) return null;
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    ...options,
    executablePath: chromiumPath,
    args: [...chromiumArgs, ...(options.args ?? [])],
  });
  t.after(() => browser.close());
  return browser;
}

/**
 * The browser bundle of `herald/client` (src/client/index.ts), built in memory with esbuild: an ES
 * module to serve to a page, e.g. as `/herald-client.js` loaded by `<script type="module">`.
 */
export function bundleClient(): Promise<string> {
  return bundleForBrowser(fileURLToPath(new URL('../../src/client/index.ts', import.meta.url)));
}

/** `entry` and what it imports as one ES module for a page, as a web app's bundler would make it. */
export async function bundleForBrowser(entry: string): Promise<string> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}
