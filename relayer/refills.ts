// EVM refills (NEAR's: sweeps/near-operations.ts): a repeatable job (every REFILL_INTERVAL_SECONDS)
// keeps operational balances between fund_below and fund_to — relayer EOAs, the bundler's EOA
// (a transfer) and the paymaster's deposit at the ERC-4337 EntryPoint (`depositTo`) — paid from
// the treasury hot wallet (a keystore key). At most one refill per target is in flight, at most daily_cap per target per
// UTC day, and never more than the treasury's ledger balance after what is in flight. When the
// treasury itself is low an alert goes out (a log line, and a signed webhook if configured).
//
// The hot wallet's key is rotatable (treasury-rotation.ts): the key that pays is the active one in
// `treasury_keys` (treasury-keys.ts), and each key books into its own treasury account.
//
// Ledger:  treasury.funded  world:ethereum → the receiving key's treasury account (money sent to the hot wallet, recorded by an operator)
//          refill.settled   the paying key's treasury account → <target account> (amount), → fees:ethereum (gas)
import { createHmac } from 'node:crypto';
import { encodeFunctionData, getAddress, parseAbi, type Address, type Hex, type PublicClient, type TransactionSerializableEIP1559 } from 'viem';
import { broadcastStored, signEvmTransactionWithKey } from '../chains/index.ts';
import type { Selectable } from 'kysely';
import { run, runFirst, runOne, sql, sqlBuilder, withTransaction, type Alerts, type Database, type Logger, type Pool, type Queryable } from '../infra/index.ts';
import { accountBalance, chart, relayEntryKinds, type LedgerWriter, type PostingInput, assertAppended } from '../ledger/index.ts';
import { RelayError, relayChain, type OperationalKeys } from './relayers.ts';
import { activeTreasuryKey, drainingTreasuryKey, treasuryAccountOf, treasuryNotConfigured, type TreasuryKey } from './treasury-keys.ts';
export const entryPointAbi = parseAbi(['function depositTo(address account) payable', 'function balanceOf(address account) view returns (uint256)']);

export interface RefillContext {
  pool: Pool;
  writer: LedgerWriter;
  logger: Logger;
  client: PublicClient;
  keys: OperationalKeys;
  /** The first treasury key's name (TREASURY_HOT_KEY); after that, `treasury_keys` says which key pays. */
  treasuryKeyName: string;
  treasuryLowBelow: bigint;
  /** Fires once per condition: a target below its threshold, a daily cap reached, the treasury low. */
  alerts?: Alerts;
  /** How long a pass waits for its refill to be mined before leaving it to the next pass. */
  confirmTimeoutMs?: number;
}

export interface RefillTarget {
  name: string;
  kind: 'balance' | 'entrypoint-deposit';
  address: Address;
  entryPoint: Address | null;
  account: string;
  fundBelow: bigint;
  fundTo: bigint;
  dailyCap: bigint;
  relayerId: string | null;
}

type TargetRow = Selectable<Database['refill_targets']>;

const targetFromRow = (r: TargetRow): RefillTarget => ({
  name: r.name,
  kind: r.kind as RefillTarget['kind'],
  address: getAddress(r.address),
  entryPoint: r.entry_point ? getAddress(r.entry_point) : null,
  account: r.account,
  fundBelow: BigInt(r.fund_below),
  fundTo: BigInt(r.fund_to),
  dailyCap: BigInt(r.daily_cap),
  relayerId: r.relayer_id,
});

export async function listRefillTargets(db: Queryable): Promise<RefillTarget[]> {
  return (await run(db, sqlBuilder.selectFrom('refill_targets').selectAll().where('chain', '=', relayChain.chain).orderBy('name'))).map(targetFromRow);
}

/** A refill target of any chain, as operators see it: EVM addresses checksummed, other chains' ids as stored. */
export interface RefillTargetOfChain extends Omit<RefillTarget, 'address' | 'entryPoint'> {
  chain: string;
  address: string;
  entryPoint: string | null;
}

/** Every chain's refill targets (EVM relayers and operations, NEAR signing funds), by chain then name. */
export async function listRefillTargetsOfEveryChain(db: Queryable): Promise<RefillTargetOfChain[]> {
  const rows = await run(db, sqlBuilder.selectFrom('refill_targets').select(['chain', 'name', 'kind', 'address', 'entry_point', 'account', 'relayer_id', 'fund_below', 'fund_to', 'daily_cap']).orderBy('chain').orderBy('name'));
  return rows.map((r) => {
    const evm = r.chain === relayChain.chain;
    return {
      chain: r.chain,
      name: r.name,
      kind: r.kind as RefillTarget['kind'],
      address: evm ? getAddress(r.address) : r.address,
      entryPoint: r.entry_point && evm ? getAddress(r.entry_point) : r.entry_point,
      account: r.account,
      fundBelow: BigInt(r.fund_below),
      fundTo: BigInt(r.fund_to),
      dailyCap: BigInt(r.daily_cap),
      relayerId: r.relayer_id,
    };
  });
}

