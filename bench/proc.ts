// Child-process helpers for the load generator: free ports, spawning the broker / the loopback
// sink as separate processes, their CPU time (/proc/<pid>/stat) and RSS (/proc/<pid>/status).

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const HOST = '127.0.0.1';

/** dist/bench/proc.js -> dist/src/cli/brook.cjs (the bundled `brook` command users run) */
export const BROKER_MAIN = fileURLToPath(new URL('../src/cli/brook.cjs', import.meta.url));
export const SINK_MAIN = fileURLToPath(new URL('./sink.js', import.meta.url));

let clkTck: number | undefined;
/** Clock ticks per second for /proc/<pid>/stat (getconf CLK_TCK, usually 100). */
export function clockTicks(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5000 }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

export interface ProcStat {
  /** utime and stime in clock ticks. */
  user: number;
  sys: number;
  minorFaults: number;
}

/** utime, stime and minor page faults of a process. */
export function procStat(pid: number): ProcStat {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3; minflt is field 10, utime 14, stime 15.
  return { minorFaults: Number(f[7]), user: Number(f[11]), sys: Number(f[12]) };
}

/** Busy and stolen time of the whole machine (all CPUs, /proc/stat), in clock ticks. */
export function machineTicks(): { busy: number; steal: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (iowait is idle time;
  // steal is time the hypervisor gave to other guests)
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  return { busy: v[0]! + v[1]! + v[2]! + v[5]! + v[6]!, steal: v[7] ?? 0 };
}

/** CPU seconds (utime+stime) of a process. */
export function cpuSeconds(pid: number): number {
  const s = procStat(pid);
  return (s.user + s.sys) / clockTicks();
}

/** Resident set size of a process in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** Asks the kernel for a free port on 127.0.0.1 (released before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A spawned child with the tail of its output kept for error messages. */
export class Child {
  private tail = '';
  private exited: Promise<number | null>;
  exitCode: number | null | undefined;

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
    outputFile?: string,
  ) {
    const file = outputFile ? createWriteStream(outputFile) : undefined;
    const keep = (d: Buffer): void => {
      this.tail = (this.tail + d.toString('utf8')).slice(-4000);
      file?.write(d);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        file?.end();
        resolve(this.exitCode);
      });
    });
    live.add(this);
    void this.exited.then(() => live.delete(this));
  }

  get pid(): number {
    if (this.proc.pid === undefined) throw new Error(`${this.name}: not started`);
    return this.proc.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  output(): string {
    return this.tail.trim();
  }

  /** SIGTERM, then SIGKILL after timeoutMs. Resolves with the exit code. */
  async stop(timeoutMs = 15000): Promise<number | null> {
    if (!this.running) return this.exitCode ?? null;
    this.proc.kill('SIGTERM');
    const timer = sleep(timeoutMs).then(() => 'timeout' as const);
    const r = await Promise.race([this.exited, timer]);
    if (r === 'timeout') {
      this.proc.kill('SIGKILL');
      return this.exited;
    }
    return r;
  }
}

const live = new Set<Child>();

/** Kills every child still running (used on failure / exit). */
export function killAll(): void {
  for (const c of live) {
    try {
      c.proc.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

export interface BrokerSpawn {
  port: number;
  /** undefined: --memory */
  dataDir?: string;
  /** Extra node flags for the broker (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** Copy of the child's stdout/stderr. */
  outputFile?: string;
}

export function spawnBroker(opts: BrokerSpawn): Child {
  const store = opts.dataDir === undefined ? ['--memory'] : ['--data-dir', opts.dataDir];
  // BROOK_BENCH_BROKER_ARGS: extra `brook start` arguments (e.g. "--http-port 0" for the cost of metrics).
  const extra = (process.env.BROOK_BENCH_BROKER_ARGS ?? '').split(' ').filter((a) => a !== '');
  const args = [...(opts.nodeArgs ?? []), BROKER_MAIN, 'start', '--host', HOST, '--port', String(opts.port), ...store, '--log-level', 'warn', ...extra];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  return new Child(`broker:${opts.port}`, proc, opts.outputFile);
}

/** Starts the loopback sink child and resolves with it and its port. */
export async function spawnSink(timeoutMs = 10000): Promise<{ child: Child; port: number }> {
  const proc = spawn(process.execPath, [SINK_MAIN], { stdio: ['ignore', 'pipe', 'pipe'] });
  const child = new Child('sink', proc);
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`sink did not start in ${timeoutMs} ms: ${child.output()}`)), timeoutMs);
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      const m = /PORT (\d+)/.exec(buf);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`sink exited with ${code}: ${child.output()}`));
    });
  });
  return { child, port };
}
