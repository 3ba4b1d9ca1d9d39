-- Faster checks on the append path, found by `coffer bench ledger` (issue #2), and one more
-- invariant (idempotency keys, at the end). Refusals keep their SQLSTATEs and messages.
--
-- * The "postings refer to an existing entry" check joined each posting with a CTE holding the
--   batch's id range; PostgreSQL re-aggregated that CTE once per posting (500 x 500 rows per
--   batch, ~10 ms of a ~20 ms insert). The bounds are now read once and passed as parameters.
-- * Floors and balances took two passes over the batch (a running-sum query that locked the
--   rows, then the UPDATE). One statement now computes, per account and asset, the batch's total
--   and the lowest running sum at any entry boundary, moves the balance, and returns the lowest
--   balance the account passed through; the entry that broke a floor is looked up on failure.

CREATE OR REPLACE FUNCTION postings_apply() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  low bigint;
  high bigint;
  orphan bigint;
  breached_account bigint;
  breach_entry bigint;
  breach_path text;
  breach_code text;
  breach_balance numeric;
  breach_floor numeric;
BEGIN
  EXECUTE 'SELECT min(entry_id), max(entry_id) FROM new_postings' INTO low, high;
  EXECUTE $q$
    SELECT p.entry_id FROM new_postings p
     WHERE NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.id = p.entry_id AND e.id BETWEEN $1 AND $2)
     LIMIT 1
  $q$ INTO orphan USING low, high;
  IF orphan IS NOT NULL THEN
    RAISE EXCEPTION 'posting refers to journal entry % which does not exist', orphan
      USING ERRCODE = 'foreign_key_violation';
  END IF;

  -- Balance rows for first-time (account, asset) pairs; their FKs check account and asset.
  -- Only the missing ones: a BEFORE INSERT trigger runs even for rows ON CONFLICT then skips.
  EXECUTE $q$
    INSERT INTO balances (account_id, asset_id)
      SELECT m.account_id, m.asset_id
      FROM (SELECT source_account_id AS account_id, asset_id FROM new_postings
            UNION SELECT destination_account_id, asset_id FROM new_postings) m
      WHERE NOT EXISTS (SELECT 1 FROM balances b WHERE b.account_id = m.account_id AND b.asset_id = m.asset_id)
    ON CONFLICT DO NOTHING
  $q$;

  -- Entry boundaries in journal order: `lowest` is the smallest running sum of the batch's
  -- deltas for an account, so balance-before + lowest is the lowest balance it passed through,
  -- which catches a dip inside the batch that a later entry would have covered. A breach
  -- (including the final balance, which the CHECK on balances also refuses) rolls the block
  -- back and the first offending entry is named; that search runs only on failure.
  BEGIN
    EXECUTE $q$
      WITH moves AS (
        SELECT entry_id, source_account_id AS account_id, asset_id, -amount AS delta FROM new_postings
        UNION ALL
        SELECT entry_id, destination_account_id, asset_id, amount FROM new_postings
      ), per_entry AS (
        SELECT account_id, asset_id, entry_id, sum(delta) AS delta, count(*) AS moves FROM moves GROUP BY 1, 2, 3
      ), running AS (
        SELECT account_id, asset_id, entry_id, delta, moves,
          sum(delta) OVER (PARTITION BY account_id, asset_id ORDER BY entry_id) AS cumulative
        FROM per_entry
      ), totals AS (
        SELECT account_id, asset_id, sum(delta) AS delta, sum(moves) AS moves,
          max(entry_id) AS last_entry_id, min(cumulative) AS lowest
        FROM running GROUP BY 1, 2
      ), moved AS (
        UPDATE balances b
           SET balance = b.balance + t.delta,
               postings_count = b.postings_count + t.moves,
               last_entry_id = greatest(b.last_entry_id, t.last_entry_id)
          FROM totals t
         WHERE b.account_id = t.account_id AND b.asset_id = t.asset_id
        RETURNING b.account_id, b.floor, b.balance - t.delta + t.lowest AS lowest_balance
      )
      SELECT account_id FROM moved WHERE floor IS NOT NULL AND lowest_balance < floor LIMIT 1
    $q$ INTO breached_account;
    IF breached_account IS NOT NULL THEN
      RAISE EXCEPTION 'floor breach inside the batch' USING ERRCODE = 'check_violation';
    END IF;
  EXCEPTION WHEN check_violation THEN
    -- Balances are back where they were before this statement.
    EXECUTE $q$
      WITH moves AS (
        SELECT entry_id, source_account_id AS account_id, asset_id, -amount AS delta FROM new_postings
        UNION ALL
        SELECT entry_id, destination_account_id, asset_id, amount FROM new_postings
      ), per_entry AS (
        SELECT account_id, asset_id, entry_id, sum(delta) AS delta FROM moves GROUP BY 1, 2, 3
      ), running AS (
        SELECT pe.entry_id, pe.account_id, pe.asset_id, b.floor,
          b.balance + sum(pe.delta) OVER (PARTITION BY pe.account_id, pe.asset_id ORDER BY pe.entry_id) AS balance_after
        FROM per_entry pe JOIN balances b USING (account_id, asset_id)
      )
      SELECT r.entry_id, a.path, s.code, r.balance_after, r.floor
        FROM running r JOIN accounts a ON a.id = r.account_id JOIN assets s ON s.id = r.asset_id
       WHERE r.floor IS NOT NULL AND r.balance_after < r.floor
       ORDER BY r.entry_id LIMIT 1
    $q$ INTO breach_entry, breach_path, breach_code, breach_balance, breach_floor;
    RAISE EXCEPTION 'journal entry % would take % below its floor in % (balance % < floor %)',
      breach_entry, breach_path, breach_code, breach_balance, breach_floor
      USING ERRCODE = 'check_violation', CONSTRAINT = 'balance_at_or_above_floor';
  END;
  RETURN NULL;
