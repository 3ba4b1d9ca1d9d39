// The sponsor's tables: the policy in force (versioned) and every decision taken, with what it
// counts against the caps. A signed operation counts at its worst-case cost until the indexer
// sees it included (then at actualGasCost), and stops counting once its signature expired
// unused; the same rows give the per-sender signature rate and the signed-vs-included ratio.
import type { Hex } from 'viem';
import { run, runCount, runFirst, runOne, sql, sqlBuilder, type Pool, type PoolClient, type Queryable } from '../infra/index.ts';
import { parseSponsorPolicy, type SponsorPolicy, type Usage, type UsageQuery } from './policy.ts';

export interface StoredSponsorPolicy {
  version: number;
  policy: SponsorPolicy;
  document: unknown;
  setBy: string | null;
  createdAt: Date;
}

/** Validates and stores a new policy version (the one in force from now on). */
export async function setSponsorPolicy(db: Queryable, document: unknown, setBy: string | null): Promise<StoredSponsorPolicy> {
  const policy = parseSponsorPolicy(document);
  const row = await runOne(db, sqlBuilder.insertInto('sponsor_policies').values({ document: JSON.stringify(document), set_by: setBy }).returning(['version', 'created_at']));
  return { version: row.version, policy, document, setBy, createdAt: row.created_at };
}

/** The policy in force, or null when none was ever set (then nothing is sponsored). */
export async function currentSponsorPolicy(db: Queryable): Promise<StoredSponsorPolicy | null> {
  const row = await runFirst(db, sqlBuilder.selectFrom('sponsor_policies').select(['version', 'document', 'set_by', 'created_at']).orderBy('version', 'desc').limit(1));
  return row ? { version: row.version, policy: parseSponsorPolicy(row.document), document: row.document, setBy: row.set_by, createdAt: row.created_at } : null;
}


/** Count and wei of each cap's window, for one sender. */
export async function readUsage(db: Queryable, queries: readonly UsageQuery[], sender: string, now: Date): Promise<Map<string, Usage>> {
  const usage = new Map<string, Usage>();
  for (const query of queries) {
    // A signed operation counts at what it cost once included, at its worst case while its signature lives, then not at all.
    let counted = sqlBuilder
      .selectFrom('sponsor_decisions')
      .select([
        sql<number>`count(*)::int`.as('count'),
        sql<string>`coalesce(sum(CASE WHEN actual_gas_cost IS NOT NULL THEN actual_gas_cost WHEN valid_until > ${now} THEN max_cost ELSE 0 END), 0)::text`.as('wei'),
      ])
      .where('outcome', '=', 'signed')
      .where((eb) => eb.or([eb('actual_gas_cost', 'is not', null), eb('valid_until', '>', now)]));
    if (query.since) counted = counted.where('decided_at', '>=', query.since);
    if (query.scope === 'sender') counted = counted.where('sender', '=', sender);
    const row = await runOne(db, counted);
    usage.set(query.rule, { count: row.count, wei: BigInt(row.wei) });
  }
  return usage;
}

/** Signatures this sender got since `since`, and how many of them expired without being included. */
export async function senderSignatures(db: Queryable, sender: string, since: Date, now: Date): Promise<{ signed: number; expiredUnincluded: number }> {
  const row = await runOne(
    db,
    sqlBuilder
      .selectFrom('sponsor_decisions')
      .select([sql<number>`count(*)::int`.as('signed'), sql<number>`(count(*) FILTER (WHERE actual_gas_cost IS NULL AND valid_until <= ${now}))::int`.as('expired')])
      .where('outcome', '=', 'signed')
      .where('sender', '=', sender)
      .where('decided_at', '>=', since),
  );
  return { signed: row.signed, expiredUnincluded: row.expired };
}

/** Whether this sender was refused as throttled since `since`. */
export async function throttledSince(db: Queryable, sender: string, since: Date): Promise<boolean> {
  const row = await runFirst(db, sqlBuilder.selectFrom('sponsor_decisions').select(sql<number>`1`.as('found')).where('sender', '=', sender).where('reason', '=', 'sender_throttled').where('decided_at', '>=', since).limit(1));
  return row !== undefined;
}

