// Agent wallets: an EVM address per wallet (derived like a deposit address, with coffer's own
// NEAR account as the predecessor), an owner, a versioned policy, and the freeze/lockdown
// switches. Every change is an event in wallet_events, the wallets' audit log.
import { createHmac } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { Database, Pool, PoolClient, Queryable } from '../infra/index.ts';
import { CodedError, isPgError, run, runCount, runFirst, runOne, sql, sqlBuilder, withTransaction } from '../infra/index.ts';
import { revokeWalletKeys } from '../access/index.ts';
import { chart, getBalances, listAssets, type JsonObject } from '../ledger/index.ts';
import { chainAdapter, evmChain } from '../chains/index.ts';
import { derivePublicKey, type NearNetwork } from '../signer/index.ts';
import { parsePolicy, type Policy } from './policy.ts';

const walletErrorCodes = [
  'forbidden',
  'wallet_not_found',
  'spend_not_found',
  'wallet_exists',
  'wallet_frozen',
  'approval_expired',
  'idempotency_conflict',
  'spend_not_awaiting_approval',
  'invalid_idempotency_key',
  'invalid_spend',
  'invalid_wallet_id',
  'unknown_asset',
  'user_not_found',
  'webhook_root_overlapping',
  // What the spend jobs throw so BullMQ tries again later, or an operator looks: never a client's doing.
  'approval_not_due',
  'not_confirmed',
  'webhook_failed',
  'ledger_refused',
  'spend_state_invalid',
] as const;

/** Why a wallet or spend request was refused; `api/error-codes.ts` gives each code its status. */
export class WalletError extends CodedError<(typeof walletErrorCodes)[number]> {
  static readonly codes = walletErrorCodes;
  override name = 'WalletError';
}
export type WalletErrorCode = (typeof WalletError.codes)[number];

/** 0x-prefixed hex, as the EVM spells addresses, calldata and hashes. */
export type Hex = `0x${string}`;
export type Address = Hex;

/** Agent wallets live on the EVM chain by design (ERC-20 calls, EIP-1559 gas); they reach it through its adapter. */
export const walletChain = chainAdapter(evmChain);

export interface Wallet {
  id: string;
  ownerUserId: string;
  chain: typeof evmChain;
  address: Address;
  predecessor: string;
  path: string;
  webhookUrl: string | null;
  frozenAt: Date | null;
  frozenReason: string | null;
  lockedDownAt: Date | null;
  createdAt: Date;
}

/** Where wallet keys come from: the signer's secp256k1 root and coffer's NEAR account. */
export interface WalletKeySettings {
  nearNetwork: NearNetwork;
  secp256k1Root: string;
  /** The NEAR account coffer calls the MPC signer as, for keys that are coffer's own. */
  predecessor: string;
}

const walletColumns = ['id', 'owner_user_id', 'chain', 'address', 'predecessor', 'path', 'webhook_url', 'frozen_at', 'frozen_reason', 'locked_down_at', 'created_at'] as const;
type WalletRow = Pick<Selectable<Database['wallets']>, (typeof walletColumns)[number]>;

// The table's CHECKs hold what the types say: chain = 'ethereum', address ~ '^0x[0-9a-fA-F]{40}$'.
const toWallet = (row: WalletRow): Wallet => ({
  id: row.id,
  ownerUserId: row.owner_user_id,
  chain: evmChain,
  address: row.address as Address,
  predecessor: row.predecessor,
  path: row.path,
  webhookUrl: row.webhook_url,
  frozenAt: row.frozen_at,
  frozenReason: row.frozen_reason,
  lockedDownAt: row.locked_down_at,
  createdAt: row.created_at,
});

export const walletAccounts = (id: string) => ({ pending: chart.wallet(id, 'pending'), available: chart.wallet(id, 'available'), held: chart.wallet(id, 'held') });

export async function recordWalletEvent(db: Queryable, event: { walletId: string; kind: string; actor: string; spendId?: string; detail?: JsonObject }): Promise<void> {
  await run(
    db,
    sqlBuilder.insertInto('wallet_events').values({ wallet_id: event.walletId, kind: event.kind, spend_id: event.spendId ?? null, actor: event.actor, detail: JSON.stringify(event.detail ?? {}) }),
  );
}

