// Issue 8: configuration changes from confluent-kafka-python (the system's python3-confluent-kafka
// 1.7.0 on librdkafka 2.0.2): AdminClient.alter_configs on a topic and on the broker, then
// describe_configs shows the values with their sources, and a refused value comes back as
// INVALID_CONFIG with Kafka's message.
// Not covered by this client: incremental_alter_configs (confluent-kafka-python 2.2 / librdkafka
// 2.2 added IncrementalAlterConfigs; 1.7.0 has no such method), and the cluster-wide "" broker
// resource (the Python ConfigResource refuses an empty name). Both are covered with the raw client
// in test/handlers/configs.test.ts. Skipped when python3 or confluent_kafka is missing.

import { execFile, execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker } from '../../src/broker.js';
import { startTestBroker } from '../helpers/broker.js';

const PYTHON = '/usr/bin/python3';

function hasConfluentKafka(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import confluent_kafka'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const SCRIPT = `
import json, sys
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
a = AdminClient({'bootstrap.servers': sys.argv[1]})
for f in a.create_topics([NewTopic('py-own', 1, 1), NewTopic('py-inherit', 1, 1)]).values(): f.result()
out = {}
def alter(res):
    try:
        for f in a.alter_configs([res]).values(): f.result()
        return 'ok'
    except Exception as e:
        err = e.args[0]
        return [err.name(), err.str()]
out['topic'] = alter(ConfigResource('topic', 'py-own', set_config={'retention.ms': '5000', 'cleanup.policy': 'compact,delete'}))
out['broker'] = alter(ConfigResource('broker', '1', set_config={'log.retention.ms': '60000'}))
out['bad'] = alter(ConfigResource('topic', 'py-own', set_config={'retention.ms': '-9'}))
out['readonly'] = alter(ConfigResource('broker', '1', set_config={'num.partitions': '3'}))
def described(restype, name, keys):
    d = list(a.describe_configs([ConfigResource(restype, name)]).values())[0].result()
    return {k: [d[k].value, int(d[k].source), sorted(d[k].synonyms.keys())] for k in keys}
out['py-own'] = described('topic', 'py-own', ['retention.ms', 'cleanup.policy', 'segment.bytes'])
out['py-inherit'] = described('topic', 'py-inherit', ['retention.ms'])
out['broker1'] = described('broker', '1', ['log.retention.ms', 'num.partitions'])
print(json.dumps(out))
`;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!hasConfluentKafka())('config changes end to end (confluent-kafka-python)', () => {
  it('alter_configs on a topic and the broker, describe_configs shows values and sources', async () => {
    const b: Broker = await startTestBroker();
    cleanups.push(() => b.close());
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(PYTHON, ['-c', SCRIPT, b.bootstrap], { timeout: 30_000 }, (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)));
    });
    const out = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(out.topic).toBe('ok');
    expect(out.broker).toBe('ok');
    expect(out.bad).toEqual(['INVALID_CONFIG', 'Invalid value -9 for configuration retention.ms: Value must be at least -1']);
    expect(out.readonly).toEqual(['INVALID_REQUEST', 'Cannot update these configs dynamically: Set(num.partitions)']);
    // Sources: 1 topic override, 2 dynamic per-broker, 5 default.
    expect(out['py-own']).toEqual({
      'retention.ms': ['5000', 1, ['log.retention.hours', 'log.retention.ms', 'retention.ms']],
      'cleanup.policy': ['compact,delete', 1, ['cleanup.policy', 'log.cleanup.policy']],
      'segment.bytes': ['1073741824', 5, ['log.segment.bytes']],
    });
    expect(out['py-inherit']).toEqual({ 'retention.ms': ['60000', 2, ['log.retention.hours', 'log.retention.ms']] });
    expect(out.broker1).toEqual({ 'log.retention.ms': ['60000', 2, ['log.retention.hours', 'log.retention.ms']], 'num.partitions': ['1', 5, ['num.partitions']] });
    // The broker change reached the partition of the topic without an override.
    const log = b.store.partition('py-inherit', 0) as unknown as { config: { retentionMs: number } };
    expect(log.config.retentionMs).toBe(60000);
  });
});
