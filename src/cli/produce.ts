// brook produce: records from arguments, a file or stdin (one per line, or per --delimiter), as
// plain values, key<sep>value lines or JSON lines.

import { createReadStream } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { Compression, compressionSupport } from '../../protocol/records/index.js';
import { Producer, type KafkaClient, type PartitionResult, type ProducerRecord } from '../client/index.js';
import { CliError, ExitCode, action, connectionOptions, keyValue, nonNegativeInt, positiveInt, type ConnectionOpts } from './common.js';
import { Splitter, encodingArg, parseRecord, textToBytes, type Encoding, type InputOptions } from './format.js';
import { Progress, printJson, printTable } from './output.js';

interface ProduceOpts extends ConnectionOpts {
  topic: string;
  key?: string;
  keySeparator?: string;
  header: string[];
  partition?: number;
  file?: string;
  format: 'text' | 'json';
  encoding: Encoding;
  delimiter: string;
  acks: number;
  compression: number;
  batchSize: number;
  autoCreate: boolean;
  quiet: boolean;
}

function acksArg(value: string): number {
  const v = value.trim().toLowerCase();
  if (v === 'all' || v === '-1') return -1;
  if (v === '0' || v === '1') return Number(v);
  throw new InvalidArgumentError('acks must be all (-1), 1 or 0');
}

function compressionArg(value: string): number {
  const map: Record<string, number> = { none: Compression.NONE, gzip: Compression.GZIP, snappy: Compression.SNAPPY, lz4: Compression.LZ4, zstd: Compression.ZSTD };
  const c = map[value.toLowerCase()];
  if (c === undefined) throw new InvalidArgumentError('compression must be none, gzip, snappy, lz4 or zstd');
  if (!compressionSupport(c).compress) throw new InvalidArgumentError(`${value} compression is not available in this Node.js runtime`);
  return c;
}

function unescapeArg(s: string): string {
  return s.replace(/\\([ntr0\\])/g, (_m, c: string) => ({ n: '\n', t: '\t', r: '\r', '0': '\0', '\\': '\\' })[c]!);
}

