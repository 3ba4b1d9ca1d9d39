// Rotating the treasury hot key with no downtime and nothing lost (issue #25), in steps each
// written before the next, so a run stopped anywhere completes when run again:
//   1. rotated, activated — a new key in the keystore (named by generation, so a rerun finds it)
//                  becomes the active key, under the lock refills are signed under: no refill
//                  straddles the switch, and the next one pays from the new key.
//   2. drained   — the old key's refills in flight settle (booked from its own account); then the
//                  rest of its balance goes to the new key in one legacy transfer priced to leave
//                  exactly zero, stored before it is broadcast and booked `treasury.drained`
//                  (old key's account → new key's, gas → fees) once mined.
//   3. retired   — the old key pays nothing more.
// One rotation at a time: a session advisory lock serializes runs (a second waits for the first),
// and a run that finds a rotation under way completes it instead of starting another.
import { type TransactionReceipt, type TransactionSerializableLegacy } from 'viem';
import { broadcastStored, signEvmTransactionWithKey } from '../chains/index.ts';
import { isPgError, run, runCount, sql, sqlBuilder, withTransaction, type Pool, type PoolClient } from '../infra/index.ts';
import { chart, getBalances, relayEntryKinds, assertAppended } from '../ledger/index.ts';
import { recordRotation } from '../rotations/index.ts';
import { follow, refillSubmitLock, type RefillContext } from './refills.ts';
import { RelayError, relayChain } from './relayers.ts';
import { activeTreasuryKey, drainingTreasuryKey, treasuryKeyByGeneration, type TreasuryKey } from './treasury-keys.ts';

const rotationLock = 'treasury-key-rotation';
/** A plain transfer's gas, exactly: the drain pays gas × gasPrice and leaves nothing behind. */
const transferGas = 21_000n;
const pollMs = 250;

export interface TreasuryRotation {
  /** True when this run completed a rotation an earlier run (or the API) started. */
  resumed: boolean;
  /** `draining` when the wait ran out first: the next run or refill pass completes it. */
  status: 'draining' | 'retired';
  oldKeyName: string;
  oldAddress: string;
  newKeyName: string;
  newAddress: string;
  /** The old key's balance moved to the new one, once sent; null when it held less than the transfer's gas. */
  drain: { amount: string; hash: string; entryId: string | null } | null;
}

export interface RotateOptions {
  actor: string;
  /** How long to wait for the old key's refills and the drain to be mined (0: look once). */
  waitMs: number;
  /** How long to wait for a rotation another process is running before refusing with rotation_in_progress. */
  lockWaitMs: number;
}

/** Rotates the treasury hot key, or completes the rotation under way. */
export async function rotateTreasuryKey(ctx: RefillContext, options: RotateOptions): Promise<TreasuryRotation> {
  return withRotationLock(ctx.pool, options.lockWaitMs, async () => {
    const deadline = Date.now() + options.waitMs;
    const under = await drainingTreasuryKey(ctx.pool);
    if (under) return advance(ctx, under, deadline, true);
    const old = await switchKeys(ctx, options.actor);
    return advance(ctx, old, deadline, false);
  });
}

/** What the refill job runs after each pass: moves a rotation under way a step on, without waiting. Null when there is none, or another process holds it. */
export async function advanceTreasuryRotation(ctx: RefillContext): Promise<TreasuryRotation | null> {
  if (!(await drainingTreasuryKey(ctx.pool))) return null;
  try {
    return await withRotationLock(ctx.pool, 0, async () => {
      const under = await drainingTreasuryKey(ctx.pool);
      return under ? advance(ctx, under, Date.now(), true) : null;
    });
  } catch (error) {
    if (error instanceof RelayError && error.code === 'rotation_in_progress') return null;
    // Waits for an operator to book what reached the old key; the refill job must not fail meanwhile.
    if (error instanceof RelayError && error.code === 'treasury_unbooked') {
      ctx.logger.warn('treasury key rotation waits: the old key holds money the ledger does not', { reason: error.message });
      return null;
    }
    throw error;
  }
}

async function withRotationLock<T>(pool: Pool, waitMs: number, work: () => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    // lock_timeout bounds the wait for an advisory lock too; 0 would mean "forever".
    await run(client, sql`SELECT set_config('lock_timeout', ${`${Math.max(1, waitMs)}ms`}, false)`);
    try {
      await run(client, sql`SELECT pg_advisory_lock(hashtext(${rotationLock}))`);
    } catch (error) {
      if (isPgError(error) && error.code === '55P03') throw new RelayError('rotation_in_progress', 'another treasury key rotation is running; run again once it has finished');
      throw error;
    }
    try {
      return await work();
    } finally {
      await run(client, sql`SELECT pg_advisory_unlock(hashtext(${rotationLock}))`);
    }
  } finally {
    await run(client, sql`RESET lock_timeout`).catch(() => undefined);
    client.release();
  }
}

