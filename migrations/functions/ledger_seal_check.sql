-- ledger_seal_check: its current definition, as the migrated database holds it (pg_get_functiondef).
-- Generated: change it with a new migration, then run UPDATE_FUNCTIONS=1 on migrations/functions.test.ts.
CREATE OR REPLACE FUNCTION public.ledger_seal_check()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
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
END $function$
