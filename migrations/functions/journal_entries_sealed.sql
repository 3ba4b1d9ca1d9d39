-- journal_entries_sealed: its current definition, as the migrated database holds it (pg_get_functiondef).
-- Generated: change it with a new migration, then run UPDATE_FUNCTIONS=1 on migrations/functions.test.ts.
CREATE OR REPLACE FUNCTION public.journal_entries_sealed()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
  low bigint;
  high bigint;
  covered_to bigint;
  unsealed bigint;
  target bigint;
  taken text;
BEGIN
  SELECT min(id), max(id) FROM new_entries INTO low, high;
  SELECT s.last_entry_id FROM ledger_seals s
   WHERE s.last_entry_id >= low AND s.first_entry_id <= low
   ORDER BY s.last_entry_id LIMIT 1 INTO covered_to;
  IF covered_to IS NULL OR covered_to < high THEN
    SELECT e.id FROM new_entries e
     WHERE NOT EXISTS (
       SELECT 1 FROM (SELECT s.first_entry_id FROM ledger_seals s
                       WHERE s.last_entry_id >= e.id ORDER BY s.last_entry_id LIMIT 1) c
        WHERE c.first_entry_id <= e.id)
     LIMIT 1 INTO unsealed;
    IF unsealed IS NOT NULL THEN
      RAISE EXCEPTION 'journal entry % is not covered by a seal of the hash chain', unsealed
        USING ERRCODE = 'check_violation', HINT = 'only the ledger writer appends entries';
    END IF;
  END IF;
  SELECT e.reverses FROM new_entries e
   WHERE e.reverses IS NOT NULL AND NOT EXISTS (SELECT 1 FROM journal_entries t WHERE t.id = e.reverses)
   LIMIT 1 INTO target;
  IF target IS NOT NULL THEN
    RAISE EXCEPTION 'a journal entry reverses entry % which does not exist', target
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  SELECT e.idempotency_key FROM new_entries e JOIN rejections r USING (idempotency_key) LIMIT 1 INTO taken;
  IF taken IS NOT NULL THEN
    RAISE EXCEPTION 'idempotency key % already names a rejected request', taken
      USING ERRCODE = 'unique_violation', CONSTRAINT = 'idempotency_key_once';
  END IF;
  RETURN NULL;
END $function$
