/**
 * The generator process when the C subscriber side is used (bench/load/c/subscribers.c, compiled by
 * `npm run bench` into .cache/bench/): speaks subscribers.ts's IPC protocol to the bench and relays
 * each message as one line to the C program, whose JSON lines it sends back. It only relays a handful
 * of messages per run; every socket and event is the C program's.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const binary = process.argv[2];
if (binary === undefined) throw new Error('usage: c-subscribers.ts <path of the compiled generator>');
const child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'inherit'] });
child.on('exit', (code) => {
  if (code !== 0) console.error(`C generator exited with ${code}`);
  if (process.connected) process.disconnect();
});
createInterface({ input: child.stdout! }).on('line', (line) => {
  process.send!(JSON.parse(line));
});

type Message =
  | {
      type: 'connect';
      host: string;
      port: number;
      paths: string[];
      firstIndex: number;
      count: number;
      sourceAddress: string;
    }
  | { type: 'expect'; events: number }
  | { type: 'report' }
  | { type: 'close' };

process.on('message', (m: Message) => {
  switch (m.type) {
    case 'connect':
      // Paths are URL paths: no spaces (the C side splits on them).
      child.stdin!.write(
        `connect ${m.host} ${m.port} ${m.firstIndex} ${m.count} ${m.sourceAddress} ${m.paths.join(' ')}\n`,
      );
      return;
    case 'expect':
      child.stdin!.write(`expect ${m.events}\n`);
      return;
    case 'report':
      child.stdin!.write('report\n');
      return;
    case 'close':
      child.stdin!.end('close\n');
      return;
  }
});
process.on('disconnect', () => child.kill());