export async function createWallet(pool: Pool, keys: WalletKeySettings, options: { id: string; ownerUserId: string; webhookUrl?: string; actor: string }): Promise<Wallet> {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(options.id)) throw new WalletError('invalid_wallet_id', 'a wallet id is 1–63 lower-case letters, digits and dashes, starting with a letter or digit');
  const path = `wallet-${options.id}`;
  const { publicKey } = derivePublicKey({ root: keys.secp256k1Root, predecessor: keys.predecessor, path });
  const derived = { address: walletChain.address.fromPublicKey(publicKey) };
  try {
    return await withTransaction(pool, async (client) => {
      const row = await runOne(
        client,
        sqlBuilder
          .insertInto('wallets')
          .values({ id: options.id, owner_user_id: options.ownerUserId, chain: walletChain.chain, address: derived.address, predecessor: keys.predecessor, path, webhook_url: options.webhookUrl ?? null })
          .returning(walletColumns),
      );
      await recordWalletEvent(client, { walletId: options.id, kind: 'wallet.created', actor: options.actor, detail: { ownerUserId: options.ownerUserId, address: derived.address } });
      return toWallet(row);
    });
  } catch (error) {
    if (isPgError(error, '23505')) throw new WalletError('wallet_exists', `wallet ${options.id} exists already`);
    if (isPgError(error, '23503')) throw new WalletError('user_not_found', `no user ${options.ownerUserId} to own the wallet`);
    throw error;
  }
}

export async function getWallet(db: Queryable, id: string): Promise<Wallet | null> {
  const row = await runFirst(db, sqlBuilder.selectFrom('wallets').select(walletColumns).where('id', '=', id));
  return row ? toWallet(row) : null;
}

export async function requireWallet(db: Queryable, id: string): Promise<Wallet> {
  const wallet = await getWallet(db, id);
  if (!wallet) throw new WalletError('wallet_not_found', `no wallet ${id}`);
  return wallet;
}

/** The wallet row locked for the caller's transaction: spends of one wallet decide one at a time. */
export async function lockWallet(client: PoolClient, id: string): Promise<Wallet> {
  const row = await runFirst(client, sqlBuilder.selectFrom('wallets').select(walletColumns).where('id', '=', id).forUpdate());
  if (!row) throw new WalletError('wallet_not_found', `no wallet ${id}`);
  return toWallet(row);
}

export interface WalletBalance {
  asset: string;
  scale: number;
  pending: bigint;
  available: bigint;
  held: bigint;
}

export async function getWalletBalances(db: Queryable, id: string): Promise<WalletBalance[]> {
  const rows = await getBalances(db, { account: chart.walletAccounts(id) });
  const byAsset = new Map<string, WalletBalance>();
  for (const row of rows) {
    const entry = byAsset.get(row.asset) ?? { asset: row.asset, scale: row.scale, pending: 0n, available: 0n, held: 0n };
    const side = row.account.split(':')[2];
    if (side === 'pending' || side === 'available' || side === 'held') entry[side] += row.balance;
    byAsset.set(row.asset, entry);
  }
  return [...byAsset.values()].sort((a, b) => a.asset.localeCompare(b.asset));
}

export interface StoredPolicy {
  version: number;
  policy: Policy;
  createdBy: string;
  createdAt: Date;
}

export async function currentPolicy(db: Queryable, walletId: string): Promise<StoredPolicy | null> {
  const row = await runFirst(
    db,
    sqlBuilder.selectFrom('wallet_policies').select(['version', 'policy', 'created_by', 'created_at']).where('wallet_id', '=', walletId).orderBy('version', 'desc').limit(1),
  );
  if (!row) return null;
  // Stored policies were validated on the way in; parsing again fills defaults and rule ids.
  return { version: row.version, policy: parsePolicy(row.policy), createdBy: row.created_by, createdAt: row.created_at };
}

/** Validates and stores a new version; assets must be registered. Returns the stored version. */
export async function setPolicy(pool: Pool, walletId: string, input: unknown, actor: string): Promise<StoredPolicy> {
  const policy = parsePolicy(input);
  const known = new Set((await listAssets(pool)).map((a) => a.code));
  for (const rule of policy.rules) {
    const assets = rule.type === 'per_tx_cap' || rule.type === 'window_limit' ? [rule.asset] : rule.type === 'tokens' ? rule.allow : [];
    const unknown = assets.find((a) => !known.has(a));
    if (unknown) throw new WalletError('unknown_asset', `rule ${rule.id} names ${unknown}, which is not a registered asset`);
  }
  return withTransaction(pool, async (client) => {
    await lockWallet(client, walletId);
    // The wallet's row lock (above) makes max + 1 safe: versions of one wallet are taken one at a time.
    const stored = await runOne(
      client,
      sqlBuilder
        .insertInto('wallet_policies')
        .columns(['wallet_id', 'version', 'policy', 'created_by'])
        .expression(
          sqlBuilder
            .selectFrom('wallet_policies')
            .select([sql.val(walletId).as('wallet_id'), sql<number>`coalesce(max(version), 0) + 1`.as('version'), sql.val(JSON.stringify(input)).as('policy'), sql.val(actor).as('created_by')])
            .where('wallet_id', '=', walletId),
        )
        .returning(['version', 'created_at']),
    );
    await recordWalletEvent(client, { walletId, kind: 'policy.updated', actor, detail: { version: stored.version, rules: policy.rules.length } });
    return { version: stored.version, policy, createdBy: actor, createdAt: stored.created_at };
  });
}

