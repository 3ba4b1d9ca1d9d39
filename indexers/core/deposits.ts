// The chain-neutral deposit core (SPEC Flow 2). Given the blocks a batch delivered and the
// transfers in them, in one ledger transaction it writes:
//   seen in a block         deposit.pending    world:<chain> → deposits:<chain>:<addr>:pending
//   block reaches finality  deposit.confirmed  deposits:…:pending → custody:<chain>:<addr>
//   block dropped by reorg  deposit.reversal   (mirrors the pending entry)
// and asks for each confirmed user deposit's credit through the outbox, in the same
// transaction. Nothing is ever deleted or updated in the ledger; a transaction that lands again
// in another block is a new observation (its key carries the block hash).
import type { PoolClient } from '../../infra/index.ts';
import { enqueue } from '../../infra/index.ts';
import { chart, depositEntryKinds, type AppendRequest, type AppendResult, type LedgerTransaction } from '../../ledger/index.ts';
import { depositAccounts, depositKeyBase, depositReversal } from './accounts.ts';
import type { DepositCoreSettings, DepositObservation, OrphanScope, SettleStats } from './types.ts';

interface OpenDeposit {
  entry_id: bigint;
  block_height: bigint;
  block_hash: string;
  key_base: string;
  pending_account: string;
  custody_account: string;
  asset: string;
  amount: string;
}

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

  const { rows: open } = await client.query<OpenDeposit>(
    `SELECT entry_id, block_height, block_hash, key_base, pending_account, custody_account, asset, amount::text
       FROM indexer_open_deposits WHERE indexer = $1 ORDER BY entry_id`,
    [indexer],
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
  const known = new Set<string>();
  if (candidates.length > 0) {
    const { rows } = await client.query<{ idempotency_key: string }>('SELECT idempotency_key FROM journal_entries WHERE idempotency_key = ANY($1::text[])', [
      candidates.map((c) => c.key),
    ]);
    for (const row of rows) known.add(row.idempotency_key);
  }
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
  const pendingIndex = new Map<string, number>();
  for (const c of fresh) {
    const { transfer, owner } = c;
    pendingIndex.set(c.key, requests.length);
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

  const settled = [...orphaned, ...due].map((row) => row.entry_id.toString());
  if (settled.length > 0) await client.query('DELETE FROM indexer_open_deposits WHERE entry_id = ANY($1::bigint[])', [settled]);
  const stillOpen = fresh.filter((c) => c.transfer.block.height > finalizedHeight);
  if (stillOpen.length > 0) {
    await client.query(
      `INSERT INTO indexer_open_deposits (entry_id, indexer, block_height, block_hash, key_base, pending_account, custody_account, asset, amount)
       SELECT e, $1, h, bh, k, p, c, a, amt FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::numeric[])
         AS t(e, h, bh, k, p, c, a, amt)`,
      [
        indexer,
        stillOpen.map((c) => {
          const result = results[pendingIndex.get(c.key)!]!;
          return (result as { entry: { id: bigint } }).entry.id.toString();
        }),
        stillOpen.map((c) => c.transfer.block.height),
        stillOpen.map((c) => c.transfer.block.hash),
        stillOpen.map((c) => c.keyBase),
        stillOpen.map((c) => c.pendingAccount),
        stillOpen.map((c) => c.custodyAccount),
        stillOpen.map((c) => c.transfer.asset),
        stillOpen.map((c) => c.transfer.amount.toString()),
      ],
    );
  }

  return {
    deposits: fresh.length,
    confirmed: results.filter((r, i) => r.status === 'created' && requests[i]!.kind === depositEntryKinds.confirmed).length,
    reversed: results.filter((r, i) => r.status === 'created' && requests[i]!.kind === depositEntryKinds.reversal).length,
  };
}

/** Users' deposit addresses, and agent wallets (money sent to them funds their spends). */
async function watchedRecipients(client: PoolClient, settings: DepositCoreSettings, observation: DepositObservation) {
  const fold = (address: string) => (settings.caseInsensitiveAddresses ? address.toLowerCase() : address);
  const recipients = [...new Set(observation.transfers.map((t) => fold(t.to)))];
  const watched = new Map<string, { userId: string | null; walletId: string | null; address: string }>();
  if (recipients.length === 0) return watched;
  const column = settings.caseInsensitiveAddresses ? 'lower(address)' : 'address';
  const { rows } = await client.query<{ user_id: string | null; wallet_id: string | null; address: string }>(
    `SELECT user_id, NULL AS wallet_id, address FROM deposit_addresses WHERE chain = $1 AND ${column} = ANY($2::text[])
     UNION ALL
     SELECT NULL, id, address FROM wallets WHERE chain = $1 AND ${column} = ANY($2::text[])`,
    [settings.chain, recipients],
  );
  for (const row of rows) watched.set(fold(row.address), { userId: row.user_id, walletId: row.wallet_id, address: row.address });
  return watched;
}

function isWritten(result: AppendResult): result is Extract<AppendResult, { status: 'created' | 'replayed' }> {
  return result.status === 'created' || result.status === 'replayed';
}

function unexpected(what: string, request: AppendRequest, result: AppendResult): Error {
  const detail = result.status === 'rejected' ? `${result.rejection.code}: ${result.rejection.message}` : result.status;
  return new Error(`the ledger refused the ${what} ${request.idempotencyKey} (${detail}); the batch is rolled back and will be retried`);
}
