/** Writes a benchmark report: bench.json (everything), bench.md (tables) and bench.svg (chart). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chart } from './chart.js';
import type { Report, Summary } from './results.js';
import type { StageQuantiles } from './stages.js';

const int = (n: number | undefined): string =>
  n === undefined ? '–' : Math.round(n).toLocaleString('en-US');
const fix = (n: number | undefined, d: number): string => (n === undefined ? '–' : n.toFixed(d));
const kb = (bytes: number | undefined): string => (bytes === undefined ? '–' : (bytes / 1024).toFixed(1));
const pct = (n: number | undefined): string => (n === undefined ? '–' : `${Math.round(n * 100)}%`);
/** herald / peer, as "1.23x". */
const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || b === 0 ? '–' : `${(a / b).toFixed(2)}x`;

function find(report: Report, scenario: string, system: string): Summary | undefined {
  return report.summaries.find((s) => s.scenario === scenario && s.system === system);
}

export function writeReport(dir: string, report: Report): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'bench.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(dir, 'bench.md'), markdown(report));
  writeFileSync(join(dir, 'bench.svg'), svg(report));
}

function systems(report: Report): string[] {
  return [...new Set(report.summaries.map((s) => s.system))];
}

function markdown(report: Report): string {
  const names = systems(report);
  const peers = names.filter((n) => n !== 'herald');
  const out: string[] = [];
  out.push(
    `# Herald hub against nchan, better-sse and Pushpin${report.quick ? ' (quick run)' : ''}`,
    '',
    `Medians of up to ${report.runs} interleaved runs per case (the runs column); lost, duplicated and failed are totals over the runs.`,
    'Each system pinned to core 0, the load generator to core 1, HTTP/1.1 over loopback, 100-byte events.',
    `Versions: ${Object.entries(report.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(
        ', ',
      )}. ${report.machine.cpus} x ${report.machine.model}, Node ${report.machine.node}${report.machine.systemsNode && report.machine.systemsNode !== report.machine.node ? ` (systems under test on Node ${report.machine.systemsNode})` : ''}, Linux ${report.machine.kernel}.`,
    `Run ${report.started} to ${report.finished}; load average${
      report.machine.loadAverageAtStart
        ? ` at the start ${report.machine.loadAverageAtStart.map((x) => x.toFixed(2)).join(' / ')},`
        : ''
    } at the end ${report.machine.loadAverageAtEnd.map((x) => x.toFixed(2)).join(' / ')}.`,
    `Command: \`${report.command}\`.`,
    '',
  );
  for (const s of report.skipped) out.push(`- **${s.name}** was not run: ${s.why}.`);
  for (const s of report.notRun) out.push(`- ${s.system} skipped in \`${s.scenario}\`: ${s.why}.`);
  if (report.skipped.length + report.notRun.length > 0) out.push('');

  out.push(...targets(report, peers), '');

  // Memory per idle subscriber.
  const connectCases = report.scenarios.filter((s) => s.subscribers > 0);
  out.push(
    '## Memory per idle subscriber',
    '',
    "RSS growth of the server's whole process tree while the subscribers connect, divided by the subscribers connected (KB).",
    '',
    `| case | ${names.map((n) => `${n} KB/sub (connected, failed)`).join(' | ')} |`,
    `| --- | ${names.map(() => '---:').join(' | ')} |`,
  );
  for (const sc of connectCases) {
    const cells = names.map((n) => {
      const s = find(report, sc.key, n);
      if (!s) return 'not run';
      return `${kb(s.memoryPerSubscriberBytes)} (${int(s.made)}, ${s.failed})${s.workers > 1 ? ` [${s.workers} workers]` : ''}`;
    });
    out.push(`| ${sc.title} | ${cells.join(' | ')} |`);
  }
  out.push('');

  // Fan-out.
  const fanoutCases = report.scenarios.filter((s) => s.events > 0);
  out.push(
    '## Fan-out',
    '',
    "Latency runs from each event's due time at the publisher (so a server that holds publishers up is charged for it) to its arrival at a subscriber; deliveries/s is events received by all subscribers over the time from the first due time to the last delivery; CPU is user + system time of the server's process tree over the same span, per delivered event.",
    '',
    "The last column is the subscriber-side load generator's CPU over the same span as a share of its own core (the most of the runs): under half, it is not what the latency measures.",
    '',
    'The runs-behind column counts, in paced cases (every system is expected to deliver the offered rate), the runs in which the system delivered less than 95% of it, lost events or timed out: a case with any is marked disturbed in the targets, which draw no verdict from it.',
    '',
    '| case | system | runs | deliveries/s | CPU µs/delivery | of it user | p50 ms | p90 ms | p99 ms | max ms | lost | dup | runs timed out | runs behind | generator core |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const sc of fanoutCases) {
    for (const n of names) {
      const s = find(report, sc.key, n);
      if (!s) continue;
      out.push(
        `| ${sc.title} | ${n}${s.workers > 1 ? ` (${s.workers} workers)` : ''} | ${s.runs} | ${int(s.deliveriesPerSecond)} | ${fix(s.cpuMicrosPerDelivery, 2)} | ${pct(s.userCpuShare)} | ${fix(s.p50Ms, 1)} | ${fix(s.p90Ms, 1)} | ${fix(s.p99Ms, 1)} | ${fix(s.maxMs, 1)} | ${s.lost} | ${s.duplicates} | ${s.incomplete} | ${sc.paced ? s.behind : '–'} | ${pct(s.generatorCoreShareMax)} |`,
      );
    }
  }
  out.push('');

  out.push(...whereTheTimeGoes(report, names));

  // Publish throughput.
  const tpCases = report.scenarios.filter((s) => s.throughput);
  if (tpCases.length > 0) {
    out.push(
      '## Publish throughput',
      '',
      '| case | system | runs | publishes/s | CPU µs/publish |',
      '| --- | --- | ---: | ---: | ---: |',
    );
    for (const sc of tpCases) {
      for (const n of names) {
        const s = find(report, sc.key, n);
        if (s)
          out.push(
            `| ${sc.title} | ${n} | ${s.runs} | ${int(s.publishesPerSecond)} | ${fix(s.cpuMicrosPerPublish, 1)} |`,
          );
      }
    }
    out.push('');
  }

  // Ratios of the hub to each peer.
  if (names.includes('herald') && peers.length > 0) {
    out.push(
      '## The hub against each peer',
      '',
      "herald's median divided by the peer's: above 1x is better for throughput, below 1x is better for CPU, latency and memory.",
      '',
      `| case | figure | ${peers.map((p) => `vs ${p}`).join(' | ')} |`,
      `| --- | --- | ${peers.map(() => '---:').join(' | ')} |`,
    );
    const rows: [string, string, (s: Summary) => number | undefined][] = [];
    for (const sc of report.scenarios) {
      if (sc.throughput) rows.push([sc.key, 'publishes/s', (s) => s.publishesPerSecond]);
      else if (sc.events > 0) {
        rows.push([sc.key, 'deliveries/s', (s) => s.deliveriesPerSecond]);
        rows.push([sc.key, 'CPU µs/delivery', (s) => s.cpuMicrosPerDelivery]);
        rows.push([sc.key, 'p99 latency', (s) => s.p99Ms]);
      } else rows.push([sc.key, 'memory/subscriber', (s) => s.memoryPerSubscriberBytes]);
    }
    for (const [key, label, f] of rows) {
      const h = find(report, key, 'herald');
      if (!h) continue;
      const cells = peers.map((p) => {
        const s = find(report, key, p);
        return s ? ratio(f(h), f(s)) : '–';
      });
      out.push(`| ${key} | ${label} | ${cells.join(' | ')} |`);
    }
    out.push('');
  }

  const errors = report.results.filter((r) => r.error);
  if (errors.length > 0) {
    out.push('## Errors', '');
    for (const r of errors) out.push(`- ${r.scenario} ${r.system} run ${r.run}: ${r.error}`);
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

/** The case the per-stage table reads: the latency target's. */
const STAGES_CASE = 'fanout-1k-100';

/**
 * Each system's per-stage breakdown of the latency target's case (bench/load/stages.ts), measured
 * from outside the same way for every system: empty when the case was not run or had no stages.
 */
function whereTheTimeGoes(report: Report, names: string[]): string[] {
  const rows = names
    .map((n) => find(report, STAGES_CASE, n))
    .filter((s): s is Summary => s?.stages !== undefined);
  if (rows.length === 0) return [];
  const pair = (q: StageQuantiles | undefined): string =>
    q === undefined ? '–' : `${q.p50.toFixed(2)} / ${q.p99.toFixed(2)}`;
  return [
    '## Where the time goes, 1k × 100/s',
    '',
    `\`${STAGES_CASE}\`, p50 / p99 in ms over events (medians over the runs), each stage timed outside the system the same way for every one: pacing lag is from an event's due time to its publish request being written (the publisher waits for each answer before the next request, so a slow answer delays the next event); round trip from written to the answer; to first subscriber from the due time to the first subscriber reading the event; spread from the first subscriber's read to the last one's (the fan-out over every socket); end to end is the latency above, over all deliveries. CPU share is the server's user + system time over the run, as a share of its one core.`,
    '',
    '| system | pacing lag | publish round trip | due → first subscriber | first → last subscriber | end to end | server CPU of its core |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((s) => {
      const st = s.stages!;
      const e2e = s.p50Ms === undefined || s.p99Ms === undefined ? undefined : { p50: s.p50Ms, p99: s.p99Ms };
      return `| ${s.system} | ${pair(st.pacingLagMs)} | ${pair(st.publishRoundTripMs)} | ${pair(st.firstReceiveMs)} | ${pair(st.spreadMs)} | ${pair(e2e)} | ${pct(s.serverCoreShare)} |`;
    }),
    '',
  ];
}

