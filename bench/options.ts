// Command-line flags (and BENCH_* environment variables) of the load generator.

export type Store = 'memory' | 'file';
export type Phase = 'startup' | 'produce' | 'fetch' | 'loopback' | 'group';

export interface Options {
  quick: boolean;
  stores: Store[];
  /** Record value sizes in bytes, with the message count of each. */
  sizes: number[];
  msgs: number[];
  partitions: number;
  /** Records per prepared batch (one batch per Produce request). */
  batch: number;
  conns: number;
  inFlight: number;
  fetchConns: number;
  partitionMaxBytes: number;
  maxBytes: number;
  starts: number;
  /** Repetitions of each consumer-group measurement (median reported). */
  groupRuns: number;
  skip: Set<Phase>;
  verifyCrc: boolean;
  cpuProfDir: string | undefined;
  brokerNodeArgs: string[];
  brokerOutputDir: string | undefined;
  tmpDir: string | undefined;
  timeoutS: number;
}

const HELP = `npm run bench -- [flags]     (or: node dist/bench/run.js [flags])

Starts Brook as a child process (--memory, then --data-dir <tmp>), drives it with pipelined raw
Produce v7 / Fetch v11, replays the same traffic against a trivial loopback sink, and measures
startup; times consumer-group joins and rebalances with 4 kafkajs consumers. Prints a table;
the last line is one JSON object with every figure.

  --quick                 smoke run (phases of ~0.1-0.6 s): 200k x 100 B, 50k x 1 KiB,
                          3 starts, 1 group run per configuration
  --stores LIST           memory,file (default both)
  --sizes LIST            record value sizes in bytes (default 100,1024)
  --msgs LIST             messages per size (default 6000000,1500000)
  --partitions N          partitions of the bench topic (default 8)
  --batch N               records per prepared batch = per Produce request (default 100)
  --conns N               produce connections (default 2)
  --in-flight N           Produce requests in flight per connection (default 16)
  --fetch-conns N         fetch connections, partitions split between them (default 1)
  --starts N              broker starts for the startup median (default 5)
  --group-runs N          repetitions of each consumer-group measurement (default 3)
  --skip LIST             phases to skip: startup,produce,fetch,loopback,group (fetch needs
                          produce)
  --verify-crc            check the CRC of every fetched batch (default: first batch of each
                          partition in every response)
  --cpu-prof DIR          run the broker children with node --cpu-prof, profiles written to DIR
                          (summarise one with: node dist/bench/profile-summary.js FILE)
  --broker-node-args S    extra node flags for the broker children, space-separated
                          (e.g. "--trace-gc --max-semi-space-size=64")
  --broker-output DIR     write each broker child's stdout/stderr to DIR/<name>.log
  --tmp-dir DIR           parent of the file store's data directories (default: os.tmpdir())
  --timeout S             limit per phase in seconds (default 300)
  -h, --help

Environment: BENCH_QUICK=1, BENCH_STORES, BENCH_SIZES, BENCH_MSGS, BENCH_CONNS, BENCH_IN_FLIGHT,
BENCH_BATCH, BENCH_STARTS (flags win).`;

function list(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function int(name: string, v: string | undefined, min = 1): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name}: expected an integer >= ${min}, got ${v}`);
  return n;
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  const flags = new Map<string, string>();
  const bools = new Set<string>();
  const booleanFlags = new Set(['--quick', '--verify-crc', '-h', '--help']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (booleanFlags.has(a)) {
      bools.add(a);
      continue;
    }
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      flags.set(a.slice(0, eq), a.slice(eq + 1));
      continue;
    }
    if (!a.startsWith('--') || i + 1 >= argv.length) throw new Error(`unknown or incomplete argument: ${a}\n\n${HELP}`);
    flags.set(a, argv[++i]!);
  }
  if (bools.has('-h') || bools.has('--help')) {
    process.stdout.write(HELP + '\n');
    process.exit(0);
  }
  const known = new Set([
    '--stores', '--sizes', '--msgs', '--partitions', '--batch', '--conns', '--in-flight', '--fetch-conns',
    '--starts', '--group-runs', '--skip', '--cpu-prof', '--broker-node-args', '--broker-output', '--tmp-dir', '--timeout',
  ]);
  for (const k of flags.keys()) if (!known.has(k)) throw new Error(`unknown flag ${k}\n\n${HELP}`);

  const get = (flag: string, envName: string): string | undefined => flags.get(flag) ?? env[envName];
  const quick = bools.has('--quick') || env['BENCH_QUICK'] === '1';

  const stores = list(get('--stores', 'BENCH_STORES') ?? 'memory,file');
  for (const s of stores) if (s !== 'memory' && s !== 'file') throw new Error(`--stores: unknown store ${s}`);
  const sizes = list(get('--sizes', 'BENCH_SIZES') ?? '100,1024').map((s) => int('--sizes', s));
  const defaultMsgs = sizes.map((s) => (quick ? (s <= 256 ? 200_000 : 50_000) : s <= 256 ? 6_000_000 : 1_500_000));
  const msgsList = get('--msgs', 'BENCH_MSGS');
  const msgs = msgsList ? list(msgsList).map((s) => int('--msgs', s)) : defaultMsgs;
  if (msgs.length !== sizes.length) throw new Error(`--msgs needs one count per size (${sizes.length})`);
  const skip = new Set(list(flags.get('--skip') ?? '') as Phase[]);
  for (const p of skip) if (!['startup', 'produce', 'fetch', 'loopback', 'group'].includes(p)) throw new Error(`--skip: unknown phase ${p}`);
  if (skip.has('produce')) skip.add('fetch');

  return {
    quick,
    stores: stores as Store[],
    sizes,
    msgs,
    partitions: int('--partitions', flags.get('--partitions') ?? '8'),
    batch: int('--batch', get('--batch', 'BENCH_BATCH') ?? '100'),
    conns: int('--conns', get('--conns', 'BENCH_CONNS') ?? '2'),
    inFlight: int('--in-flight', get('--in-flight', 'BENCH_IN_FLIGHT') ?? '16'),
    fetchConns: int('--fetch-conns', flags.get('--fetch-conns') ?? '1'),
    partitionMaxBytes: 1024 * 1024,
    maxBytes: 50 * 1024 * 1024,
    starts: int('--starts', get('--starts', 'BENCH_STARTS') ?? (quick ? '3' : '5')),
    groupRuns: int('--group-runs', flags.get('--group-runs') ?? (quick ? '1' : '3')),
    skip,
    verifyCrc: bools.has('--verify-crc'),
    cpuProfDir: flags.get('--cpu-prof'),
    brokerNodeArgs: list((flags.get('--broker-node-args') ?? '').replace(/\s+/g, ',')),
    brokerOutputDir: flags.get('--broker-output'),
    tmpDir: flags.get('--tmp-dir'),
    timeoutS: int('--timeout', flags.get('--timeout') ?? '300'),
  };
}