END $$;

-- An idempotency key names either an entry or a rejection, never both. The writer has always
-- kept it so; now PostgreSQL refuses it too, which lets the writer's pipelined path skip reading
-- the keys before it inserts: a key used before makes the insert fail (unique_violation), and
-- that batch is decided again on the careful path, which answers replays and conflicts.
-- (Two concurrent transactions that bypass the writer lock could still slip past each other's
-- uncommitted rows; the writer lock serialises every writer.)
CREATE OR REPLACE FUNCTION journal_entries_sealed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  unsealed bigint;
  taken text;
BEGIN
  EXECUTE $q$
    SELECT e.id FROM new_entries e
     WHERE NOT EXISTS (
       SELECT 1 FROM (SELECT s.first_entry_id FROM ledger_seals s
                       WHERE s.last_entry_id >= e.id ORDER BY s.last_entry_id LIMIT 1) c
        WHERE c.first_entry_id <= e.id)
     LIMIT 1
  $q$ INTO unsealed;
  IF unsealed IS NOT NULL THEN
    RAISE EXCEPTION 'journal entry % is not covered by a seal of the hash chain', unsealed
      USING ERRCODE = 'check_violation', HINT = 'only the ledger writer appends entries';
  END IF;
  EXECUTE 'SELECT e.idempotency_key FROM new_entries e JOIN rejections r USING (idempotency_key) LIMIT 1' INTO taken;
  IF taken IS NOT NULL THEN
    RAISE EXCEPTION 'idempotency key % already names a rejected request', taken
      USING ERRCODE = 'unique_violation', CONSTRAINT = 'idempotency_key_once';
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION rejections_key_unused() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  taken text;
BEGIN
  EXECUTE 'SELECT r.idempotency_key FROM new_rejections r JOIN journal_entries e USING (idempotency_key) LIMIT 1' INTO taken;
  IF taken IS NOT NULL THEN
    RAISE EXCEPTION 'idempotency key % already names a journal entry', taken
      USING ERRCODE = 'unique_violation', CONSTRAINT = 'idempotency_key_once';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER rejections_key_unused AFTER INSERT ON rejections
  REFERENCING NEW TABLE AS new_rejections
  FOR EACH STATEMENT EXECUTE FUNCTION rejections_key_unused();
