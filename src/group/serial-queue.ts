// Per-key serial execution. Every operation on one group runs alone: the next one starts only
// after the previous one (including any promise it returned) has finished. An idle queue runs a
// synchronous task at once, inside the caller, so timer callbacks driven by a ManualClock take
// effect during `advance` and see the time they were due at.

interface Task {
  fn: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

class Lane {
  running = false;
  readonly tasks: Task[] = [];
}

export class SerialQueues {
  private readonly lanes = new Map<string, Lane>();

  /** Runs fn after everything queued before it under `key`; resolves with its result. */
  run<T>(key: string, fn: () => T | Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let lane = this.lanes.get(key);
      if (!lane) {
        lane = new Lane();
        this.lanes.set(key, lane);
      }
      lane.tasks.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!lane.running) this.drain(key, lane);
    });
  }

  /** True while a task of `key` runs or waits (tests). */
  busy(key: string): boolean {
    return this.lanes.has(key);
  }

  private drain(key: string, lane: Lane): void {
    lane.running = true;
    for (;;) {
      const task = lane.tasks.shift();
      if (!task) break;
      let result: unknown;
      try {
        result = task.fn();
      } catch (e) {
        task.reject(e);
        continue;
      }
      if (result instanceof Promise) {
        result.then(task.resolve, task.reject).finally(() => this.drain(key, lane));
        return;
      }
      task.resolve(result);
    }
    lane.running = false;
    if (this.lanes.get(key) === lane) this.lanes.delete(key);
  }
}
