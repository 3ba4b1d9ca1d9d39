// Runs Subsquid's EvmBatchProcessor over JSON-RPC only (no archive, no gateway) with our store.
// The processor ends the process itself (`process.exit`) when it stops, so each indexer runs in
// a process of its own: `coffer indexer run`, supervised by `coffer start --indexers evm`.
//
// Filters are static but cheap to keep wide: in RPC mode the processor downloads every block
// and every log anyway (research/indexer-anchors.md §2.4), so recipients are matched against
// the deposit_addresses table in the store, and a new address is watched without a restart.
import { EvmBatchProcessor } from '@subsquid/evm-processor';
import type { HotDatabase, HotDatabaseState } from '@subsquid/util-internal-processor-tools';
import { fields } from './observe.ts';
import { BatchCollector } from './store.ts';
import { topics } from './events.ts';

export interface ProcessorOptions {
  rpcUrl: string;
  finalityDepth: number;
  headPollIntervalMs: number;
  from: number;
  /** Last block to process; the process exits 0 once it is done. */
  to?: number;
  eventContracts: readonly string[];
}

export function buildProcessor(options: ProcessorOptions) {
  const processor = new EvmBatchProcessor()
    .setRpcEndpoint({ url: options.rpcUrl, capacity: 10, maxBatchCallSize: 100 })
    .setRpcDataIngestionSettings({ headPollInterval: options.headPollIntervalMs })
    .setFinalityConfirmation(options.finalityDepth)
    .setFields(fields)
    .setBlockRange({ from: options.from, ...(options.to === undefined ? {} : { to: options.to }) })
    // Every block, so the store knows the hash at every height it speaks for (orphan checks).
    .includeAllBlocks()
    .addTransaction({})
    .addLog({ topic0: [topics.transfer] });
  if (options.eventContracts.length > 0) {
    processor.addLog({
      address: options.eventContracts.map((address) => address.toLowerCase()),
      topic0: [topics.executedForwardRequest, topics.deposited, topics.withdrawn, topics.userOperationEvent],
    });
  }
  return processor;
}

/** Hands every batch to `database` and observes it; never returns (the processor exits the process). */
export function runProcessor(options: ProcessorOptions, database: HotDatabase<BatchCollector>): void {
  buildProcessor(options).run(database, (ctx) => {
    ctx.store.add(ctx.blocks);
    return Promise.resolve();
  });
}

/**
 * The same processor with a store that writes nothing: the baseline `coffer bench indexer`
 * compares the real store against (it still observes every block, so only persistence differs).
 */
export class NoopDatabase implements HotDatabase<BatchCollector> {
  readonly supportsHotBlocks = true as const;
  private readonly settings: ConstructorParameters<typeof BatchCollector>[0];
  private readonly onBatch: ((blocks: number, toHeight: number) => void) | undefined;

  constructor(settings: ConstructorParameters<typeof BatchCollector>[0], onBatch?: (blocks: number, toHeight: number) => void) {
    this.settings = settings;
    this.onBatch = onBatch;
  }

  connect(): Promise<HotDatabaseState> {
    return Promise.resolve({ height: -1, hash: '0x', top: [] });
  }

  async transact(_info: unknown, cb: (store: BatchCollector) => Promise<void>): Promise<void> {
    const collector = new BatchCollector(this.settings);
    await cb(collector);
    const blocks = collector.merged().blocks;
    this.onBatch?.(blocks.length, blocks.at(-1)?.height ?? -1);
  }

  transactHot(): Promise<void> {
    return Promise.reject(new Error('the no-op store reads finalized blocks only'));
  }

  async transactHot2(info: { newBlocks: unknown[] }, cb: (store: BatchCollector, start: number, end: number) => Promise<void>): Promise<void> {
    const collector = new BatchCollector(this.settings);
    await cb(collector, 0, info.newBlocks.length);
    const blocks = collector.merged().blocks;
    this.onBatch?.(blocks.length, blocks.at(-1)?.height ?? -1);
  }
}