/** Adds or changes a target (the bundler EOA, the paymaster deposit); relayers get theirs when created. */
export async function setRefillTarget(db: Queryable, target: Omit<RefillTarget, 'relayerId' | 'account'> & { account?: string }): Promise<RefillTarget> {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(target.name)) throw new RelayError('invalid_target', 'a target name is lower-case letters, digits and -');
  if (target.fundTo <= target.fundBelow) throw new RelayError('invalid_target', 'fund_to must be above fund_below');
  if (target.dailyCap <= 0n || target.fundBelow <= 0n) throw new RelayError('invalid_target', 'fund_below and daily_cap must be positive');
  if ((target.kind === 'entrypoint-deposit') !== (target.entryPoint !== null)) throw new RelayError('invalid_target', 'an entrypoint-deposit target names its EntryPoint, and only it');
  const account = target.account ?? chart.operations(relayChain.chain, target.name);
  const row = await runOne(
    db,
    sqlBuilder
      .insertInto('refill_targets')
      .values({
        name: target.name,
        chain: relayChain.chain,
        kind: target.kind,
        address: getAddress(target.address),
        entry_point: target.entryPoint,
        account,
        fund_below: target.fundBelow,
        fund_to: target.fundTo,
        daily_cap: target.dailyCap,
      })
      // The account stays what it was: entries already booked there.
      .onConflict((conflict) =>
        conflict.column('name').doUpdateSet((eb) => ({
          kind: eb.ref('excluded.kind'),
          address: eb.ref('excluded.address'),
          entry_point: eb.ref('excluded.entry_point'),
          fund_below: eb.ref('excluded.fund_below'),
          fund_to: eb.ref('excluded.fund_to'),
          daily_cap: eb.ref('excluded.daily_cap'),
          updated_at: sql<Date>`now()`,
        })),
      )
      .returningAll(),
  );
  return targetFromRow(row);
}

const ledgerBalance = (db: Queryable, account: string): Promise<bigint> => accountBalance(db, account, relayChain.nativeAsset.code);

/** What the target holds now: an EOA's balance, or the paymaster's deposit at the EntryPoint. */
export function targetBalance(client: PublicClient, target: RefillTarget): Promise<bigint> {
  return target.kind === 'balance'
    ? client.getBalance({ address: target.address })
    : client.readContract({ address: target.entryPoint!, abi: entryPointAbi, functionName: 'balanceOf', args: [target.address] });
}

/**
 * Books money an operator sent to the treasury hot wallet: the transaction must be mined,
 * successful and pay the active key, or the key a rotation is draining (whose drain then moves
 * it on). Recording it twice is one entry.
 */
export async function recordTreasuryFunding(ctx: Pick<RefillContext, 'pool' | 'writer' | 'client' | 'keys' | 'treasuryKeyName'>, txHash: Hex): Promise<{ amount: bigint; entryId: bigint; account: string }> {
  const active = await activeTreasuryKey(ctx.pool, ctx.keys, ctx.treasuryKeyName);
  if (!active) throw new RelayError('treasury_not_configured', treasuryNotConfigured(ctx.treasuryKeyName).hint);
  const receipt = await ctx.client.getTransactionReceipt({ hash: txHash }).catch(() => null);
  if (!receipt || receipt.status !== 'success') throw new RelayError('not_mined', `${txHash} is not a successful mined transaction on this chain`);
  const tx = await ctx.client.getTransaction({ hash: txHash });
  const draining = await drainingTreasuryKey(ctx.pool);
  const paid = [active, draining].find((k) => k && tx.to?.toLowerCase() === k.address.toLowerCase());
  if (!paid || tx.value === 0n) throw new RelayError('not_a_funding', `${txHash} does not send ETH to the treasury hot wallet ${active.address}`);
  const key = `ethereum:${txHash}:0:treasury.funded`;
  const result = await ctx.writer.append({
    kind: relayEntryKinds.treasuryFunded,
    idempotencyKey: key,
    sourceRef: txHash,
    metadata: { hash: txHash, from: tx.from, blockNumber: receipt.blockNumber.toString() },
    postings: [{ source: chart.world(relayChain.chain), destination: paid.account, asset: relayChain.nativeAsset.code, amount: tx.value }],
  });
  assertAppended(result, key);
  return { amount: tx.value, entryId: result.entry.id, account: paid.account };
}

