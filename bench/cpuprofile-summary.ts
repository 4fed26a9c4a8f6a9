/**
 * Where a process's CPU went, from a V8 `.cpuprofile` (`npm run bench -- --cpu-prof DIR` writes the
 * hub's): self time per category and the functions with the most self time, as Markdown.
 *
 *   node --import tsx bench/cpuprofile-summary.ts <profile> [--from µs --to µs] [--out file.md]
 *   node --import tsx bench/cpuprofile-summary.ts <profile> --bench <bench.json> [--system herald] [--scenario fanout-1k-100]
 *
 * `--from`/`--to` keep the samples of that span only (CLOCK_MONOTONIC µs, the clock of the profile
 * and of the bench); `--bench` reads the span, from the first event's due time to the last delivery,
 * of the first matching run of a bench.json. Categories:
 *   idle                 the event loop waiting (epoll): the core free for anything else
 *   GC                   the garbage collector
 *   V8/native, other     (program): V8 and native code outside any JavaScript frame
 *   socket writes        native writev/write bindings: the send syscalls, loopback TCP included
 *   node:http            the HTTP parser and server (request and response objects)
 *   node:net/streams     sockets, streams, timers and the rest of Node's internals
 *   hub encoding         turning an update into the bytes of a frame (protocol, wire format)
 *   hub fan-out          the hub and server code that routes an update to its subscribers
 *   hub, other           the rest of the hub's own code (publish handling, auth, options)
 *   dependencies         node_modules
 * Native functions other than the socket writes count in their caller's category.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const SOCKET_WRITES =
  /^(writev|writeBuffer|writeUtf8String|writeLatin1String|writeAsciiString|writeUcs2String)$/;
/** Hub modules that turn updates into frame bytes. */
const ENCODING =
  /\/dist\/(protocol\/|hub\/subscribers\/(wire-format|update-frames)|server\/chunked-frame|hub\/transports\/ws-frame)/;
/** Hub modules on the path from a publish to every subscriber's socket. */
const FANOUT = /\/dist\/(server\/|hub\/(subscribers|transports|topics)\/|hub\/hub\.js|hub\/update\.js)/;

/** The category of a frame with a source; undefined for native frames (their caller's counts). */
function categoryOf(frame: CallFrame): string | undefined {
  const { functionName: name, url } = frame;
  if (name === '(idle)') return 'idle';
  if (name === '(garbage collector)') return 'GC';
  if (name === '(program)' || name === '(root)') return 'V8/native, other';
  if (url === '') return SOCKET_WRITES.test(name) ? 'socket writes' : undefined;
  if (url.startsWith('node:_http') || url === 'node:http' || url.startsWith('node:internal/http'))
    return 'node:http';
  if (url.startsWith('node:')) return 'node:net/streams';
  if (url.includes('/node_modules/')) return 'dependencies';
  if (ENCODING.test(url)) return 'hub encoding';
  if (FANOUT.test(url)) return 'hub fan-out';
  if (url.includes('/dist/')) return 'hub, other';
  return 'node:net/streams';
}

export interface ProfileSummary {
  windowMs: number;
  categories: { category: string; ms: number }[];
  functions: { name: string; where: string; category: string; ms: number }[];
}