/** Memory per idle subscriber the hub must stay under, at 10k and 19k subscribers. */
const MEMORY_TARGET_BYTES = 6 * 1024;
/** Updates per second one hub process must take in (and deliver) by batch publishing. */
const BATCH_RATE_TARGET = 100_000;
/** p99 latency at 1k subscribers x 100 events/s the hub must stay under (and under nchan's). */
const P99_TARGET_MS = 5;

/**
 * The targets of the hub, each with the hub's figure and every peer's from this run, and whether the
 * hub met it: the section a reader checks first.
 */
function targets(report: Report, peers: string[]): string[] {
  const h = (key: string) => find(report, key, 'herald');
  const peerCells = (key: string, show: (s: Summary) => string) =>
    peers.map((p) => {
      const s = find(report, key, p);
      return s ? show(s) : 'not run';
    });
  const rows: string[][] = [];
  /**
   * Why no verdict can be drawn from these cases: a system the targets compare (the hub or nchan)
   * fell behind the offered load in a paced case, so the machine, not the systems, set the pace.
   * Undefined when both kept up. Other systems are not counted: better-sse and Pushpin fall behind
   * at 1k x 100/s on any machine (their own limit, shown in the case table), and a baseline of the
   * hub in an A/B may be slower on its own; neither says anything about the run.
   */
  const disturbed = (...keys: string[]): string | undefined =>
    disturbedBy(keys, (system) => system === 'herald' || system === 'nchan');
  /** As `disturbed`, counting only the systems `counts` accepts. */
  const disturbedBy = (keys: string[], counts: (system: string) => boolean): string | undefined => {
    const late = report.summaries.filter(
      (s) => keys.includes(s.scenario) && s.behind > 0 && counts(s.system),
    );
    if (late.length === 0) return undefined;
    return `disturbed, no verdict (${late
      .map(
        (s) =>
          `${s.system} behind in ${s.behind} of ${s.runs} run${s.runs > 1 ? 's' : ''}${
            s.behindDeliveriesPerSecond === undefined
              ? ''
              : `, down to ${int(s.behindDeliveriesPerSecond)} deliveries/s`
          }`,
      )
      .join('; ')})`;
  };
  /**
   * Compares the hub with nchan: `higher` means a bigger figure is better; the hub must reach
   * `factor` times nchan's figure (at least for `higher`, at most otherwise). `nchanKey` reads
   * nchan's figure from another case of the same run.
   */
  const versusNchan = (
    key: string,
    what: string,
    f: (s: Summary) => number | undefined,
    show: (n: number | undefined) => string,
    higher: boolean,
    factor = 1,
    nchanKey = key,
    nchanF = f,
  ) => {
    const mine = h(key);
    const nchan = find(report, nchanKey, 'nchan');
    const a = mine && f(mine);
    const b = nchan && nchanF(nchan);
    const met =
      a === undefined || b === undefined
        ? 'not measured'
        : (disturbed(key, nchanKey) ?? ((higher ? a >= factor * b : a <= factor * b) ? 'met' : 'missed'));
    const bound = `${higher ? '≥' : '≤'} ${factor === 1 ? '' : `${factor}x `}nchan${
      nchanKey === key ? '' : ` (${nchanKey}: ${show(b)})`
    }`;
    rows.push([what, bound, show(a), ...peerCells(key, (s) => show(f(s))), met]);
  };
  versusNchan(
    'fanout-1k-1000',
    'deliveries/s, 1k subs x 1,000 msgs/s',
    (s) => s.deliveriesPerSecond,
    int,
    true,
  );
  for (const [key, label] of [
    ['fanout-1k-20', '20'],
    ['fanout-1k-100', '100'],
  ] as const) {
    versusNchan(
      key,
      `CPU µs per delivery, 1k subs x ${label} msgs/s`,
      (s) => s.cpuMicrosPerDelivery,
      (n) => fix(n, 2),
      false,
      0.9,
    );
  }
  versusNchan(
    'fanout-1k-100',
    'p50 latency ms, 1k subs x 100 msgs/s',
    (s) => s.p50Ms,
    (n) => fix(n, 1),
    false,
  );
  versusNchan(
    'fanout-1k-100',
    'p99 latency ms, 1k subs x 100 msgs/s',
    (s) => s.p99Ms,
    (n) => fix(n, 1),
    false,
  );
  /** Compares the hub's figure with a fixed bound it must stay at or under. */
  const atMost = (
    key: string,
    what: string,
    f: (s: Summary) => number | undefined,
    show: (n: number | undefined) => string,
    bound: number,
  ) => {
    const mine = h(key);
    const a = mine && f(mine);
    const met = a === undefined ? 'not measured' : (disturbed(key) ?? (a <= bound ? 'met' : 'missed'));
    rows.push([what, `≤ ${show(bound)}`, show(a), ...peerCells(key, (s) => show(f(s))), met]);
  };
  atMost(
    'fanout-1k-100',
    'p99 latency ms, 1k subs x 100 msgs/s',
    (s) => s.p99Ms,
    (n) => fix(n, 1),
    P99_TARGET_MS,
  );
  for (const [key, label] of [
    ['idle-19k', '19k'],
    ['fanout-10k-100', '10k'],
  ] as const) {
    atMost(
      key,
      `memory per idle subscriber KB, ${label} subs`,
      (s) => s.memoryPerSubscriberBytes,
      kb,
      MEMORY_TARGET_BYTES,
    );
  }
  versusNchan(
    'publish-keepalive',
    'CPU µs per publish, keep-alive',
    (s) => s.cpuMicrosPerPublish,
    (n) => fix(n, 0),
    false,
    1.5,
  );
  const batchCase = report.scenarios.find((s) => s.batch);
  if (batchCase !== undefined) {
    const batchKey = batchCase.key;
    const b = h(batchKey);
    const rate = b?.deliveriesPerSecond;
    // The measured rate runs from the first update's due time to the last delivery, so it includes
    // one delivery's latency and stays a little under the offered rate even when every update is
    // taken in on time: the target is met by keeping up (every update, on schedule: the paced
    // case's rule) with an offered rate at the target, not by the measured figure reaching it.
    // Keeping up is what this target asks of the hub. A disturbed machine only slows a run down, so
    // a hub that kept up in every run meets it whatever another system did (a slower baseline in an
    // A/B falls behind on its own). A hub that fell behind misses it, unless another system fell
    // behind in the same case too: then the machine may have set the pace, and there is no verdict.
    const offered = batchCase.subscribers * batchCase.rate;
    const behindNote =
      b !== undefined && b.behind > 0
        ? ` (behind in ${b.behind} of ${b.runs} run${b.runs > 1 ? 's' : ''}${
            b.behindDeliveriesPerSecond === undefined
              ? ''
              : `, down to ${int(b.behindDeliveriesPerSecond)} deliveries/s`
          })`
        : '';
    rows.push([
      `updates/s taken in and delivered, batch publish, 1k topics (offered ${int(offered)})`,
      `≥ ${int(BATCH_RATE_TARGET)}, kept up`,
      int(rate),
      ...peerCells(batchKey, (s) => int(s.deliveriesPerSecond)).map((c) =>
        c === 'not run' ? 'no batches' : c,
      ),
      rate === undefined
        ? 'not measured'
        : offered < BATCH_RATE_TARGET
          ? `not measured (offers ${int(offered)}/s)`
          : b!.behind === 0 && b!.lost === 0 && b!.errors.length === 0
            ? 'met'
            : (disturbedBy([batchKey], (system) => system !== 'herald') ?? `missed${behindNote}`),
    ]);
    versusNchan(
      batchKey,
      'CPU µs per update, batch publish (nchan: per single keep-alive publish)',
      (s) => s.cpuMicrosPerDelivery,
      (n) => fix(n, 2),
      false,
      0.2,
      'publish-keepalive',
      (s) => s.cpuMicrosPerPublish,
    );
  }
  versusNchan('publish-keepalive', 'publishes/s, keep-alive', (s) => s.publishesPerSecond, int, true);
  // No loss and no duplicate in any case, every system's totals beside the hub's.
  const deliveryCases = report.scenarios.filter((s) => s.events > 0).map((s) => s.key);
  const losses = (system: string) => {
    const of = report.summaries.filter((s) => s.system === system && deliveryCases.includes(s.scenario));
    return of.length === 0
      ? undefined
      : {
          lost: of.reduce((a, s) => a + s.lost, 0),
          duplicates: of.reduce((a, s) => a + s.duplicates, 0),
          cases: of.map((s) => s.scenario),
        };
  };
  const showLosses = (l: ReturnType<typeof losses>) =>
    l === undefined ? 'not run' : `${int(l.lost)} / ${int(l.duplicates)}`;
  const mine = losses('herald');
  rows.push([
    'events lost / duplicated, all delivery cases',
    '0 / 0',
    mine === undefined ? '–' : showLosses(mine),
    ...peers.map((p) => showLosses(losses(p))),
    mine === undefined
      ? 'not measured'
      : mine.lost === 0 && mine.duplicates === 0
        ? 'met'
        : `missed (${mine.cases
            .map((key) => find(report, key, 'herald')!)
            .filter((s) => s.lost + s.duplicates > 0)
            .map((s) => `${s.scenario}: ${int(s.lost)} lost, ${int(s.duplicates)} duplicated`)
            .join('; ')})`,
  ]);
  const big = h('broadcast-100k');
  const proof = (s: Summary) =>
    `${int(s.made)} connected, ${s.lost} lost${s.incomplete > 0 ? ', timed out' : ''}`;
  rows.push([
    'broadcast to 100k subscribers (workers)',
    'all receive',
    big ? proof(big) : '–',
    ...peerCells('broadcast-100k', proof),
    big === undefined
      ? 'not measured'
      : big.made === 100_000 && big.lost === 0 && big.incomplete === 0 && big.errors.length === 0
        ? 'met'
        : 'missed',
  ]);
  return [
    '## Targets',
    '',
    "Each target of the hub (one process, one core, except the 100k case) with every system's median from this run.",
    '',
    `| figure | target | herald | ${peers.map((p) => `${p} | `).join('')}verdict |`,
    `| --- | --- | ---: | ${peers.map(() => '---: | ').join('')}--- |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

function svg(report: Report): string {
  const names = systems(report);
  const bars = (key: string, f: (s: Summary) => number | undefined) =>
    names.map((n) => {
      const s = find(report, key, n);
      return { label: n, value: s ? f(s) : undefined };
    });
  // Read in the connect phase of every case: the largest one-process case this report has.
  const memoryCase = report.scenarios.some((s) => s.key === 'idle-19k') ? 'idle-19k' : 'fanout-1k-100';
  return chart(`Herald hub vs nchan, better-sse, Pushpin (one core each, medians of ${report.runs})`, [
    {
      title: 'Deliveries/s, 1k subscribers x 1,000 msgs/s',
      better: 'higher',
      unit: '/s',
      bars: bars('fanout-1k-1000', (s) => s.deliveriesPerSecond),
    },
    {
      title: 'Server CPU per delivered event, 1k subscribers x 100 msgs/s',
      better: 'lower',
      unit: 'µs',
      bars: bars(report.quick ? 'fanout-1k-100' : 'fanout-1k-100', (s) => s.cpuMicrosPerDelivery),
    },
    {
      title: 'p99 publish-to-receive latency, 1k subscribers x 100 msgs/s',
      better: 'lower',
      unit: 'ms',
      bars: bars('fanout-1k-100', (s) => s.p99Ms),
    },
    {
      title: `Memory per idle subscriber (${memoryCase === 'idle-19k' ? '19k' : '1k'} subscribers)`,
      better: 'lower',
      unit: 'KB',
      bars: bars(memoryCase, (s) =>
        s.memoryPerSubscriberBytes === undefined ? undefined : s.memoryPerSubscriberBytes / 1024,
      ),
    },
  ]);
}
