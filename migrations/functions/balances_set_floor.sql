-- balances_set_floor: its current definition, as the migrated database holds it (pg_get_functiondef).
-- Generated: change it with a new migration, then run UPDATE_FUNCTIONS=1 on migrations/functions.test.ts.
CREATE OR REPLACE FUNCTION public.balances_set_floor()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  NEW.floor := ledger_floor_for((SELECT path FROM accounts WHERE id = NEW.account_id), NEW.asset_id);
  NEW.balance := 0;
  NEW.postings_count := 0;
  NEW.last_entry_id := NULL;
  RETURN NEW;
END $function$
