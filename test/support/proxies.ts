/**
 * Real nginx and HAProxy for tests, run from a scratch folder with the configs the project ships
 * (deploy/nginx.conf, deploy/haproxy.cfg). Only what must differ on a test machine is rewritten:
 * the listening address, the certificate, the nodes (one, on the test's port) and, when a test
 * asks, the idle timeouts. Each rewrite must find its target, so a config that drifts from what
 * the tests expect fails loudly instead of being tested half-changed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { requirePart } from './requirements.js';
import { selfSigned } from './self-signed.js';

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));

export type ProxyKind = 'nginx' | 'haproxy';

const BINARIES: Record<ProxyKind, string> = { nginx: '/usr/sbin/nginx', haproxy: '/usr/sbin/haproxy' };

export interface ProxyOptions {
  /** The port of the one Herald node behind the proxy (127.0.0.1). */
  upstreamPort: number;
  /** Replaces the shipped stream idle timeouts (nginx `proxy_read_timeout`, HAProxy `timeout client/server`). */
  idleTimeoutMs?: number;
}

export interface RunningProxy {
  kind: ProxyKind;
  /** `https://127.0.0.1:PORT`: TLS, HTTP/2 or HTTP/1.1, as shipped. */
  origin: string;
  port: number;
  /** `http://127.0.0.1:PORT2`: the same site over plain HTTP/1.1 (TLS ended in front of the proxy). */
  plainOrigin: string;
  /** The self-signed certificate it serves (PEM), to trust in clients. */
  ca: string;
  /** What the proxy wrote to its error log / stderr so far. */
  log(): string;
}

/** Returns true when the proxy can run; otherwise skips the test (fails it under CI). */
export function requireProxy(t: TestContext, kind: ProxyKind): boolean {
  let reason: string | null = null;
  try {
    accessSync(BINARIES[kind], constants.X_OK);
  } catch {
    reason = `no executable at ${BINARIES[kind]} (apt-get install ${kind})`;
  }
  if (reason === null) {
    try {
      accessSync('/usr/bin/openssl', constants.X_OK);
    } catch {
      reason = 'no openssl to make a test certificate';
    }
  }
  return requirePart(t, kind, reason);
}

/** A port free right now on 127.0.0.1 (for servers that must come back on the same port). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** Replaces `pattern` in `text`, throwing when it is not there (the shipped config changed shape). */
function rewrite(text: string, pattern: RegExp, replacement: string, file: string): string {
  if (!pattern.test(text)) throw new Error(`${file}: expected to find ${pattern} to adapt it for the test`);
  return text.replace(pattern, replacement);
}

function nginxConfig(
  dir: string,
  port: number,
  plainPort: number,
  cert: { cert: string; key: string },
  options: ProxyOptions,
) {
  const file = 'deploy/nginx.conf';
  let site = readFileSync(join(DEPLOY, 'nginx.conf'), 'utf8');
  // One node, on the test's port; the other example nodes go.
  site = rewrite(site, /server 10\.0\.0\.11:3000/, `server 127.0.0.1:${options.upstreamPort}`, file);
  site = rewrite(site, /^\s*server 10\.0\.0\.1[23]:3000[^\n]*\n/gm, '', file);
  site = rewrite(
    site,
    /listen 443 ssl http2;/,
    `listen 127.0.0.1:${port} ssl http2;\n    listen 127.0.0.1:${plainPort};`,
    file,
  );
  site = rewrite(site, /ssl_certificate\s+\S+;/, `ssl_certificate ${cert.cert};`, file);
  site = rewrite(site, /ssl_certificate_key\s+\S+;/, `ssl_certificate_key ${cert.key};`, file);
  if (options.idleTimeoutMs !== undefined) {
    site = rewrite(site, /proxy_read_timeout \S+;/, `proxy_read_timeout ${options.idleTimeoutMs}ms;`, file);
    site = rewrite(site, /proxy_send_timeout \S+;/, `proxy_send_timeout ${options.idleTimeoutMs}ms;`, file);
  }
  mkdirSync(join(dir, 'tmp'));
  return `daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/client_body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
${site}
}
`;
}

function haproxyConfig(port: number, plainPort: number, pem: string, options: ProxyOptions): string {
  const file = 'deploy/haproxy.cfg';
  let cfg = readFileSync(join(DEPLOY, 'haproxy.cfg'), 'utf8');
  cfg = rewrite(cfg, /log stdout format raw local0 info/, 'log stderr format raw local0 info', file);
  // The shipped maxconn needs a file limit this machine does not grant.
  cfg = rewrite(cfg, /maxconn \d+/, 'maxconn 1000', file);
  cfg = rewrite(
    cfg,
    /bind :443 ssl crt \S+/,
    `bind 127.0.0.1:${plainPort}\n    bind 127.0.0.1:${port} ssl crt ${pem}`,
    file,
  );
  cfg = rewrite(cfg, /10\.0\.0\.11:3000/g, `127.0.0.1:${options.upstreamPort}`, file);
  cfg = rewrite(cfg, /^\s*server node[23] [^\n]*\n/gm, '', file);
  if (options.idleTimeoutMs !== undefined) {
    cfg = rewrite(cfg, /timeout client 1h/, `timeout client ${options.idleTimeoutMs}ms`, file);
    cfg = rewrite(cfg, /timeout server 1h/, `timeout server ${options.idleTimeoutMs}ms`, file);
  }
  return cfg;
}

/**
 * Starts nginx or HAProxy in the foreground on a free port, with the shipped config adapted as
 * above; stopped (and its folder removed) by `t.after`.
 */
export async function startProxy(
  t: TestContext,
  kind: ProxyKind,
  options: ProxyOptions,
): Promise<RunningProxy> {
  const dir = mkdtempSync(join(tmpdir(), `herald-${kind}-`));
  const cert = selfSigned(dir);
  const port = await freePort();
  const plainPort = await freePort();
  let child: ChildProcess;
  let output = '';
  if (kind === 'nginx') {
    const conf = join(dir, 'nginx.conf');
    writeFileSync(conf, nginxConfig(dir, port, plainPort, cert, options));
    child = spawn(BINARIES.nginx, ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } else {
    const pem = join(dir, 'hub.pem');
    writeFileSync(pem, readFileSync(cert.cert, 'utf8') + readFileSync(cert.key, 'utf8'));
    const conf = join(dir, 'haproxy.cfg');
    writeFileSync(conf, haproxyConfig(port, plainPort, pem, options));
    child = spawn(BINARIES.haproxy, ['-db', '-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  }
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const exited = once(child, 'exit');
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const log = () => {
    let errorLog = '';
    try {
      errorLog = readFileSync(join(dir, 'error.log'), 'utf8');
    } catch {}
    return output + errorLog;
  };
  await waitForPort(port, () => {
    if (child.exitCode !== null) throw new Error(`${kind} exited (${child.exitCode}):\n${log()}`);
  });
  return {
    kind,
    origin: `https://127.0.0.1:${port}`,
    port,
    plainOrigin: `http://127.0.0.1:${plainPort}`,
    ca: readFileSync(cert.cert, 'utf8'),
    log,
  };
}

/** Waits until something accepts connections on `port`; `check` throws to give up. */
async function waitForPort(port: number, check: () => void): Promise<void> {
  for (let attempt = 0; attempt < 500; attempt++) {
    check();
    const connected = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (connected) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`nothing listening on ${port} after 10 s`);
}
