/**
 * Starting and stopping the processes of a system under test: pinned to a core with `taskset`, output
 * to a log file under bench/results/raw/, ready once its port answers.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, openSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RAW = join(ROOT, 'bench', 'results', 'raw');

/** Starts `cmd args` pinned to `core`, stdout and stderr appended to raw/<log>.log. */
export function spawnPinned(
  core: number | undefined,
  cmd: string,
  args: string[],
  log: string,
  extra: { stdio?: 'ipc'; cwd?: string } = {},
): ChildProcess {
  mkdirSync(RAW, { recursive: true });
  const fd = openSync(join(RAW, `${log}.log`), 'a');
  const [file, ...rest] = core === undefined ? [cmd, ...args] : ['taskset', '-c', String(core), cmd, ...args];
  // taskset execs the command: the child's pid is the system's own.
  return spawn(file!, rest, {
    stdio: extra.stdio === 'ipc' ? ['ignore', fd, fd, 'ipc'] : ['ignore', fd, fd],
    cwd: extra.cwd ?? ROOT,
  });
}

/** A TCP port free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** Resolves once host:port accepts a connection; rejects after `timeoutMs` or if `child` exits. */
export async function waitForPort(
  host: string,
  port: number,
  child: ChildProcess,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`process exited (${child.exitCode ?? child.signalCode}) before listening on ${port}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, host);
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Sends `signal`, then SIGKILL if the process is still there after 10 s. */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Whether `cmd` is on the PATH. */
export function onPath(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