/** Freezes the wallet (idempotent): no spend is allowed until it is unfrozen. */
export async function freezeWallet(db: Queryable, walletId: string, reason: string, actor: string): Promise<void> {
  const frozen = await runCount(db, sqlBuilder.updateTable('wallets').set({ frozen_at: sql<Date>`now()`, frozen_reason: reason }).where('id', '=', walletId).where('frozen_at', 'is', null));
  if (frozen > 0) await recordWalletEvent(db, { walletId, kind: 'wallet.frozen', actor, detail: { reason } });
}

/** Freezes the wallet and revokes every agent key of it. */
export async function lockDownWallet(db: Queryable, walletId: string, reason: string, actor: string): Promise<void> {
  await freezeWallet(db, walletId, reason, actor);
  await run(db, sqlBuilder.updateTable('wallets').set({ locked_down_at: sql<Date>`coalesce(locked_down_at, now())` }).where('id', '=', walletId));
  const revokedKeys = await revokeWalletKeys(db, walletId);
  await recordWalletEvent(db, { walletId, kind: 'wallet.locked_down', actor, detail: { reason, revokedKeys } });
}

/** Unfreezes; a locked-down wallet also needs a new agent key (the old ones stay revoked). */
export async function unfreezeWallet(pool: Pool, walletId: string, actor: string, options: { mayLiftLockdown: boolean }): Promise<Wallet> {
  return withTransaction(pool, async (client) => {
    const wallet = await lockWallet(client, walletId);
    if (wallet.lockedDownAt && !options.mayLiftLockdown) throw new WalletError('forbidden', 'a locked-down wallet is unfrozen by an operator');
    if (!wallet.frozenAt) return wallet;
    const row = await runOne(client, sqlBuilder.updateTable('wallets').set({ frozen_at: null, frozen_reason: null, locked_down_at: null }).where('id', '=', walletId).returning(walletColumns));
    await recordWalletEvent(client, { walletId, kind: 'wallet.unfrozen', actor, detail: { wasLockedDown: wallet.lockedDownAt !== null } });
    return toWallet(row);
  });
}

/**
 * The wallet's webhook signing secret: HMAC of the wallet id under coffer's webhook root. It is
 * derived, never stored, so the database cannot leak it; the owner fetches it when needed.
 */
export function webhookSecret(root: Uint8Array, walletId: string): string {
  return `whsec_${createHmac('sha256', root).update(`coffer wallet webhook v1:${walletId}`).digest('base64url')}`;
}

export async function setWebhookUrl(db: Queryable, walletId: string, url: string | null, actor: string): Promise<void> {
  await run(db, sqlBuilder.updateTable('wallets').set({ webhook_url: url }).where('id', '=', walletId));
  await recordWalletEvent(db, { walletId, kind: 'webhook.updated', actor, detail: { url } });
}

export interface WalletEvent {
  id: bigint;
  kind: string;
  spendId: string | null;
  actor: string;
  detail: JsonObject;
  at: Date;
}

export async function listWalletEvents(db: Queryable, walletId: string, options: { limit: number; before?: bigint }): Promise<WalletEvent[]> {
  let query = sqlBuilder.selectFrom('wallet_events').select(['id', 'kind', 'spend_id', 'actor', 'detail', 'at']).where('wallet_id', '=', walletId);
  if (options.before !== undefined) query = query.where('id', '<', options.before);
  const rows = await run(db, query.orderBy('id', 'desc').limit(options.limit));
  // recordWalletEvent writes only JSON objects into detail.
  return rows.map((r) => ({ id: r.id, kind: r.kind, spendId: r.spend_id, actor: r.actor, detail: r.detail as JsonObject, at: r.at }));
}