async function produce(client: KafkaClient, opts: ProduceOpts, values: string[]): Promise<number> {
  if (values.length > 0 && opts.file) throw new CliError('give values as arguments or --file, not both', ExitCode.USAGE);
  const headers = (opts.header ?? []).map((kv) => {
    const i = kv.indexOf('=');
    return { key: kv.slice(0, i), value: Buffer.from(kv.slice(i + 1)) };
  });
  const delimiter = unescapeArg(opts.delimiter);
  const input: InputOptions = {
    format: opts.format,
    encoding: opts.encoding,
    keySeparator: opts.keySeparator !== undefined ? Buffer.from(unescapeArg(opts.keySeparator)) : undefined,
    key: opts.key !== undefined ? textToBytes(opts.key, opts.format === 'json' ? opts.encoding : 'utf8', '--key') : undefined,
    headers,
    partition: opts.partition,
    stripCr: delimiter === '\n',
  };
  const producer = new Producer(client, { acks: opts.acks, compression: opts.compression as Compression, timeoutMs: opts.timeout, autoCreate: opts.autoCreate });
  // Fail early (topic missing, partition out of range) before reading any input.
  const partitions = await producer.partitions(opts.topic);
  if (opts.partition !== undefined && opts.partition >= partitions) throw new CliError(`partition ${opts.partition} of topic "${opts.topic}" not found (it has ${partitions})`, ExitCode.NOT_FOUND);

  const totals = new Map<number, { partition: number; count: number; first: bigint; last: bigint }>();
  let records = 0;
  let bytes = 0;
  const started = Date.now();
  const interactive = values.length === 0 && !opts.file && process.stdin.isTTY === true;
  const progress = Progress.for(process.stderr, !interactive && !opts.quiet);
  const note = (results: PartitionResult[]): void => {
    for (const r of results) {
      const t = totals.get(r.partition);
      const last = r.baseOffset >= 0n ? r.baseOffset + BigInt(r.count) - 1n : -1n;
      if (!t) totals.set(r.partition, { partition: r.partition, count: r.count, first: r.baseOffset, last });
      else {
        t.count += r.count;
        if (last >= 0n) t.last = last;
      }
    }
  };
  const send = async (batch: ProducerRecord[]): Promise<void> => {
    if (batch.length === 0) return;
    note(await producer.send(opts.topic, batch));
    records += batch.length;
    for (const r of batch) bytes += (r.value?.length ?? 0) + (r.key?.length ?? 0);
    progress.update(() => {
      const secs = (Date.now() - started) / 1000;
      return `produced ${records} records, ${(bytes / 1e6).toFixed(1)} MB (${Math.round(records / Math.max(secs, 0.001))} records/s)`;
    });
  };

  let lineNo = 0;
  const parse = (line: Buffer): ProducerRecord => parseRecord(line, input, `${opts.file ?? (values.length > 0 ? 'argument' : 'stdin')} record ${++lineNo}`);
  try {
    if (values.length > 0) {
      await send(values.map((v) => parse(Buffer.from(v))));
    } else {
      const stream = opts.file ? createReadStream(opts.file, { highWaterMark: 1 << 20 }) : process.stdin;
      if (interactive) process.stderr.write(`Type records for "${opts.topic}", one per line; Ctrl-D to finish.\n`);
      const splitter = new Splitter(Buffer.from(delimiter));
      let pending: ProducerRecord[] = [];
      let pendingBytes = 0;
      for await (const chunk of stream) {
        for (const line of splitter.push(chunk as Buffer)) {
          const r = parse(line);
          pending.push(r);
          pendingBytes += (r.value?.length ?? 0) + (r.key?.length ?? 0);
        }
        // Send what a chunk brought (a typed line goes out at once); big inputs go in ~1 MB rounds.
        if (pendingBytes >= opts.batchSize || interactive || !opts.file) {
          await send(pending);
          pending = [];
          pendingBytes = 0;
        }
      }
      for (const line of splitter.end()) pending.push(parse(line));
      await send(pending);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES') throw new CliError(`cannot read ${opts.file}: ${(err as Error).message}`);
    throw err;
  } finally {
    progress.done();
  }

  const rows = [...totals.values()].sort((a, b) => a.partition - b.partition);
  if (opts.json) {
    printJson(process.stdout, {
      topic: opts.topic,
      records,
      acks: opts.acks,
      partitions: rows.map((r) => ({ partition: r.partition, records: r.count, firstOffset: r.first >= 0n ? r.first : null, lastOffset: r.last >= 0n ? r.last : null })),
    });
  } else if (!opts.quiet) {
    printTable(
      process.stdout,
      ['TOPIC', 'PARTITION', 'RECORDS', 'FIRST-OFFSET', 'LAST-OFFSET'],
      rows.map((r) => [opts.topic, r.partition, r.count, r.first >= 0n ? r.first : null, r.last >= 0n ? r.last : null]),
    );
  }
  return ExitCode.OK;
}

export function produceCommand(): Command {
  const cmd = new Command('produce')
    .description('send records to a topic: the values given as arguments, or one per line from --file or stdin')
    .argument('[values...]', 'values to send (otherwise read from --file or stdin)')
    .requiredOption('-t, --topic <topic>', 'topic to write to')
    .option('-k, --key <key>', 'key for every record')
    .option('-K, --key-separator <sep>', 'each line is key<sep>value (e.g. -K ":" or -K "\\t")')
    .option('-H, --header <key=value>', 'header for every record (repeatable)', keyValue)
    .option('-p, --partition <n>', 'partition for every record (default: by key hash, or spread when there is no key)', nonNegativeInt('--partition'))
    .option('-f, --file <path>', 'read records from a file instead of stdin')
    .addOption(new Option('--format <format>', 'input format: text lines, or JSON lines {"key","value","headers","partition","timestamp"}').choices(['text', 'json']).default('text'))
    .addOption(new Option('--encoding <enc>', 'how keys, values and header values are written in JSON input (and --key then)').argParser(encodingArg).default('utf8'))
    .option('-D, --delimiter <str>', 'record delimiter (\\n, \\t, \\0 understood)', '\\n')
    .addOption(new Option('-a, --acks <acks>', 'all (-1), 1 (leader only) or 0 (no answer, offsets unknown)').argParser(acksArg).default(-1, 'all'))
    .addOption(new Option('-z, --compression <codec>', 'none, gzip, snappy, lz4 or zstd').argParser(compressionArg).default(Compression.NONE, 'none'))
    .option('--batch-size <bytes>', 'send when this many bytes of input are waiting (file input)', positiveInt('--batch-size'), 1024 * 1024)
    .option('--no-auto-create', 'fail instead of letting the broker auto-create a missing topic')
    .option('-q, --quiet', 'print nothing on success')
    .addHelpText(
      'after',
      `
Prints how many records went to each partition and their offsets (--json for a JSON object).

Examples:
  brook produce -t demo hello world                  # two records
  echo 'hello' | brook produce -t demo
  brook produce -t users -K : -f users.txt           # lines like "alice:{\\"age\\":30}"
  brook produce -t demo -k user-1 -H source=cli -z zstd 'an event'
  brook consume -t demo --format json | brook produce -t copy --format json`,
    );
  connectionOptions(cmd);
  return cmd.action(action<ProduceOpts>((client, opts, args) => produce(client, opts, args)));
}
