#!/usr/bin/env node
// The container's entrypoint: `brook start` configured from the environment, then the arguments
// given to `docker run IMAGE ...` (which come last, so they win).
//
//   BROOK_CFG_<NAME>=value      any broker config, Kafka-style: BROOK_CFG_LOG_RETENTION_MS=1000 is
//                               log.retention.ms=1000 (`__` for _, `___` for -); read by
//                               `brook start` itself (src/config/properties.ts settingsFromEnv)
//   BROOK_ADVERTISED_HOST       host name clients are told to connect to (default localhost: a
//                               client on the Docker host through -p 9092:9092). For clients in
//                               other containers use the container's name on a user-defined
//                               network, or set BROOK_CFG_ADVERTISED_LISTENERS=PLAINTEXT://name:port
//   BROOK_ADVERTISED_PORT       port clients are told (default: the listener port)
//   BROOK_PORT                  listener port (default 9092; the healthcheck reads it too)
//   BROOK_HOST                  listener address (default 0.0.0.0: all interfaces of the container)
//   BROOK_DATA_DIR              data directory (default /data, the image's volume), unless
//                               BROOK_CFG_LOG_DIRS is set
//   BROOK_LOG_LEVEL             read by brook itself
//
// It runs the CLI in this process (no child), so SIGTERM from `docker stop` reaches the broker.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The application root: the folder with package.json above this file (/app in the image, where
// this file is copied to /app/docker; the repository root when run from src/cli).
let APP = dirname(fileURLToPath(import.meta.url));
while (!existsSync(join(APP, 'package.json')) && dirname(APP) !== APP) APP = dirname(APP);

const env = process.env;
const given = process.argv.slice(2);
const args = ['start', '--host', env.BROOK_HOST || '0.0.0.0', '--port', env.BROOK_PORT || '9092'];
if (env.BROOK_DATA_DIR || env.BROOK_CFG_LOG_DIRS === undefined) args.push('--data-dir', env.BROOK_DATA_DIR || '/data');
// The default advertised host only when nothing else names one (a --config file may: then give
// BROOK_ADVERTISED_HOST or advertised.listeners explicitly).
const namesAdvertised =
  env.BROOK_CFG_ADVERTISED_LISTENERS !== undefined || given.some((a) => a.includes('advertised') || a.startsWith('--config'));
if (env.BROOK_ADVERTISED_HOST) args.push('--advertised-host', env.BROOK_ADVERTISED_HOST);
else if (!namesAdvertised) args.push('--advertised-host', 'localhost');
if (env.BROOK_ADVERTISED_PORT) args.push('--advertised-port', env.BROOK_ADVERTISED_PORT);
// A cluster member (README "Cluster"): its node id and the etcd holding the cluster metadata.
if (env.BROOK_NODE_ID) args.push('--node-id', env.BROOK_NODE_ID);
if (env.BROOK_METADATA) args.push('--metadata', env.BROOK_METADATA);

// The bundled command with its code cache (src/cli/launcher.cjs): a shorter, smaller start.
const main = join(APP, 'dist', 'src', 'cli', 'brook.cjs');
process.argv = [process.argv[0], main, ...args, ...given];
if (env.BROOK_ENTRYPOINT_DEBUG) process.stderr.write(`brook entrypoint: ${JSON.stringify(process.argv.slice(2))}\n`);
await import(pathToFileURL(main).href);
