// Relayers: an EOA per relayer whose key is in the keystore, and the Defender-style credentials
// clients log in with (API key + secret → expiring access token + refresh token). Secrets and
// tokens are kept only as SHA-256 hashes; they are shown once, on creation or login.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createPublicClient, getAddress, http, type Address } from 'viem';
import { chainAdapter, evmAddressOfKey, evmChain, evmOperationalKey, type EvmOperationalKey } from '../chains/index.ts';
import { CodedError, withTransaction, type Pool, type Queryable } from '../infra/index.ts';
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

const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
export const randomId = (prefix: string, length: number) => `${prefix}${Array.from(randomBytes(length), (b) => alphabet[b % 36]).join('')}`;
export const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();

/** The relayer is EVM by nature (ERC-2771, Defender): its chain's name and fee asset come from the EVM adapter. */
export const relayChain = chainAdapter(evmChain);

/** The ledger account holding what the relayer has to pay gas (and values) with. */
export const relayerAccount = (address: string) => chart.relayer(relayChain.chain, address);

interface RelayerRow {
  id: string;
  name: string;
  chain: 'ethereum';
  chain_id: string;
  address: string;
  key_name: string;
  api_key: string;
  paused: boolean;
  min_balance: string;
  gas_price_cap: string;
  whitelist_receivers: string[] | null;
  created_at: Date;
}

const fromRow = (r: RelayerRow): Relayer => ({
  id: r.id,
  name: r.name,
  chain: r.chain,
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
  const { rows } = await db.query<RelayerRow>('SELECT * FROM relayers WHERE id = $1', [id]);
  return rows[0] ? fromRow(rows[0]) : null;
}

export async function listRelayers(db: Queryable): Promise<Relayer[]> {
  const { rows } = await db.query<RelayerRow>('SELECT * FROM relayers ORDER BY created_at, id');
  return rows.map(fromRow);
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
  const id = randomId('rl_', 16);
  const keyName = `relayer-${id.slice(3)}`;
  const stored = await keystore.create(keyName, 'secp256k1');
  const address = evmAddressOfKey(stored.publicKey);
  const apiKey = randomBytes(18).toString('base64url');
  const apiSecret = randomBytes(32).toString('base64url');
  await withTransaction(pool, async (client) => {
    await client.query(
      `INSERT INTO relayers (id, name, chain, chain_id, address, key_name, api_key, secret_hash, min_balance, gas_price_cap, whitelist_receivers)
       VALUES ($1, $2, 'ethereum', $3, $4, $5, $6, $7, $8, $9, $10)`,
      [id, options.name ?? `relayer ${id}`, chainId, address, keyName, apiKey, sha256(apiSecret), (options.minBalance ?? 0n).toString(), options.gasPriceCap.toString(), options.whitelistReceivers ?? null],
    );
    await client.query(
      `INSERT INTO refill_targets (name, chain, kind, address, account, fund_below, fund_to, daily_cap, relayer_id)
       VALUES ($1, 'ethereum', 'balance', $2, $3, $4, $5, $6, $7)`,
      [keyName, address, relayerAccount(address), options.refill.fundBelow.toString(), options.refill.fundTo.toString(), options.refill.dailyCap.toString(), id],
    );
  });
  return { relayer: (await getRelayer(pool, id))!, apiKey, apiSecret };
}

const secretMatches = (stored: Buffer, secret: string) => timingSafeEqual(stored, sha256(secret));

/** The relayer whose API key and secret these are, or null (no hint which part was wrong). */
export async function relayerByCredentials(db: Queryable, apiKey: string, secret: string): Promise<Relayer | null> {
  const { rows } = await db.query<RelayerRow & { secret_hash: Buffer }>('SELECT * FROM relayers WHERE api_key = $1', [apiKey.slice(0, 200)]);
  const row = rows[0];
  if (!row || !secretMatches(row.secret_hash, secret)) return null;
  return fromRow(row);
}

export interface Tokens {
  accessToken: string;
  refreshToken: string;
}

async function issue(db: Queryable, relayerId: string, kind: 'access' | 'refresh', ttlSeconds: number, nowMs: number): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await db.query(`INSERT INTO relayer_tokens (token_hash, relayer_id, kind, expires_at) VALUES ($1, $2, $3, $4)`, [sha256(token), relayerId, kind, new Date(nowMs + ttlSeconds * 1000)]);
  return token;
}

export interface TokenSettings {
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
}

// Token lifetimes are read from the caller's clock (`nowMs`, the relay context's in the API), not
// the database's, so a test drives a token past its TTL instead of sleeping through it.

/** /auth/login: tokens for a relayer's key and secret, or null. Expired tokens are swept here. */
export async function login(pool: Pool, credentials: { apiKey: string; secretKey: string }, settings: TokenSettings, nowMs = Date.now()): Promise<Tokens | null> {
  const relayer = await relayerByCredentials(pool, credentials.apiKey, credentials.secretKey);
  if (!relayer) return null;
  await pool.query(`DELETE FROM relayer_tokens WHERE expires_at < $1::timestamptz - interval '1 day'`, [new Date(nowMs)]);
  return {
    accessToken: await issue(pool, relayer.id, 'access', settings.accessTtlSeconds, nowMs),
    refreshToken: await issue(pool, relayer.id, 'refresh', settings.refreshTtlSeconds, nowMs),
  };
}

/** /auth/refresh-token: a new access token for a live refresh token of this relayer. */
export async function refresh(pool: Pool, credentials: { apiKey: string; secretKey: string; refreshToken: string }, settings: TokenSettings, nowMs = Date.now()): Promise<Tokens | null> {
  const relayer = await relayerByCredentials(pool, credentials.apiKey, credentials.secretKey);
  if (!relayer) return null;
  const { rows } = await pool.query('SELECT 1 FROM relayer_tokens WHERE token_hash = $1 AND relayer_id = $2 AND kind = $3 AND expires_at > $4', [sha256(credentials.refreshToken), relayer.id, 'refresh', new Date(nowMs)]);
  if (!rows[0]) return null;
  return { accessToken: await issue(pool, relayer.id, 'access', settings.accessTtlSeconds, nowMs), refreshToken: credentials.refreshToken };
}

/** The relayer an access token was issued to, 'expired' for a token past its time, or null. */
export async function relayerByAccessToken(db: Queryable, apiKey: string, token: string, nowMs = Date.now()): Promise<Relayer | 'expired' | null> {
  const { rows } = await db.query<RelayerRow & { expired: boolean }>(
    `SELECT r.*, t.expires_at <= $3 AS expired FROM relayer_tokens t JOIN relayers r ON r.id = t.relayer_id
      WHERE t.token_hash = $1 AND t.kind = 'access' AND r.api_key = $2`,
    [sha256(token), apiKey.slice(0, 200), new Date(nowMs)],
  );
  const row = rows[0];
  if (!row) return null;
  return row.expired ? 'expired' : fromRow(row);
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