export type RefillRow = Selectable<Database['refills']>;

/** The treasury hot wallet as a refill pass saw it. Not set up yet (a fresh install, the demo) is a state, not an error. */
export type TreasuryHotState = { status: 'configured'; address: Address; account: string; ledgerBalance: string; low: boolean } | ReturnType<typeof treasuryNotConfigured>;

export interface RefillOutcome {
  targets: { name: string; balance: string; action: 'ok' | 'refilled' | 'in_flight' | 'daily_cap_reached' | 'treasury_short' | 'unreadable'; amount?: string }[];
  treasury: TreasuryHotState;
}

const passLock = 'refill-pass';
/** Held while a refill is signed and stored, and by a treasury key rotation's switch. */
export const refillSubmitLock = 'refill-submit';

/** One pass over every target. Null when another worker's pass is running. */
export async function refillPass(ctx: RefillContext): Promise<RefillOutcome | null> {
  const lock = await ctx.pool.connect();
  try {
    const { ok } = await runOne(lock, sql<{ ok: boolean }>`SELECT pg_try_advisory_lock(hashtext(${passLock})) AS ok`);
    if (!ok) return null;
    try {
      return await pass(ctx);
    } finally {
      await run(lock, sql`SELECT pg_advisory_unlock(hashtext(${passLock}))`);
    }
  } finally {
    lock.release();
  }
}

async function pass(ctx: RefillContext): Promise<RefillOutcome> {
  const active = await activeTreasuryKey(ctx.pool, ctx.keys, ctx.treasuryKeyName);
  if (!active) {
    const treasury = treasuryNotConfigured(ctx.treasuryKeyName);
    ctx.logger.info('refill pass skipped: the treasury hot wallet is not configured', treasury);
    return { targets: [], treasury };
  }
  const hot = await ctx.keys.get(active.keyName);
  const open = await run(
    ctx.pool,
    sqlBuilder.selectFrom('refills as r').innerJoin('refill_targets as t', 't.name', 'r.target').selectAll('r').where('t.chain', '=', relayChain.chain).where('r.status', '=', 'submitted').orderBy('r.id'),
  );
  for (const row of open) await follow(ctx, row, 0);
  const treasuryState = { status: 'configured' as const, address: hot.address, account: active.account, ledgerBalance: '0', low: false };
  const outcome: RefillOutcome = { targets: [], treasury: treasuryState };
  for (const target of await listRefillTargets(ctx.pool)) {
    let balance: bigint;
    try {
      balance = await targetBalance(ctx.client, target);
    } catch (error) {
      ctx.logger.warn('refill: cannot read a target balance', { target: target.name, error: error instanceof Error ? error.message : String(error) });
      outcome.targets.push({ name: target.name, balance: '?', action: 'unreadable' });
      continue;
    }
    const line = { name: target.name, balance: balance.toString() };
    const inFlight = await runFirst(ctx.pool, sqlBuilder.selectFrom('refills').select('id').where('target', '=', target.name).where('status', '=', 'submitted'));
    if (inFlight) {
      outcome.targets.push({ ...line, action: 'in_flight' });
      continue;
    }
    if (balance >= target.fundBelow) {
      outcome.targets.push({ ...line, action: 'ok' });
      continue;
    }
    const room = target.dailyCap - ((await refilledToday(ctx.pool)).get(target.name) ?? 0n);
    const want = target.fundTo - balance;
    const amount = want < room ? want : room;
    if (amount <= 0n) {
      ctx.logger.warn('refill: daily cap reached; target stays below its threshold', { target: target.name, balance: balance.toString(), dailyCap: target.dailyCap.toString() });
      outcome.targets.push({ ...line, action: 'daily_cap_reached' });
      continue;
    }
    const submitted = await submit(ctx, active, target, amount, balance);
    if (!submitted) {
      outcome.targets.push({ ...line, action: 'treasury_short', amount: amount.toString() });
      continue;
    }
    await follow(ctx, submitted, ctx.confirmTimeoutMs ?? 30_000);
    outcome.targets.push({ ...line, action: 'refilled', amount: amount.toString() });
  }
  const treasury = await ledgerBalance(ctx.pool, active.account);
  treasuryState.ledgerBalance = treasury.toString();
  // While a rotation drains the old key, the new one is short until the drain lands: not an alert.
  const rotating = (await drainingTreasuryKey(ctx.pool)) !== null;
  if (!rotating && (treasury < ctx.treasuryLowBelow || outcome.targets.some((t) => t.action === 'treasury_short'))) {
    treasuryState.low = true;
    ctx.logger.error('the treasury hot wallet is low', { address: hot.address, ledgerBalance: treasury.toString() });
    await ctx.alerts?.raise('treasury.low', { subject: hot.address, detail: { ledgerBalance: treasury.toString(), threshold: ctx.treasuryLowBelow.toString(), short: outcome.targets.filter((t) => t.action === 'treasury_short').map((t) => t.name) } });
  } else {
    await ctx.alerts?.clear('treasury.low', hot.address);
  }
  await alertTargets(ctx, outcome);
  return outcome;
}

