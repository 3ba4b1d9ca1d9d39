// Users and their deposit addresses. An address is derived from the user's NEAR account (the
// predecessor) and `<chain>-1`, stored on first request and returned unchanged forever after;
// NEAR native deposits go to the user's NEAR account itself (seed 004 §3.0).
import type { Selectable } from 'kysely';
import { CodedError, enqueue, isPgError, randomId, run, runFirst, runOne, sqlBuilder, type Database, type Queryable } from '../infra/index.ts';
import { addressNetwork, chainCurve, deriveAddress, depositChains, depositsToAccount } from '../chains/index.ts';
import { assertNearAccountId, DerivationError, type BitcoinNetwork, type Curve, type NearNetwork } from '../signer/index.ts';

/** The chains a user can ask a deposit address for: every chain of the chain registry. */
export { depositChains };
export type DepositChain = string;

export class UserError extends CodedError<(typeof UserError.codes)[number]> {
  static readonly codes = ['user_exists', 'invalid_near_account', 'user_not_found', 'unknown_chain'] as const;
  override name = 'UserError';
}

export interface User {
  id: string;
  nearAccountId: string;
  isSweepEnabled: boolean;
  createdAt: Date;
}

export interface DepositAddress {
  userId: string;
  chain: DepositChain;
  network: string;
  predecessor: string;
  path: string;
  publicKey: string | null;
  address: string;
  /** For wallets and QR codes: ethereum:, bitcoin: (BIP 21), solana: (Solana Pay), near:. */
  uri: string;
  createdAt: Date;
}

/** Where addresses come from: the signer's root public keys and the networks they live on. */
export interface DerivationSettings {
  nearNetwork: NearNetwork;
  bitcoinNetwork: BitcoinNetwork;
  roots: Record<Curve, string>;
}

const userColumns = ['id', 'near_account_id', 'is_sweep_enabled', 'created_at'] as const;
const toUser = (row: { id: string; near_account_id: string; is_sweep_enabled: boolean; created_at: Date }): User => ({ id: row.id, nearAccountId: row.near_account_id, isSweepEnabled: row.is_sweep_enabled, createdAt: row.created_at });

export async function createUser(db: Queryable, options: { nearAccountId: string; isSweepEnabled?: boolean }): Promise<User> {
  try {
    assertNearAccountId(options.nearAccountId, 'nearAccountId');
  } catch (error) {
    throw new UserError('invalid_near_account', error instanceof DerivationError ? error.message : 'invalid NEAR account');
  }
  const id = randomId(16);
  try {
    const row = await runOne(db, sqlBuilder.insertInto('users').values({ id, near_account_id: options.nearAccountId, is_sweep_enabled: options.isSweepEnabled ?? true }).returning(userColumns));
    return toUser(row);
  } catch (error) {
    if (isPgError(error, '23505')) throw new UserError('user_exists', `a user with NEAR account ${options.nearAccountId} already exists`);
    throw error;
  }
}

export async function getUser(db: Queryable, id: string): Promise<User | null> {
  const row = await runFirst(db, sqlBuilder.selectFrom('users').select(userColumns).where('id', '=', id));
  return row ? toUser(row) : null;
}

/** An operator turns sweeps of the user's deposits on or off; null when there is no such user. */
export async function setSweepEnabled(db: Queryable, id: string, enabled: boolean): Promise<User | null> {
  const row = await runFirst(db, sqlBuilder.updateTable('users').set({ is_sweep_enabled: enabled }).where('id', '=', id).returning(userColumns));
  return row ? toUser(row) : null;
}

function paymentUri(chain: DepositChain, address: string): string {
  return `${chain}:${address}`;
}

const addressColumns = ['user_id', 'chain', 'network', 'predecessor', 'path', 'public_key', 'address', 'created_at'] as const;
type AddressRow = { [column in (typeof addressColumns)[number]]: Selectable<Database['deposit_addresses']>[column] };
const toAddress = (row: AddressRow): DepositAddress => ({
  userId: row.user_id,
  chain: row.chain,
  network: row.network,
  predecessor: row.predecessor,
  path: row.path,
  publicKey: row.public_key,
  address: row.address,
  uri: paymentUri(row.chain, row.address),
  createdAt: row.created_at,
});

/** The user's address on a chain: derived and stored on the first call, the stored one after. */
export async function getDepositAddress(db: Queryable, userId: string, chain: string, settings: DerivationSettings): Promise<DepositAddress> {
  if (!depositChains.includes(chain)) throw new UserError('unknown_chain', `chain must be one of ${depositChains.join(', ')}`);
  const stored = () => runFirst(db, sqlBuilder.selectFrom('deposit_addresses').select(addressColumns).where('user_id', '=', userId).where('chain', '=', chain));
  const existing = await stored();
  if (existing) return toAddress(existing);
  const user = await getUser(db, userId);
  if (!user) throw new UserError('user_not_found', `no user ${userId}`);
  let row: Omit<AddressRow, 'created_at' | 'user_id'>;
  if (depositsToAccount(chain)) {
    row = { chain, network: addressNetwork(chain, { network: settings.nearNetwork }), predecessor: user.nearAccountId, path: '', public_key: null, address: user.nearAccountId };
    // Registered on every accepted token before its address is out, so a token deposit cannot
    // bounce. Asked for first: a crash before the insert leaves only a harmless registration,
    // and the dedupe key makes the second first call one job.
    await enqueue(db, [{ queue: 'refills', name: 'near-token-storage', dedupeKey: `near-token-storage:${row.address}`, payload: { accountId: row.address } }]);
  } else {
    const derived = deriveAddress({
      chain,
      network: settings.nearNetwork,
      bitcoinNetwork: settings.bitcoinNetwork,
      predecessor: user.nearAccountId,
      path: `${chain}-1`,
      root: settings.roots[chainCurve(chain)],
    });
    row = {
      chain,
      network: derived.addressNetwork,
      predecessor: derived.predecessor,
      path: derived.path,
      public_key: derived.publicKey,
      address: derived.address,
    };
  }
  // Two first requests at once derive the same address; the second insert does nothing.
  await run(db, sqlBuilder.insertInto('deposit_addresses').values({ user_id: userId, ...row }).onConflict((conflict) => conflict.columns(['user_id', 'chain']).doNothing()));
  const written = await stored();
  if (!written) throw new Error(`the deposit address of ${userId} on ${chain} was neither written nor found`);
  return toAddress(written);
}

export { watchedDepositAddresses, depositAddressesOn, depositAddressKey, depositAddressKeys, depositAddressCount, depositAddressPredecessors, userDepositAddresses, type WatchedDepositAddress } from './watched.ts';
export { searchUsers, userSearchLimitMax, type UserWithAddresses } from './directory.ts';
