// brook cluster describe

import { Command } from 'commander';
import { apiNames } from '../client/apis.js';
import { describeCluster, type KafkaClient } from '../client/index.js';
import { action, connectionOptions, type ConnectionOpts } from './common.js';
import { printJson, printTable } from './output.js';

interface DescribeOpts extends ConnectionOpts {
  apiVersions: boolean;
}

async function describe(client: KafkaClient, opts: DescribeOpts): Promise<void> {
  const cluster = await describeCluster(client);
  const conn = await client.any();
  const names = opts.apiVersions ? await apiNames() : new Map<number, string>();
  const apis = [...conn.apiVersions]
    .sort(([a], [b]) => a - b)
    .map(([apiKey, r]) => ({ apiKey, name: names.get(apiKey) ?? null, minVersion: r.min, maxVersion: r.max }));
  const md = await client.metadata(null);
  const topics = md.topics.filter((t) => !t.isInternal);
  const summary = {
    clusterId: cluster.clusterId,
    controllerId: cluster.controllerId,
    brokers: cluster.brokers,
    topics: topics.length,
    partitions: topics.reduce((n, t) => n + t.partitions.length, 0),
    bootstrap: conn.address,
    ...(opts.apiVersions ? { apiVersions: apis } : {}),
  };
  if (opts.json) {
    printJson(process.stdout, summary);
    return;
  }
  process.stdout.write(`Cluster id:  ${cluster.clusterId ?? '-'}\n`);
  process.stdout.write(`Controller:  ${cluster.controllerId}\n`);
  process.stdout.write(`Topics:      ${summary.topics} (${summary.partitions} partitions, internal topics not counted)\n`);
  process.stdout.write(`Brokers:     ${cluster.brokers.length}\n\n`);
  printTable(
    process.stdout,
    ['BROKER', 'HOST', 'PORT', 'RACK', 'CONTROLLER'],
    cluster.brokers.map((b) => [b.nodeId, b.host, b.port, b.rack, b.nodeId === cluster.controllerId ? 'yes' : '']),
  );
  if (opts.apiVersions) {
    process.stdout.write(`\nAPI versions of ${conn.address}:\n`);
    printTable(process.stdout, ['KEY', 'API', 'MIN', 'MAX'], apis.map((a) => [a.apiKey, a.name, a.minVersion, a.maxVersion]));
  }
}

export function clusterCommand(): Command {
  const cluster = new Command('cluster').description('describe the cluster');
  connectionOptions(
    cluster
      .command('describe')
      .description('show the cluster id, controller and brokers')
      .option('--api-versions', 'also list the API versions the bootstrap broker serves')
      .addHelpText('after', '\nExamples:\n  brook cluster describe\n  brook cluster describe -b kafka1:9092 --api-versions --json'),
  ).action(action<DescribeOpts>((client, opts) => describe(client, opts)));
  return cluster;
}
