// Runs the real CLI (`node dist/src/cli/main.js start ...`) as a child process for crash and
// shutdown tests. Needs `npm run build`; callers skip when `hasDist` is false.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The built CLI; BROOK_CLI_MAIN points the tests at another build. From test/helpers/ (vitest) it
 * is ../../dist/src/cli/main.js; compiled into dist/test/helpers/ (compat-tests import this) it is
 * ../../src/cli/main.js.
 */
export const CLI_MAIN =
  process.env.BROOK_CLI_MAIN ??
  fileURLToPath(new URL(/\/dist\/test\/helpers\/[^/]*$/.test(fileURLToPath(import.meta.url)) ? '../../src/cli/main.js' : '../../dist/src/cli/main.js', import.meta.url));
export const hasDist = existsSync(CLI_MAIN);
export const NO_DIST = 'dist/src/cli/main.js is missing: run `npm run build` first (CI builds before `npm test`)';

export interface CliBroker {
  readonly child: ChildProcess;
  readonly host: string;
  readonly port: number;
  readonly bootstrap: string;
  /** Everything the process wrote to stderr (pino JSON lines) so far. */
  stderr(): string;
  /** Resolves with the exit code and signal once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL if still running (for cleanup). */
  kill(): Promise<void>;
}

/**
 * Starts `brook start --port 0 --data-dir <dir>` (plus `extraArgs`) and resolves once the
 * "brook started" log line tells the bound address. Rejects (and kills the child) after timeoutMs.
 */
export function startCliBroker(dataDir: string, extraArgs: string[] = [], timeoutMs = 10000): Promise<CliBroker> {
  const child = spawn(
    process.execPath,
    [CLI_MAIN, 'start', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--log-level', 'info', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void kill();
      reject(new Error(`brook CLI did not start within ${timeoutMs} ms\nstderr:\n${err}\nstdout:\n${out}`));
    }, timeoutMs);
    child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString('utf8');
      for (const line of err.split('\n')) {
        if (!line.includes('brook started')) continue;
        let listener: string | undefined;
        try {
          listener = (JSON.parse(line) as { listener?: string }).listener;
        } catch {
          continue;
        }
        const m = listener ? /^(.*):(\d+)$/.exec(listener) : null;
        if (!m) continue;
        clearTimeout(timer);
        const host = m[1]!;
        const port = Number(m[2]);
        resolve({ child, host, port, bootstrap: `${host}:${port}`, stderr: () => err, exited, kill });
        return;
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`brook CLI exited before starting (code ${code}, signal ${signal})\nstderr:\n${err}`));
    });
  });
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunCliOptions {
  /** Written to stdin, then stdin is closed (default: closed at once). */
  input?: string | Buffer;
  /** SIGKILL after this long (default 20 s); the result then has signal SIGKILL. */
  timeoutMs?: number;
  env?: Record<string, string>;
}

/**
 * Runs a client command of the built CLI (`node dist/src/cli/main.js ...args`) to completion and
 * resolves with its exit code and output. Never rejects on a non-zero exit.
 */
export function runCli(args: string[], opts: RunCliOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, BROOK_BOOTSTRAP_SERVER: '', ...opts.env },
      timeout: opts.timeoutMs ?? 20000,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
    child.stdin!.on('error', () => {});
    child.stdin!.end(opts.input);
  });
}

/** Starts a client command and returns the child (for --follow tests that signal it). */
export function spawnCli(args: string[]): { child: ChildProcess; stdout(): string; stderr(): string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, BROOK_BOOTSTRAP_SERVER: '' } });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  return { child, stdout: () => out, stderr: () => err, exited };
}
