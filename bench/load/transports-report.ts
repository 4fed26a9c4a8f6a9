/**
 * The transport comparison's report: bench/results/transports.json (everything), transports.md
 * (the table and the targets' verdicts) and transports.svg (the chart). The hub over its three
 * transports and a plain `ws` broadcast server, on the same load generator.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chart } from './chart.js';
import type { Report, Summary } from './results.js';

/** The systems of the comparison, in table order, with what they are. */
export const TRANSPORT_SYSTEMS: [system: string, label: string][] = [
  ['herald', 'Herald, SSE'],
  ['herald-ws', 'Herald, WebSocket'],
  ['herald-poll', 'Herald, long polling'],
  ['ws', 'plain ws broadcast'],
];
/** The cases: 1k subscribers at 100 and 1,000 updates a second. */
export const TRANSPORT_SCENARIOS = ['fanout-1k-100', 'fanout-1k-1000'];
/** Herald's WebSocket path may cost at most this much of its SSE path per delivery. */
export const WS_OVER_SSE_TARGET = 1.1;

const fix = (n: number | undefined, d: number): string => (n === undefined ? '–' : n.toFixed(d));
const int = (n: number | undefined): string =>
  n === undefined ? '–' : Math.round(n).toLocaleString('en-US');
const kb = (bytes: number | undefined): string => (bytes === undefined ? '–' : (bytes / 1024).toFixed(1));

function find(report: Report, scenario: string, system: string): Summary | undefined {
  return report.summaries.find((s) => s.scenario === scenario && s.system === system);
}

/** One verdict per case and target. */
export function verdicts(
  report: Report,
): { target: string; scenario: string; value: string; met: boolean | undefined }[] {
  const out: { target: string; scenario: string; value: string; met: boolean | undefined }[] = [];
  for (const scenario of TRANSPORT_SCENARIOS) {
    const sse = find(report, scenario, 'herald')?.cpuMicrosPerDelivery;
    const ws = find(report, scenario, 'herald-ws')?.cpuMicrosPerDelivery;
    const plain = find(report, scenario, 'ws')?.cpuMicrosPerDelivery;
    const overSse = sse !== undefined && ws !== undefined ? ws / sse : undefined;
    out.push({
      target: `Herald WebSocket CPU per delivery <= ${WS_OVER_SSE_TARGET}x Herald SSE`,
      scenario,
      value:
        overSse === undefined
          ? 'not measured'
          : `${overSse.toFixed(2)}x (${fix(ws, 2)} vs ${fix(sse, 2)} µs)`,
      met: overSse === undefined ? undefined : overSse <= WS_OVER_SSE_TARGET,
    });
    const perCpuSecond = (us: number | undefined) => (us === undefined ? undefined : 1e6 / us);
    const h = perCpuSecond(ws);
    const p = perCpuSecond(plain);
    out.push({
      target: 'Herald WebSocket beats plain ws in deliveries per CPU-second',
      scenario,
      value:
        h === undefined || p === undefined
          ? 'not measured'
          : `${int(h)} vs ${int(p)} (${(h / p).toFixed(2)}x)`,
      met: h === undefined || p === undefined ? undefined : h > p,
    });
  }
  return out;
}