async function submit(ctx: RefillContext, payer: TreasuryKey, target: RefillTarget, amount: bigint, balanceBefore: bigint): Promise<RefillRow | null> {
  const data = target.kind === 'entrypoint-deposit' ? encodeFunctionData({ abi: entryPointAbi, functionName: 'depositTo', args: [target.address] }) : undefined;
  const to = target.kind === 'entrypoint-deposit' ? target.entryPoint! : target.address;
  const gas = target.kind === 'balance' ? 21_000n : ((await ctx.client.estimateGas({ account: payer.address, to, data, value: amount })) * 12n) / 10n;
  const fees = await ctx.client.estimateFeesPerGas();
  // Refills should not wait behind a fee spike: twice the market, as Alto and Rundler price theirs.
  const maxFeePerGas = fees.maxFeePerGas * 2n;
  const maxPriorityFeePerGas = fees.maxPriorityFeePerGas * 2n;
  return withTransaction(ctx.pool, async (client) => {
    // Serialized with other refills' bookkeeping (the treasury check counts what is in flight) and
    // with a treasury key rotation's switch: a refill is signed by the key active at its commit.
    await run(client, sql`SELECT pg_advisory_xact_lock(hashtext(${refillSubmitLock}))`);
    const current = await activeTreasuryKey(client, ctx.keys, ctx.treasuryKeyName);
    if (current?.keyName !== payer.keyName) {
      ctx.logger.info('refill: the treasury key was rotated during the pass; the next pass pays from the new key', { target: target.name });
      return null;
    }
    const hot = await ctx.keys.get(payer.keyName);
    const { reserved } = await runOne(
      client,
      sqlBuilder
        .selectFrom('refills')
        .select(sql<string>`coalesce(sum(amount), 0)::text`.as('reserved'))
        .where('status', '=', 'submitted')
        .where('from_address', '=', payer.address),
    );
    // In flight first: a refill settling between the two reads then counts twice, never not at all.
    const available = (await ledgerBalance(client, payer.account)) - BigInt(reserved);
    const cost = amount + gas * maxFeePerGas;
    if (available < cost) {
      ctx.logger.error('refill: the treasury hot wallet cannot pay this refill', { target: target.name, amount: amount.toString(), available: available.toString() });
      return null;
    }
    const nonce = await ctx.client.getTransactionCount({ address: hot.address, blockTag: 'pending' });
    const tx: TransactionSerializableEIP1559 = { type: 'eip1559', chainId: await ctx.client.getChainId(), nonce, to, value: amount, data, gas, maxFeePerGas, maxPriorityFeePerGas };
    const signed = signEvmTransactionWithKey(hot, tx);
    const row = await runOne(
      client,
      sqlBuilder
        .insertInto('refills')
        .values({ target: target.name, amount, balance_before: balanceBefore, status: 'submitted', from_address: hot.address, nonce: BigInt(nonce), tx_hash: signed.hash, raw_tx: signed.raw })
        .returningAll(),
    );
    ctx.logger.info('refill: sending', { target: target.name, amount: amount.toString(), hash: signed.hash });
    return row;
  });
}

