-- Keep the commit-time checks fast however long the journal grows. Two traps, both found by
-- `coffer bench ledger` (docs/adr/0001-ledger-model.md):
--
-- * PL/pgSQL caches the plan of a query without parameters the first time a session runs it.
--   The trigger queries join a batch's transition table with tables that only grow
--   (journal_entries, ledger_seals, balances); planned while those were small, they kept
--   sequential scans, and appends halved after 2,000 seals (9.8k -> 5.0k postings/s). EXECUTE
--   plans each run with current statistics, for a fraction of a millisecond per batch.
-- * An anti-join with LIMIT 1 ("entries without postings") was planned as a merge anti-join
--   whose inner side read postings from the very first entry, every batch: appends fell from
--   ~10k to ~2.5k postings/s past ~550k postings. Counting over the seal's own range uses
--   bounded range scans only.
--
-- Behaviour is unchanged.

CREATE OR REPLACE FUNCTION postings_apply() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  orphan bigint;
  breach_entry bigint;
  breach_path text;
  breach_code text;
  breach_balance numeric;
  breach_floor numeric;
BEGIN
  -- Bounded by the batch's own id range, so no plan can walk the whole journal.
  EXECUTE $q$
    WITH bounds AS (SELECT min(entry_id) AS low, max(entry_id) AS high FROM new_postings)
    SELECT p.entry_id FROM new_postings p
     WHERE NOT EXISTS (SELECT 1 FROM journal_entries e, bounds b
                        WHERE e.id = p.entry_id AND e.id BETWEEN b.low AND b.high)
     LIMIT 1
  $q$ INTO orphan;
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

  EXECUTE $q$
    WITH moves AS (
      SELECT entry_id, source_account_id AS account_id, asset_id, -amount AS delta FROM new_postings
      UNION ALL
      SELECT entry_id, destination_account_id, asset_id, amount FROM new_postings
    ), per_entry AS (
      SELECT account_id, asset_id, entry_id, sum(delta) AS delta FROM moves GROUP BY 1, 2, 3
    ), locked AS (
      SELECT b.account_id, b.asset_id, b.balance, b.floor FROM balances b
      WHERE (b.account_id, b.asset_id) IN (SELECT account_id, asset_id FROM per_entry)
      ORDER BY b.account_id, b.asset_id
      FOR UPDATE
    ), running AS (
      SELECT pe.entry_id, pe.account_id, pe.asset_id, l.floor,
        l.balance + sum(pe.delta) OVER (PARTITION BY pe.account_id, pe.asset_id ORDER BY pe.entry_id) AS balance_after
      FROM per_entry pe JOIN locked l USING (account_id, asset_id)
    )
    SELECT r.entry_id, a.path, s.code, r.balance_after, r.floor
      FROM running r JOIN accounts a ON a.id = r.account_id JOIN assets s ON s.id = r.asset_id
     WHERE r.floor IS NOT NULL AND r.balance_after < r.floor
     ORDER BY r.entry_id LIMIT 1
  $q$ INTO breach_entry, breach_path, breach_code, breach_balance, breach_floor;
  IF breach_entry IS NOT NULL THEN
    RAISE EXCEPTION 'journal entry % would take % below its floor in % (balance % < floor %)',
      breach_entry, breach_path, breach_code, breach_balance, breach_floor
      USING ERRCODE = 'check_violation', CONSTRAINT = 'balance_at_or_above_floor';
  END IF;

  EXECUTE $q$
    UPDATE balances b
       SET balance = b.balance + d.delta,
           postings_count = b.postings_count + d.moves,
           last_entry_id = greatest(b.last_entry_id, d.last_entry_id)
      FROM (
        SELECT account_id, asset_id, sum(delta) AS delta, count(*) AS moves, max(entry_id) AS last_entry_id
        FROM (
          SELECT entry_id, source_account_id AS account_id, asset_id, -amount AS delta FROM new_postings
          UNION ALL
          SELECT entry_id, destination_account_id, asset_id, amount FROM new_postings
        ) m GROUP BY 1, 2
      ) d
     WHERE b.account_id = d.account_id AND b.asset_id = d.asset_id
  $q$;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION journal_entries_sealed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  unsealed bigint;
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
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION ledger_seal_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  previous_id bigint;
  previous_hash bytea;
  previous_last bigint;
  covered bigint;
  with_postings bigint;
  bad bigint;
BEGIN
  EXECUTE 'SELECT id, hash, last_entry_id FROM ledger_seals WHERE id = $1'
    INTO previous_id, previous_hash, previous_last USING NEW.id - 1;
  IF NEW.id = 1 THEN
    IF NEW.first_entry_id <> 1 OR NEW.previous_hash <> '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea THEN
      RAISE EXCEPTION 'the first seal must start at entry 1 from the zero hash' USING ERRCODE = 'check_violation';
    END IF;
  ELSIF previous_id IS NULL OR NEW.previous_hash <> previous_hash OR NEW.first_entry_id <> previous_last + 1 THEN
    RAISE EXCEPTION 'seal % does not extend the hash chain from seal %', NEW.id, NEW.id - 1
      USING ERRCODE = 'check_violation';
  END IF;
  EXECUTE 'SELECT count(*) FROM journal_entries WHERE id BETWEEN $1 AND $2'
    INTO covered USING NEW.first_entry_id, NEW.last_entry_id;
  IF covered <> NEW.last_entry_id - NEW.first_entry_id + 1 THEN
    RAISE EXCEPTION 'seal % covers entries % to % but % of them exist', NEW.id, NEW.first_entry_id,
      NEW.last_entry_id, covered USING ERRCODE = 'check_violation';
  END IF;
  -- Counting over the range keeps both sides bounded; the offender is searched for only when
  -- the counts differ, which never happens in a healthy ledger.
  EXECUTE 'SELECT count(DISTINCT entry_id) FROM postings WHERE entry_id BETWEEN $1 AND $2'
    INTO with_postings USING NEW.first_entry_id, NEW.last_entry_id;
  IF with_postings <> covered THEN
    EXECUTE $q$
      SELECT e.id FROM journal_entries e
       WHERE e.id BETWEEN $1 AND $2
         AND NOT EXISTS (SELECT 1 FROM postings p WHERE p.entry_id = e.id AND p.entry_id BETWEEN $1 AND $2)
       ORDER BY e.id LIMIT 1
    $q$ INTO bad USING NEW.first_entry_id, NEW.last_entry_id;
    RAISE EXCEPTION 'journal entry % has no postings', bad USING ERRCODE = 'check_violation';
  END IF;
  EXECUTE $q$
    SELECT r.id FROM journal_entries r
     WHERE r.id BETWEEN $1 AND $2 AND r.reverses IS NOT NULL
       AND EXISTS (
         (SELECT posting_index, asset_id, destination_account_id, source_account_id, amount
            FROM postings WHERE entry_id = r.reverses
          EXCEPT ALL
          SELECT posting_index, asset_id, source_account_id, destination_account_id, amount
            FROM postings WHERE entry_id = r.id)
         UNION ALL
         (SELECT posting_index, asset_id, source_account_id, destination_account_id, amount
            FROM postings WHERE entry_id = r.id
          EXCEPT ALL
          SELECT posting_index, asset_id, destination_account_id, source_account_id, amount
            FROM postings WHERE entry_id = r.reverses))
     ORDER BY r.id LIMIT 1
  $q$ INTO bad USING NEW.first_entry_id, NEW.last_entry_id;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'journal entry % does not mirror the postings of the entry it reverses', bad
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;
