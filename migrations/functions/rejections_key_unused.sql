-- rejections_key_unused: its current definition, as the migrated database holds it (pg_get_functiondef).
-- Generated: change it with a new migration, then run UPDATE_FUNCTIONS=1 on migrations/functions.test.ts.
CREATE OR REPLACE FUNCTION public.rejections_key_unused()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
  taken text;
BEGIN
  EXECUTE 'SELECT r.idempotency_key FROM new_rejections r JOIN journal_entries e USING (idempotency_key) LIMIT 1' INTO taken;
  IF taken IS NOT NULL THEN
    RAISE EXCEPTION 'idempotency key % already names a journal entry', taken
      USING ERRCODE = 'unique_violation', CONSTRAINT = 'idempotency_key_once';
  END IF;
  RETURN NULL;
END $function$
