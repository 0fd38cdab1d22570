// brook user add|delete|list: SCRAM users over AlterUserScramCredentials and
// DescribeUserScramCredentials (KIP-554), against Brook or Kafka. As Kafka's kafka-configs
// --alter --add-config 'SCRAM-SHA-256=[password=...]', the client salts the password itself
// (random salt, PBKDF2) and sends only the salt and the salted password.

import { randomBytes } from 'node:crypto';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ErrorCode, errorName } from '../../protocol/errors.js';
import {
  ScramMechanismType,
  alterUserScramCredentials,
  describeUserScramCredentials,
  type ItemResult,
  type KafkaClient,
} from '../client/index.js';
import { SCRAM_MAX_ITERATIONS, SCRAM_MIN_ITERATIONS, saltPassword, type ScramMechanism } from '../security/scram.js';
import { CliError, ExitCode, UsageError, action, connectionOptions, type ConnectionOpts } from './common.js';
import { printJson, printTable } from './output.js';

const MECHANISMS = Object.keys(ScramMechanismType);

interface AddOpts extends ConnectionOpts {
  password?: string;
  mechanism: ScramMechanism;
  iterations: number;
}

interface DeleteOpts extends ConnectionOpts {
  mechanism?: ScramMechanism;
  ifExists?: boolean;
}

function iterationsArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < SCRAM_MIN_ITERATIONS || n > SCRAM_MAX_ITERATIONS) {
    throw new InvalidArgumentError(`--iterations must be an integer from ${SCRAM_MIN_ITERATIONS} to ${SCRAM_MAX_ITERATIONS}`);
  }
  return n;
}

function mechanismOption(description: string, dflt?: string): Option {
  const o = new Option('-m, --mechanism <mechanism>', description).choices(MECHANISMS).argParser((v) => {
    const up = v.toUpperCase();
    if (!MECHANISMS.includes(up)) throw new InvalidArgumentError(`Allowed choices are ${MECHANISMS.join(', ')}.`);
    return up;
  });
  return dflt === undefined ? o : o.default(dflt);
}

/** The password from stdin (all of it, without the trailing newline). */
async function readPasswordFromStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError('give --password, or pipe the password on stdin (echo "$PASS" | brook user add alice)');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

function failureLine(r: ItemResult): string {
  return `user "${r.name}": ${errorName(r.errorCode)}${r.errorMessage ? `: ${r.errorMessage}` : ''}\n`;
}

async function add(client: KafkaClient, opts: AddOpts, [name]: string[]): Promise<number> {
  const password = opts.password ?? (await readPasswordFromStdin());
  if (password.length === 0) throw new UsageError('the password must not be empty');
  const salt = randomBytes(32);
  const saltedPassword = await saltPassword(opts.mechanism, password, salt, opts.iterations);
  const [r] = await alterUserScramCredentials(client, {
    upsertions: [{ user: name!, mechanism: ScramMechanismType[opts.mechanism]!, iterations: opts.iterations, salt, saltedPassword }],
  });
  if (!r) throw new CliError('the broker answered no result');
  const ok = r.errorCode === ErrorCode.NONE;
  if (opts.json) {
    printJson(process.stdout, { user: r.name, mechanism: opts.mechanism, iterations: opts.iterations, status: ok ? 'added' : 'failed', error: ok ? null : { code: errorName(r.errorCode), message: r.errorMessage } });
  } else if (ok) {
    printTable(process.stdout, ['USER', 'MECHANISM', 'ITERATIONS', 'STATUS'], [[r.name, opts.mechanism, opts.iterations, 'added']]);
  }
  if (!ok) process.stderr.write(failureLine(r));
  return ok ? ExitCode.OK : ExitCode.ERROR;
}

