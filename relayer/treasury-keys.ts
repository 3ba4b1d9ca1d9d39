// The treasury hot wallet's keys (issue #25). Which keystore key pays refills lives in
// `treasury_keys`; the TREASURY_HOT_KEY setting names only the first one, recorded on first use.
// Each key books into its own ledger account — the first into treasury:ethereum:hot, as before
// rotation existed, each successor into treasury:ethereum:hot:<address> — so the ledger equals
// the chain per address, during a rotation and after it.
import { getAddress, type Address, type PublicClient } from 'viem';
import { run, runFirst, runCount, sqlBuilder, type Queryable } from '../infra/index.ts';
import { chart, getBalances } from '../ledger/index.ts';
import { relayChain, type OperationalKeys } from './relayers.ts';

/** The first key's account (and the one NEAR-less installs have always had). */
export const treasuryHotAccount = chart.treasuryHot(relayChain.chain);

export interface TreasuryKey {
  keyName: string;
  generation: number;
  address: Address;
  account: string;
  status: 'active' | 'draining' | 'retired';
  /** The transfer that drains this key into its successor, once signed (stored before it is broadcast). */
  drain: { nonce: bigint; amount: bigint; hash: `0x${string}`; raw: `0x${string}`; entryId: bigint | null } | null;
}

const columns = ['key_name', 'generation', 'address', 'account', 'status', 'drain_nonce', 'drain_amount', 'drain_tx_hash', 'drain_raw_tx', 'drain_entry_id'] as const;

type Row = { key_name: string; generation: number; address: string; account: string; status: string; drain_nonce: bigint | null; drain_amount: string | null; drain_tx_hash: string | null; drain_raw_tx: string | null; drain_entry_id: bigint | null };

const fromRow = (r: Row): TreasuryKey => ({
  keyName: r.key_name,
  generation: r.generation,
  address: getAddress(r.address),
  account: r.account,
  status: r.status as TreasuryKey['status'],
  drain:
    r.drain_tx_hash && r.drain_raw_tx && r.drain_amount !== null && r.drain_nonce !== null
      ? { nonce: BigInt(r.drain_nonce), amount: BigInt(r.drain_amount), hash: r.drain_tx_hash as `0x${string}`, raw: r.drain_raw_tx as `0x${string}`, entryId: r.drain_entry_id === null ? null : BigInt(r.drain_entry_id) }
      : null,
});

const keysOfChain = () => sqlBuilder.selectFrom('treasury_keys').select(columns).where('chain', '=', relayChain.chain);

async function keyWithStatus(db: Queryable, status: TreasuryKey['status']): Promise<TreasuryKey | null> {
  const row = await runFirst(db, keysOfChain().where('status', '=', status));
  return row ? fromRow(row) : null;
}

/**
 * The key refills are paid from, or null while none exists (a fresh install: `coffer treasury
 * create` makes the bootstrap key). The bootstrap key is recorded the first time it is asked for.
 */
export async function activeTreasuryKey(db: Queryable, keys: Pick<OperationalKeys, 'has' | 'get'>, bootstrapName: string): Promise<TreasuryKey | null> {
  const active = await keyWithStatus(db, 'active');
  if (active) return active;
  if (!(await keys.has(bootstrapName))) return null;
  const key = await keys.get(bootstrapName);
  // Two first uses at once: one insert wins, the other finds its row.
  await runCount(
    db,
    sqlBuilder
      .insertInto('treasury_keys')
      .values({ key_name: bootstrapName, chain: relayChain.chain, generation: 1, address: key.address, account: treasuryHotAccount, status: 'active' })
      .onConflict((conflict) => conflict.doNothing()),
  );
  return keyWithStatus(db, 'active');
}

/** The key a rotation is draining, if one is. */
export const drainingTreasuryKey = (db: Queryable): Promise<TreasuryKey | null> => keyWithStatus(db, 'draining');

export async function treasuryKeyByGeneration(db: Queryable, generation: number): Promise<TreasuryKey | null> {
  const row = await runFirst(db, keysOfChain().where('generation', '=', generation));
  return row ? fromRow(row) : null;
}

/** Every key, newest first. */
export async function listTreasuryKeys(db: Queryable): Promise<TreasuryKey[]> {
  return (await run(db, keysOfChain().orderBy('generation', 'desc'))).map(fromRow);
}

/**
 * The account a key's money is booked in, by its address: a refill settles from the key that
 * signed it, even after a rotation made another key active. An address never recorded (a refill
 * an older coffer sent before the bootstrap key was recorded) is the bootstrap key's.
 */
export async function treasuryAccountOf(db: Queryable, address: string): Promise<string> {
  const row = await runFirst(db, sqlBuilder.selectFrom('treasury_keys').select('account').where('address', '=', getAddress(address)));
  return row?.account ?? treasuryHotAccount;
}

export type TreasuryView =
  | {
      status: 'configured';
      address: Address;
      keyName: string;
      account: string;
      ledgerBalance: string;
      /** Null when the node cannot be read. */
      onChainBalance: string | null;
      /** The key a rotation is draining into this one, with its balances, until it is retired. */
      draining: { address: Address; keyName: string; account: string; ledgerBalance: string; onChainBalance: string | null } | null;
    }
  | { status: 'not_configured'; keyName: string; hint: string };

/** The treasury hot wallet as operators see it (API, console, CLI): the active key, ledger and chain, and a rotation's old key while it drains. */
export async function treasuryView(db: Queryable, refills: { client: PublicClient; keys: Pick<OperationalKeys, 'has' | 'get'>; treasuryKeyName: string }): Promise<TreasuryView> {
  const active = await activeTreasuryKey(db, refills.keys, refills.treasuryKeyName);
  if (!active) return treasuryNotConfigured(refills.treasuryKeyName);
  const balances = async (key: TreasuryKey) => ({
    address: key.address,
    keyName: key.keyName,
    account: key.account,
    ledgerBalance: ((await getBalances(db, { account: key.account, asset: relayChain.nativeAsset.code }))[0]?.balance ?? 0n).toString(),
    onChainBalance: await refills.client.getBalance({ address: key.address }).then((b) => b.toString(), () => null),
  });
  const draining = await drainingTreasuryKey(db);
  return { status: 'configured', ...(await balances(active)), draining: draining ? await balances(draining) : null };
}

/** Not set up yet (a fresh install, the demo) is a state, not an error. */
export const treasuryNotConfigured = (keyName: string): { status: 'not_configured'; keyName: string; hint: string } => ({
  status: 'not_configured',
  keyName,
  hint: `no key named ${keyName} in the keystore (TREASURY_HOT_KEY); create it with 'coffer treasury create', then fund it`,
});
