// Rotating a relayer's signing key with no downtime and nothing lost. The relayer (its id, its
// Defender credentials) stays; its EOA changes, in steps the monitor drives:
//   1. rotated   — `startRelayerKeyRotation`: a new key in the keystore, and the relayer's refill
//                  target pointed at it, so the refill job funds it from the treasury (booked).
//                  The old key keeps signing meanwhile.
//   2. activated — once the new key's balance is booked, the next send takes the new key (read
//                  under the relayer's row lock, so no send straddles the switch); the old key
//                  keeps its own nonce counter for replacements of what it still has in flight.
//   3. drained   — when nothing of the old key is in flight, the rest of its balance goes to the
//                  new key in one legacy transfer priced so that it leaves exactly zero, booked
//                  relayers:<old> → relayers:<new> when the monitor settles it.
//   4. retired   — the old key signs nothing more.
import { getAddress, type Address } from 'viem';
import { run, runFirst, runOne, sql, sqlBuilder, withTransaction, type Pool, type Queryable } from '../infra/index.ts';
import { getBalances } from '../ledger/index.ts';
import { recordRotation } from '../rotations/index.ts';
import { capped } from './pricing.ts';
import { getRelayer, relayChain, relayerAccount, RelayError, sha256, type OperationalKeys } from './relayers.ts';
import { broadcast, defaultValidityMs, lockRelayer, openStatuses, relayNow, storeSigned, type RelayContext } from './transactions.ts';

/** A plain transfer's gas, exactly: the drain pays gasLimit × gasPrice and nothing is left behind. */
const transferGas = 21_000n;

async function ledgerBalance(db: Queryable, address: Address): Promise<bigint> {
  return (await getBalances(db, { account: relayerAccount(address), asset: relayChain.nativeAsset.code }))[0]?.balance ?? 0n;
}

/**
 * Step 1: a new key for the relayer, funded by the refill job before it signs anything. Refused
 * while a rotation of this relayer is under way, or while a refill to it is in flight (it would be
 * booked to whichever key the target names when it settles).
 */
export async function startRelayerKeyRotation(pool: Pool, keys: Pick<OperationalKeys, 'ensure'>, relayerId: string, options: { actor: string }): Promise<{ relayerId: string; oldAddress: Address; newAddress: Address; keyName: string }> {
  const relayer = await getRelayer(pool, relayerId);
  if (!relayer) throw new RelayError('relayer_not_found', `no relayer ${relayerId.slice(0, 40)}`);
  const { generations } = await runOne(pool, sqlBuilder.selectFrom('relayer_keys').select(sql<string>`count(*)::text`.as('generations')).where('relayer_id', '=', relayer.id));
  // Named by generation, so a start that failed after creating the key finds and reuses it.
  const keyName = `relayer-${relayer.id.slice(3)}-k${Number(generations) + 2}`;
  const newAddress = (await keys.ensure(keyName)).address;
  await withTransaction(pool, async (client) => {
    const locked = await lockRelayer(client, relayer);
    const busy = await runOne(
      client,
      sqlBuilder
        .selectFrom('relayers as r')
        .select((eb) => [
          'r.pending_key_name as pending',
          eb.exists(eb.selectFrom('relayer_keys as k').select('k.key_name').whereRef('k.relayer_id', '=', 'r.id').where('k.status', '=', 'draining')).as('draining'),
          eb
            .exists(eb.selectFrom('refills as f').innerJoin('refill_targets as t', 't.name', 'f.target').select('f.id').whereRef('t.relayer_id', '=', 'r.id').where('f.status', '=', 'submitted'))
            .as('refilling'),
        ])
        .where('r.id', '=', relayer.id),
    );
    if (busy.pending || busy.draining) throw new RelayError('rotation_in_progress', `relayer ${relayer.id} is still rotating its key; the next rotation can start once the old key is retired`);
    if (busy.refilling) throw new RelayError('refill_in_flight', `a refill to relayer ${relayer.id} is in flight; rotate once it has settled`);
    await run(client, sqlBuilder.updateTable('relayers').set({ pending_key_name: keyName, pending_address: newAddress }).where('id', '=', relayer.id));
    await run(
      client,
      sqlBuilder.updateTable('refill_targets').set({ address: newAddress, account: relayerAccount(newAddress), updated_at: sql<Date>`now()` }).where('relayer_id', '=', relayer.id).where('kind', '=', 'balance'),
    );
    await recordRotation(client, { kind: 'relayer_key', subject: relayer.id, step: 'rotated', oldRef: locked.address, newRef: newAddress, actor: options.actor, detail: { keyName, activates: 'once the refill job has funded it' } });
  });
  return { relayerId: relayer.id, oldAddress: relayer.address, newAddress, keyName };
}

