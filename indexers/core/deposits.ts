// The chain-neutral deposit core (SPEC Flow 2). Given the blocks a batch delivered and the
// transfers in them, in one ledger transaction it writes:
//   seen in a block         deposit.pending    world:<chain> → deposits:<chain>:<addr>:pending
//   block reaches finality  deposit.confirmed  deposits:…:pending → custody:<chain>:<addr>
//   block dropped by reorg  deposit.reversal   (mirrors the pending entry)
// and asks for each confirmed user deposit's credit through the outbox, in the same
// transaction. Nothing is ever deleted or updated in the ledger; a transaction that lands again
// in another block is a new observation (its key carries the block hash).
import { enqueue, run, sql, sqlBuilder, type Queryable } from '../../infra/index.ts';
import { chart, depositEntryKinds, knownIdempotencyKeys, type AppendRequest, type AppendResult, type LedgerTransaction } from '../../ledger/index.ts';
import { watchedDepositAddresses } from '../../users/index.ts';
import { watchedWalletAddresses } from '../../wallets/index.ts';
import { depositAccounts, depositKeyBase, depositReversal } from './accounts.ts';
import type { DepositCoreSettings, DepositObservation, OrphanScope, SettleStats } from './types.ts';

/** Whether a block a deposit was seen in is gone, given what this batch delivered. */
export function orphanTest(observation: Pick<DepositObservation, 'blocks'>, orphans: OrphanScope | null): (height: number, hash: string) => boolean {
  const delivered = new Map(observation.blocks.map((block) => [block.height, block.hash]));
  // In a hot update every block above the base is replaced, delivered or not; a finalized
  // batch speaks only for the heights it delivered.
  return (height, hash) => {
    if (!orphans || height <= orphans.afterHeight || (orphans.throughHeight !== null && height > orphans.throughHeight)) return false;
    const now = delivered.get(height);
    return orphans.throughHeight === null ? now !== hash : now !== undefined && now !== hash;
  };
}

/**
 * Turns observed blocks into ledger entries, in one append: reversals for deposits on orphaned
 * blocks, pending entries for new deposits, and confirmations for every deposit at or below
 * `finalizedHeight` (old open ones and new ones alike). The open set is small (deposits younger
 * than finality), so it is read whole and classified here.
 */
