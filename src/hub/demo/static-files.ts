/**
 * Serves the demo's pages from `web/` and the browser bundle of the client: a few files, read once
 * and kept in memory, so that a request never touches the disk and no path from a URL ever does.
 */
// Both response kinds take writeHead(status, headers); TypeScript cannot call the union's overloads.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NodeRequest, NodeServerResponse } from '../../server/index.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** The package root: this file is at `src/hub/demo/` (tsx) or `dist/hub/demo/` (built), both 3 deep. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const WEB_ROOT = join(PACKAGE_ROOT, 'web');
export const CLIENT_BUNDLE_PATH = join(PACKAGE_ROOT, 'dist', 'browser', 'herald-client.js');

interface StaticFile {
  body: Buffer;
  type: string;
}

/** Reads every file under `root` into a map keyed by URL path (`/clock.html`). */
export function loadStaticFiles(root: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const type = CONTENT_TYPES[extname(name)];
        if (type === undefined) continue;
        files.set(`/${relative(root, path).split(sep).join('/')}`, { body: readFileSync(path), type });
      }
    }
  };
  walk(root);
  return files;
}

/** The client bundle and its source map, when built (`npm run build`). */
export function loadClientBundle(path = CLIENT_BUNDLE_PATH): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  if (existsSync(path))
    files.set('/herald-client.js', { body: readFileSync(path), type: CONTENT_TYPES['.js']! });
  if (existsSync(`${path}.map`)) {
    files.set('/herald-client.js.map', { body: readFileSync(`${path}.map`), type: CONTENT_TYPES['.map']! });
  }
  return files;
}

/** Answers GET/HEAD for a known file; returns false when the path is not one. */
export function serveStatic(
  files: Map<string, StaticFile>,
  req: NodeRequest,
  res: NodeServerResponse,
  path: string,
): boolean {
  const file = files.get(path === '/' ? '/index.html' : path);
  if (file === undefined) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    (res as ServerResponse).writeHead(405, {
      Allow: 'GET, HEAD',
      'Content-Type': 'text/plain; charset=utf-8',
    });
    res.end('method not allowed: the demo pages answer GET and HEAD\n');
    return true;
  }
  (res as ServerResponse).writeHead(200, {
    'Content-Type': file.type,
    'Content-Length': file.body.length,
    // Pages change with the package, not while it runs; a short cache keeps reloads honest.
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
  });
  if (req.method === 'HEAD') res.end();
  else res.end(file.body);
  return true;
}
