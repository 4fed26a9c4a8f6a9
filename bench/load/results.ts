/** The shapes `npm run bench` records: one `RunResult` per run, one `Summary` per scenario and system. */
import type { Scenario } from './scenarios.js';
import type { Stages } from './stages.js';

/** A system keeps up with a paced case when it delivers at least this share of the offered rate. */
export const KEEP_UP_SHARE = 0.95;

export interface RunResult {
  scenario: string;
  system: string;
  run: number;
  workers: number;
  error?: string;
  subscribers: number;
  made: number;
  failed: number;
  connectMs?: number;
  rssBeforeBytes?: number;
  rssAfterBytes?: number;
  /** RSS growth of the server's process tree while connecting, per connected subscriber. */
  memoryPerSubscriberBytes?: number;
  fanout?: {
    published: number;
    publishErrors: number;
    expected: number;
    received: number;
    /** Events missing at the end, per subscriber by sequence number (gaps and the tail). */
    lost: number;
    duplicates: number;
    /** Every subscriber had the last event before the grace period ran out. */
    complete: boolean;
    /**
     * Offered deliveries/s (subscribers x rate), and whether the system kept up with them: complete,
     * nothing lost, and at least {@link KEEP_UP_SHARE} of the offered rate delivered.
     */
    offeredPerSecond: number;
    keptUp: boolean;
    /** Events received by all subscribers / time from the first event's due time to the last delivery. */
    deliveriesPerSecond: number;
    /** Server CPU (user + system, whole process tree) from the first publish to the last delivery. */
    cpuMicrosPerDelivery: number;
    /** The part of that CPU spent in user space (the rest is the kernel's, mostly TCP sends). */
    userCpuShare: number;
    /** CPU of the subscriber-side generator over the same span, as a share of one core. */
    generatorCoreShare: number;
    /**
     * That span, from the first event's due time to the last delivery (CLOCK_MONOTONIC µs, the clock
     * of V8's CPU profiles): the part of a `--cpu-prof` profile bench/cpuprofile-summary.ts reads.
     */
    windowUs: { from: number; to: number };
    /** Server CPU (user + system) over the same span, as a share of one core. */
    serverCoreShare: number;
    /** Where the time of an event goes, stage by stage (bench/load/stages.ts), when measured. */
    stages: Stages;
    /** From each event's due time at the publisher to its arrival at a subscriber. */
    latencyMs: { p50: number; p90: number; p99: number; max: number };
  };
  /** CPU per publish of the uncounted warm-up requests of a throughput case, when it has them. */
  throughputWarmupCpuMicrosPerPublish?: number;
  throughput?: {
    ok: number;
    errors: number;
    perSecond: number;
    cpuMicrosPerPublish: number;
    /** Share of that CPU spent in user space (the rest is the kernel's, loopback TCP mostly). */
    userCpuShare: number;
  };
}

/** Medians over the runs of one scenario on one system (lost, duplicates, failed: totals). */
export interface Summary {
  scenario: string;
  system: string;
  runs: number;
  errors: string[];
  workers: number;
  made: number | undefined;
  failed: number;
  memoryPerSubscriberBytes: number | undefined;
  deliveriesPerSecond: number | undefined;
  cpuMicrosPerDelivery: number | undefined;
  userCpuShare: number | undefined;
  p50Ms: number | undefined;
  p90Ms: number | undefined;
  p99Ms: number | undefined;
  maxMs: number | undefined;
  lost: number;
  duplicates: number;
  incomplete: number;
  /** Runs of a paced case in which the system did not keep up with the offered load. */
  behind: number;
  /** The lowest deliveries/s of those runs, to say how far behind. */
  behindDeliveriesPerSecond?: number | undefined;
  publishesPerSecond: number | undefined;
  cpuMicrosPerPublish: number | undefined;
  /** The server's CPU over a fan-out run as a share of its core. */
  serverCoreShare?: number | undefined;
  /** Each stage's p50 and p99, medians over the runs (fan-out cases). */
  stages?: Stages | undefined;
  /** The subscriber-side generator's CPU as a share of its core: the most of the runs. */
  generatorCoreShareMax?: number | undefined;
}

export interface Report {
  quick: boolean;
  started: string;
  finished: string;
  runs: number;
  machine: {
    cpus: number;
    model: string;
    /** The bench's own Node (load generator, publisher). */
    node: string;
    /** The Node the systems under test ran on (`--node`). */
    systemsNode?: string;
    loadAverageAtStart?: number[];
    loadAverageAtEnd: number[];
    kernel: string;
  };
  versions: Record<string, string>;
  skipped: { name: string; why: string }[];
  notRun: { scenario: string; system: string; why: string }[];
  scenarios: Scenario[];
  summaries: Summary[];
  results: RunResult[];
  command: string;
}
