// Where dynamic broker configs live between restarts. Kafka keeps them in its metadata (ZooKeeper
// /configs/brokers/<id> and /configs/brokers/<default>, or ConfigRecords in KRaft); Brook keeps
// them in one JSON file in the data directory, replaced atomically on every change:
//
//   <dataDir>/dynamic-broker-configs.json
//   { "version": 1, "clusterDefault": { "log.retention.ms": "60000" }, "brokers": { "1": { ... } } }
//
// Per-broker values are kept by node.id, so a directory moved to a broker with another id does not
// apply them (as Kafka). Topic overrides are not here: the log store keeps them with the topic.

import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../log/fs-util.js';

export const DYNAMIC_CONFIGS_FILE = 'dynamic-broker-configs.json';

export interface DynamicConfigPersistence {
  load(): { clusterDefault: Record<string, string>; broker: Record<string, string> };
  /** Durable before it returns (throws on a failed write: nothing changes then). */
  save(clusterDefault: Record<string, string>, broker: Record<string, string>): void;
}

interface StoredDynamicConfigs {
  version: 1;
  clusterDefault: Record<string, string>;
  brokers: Record<string, Record<string, string>>;
}

function stringMap(v: unknown): Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** The file in `dataDir` for broker `nodeId`. */
export function fileDynamicConfigs(dataDir: string, nodeId: number): DynamicConfigPersistence {
  const file = path.join(dataDir, DYNAMIC_CONFIGS_FILE);
  const read = (): StoredDynamicConfigs => {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, clusterDefault: {}, brokers: {} };
      throw err;
    }
    let v: Partial<StoredDynamicConfigs>;
    try {
      v = JSON.parse(text) as Partial<StoredDynamicConfigs>;
    } catch (err) {
      throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
    }
    const brokers: Record<string, Record<string, string>> = {};
    for (const [id, m] of Object.entries(v.brokers ?? {})) brokers[id] = stringMap(m);
    return { version: 1, clusterDefault: stringMap(v.clusterDefault), brokers };
  };
  return {
    load() {
      const s = read();
      return { clusterDefault: s.clusterDefault, broker: s.brokers[String(nodeId)] ?? {} };
    },
    save(clusterDefault, broker) {
      const s = read();
      s.clusterDefault = clusterDefault;
      if (Object.keys(broker).length > 0) s.brokers[String(nodeId)] = broker;
      else delete s.brokers[String(nodeId)];
      writeFileAtomic(file, JSON.stringify(s, null, 2) + '\n');
    },
  };
}
