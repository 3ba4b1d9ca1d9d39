// The sponsor's tables: the policy in force (versioned) and every decision taken, with what it
// counts against the caps. A signed operation counts at its worst-case cost until the indexer
// sees it included (then at actualGasCost), and stops counting once its signature expired
// unused; the same rows give the per-sender signature rate and the signed-vs-included ratio.
import type { Hex } from 'viem';
import type { Pool, PoolClient, Queryable } from '../infra/index.ts';
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
  const { rows } = await db.query<{ version: number; created_at: Date }>('INSERT INTO sponsor_policies (document, set_by) VALUES ($1, $2) RETURNING version, created_at', [
    JSON.stringify(document),
    setBy,
  ]);
  return { version: rows[0]!.version, policy, document, setBy, createdAt: rows[0]!.created_at };
}

/** The policy in force, or null when none was ever set (then nothing is sponsored). */
export async function currentSponsorPolicy(db: Queryable): Promise<StoredSponsorPolicy | null> {
  const { rows } = await db.query<{ version: number; document: unknown; set_by: string | null; created_at: Date }>(
    'SELECT version, document, set_by, created_at FROM sponsor_policies ORDER BY version DESC LIMIT 1',
  );
  const row = rows[0];
  return row ? { version: row.version, policy: parseSponsorPolicy(row.document), document: row.document, setBy: row.set_by, createdAt: row.created_at } : null;
}

const liveCost = `CASE WHEN actual_gas_cost IS NOT NULL THEN actual_gas_cost WHEN valid_until > $1 THEN max_cost ELSE 0 END`;
const counts = `outcome = 'signed' AND (actual_gas_cost IS NOT NULL OR valid_until > $1)`;

/** Count and wei of each cap's window, for one sender. */
export async function readUsage(db: Queryable, queries: readonly UsageQuery[], sender: string, now: Date): Promise<Map<string, Usage>> {
  const usage = new Map<string, Usage>();
  for (const query of queries) {
    const { rows } = await db.query<{ count: number; wei: string }>(
      `SELECT count(*)::int AS count, coalesce(sum(${liveCost}), 0)::text AS wei FROM sponsor_decisions
        WHERE ${counts} AND ($2::timestamptz IS NULL OR decided_at >= $2) AND ($3::text IS NULL OR sender = $3)`,
      [now, query.since, query.scope === 'sender' ? sender : null],
    );
    usage.set(query.rule, { count: rows[0]!.count, wei: BigInt(rows[0]!.wei) });
  }
  return usage;
}

/** Signatures this sender got since `since`, and how many of them expired without being included. */
export async function senderSignatures(db: Queryable, sender: string, since: Date, now: Date): Promise<{ signed: number; expiredUnincluded: number }> {
  const { rows } = await db.query<{ signed: number; expired: number }>(
    `SELECT count(*)::int AS signed, count(*) FILTER (WHERE actual_gas_cost IS NULL AND valid_until <= $3)::int AS expired
       FROM sponsor_decisions WHERE outcome = 'signed' AND sender = $1 AND decided_at >= $2`,
    [sender, since, now],
  );
  return { signed: rows[0]!.signed, expiredUnincluded: rows[0]!.expired };
}

/** Whether this sender was refused as throttled since `since`. */
export async function throttledSince(db: Queryable, sender: string, since: Date): Promise<boolean> {
  const { rows } = await db.query(`SELECT 1 FROM sponsor_decisions WHERE sender = $1 AND reason = 'sender_throttled' AND decided_at >= $2 LIMIT 1`, [sender, since]);
  return rows.length > 0;
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
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO sponsor_decisions (decided_at, method, outcome, reason, message, sender, nonce, policy_version, api_key_id, max_cost, valid_until, paymaster_hash, signer_address)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id::text`,
    [d.decidedAt, d.method, d.outcome, d.reason, d.message?.slice(0, 500) ?? null, d.sender.toLowerCase(), d.nonce.toString(), d.policyVersion, d.apiKeyId, d.maxCostWei.toString(), d.validUntil, d.paymasterHash, d.signerAddress],
  );
  return BigInt(rows[0]!.id);
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
  const result = await client.query(
    `UPDATE sponsor_decisions d SET actual_gas_cost = o.cost, included_tx_hash = o.tx, included_at = o.at
       FROM unnest($1::text[], $2::numeric[], $3::numeric[], $4::text[], $5::timestamptz[]) AS o(sender, nonce, cost, tx, at)
      WHERE d.outcome = 'signed' AND d.sender = o.sender AND d.nonce = o.nonce AND d.actual_gas_cost IS NULL`,
    [
      operations.map((o) => o.sender.toLowerCase()),
      operations.map((o) => o.nonce.toString()),
      operations.map((o) => o.actualGasCost.toString()),
      operations.map((o) => o.txHash),
      operations.map((o) => o.blockTime),
    ],
  );
  return result.rowCount ?? 0;
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
  const { rows } = await db.query<{
    id: string; decided_at: Date; method: DecisionRecord['method']; outcome: DecisionRecord['outcome']; reason: string | null; message: string | null; sender: string; nonce: string;
    max_cost: string; valid_until: Date | null; actual_gas_cost: string | null; included_tx_hash: string | null;
  }>(
    `SELECT id::text, decided_at, method, outcome, reason, message, sender, nonce::text, max_cost::text, valid_until, actual_gas_cost::text, included_tx_hash
       FROM sponsor_decisions WHERE ($1::text IS NULL OR sender = $1) ORDER BY sponsor_decisions.id DESC LIMIT $2`,
    [options.sender?.toLowerCase() ?? null, Math.min(options.limit ?? 100, 1_000)],
  );
  return rows.map((r) => ({
    id: r.id, decidedAt: r.decided_at.toISOString(), method: r.method, outcome: r.outcome, reason: r.reason, message: r.message, sender: r.sender, nonce: r.nonce,
    maxCost: r.max_cost, validUntil: r.valid_until?.toISOString() ?? null, actualGasCost: r.actual_gas_cost, includedTxHash: r.included_tx_hash,
  }));
}
