-- postings_apply: its current definition, as the migrated database holds it (pg_get_functiondef).
-- Generated: change it with a new migration, then run UPDATE_FUNCTIONS=1 on migrations/functions.test.ts.
CREATE OR REPLACE FUNCTION public.postings_apply()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
DECLARE
  low bigint;
  high bigint;
  existing bigint;
  orphan bigint;
  seal bigint;
  missing bigint;
  breached_account bigint;
  breach_entry bigint;
  breach_path text;
  breach_code text;
  breach_balance numeric;
  breach_floor numeric;
BEGIN
  -- Every posting's entry exists: when all ids of the batch's range exist, it holds at once.
  SELECT min(entry_id), max(entry_id) FROM new_postings INTO low, high;
  SELECT count(*) FROM journal_entries WHERE id BETWEEN low AND high INTO existing;
  IF existing <> high - low + 1 THEN
    SELECT p.entry_id FROM new_postings p
     WHERE NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.id = p.entry_id AND e.id BETWEEN low AND high)
     LIMIT 1 INTO orphan;
    IF orphan IS NOT NULL THEN
      RAISE EXCEPTION 'posting refers to journal entry % which does not exist', orphan
        USING ERRCODE = 'foreign_key_violation';
    END IF;
  END IF;

  -- Balances move batch after batch, in chain order. The writer keeps two batches in flight
  -- (ledger/pipeline.ts); each takes the lock named after its seal when it begins, and here
  -- waits for the lock of the seal before it, i.e. until the previous batch has committed.
  -- Without it, the later batch could lock some balance rows first and each would wait for
  -- the other: a deadlock PostgreSQL cannot see, because the writer commits them in order.
  -- A transaction with nothing in flight before it (the careful path, psql) does not wait.
  SELECT id FROM ledger_seals WHERE last_entry_id >= low ORDER BY last_entry_id LIMIT 1 INTO seal;
  IF seal IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(ledger_batch_lock_class(), ledger_batch_lock_key(seal - 1));
  END IF;

  -- One UPDATE moves every balance by the batch's total. `lowest` is the smallest running sum
  -- of the account's moves in journal order, so balance-before + lowest is the lowest balance
  -- it passed through, which catches a dip inside the batch that a later entry would cover.
  -- Within an entry, credits are counted before debits: then the running sums inside an entry
  -- never go below the sum at its end, so the minimum is taken at entry boundaries only, as
  -- floors are defined. A breach (the final balance included, which the CHECK on balances
  -- also refuses) rolls the block back and the first offending entry is named; so does a
  -- missing balance row, which is created before the UPDATE runs again.
  FOR attempt IN 1..2 LOOP
    BEGIN
      WITH moves AS (
        SELECT entry_id, source_account_id AS account_id, asset_id, -amount AS delta FROM new_postings
        UNION ALL
        SELECT entry_id, destination_account_id, asset_id, amount FROM new_postings
      ), running AS (
        SELECT account_id, asset_id, entry_id, delta,
          sum(delta) OVER (PARTITION BY account_id, asset_id ORDER BY entry_id, delta DESC) AS cumulative
        FROM moves
      ), totals AS (
        SELECT account_id, asset_id, sum(delta) AS delta, count(*) AS moves,
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
      SELECT (SELECT account_id FROM moved WHERE floor IS NOT NULL AND lowest_balance < floor LIMIT 1),
             (SELECT count(*) FROM totals) - (SELECT count(*) FROM moved) INTO breached_account, missing;
      IF missing > 0 THEN
        RAISE EXCEPTION 'balance rows missing' USING ERRCODE = 'no_data_found';
      END IF;
      IF breached_account IS NOT NULL THEN
        RAISE EXCEPTION 'floor breach inside the batch' USING ERRCODE = 'check_violation';
      END IF;
      EXIT;
    EXCEPTION
      WHEN no_data_found THEN
        IF attempt = 2 THEN
          RAISE EXCEPTION 'balance rows for the batch could not be created' USING ERRCODE = 'internal_error';
        END IF;
        -- First-time (account, asset) pairs; the rows' foreign keys check account and asset.
        -- Only the missing ones: a BEFORE INSERT trigger runs even for rows ON CONFLICT skips.
        INSERT INTO balances (account_id, asset_id)
          SELECT m.account_id, m.asset_id
          FROM (SELECT source_account_id AS account_id, asset_id FROM new_postings
                UNION SELECT destination_account_id, asset_id FROM new_postings) m
          WHERE NOT EXISTS (SELECT 1 FROM balances b WHERE b.account_id = m.account_id AND b.asset_id = m.asset_id)
        ON CONFLICT DO NOTHING;
      WHEN check_violation THEN
        -- Balances are back where they were before this block.
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
         ORDER BY r.entry_id LIMIT 1 INTO breach_entry, breach_path, breach_code, breach_balance, breach_floor;
        RAISE EXCEPTION 'journal entry % would take % below its floor in % (balance % < floor %)',
          breach_entry, breach_path, breach_code, breach_balance, breach_floor
          USING ERRCODE = 'check_violation', CONSTRAINT = 'balance_at_or_above_floor';
    END;
  END LOOP;
  RETURN NULL;
END $function$
