/**
 * What the benchmark needs from each system under test: start it pinned to a core, tell how to
 * subscribe and publish, measure its processes, stop it.
 */
import type { PublishTarget } from '../load/payload.js';
import type { Protocol } from '../load/subscribers.js';

export interface StartOptions {
  /** The core to pin every process of the system to (`taskset`); undefined: no pinning. */
  core: number | undefined;
  /** Processes to serve with, for systems that can use several. */
  workers: number;
  /** A scratch folder of this run, for config files, sockets and logs. */
  scratch: string;
  /** Write a V8 CPU profile of each Node process of the system to this folder (Node systems only). */
  cpuProfileDir?: string;
  /** The Node binary Node systems run on (`--node`); the bench's own by default. */
  node: string;
}

export interface RunningPeer {
  host: string;
  port: number;
  /** Processes whose trees hold the system: their CPU time and memory are summed. */
  pids: number[];
  /**
   * Subscribe paths with `{i}` for the subscriber's index: `shared` subscribes to the one topic
   * every event goes to; `own+shared` to a topic of its own as well.
   */
  subscribePath(topics: 'shared' | 'own+shared'): string;
  publishTarget: PublishTarget;
  /**
   * Where to send batch publishes (Herald's JSON batch), with the prefix of subscribers' own topics
   * (`<prefix><i>`); undefined for systems without batch publishing.
   */
  batchTarget?: PublishTarget & { topicPrefix: string };
  /** How the load generator subscribes. Default: an event stream. */
  protocol?: Protocol;
  stop(): Promise<void>;
}

export interface Peer {
  name: string;
  /** Version string for the report. */
  version(): string;
  /** Why it cannot run on this machine and how to install it; undefined when it can. */
  missing(): string | undefined;
  /** The most subscribers it can hold with that many worker processes (one process: < 20,000 files). */
  capacity(workers: number): number;
  /** Whether it runs several processes when asked (nchan workers, the hub's cluster). */
  scales: boolean;
  /** Why it is left out unless named in `--only`, when it is installed but does not work here. */
  optIn?: string;
  /**
   * The transport comparison (`--only transports`): these peers run the 1k fan-out cases only, and
   * are reported in bench/results/transports.* against the hub's event stream.
   */
  suite?: 'transports';
  start(options: StartOptions): Promise<RunningPeer>;
}

/** The topic every benchmark event is published to, and the prefix of subscribers' own topics. */
export const SHARED = 'shared';
export const OWN_PREFIX = 'own';