async function remove(client: KafkaClient, opts: DeleteOpts, names: string[]): Promise<number> {
  // Without --mechanism: every mechanism each user has.
  const deletions: Array<{ user: string; mechanism: number }> = [];
  const missing = new Set<string>();
  if (opts.mechanism !== undefined) {
    for (const user of names) deletions.push({ user, mechanism: ScramMechanismType[opts.mechanism]! });
  } else {
    for (const d of await describeUserScramCredentials(client, [...new Set(names)])) {
      if (d.errorCode === ErrorCode.RESOURCE_NOT_FOUND) missing.add(d.user);
      else if (d.errorCode !== ErrorCode.NONE) throw new CliError(failureLine({ name: d.user, errorCode: d.errorCode, errorMessage: d.errorMessage }).trimEnd());
      for (const c of d.credentials) deletions.push({ user: d.user, mechanism: ScramMechanismType[c.mechanism] ?? -1 });
    }
  }
  // Kafka refuses a user named twice in one request: one request per mechanism.
  const results = new Map<string, ItemResult>();
  for (const mech of new Set(deletions.map((d) => d.mechanism))) {
    const batch = deletions.filter((d) => d.mechanism === mech);
    for (const r of await alterUserScramCredentials(client, { deletions: batch })) {
      const prev = results.get(r.name);
      if (!prev || prev.errorCode === ErrorCode.NONE) results.set(r.name, r);
    }
  }
  for (const user of missing) results.set(user, { name: user, errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: 'no SCRAM credentials' });
  const rows = names.filter((n, i) => names.indexOf(n) === i).map((n) => results.get(n)!);
  const status = (r: ItemResult): string => (r.errorCode === ErrorCode.NONE ? 'deleted' : r.errorCode === ErrorCode.RESOURCE_NOT_FOUND ? 'not found' : 'failed');
  if (opts.json) {
    printJson(process.stdout, rows.map((r) => ({ user: r.name, status: status(r), error: r.errorCode === ErrorCode.NONE ? null : { code: errorName(r.errorCode), message: r.errorMessage } })));
  } else {
    printTable(process.stdout, ['USER', 'STATUS'], rows.map((r) => [r.name, status(r)]));
  }
  const failed = rows.filter((r) => r.errorCode !== ErrorCode.NONE && !(r.errorCode === ErrorCode.RESOURCE_NOT_FOUND && opts.ifExists));
  for (const r of failed) process.stderr.write(failureLine(r));
  if (failed.length === 0) return ExitCode.OK;
  return failed.every((r) => r.errorCode === ErrorCode.RESOURCE_NOT_FOUND) ? ExitCode.NOT_FOUND : ExitCode.ERROR;
}

async function list(client: KafkaClient, opts: ConnectionOpts, names: string[]): Promise<number> {
  const described = await describeUserScramCredentials(client, names.length > 0 ? names : null);
  const found = described.filter((d) => d.errorCode === ErrorCode.NONE).sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
  const failed = described.filter((d) => d.errorCode !== ErrorCode.NONE);
  if (opts.json) {
    printJson(process.stdout, found.map((d) => ({ user: d.user, credentials: d.credentials })));
  } else {
    printTable(process.stdout, ['USER', 'MECHANISM', 'ITERATIONS'], found.flatMap((d) => d.credentials.map((c) => [d.user, c.mechanism, c.iterations])));
  }
  for (const d of failed) {
    process.stderr.write(d.errorCode === ErrorCode.RESOURCE_NOT_FOUND ? `user "${d.user}" not found\n` : failureLine({ name: d.user, errorCode: d.errorCode, errorMessage: d.errorMessage }));
  }
  if (failed.length === 0) return ExitCode.OK;
  return failed.every((d) => d.errorCode === ErrorCode.RESOURCE_NOT_FOUND) ? ExitCode.NOT_FOUND : ExitCode.ERROR;
}

export function userCommand(): Command {
  const user = new Command('user').description('add, delete and list SCRAM users (SASL/SCRAM credentials)');

  connectionOptions(
    user
      .command('add')
      .description('add a SCRAM user, or replace its password for that mechanism')
      .argument('<name>', 'user name')
      .option('-p, --password <password>', 'the password (default: read from stdin; a password on the command line is visible to other local users)')
      .addOption(mechanismOption('SCRAM-SHA-256 or SCRAM-SHA-512', 'SCRAM-SHA-256'))
      .option('--iterations <n>', `PBKDF2 iterations, ${SCRAM_MIN_ITERATIONS}-${SCRAM_MAX_ITERATIONS}`, iterationsArg, SCRAM_MIN_ITERATIONS)
      .addHelpText(
        'after',
        '\nThe password is salted here (random salt) and never sent.\n\nExamples:\n  brook user add alice --password alice-secret\n  echo "$PASSWORD" | brook user add alice -m SCRAM-SHA-512 --iterations 8192',
      ),
  ).action(action<AddOpts>((client, opts, args) => add(client, opts, args)));

  connectionOptions(
    user
      .command('delete')
      .alias('rm')
      .description('delete SCRAM users (every mechanism they have, or one)')
      .argument('<names...>', 'user names')
      .addOption(mechanismOption('delete only this mechanism\'s credential'))
      .option('--if-exists', 'succeed if a user does not exist')
      .addHelpText('after', '\nExamples:\n  brook user delete alice\n  brook user delete alice -m SCRAM-SHA-512'),
  ).action(action<DeleteOpts>((client, opts, args) => remove(client, opts, args)));

  connectionOptions(
    user
      .command('list')
      .alias('ls')
      .description('list SCRAM users with their mechanisms and iterations (never secrets)')
      .argument('[names...]', 'users to show (default: all)')
      .addHelpText('after', '\nExamples:\n  brook user list\n  brook user list alice --json'),
  ).action(action<ConnectionOpts>((client, opts, args) => list(client, opts, args)));

  return user;
}
