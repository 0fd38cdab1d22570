// Producer id allocation (Kafka's ProducerIdManager, single-node form).
//
// Ids never repeat across restarts: the durable allocator reserves blocks of BLOCK_SIZE ids by
// writing the end of the current block to `<dataDir>/producer-id-block` (atomically, fsynced)
// before handing out any id from it. After a restart allocation continues at the saved block end,
// so ids of a block cut short by a crash are skipped, never reused (as with Kafka's blocks).

import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../log/fs-util.js';

export const PRODUCER_ID_BLOCK_FILE = 'producer-id-block';
export const BLOCK_SIZE = 1000n;

export interface ProducerIdManager {
  /** A producer id never returned before (and never again). */
  next(): bigint;
}

/** In-memory allocator for the memory store: unique within the process. */
export class MemoryProducerIds implements ProducerIdManager {
  private nextId = 0n;

  next(): bigint {
    return this.nextId++;
  }
}

/** Durable allocator (see the file header). */
export class FileProducerIds implements ProducerIdManager {
  private readonly file: string;
  private nextId: bigint;
  private blockEnd: bigint;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, PRODUCER_ID_BLOCK_FILE);
    let saved = 0n;
    try {
      const m = /^next\.block\.start=(\d+)\s*$/m.exec(fs.readFileSync(this.file, 'utf8'));
      if (m === null) throw new Error(`${this.file} is malformed`);
      saved = BigInt(m[1]!);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.nextId = saved;
    this.blockEnd = saved;
  }

  next(): bigint {
    if (this.nextId >= this.blockEnd) {
      const end = this.nextId + BLOCK_SIZE;
      writeFileAtomic(this.file, `#Written by Brook: producer ids below this were handed out\nnext.block.start=${end}\n`);
      this.blockEnd = end;
    }
    return this.nextId++;
  }
}

/**
 * A cluster's allocator (issue 10, Kafka's RPCProducerIdManager with the metadata store as the
 * source of blocks): ids come from blocks of BLOCK_SIZE taken from the cluster metadata store, so
 * no two brokers ever hand out the same id. The next block is fetched when 90 % of the current
 * one is used; with none at hand next() throws (InitProducerId answers COORDINATOR_NOT_AVAILABLE,
 * and the client retries).
 */
export class BlockProducerIds implements ProducerIdManager {
  private nextId = 0n;
  private end = 0n;
  private prefetched: { first: bigint; end: bigint } | undefined;
  private fetching: Promise<void> | undefined;

  constructor(
    private readonly allocate: () => Promise<{ firstProducerId: bigint; size: number }>,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Fetches the first block (the broker waits for it before serving). */
  async start(): Promise<void> {
    await this.prefetch();
    this.rotate();
  }

  next(): bigint {
    if (this.nextId >= this.end) this.rotate();
    if (this.nextId >= this.end) {
      void this.prefetch();
      throw new Error('no producer id block yet (fetching one from the cluster metadata)');
    }
    const id = this.nextId++;
    if (this.prefetched === undefined && this.end - this.nextId < BLOCK_SIZE / 10n) void this.prefetch();
    return id;
  }

  private rotate(): void {
    if (this.prefetched === undefined) return;
    this.nextId = this.prefetched.first;
    this.end = this.prefetched.end;
    this.prefetched = undefined;
  }

  private prefetch(): Promise<void> {
    this.fetching ??= this.allocate()
      .then((b) => {
        this.prefetched = { first: b.firstProducerId, end: b.firstProducerId + BigInt(b.size) };
      })
      .catch((err: unknown) => this.onError(err))
      .finally(() => {
        this.fetching = undefined;
      });
    return this.fetching;
  }
}
