/**
 * Connection churn against a hub child (fixtures/hub-child.ts): shared by the churn test and the
 * soak run.
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';

const CONCURRENCY = 50;
export const TOPIC = 'https://example.com/churn';

export interface Figures {
  heap: number;
  rss: number;
  fds: number;
  subscribers: number;
}

/** One subscriber: connect, wait for the response (and the first event when `read`), drop it. */
export function cycle(port: number, read: boolean): Promise<void> {
  return new Promise((resolve) => {
    const path = `/.well-known/mercure?topic=${encodeURIComponent(TOPIC)}`;
    const req = http.get({ port, host: '127.0.0.1', path, agent: false }, (res) => {
      if (!read) {
        req.destroy();
        resolve();
        return;
      }
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', () => resolve());
  });
}

export async function churn(port: number, cycles: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < cycles) await cycle(port, next++ % 2 === 0);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

export function measure(child: ReturnType<typeof fork>): Promise<Figures> {
  const answer = new Promise<Figures>((resolve) => {
    const on = (m: Figures & { type: string }) => {
      if (m.type !== 'figures') return;
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
  });
  child.send({ type: 'measure' });
  return answer;
}

export function forkHub(): ReturnType<typeof fork> {
  return fork(join(import.meta.dirname, 'fixtures', 'hub-child.ts'), {
    execArgv: ['--expose-gc', '--import', 'tsx'],
  });
}