/** Broadcasts (again) and, once mined, books the refill. Unmined after `waitMs`: the next pass looks again. */
export async function follow(ctx: RefillContext, row: RefillRow, waitMs: number): Promise<void> {
  const hash = row.tx_hash as Hex;
  const sent = await broadcastStored(ctx.client, row.raw_tx as Hex, hash);
  if (sent.status === 'refused') {
    await run(
      ctx.pool,
      sqlBuilder.updateTable('refills').set({ status: 'failed', status_reason: sent.message.slice(0, 300), settled_at: sql<Date>`now()` }).where('id', '=', row.id).where('status', '=', 'submitted'),
    );
    ctx.logger.error('refill: the node refused it', { refill: String(row.id), target: row.target, error: sent.message.slice(0, 300) });
    return;
  }
  const deadline = Date.now() + waitMs;
  for (;;) {
    const receipt = await ctx.client.getTransactionReceipt({ hash }).catch(() => null);
    if (receipt) {
      await settle(ctx, row, receipt.status === 'success', receipt.gasUsed * receipt.effectiveGasPrice);
      return;
    }
    if (Date.now() >= deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function settle(ctx: RefillContext, row: RefillRow, success: boolean, fee: bigint): Promise<void> {
  const { account } = await runOne(ctx.pool, sqlBuilder.selectFrom('refill_targets').select('account').where('name', '=', row.target));
  // From the key that signed it, which a rotation may have made inactive since.
  const payer = await treasuryAccountOf(ctx.pool, row.from_address);
  const postings: PostingInput[] = [];
  if (success) postings.push({ source: payer, destination: account, asset: relayChain.nativeAsset.code, amount: BigInt(row.amount) });
  if (fee > 0n) postings.push({ source: payer, destination: chart.fees(relayChain.chain), asset: relayChain.feeAsset.code, amount: fee });
  await ctx.writer.transaction(async (t) => {
    const current = await runFirst(t.client, sqlBuilder.selectFrom('refills').select('status').where('id', '=', row.id).forUpdate());
    if (current?.status !== 'submitted') return;
    const key = `refill:${row.id}:settled`;
    const [result] = await t.append([{ kind: relayEntryKinds.refillSettled, idempotencyKey: key, sourceRef: row.tx_hash, metadata: { refillId: String(row.id), target: row.target, hash: row.tx_hash, success, fee: fee.toString() }, postings }]);
    assertAppended(result, key);
    await run(
      t.client,
      sqlBuilder
        .updateTable('refills')
        .set({ status: success ? 'confirmed' : 'failed', status_reason: success ? null : 'reverted', fee, entry_id: result.entry.id, settled_at: sql<Date>`now()` })
        .where('id', '=', row.id),
    );
  });
  ctx.logger.info('refill: settled', { refill: String(row.id), target: row.target, success, amount: row.amount, fee: fee.toString() });
}

/**
 * A target still below its threshold after the pass (the refill could not be sent: cap, treasury,
 * unreadable) and a target whose daily cap stopped a refill are conditions; each fires once and
 * clears when the target is back above its threshold or refilled.
 */
async function alertTargets(ctx: RefillContext, outcome: RefillOutcome): Promise<void> {
  if (!ctx.alerts) return;
  for (const line of outcome.targets) {
    const stillLow = line.action === 'daily_cap_reached' || line.action === 'treasury_short' || line.action === 'unreadable';
    const detail = { target: line.name, balance: line.balance, action: line.action };
    if (stillLow) await ctx.alerts.raise('refill.target_low', { subject: line.name, detail });
    else await ctx.alerts.clear('refill.target_low', line.name);
    if (line.action === 'daily_cap_reached') await ctx.alerts.raise('refill.daily_cap_reached', { subject: line.name, detail });
    else if (line.action === 'ok' || line.action === 'refilled') await ctx.alerts.clear('refill.daily_cap_reached', line.name);
  }
}

export async function refillHistory(db: Queryable, limit = 100): Promise<Record<string, unknown>[]> {
  const rows = await run(db, sqlBuilder.selectFrom('refills').selectAll().orderBy('id', 'desc').limit(limit));
  return rows.map((r) => ({ id: String(r.id), target: r.target, amount: r.amount, balanceBefore: r.balance_before, status: r.status, statusReason: r.status_reason, txHash: r.tx_hash, fee: r.fee, createdAt: r.created_at.toISOString(), settledAt: r.settled_at?.toISOString() ?? null }));
}

/** What each target was sent today (UTC), failed refills not counted: target name → amount. */
export async function refilledToday(db: Queryable): Promise<Map<string, bigint>> {
  const rows = await run(
    db,
    sqlBuilder
      .selectFrom('refills')
      .select(['target', sql<string>`sum(amount)::text`.as('sum')])
      .where('status', '<>', 'failed')
      .where('created_at', '>=', sql<Date>`date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`)
      .groupBy('target'),
  );
  return new Map(rows.map((row) => [row.target, BigInt(row.sum)]));
}

/** The alert webhook's signing secret, derived from the webhook root (like wallets'), never stored. */
export const alertSecret = (root: Uint8Array) => `whsec_${createHmac('sha256', root).update('coffer operations alerts v1').digest('base64url')}`;
