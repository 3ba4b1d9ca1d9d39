// One EVM indexer process: `coffer indexer run --chain evm` (following), `coffer indexer rescan`
// (re-reading finalized blocks for late-registered addresses). Both end the process.
import type { Config, Logger } from '../../infra/index.ts';
import { ConfigError, createPool } from '../../infra/index.ts';
import { LedgerWriter } from '../../ledger/index.ts';
import { readCursor, recordChainHead, RewindError } from '../core/index.ts';
import { runProcessor } from './processor.ts';
import { chainHead, jsonRpc } from './rpc.ts';
import { EvmLedgerDatabase, ensureCursor, IndexerStoppedError, type IndexerSettings } from './store.ts';

export const evmIndexer = 'evm';

export function evmSettings(config: Config): IndexerSettings {
  return {
    indexer: evmIndexer,
    chain: 'ethereum',
    nativeAsset: 'ETH',
    finalityDepth: config.EVM_FINALITY_DEPTH,
    startBlock: config.EVM_START_BLOCK,
    eventContracts: [config.EVM_FORWARDER_ADDRESS, config.EVM_ENTRYPOINT_ADDRESS].filter((a): a is string => a !== undefined),
  };
}

export function requireRpcUrl(config: Config): string {
  if (!config.EVM_RPC_URL) throw new ConfigError('EVM_RPC_URL is not set: the evm indexer needs the JSON-RPC URL of the chain it follows');
  return config.EVM_RPC_URL;
}

const progressIntervalMs = 5_000;

/** Follows the chain until the process ends. Throws before starting when the indexer is stopped. */
export async function runEvmIndexer(config: Config, logger: Logger): Promise<void> {
  const rpcUrl = requireRpcUrl(config);
  const settings = evmSettings(config);
  const pool = createPool({ connectionString: config.DATABASE_URL, max: 4, applicationName: `coffer-indexer-${settings.indexer}` });
  const writer = new LedgerWriter({ pool, logger });
  const rpc = jsonRpc(rpcUrl);
  await ensureCursor(pool, settings);
  const stoppedReason = (await readCursor(pool, settings.indexer))?.stopped_reason;
  if (stoppedReason) {
    await pool.end();
    throw new IndexerStoppedError(stoppedReason);
  }

  // The chain head, for lag on /metrics and /v1/admin/indexers without the API calling the chain.
  const recordHead = async () => {
    try {
      const head = await chainHead(rpc);
      await recordChainHead(pool, settings.indexer, head, { monotonic: false });
    } catch (error) {
      logger.warn('could not read the chain head', { indexer: settings.indexer, error });
    }
  };
  await recordHead();
  setInterval(() => void recordHead(), Math.max(config.EVM_HEAD_POLL_INTERVAL_MS, 1_000)).unref();

  let window = { startedAt: Date.now(), blocks: 0, deposits: 0 };
  const database = new EvmLedgerDatabase({
    pool,
    writer,
    settings,
    rpc,
    logger,
    onBatch: (stats) => {
      window.blocks += stats.blocks;
      window.deposits += stats.deposits;
      if (stats.deposits || stats.confirmed || stats.reversed) {
        logger.info('deposits', { indexer: settings.indexer, block: stats.toHeight, new: stats.deposits, confirmed: stats.confirmed, reversed: stats.reversed });
      }
      const elapsed = Date.now() - window.startedAt;
      if (elapsed >= progressIntervalMs) {
        logger.info('indexed', { indexer: settings.indexer, block: stats.toHeight, finalized: stats.finalizedHeight, blocksPerSecond: Math.round((window.blocks * 1000) / elapsed), deposits: window.deposits });
        window = { startedAt: Date.now(), blocks: 0, deposits: 0 };
      }
    },
  });
  logger.info('evm indexer starting', { rpc: redactUrl(rpcUrl), finalityDepth: settings.finalityDepth, from: settings.startBlock });
  runProcessor(
    { rpcUrl, finalityDepth: settings.finalityDepth, headPollIntervalMs: config.EVM_HEAD_POLL_INTERVAL_MS, from: settings.startBlock, eventContracts: settings.eventContracts },
    database,
  );
}

/**
 * Re-reads finalized blocks `from`..cursor for deposits to addresses that were registered after
 * they were paid. Idempotent: deposits already in the ledger replay. Ends the process.
 */
export async function runEvmRescan(config: Config, logger: Logger, from: number): Promise<void> {
  const rpcUrl = requireRpcUrl(config);
  const settings = evmSettings(config);
  const pool = createPool({ connectionString: config.DATABASE_URL, max: 4 });
  const cursor = await readCursor(pool, settings.indexer);
  const to = cursor ? Number(cursor.height) : -1;
  if (to < from) {
    await pool.end();
    throw new RewindError('nothing_to_rescan', `nothing to rescan: the ${settings.indexer} indexer has finalized blocks up to ${to}, and the rescan starts at ${from}; blocks above the cursor are read by the indexer itself`);
  }
  const writer = new LedgerWriter({ pool, logger });
  let found = 0;
  let lastLog = Date.now();
  const database = new EvmLedgerDatabase({
    pool,
    writer,
    settings,
    rpc: jsonRpc(rpcUrl),
    logger,
    mode: 'rescan',
    rangeEnd: to,
    onBatch: (stats) => {
      found += stats.deposits;
      if (Date.now() - lastLog >= progressIntervalMs || stats.toHeight >= to) {
        logger.info('rescanned', { indexer: settings.indexer, block: stats.toHeight, to, newDeposits: found });
        lastLog = Date.now();
      }
    },
  });
  logger.info('rescan starting', { indexer: settings.indexer, from, to });
  // A depth of 0: everything up to `to` is already final by the cursor's own account.
  runProcessor({ rpcUrl, finalityDepth: 0, headPollIntervalMs: config.EVM_HEAD_POLL_INTERVAL_MS, from, to, eventContracts: [] }, database);
}

/** The RPC URL may carry an API key in its path or query: log the host only. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return '(unparseable url)';
  }
}
