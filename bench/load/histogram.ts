/**
 * A latency histogram cheap enough for the load generator's hot loop: log-spaced buckets 2% wide
 * (bucket = floor(ln(µs) x 50)), so any percentile read back is within 2% of the true value. Children
 * send their counts to the parent, which adds them up.
 */

/** ln(1 hour in µs) x 50 is about 1,101: 1,200 buckets hold any latency a run can see. */
const BUCKETS = 1200;
const SCALE = 50;

export class LatencyHistogram {
  readonly counts = new Float64Array(BUCKETS);
  total = 0;
  maxUs = 0;

  record(us: number): void {
    const v = Math.max(us, 1);
    const i = Math.min(BUCKETS - 1, Math.floor(Math.log(v) * SCALE));
    this.counts[i]!++;
    this.total++;
    if (us > this.maxUs) this.maxUs = us;
  }

  /** Non-empty buckets as [index, count] pairs, for IPC. */
  toJSON(): { buckets: [number, number][]; maxUs: number } {
    const buckets: [number, number][] = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i]! > 0) buckets.push([i, this.counts[i]!]);
    return { buckets, maxUs: this.maxUs };
  }

  add(other: { buckets: [number, number][]; maxUs: number }): void {
    for (const [i, n] of other.buckets) {
      this.counts[i]! += n;
      this.total += n;
    }
    if (other.maxUs > this.maxUs) this.maxUs = other.maxUs;
  }

  /** The q-quantile (0..1) in µs: the middle of the bucket holding it. NaN when empty. */
  quantileUs(q: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = q * this.total;
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank && this.counts[i]! > 0) return Math.min(this.maxUs, Math.exp((i + 0.5) / SCALE));
    }
    return this.maxUs;
  }
}
