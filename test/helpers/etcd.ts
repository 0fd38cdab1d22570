// A real etcd for tests (Debian's etcd-server; .ci/run installs it): one member on free
// 127.0.0.1 ports, data in a temp dir, started, stopped (SIGTERM or SIGKILL) and restarted on the
// same ports and data, for the "etcd restarted under load" tests of issue 10.
//
// Started with a 100 ms heartbeat and 500 ms election timeout: a lease's minimum TTL is 1.5
// election timeouts rounded up to a second, so tests can use 1-2 s leases.
//
// Free of test-framework imports so that other suites (cluster, compat) can reuse it.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, openSync, closeSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

function findEtcd(): string | null {
  if (process.env.BROOK_TEST_NO_ETCD === '1') return null;
  for (const p of ['/usr/bin/etcd', '/usr/local/bin/etcd']) if (existsSync(p)) return p;
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(path.join(dir, 'etcd'))) return path.join(dir, 'etcd');
  return null;
}

export const etcdPath = findEtcd();
export const hasEtcd = etcdPath !== null;
export const NO_ETCD = 'etcd is not installed (apt-get install etcd-server; CI installs it in .ci/run)';
/** Skip etcd suites only outside CI: in CI a missing etcd must fail, not pass silently. */
export const skipWithoutEtcd = !hasEtcd && !process.env.CI;

/** A free TCP port on 127.0.0.1 (closed again before it is returned; etcd binds it next). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function healthy(clientUrl: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(`${clientUrl}/health`, { timeout: 1000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 && /"health"\s*:\s*"true"/.test(body)));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

export class TestEtcd {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly onExit = (): void => void this.child?.kill('SIGKILL');

  private constructor(
    readonly dir: string,
    readonly clientPort: number,
    readonly peerPort: number,
  ) {}

  /** Starts a fresh single-member etcd and waits until it answers /health. */
  static async start(): Promise<TestEtcd> {
    if (!etcdPath) throw new Error(NO_ETCD);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'brook-etcd-'));
    const clientPort = await freePort();
    let peerPort = await freePort();
    while (peerPort === clientPort) peerPort = await freePort();
    const e = new TestEtcd(dir, clientPort, peerPort);
    await e.launch();
    return e;
  }

  get clientUrl(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }

  /** `host:port`, as `--metadata etcd://...` takes it. */
  get endpoint(): string {
    return `127.0.0.1:${this.clientPort}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  get logFile(): string {
    return path.join(this.dir, 'etcd.log');
  }

  /** Stops etcd: SIGTERM (a clean stop) or SIGKILL (a crash); waits for the process to exit. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(signal);
    await this.exited;
  }

  /** Stops and starts etcd again on the same ports and data. */
  async restart(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    await this.stop(signal);
    await this.launch();
  }

  /** Stops etcd and removes its data. */
  async destroy(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async launch(): Promise<void> {
    if (this.child) throw new Error('etcd is already running');
    const peerUrl = `http://127.0.0.1:${this.peerPort}`;
    const log = openSync(this.logFile, 'a');
    const child = spawn(
      etcdPath!,
      [
        '--name',
        'brook-test',
        '--data-dir',
        path.join(this.dir, 'data'),
        '--listen-client-urls',
        this.clientUrl,
        '--advertise-client-urls',
        this.clientUrl,
        '--listen-peer-urls',
        peerUrl,
        '--initial-advertise-peer-urls',
        peerUrl,
        '--initial-cluster',
        `brook-test=${peerUrl}`,
        '--initial-cluster-state',
        'new',
        '--heartbeat-interval',
        '100',
        '--election-timeout',
        '500',
      ],
      { stdio: ['ignore', log, log], env: { ...process.env, ETCD_NAME: undefined } },
    );
    closeSync(log);
    this.child = child;
    this.exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        if (this.child === child) this.child = undefined;
        process.off('exit', this.onExit);
        resolve();
      }),
    );
    process.on('exit', this.onExit);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (!this.child) break;
      if (await healthy(this.clientUrl)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    const tail = readFileSync(this.logFile, 'utf8').split('\n').slice(-15).join('\n');
    await this.stop('SIGKILL');
    throw new Error(`etcd did not become healthy on ${this.clientUrl}; log tail:\n${tail}`);
  }
}
