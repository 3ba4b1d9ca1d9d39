// One NEAR indexer process (`coffer indexer run --chain near`): the chain follower over the NEAR
// block source, with accepted NEP-141 tokens registered as assets first (scale from `ft_metadata`).
import type { Config, Logger, Pool, Queryable } from '../../infra/index.ts';
import { ChainError } from '../../chains/index.ts';
import { ConfigError, createPool } from '../../infra/index.ts';
import { LedgerWriter, registerAsset, type Asset } from '../../ledger/index.ts';
import { watchedDepositAddresses } from '../../users/index.ts';
import { watchedWalletAddresses } from '../../wallets/index.ts';
import { ChainFollower, rewindIndexer, type FollowSettings, type RewindReport } from '../core/index.ts';
import { nearRpc, type NearRpc } from './rpc.ts';
import { NearBlockSource } from './source.ts';

export const nearIndexer = 'near';
/** Blocks between the head and `final` on NEAR (doomslug plus one); shown as the finality depth. */
const nearFinalityBlocks = 2;
const batchBlocksMax = 500;

/** `NEAR_START_BLOCK` counts on a fresh database only: the cursor, once made, says where to go on. */
export function nearSettings(config: Pick<Config, 'NEAR_POLL_INTERVAL_MS'> & Partial<Pick<Config, 'NEAR_START_BLOCK'>>): FollowSettings {
  return {
    indexer: nearIndexer,
    chain: 'near',
    finalityDepth: nearFinalityBlocks,
    startBlock: config.NEAR_START_BLOCK ?? 0,
    caseInsensitiveAddresses: false,
    batchBlocksMax,
    pollIntervalMs: config.NEAR_POLL_INTERVAL_MS,
  };
}

export function requireNearRpcUrl(config: Pick<Config, 'NEAR_RPC_URL'>): string {
  if (!config.NEAR_RPC_URL) throw new ConfigError('NEAR_RPC_URL is not set: the near indexer needs the NEAR JSON-RPC URL of the chain it follows');
  return config.NEAR_RPC_URL;
}

/** `USDC=usdc.devnet,…` → contract → code. */
export function parseNearTokens(text: string | undefined): Map<string, string> {
  const tokens = new Map<string, string>();
  for (const pair of (text ?? '').split(',').filter(Boolean)) {
    const [code, contract] = pair.split('=') as [string, string];
    tokens.set(contract, code);
  }
  return tokens;
}

/** Registers each accepted token with the scale its contract states (`ft_metadata.decimals`). */
export async function registerNearTokens(db: Queryable, rpc: NearRpc, tokens: ReadonlyMap<string, string>): Promise<Asset[]> {
  const assets: Asset[] = [];
  for (const [contract, code] of tokens) {
    const answer = await rpc<{ result: number[] }>('query', { request_type: 'call_function', account_id: contract, method_name: 'ft_metadata', args_base64: '', finality: 'final' });
    const metadata = JSON.parse(Buffer.from(answer.result).toString('utf8')) as { decimals?: unknown };
    if (typeof metadata.decimals !== 'number') throw new ChainError('unsupported_asset', `the token ${contract} (${code}) states no decimals in ft_metadata`);
    assets.push(await registerAsset(db, { code, scale: metadata.decimals, chain: 'near', contract }));
  }
  return assets;
}

/** Users' NEAR accounts and NEAR agent wallets among `accountIds`, read through users/ and wallets/. */
export function watchedNearAccounts(db: Queryable): (accountIds: string[]) => Promise<ReadonlySet<string>> {
  return async (accountIds) => {
    const [users, wallets] = await Promise.all([watchedDepositAddresses(db, 'near', accountIds), watchedWalletAddresses(db, 'near', accountIds)]);
    return new Set([...users, ...wallets].map((row) => row.address));
  };
}

export async function createNearFollower(options: { pool: Pool; writer: LedgerWriter; config: Config; logger: Logger; onBatch?: ConstructorParameters<typeof ChainFollower>[0]['onBatch'] }): Promise<ChainFollower> {
  const { pool, writer, config, logger } = options;
  const rpc = nearRpc(requireNearRpcUrl(config));
  const tokens = parseNearTokens(config.NEAR_TOKENS);
  await registerNearTokens(pool, rpc, tokens);
  const source = new NearBlockSource({ rpc, tokens, watched: watchedNearAccounts(pool), ownSigners: new Set([config.COFFER_NEAR_ACCOUNT]) });
  return new ChainFollower({ pool, writer, source, settings: nearSettings(config), logger, ...(options.onBatch ? { onBatch: options.onBatch } : {}) });
}

/** Follows the chain until the process ends. */
export async function runNearIndexer(config: Config, logger: Logger): Promise<void> {
  const pool = createPool({ connectionString: config.DATABASE_URL, max: 4, applicationName: `coffer-indexer-${nearIndexer}` });
  const writer = new LedgerWriter({ pool, logger });
  const follower = await createNearFollower({
    pool,
    writer,
    config,
    logger,
    onBatch: (batch) => {
      if (batch.deposits || batch.confirmed || batch.reversed) logger.info('deposits', { indexer: nearIndexer, block: batch.toHeight, new: batch.deposits, confirmed: batch.confirmed, reversed: batch.reversed });
    },
  });
  logger.info('near indexer starting', { tokens: config.NEAR_TOKENS ?? '' });
  await follower.run();
}

export function rewindNearIndexer(options: { config: Config; pool: Pool; writer: LedgerWriter; to: number }): Promise<RewindReport> {
  const source = new NearBlockSource({ rpc: nearRpc(requireNearRpcUrl(options.config)), tokens: new Map(), watched: () => Promise.resolve(new Set()) });
  return rewindIndexer({ pool: options.pool, writer: options.writer, settings: { indexer: nearIndexer, chain: 'near' }, to: options.to, blockHashAt: (height) => source.hashAt(height) });
}