/** Step 1: the successor is created and made active in one transaction with the old key set draining. */
async function switchKeys(ctx: RefillContext, actor: string): Promise<TreasuryKey> {
  const active = await activeTreasuryKey(ctx.pool, ctx.keys, ctx.treasuryKeyName);
  if (!active) throw new RelayError('treasury_not_configured', `no treasury hot key to rotate: create ${ctx.treasuryKeyName} with 'coffer treasury create' first`);
  const generation = active.generation + 1;
  const keyName = `${ctx.treasuryKeyName.slice(0, 56)}-k${generation}`;
  const next = await ctx.keys.ensure(keyName);
  await withTransaction(ctx.pool, async (client) => {
    await run(client, sql`SELECT pg_advisory_xact_lock(hashtext(${refillSubmitLock}))`);
    const switched = await runCount(client, sqlBuilder.updateTable('treasury_keys').set({ status: 'draining' }).where('key_name', '=', active.keyName).where('status', '=', 'active'));
    if (switched !== 1) throw new RelayError('rotation_in_progress', 'the treasury key changed while this rotation started; run it again');
    await run(
      client,
      sqlBuilder.insertInto('treasury_keys').values({ key_name: keyName, chain: relayChain.chain, generation, address: next.address, account: chart.treasuryHotKey(relayChain.chain, next.address), status: 'active' }),
    );
    const event = { kind: 'treasury_hot_key' as const, subject: relayChain.chain, oldRef: active.address, newRef: next.address, actor };
    await recordRotation(client, { ...event, step: 'rotated', detail: { keyName, generation } });
    await recordRotation(client, { ...event, step: 'activated', detail: { keyName, refills: 'paid from the new key from now on' } });
  });
  ctx.logger.info('treasury key rotation: refills pay from the new key from now on', { from: active.address, to: next.address, keyName });
  return { ...active, status: 'draining' };
}

