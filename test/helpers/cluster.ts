// A Brook cluster for tests (issue 10): a real etcd (test/helpers/etcd.ts) and N brokers, either
// as processes of the built CLI (`brook start --node-id i --metadata etcd://...`, durable data
// directories, kill -9 and restart on the same port) or in process.
//
// Free of test-framework imports so that other suites (compat) can reuse it.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCliBroker, type CliBroker } from './cli.js';
import { freePort, TestEtcd } from './etcd.js';

export interface ClusterBroker {
  nodeId: number;
  port: number;
  dataDir: string;
  proc: CliBroker | undefined;
}

export interface ProcessClusterOptions {
  /** Broker configs for every broker (--set). */
  config?: Record<string, string>;
  /** An etcd to use (default: a new one, destroyed with the cluster). */
  etcd?: TestEtcd;
}

export class ProcessCluster {
  readonly brokers = new Map<number, ClusterBroker>();
  private readonly root: string;

  private constructor(
    readonly etcd: TestEtcd,
    private readonly ownEtcd: boolean,
    private readonly config: Record<string, string>,
  ) {
    this.root = mkdtempSync(path.join(os.tmpdir(), 'brook-cluster-'));
  }

  /** Starts etcd (unless given) and `n` brokers with node ids 1..n. */
  static async start(n: number, opts: ProcessClusterOptions = {}): Promise<ProcessCluster> {
    const etcd = opts.etcd ?? (await TestEtcd.start());
    const c = new ProcessCluster(etcd, opts.etcd === undefined, opts.config ?? {});
    try {
      for (let id = 1; id <= n; id++) {
        c.brokers.set(id, { nodeId: id, port: await freePort(), dataDir: path.join(c.root, `broker-${id}`), proc: undefined });
      }
      await Promise.all([...c.brokers.keys()].map((id) => c.firstStart(id)));
    } catch (err) {
      await c.destroy();
      throw err;
    }
    return c;
  }

  get metadataUrl(): string {
    return `etcd://${this.etcd.endpoint}`;
  }

  /** Every broker's address, for a client's bootstrap list. */
  get bootstrap(): string[] {
    return [...this.brokers.values()].map((b) => `127.0.0.1:${b.port}`);
  }

  broker(id: number): ClusterBroker {
    const b = this.brokers.get(id);
    if (!b) throw new Error(`no broker ${id}`);
    return b;
  }

  /**
   * The first start of a broker: a port picked by freePort() can be taken by another process
   * before the broker binds it (tests run in parallel); then another port is tried.
   */
  private async firstStart(id: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.startBroker(id);
        return;
      } catch (err) {
        if (attempt >= 3 || !/already in use/.test((err as Error).message)) throw err;
        this.broker(id).port = await freePort();
      }
    }
  }

  /** Starts (or restarts) broker `id` on its port and data directory. */
  async startBroker(id: number): Promise<CliBroker> {
    const b = this.broker(id);
    if (b.proc && b.proc.child.exitCode === null && b.proc.child.signalCode === null) throw new Error(`broker ${id} is running`);
    const sets = Object.entries(this.config).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
    b.proc = await startCliBroker(b.dataDir, ['--port', String(b.port), '--node-id', String(id), '--metadata', this.metadataUrl, ...sets], 20_000);
    return b.proc;
  }

  /** kill -9 (default) or a clean SIGTERM stop of broker `id`; resolves once it has exited. */
  async stopBroker(id: number, signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    const b = this.broker(id);
    const p = b.proc;
    if (!p) return;
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
    await p.exited;
  }

  /** SIGSTOP / SIGCONT: the process stays but stops answering (its lease runs out). */
  pause(id: number): void {
    this.broker(id).proc?.child.kill('SIGSTOP');
  }

  resume(id: number): void {
    this.broker(id).proc?.child.kill('SIGCONT');
  }

  /** Everything broker `id` logged (pino JSON lines). */
  logs(id: number): string {
    return this.broker(id).proc?.stderr() ?? '';
  }

  async destroy(): Promise<void> {
    for (const b of this.brokers.values()) {
      if (b.proc) {
        b.proc.child.kill('SIGCONT');
        await b.proc.kill();
      }
    }
    if (this.ownEtcd) await this.etcd.destroy();
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Polls `cond` every 25 ms until it holds; rejects naming `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what} not met in time`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
