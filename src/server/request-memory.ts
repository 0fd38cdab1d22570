// queued.max.request.bytes, broker-wide (Kafka's request memory pool): the bytes of requests that
// have been read and not yet answered, over every connection of every listener. Past the limit no
// connection reads another request until answers bring it back under (Kafka mutes every channel
// when its pool is exhausted); requests already read still complete, so it always drains. A
// connection's own limit (the same value) still applies on top.

export class RequestMemory {
  private used = 0;
  private readonly waiters = new Set<() => void>();

  constructor(readonly limit: number) {}

  /** Past the limit: connections stop reading until `release` brings it back. */
  get exhausted(): boolean {
    return this.limit > 0 && this.used > this.limit;
  }

  get bytes(): number {
    return this.used;
  }

  take(n: number): void {
    this.used += n;
  }

  release(n: number): void {
    const was = this.exhausted;
    this.used -= n;
    if (was && !this.exhausted) for (const w of [...this.waiters]) w();
  }

  /** Called whenever the pool stops being exhausted; returns an unsubscribe function. */
  onAvailable(fn: () => void): () => void {
    this.waiters.add(fn);
    return () => this.waiters.delete(fn);
  }
}