/** Steps 2–3 until done or past the deadline. */
async function advance(ctx: RefillContext, old: TreasuryKey, deadline: number, resumed: boolean): Promise<TreasuryRotation> {
  const successor = await treasuryKeyByGeneration(ctx.pool, old.generation + 1);
  if (!successor) throw new Error(`treasury key ${old.keyName} is draining without a successor (generation ${old.generation + 1})`);
  const answer = (key: TreasuryKey, status: TreasuryRotation['status']): TreasuryRotation => ({
    resumed,
    status,
    oldKeyName: old.keyName,
    oldAddress: old.address,
    newKeyName: successor.keyName,
    newAddress: successor.address,
    drain: key.drain ? { amount: key.drain.amount.toString(), hash: key.drain.hash, entryId: key.drain.entryId?.toString() ?? null } : null,
  });
  for (;;) {
    const key = (await treasuryKeyByGeneration(ctx.pool, old.generation))!;
    if (key.status === 'retired') return answer(key, 'retired');
    const settled = await settleOldRefills(ctx, key, deadline);
    if (settled && !key.drain) {
      if ((await sendDrain(ctx, key, successor)) === 'retired') return answer((await treasuryKeyByGeneration(ctx.pool, old.generation))!, 'retired');
      continue;
    }
    if (settled && key.drain) {
      const receipt = await ctx.client.getTransactionReceipt({ hash: key.drain.hash }).catch(() => null);
      if (receipt) {
        await settleDrain(ctx, key, successor, receipt);
        continue;
      }
      const sent = await broadcastStored(ctx.client, key.drain.raw, key.drain.hash);
      // Refused and never mined (a node that lost it and will not take it back): sign it again.
      if (sent.status === 'refused') await forgetDrain(ctx, key, sent.message);
    }
    if (Date.now() >= deadline) return answer(key, 'draining');
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** True once nothing the old key signed for a refill is in flight; follows each meanwhile (booked from its account). */
async function settleOldRefills(ctx: RefillContext, key: TreasuryKey, deadline: number): Promise<boolean> {
  const open = () => run(ctx.pool, sqlBuilder.selectFrom('refills').selectAll().where('status', '=', 'submitted').where('from_address', '=', key.address).orderBy('id'));
  for (const row of await open()) await follow(ctx, row, Math.max(0, deadline - Date.now()));
  return (await open()).length === 0;
}

/** Signs and stores the drain, then broadcasts it; or retires the key at once when its balance cannot pay the transfer's gas. */
async function sendDrain(ctx: RefillContext, key: TreasuryKey, successor: TreasuryKey): Promise<'sent' | 'retired'> {
  const booked = (await getBalances(ctx.pool, { account: key.account, asset: relayChain.nativeAsset.code }))[0]?.balance ?? 0n;
  const onChain = await ctx.client.getBalance({ address: key.address });
  if (booked !== onChain) {
    // Money reached or left the key outside the books: moving it would put the ledger off the chain.
    throw new RelayError('treasury_unbooked', `the old treasury key ${key.address} holds ${onChain} wei on chain and ${booked} in the ledger; book what was sent to it (coffer treasury record-funding --tx <hash>) and run the rotation again`);
  }
  // Legacy pricing: the fee is exactly gas × gasPrice, so the transfer empties the key. Twice the
  // market, as refills pay, so it is not left behind by a fee rise.
  const gasPrice = (await ctx.client.getGasPrice()) * 2n;
  const fee = transferGas * gasPrice;
  if (booked <= fee) {
    await retire(ctx, key, successor, { dust: booked.toString() });
    return 'retired';
  }
  const hot = await ctx.keys.get(key.keyName);
  const nonce = await ctx.client.getTransactionCount({ address: key.address, blockTag: 'pending' });
  const tx: TransactionSerializableLegacy = { type: 'legacy', chainId: await ctx.client.getChainId(), nonce, to: successor.address, value: booked - fee, gas: transferGas, gasPrice };
  const signed = signEvmTransactionWithKey(hot, tx);
  const stored = await runCount(
    ctx.pool,
    sqlBuilder
      .updateTable('treasury_keys')
      .set({ drain_nonce: BigInt(nonce), drain_amount: (booked - fee).toString(), drain_tx_hash: signed.hash, drain_raw_tx: signed.raw })
      .where('key_name', '=', key.keyName)
      .where('status', '=', 'draining')
      .where('drain_tx_hash', 'is', null),
  );
  if (stored !== 1) return 'sent';
  ctx.logger.info('treasury key rotation: draining the old key into the new one', { from: key.address, to: successor.address, amount: (booked - fee).toString(), hash: signed.hash });
  await broadcastStored(ctx.client, signed.raw, signed.hash);
  return 'sent';
}

async function forgetDrain(ctx: RefillContext, key: TreasuryKey, reason: string): Promise<void> {
  ctx.logger.warn('treasury key rotation: the node refused the drain; signing it again', { hash: key.drain?.hash, reason: reason.slice(0, 300) });
  await runCount(
    ctx.pool,
    sqlBuilder
      .updateTable('treasury_keys')
      .set({ drain_nonce: null, drain_amount: null, drain_tx_hash: null, drain_raw_tx: null })
      .where('key_name', '=', key.keyName)
      .where('drain_tx_hash', '=', key.drain!.hash)
      .where('drain_entry_id', 'is', null),
  );
}

/** Books the mined drain and retires the old key, in one ledger transaction with its audit events. */
async function settleDrain(ctx: RefillContext, key: TreasuryKey, successor: TreasuryKey, receipt: TransactionReceipt): Promise<void> {
  const drain = key.drain!;
  // A plain transfer between two EOAs cannot revert; if one did, something is badly wrong: stop.
  if (receipt.status !== 'success') throw new Error(`the treasury drain ${drain.hash} reverted`);
  const fee = receipt.gasUsed * receipt.effectiveGasPrice;
  await ctx.writer.transaction(async (t) => {
    const locked = await run(t.client, sqlBuilder.selectFrom('treasury_keys').select('status').where('key_name', '=', key.keyName).forUpdate());
    if (locked[0]?.status !== 'draining') return;
    const idempotencyKey = `treasury:${key.keyName}:drained`;
    const [result] = await t.append([
      {
        kind: relayEntryKinds.treasuryDrained,
        idempotencyKey,
        sourceRef: drain.hash,
        metadata: { from: key.address, to: successor.address, hash: drain.hash, blockNumber: receipt.blockNumber.toString(), fee: fee.toString() },
        postings: [
          { source: key.account, destination: successor.account, asset: relayChain.nativeAsset.code, amount: drain.amount },
          { source: key.account, destination: chart.fees(relayChain.chain), asset: relayChain.feeAsset.code, amount: fee },
        ],
      },
    ]);
    assertAppended(result, idempotencyKey);
    await run(t.client, sqlBuilder.updateTable('treasury_keys').set({ drain_entry_id: result.entry.id }).where('key_name', '=', key.keyName));
    await recordRotation(t.client, { kind: 'treasury_hot_key', subject: relayChain.chain, step: 'drained', oldRef: key.address, newRef: successor.address, actor: 'treasury-rotation', detail: { amount: drain.amount.toString(), fee: fee.toString(), hash: drain.hash, entryId: result.entry.id.toString() } });
    await retireIn(t.client, key, {});
  });
  ctx.logger.info('treasury key rotation: the old key is drained and retired', { address: key.address, amount: drain.amount.toString(), fee: fee.toString() });
}

async function retire(ctx: RefillContext, key: TreasuryKey, successor: TreasuryKey, detail: Record<string, unknown>): Promise<void> {
  await withTransaction(ctx.pool, (client) => retireIn(client, key, { ...detail, successor: successor.address }));
  ctx.logger.info('treasury key rotation: the old key is retired', { address: key.address, ...detail });
}

async function retireIn(client: PoolClient, key: TreasuryKey, detail: Record<string, unknown>): Promise<void> {
  const retired = await runCount(client, sqlBuilder.updateTable('treasury_keys').set({ status: 'retired', retired_at: sql<Date>`now()` }).where('key_name', '=', key.keyName).where('status', '=', 'draining'));
  if (retired === 1) await recordRotation(client, { kind: 'treasury_hot_key', subject: relayChain.chain, step: 'retired', oldRef: key.address, actor: 'treasury-rotation', detail });
}
