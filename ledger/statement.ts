// An account statement: every posting that touched one account in one asset, in journal
// order, with the running balance after each line. Paginated by journal sequence; the opening
// balance of a page is the sum of everything before it.
import { run, runFirst, runOne, sql, sqlBuilder, type Queryable } from '../infra/index.ts';
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
  const found = await runFirst(
    db,
    sqlBuilder
      .selectFrom('accounts as a')
      .innerJoin('assets as s', (join) => join.onTrue())
      .select(['a.id as account_id', 's.id as asset_id'])
      .where('a.path', '=', options.account)
      .where('s.code', '=', options.asset),
  );
  if (!found) return null;
  const account = found.account_id.toString();
  const after = (options.after ?? 0n).toString();
  const opening = await runOne(
    db,
    sql<{ balance: string }>`SELECT (coalesce((SELECT sum(amount) FROM postings WHERE destination_account_id = ${account} AND asset_id = ${found.asset_id} AND entry_id <= ${after}), 0)
           - coalesce((SELECT sum(amount) FROM postings WHERE source_account_id = ${account} AND asset_id = ${found.asset_id} AND entry_id <= ${after}), 0))::text AS balance`,
  );
  const openingBalance = BigInt(opening.balance);
  // Each side's first rows by journal order, merged: both halves use the (account, asset, entry) indexes.
  const fetched = options.limit + 1;
  const rows = await run(
    db,
    sql<{ entry_id: bigint; posting_index: number; kind: string; effective_at: Date; counterparty: string; amount: string }>`
     SELECT m.entry_id, m.posting_index, e.kind, e.effective_at, c.path AS counterparty, m.amount::text AS amount
       FROM (
         (SELECT entry_id, posting_index, source_account_id AS other, amount FROM postings
           WHERE destination_account_id = ${account} AND asset_id = ${found.asset_id} AND entry_id > ${after} ORDER BY entry_id LIMIT ${fetched})
         UNION ALL
         (SELECT entry_id, posting_index, destination_account_id, -amount FROM postings
           WHERE source_account_id = ${account} AND asset_id = ${found.asset_id} AND entry_id > ${after} ORDER BY entry_id LIMIT ${fetched})
       ) m
       JOIN journal_entries e ON e.id = m.entry_id
       JOIN accounts c ON c.id = m.other
      ORDER BY m.entry_id, m.posting_index LIMIT ${fetched}`,
  );
  // Whole entries per page: one more row was fetched to learn whether another page exists,
  // and a page never ends in the middle of an entry's postings.
  let page = rows.slice(0, options.limit);
  const firstOfNextPage = rows[options.limit];
  if (firstOfNextPage) {
    const lastEntry = firstOfNextPage.entry_id;
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
