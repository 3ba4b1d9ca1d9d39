// Relayers: an EOA per relayer whose key is in the keystore, and the Defender-style credentials
// clients log in with (API key + secret → expiring access token + refresh token). Secrets and
// tokens are kept only as SHA-256 hashes; they are shown once, on creation or login.
import { createHash } from 'node:crypto';
import { createPublicClient, getAddress, http, type Address } from 'viem';
import { chainAdapter, evmAddressOfKey, evmChain, evmOperationalKey, type EvmOperationalKey } from '../chains/index.ts';
import type { Selectable } from 'kysely';
import { CodedError, randomId, randomSecret, run, runFirst, secretHash, secretMatches, sqlBuilder, withTransaction, type Database, type Pool, type Queryable } from '../infra/index.ts';
import { chart } from '../ledger/index.ts';
import { OperationalKey, type Keystore } from '../signer/index.ts';

const relayErrorCodes = [
  'invalid_request',
  'invalid_signature',
  'invalid_target',
  'invalid_refill',
  'deadline_too_soon',
  'gas_too_high',
  'insufficient_funds',
  'not_a_funding',
  'not_mined',
  'receiver_not_allowed',
  'relayer_paused',
  'replacement_underpriced',
  'unsupported_chain',
  'value_not_sponsored',
  'target_not_allowed',
  'at_gas_price_cap',
  'nonce_taken',
  'nonce_used',
  'transaction_final',
  'no_relayer',
  'relayer_not_found',
  'rotation_in_progress',
  'refill_in_flight',
  'treasury_not_configured',
  'treasury_unbooked',
] as const;

/** Why the relayer refused a request. The codes are part of the Defender-compatible API: `api/error-codes.ts` gives each its status. */
export class RelayError extends CodedError<(typeof relayErrorCodes)[number]> {
  static readonly codes = relayErrorCodes;
  override name = 'RelayError';
}
export type RelayErrorCode = (typeof RelayError.codes)[number];

export interface Relayer {
  id: string;
  name: string;
  chain: 'ethereum';
  chainId: number;
  address: Address;
  keyName: string;
  apiKey: string;
  paused: boolean;
  minBalance: bigint;
  gasPriceCap: bigint;
  whitelistReceivers: Address[] | null;
  createdAt: Date;
}

export const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();

/** The relayer is EVM by nature (ERC-2771, Defender): its chain's name and fee asset come from the EVM adapter. */
export const relayChain = chainAdapter(evmChain);

/** The ledger account holding what the relayer has to pay gas (and values) with. */
export const relayerAccount = (address: string) => chart.relayer(relayChain.chain, address);

/** Every column a Relayer is made of; the secret's hash is read only where credentials are checked. */
const relayerColumns = ['id', 'name', 'chain', 'chain_id', 'address', 'key_name', 'api_key', 'paused', 'min_balance', 'gas_price_cap', 'whitelist_receivers', 'created_at'] as const;
type RelayerRow = Pick<Selectable<Database['relayers']>, (typeof relayerColumns)[number]>;
const relayerQualified = relayerColumns.map((column) => `r.${column}` as const);

const fromRow = (r: RelayerRow): Relayer => ({
  id: r.id,
  name: r.name,
  chain: r.chain as Relayer['chain'],
  chainId: Number(r.chain_id),
  address: getAddress(r.address),
  keyName: r.key_name,
  apiKey: r.api_key,
  paused: r.paused,
  minBalance: BigInt(r.min_balance),
  gasPriceCap: BigInt(r.gas_price_cap),
  whitelistReceivers: r.whitelist_receivers?.map((a) => getAddress(a)) ?? null,
  createdAt: r.created_at,
});

export async function getRelayer(db: Queryable, id: string): Promise<Relayer | null> {
  const row = await runFirst(db, sqlBuilder.selectFrom('relayers').select(relayerColumns).where('id', '=', id));
  return row ? fromRow(row) : null;
}

export async function listRelayers(db: Queryable): Promise<Relayer[]> {
  return (await run(db, sqlBuilder.selectFrom('relayers').select(relayerColumns).orderBy('created_at').orderBy('id'))).map(fromRow);
}

export interface CreateRelayerOptions {
  chain: string;
  name?: string;
  rpcUrl: string;
  gasPriceCap: bigint;
  minBalance?: bigint;
  whitelistReceivers?: Address[];
  /** The refill target created with the relayer: its EOA is kept between these. */
  refill: { fundBelow: bigint; fundTo: bigint; dailyCap: bigint };
}

/**
 * A new relayer: a fresh key in the keystore, an API key and secret (returned once), and a
 * refill target for its EOA. Only EVM chains (ethereum) have relayers.
 */
export async function createRelayer(pool: Pool, keystore: Keystore, options: CreateRelayerOptions): Promise<{ relayer: Relayer; apiKey: string; apiSecret: string }> {
  if (options.chain !== 'ethereum') throw new RelayError('unsupported_chain', `relayers run on EVM chains; "${options.chain.slice(0, 40)}" is not one (use ethereum)`);
  if (options.refill.fundTo <= options.refill.fundBelow) throw new RelayError('invalid_refill', 'fund_to must be above fund_below');
  const chainId = await createPublicClient({ transport: http(options.rpcUrl, { retryCount: 1, timeout: 10_000 }) }).getChainId();
  const id = randomId(16, 'rl_');
  const keyName = `relayer-${id.slice(3)}`;
  const stored = await keystore.create(keyName, 'secp256k1');
  const address = evmAddressOfKey(stored.publicKey);
  const apiKey = randomSecret(18);
  const apiSecret = randomSecret();
  await withTransaction(pool, async (client) => {
    await run(
      client,
      sqlBuilder.insertInto('relayers').values({
        id,
        name: options.name ?? `relayer ${id}`,
        chain: relayChain.chain,
        chain_id: BigInt(chainId),
        address,
        key_name: keyName,
        api_key: apiKey,
        secret_hash: secretHash(apiSecret),
        min_balance: options.minBalance ?? 0n,
        gas_price_cap: options.gasPriceCap,
        whitelist_receivers: options.whitelistReceivers ?? null,
      }),
    );
    await run(
      client,
      sqlBuilder.insertInto('refill_targets').values({
        name: keyName,
        chain: relayChain.chain,
        kind: 'balance',
        address,
        account: relayerAccount(address),
        fund_below: options.refill.fundBelow,
        fund_to: options.refill.fundTo,
        daily_cap: options.refill.dailyCap,
        relayer_id: id,
      }),
    );
  });
  return { relayer: (await getRelayer(pool, id))!, apiKey, apiSecret };
}

