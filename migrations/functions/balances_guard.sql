-- balances_guard: its current definition, as the migrated database holds it (pg_get_functiondef).
-- Generated: change it with a new migration, then run UPDATE_FUNCTIONS=1 on migrations/functions.test.ts.
CREATE OR REPLACE FUNCTION public.balances_guard()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  IF TG_OP = 'UPDATE' AND pg_trigger_depth() >= 2 THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'balances are a projection of postings: % is not allowed', TG_OP
    USING ERRCODE = 'restrict_violation', HINT = 'append a journal entry instead';
END $function$