function markdown(report: Report): string {
  const out: string[] = [
    `# Herald's transports: SSE, WebSocket and long polling, and a plain ws server${report.quick ? ' (quick run)' : ''}`,
    '',
    `Medians of up to ${report.runs} interleaved runs per case; lost and duplicated are totals over the runs.`,
    'One hub process pinned to core 0, the load generator to core 1, HTTP/1.1 over loopback, 100-byte events,',
    'the same publisher (HTTP publishes at a fixed rate) and the same subscriber processes for every system.',
    `Versions: ${Object.entries(report.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(
        ', ',
      )}. ${report.machine.cpus} x ${report.machine.model}, Node ${report.machine.node}${report.machine.systemsNode && report.machine.systemsNode !== report.machine.node ? ` (systems under test on Node ${report.machine.systemsNode})` : ''}, Linux ${report.machine.kernel}.`,
    `Run ${report.started} to ${report.finished}; load average at the end ${report.machine.loadAverageAtEnd.map((x) => x.toFixed(2)).join(' / ')} (a shared machine: compare within a run, not across runs).`,
    `Command: \`${report.command}\`.`,
    '',
    '## Targets',
    '',
    '| target | case | measured | verdict |',
    '|---|---|---|---|',
  ];
  for (const v of verdicts(report)) {
    out.push(
      `| ${v.target} | ${v.scenario} | ${v.value} | ${v.met === undefined ? '–' : v.met ? 'met' : 'missed'} |`,
    );
  }
  out.push('', 'Long polling is reported, not targeted.', '');
  for (const scenario of TRANSPORT_SCENARIOS) {
    const title = report.scenarios.find((s) => s.key === scenario)?.title ?? scenario;
    out.push(
      `## ${title}`,
      '',
      '| system | memory per idle connection (KB) | CPU per delivery (µs) | deliveries/s | p50 / p99 latency (ms) | lost | duplicated | runs |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const [system, label] of TRANSPORT_SYSTEMS) {
      const s = find(report, scenario, system);
      if (s === undefined) {
        out.push(`| ${label} | not run | | | | | | |`);
        continue;
      }
      const errors = s.errors.length > 0 ? ` (${s.errors.length} failed: ${s.errors[0]})` : '';
      out.push(
        `| ${label} | ${kb(s.memoryPerSubscriberBytes)} | ${fix(s.cpuMicrosPerDelivery, 2)} | ${int(s.deliveriesPerSecond)} | ${fix(s.p50Ms, 1)} / ${fix(s.p99Ms, 1)} | ${s.lost} | ${s.duplicates} | ${s.runs}${errors} |`,
      );
    }
    out.push('');
  }
  out.push(
    'Memory per idle connection: RSS growth of the server while the subscribers connect, divided by the',
    'subscribers connected (a waiting long poll counts as one). CPU per delivery: server CPU (user + system)',
    'from the first publish to the last delivery, divided by the deliveries. The plain ws server keeps no',
    'history, checks no token and resumes nothing: it is the floor a WebSocket fan-out in Node can reach,',
    'not a feature-for-feature peer.',
    '',
  );
  return out.join('\n');
}

function svg(report: Report): string {
  const bars = (scenario: string, pick: (s: Summary) => number | undefined) =>
    TRANSPORT_SYSTEMS.map(([system, label]) => {
      const s = find(report, scenario, system);
      return {
        label: label.replace('Herald, ', ''),
        value: s === undefined ? undefined : pick(s),
        highlight: system.startsWith('herald'),
      };
    });
  return chart("Herald's transports and a plain ws server, 1k subscribers", [
    {
      title: 'CPU per delivery, 1k x 100/s',
      better: 'lower',
      unit: 'µs',
      bars: bars('fanout-1k-100', (s) => s.cpuMicrosPerDelivery),
    },
    {
      title: 'CPU per delivery, 1k x 1,000/s',
      better: 'lower',
      unit: 'µs',
      bars: bars('fanout-1k-1000', (s) => s.cpuMicrosPerDelivery),
    },
    {
      title: 'Deliveries per second, 1k x 1,000/s',
      better: 'higher',
      unit: '/s',
      bars: bars('fanout-1k-1000', (s) => s.deliveriesPerSecond),
    },
    {
      title: 'Memory per idle connection',
      better: 'lower',
      unit: 'KB',
      bars: bars('fanout-1k-100', (s) =>
        s.memoryPerSubscriberBytes === undefined ? undefined : s.memoryPerSubscriberBytes / 1024,
      ),
    },
  ]);
}

export function writeTransportsReport(dir: string, report: Report): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'transports.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(dir, 'transports.md'), markdown(report));
  writeFileSync(join(dir, 'transports.svg'), svg(report));
}