export interface RotationProgress {
  activated: number;
  drainsSent: number;
  retired: number;
}

/** Steps 2–4 for every relayer mid-rotation; the monitor runs it after each pass. */
export async function advanceKeyRotations(ctx: RelayContext): Promise<RotationProgress> {
  const progress: RotationProgress = { activated: 0, drainsSent: 0, retired: 0 };
  const pending = await run(
    ctx.pool,
    sqlBuilder
      .selectFrom('relayers as r')
      .select((eb) => [
        'r.id',
        'r.pending_address',
        eb.selectFrom('refill_targets as t').select(sql<string>`t.fund_below::text`.as('fund_below')).whereRef('t.relayer_id', '=', 'r.id').where('t.kind', '=', 'balance').limit(1).as('fund_below'),
      ])
      .where('r.pending_key_name', 'is not', null),
  );
  for (const row of pending) {
    const address = getAddress(row.pending_address!);
    // Funded means booked: a send is checked against the ledger, so a key the ledger holds nothing for could pay for nothing.
    if ((await ledgerBalance(ctx.pool, address)) < BigInt(row.fund_below ?? '1')) continue;
    const chainNonce = BigInt(await ctx.client.getTransactionCount({ address, blockTag: 'pending' }));
    if (await activate(ctx, row.id, chainNonce)) progress.activated += 1;
  }
  const draining = await run(
    ctx.pool,
    sqlBuilder
      .selectFrom('relayer_keys as k')
      .leftJoin('relayer_transactions as t', 't.id', 'k.drain_transaction_id')
      .select(['k.relayer_id', 'k.address', 'k.key_name', 'k.drain_transaction_id', 't.status as drain_status'])
      .where('k.status', '=', 'draining'),
  );
  for (const key of draining) {
    const address = getAddress(key.address);
    const open = await runFirst(
      ctx.pool,
      sqlBuilder.selectFrom('relayer_transactions').select('id').where('relayer_id', '=', key.relayer_id).where('from_address', '=', address).where('status', 'in', openStatuses).limit(1),
    );
    if (open) continue;
    if (key.drain_status === 'confirmed') {
      await retire(ctx, key.relayer_id, address, { drainTransactionId: key.drain_transaction_id });
      progress.retired += 1;
      continue;
    }
    // No drain yet, or it failed or expired (its NOOP took the nonce): send one now.
    const outcome = await sendDrain(ctx, key.relayer_id, address, key.key_name, key.drain_transaction_id);
    if (outcome === 'sent') progress.drainsSent += 1;
    if (outcome === 'retired') progress.retired += 1;
  }
  return progress;
}

async function activate(ctx: RelayContext, relayerId: string, chainNonce: bigint): Promise<boolean> {
  return withTransaction(ctx.pool, async (client) => {
    const old = await lockRelayer(client, { id: relayerId });
    const next = await runOne(client, sqlBuilder.selectFrom('relayers').select(['pending_key_name', 'pending_address']).where('id', '=', relayerId));
    if (!next.pending_key_name || !next.pending_address) return false;
    await run(client, sqlBuilder.insertInto('relayer_keys').values({ relayer_id: relayerId, key_name: old.keyName, address: old.address, status: 'draining', next_nonce: old.nextNonce }));
    await run(
      client,
      sqlBuilder.updateTable('relayers').set({ address: next.pending_address, key_name: next.pending_key_name, next_nonce: chainNonce, pending_key_name: null, pending_address: null }).where('id', '=', relayerId),
    );
    await recordRotation(client, { kind: 'relayer_key', subject: relayerId, step: 'activated', oldRef: old.address, newRef: next.pending_address, actor: 'relay-monitor', detail: { oldKeyNextNonce: old.nextNonce.toString() } });
    ctx.logger.info('relayer key rotation: the new key signs from now on', { relayerId, address: next.pending_address });
    return true;
  });
}

/**
 * Sends the old key's whole booked balance to the relayer's current key, or retires the old key
 * at once when what is left cannot pay the transfer's gas.
 */