export function summarize(profile: Profile, from = -Infinity, to = Infinity): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const categoryCache = new Map<number, string>();
  const category = (id: number): string => {
    const cached = categoryCache.get(id);
    if (cached !== undefined) return cached;
    const own = categoryOf(byId.get(id)!.callFrame);
    const p = parent.get(id);
    const c = own ?? (p === undefined ? 'V8/native, other' : category(p));
    categoryCache.set(id, c);
    return c;
  };
  const self = new Map<number, number>();
  let t = profile.startTime;
  let first = Infinity;
  let last = -Infinity;
  // timeDeltas[i] is the time since the previous sample: sample i stands for the span up to it.
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    if (t < from || t > to) continue;
    first = Math.min(first, t - delta);
    last = Math.max(last, t);
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + delta);
  }
  const categories = new Map<string, number>();
  const functions = new Map<string, { name: string; where: string; category: string; us: number }>();
  for (const [id, us] of self) {
    const c = category(id);
    categories.set(c, (categories.get(c) ?? 0) + us);
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const where = url === '' ? '' : `${url.replace(/^.*\/dist\//, 'dist/')}:${lineNumber + 1}`;
    const key = `${functionName}@${where}`;
    const f = functions.get(key) ?? { name: functionName || '(anonymous)', where, category: c, us: 0 };
    f.us += us;
    functions.set(key, f);
  }
  return {
    windowMs: Number.isFinite(first) ? (last - first) / 1000 : 0,
    categories: [...categories]
      .map(([category, us]) => ({ category, ms: us / 1000 }))
      .sort((a, b) => b.ms - a.ms),
    functions: [...functions.values()]
      .map(({ us, ...f }) => ({ ...f, ms: us / 1000 }))
      .sort((a, b) => b.ms - a.ms),
  };
}

export function markdown(title: string, s: ProfileSummary, top = 25): string {
  const share = (ms: number) => `${((ms / Math.max(1e-9, s.windowMs)) * 100).toFixed(1)}%`;
  const busy = s.categories.filter((c) => c.category !== 'idle').reduce((a, c) => a + c.ms, 0);
  return [
    `# ${title}`,
    '',
    `Self time over ${s.windowMs.toFixed(0)} ms of profile (${share(busy)} of it busy), by category and by function (share of the span).`,
    '',
    '| category | ms | share |',
    '| --- | ---: | ---: |',
    ...s.categories.map((c) => `| ${c.category} | ${c.ms.toFixed(1)} | ${share(c.ms)} |`),
    '',
    '| function | where | category | ms | share |',
    '| --- | --- | --- | ---: | ---: |',
    ...s.functions
      .slice(0, top)
      .map((f) => `| ${f.name} | ${f.where} | ${f.category} | ${f.ms.toFixed(1)} | ${share(f.ms)} |`),
    '',
  ].join('\n');
}

/** The window of a bench.json's first run of `system` in `scenario`. */
function benchWindow(file: string, system: string, scenario: string): { from: number; to: number } {
  const report = JSON.parse(readFileSync(file, 'utf8')) as {
    results: { system: string; scenario: string; fanout?: { windowUs?: { from: number; to: number } } }[];
  };
  const run = report.results.find(
    (r) => r.system === system && r.scenario === scenario && r.fanout?.windowUs,
  );
  if (!run) throw new Error(`${file}: no ${system} run of ${scenario} with a window`);
  return run.fanout!.windowUs!;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      bench: { type: 'string' },
      system: { type: 'string', default: 'herald' },
      scenario: { type: 'string', default: 'fanout-1k-100' },
      out: { type: 'string' },
      top: { type: 'string', default: '25' },
    },
  });
  let path = positionals[0];
  if (path === undefined)
    throw new Error(
      'usage: cpuprofile-summary.ts <profile or folder> [--from µs --to µs | --bench bench.json] [--out file.md]',
    );
  // A folder: its newest profile.
  if (statSync(path).isDirectory()) {
    const dir = path;
    const newest = readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(dir, f))
      .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs)
      .at(-1);
    if (newest === undefined) throw new Error(`no .cpuprofile in ${dir}`);
    path = newest;
  }
  const window = values.bench
    ? benchWindow(values.bench, values.system!, values.scenario!)
    : { from: Number(values.from ?? -Infinity), to: Number(values.to ?? Infinity) };
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const text = markdown(
    `CPU profile ${basename(path)}${values.bench ? `, ${values.system} in ${values.scenario} (first due time to last delivery)` : ''}`,
    summarize(profile, window.from, window.to),
    Number(values.top),
  );
  if (values.out) writeFileSync(values.out, text);
  else process.stdout.write(text);
}
