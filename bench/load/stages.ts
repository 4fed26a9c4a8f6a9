/**
 * The per-stage breakdown of a paced fan-out run, read from outside the system under test so that
 * every system gets the same stages: from the publisher, the pacing lag (due → request written) and
 * the publish round trip (written → answer received); from the subscriber side, the time to the
 * first subscriber (due → first receive of the event over all subscribers) and the spread of one
 * event over all the sockets (first → last receive). Percentiles are over events, not deliveries.
 */

/** p50 and p99 over events, in ms. */
export interface StageQuantiles {
  p50: number;
  p99: number;
}

export interface Stages {
  pacingLagMs?: StageQuantiles;
  publishRoundTripMs?: StageQuantiles;
  firstReceiveMs?: StageQuantiles;
  spreadMs?: StageQuantiles;
}

/** What the publisher reports per event, by sequence number (µs, 0: never happened). */
export interface PublisherTimes {
  dueUs: number[];
  writtenUs: number[];
  answeredUs: number[];
}

/** What one subscriber-side generator reports per event, by sequence number (µs, 0: never read). */
export interface ReceiveTimes {
  dueUs: number[];
  firstUs: number[];
  lastUs: number[];
}

/** Nearest-rank p50 and p99 of µs values, in ms; undefined when there are none. */
export function stageQuantiles(us: number[]): StageQuantiles | undefined {
  if (us.length === 0) return undefined;
  const s = Float64Array.from(us).sort();
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]! / 1000;
  return { p50: at(0.5), p99: at(0.99) };
}

/** The breakdown from the publisher's times and every generator's (merged: earliest first, latest last). */
export function stages(publisher: PublisherTimes | undefined, generators: ReceiveTimes[]): Stages {
  const out: Stages = {};
  if (publisher) {
    const lag: number[] = [];
    const trip: number[] = [];
    publisher.dueUs.forEach((due, seq) => {
      const written = publisher.writtenUs[seq] ?? 0;
      const answered = publisher.answeredUs[seq] ?? 0;
      if (due > 0 && written > 0) lag.push(written - due);
      if (written > 0 && answered > 0) trip.push(answered - written);
    });
    const pacing = stageQuantiles(lag);
    const roundTrip = stageQuantiles(trip);
    if (pacing) out.pacingLagMs = pacing;
    if (roundTrip) out.publishRoundTripMs = roundTrip;
  }
  if (generators.length > 0) {
    const length = Math.max(...generators.map((g) => g.firstUs.length));
    const first: number[] = [];
    const spread: number[] = [];
    for (let seq = 0; seq < length; seq++) {
      let due = 0;
      let earliest = Number.POSITIVE_INFINITY;
      let latest = 0;
      for (const g of generators) {
        const f = g.firstUs[seq] ?? 0;
        if (f === 0) continue;
        due = g.dueUs[seq] ?? due;
        earliest = Math.min(earliest, f);
        latest = Math.max(latest, g.lastUs[seq] ?? 0);
      }
      if (latest === 0) continue;
      first.push(earliest - due);
      spread.push(latest - earliest);
    }
    const toFirst = stageQuantiles(first);
    const over = stageQuantiles(spread);
    if (toFirst) out.firstReceiveMs = toFirst;
    if (over) out.spreadMs = over;
  }
  return out;
}
