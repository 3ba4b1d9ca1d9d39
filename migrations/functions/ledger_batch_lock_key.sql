-- ledger_batch_lock_key: its current definition, as the migrated database holds it (pg_get_functiondef).
-- Generated: change it with a new migration, then run UPDATE_FUNCTIONS=1 on migrations/functions.test.ts.
CREATE OR REPLACE FUNCTION public.ledger_batch_lock_key(seal_id bigint)
 RETURNS integer
 LANGUAGE sql
 IMMUTABLE
AS $function$SELECT (seal_id % 2147483647)::integer$function$
