// Balances: current ones from the synchronous projection, and point-in-time ones summed from
// postings — as of an effective (chain/business) time, or as of a journal sequence (what the
// ledger knew after entry N). Both roll up by account selector (`users:42:*`).
import { run, sql, sqlBuilder, type Queryable } from '../infra/index.ts';
import { likeEscape, parseAccountSelector } from './accounts.ts';

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

function selectorCondition(selector: string | undefined, params: unknown[]): string {
  if (selector === undefined) return 'true';
  const parsed = parseAccountSelector(selector);
  params.push(parsed.regex === null ? parsed.text : likeEscape(parsed.likePrefix) + '%');
  if (parsed.regex === null) return `a.path = $${params.length}`;
  const likeParam = `$${params.length}`;
  params.push(parsed.regex);
  return `a.path LIKE ${likeParam} AND a.path ~ $${params.length}`;
}

/** The join and condition that keep only postings of entries within `asOf`; pushes its parameters. */
function asOfPostingsFilter(asOf: AsOf, params: unknown[]): { join: string; where: string } {
  const conditions: string[] = [];
  if (asOf.time !== undefined) {
    params.push(asOf.time);
    conditions.push(`e.effective_at <= $${params.length}`);
  }
  if (asOf.sequence !== undefined) {
    params.push(asOf.sequence.toString());
    conditions.push(`p.entry_id <= $${params.length}`);
  }
  return { join: asOf.time !== undefined ? 'JOIN journal_entries e ON e.id = p.entry_id' : '', where: conditions.join(' AND ') };
}

export async function getBalances(
  db: Queryable,
  options: { account?: string; asset?: string; asOf?: AsOf; limit?: number } = {},
): Promise<AccountBalance[]> {
  const params: unknown[] = [];
  const accountCondition = selectorCondition(options.account, params);
  let assetCondition = 'true';
  if (options.asset !== undefined) {
    params.push(options.asset);
    assetCondition = `s.code = $${params.length}`;
  }
  params.push(options.limit ?? 10_000);
  const limit = `$${params.length}`;
  const asOf = options.asOf;
  if (!asOf || (asOf.time === undefined && asOf.sequence === undefined)) {
    const { rows } = await db.query<{ account: string; asset: string; scale: number; balance: string }>(
      `SELECT a.path AS account, s.code AS asset, s.scale, b.balance::text AS balance
         FROM balances b JOIN accounts a ON a.id = b.account_id JOIN assets s ON s.id = b.asset_id
        WHERE ${accountCondition} AND ${assetCondition}
        ORDER BY a.path, s.code LIMIT ${limit}`,
      params,
    );
    return rows.map((row) => ({ ...row, balance: BigInt(row.balance) }));
  }
  const { join: entryJoin, where: entryWhere } = asOfPostingsFilter(asOf, params);
  // Each side of every posting, filtered to the selected accounts before summing.
  const { rows } = await db.query<{ account: string; asset: string; scale: number; balance: string }>(
    `WITH selected AS (SELECT a.id, a.path FROM accounts a WHERE ${accountCondition}),
     moves AS (
       SELECT p.destination_account_id AS account_id, p.asset_id, p.amount AS delta
         FROM postings p ${entryJoin} JOIN selected a ON a.id = p.destination_account_id
        WHERE ${entryWhere}
       UNION ALL
       SELECT p.source_account_id, p.asset_id, -p.amount
         FROM postings p ${entryJoin} JOIN selected a ON a.id = p.source_account_id
        WHERE ${entryWhere}
     )
     SELECT a.path AS account, s.code AS asset, s.scale, sum(m.delta)::text AS balance
       FROM moves m JOIN selected a ON a.id = m.account_id JOIN assets s ON s.id = m.asset_id
      WHERE ${assetCondition}
      GROUP BY a.path, s.code, s.scale
      ORDER BY a.path, s.code LIMIT ${limit}`,
    params,
  );
  return rows.map((row) => ({ ...row, balance: BigInt(row.balance) }));
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
  const params: unknown[] = [];
  let source = `SELECT asset_id, account_id, balance FROM balances`;
  if (asOf && (asOf.time !== undefined || asOf.sequence !== undefined)) {
    const { join, where } = asOfPostingsFilter(asOf, params);
    source = `SELECT asset_id, account_id, sum(delta) AS balance FROM (
        SELECT p.asset_id, p.destination_account_id AS account_id, p.amount AS delta FROM postings p ${join} WHERE ${where}
        UNION ALL
        SELECT p.asset_id, p.source_account_id, -p.amount FROM postings p ${join} WHERE ${where}
      ) m GROUP BY asset_id, account_id`;
  }
  const { rows } = await db.query<{ asset: string; scale: number; debits: string; credits: string; net: string }>(
    `SELECT s.code AS asset, s.scale,
        coalesce(sum(b.balance) FILTER (WHERE b.balance > 0), 0)::text AS debits,
        coalesce(-sum(b.balance) FILTER (WHERE b.balance < 0), 0)::text AS credits,
        coalesce(sum(b.balance), 0)::text AS net
       FROM (${source}) b JOIN assets s ON s.id = b.asset_id
      GROUP BY s.code, s.scale ORDER BY s.code`,
    params,
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
