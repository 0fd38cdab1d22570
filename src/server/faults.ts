// Fault injection for test authors: a request is handled in full (its effects happen: appends,
// commits), then its response is dropped and the connection closed, as when a response is lost on
// the network. Clients see a disconnect and retry, which is what idempotence and transaction
// retries must survive (issue 7). Issue 9 grows this into the full fault-injection API.

export class FaultInjector {
  private readonly drops = new Map<number, number>();

  /** Drops the responses to the next `count` requests with this API key (after handling them). */
  dropResponses(apiKey: number, count = 1): void {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
    if (count === 0) this.drops.delete(apiKey);
    else this.drops.set(apiKey, (this.drops.get(apiKey) ?? 0) + count);
  }

  /** Consumes one pending drop for the API key; true if the response must be dropped. */
  takeDrop(apiKey: number): boolean {
    const n = this.drops.get(apiKey);
    if (n === undefined) return false;
    if (n <= 1) this.drops.delete(apiKey);
    else this.drops.set(apiKey, n - 1);
    return true;
  }

  /** How many drops are still pending for the API key. */
  pendingDrops(apiKey: number): number {
    return this.drops.get(apiKey) ?? 0;
  }
}
