// Sponsored user operations, booked when final: each EntryPoint UserOperationEvent whose
// paymaster is one of coffer's EntryPoint-deposit refill targets moves its actualGasCost from
// that target's operations account to fees:<chain> (`sponsorship.gas`), and settles the sponsor
// service's signed decision for (sender, nonce). The EntryPoint moves the deposit silently
// (prefund and refund emit nothing), so this event is the one record of what was spent; with
// refills booking what went in, the account equals the EntryPoint's balanceOf (research §A6).
import { getAddress, type Address, type PublicClient } from 'viem';
import { run, runFirst, sql, sqlBuilder, type Queryable } from '../../infra/index.ts';
import { chart, getBalances, sponsorEntryKinds, type AppendRequest, type LedgerTransaction, assertAppended } from '../../ledger/index.ts';
import { entryPointAbi, listRefillTargets, relayChain } from '../../relayer/index.ts';
import { settleIncludedOperations } from '../../sponsor/index.ts';

/** UserOperationEvent's arguments as the indexer stores them (numbers as decimal strings). */
interface UserOperationEventArgs {
  userOpHash: string;
  sender: string;
  paymaster: string;
  nonce: string;
  success: boolean;
  actualGasCost: string;
  actualGasUsed: string;
}

/** Books the UserOperationEvents of blocks (afterHeight, throughHeight] that are now final; returns how many. */
export async function bookSponsoredOperations(tx: LedgerTransaction, settings: { indexer: string; chain: string; nativeAsset: string }, afterHeight: number, throughHeight: number): Promise<number> {
  if (throughHeight <= afterHeight) return 0;
  const rows = await run(
    tx.client,
    sqlBuilder
      .selectFrom('evm_contract_events')
      .select(['tx_hash', 'log_index', sql<string>`block_height::text`.as('block_height'), 'block_time', 'contract', sql<UserOperationEventArgs>`args`.as('args')])
      .where('indexer', '=', settings.indexer)
      .where('event', '=', 'UserOperationEvent')
      .where('orphaned', '=', false)
      .where('block_height', '>', BigInt(afterHeight))
      .where('block_height', '<=', BigInt(throughHeight))
      // The column, not the text alias above: as text, '9' sorts after '10'.
      .orderBy('evm_contract_events.block_height')
      .orderBy('log_index'),
  );
  if (rows.length === 0) return 0;
  const deposits = new Map(
    (await listRefillTargets(tx.client))
      .filter((target) => target.kind === 'entrypoint-deposit')
      .map((target) => [`${target.entryPoint!.toLowerCase()}:${target.address.toLowerCase()}`, target.account]),
  );
  const sponsored = rows.flatMap((row) => {
    const account = deposits.get(`${row.contract.toLowerCase()}:${row.args.paymaster.toLowerCase()}`);
    return account && BigInt(row.args.actualGasCost) > 0n ? [{ row, account }] : [];
  });
  if (sponsored.length === 0) return 0;
  const requests: AppendRequest[] = sponsored.map(({ row, account }) => ({
    kind: sponsorEntryKinds.gas,
    idempotencyKey: `${settings.chain}:${row.tx_hash}:${row.log_index}:${sponsorEntryKinds.gas}`,
    sourceRef: row.tx_hash,
    effectiveAt: row.block_time,
    metadata: {
      userOpHash: row.args.userOpHash,
      sender: getAddress(row.args.sender),
      paymaster: getAddress(row.args.paymaster),
      nonce: row.args.nonce,
      success: row.args.success,
      actualGasCost: row.args.actualGasCost,
      actualGasUsed: row.args.actualGasUsed,
      txHash: row.tx_hash,
      logIndex: row.log_index,
      blockHeight: Number(row.block_height),
    },
    postings: [{ source: account, destination: chart.fees(settings.chain), asset: settings.nativeAsset, amount: BigInt(row.args.actualGasCost) }],
  }));
  const results = await tx.append(requests);
  results.forEach((result, index) => {
    // A deposit account short of the cost means a deposit the ledger never saw (made outside refills): stop, loudly.
    assertAppended(result, requests[index]!.idempotencyKey);
  });
  await settleIncludedOperations(
    tx.client,
    sponsored.map(({ row }) => ({ sender: row.args.sender, nonce: BigInt(row.args.nonce), actualGasCost: BigInt(row.args.actualGasCost), txHash: row.tx_hash, blockTime: row.block_time })),
  );
  return sponsored.length;
}

export interface DepositReconciliation {
  target: string;
  paymaster: Address;
  entryPoint: Address;
  account: string;
  /** The indexer's finalized block, where the EntryPoint is read. */
  blockHeight: number;
  ledger: string;
  onChain: string;
  ok: boolean;
}

/**
 * Each paymaster deposit account against the EntryPoint's balanceOf at the indexer's finalized
 * block (`coffer paymaster reconcile`; `coffer verify` reads only the database). Refills book
 * when mined and sponsored gas when final, so a refill or an operation younger than the
 * finality depth shows as a difference until the indexer passes it.
 */
export async function reconcilePaymasterDeposits(db: Queryable, client: PublicClient, indexer: string): Promise<DepositReconciliation[]> {
  const cursor = await runFirst(db, sqlBuilder.selectFrom('indexer_cursors').select(sql<string>`height::text`.as('height')).where('indexer', '=', indexer));
  if (!cursor || Number(cursor.height) < 0) throw new Error(`the ${indexer} indexer has no finalized block yet: run it first`);
  const blockNumber = BigInt(cursor.height);
  const targets = (await listRefillTargets(db)).filter((target) => target.kind === 'entrypoint-deposit');
  const lines: DepositReconciliation[] = [];
  for (const target of targets) {
    const ledger = (await getBalances(db, { account: target.account, asset: relayChain.nativeAsset.code }))[0]?.balance ?? 0n;
    const onChain = await client.readContract({ address: target.entryPoint!, abi: entryPointAbi, functionName: 'balanceOf', args: [target.address], blockNumber });
    lines.push({ target: target.name, paymaster: target.address, entryPoint: target.entryPoint!, account: target.account, blockHeight: Number(blockNumber), ledger: ledger.toString(), onChain: onChain.toString(), ok: ledger === onChain });
  }
  return lines;
}
