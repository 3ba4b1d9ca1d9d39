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
import { withTransaction, type Pool, type Queryable } from '../infra/index.ts';
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
  const { rows: generations } = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM relayer_keys WHERE relayer_id = $1', [relayer.id]);
  // Named by generation, so a start that failed after creating the key finds and reuses it.
  const keyName = `relayer-${relayer.id.slice(3)}-k${Number(generations[0]!.n) + 2}`;
  const newAddress = (await keys.ensure(keyName)).address;
  await withTransaction(pool, async (client) => {
    const locked = await lockRelayer(client, relayer);
    const { rows: busy } = await client.query<{ pending: string | null; draining: boolean; refilling: boolean }>(
      `SELECT r.pending_key_name AS pending,
              EXISTS (SELECT 1 FROM relayer_keys k WHERE k.relayer_id = r.id AND k.status = 'draining') AS draining,
              EXISTS (SELECT 1 FROM refills f JOIN refill_targets t ON t.name = f.target WHERE t.relayer_id = r.id AND f.status = 'submitted') AS refilling
         FROM relayers r WHERE r.id = $1`,
      [relayer.id],
    );
    if (busy[0]!.pending || busy[0]!.draining) throw new RelayError('rotation_in_progress', `relayer ${relayer.id} is still rotating its key; the next rotation can start once the old key is retired`);
    if (busy[0]!.refilling) throw new RelayError('refill_in_flight', `a refill to relayer ${relayer.id} is in flight; rotate once it has settled`);
    await client.query('UPDATE relayers SET pending_key_name = $2, pending_address = $3 WHERE id = $1', [relayer.id, keyName, newAddress]);
    await client.query(`UPDATE refill_targets SET address = $2, account = $3, updated_at = now() WHERE relayer_id = $1 AND kind = 'balance'`, [relayer.id, newAddress, relayerAccount(newAddress)]);
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
  const { rows: pending } = await ctx.pool.query<{ id: string; pending_address: string; fund_below: string | null }>(
    `SELECT r.id, r.pending_address, (SELECT t.fund_below::text FROM refill_targets t WHERE t.relayer_id = r.id AND t.kind = 'balance' LIMIT 1) AS fund_below
       FROM relayers r WHERE r.pending_key_name IS NOT NULL`,
  );
  for (const row of pending) {
    const address = getAddress(row.pending_address);
    // Funded means booked: a send is checked against the ledger, so a key the ledger holds nothing for could pay for nothing.
    if ((await ledgerBalance(ctx.pool, address)) < BigInt(row.fund_below ?? '1')) continue;
    const chainNonce = BigInt(await ctx.client.getTransactionCount({ address, blockTag: 'pending' }));
    if (await activate(ctx, row.id, chainNonce)) progress.activated += 1;
  }
  const { rows: draining } = await ctx.pool.query<{ relayer_id: string; address: string; key_name: string; drain_transaction_id: string | null; drain_status: string | null }>(
    `SELECT k.relayer_id, k.address, k.key_name, k.drain_transaction_id, t.status AS drain_status
       FROM relayer_keys k LEFT JOIN relayer_transactions t ON t.id = k.drain_transaction_id WHERE k.status = 'draining'`,
  );
  for (const key of draining) {
    const address = getAddress(key.address);
    const { rows: open } = await ctx.pool.query('SELECT 1 FROM relayer_transactions WHERE relayer_id = $1 AND from_address = $2 AND status = ANY($3::text[]) LIMIT 1', [key.relayer_id, address, openStatuses]);
    if (open[0]) continue;
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
    const { rows } = await client.query<{ pending_key_name: string | null; pending_address: string | null }>('SELECT pending_key_name, pending_address FROM relayers WHERE id = $1', [relayerId]);
    const next = rows[0]!;
    if (!next.pending_key_name || !next.pending_address) return false;
    await client.query(`INSERT INTO relayer_keys (relayer_id, key_name, address, status, next_nonce) VALUES ($1, $2, $3, 'draining', $4)`, [relayerId, old.keyName, old.address, old.nextNonce.toString()]);
    await client.query('UPDATE relayers SET address = $2, key_name = $3, next_nonce = $4, pending_key_name = NULL, pending_address = NULL WHERE id = $1', [relayerId, next.pending_address, next.pending_key_name, chainNonce.toString()]);
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
    const { rows } = await client.query<{ next_nonce: string; address: string }>(
      `SELECT k.next_nonce, r.address FROM relayer_keys k JOIN relayers r ON r.id = k.relayer_id
        WHERE k.relayer_id = $1 AND k.address = $2 AND k.status = 'draining' AND k.drain_transaction_id IS NOT DISTINCT FROM $3::uuid
          AND NOT EXISTS (SELECT 1 FROM relayer_transactions t WHERE t.relayer_id = $1 AND t.from_address = $2 AND t.status = ANY($4::text[]))
        FOR UPDATE OF k`,
      [relayerId, oldAddress, previousDrainId, openStatuses],
    );
    const row = rows[0];
    if (!row) return null;
    const stored = await storeSigned(client, key, {
      relayer,
      from: oldAddress,
      nonce: BigInt(row.next_nonce),
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
    await client.query('UPDATE relayer_keys SET next_nonce = next_nonce + 1, drain_transaction_id = $3 WHERE relayer_id = $1 AND address = $2', [relayerId, oldAddress, stored.id]);
    return stored;
  });
  if (!tx) return 'waiting';
  ctx.logger.info('relayer key rotation: draining the old key into the new one', { relayerId, from: oldAddress, to: tx.to, amount: tx.value.toString(), hash: tx.hash });
  await broadcast(ctx, tx);
  return 'sent';
}

async function retire(ctx: RelayContext, relayerId: string, address: Address, detail: Record<string, unknown>): Promise<void> {
  await withTransaction(ctx.pool, async (client) => {
    const { rows } = await client.query<{ drain_transaction_id: string | null }>(
      `UPDATE relayer_keys SET status = 'retired', retired_at = now() WHERE relayer_id = $1 AND address = $2 AND status = 'draining' RETURNING drain_transaction_id`,
      [relayerId, address],
    );
    if (!rows[0]) return;
    const { rows: drain } = await client.query<{ value: string; mined_hash: string | null; fee: string | null; settled_entry_id: string | null }>(
      'SELECT value::text, mined_hash, fee::text, settled_entry_id::text FROM relayer_transactions WHERE id = $1',
      [rows[0].drain_transaction_id],
    );
    if (drain[0]) {
      await recordRotation(client, { kind: 'relayer_key', subject: relayerId, step: 'drained', oldRef: address, actor: 'relay-monitor', detail: { amount: drain[0].value, fee: drain[0].fee, hash: drain[0].mined_hash, entryId: drain[0].settled_entry_id } });
    }
    await recordRotation(client, { kind: 'relayer_key', subject: relayerId, step: 'retired', oldRef: address, actor: 'relay-monitor', detail });
  });
  ctx.logger.info('relayer key rotation: the old key is retired', { relayerId, address });
}
