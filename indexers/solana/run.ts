// One Solana indexer process (`coffer indexer run --chain solana`): the chain follower over the
// Solana block source, assets registered from the configured mints, progress in the log.
import type { Config, Logger, Pool } from '../../infra/index.ts';
import { ConfigError, createPool } from '../../infra/index.ts';
import { LedgerWriter, registerAsset } from '../../ledger/index.ts';
import { ChainFollower, rewindIndexer, type FollowSettings, type RewindReport } from '../core/index.ts';
import type { TokenList } from './decode.ts';
import { solanaRpc, type SolanaRpc } from './rpc.ts';
import { SolanaBlockSource } from './source.ts';

export const solanaIndexer = 'solana';
/** Slots between a confirmed block and its finalization: the depth the cursor reports. */
export const solanaFinalityDepthSlots = 32;
/** Slots per batch: one ledger transaction, bounded memory (a mainnet block can hold thousands of transactions). */
const batchSlotsMax = 100;
const progressIntervalMs = 5_000;

export function requireSolanaRpcUrl(config: Config): string {
  if (!config.SOLANA_RPC_URL) throw new ConfigError('SOLANA_RPC_URL is not set: the solana indexer needs the JSON-RPC URL of the chain it follows');
  return config.SOLANA_RPC_URL;
}

/** SOLANA_TOKENS (`USDC=<mint>,…`) as mint → asset code. */
export function solanaTokens(config: Pick<Config, 'SOLANA_TOKENS'>): TokenList {
  return new Map(config.SOLANA_TOKENS.split(',').map((pair) => {
    const [code, mint] = pair.split('=') as [string, string];
    return [mint, code];
  }));
}

export function solanaFollowSettings(config: Config, startSlot: number): FollowSettings {
  return {
    indexer: solanaIndexer,
    chain: 'solana',
    finalityDepth: solanaFinalityDepthSlots,
    caseInsensitiveAddresses: false,
    startBlock: startSlot,
    batchBlocksMax: batchSlotsMax,
    pollIntervalMs: config.SOLANA_POLL_INTERVAL_MS,
  };
}

/** Registers each accepted mint as an asset (code, the mint's decimals, the mint as contract). */
export async function registerSolanaTokens(pool: Pool, rpc: SolanaRpc, tokens: TokenList): Promise<void> {
  for (const [mint, code] of tokens) {
    const account = await rpc<{ value: { data: { parsed?: { info?: { decimals?: number } } } } | null }>('getAccountInfo', [mint, { encoding: 'jsonParsed', commitment: 'finalized' }]);
    const decimals = account.value?.data.parsed?.info?.decimals;
    if (decimals === undefined) throw new ConfigError(`SOLANA_TOKENS: ${code}=${mint} is not a token mint on this chain`);
    await registerAsset(pool, { code, scale: decimals, chain: 'solana', contract: mint });
  }
}

/** Follows the chain until the process ends. A fresh database starts at the finalized slot. */
export async function runSolanaIndexer(config: Config, logger: Logger): Promise<void> {
  const rpc = solanaRpc(requireSolanaRpcUrl(config));
  const pool = createPool({ connectionString: config.DATABASE_URL, max: 4, applicationName: `coffer-indexer-${solanaIndexer}` });
  const writer = new LedgerWriter({ pool, logger });
  const tokens = solanaTokens(config);
  await registerSolanaTokens(pool, rpc, tokens);
  const settings = solanaFollowSettings(config, await rpc<number>('getSlot', [{ commitment: 'finalized' }]));
  let window = { startedAt: Date.now(), slots: 0, deposits: 0 };
  const follower = new ChainFollower({
    pool,
    writer,
    source: new SolanaBlockSource({ rpc, tokens }),
    settings,
    logger,
    onBatch: (batch) => {
      window.slots += batch.blocks;
      window.deposits += batch.deposits;
      if (batch.deposits || batch.confirmed || batch.reversed) {
        logger.info('deposits', { indexer: solanaIndexer, slot: batch.toHeight, new: batch.deposits, confirmed: batch.confirmed, reversed: batch.reversed });
      }
      if (Date.now() - window.startedAt >= progressIntervalMs) {
        logger.info('indexed', { indexer: solanaIndexer, slot: batch.toHeight, finalized: batch.finalizedHeight, blocks: window.slots, deposits: window.deposits });
        window = { startedAt: Date.now(), slots: 0, deposits: 0 };
      }
    },
  });
  logger.info('solana indexer starting', { finalityDepth: settings.finalityDepth, tokens: [...tokens.values()] });
  await follower.run();
}

export async function rewindSolanaIndexer(options: { config: Config; pool: Pool; writer: LedgerWriter; to: number }): Promise<RewindReport> {
  const rpc = solanaRpc(requireSolanaRpcUrl(options.config));
  const source = new SolanaBlockSource({ rpc, tokens: solanaTokens(options.config) });
  return rewindIndexer({ pool: options.pool, writer: options.writer, settings: { indexer: solanaIndexer, chain: 'solana' }, to: options.to, blockHashAt: (slot) => source.hashAt(slot) });
}