export async function settleDeposits(
  tx: LedgerTransaction,
  settings: DepositCoreSettings,
  observation: DepositObservation,
  orphans: OrphanScope | null,
  finalizedHeight: number,
): Promise<SettleStats> {
  const { indexer, chain } = settings;
  const client = tx.client;
  const isOrphaned = orphanTest(observation, orphans);

  const open = await run(
    client,
    sqlBuilder
      .selectFrom('indexer_open_deposits')
      .select(['entry_id', 'block_height', 'block_hash', 'key_base', 'pending_account', 'custody_account', 'asset', 'amount'])
      .where('indexer', '=', indexer)
      .orderBy('entry_id'),
  );
  const orphaned = open.filter((row) => isOrphaned(Number(row.block_height), row.block_hash));
  const due = open.filter((row) => !orphaned.includes(row) && Number(row.block_height) <= finalizedHeight);

  const watched = await watchedRecipients(client, settings, observation);
  const candidates = observation.transfers.flatMap((transfer) => {
    const owner = watched.get(settings.caseInsensitiveAddresses ? transfer.to.toLowerCase() : transfer.to);
    if (!owner) return [];
    const keyBase = depositKeyBase(chain, transfer.position);
    const accounts = depositAccounts(chain, owner.address, owner.walletId);
    return [{ transfer, owner, keyBase, key: `${keyBase}:deposit@${transfer.block.hash}`, pendingAccount: accounts.pending, custodyAccount: accounts.custody }];
  });
  // A deposit already in the ledger (a block read again after a restart, a rescan) is either
  // still open — settled through the open set — or settled already: either way, not new.
  const known = await knownIdempotencyKeys(client, candidates.map((c) => c.key));
  const fresh = candidates.filter((c) => !known.has(c.key));

  const requests: AppendRequest[] = [];
  for (const row of orphaned) {
    requests.push(
      depositReversal({
        chain,
        keyBase: row.key_base,
        blockHash: row.block_hash,
        depositEntryId: row.entry_id,
        pendingAccount: row.pending_account,
        asset: row.asset,
        amount: BigInt(row.amount),
        metadata: { indexer, reason: 'reorg', blockHeight: Number(row.block_height), blockHash: row.block_hash },
      }),
    );
  }
  const confirmation = (keyBase: string, blockHash: string, depositKey: string, blockHeight: number, from: string, to: string, asset: string, amount: bigint): AppendRequest => ({
    kind: depositEntryKinds.confirmed,
    idempotencyKey: `${keyBase}:confirm@${blockHash}`,
    sourceRef: keyBase,
    metadata: { indexer, depositKey, blockHeight, finalityDepth: settings.finalityDepth },
    postings: [{ source: from, destination: to, asset, amount }],
  });
  for (const row of due) {
    requests.push(confirmation(row.key_base, row.block_hash, `${row.key_base}:deposit@${row.block_hash}`, Number(row.block_height), row.pending_account, row.custody_account, row.asset, BigInt(row.amount)));
  }
  for (const c of fresh) {
    const { transfer, owner } = c;
    requests.push({
      kind: depositEntryKinds.pending,
      idempotencyKey: c.key,
      effectiveAt: transfer.block.timestamp,
      sourceRef: transfer.txRef,
      metadata: {
        indexer,
        chain,
        ...(owner.walletId ? { walletId: owner.walletId } : { userId: owner.userId }),
        address: owner.address,
        ...transfer.reference,
        blockHeight: transfer.block.height,
        blockHash: transfer.block.hash,
        contract: transfer.contract,
      },
      postings: [{ source: chart.world(chain), destination: c.pendingAccount, asset: transfer.asset, amount: transfer.amount }],
    });
    if (transfer.block.height <= finalizedHeight) {
      requests.push(confirmation(c.keyBase, transfer.block.hash, c.key, transfer.block.height, c.pendingAccount, c.custodyAccount, transfer.asset, transfer.amount));
    }
  }

  const results = await tx.append(requests);
  results.forEach((result, i) => {
    const request = requests[i]!;
    const alreadyReversed = request.reverses !== undefined && result.status === 'rejected' && result.rejection.code === 'already_reversed';
    if (!isWritten(result) && !alreadyReversed) throw unexpected(request.kind, request, result);
  });

  // Every confirmation of a user's deposit asks for its credit in this same transaction (the
  // outbox); money sent to an agent wallet is not credited, it is the wallet's to spend.
  await enqueue(
    client,
    results.flatMap((result, i) =>
      requests[i]!.kind === depositEntryKinds.confirmed && isWritten(result) && chart.isCustody(requests[i]!.postings[0]!.destination)
        ? [{ queue: 'credits' as const, name: 'credit-deposit', dedupeKey: `credit:${result.entry.id}`, payload: { confirmationEntryId: result.entry.id.toString() } }]
        : [],
    ),
  );

  const settled = [...orphaned, ...due].map((row) => row.entry_id);
  if (settled.length > 0) await run(client, sqlBuilder.deleteFrom('indexer_open_deposits').where('entry_id', 'in', settled));
  // Every request was written (checked above), so each pending key has its entry id.
  const entryIds = new Map(results.flatMap((result) => (isWritten(result) ? [[result.entry.idempotencyKey, result.entry.id] as const] : [])));
  const stillOpen = fresh.filter((c) => c.transfer.block.height > finalizedHeight);
  if (stillOpen.length > 0) {
    // One statement for the whole batch, columns as arrays (a block can carry thousands of deposits).
    await run(
      client,
      sql`INSERT INTO indexer_open_deposits (entry_id, indexer, block_height, block_hash, key_base, pending_account, custody_account, asset, amount)
          SELECT e, ${indexer}, h, bh, k, p, c, a, amt
            FROM unnest(${stillOpen.map((c) => entryIds.get(c.key))}::bigint[], ${stillOpen.map((c) => c.transfer.block.height)}::bigint[],
                        ${stillOpen.map((c) => c.transfer.block.hash)}::text[], ${stillOpen.map((c) => c.keyBase)}::text[],
                        ${stillOpen.map((c) => c.pendingAccount)}::text[], ${stillOpen.map((c) => c.custodyAccount)}::text[],
                        ${stillOpen.map((c) => c.transfer.asset)}::text[], ${stillOpen.map((c) => c.transfer.amount.toString())}::numeric[])
              AS t(e, h, bh, k, p, c, a, amt)`,
    );
  }

  return {
    deposits: fresh.length,
    confirmed: results.filter((r, i) => r.status === 'created' && requests[i]!.kind === depositEntryKinds.confirmed).length,
    reversed: results.filter((r, i) => r.status === 'created' && requests[i]!.kind === depositEntryKinds.reversal).length,
  };
}

/** Users' deposit addresses (users/ owns them), and agent wallets (wallets/; money sent to them funds their spends). */
async function watchedRecipients(db: Queryable, settings: DepositCoreSettings, observation: DepositObservation) {
  const fold = (address: string) => (settings.caseInsensitiveAddresses ? address.toLowerCase() : address);
  const recipients = [...new Set(observation.transfers.map((t) => fold(t.to)))];
  const options = { caseInsensitive: settings.caseInsensitiveAddresses };
  const watched = new Map<string, { userId: string | null; walletId: string | null; address: string }>();
  for (const row of await watchedDepositAddresses(db, settings.chain, recipients, options)) watched.set(fold(row.address), { userId: row.userId, walletId: null, address: row.address });
  for (const row of await watchedWalletAddresses(db, settings.chain, recipients, options)) watched.set(fold(row.address), { userId: null, walletId: row.walletId, address: row.address });
  return watched;
}

function isWritten(result: AppendResult): result is Extract<AppendResult, { status: 'created' | 'replayed' }> {
  return result.status === 'created' || result.status === 'replayed';
}

function unexpected(what: string, request: AppendRequest, result: AppendResult): Error {
  const detail = result.status === 'rejected' ? `${result.rejection.code}: ${result.rejection.message}` : result.status;
  return new Error(`the ledger refused the ${what} ${request.idempotencyKey} (${detail}); the batch is rolled back and will be retried`);
}