/** The relayer whose API key and secret these are, or null (no hint which part was wrong). */
export async function relayerByCredentials(db: Queryable, apiKey: string, secret: string): Promise<Relayer | null> {
  const row = await runFirst(db, sqlBuilder.selectFrom('relayers').select([...relayerColumns, 'secret_hash']).where('api_key', '=', apiKey.slice(0, 200)));
  if (!row || !secretMatches(row.secret_hash, secret)) return null;
  return fromRow(row);
}

export interface Tokens {
  accessToken: string;
  refreshToken: string;
}

async function issue(db: Queryable, relayerId: string, kind: 'access' | 'refresh', ttlSeconds: number, nowMs: number): Promise<string> {
  const token = randomSecret();
  await run(db, sqlBuilder.insertInto('relayer_tokens').values({ token_hash: secretHash(token), relayer_id: relayerId, kind, expires_at: new Date(nowMs + ttlSeconds * 1000) }));
  return token;
}

export interface TokenSettings {
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
}

/** How long past its expiry a token row stays before a login sweeps it. */
const tokenSweepAfterMs = 86_400_000;

// Token lifetimes are read from the caller's clock (`nowMs`, the relay context's in the API), not
// the database's, so a test drives a token past its TTL instead of sleeping through it.

/** /auth/login: tokens for a relayer's key and secret, or null. Expired tokens are swept here. */
export async function login(pool: Pool, credentials: { apiKey: string; secretKey: string }, settings: TokenSettings, nowMs = Date.now()): Promise<Tokens | null> {
  const relayer = await relayerByCredentials(pool, credentials.apiKey, credentials.secretKey);
  if (!relayer) return null;
  await run(pool, sqlBuilder.deleteFrom('relayer_tokens').where('expires_at', '<', new Date(nowMs - tokenSweepAfterMs)));
  return {
    accessToken: await issue(pool, relayer.id, 'access', settings.accessTtlSeconds, nowMs),
    refreshToken: await issue(pool, relayer.id, 'refresh', settings.refreshTtlSeconds, nowMs),
  };
}

/** /auth/refresh-token: a new access token for a live refresh token of this relayer. */
export async function refresh(pool: Pool, credentials: { apiKey: string; secretKey: string; refreshToken: string }, settings: TokenSettings, nowMs = Date.now()): Promise<Tokens | null> {
  const relayer = await relayerByCredentials(pool, credentials.apiKey, credentials.secretKey);
  if (!relayer) return null;
  const live = await runFirst(
    pool,
    sqlBuilder
      .selectFrom('relayer_tokens')
      .select('relayer_id')
      .where('token_hash', '=', secretHash(credentials.refreshToken))
      .where('relayer_id', '=', relayer.id)
      .where('kind', '=', 'refresh')
      .where('expires_at', '>', new Date(nowMs)),
  );
  if (!live) return null;
  return { accessToken: await issue(pool, relayer.id, 'access', settings.accessTtlSeconds, nowMs), refreshToken: credentials.refreshToken };
}

/** The relayer an access token was issued to, 'expired' for a token past its time, or null. */
export async function relayerByAccessToken(db: Queryable, apiKey: string, token: string, nowMs = Date.now()): Promise<Relayer | 'expired' | null> {
  const row = await runFirst(
    db,
    sqlBuilder
      .selectFrom('relayer_tokens as t')
      .innerJoin('relayers as r', 'r.id', 't.relayer_id')
      .select([...relayerQualified, 't.expires_at'])
      .where('t.token_hash', '=', secretHash(token))
      .where('t.kind', '=', 'access')
      .where('r.api_key', '=', apiKey.slice(0, 200)),
  );
  if (!row) return null;
  return row.expires_at.getTime() <= nowMs ? 'expired' : fromRow(row);
}

/** Operational keys opened from the keystore once per process (Argon2id is slow on purpose). */
export class OperationalKeys {
  private readonly keystore: Keystore;
  private readonly opened = new Map<string, Promise<EvmOperationalKey>>();
  constructor(keystore: Keystore) {
    this.keystore = keystore;
  }
  /** Whether the keystore holds this key (a treasury not set up yet is a state, not an error). */
  has(name: string): Promise<boolean> {
    return this.keystore.has(name);
  }
  /** Opens the key, creating it first when the keystore has none by this name: a rotation's successor, which a rerun finds again. */
  async ensure(name: string): Promise<EvmOperationalKey> {
    if (!(await this.keystore.has(name))) await this.keystore.create(name, 'secp256k1');
    return this.get(name);
  }
  get(name: string): Promise<EvmOperationalKey> {
    let key = this.opened.get(name);
    if (!key) {
      key = this.keystore.load(name).then((stored) => evmOperationalKey(new OperationalKey(stored)));
      key.catch(() => this.opened.delete(name));
      this.opened.set(name, key);
    }
    return key;
  }
}
