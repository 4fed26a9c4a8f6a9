/**
 * A redis-server process of a test's own, on a port it chose: unlike the shared one on 6379, it can
 * be stopped, paused and started again. Resolves once the server says it accepts connections.
 */
import { type ChildProcess, spawn } from 'node:child_process';

/** Starts `redis-server --port PORT --bind 127.0.0.1 --save ''` plus `args` (e.g. `--appendonly yes`). */
export async function spawnRedisServer(port: number, args: string[] = []): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout!.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('Ready to accept connections')) resolve();
    });
  });
  child.removeAllListeners('exit');
  child.stdout!.resume();
  return child;
}
