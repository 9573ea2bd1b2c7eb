// A log-linear histogram (8 buckets per power of two, ~9 % resolution) for
// durations and latencies: constant memory however long the run.
const BUCKETS = 8 * 64;

export class Histogram {
  /** Bucket i holds values in [2^(i/8), 2^((i+1)/8)). */
  private readonly buckets = new Float64Array(BUCKETS);
  count = 0;
  max = 0;
  min = Infinity;
  sum = 0;

  add(v: number): void {
    const x = Math.max(1, v);
    this.buckets[Math.min(BUCKETS - 1, Math.floor(Math.log2(x) * 8))]!++;
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
    if (v < this.min) this.min = v;
  }

  /** Upper edge of the bucket holding the q-quantile (exact for max). */
  quantile(q: number): number {
    if (!this.count) return 0;
    if (q >= 1) return this.max;
    const target = Math.ceil(q * this.count);
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.buckets[b]!;
      if (seen >= target) return Math.min(this.max, Math.round(2 ** ((b + 1) / 8)));
    }
    return this.max;
  }

  summary(): { count: number; p50: number; p95: number; p99: number; max: number; mean: number } {
    return { count: this.count, p50: this.quantile(0.5), p95: this.quantile(0.95), p99: this.quantile(0.99), max: this.max, mean: this.count ? Math.round(this.sum / this.count) : 0 };
  }
}
