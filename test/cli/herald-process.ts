/**
 * Runs `herald` (or any script, e.g. an example) as users do: a real process
 * (`node --import tsx src/cli/main.ts …`), its output collected, and helpers to wait for a line or
 * for the exit. Each test kills what it started.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { bounded } from '../support/retry.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface HeraldProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stdout (waiting for more output, 90 s at most). */
  waitForOutput(pattern: RegExp): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (or the signal name) once the process is gone. */
  exited: Promise<number | string>;
  /** Kills the process (SIGKILL) if it still runs; for `after` hooks. */
  kill(): void;
}

/** Another user to run as (needs root): e.g. to meet a file the process may not write. */
export interface RunAs {
  uid: number;
  gid: number;
}

/** `herald serve` on a free port of the loopback address: the start of most tests' arguments. */
export const LOCAL_SERVE: readonly string[] = ['serve', '--port', '0', '--host', '127.0.0.1'];

export function startHerald(
  args: string[],
  env: Record<string, string> = {},
  cwd = ROOT,
  runAs?: RunAs,
): HeraldProcess {
  return startScript(MAIN, args, env, cwd, runAs);
}

/** Starts `node --import tsx <script> …args` with a clean environment plus `env`. */
export function startScript(
  script: string,
  args: string[],
  env: Record<string, string> = {},
  cwd = ROOT,
  runAs?: RunAs,
): HeraldProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd,
    ...runAs,
    // A clean environment: HERALD_* variables of the developer's shell must not leak into tests.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (const wake of waiters) wake();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  let gone = false;
  void exited.then(() => {
    gone = true;
    for (const wake of waiters) wake();
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    kill() {
      if (!gone) child.kill('SIGKILL');
    },
    waitForOutput(pattern) {
      let check = () => {};
      const found = new Promise<RegExpMatchArray>((resolve, reject) => {
        check = () => {
          const match = out.match(pattern);
          if (match !== null) {
            waiters.delete(check);
            resolve(match);
          } else if (gone) {
            waiters.delete(check);
            reject(new Error(`${script} exited before printing ${pattern}\nstdout: ${out}\nstderr: ${err}`));
          }
        };
        waiters.add(check);
        check();
      });
      // A process that neither prints it nor exits: fail naming what it printed (a slow start on a
      // busy machine gets 90 s).
      const what = () => `${pattern} from ${script}\nstdout: ${out}\nstderr: ${err}`;
      return bounded(found, what, 90_000).finally(() => waiters.delete(check));
    },
  };
}

/** Runs herald to completion and returns its exit code and output. */
export async function runHerald(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const proc = startHerald(args, env);
  const code = await proc.exited;
  return { code, stdout: proc.stdout(), stderr: proc.stderr() };
}