export interface DecisionRecord {
  method: 'pm_getPaymasterStubData' | 'pm_getPaymasterData';
  outcome: 'stub' | 'signed' | 'refused';
  reason: string | null;
  message: string | null;
  sender: string;
  nonce: bigint;
  policyVersion: number | null;
  apiKeyId: string | null;
  maxCostWei: bigint;
  validUntil: Date | null;
  paymasterHash: Hex | null;
  /** The key that signed (signed decisions only), so a rotation knows when its old key's signatures are dead. */
  signerAddress: string | null;
  decidedAt: Date;
}

export async function recordDecision(db: Queryable, d: DecisionRecord): Promise<bigint> {
  const row = await runOne(
    db,
    sqlBuilder
      .insertInto('sponsor_decisions')
      .values({
        decided_at: d.decidedAt, method: d.method, outcome: d.outcome, reason: d.reason, message: d.message?.slice(0, 500) ?? null, sender: d.sender.toLowerCase(), nonce: d.nonce,
        policy_version: d.policyVersion, api_key_id: d.apiKeyId, max_cost: d.maxCostWei, valid_until: d.validUntil, paymaster_hash: d.paymasterHash, signer_address: d.signerAddress,
      })
      .returning(sql<string>`id::text`.as('id')),
  );
  return BigInt(row.id);
}

/** A sponsored operation the chain included: its signed decision now counts at what it cost. */
export interface IncludedOperation {
  sender: string;
  nonce: bigint;
  actualGasCost: bigint;
  txHash: string;
  blockTime: Date;
}

/** Settles signed decisions against included operations (called by the indexer, inside its batch). */
export async function settleIncludedOperations(client: PoolClient | Pool, operations: readonly IncludedOperation[]): Promise<number> {
  if (operations.length === 0) return 0;
  // Set-based: every included operation of the batch in one statement.
  return runCount(
    client,
    sql`UPDATE sponsor_decisions d SET actual_gas_cost = o.cost, included_tx_hash = o.tx, included_at = o.at
          FROM unnest(${operations.map((o) => o.sender.toLowerCase())}::text[], ${operations.map((o) => o.nonce.toString())}::numeric[],
                      ${operations.map((o) => o.actualGasCost.toString())}::numeric[], ${operations.map((o) => o.txHash)}::text[], ${operations.map((o) => o.blockTime)}::timestamptz[])
               AS o(sender, nonce, cost, tx, at)
         WHERE d.outcome = 'signed' AND d.sender = o.sender AND d.nonce = o.nonce AND d.actual_gas_cost IS NULL`,
  );
}

export interface DecisionView {
  id: string;
  decidedAt: string;
  method: DecisionRecord['method'];
  outcome: DecisionRecord['outcome'];
  reason: string | null;
  message: string | null;
  sender: string;
  nonce: string;
  maxCost: string;
  validUntil: string | null;
  actualGasCost: string | null;
  includedTxHash: string | null;
}

export async function listDecisions(db: Queryable, options: { sender?: string; limit?: number } = {}): Promise<DecisionView[]> {
  let query = sqlBuilder
    .selectFrom('sponsor_decisions')
    .select([
      sql<string>`id::text`.as('id'), 'decided_at', 'method', 'outcome', 'reason', 'message', 'sender', 'nonce', 'max_cost', 'valid_until', 'actual_gas_cost', 'included_tx_hash',
    ])
    // The column, not the text alias above: as text, '9' sorts after '10'.
    .orderBy('sponsor_decisions.id', 'desc')
    .limit(Math.min(options.limit ?? 100, 1_000));
  if (options.sender) query = query.where('sender', '=', options.sender.toLowerCase());
  return (await run(db, query)).map((r) => ({
    id: r.id, decidedAt: r.decided_at.toISOString(), method: r.method as DecisionRecord['method'], outcome: r.outcome as DecisionRecord['outcome'], reason: r.reason, message: r.message, sender: r.sender, nonce: r.nonce,
    maxCost: r.max_cost, validUntil: r.valid_until?.toISOString() ?? null, actualGasCost: r.actual_gas_cost, includedTxHash: r.included_tx_hash,
  }));
}