async function sendDrain(ctx: RelayContext, relayerId: string, oldAddress: Address, keyName: string, previousDrainId: string | null): Promise<'sent' | 'retired' | 'waiting'> {
  const relayer = (await getRelayer(ctx.pool, relayerId))!;
  const booked = await ledgerBalance(ctx.pool, oldAddress);
  const onChain = await ctx.client.getBalance({ address: oldAddress });
  if (booked !== onChain) {
    // Something reached or left the key outside the books: moving it would put the ledger off the chain.
    ctx.logger.warn('relayer key rotation: the old key holds a different amount than the ledger; not drained yet', { relayerId, address: oldAddress, booked: booked.toString(), onChain: onChain.toString() });
    return 'waiting';
  }
  // Legacy pricing: the fee is exactly gas × gasPrice, so the transfer empties the key.
  const gasPrice = capped(await ctx.fees.forSpeed('fast'), relayer.gasPriceCap).maxFeePerGas;
  const fee = transferGas * gasPrice;
  if (booked <= fee) {
    await retire(ctx, relayerId, oldAddress, { dust: booked.toString() });
    return 'retired';
  }
  const key = await ctx.keys.get(keyName);
  const tx = await withTransaction(ctx.pool, async (client) => {
    await lockRelayer(client, relayer);
    // Under the lock, again: another pass (another worker) may have sent a drain since this one looked.
    const row = await runFirst(
      client,
      sqlBuilder
        .selectFrom('relayer_keys as k')
        .innerJoin('relayers as r', 'r.id', 'k.relayer_id')
        .select(['k.next_nonce', 'r.address'])
        .where('k.relayer_id', '=', relayerId)
        .where('k.address', '=', oldAddress)
        .where('k.status', '=', 'draining')
        .where(sql<boolean>`k.drain_transaction_id IS NOT DISTINCT FROM ${previousDrainId}::uuid`)
        .where((eb) =>
          eb.not(eb.exists(eb.selectFrom('relayer_transactions as t').select('t.id').where('t.relayer_id', '=', relayerId).where('t.from_address', '=', oldAddress).where('t.status', 'in', openStatuses))),
        )
        .forUpdate('k'),
    );
    if (!row) return null;
    const stored = await storeSigned(client, key, {
      relayer,
      from: oldAddress,
      nonce: row.next_nonce,
      requestHash: sha256(`rotation:${oldAddress}:${row.next_nonce}`),
      origin: 'rotation',
      intent: {
        to: getAddress(row.address),
        value: booked - fee,
        data: '0x',
        gasLimit: transferGas,
        txType: 'legacy',
        speed: null,
        // Never repriced: a higher price would no longer fit the balance.
        fixedPricing: true,
        fees: { maxFeePerGas: gasPrice, maxPriorityFeePerGas: gasPrice },
        validUntil: new Date(relayNow(ctx) + defaultValidityMs),
        isPrivate: false,
      },
    });
    await run(
      client,
      sqlBuilder
        .updateTable('relayer_keys')
        .set((eb) => ({ next_nonce: eb('next_nonce', '+', 1n), drain_transaction_id: stored.id }))
        .where('relayer_id', '=', relayerId)
        .where('address', '=', oldAddress),
    );
    return stored;
  });
  if (!tx) return 'waiting';
  ctx.logger.info('relayer key rotation: draining the old key into the new one', { relayerId, from: oldAddress, to: tx.to, amount: tx.value.toString(), hash: tx.hash });
  await broadcast(ctx, tx);
  return 'sent';
}

async function retire(ctx: RelayContext, relayerId: string, address: Address, detail: Record<string, unknown>): Promise<void> {
  await withTransaction(ctx.pool, async (client) => {
    const retired = await runFirst(
      client,
      sqlBuilder
        .updateTable('relayer_keys')
        .set({ status: 'retired', retired_at: sql<Date>`now()` })
        .where('relayer_id', '=', relayerId)
        .where('address', '=', address)
        .where('status', '=', 'draining')
        .returning('drain_transaction_id'),
    );
    if (!retired) return;
    const drain = retired.drain_transaction_id
      ? await runFirst(client, sqlBuilder.selectFrom('relayer_transactions').select(['value', 'mined_hash', 'fee', 'settled_entry_id']).where('id', '=', retired.drain_transaction_id))
      : undefined;
    if (drain) {
      await recordRotation(client, {
        kind: 'relayer_key',
        subject: relayerId,
        step: 'drained',
        oldRef: address,
        actor: 'relay-monitor',
        detail: { amount: drain.value, fee: drain.fee, hash: drain.mined_hash, entryId: drain.settled_entry_id?.toString() ?? null },
      });
    }
    await recordRotation(client, { kind: 'relayer_key', subject: relayerId, step: 'retired', oldRef: address, actor: 'relay-monitor', detail });
  });
  ctx.logger.info('relayer key rotation: the old key is retired', { relayerId, address });
}
