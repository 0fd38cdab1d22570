// Injected time. Everything that reads the time or sleeps takes a Clock, so tests (and users'
// tests through `startBroker({ clock })`) can drive it.

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls fn after ms milliseconds of this clock's time. */
  setTimeout(fn: () => void, ms: number): Timer;
}

/**
 * Runs `task` every `intervalMs()` ms of the clock's time (read again for each run, so a changed
 * config takes effect) until the returned timer is cancelled. The next run is scheduled before the
 * task runs: a ManualClock advanced over several intervals runs the task once per interval.
 */
export function every(clock: Clock, intervalMs: () => number, task: () => void): Timer {
  let current: Timer | undefined;
  let cancelled = false;
  const arm = (): void => {
    current = clock.setTimeout(() => {
      if (cancelled) return;
      arm();
      task();
    }, intervalMs());
  };
  arm();
  return {
    cancel() {
      cancelled = true;
      current?.cancel();
    },
  };
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};

/**
 * A clock whose timers fire at the deadline on `clock` or in real time, whichever comes first (its
 * `now()` is `clock`'s). Waits that a client asked for (a Fetch's max_wait_ms) and delays that only
 * batch work (group.initial.rebalance.delay.ms) use it, so a ManualClock that is never advanced
 * cannot make a client hang, while advancing it still ends them at once.
 */
export function realTimeBounded(clock: Clock): Clock {
  if (clock === systemClock) return clock;
  return {
    now: () => clock.now(),
    setTimeout(fn, ms) {
      let fired = false;
      const once = (): void => {
        if (fired) return;
        fired = true;
        a.cancel();
        b.cancel();
        fn();
      };
      const a = clock.setTimeout(once, ms);
      const b = systemClock.setTimeout(once, ms);
      return {
        cancel() {
          fired = true;
          a.cancel();
          b.cancel();
        },
      };
    },
  };
}

/** A clock that only moves when told to. Timers fire in due order during `advance`. */
export class ManualClock implements Clock {
  private time: number;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const id = ++this.seq;
    this.timers.set(id, { at: this.time + Math.max(0, ms), fn });
    return { cancel: () => void this.timers.delete(id) };
  }

  /**
   * Moves time to `time` (ms since the epoch), firing the timers due on the way. Time never goes
   * back (as Kafka's MockTime): an earlier time is refused.
   */
  set(time: number): void {
    if (!Number.isFinite(time)) throw new RangeError(`not a time: ${time}`);
    if (time < this.time) throw new RangeError(`the clock cannot go back (now ${this.time}, asked ${time})`);
    this.advance(time - this.time);
  }

  /** Moves time forward, firing due timers in order (each sees `now()` at its due time). */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advance needs ms >= 0, got ${ms}`);
    const target = this.time + ms;
    for (;;) {
      let nextId = -1;
      let nextAt = Infinity;
      for (const [id, t] of this.timers) {
        if (t.at <= target && t.at < nextAt) {
          nextAt = t.at;
          nextId = id;
        }
      }
      if (nextId < 0) break;
      const t = this.timers.get(nextId)!;
      this.timers.delete(nextId);
      this.time = Math.max(this.time, t.at);
      t.fn();
    }
    this.time = target;
  }
}
