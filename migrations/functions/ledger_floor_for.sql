-- ledger_floor_for: its current definition, as the migrated database holds it (pg_get_functiondef).
-- Generated: change it with a new migration, then run UPDATE_FUNCTIONS=1 on migrations/functions.test.ts.
CREATE OR REPLACE FUNCTION public.ledger_floor_for(account_path text, for_asset_id integer)
 RETURNS numeric
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
  rule record;
BEGIN
  SELECT r.floor INTO rule FROM floor_rules r
   WHERE account_path ~ ledger_pattern_regex(r.pattern)
     AND (r.asset_id IS NULL OR r.asset_id = for_asset_id)
   ORDER BY (r.asset_id IS NOT NULL) DESC, length(replace(r.pattern, '*', '')) DESC, r.id DESC
   LIMIT 1;
  IF FOUND THEN
    RETURN rule.floor; -- NULL: unbounded
  END IF;
  RETURN 0;
END $function$
