// Balances: current ones from the synchronous projection, and point-in-time ones summed from
// postings — as of an effective (chain/business) time, or as of a journal sequence (what the
// ledger knew after entry N). Both roll up by account selector (`users:42:*`).
import { run, sql, sqlBuilder, type Queryable } from '../infra/index.ts';
import { pathMatches } from './accounts.ts';

export interface AccountBalance {
  account: string;
  asset: string;
  scale: number;
  balance: bigint;
}

export interface AsOf {
  /** Postings of entries with effective_at ≤ this time. */
  time?: Date;
  /** Postings of entries with id ≤ this sequence. */
  sequence?: bigint;
}

const hasAsOf = (asOf: AsOf | undefined): asOf is AsOf => asOf !== undefined && (asOf.time !== undefined || asOf.sequence !== undefined);

/** The join and condition that keep only postings (`p`) of entries within `asOf`. */
function asOfPostingsFilter(asOf: AsOf) {
  const conditions = [
    ...(asOf.time === undefined ? [] : [sql`e.effective_at <= ${asOf.time}`]),
    ...(asOf.sequence === undefined ? [] : [sql`p.entry_id <= ${asOf.sequence.toString()}`]),
  ];
  return { join: asOf.time === undefined ? sql`` : sql`JOIN journal_entries e ON e.id = p.entry_id`, where: sql.join(conditions, sql` AND `) };
}

type BalanceRow = { account: string; asset: string; scale: number; balance: string };
const toBalance = (row: BalanceRow): AccountBalance => ({ ...row, balance: BigInt(row.balance) });

export async function getBalances(
  db: Queryable,
  options: { account?: string; asset?: string; asOf?: AsOf; limit?: number } = {},
): Promise<AccountBalance[]> {
  const { account, asset, asOf } = options;
  const limit = options.limit ?? 10_000;
  if (!hasAsOf(asOf)) {
    let query = sqlBuilder
      .selectFrom('balances as b')
      .innerJoin('accounts as a', 'a.id', 'b.account_id')
      .innerJoin('assets as s', 's.id', 'b.asset_id')
      .select(['a.path as account', 's.code as asset', 's.scale', sql<string>`b.balance::text`.as('balance')]);
    if (account !== undefined) query = query.where(pathMatches('a.path', account));
    if (asset !== undefined) query = query.where('s.code', '=', asset);
    return (await run(db, query.orderBy('a.path').orderBy('s.code').limit(limit))).map(toBalance);
  }
  const { join, where } = asOfPostingsFilter(asOf);
  const accountCondition = account === undefined ? sql`true` : pathMatches('a.path', account);
  const assetCondition = asset === undefined ? sql`true` : sql`s.code = ${asset}`;
  // Each side of every posting, filtered to the selected accounts before summing.
  const rows = await run(
    db,
    sql<BalanceRow>`WITH selected AS (SELECT a.id, a.path FROM accounts a WHERE ${accountCondition}),
     moves AS (
       SELECT p.destination_account_id AS account_id, p.asset_id, p.amount AS delta
         FROM postings p ${join} JOIN selected a ON a.id = p.destination_account_id
        WHERE ${where}
       UNION ALL
       SELECT p.source_account_id, p.asset_id, -p.amount
         FROM postings p ${join} JOIN selected a ON a.id = p.source_account_id
        WHERE ${where}
     )
     SELECT a.path AS account, s.code AS asset, s.scale, sum(m.delta)::text AS balance
       FROM moves m JOIN selected a ON a.id = m.account_id JOIN assets s ON s.id = m.asset_id
      WHERE ${assetCondition}
      GROUP BY a.path, s.code, s.scale
      ORDER BY a.path, s.code LIMIT ${limit}`,
  );
  return rows.map(toBalance);
}

export interface TrialBalanceLine {
  asset: string;
  scale: number;
  /** Sum of all positive balances. */
  debits: bigint;
  /** Sum of all negative balances, as a positive number. */
  credits: bigint;
  /** debits − credits; zero in a healthy ledger. */
  net: bigint;
}

/** Per asset, the sum of every account's balance, which double entry keeps at zero. */
export async function getTrialBalance(db: Queryable, asOf?: AsOf): Promise<TrialBalanceLine[]> {
  let source = sql`SELECT asset_id, account_id, balance FROM balances`;
  if (hasAsOf(asOf)) {
    const { join, where } = asOfPostingsFilter(asOf);
    source = sql`SELECT asset_id, account_id, sum(delta) AS balance FROM (
        SELECT p.asset_id, p.destination_account_id AS account_id, p.amount AS delta FROM postings p ${join} WHERE ${where}
        UNION ALL
        SELECT p.asset_id, p.source_account_id, -p.amount FROM postings p ${join} WHERE ${where}
      ) m GROUP BY asset_id, account_id`;
  }
  const rows = await run(
    db,
    sql<{ asset: string; scale: number; debits: string; credits: string; net: string }>`SELECT s.code AS asset, s.scale,
        coalesce(sum(b.balance) FILTER (WHERE b.balance > 0), 0)::text AS debits,
        coalesce(-sum(b.balance) FILTER (WHERE b.balance < 0), 0)::text AS credits,
        coalesce(sum(b.balance), 0)::text AS net
       FROM (${source}) b JOIN assets s ON s.id = b.asset_id
      GROUP BY s.code, s.scale ORDER BY s.code`,
  );
  return rows.map((row) => ({ asset: row.asset, scale: row.scale, debits: BigInt(row.debits), credits: BigInt(row.credits), net: BigInt(row.net) }));
}

/** One account's balance of one asset: zero when it has never moved. */
export async function accountBalance(db: Queryable, account: string, asset: string): Promise<bigint> {
  return (await accountBalances(db, [account])).find((held) => held.asset === asset)?.balance ?? 0n;
}

/** Every non-zero-history balance of the exact accounts `paths` (no selectors), with the asset's scale and contract. */
export async function accountBalances(db: Queryable, paths: readonly string[]): Promise<(AccountBalance & { contract: string | null })[]> {
  if (paths.length === 0) return [];
  const rows = await run(
    db,
    sqlBuilder
      .selectFrom('balances as b')
      .innerJoin('accounts as a', 'a.id', 'b.account_id')
      .innerJoin('assets as s', 's.id', 'b.asset_id')
      .select(['a.path as account', 's.code as asset', 's.scale', 's.contract', sql<string>`b.balance::text`.as('balance')])
      .where('a.path', 'in', [...paths])
      .orderBy('a.path')
      .orderBy('s.code'),
  );
  return rows.map((row) => ({ ...row, balance: BigInt(row.balance) }));
}
