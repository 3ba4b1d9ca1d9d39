// One Bitcoin indexer process (`coffer indexer run --chain bitcoin`): the chain-neutral
// `ChainFollower` over the Bitcoin block source. The process is the indexer's: it exits when
// the follower stops (1 after a deep reorg or an error, so the supervisor restarts a crash and
// leaves a deliberate stop to the operator).
import { createBitcoinRpc, type BitcoinRpc } from '../../chains/index.ts';
import { ConfigError, createPool, type Config, type Logger, type Pool } from '../../infra/index.ts';
import { LedgerWriter } from '../../ledger/index.ts';
import { ChainFollower, rewindIndexer, type FollowBatch, type FollowSettings, type RewindReport } from '../core/index.ts';
import { redactUrl } from '../evm/run.ts';
import { bitcoinBlockSource } from './source.ts';
import { watchedDepositScripts } from './watched.ts';

export const bitcoinIndexer = 'bitcoin';
/** Blocks per ledger transaction; with at most `fetchConcurrencyMax` raw blocks in flight, this bounds the batch's memory. */
const batchBlocksMax = 100;
const progressIntervalMs = 5_000;

export function bitcoinSettings(config: Config): FollowSettings {
  return {
    indexer: bitcoinIndexer,
    chain: 'bitcoin',
    finalityDepth: config.BITCOIN_FINALITY_DEPTH,
    startBlock: config.BITCOIN_START_HEIGHT,
    caseInsensitiveAddresses: false,
    batchBlocksMax,
    pollIntervalMs: config.BITCOIN_POLL_INTERVAL_MS,
  };
}

export function requireBitcoinRpc(config: Config): BitcoinRpc {
  if (!config.BITCOIN_RPC_URL) throw new ConfigError('BITCOIN_RPC_URL is not set: the bitcoin indexer needs the JSON-RPC URL of a Bitcoin Core (or bcoin) node, http://user:password@host:8332');
  return createBitcoinRpc({ url: config.BITCOIN_RPC_URL });
}

export function bitcoinFollower(options: { config: Config; pool: Pool; writer: LedgerWriter; logger: Logger; onBatch?: (batch: FollowBatch) => void }): ChainFollower {
  const { config, pool, writer, logger } = options;
  const settings = bitcoinSettings(config);
  const source = bitcoinBlockSource({ rpc: requireBitcoinRpc(config), finalityDepth: settings.finalityDepth, watched: watchedDepositScripts({ db: pool, chain: settings.chain, logger }) });
  return new ChainFollower({ pool, writer, source, settings, logger, ...(options.onBatch ? { onBatch: options.onBatch } : {}) });
}

/** Follows the chain; the process ends when the follower stops. */
export async function runBitcoinIndexer(config: Config, logger: Logger): Promise<void> {
  const settings = bitcoinSettings(config);
  const pool = createPool({ connectionString: config.DATABASE_URL, max: 4, applicationName: `coffer-indexer-${settings.indexer}` });
  const writer = new LedgerWriter({ pool, logger });
  let window = { startedAt: Date.now(), blocks: 0, deposits: 0 };
  const follower = bitcoinFollower({
    config,
    pool,
    writer,
    logger,
    onBatch: (batch) => {
      window.blocks += batch.blocks;
      window.deposits += batch.deposits;
      if (batch.deposits || batch.confirmed || batch.reversed) {
        logger.info('deposits', { indexer: settings.indexer, block: batch.toHeight, new: batch.deposits, confirmed: batch.confirmed, reversed: batch.reversed });
      }
      const elapsedMs = Date.now() - window.startedAt;
      if (elapsedMs >= progressIntervalMs) {
        logger.info('indexed', { indexer: settings.indexer, block: batch.toHeight, finalized: batch.finalizedHeight, blocksPerSecond: Math.round((window.blocks * 1000) / elapsedMs), deposits: window.deposits });
        window = { startedAt: Date.now(), blocks: 0, deposits: 0 };
      }
    },
  });
  await follower.connect();
  logger.info('bitcoin indexer starting', { rpc: redactUrl(config.BITCOIN_RPC_URL!), finalityDepth: settings.finalityDepth, from: settings.startBlock });
  follower.run().then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error('bitcoin indexer stopped', { error });
      process.exit(1);
    },
  );
}

export function rewindBitcoinIndexer(options: { config: Config; pool: Pool; writer: LedgerWriter; to: number }): Promise<RewindReport> {
  const { config, pool, writer, to } = options;
  const settings = bitcoinSettings(config);
  const source = bitcoinBlockSource({ rpc: requireBitcoinRpc(config), finalityDepth: settings.finalityDepth, watched: null });
  return rewindIndexer({ pool, writer, settings, to, blockHashAt: (height) => source.hashAt(height) });
}
