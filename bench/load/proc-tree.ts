/**
 * CPU time and memory of a process and all its descendants, read from /proc (Linux only): the
 * systems under test run several processes (nginx master + workers, pushpin's services, the hub's
 * cluster primary + workers), and each figure is the sum over the tree.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: /proc/<pid>/stat counts CPU time in ticks of 1/100 s on every Linux we run on. */
const TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

interface Stat {
  pid: number;
  ppid: number;
  userTicks: number;
  systemTicks: number;
  rssPages: number;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined; // gone meanwhile
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Fields from 3 on (proc(5)): state ppid ... utime(14) stime(15) ... rss(24)
  return {
    pid,
    ppid: Number(rest[1]),
    userTicks: Number(rest[11]),
    systemTicks: Number(rest[12]),
    rssPages: Number(rest[21]),
  };
}

/** Every live process whose ancestry includes `root`, `root` first. */
export function processTree(root: number): Stat[] {
  const all: Stat[] = [];
  for (const name of readdirSync('/proc')) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const s = readStat(Number(name));
    if (s) all.push(s);
  }
  const children = new Map<number, Stat[]>();
  for (const s of all) {
    const list = children.get(s.ppid);
    if (list) list.push(s);
    else children.set(s.ppid, [s]);
  }
  const rootStat = all.find((s) => s.pid === root);
  if (!rootStat) return [];
  const out = [rootStat];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!.pid) ?? []));
  return out;
}

/** User and system CPU seconds of the whole tree so far (10 ms resolution). */
export function treeCpu(roots: number[]): { user: number; system: number } {
  let user = 0;
  let system = 0;
  for (const root of roots) {
    for (const s of processTree(root)) {
      user += s.userTicks;
      system += s.systemTicks;
    }
  }
  return { user: user / TICKS_PER_SECOND, system: system / TICKS_PER_SECOND };
}

/** Resident memory of the whole tree, in bytes. */
export function treeRssBytes(roots: number[]): number {
  let pages = 0;
  for (const root of roots) for (const s of processTree(root)) pages += s.rssPages;
  return pages * PAGE_BYTES;
}
