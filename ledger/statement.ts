// An account statement: every posting that touched one account in one asset, in journal
// order, with the running balance after each line. Paginated by journal sequence; the opening
// balance of a page is the sum of everything before it.
import type { Queryable } from '../infra/index.ts';
import { assertAccountPath } from './accounts.ts';

export interface StatementLine {
  entryId: bigint;
  postingIndex: number;
  kind: string;
  effectiveAt: Date;
  counterparty: string;
  /** Positive when money came in, negative when it went out. */
  amount: bigint;
  balanceAfter: bigint;
}

export interface Statement {
  account: string;
  asset: string;
  openingBalance: bigint;
  lines: StatementLine[];
  /** Pass as `after` for the next page; null on the last page. */
  nextCursor: bigint | null;
}

export async function getStatement(
  db: Queryable,
  options: { account: string; asset: string; after?: bigint; limit: number },
): Promise<Statement | null> {
  assertAccountPath(options.account);
  const { rows: ids } = await db.query<{ account_id: bigint; asset_id: number }>(
    `SELECT a.id AS account_id, s.id AS asset_id FROM accounts a, assets s WHERE a.path = $1 AND s.code = $2`,
    [options.account, options.asset],
  );
  const found = ids[0];
  if (!found) return null;
  const after = options.after ?? 0n;
  const { rows: opening } = await db.query<{ balance: string }>(
    `SELECT (coalesce((SELECT sum(amount) FROM postings WHERE destination_account_id = $1 AND asset_id = $2 AND entry_id <= $3), 0)
           - coalesce((SELECT sum(amount) FROM postings WHERE source_account_id = $1 AND asset_id = $2 AND entry_id <= $3), 0))::text AS balance`,
    [found.account_id.toString(), found.asset_id, after.toString()],
  );
  const openingBalance = BigInt(opening[0]!.balance);
  const { rows } = await db.query<{
    entry_id: bigint;
    posting_index: number;
    kind: string;
    effective_at: Date;
    counterparty: string;
    amount: string;
  }>(
    `SELECT m.entry_id, m.posting_index, e.kind, e.effective_at, c.path AS counterparty, m.amount::text AS amount
       FROM (
         (SELECT entry_id, posting_index, source_account_id AS other, amount FROM postings
           WHERE destination_account_id = $1 AND asset_id = $2 AND entry_id > $3 ORDER BY entry_id LIMIT $4)
         UNION ALL
         (SELECT entry_id, posting_index, destination_account_id, -amount FROM postings
           WHERE source_account_id = $1 AND asset_id = $2 AND entry_id > $3 ORDER BY entry_id LIMIT $4)
       ) m
       JOIN journal_entries e ON e.id = m.entry_id
       JOIN accounts c ON c.id = m.other
      ORDER BY m.entry_id, m.posting_index LIMIT $4`,
    [found.account_id.toString(), found.asset_id, after.toString(), options.limit + 1],
  );
  // Whole entries per page: one more row was fetched to learn whether another page exists,
  // and a page never ends in the middle of an entry's postings.
  let page = rows.slice(0, options.limit);
  if (rows.length > options.limit) {
    const lastEntry = rows[options.limit]!.entry_id;
    const trimmed = page.filter((row) => row.entry_id !== lastEntry);
    if (trimmed.length > 0) page = trimmed;
  }
  let running = openingBalance;
  const lines = page.map((row) => {
    running += BigInt(row.amount);
    return {
      entryId: row.entry_id,
      postingIndex: row.posting_index,
      kind: row.kind,
      effectiveAt: row.effective_at,
      counterparty: row.counterparty,
      amount: BigInt(row.amount),
      balanceAfter: running,
    };
  });
  const hasMore = rows.length > page.length;
  return { account: options.account, asset: options.asset, openingBalance, lines, nextCursor: hasMore ? (lines.at(-1)?.entryId ?? null) : null };
}
